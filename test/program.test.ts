import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { phaseIds } from "../rollout/phases";
import { loadPlaybook } from "../rollout/playbook";
import { loadStackFile, type StackFile } from "../rollout/stackFile";
import { RolloutInputError } from "../rollout/validation";
import { bufferOutput } from "../scripts/cli";
import { planStack, type PlanResult } from "../scripts/plan";
import { runCli } from "../scripts/rollout";
import * as pulumi from "@pulumi/pulumi";
import program from "../index";
import { ResourceRecorder } from "./mocks";

/** The committed stack file with some `rollout:` keys replaced (values as YAML would give them). */
function variant(stack: string, changes: Record<string, unknown>): StackFile {
  const base = loadStackFile(stack);
  const config = { ...base.config };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[`rollout:${key}`];
    else config[`rollout:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ...base, config };
}

type Resource = PlanResult["resources"][number];
const key = (r: Resource) => `${r.type}::${r.name}`;

/** Resources whose inputs differ between two plans, plus those only in one of them. */
function changedResources(a: PlanResult, b: PlanResult): Resource[] {
  const before = new Map(a.resources.map((r) => [key(r), r]));
  const after = new Map(b.resources.map((r) => [key(r), r]));
  const changed: Resource[] = [];
  for (const [k, r] of after) {
    const old = before.get(k);
    if (!old || JSON.stringify(old.inputs) !== JSON.stringify(r.inputs)) changed.push(r);
  }
  for (const [k, r] of before) if (!after.has(k)) changed.push(r);
  return changed;
}

const TRAFFIC_TYPES = new Set([
  "aws:lb/listenerRule:ListenerRule",
  "aws:ssm/parameter:Parameter",
  "command:local:Command",
]);

function weightedRule(result: PlanResult, service: string) {
  const rule = result.resources.find((r) => r.name === `router-${service}-weighted`);
  assert.ok(rule, `router-${service}-weighted`);
  const forward = (rule.inputs.actions as { forward: { targetGroups: { weight: number }[] } }[])[0]!.forward;
  return forward.targetGroups.map((tg) => tg.weight);
}

describe("the program under the mock engine", () => {
  it("plans both committed stacks", async () => {
    for (const stack of ["staging", "production"]) {
      const result = await planStack(loadStackFile(stack));
      assert.equal(result.stack, stack);
      assert.equal(result.latch, "unknown");
      assert.ok(result.resources.length > 50, `${stack}: ${result.resources.length} resources`);
      assert.ok(!result.resources.some((r) => r.type === "pulumi:pulumi:Stack"));
    }
  });

  it("routes general traffic by weight and cohorts to green in staging (broader-pilot, 10 %)", async () => {
    const result = await planStack(loadStackFile("staging"));
    assert.deepEqual(
      result.traffic.map((t) => [t.service, t.blue, t.green, t.cohortRoutes.length]),
      [
        ["web", 90, 10, 5],
        ["api", 90, 10, 5],
      ],
    );
    assert.deepEqual(weightedRule(result, "web"), [90, 10]);
    assert.deepEqual(weightedRule(result, "api"), [90, 10]);
    const cohortRules = result.resources.filter((r) => /^router-(web|api)-cohort-\d+$/.test(r.name));
    // 6 users: 2 header rules of 3, 3 cookie rules of 2 (the wildcard budget), per service.
    assert.equal(cohortRules.length, 10);
  });

  it("keeps weight 0 as an explicit 0 in production (limited-pilot)", async () => {
    const result = await planStack(loadStackFile("production"));
    assert.deepEqual(weightedRule(result, "web"), [100, 0]);
    assert.deepEqual(weightedRule(result, "api"), [100, 0]);
  });

  for (const playbookId of ["tbs-strategy-framework", "telegram-money-bot"]) {
    const playbook = loadPlaybook(playbookId);
    for (const phase of phaseIds(playbook)) {
      it(`plans ${playbookId} in ${phase}`, async () => {
        const cap = playbook.phases.find((p) => p.id === phase)!.trafficCapPercent;
        const result = await planStack(
          variant("staging", {
            playbook: playbookId,
            phase,
            greenWeight: String(cap),
            decisions: [],
            signoffs: {},
          }),
        );
        assert.equal(result.phase, phase);
        const cohortRouting = playbook.phases.find((p) => p.id === phase)!.cohortRouting;
        for (const t of result.traffic) {
          assert.deepEqual([t.blue, t.green], [100 - cap, cap]);
          assert.equal(t.cohortRoutes.length > 0, cohortRouting);
        }
        assert.deepEqual(weightedRule(result, "web"), [100 - cap, cap]);
        const snapshots = result.resources.filter((r) => r.type === "aws:rds/snapshot:Snapshot");
        assert.deepEqual(
          snapshots.map((s) => s.name),
          [`data-snapshot-${phase}`],
        );
      });
    }
  }

  it("blast radius: changing only greenWeight touches only listener rules, the state parameter and hooks", async () => {
    const before = await planStack(loadStackFile("staging"));
    const after = await planStack(variant("staging", { greenWeight: "5" }));
    const changed = changedResources(before, after);
    assert.ok(changed.length > 0);
    assert.deepEqual(
      changed.filter((r) => !TRAFFIC_TYPES.has(r.type)).map(key),
      [],
      "only listener rules, the state parameter and deploy hooks may change",
    );
    assert.ok(changed.some((r) => r.name === "router-web-weighted"));
    assert.ok(changed.some((r) => r.name === "rollout-state"));
  });

  it("blast radius: changing only rollback touches only listener rules, the state parameter and hooks", async () => {
    const before = await planStack(loadStackFile("production"));
    const after = await planStack(variant("production", { rollback: "true" }));
    const changed = changedResources(before, after);
    assert.deepEqual(changed.filter((r) => !TRAFFIC_TYPES.has(r.type)).map(key), []);
    // Production is at 0 % general traffic, so rollback removes the cohort rules and leaves the weighted ones at 100/0.
    assert.equal(changed.filter((r) => r.name.includes("-cohort-")).length, 14);
    assert.deepEqual(weightedRule(after, "web"), [100, 0]);
  });

  it("no tag or name outside listener rules, state and hooks carries the phase or a weight", async () => {
    const result = await planStack(loadStackFile("staging"));
    for (const r of result.resources) {
      if (TRAFFIC_TYPES.has(r.type) || r.type === "aws:rds/snapshot:Snapshot") continue;
      const tags = JSON.stringify(r.inputs.tags ?? {});
      assert.doesNotMatch(tags, /broader-pilot|greenWeight|"10"/, `${key(r)} tags ${tags}`);
      assert.doesNotMatch(r.name, /broader-pilot/, key(r));
    }
  });

  it("rollback: true gives every service 100/0 and no cohort routes, whatever the phase", async () => {
    for (const [phase, greenWeight] of [
      ["internal", "0"],
      ["broader-pilot", "10"],
      ["full", "100"],
    ]) {
      const result = await planStack(variant("staging", { phase, greenWeight, rollback: "true" }));
      for (const t of result.traffic)
        assert.deepEqual([t.blue, t.green, t.cohortRoutes.length], [100, 0, 0], phase);
      assert.deepEqual(weightedRule(result, "web"), [100, 0]);
      assert.equal(result.resources.filter((r) => r.name.includes("-cohort-")).length, 0);
    }
  });

  const badConfigs: [string, Record<string, unknown>, RegExp][] = [
    ["weight 150", { greenWeight: "150" }, /rollout:greenWeight: expected an integer 0-100, got 150/],
    ["unknown phase", { phase: "canary" }, /rollout:phase: expected one of preparation, internal/],
    [
      "non-numeric port",
      {
        services: [
          {
            name: "web",
            pathPattern: "/*",
            healthCheckPath: "/healthz",
            blue: { image: "a:1", port: "eighty" },
            green: { image: "b:1", port: 3000 },
          },
        ],
      },
      /rollout:services\[0\]\.blue\.port: expected an integer 1-65535, got "eighty"/,
    ],
    [
      "missing image",
      {
        services: [
          {
            name: "web",
            pathPattern: "/*",
            healthCheckPath: "/healthz",
            blue: { port: 8000 },
            green: { image: "b:1", port: 3000 },
          },
        ],
      },
      /rollout:services\[0\]\.blue\.image: expected a container image/,
    ],
    [
      "cohorts that cannot fit",
      { cohorts: { header: "X-Pilot-User", users: Array.from({ length: 160 }, (_, i) => `u${i}`) } },
      /rollout:cohorts: 160 users across 2 services need/,
    ],
  ];
  for (const [name, changes, message] of badConfigs) {
    it(`exit 2 before any resource is registered: ${name}`, async () => {
      await assert.rejects(planStack(variant("staging", changes)), (error: unknown) => {
        assert.ok(error instanceof RolloutInputError);
        assert.match(error.message, message);
        return true;
      });
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bad-stack-")), "Pulumi.bad.yaml");
      const doc = yaml.load(fs.readFileSync(loadStackFile("staging").file, "utf8")) as {
        config: Record<string, unknown>;
      };
      for (const [k, v] of Object.entries(changes))
        doc.config[`rollout:${k}`] = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
      fs.writeFileSync(file, yaml.dump(doc));
      const out = bufferOutput();
      assert.equal(await runCli(["plan", "--config-file", file], out), 2);
      assert.match(out.errors.join("\n"), message);
      assert.equal(out.lines.length, 0, "nothing printed as a plan");
    });
  }

  it("the real program itself validates config before registering anything", async () => {
    const recorder = new ResourceRecorder();
    await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "staging", false);
    const bad = variant("staging", { greenWeight: "150" });
    pulumi.runtime.setAllConfig(bad.config, bad.secretKeys);
    assert.throws(() => program(), /rollout:greenWeight: expected an integer 0-100, got 150/);
    assert.equal(recorder.resources.length, 0);
  });
});
