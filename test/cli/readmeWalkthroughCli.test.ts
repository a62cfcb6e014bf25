import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { DeleteParameterCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { runCli } from "../../cli/rollout";
import { parseRolloutConfig } from "../../rollout/config";
import { missingGoDecisions, missingSignoffs } from "../../rollout/decisions";
import { latchParameterName } from "../../rollout/names";
import { nextPhase, trafficCap } from "../../rollout/phases";
import { planTraffic } from "../../rollout/traffic";
import { shellCommands } from "../docs/docCommands";
import { alb, goDecision, latch, noLatch, resetAwsMocks, serveAlb, setup, ssm } from "../support/liveStack";

/**
 * The TBS runbook's walkthroughs (docs/runbooks/tbs.md, moved there from the README), replayed
 * with their meaning checked: the CLI walkthrough reaches full with every advance passing its
 * GO and sign-off checks; the incident block acknowledges the latch and restores the cohort;
 * the plain Pulumi walkthrough has, at every `up`, the GO decisions, sign-offs and cap the phase
 * needs. (test/docs/commandsReplay.test.ts replays every block for its exit codes.)
 */

beforeEach(resetAwsMocks);

const RUNBOOK = path.join(__dirname, "..", "..", "docs", "runbooks", "tbs.md");

/** The fenced command blocks of a runbook section (up to the next heading), each command as its words. */
function runbookBlocks(heading: string): string[][][] {
  const doc = fs.readFileSync(RUNBOOK, "utf8");
  const from = doc.indexOf(`### ${heading}\n`);
  assert.ok(from >= 0, `docs/runbooks/tbs.md has "### ${heading}"`);
  const section = doc.slice(from).split(/\n#{2,3} /)[0]!;
  return [...section.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) =>
    shellCommands(m[1]!, (n) => `${heading}:${n}`).map((c) => c.words),
  );
}

/** The first block of a runbook section. */
const runbookBlock = (heading: string) => runbookBlocks(heading)[0]!;

/** `npm run rollout -- ARGS` -> ARGS. */
function rolloutArgs(words: string[]): string[] {
  assert.deepEqual(words.slice(0, 4), ["npm", "run", "rollout", "--"], words.join(" "));
  return words.slice(4);
}

/** Production's config at the start of the rollout: preparation, nothing decided or signed. */
function freshProduction(): Record<string, unknown> {
  return { phase: "preparation", greenWeight: "0", decisions: [], signoffs: {} };
}

describe("docs/runbooks/tbs.md: a whole TBS rollout", () => {
  it("the CLI walkthrough reaches full, each advance passing its GO and sign-off checks", async () => {
    const { ctx, backend, out } = setup("production", freshProduction());
    const factory = () => ctx;
    const phases: string[] = [];
    for (const words of runbookBlock("With the operator CLI")) {
      const argv = rolloutArgs(words);
      if (!argv.includes("production") || ["plan", "status", "history"].includes(argv[0]!)) continue;
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
      out.lines.length = 0;
      out.errors.length = 0;
      const code = await runCli(argv, out, factory);
      assert.equal(code, 0, `${words.join(" ")}\n${out.text()}\n${out.errors.join("\n")}`);
      if (argv[0] === "advance") phases.push(backend.raw.phase!);
    }
    assert.deepEqual(phases, ["internal", "limited-pilot", "broader-pilot", "readiness", "full"]);
    assert.equal(backend.raw.rollback, "false");
    assert.equal(backend.raw.greenWeight, "100");
  });

  it("the incident block: resume acknowledges the latch, restore puts the cohort back on green", async () => {
    // Production as committed (limited-pilot, 8 pilot users) after the Lambda rolled it back.
    const { ctx, backend, out } = setup("production");
    serveAlb({ ...backend.raw, rollback: "true" }, "production");
    let latched = true;
    ssm.on(GetParameterCommand, { Name: latchParameterName("production") }).callsFake(() => {
      if (latched) return { Parameter: { Value: JSON.stringify(latch) } };
      throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
    });
    ssm.on(DeleteParameterCommand).callsFake(() => {
      latched = false;
      return {};
    });
    const greenRules = () =>
      alb.rules.filter((r) => r.Actions?.some((a) => a.TargetGroupArn?.includes("-green-"))).length;
    assert.equal(greenRules(), 0, "the Lambda left no rule on green");
    for (const words of runbookBlock("Incidents")) {
      const argv = rolloutArgs(words);
      out.lines.length = 0;
      out.errors.length = 0;
      const code = await runCli(argv, out, () => ctx);
      assert.equal(code, 0, `${words.join(" ")}\n${out.text()}\n${out.errors.join("\n")}`);
      if (argv[0] === "resume") {
        assert.equal(backend.raw.rollbackAcknowledged, latch.at);
        assert.equal(latched, false, "resume deleted the latch");
      }
    }
    const planned = planTraffic(parseRolloutConfig(backend.raw, "production"));
    assert.equal(
      greenRules(),
      planned.reduce((n, t) => n + t.cohortRoutes.length, 0),
      "restore put every cohort rule back on green",
    );
    noLatch();
  });

  it("the manual rollback block rolls back and ends the rollback it starts", async () => {
    const { ctx, backend, out } = setup("production");
    const commands = runbookBlocks("Incidents")[1]!.map(rolloutArgs);
    assert.deepEqual(
      commands.map((c) => c[0]),
      ["rollback", "rollback"],
    );
    const states: string[] = [];
    for (const argv of commands) {
      const code = await runCli(argv, out, () => ctx);
      assert.equal(code, 0, `${argv.join(" ")}\n${out.text()}\n${out.errors.join("\n")}`);
      states.push(backend.raw.rollback!);
    }
    assert.deepEqual(states, ["true", "false"]);
    assert.equal(backend.raw.rollbackReason, undefined);
  });

  it("the plain Pulumi walkthrough: every up has its GO decisions, sign-offs and cap, up to full", async () => {
    const { backend } = setup("production", freshProduction());
    const ups: string[] = [];
    let refusedPreviews = 0;
    for (const w of runbookBlock("With plain Pulumi")) {
      if (w[0] === "aws" || (w[0] === "pulumi" && w[1] === "stack")) continue;
      if (w[0] === "pulumi" && w[1] === "config" && w[2] === "set") {
        const pathMode = w[3] === "--path";
        const [key, value] = pathMode ? [w[4]!, w[5]!] : [w[3]!, w[4]!];
        assert.match(key, /^rollout:/, w.join(" "));
        await backend.setConfig({ [key.slice("rollout:".length)]: value }, { path: pathMode });
        continue;
      }
      const line = w.join(" ");
      assert.ok(w[0] === "pulumi" && (w[1] === "up" || w[1] === "preview"), `unexpected line: ${line}`);
      assert.deepEqual(
        w.slice(w.indexOf("--policy-pack")),
        ["--policy-pack", "policies", "--policy-pack-config", "policies/config/production.json"],
        line,
      );
      assert.ok(w.includes("--refresh"), line);
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
