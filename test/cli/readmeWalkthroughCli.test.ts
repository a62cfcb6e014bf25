import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { DeleteParameterCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { runCli } from "../../cli/rollout";
import { parseRolloutConfig } from "../../rollout/config";
import { missingGoDecisions, missingSignoffs } from "../../rollout/decisions";
import { nextPhase, trafficCap } from "../../rollout/phases";
import { goDecision, latch, noLatch, resetAwsMocks, serveAlb, setup, ssm } from "../support/liveStack";

beforeEach(resetAwsMocks);

/** The fenced bash block under a README heading. */
function readmeBlock(heading: string): string[] {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const from = readme.indexOf(`### ${heading}`);
  assert.ok(from >= 0, `README has "### ${heading}"`);
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(from))![1]!;
  return block
    .split("\n")
    .flatMap((line) => line.replace(/\s+#.*$/, "").split(" && "))
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** Shell words: spaces split, "double" and 'single' quotes group. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Production's config at the start of the rollout: preparation, nothing decided or signed. */
function freshProduction(): Record<string, unknown> {
  return { phase: "preparation", greenWeight: "0", decisions: [], signoffs: {} };
}

describe("README: a whole TBS rollout", () => {
  it("the CLI walkthrough reaches full, each advance passing its GO and sign-off checks", async () => {
    const { ctx, backend, out } = setup("production", freshProduction());
    const factory = () => ctx;
    const phases: string[] = [];
    for (const line of readmeBlock("With the operator CLI")) {
      const argv = words(line).slice(3); // npm run rollout --
      assert.deepEqual(words(line).slice(0, 3), ["npm", "run", "rollout"], line);
      argv.shift(); // --
      if (!argv.includes("production") || argv[0] === "plan" || argv[0] === "status") continue;
      if (argv[0] === "gates") {
        // A GO on the evidence files is the gates command's own tests' business: record one here.
        const config = parseRolloutConfig(backend.raw, "production");
        const decisions = [
          ...config.decisions,
          goDecision(config.phase, nextPhase(config.playbookSpec, config.phase)!.id),
        ];
        backend.raw.decisions = JSON.stringify(decisions);
        continue;
      }
      if (argv[0] === "resume") {
        // An automatic rollback happened: the Lambda moved the ALB to blue and wrote the latch.
        serveAlb({ ...backend.raw, rollback: "true" }, "production");
        ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
        ssm.on(DeleteParameterCommand).resolves({});
      }
      out.lines.length = 0;
      out.errors.length = 0;
      const code = await runCli(argv, out, factory);
      assert.equal(code, 0, `${line}\n${out.text()}\n${out.errors.join("\n")}`);
      if (argv[0] === "advance") phases.push(backend.raw.phase!);
      if (argv[0] === "resume") noLatch(); // resume deleted it
    }
    assert.deepEqual(phases, ["internal", "limited-pilot", "broader-pilot", "readiness", "full"]);
    assert.equal(backend.raw.rollback, "false", "the walkthrough ends the rollback it starts");
    assert.equal(backend.raw.rollbackAcknowledged, latch.at);
    assert.equal(backend.raw.greenWeight, "100");
  });

  it("the plain Pulumi walkthrough: every up has its GO decisions, sign-offs and cap, up to full", async () => {
    const { backend } = setup("production", freshProduction());
    const ups: string[] = [];
    let refusedPreviews = 0;
    for (const line of readmeBlock("With plain Pulumi")) {
      const w = words(line);
      if (w[0] === "aws" || (w[0] === "pulumi" && w[1] === "stack")) continue;
      if (w[0] === "pulumi" && w[1] === "config" && w[2] === "set") {
        const pathMode = w[3] === "--path";
        const [key, value] = pathMode ? [w[4]!, w[5]!] : [w[3]!, w[4]!];
        assert.match(key, /^rollout:/, line);
        await backend.setConfig({ [key.slice("rollout:".length)]: value }, { path: pathMode });
        continue;
      }
      assert.ok(w[0] === "pulumi" && (w[1] === "up" || w[1] === "preview"), `unexpected line: ${line}`);
      assert.deepEqual(
        w.slice(w.indexOf("--policy-pack")),
        ["--policy-pack", "policies", "--policy-pack-config", "policies/config/production.json"],
        line,
      );
      const config = parseRolloutConfig(backend.raw, "production");
      const playbook = config.playbookSpec;
      const problems = [
        ...missingGoDecisions(playbook, config.phase, config.decisions).map(
          (t) => `no GO ${t.from} -> ${t.to}`,
        ),
        ...missingSignoffs(playbook, config.phase, config.signoffs).map((r) => `no ${r} sign-off`),
        ...(config.greenWeight > trafficCap(playbook, config.phase)
          ? [`greenWeight ${config.greenWeight} above cap`]
          : []),
      ];
      if (w[1] === "preview") {
        assert.ok(problems.length > 0, `the walkthrough's preview is the refused one: ${line}`);
        refusedPreviews += 1;
        continue;
      }
      assert.deepEqual(problems, [], `at ${config.phase}/${config.greenWeight}`);
      assert.ok(w.includes("--refresh"), line);
      ups.push(`${config.phase}/${config.greenWeight}/${config.rollback}`);
    }
    assert.equal(refusedPreviews, 1);
    assert.deepEqual(ups, [
      "internal/0/false",
      "limited-pilot/0/false",
      "broader-pilot/0/false",
      "broader-pilot/5/false",
      "broader-pilot/10/false",
      "readiness/10/false",
      "full/10/false",
      "full/50/false",
      "full/100/false",
      "full/100/true",
      "full/100/false",
      "full/50/false",
      "full/100/false",
    ]);
    assert.equal(backend.raw.rollbackAcknowledged, "2026-12-22T09:00:00.000Z");
  });
});
