import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { phaseIds, transitionsBefore } from "../rollout/phases";
import { requiredRoles } from "../rollout/decisions";
import { loadPlaybook, loadStackFile } from "../rollout/loaders";
import type { StackFile } from "../rollout/stackFile";
import { RolloutState } from "../rollout/state";
import { RolloutInputError } from "../rollout/validation";
import { bufferOutput } from "../cli/output";
import { planStack as planStackAt, type PlanResult } from "../cli/offlinePlan";
import { runCli } from "../cli/rollout";
import * as pulumi from "@pulumi/pulumi";
import program from "../index";
import { approvedDecisions } from "./support/evidenceFixtures";
import { ResourceRecorder } from "./support/mocks";

/** Every plan here runs at this deploy time, so staging's snapshot identifier is fixed. */
const NOW = new Date("2026-11-20T09:30:00Z");
const planStack = (file: StackFile, mocks = {}) => planStackAt(file, mocks, { now: NOW });

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
  it("plans both committed stacks: exact resources by type", async () => {
    const common = {
      "aws:backup/plan:Plan": 1,
      "aws:backup/selection:Selection": 1,
      "aws:backup/vault:Vault": 1,
      "aws:cloudwatch/compositeAlarm:CompositeAlarm": 1,
      "aws:cloudwatch/dashboard:Dashboard": 1,
      "aws:cloudwatch/logGroup:LogGroup": 1,
      // QualityGates: green's 29 (9 app-wide + 10 per service), blue's 4 twins per service and the load balancer's 5xx; the rollback function's 2.
      "aws:cloudwatch/metricAlarm:MetricAlarm": 9 + (10 + 4) * 2 + 1 + 2,
      "aws:ec2/securityGroup:SecurityGroup": 2,
      // PodPermissions: the pods' role, its policy and the Pod Identity association.
      "aws:eks/podIdentityAssociation:PodIdentityAssociation": 1,
      // DataProtection: the backup role and the Enhanced Monitoring role.
      "aws:iam/role:Role": 4,
      "aws:iam/rolePolicy:RolePolicy": 2,
      "aws:kms/alias:Alias": 1,
      // Alerts, data, and the rollback function's log group and environment.
      "aws:kms/key:Key": 3,
      "aws:lambda/function:Function": 1,
      "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 1,
      "aws:lambda/permission:Permission": 1,
      "aws:lb/listener:Listener": 2,
      "aws:lb/loadBalancer:LoadBalancer": 1,
      "aws:lb/targetGroup:TargetGroup": 4,
      "aws:rds/instance:Instance": 1,
      // The MariaDB Audit Plugin.
      "aws:rds/optionGroup:OptionGroup": 1,
      "aws:rds/snapshot:Snapshot": 1,
      "aws:rds/subnetGroup:SubnetGroup": 1,
      "aws:sns/topic:Topic": 3,
      // SSL-only, one per topic.
      "aws:sns/topicPolicy:TopicPolicy": 3,
      "aws:sqs/queue:Queue": 1,
      // The DLQ's SSL-only policy (and EventBridge's dead letters, when a rule exists).
      "aws:sqs/queuePolicy:QueuePolicy": 1,
      "aws:ssm/parameter:Parameter": 1,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 2,
      // rollout:waf (default true): the web ACL in front of the ALB.
      "aws:wafv2/webAcl:WebAcl": 1,
      "aws:wafv2/webAclAssociation:WebAclAssociation": 1,
      "command:local:Command": 2,
      "kubernetes:apps/v1:Deployment": 4,
      "kubernetes:core/v1:ConfigMap": 2,
      "kubernetes:core/v1:Secret": 2,
      "kubernetes:core/v1:Service": 4,
      "kubernetes:core/v1:ServiceAccount": 1,
      "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": 4,
      "kubernetes:policy/v1:PodDisruptionBudget": 4,
      "pulumi:providers:kubernetes": 1,
      "staged-rollout:alerts:AlertTopics": 1,
      "staged-rollout:data:DataProtection": 1,
      "staged-rollout:gates:QualityGates": 1,
      "staged-rollout:hooks:DeployHooks": 1,
      "staged-rollout:rollback:AutoRollback": 1,
      "staged-rollout:traffic:TrafficRouter": 1,
      "staged-rollout:workloads:Environment": 2,
      "staged-rollout:workloads:PodPermissions": 1,
    };
    const expected: Record<string, Record<string, number>> = {
      // 10 cohort users: 4 header rules and 14 exact-cookie rules (4 patterns per user, 3 per rule) per service, plus 2 weighted rules.
      // Alerts: 1 email + 1 https endpoint for 3 severities.
      staging: {
        ...common,
        "aws:lb/listenerRule:ListenerRule": 38,
        "aws:sns/topicSubscription:TopicSubscription": 5,
      },
      // 8 cohort users: 3 header rules and 11 exact-cookie rules per service, plus 2 weighted rules.
      production: {
        ...common,
        "aws:lb/listenerRule:ListenerRule": 30,
        "aws:sns/topicSubscription:TopicSubscription": 6,
      },
    };
    for (const stack of ["staging", "production"]) {
      const result = await planStack(loadStackFile(stack));
      assert.equal(result.stack, stack);
      assert.equal(result.latch, "unknown");
      // Offline, SSM is not asked and the state record the policy pack reads says so too.
      const state = result.resources.find((r) => r.name === "rollout-state")!;
      assert.equal(JSON.parse(state.inputs.insecureValue as string).latch, "unknown");
      const byType: Record<string, number> = {};
      for (const r of result.resources) byType[r.type] = (byType[r.type] ?? 0) + 1;
      assert.deepEqual(byType, expected[stack], stack);
      assert.equal(result.resources.length, stack === "staging" ? 162 : 155);
    }
  });

  it("routes general traffic by weight and cohorts to green in staging (broader-pilot, 10 %)", async () => {
    const result = await planStack(loadStackFile("staging"));
    assert.deepEqual(
      result.traffic.map((t) => [t.service, t.blue, t.green, t.cohortRoutes.length]),
      [
        ["web", 90, 10, 18],
        ["api", 90, 10, 18],
      ],
    );
    assert.deepEqual(weightedRule(result, "web"), [90, 10]);
    assert.deepEqual(weightedRule(result, "api"), [90, 10]);
    const cohortRules = result.resources.filter((r) => /^router-(web|api)-cohort-\d+$/.test(r.name));
    // 10 users: 4 header rules of 3, 14 cookie rules of 3 exact patterns (4 per user), per service.
    assert.equal(cohortRules.length, 2 * 18);
  });

  it("keeps weight 0 as an explicit 0 in production (limited-pilot)", async () => {
    const result = await planStack(loadStackFile("production"));
    assert.deepEqual(weightedRule(result, "web"), [100, 0]);
    assert.deepEqual(weightedRule(result, "api"), [100, 0]);
  });

  for (const stack of ["staging", "production"]) {
    for (const playbookId of ["tbs-strategy-framework", "telegram-money-bot"]) {
      const playbook = loadPlaybook(playbookId);
      for (const [index, phase] of phaseIds(playbook).entries()) {
        it(`plans ${stack} on ${playbookId} in ${phase}: weights, cohort rules, snapshot`, async () => {
          const spec = playbook.phases.find((p) => p.id === phase)!;
          const cap = spec.trafficCapPercent;
          // A compliant rollout: a GO for every transition so far, each after its phase's minimum
          // soak and with the evidence that gives it, and every sign-off.
          const decisions = approvedDecisions(playbook, phase);
          const signoffs = Object.fromEntries(
            phaseIds(playbook)
              .slice(0, index + 1)
              .map((p) => [
                p,
                Object.fromEntries(
                  requiredRoles(playbook, p).map((role) => [
                    role,
                    { approver: `${role}.approver`, at: "2026-10-31T12:00:00Z" },
                  ]),
                ),
              ]),
          );
          const result = await planStack(
            variant(stack, { playbook: playbookId, phase, greenWeight: String(cap), decisions, signoffs }),
          );
          assert.equal(result.phase, phase);
          assert.deepEqual(
            result.violations.filter((v) => v.enforcementLevel === "mandatory"),
            [],
          );
          const users = JSON.parse(loadStackFile(stack).config["rollout:cohorts"]!).users as string[];
          for (const t of result.traffic) {
            assert.deepEqual([t.blue, t.green], [100 - cap, cap]);
            assert.equal(t.cohortRoutes.length > 0, spec.cohortRouting);
          }
          assert.deepEqual(weightedRule(result, "web"), [100 - cap, cap]);
          assert.deepEqual(weightedRule(result, "api"), [100 - cap, cap]);
          // Cohort rules carry exactly the cohort's users: by header 3 per rule, in order.
          const headerValues = result.resources
            .filter((r) => /^router-web-cohort-\d+$/.test(r.name))
            .sort((a, b) => (a.inputs.priority as number) - (b.inputs.priority as number))
            .flatMap(
              (r) => r.inputs.conditions as { httpHeader?: { httpHeaderName: string; values: string[] } }[],
            )
            .filter((c) => c.httpHeader?.httpHeaderName === "X-Pilot-User")
            .map((c) => c.httpHeader!.values);
          assert.deepEqual(
            headerValues,
            spec.cohortRouting
              ? Array.from({ length: Math.ceil(users.length / 3) }, (_, i) => users.slice(3 * i, 3 * i + 3))
              : [],
          );
          const snapshots = result.resources.filter((r) => r.type === "aws:rds/snapshot:Snapshot");
          // The GO into the phase stamps it; the first phase has none, so the deploy time does.
          const last = decisions.at(-1);
          const entered = last ? last.at.replace(/[^0-9]/g, "").slice(0, 12) : "202611200930";
          assert.deepEqual(
            snapshots.map((s) => [s.name, s.inputs.dbSnapshotIdentifier]),
            [[`data-snapshot-${phase}`, `before-${phase}-${stack}-${entered}`]],
          );
        });
      }
    }
  }

  it("keeps the whole TBS rollout's state record (every decision, sign-off) compact and readable by the pack", async () => {
    const playbook = loadPlaybook("tbs-strategy-framework");
    // Each transition first refused, then approved a week later (the earliest a GO may follow a
    // NO-GO): the record keeps only the latest decision.
    const decisions = approvedDecisions(playbook, "full").flatMap((go) => [
      { ...go, decision: "NO-GO" as const, at: new Date(Date.parse(go.at) - 7 * 86_400_000).toISOString() },
      go,
    ]);
    const signoffs = Object.fromEntries(
      phaseIds(playbook).map((p) => [
        p,
        Object.fromEntries(
          requiredRoles(playbook, p).map((role) => [
            role,
            { approver: `${role}.approver@example.com`, at: "2026-10-31T12:00:00Z" },
          ]),
        ),
      ]),
    );
    const result = await planStack(
      variant("production", { phase: "full", greenWeight: "100", decisions, signoffs }),
    );
    const parameter = result.resources.find((r) => r.name === "rollout-state")!;
    assert.equal(parameter.inputs.tier, "Intelligent-Tiering");
    const value = parameter.inputs.insecureValue as string;
    assert.ok(value.length <= 4096, `state record is ${value.length} bytes; Standard tier holds 4096`);
    const state = RolloutState.parse(JSON.parse(value));
    assert.deepEqual(
      state.decisions.map((d) => [d.from, d.to, d.decision, d.evidence]),
      transitionsBefore(playbook, "full").map((t) => [t.from, t.to, "GO", []]),
    );
    assert.deepEqual(state.signoffs, signoffs);
    assert.deepEqual(
      result.violations.filter((v) => v.enforcementLevel === "mandatory"),
      [],
    );
  });

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
    assert.equal(changed.filter((r) => r.name.includes("-cohort-")).length, 28);
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

  for (const playbookId of ["tbs-strategy-framework", "telegram-money-bot"]) {
    const playbook = loadPlaybook(playbookId);
    for (const phase of phaseIds(playbook)) {
      it(`rollback: true on ${playbookId} in ${phase}: every service 100/0, no cohort rules, stickiness off`, async () => {
        const cap = playbook.phases.find((p) => p.id === phase)!.trafficCapPercent;
        const result = await planStack(
          variant("staging", {
            playbook: playbookId,
            phase,
            greenWeight: String(cap),
            rollback: "true",
            decisions: [],
            signoffs: {},
          }),
        );
        assert.equal(result.phase, phase);
        assert.deepEqual(
          result.traffic.map((t) => [t.service, t.blue, t.green, t.cohortRoutes.length]),
          [
            ["web", 100, 0, 0],
            ["api", 100, 0, 0],
          ],
        );
        for (const service of ["web", "api"]) {
          assert.deepEqual(weightedRule(result, service), [100, 0]);
          const rule = result.resources.find((r) => r.name === `router-${service}-weighted`)!;
          const forward = (rule.inputs.actions as { forward: { stickiness: unknown } }[])[0]!.forward;
          assert.deepEqual(forward.stickiness, { enabled: false, duration: 3600 }, service);
        }
        assert.deepEqual(result.resources.filter((r) => r.name.includes("-cohort-")).map(key), []);
      });
    }
  }

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

  it("exit 2 before any resource is registered: a plaintext database password in the stack file", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plain-secret-")), "Pulumi.production.yaml");
    const doc = yaml.load(fs.readFileSync(loadStackFile("production").file, "utf8")) as {
      config: { "rollout:database": Record<string, unknown> };
    };
    doc.config["rollout:database"].password = "supersecret123";
    fs.writeFileSync(file, yaml.dump(doc));
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file], out), 2);
    const errors = out.errors.join("\n");
    assert.match(
      errors,
      /rollout:database\.password: expected a Pulumi secret \(pulumi config set --secret --path 'rollout:database\.password' <value>\), got a plain value/,
    );
    assert.doesNotMatch(errors, /supersecret123/);
    assert.equal(out.lines.length, 0, "nothing printed as a plan");
  });

  it("the real program refuses secret paths whose top-level key Pulumi does not hold as secret", async () => {
    const recorder = new ResourceRecorder();
    await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "production", false);
    const file = loadStackFile("production");
    pulumi.runtime.setAllConfig(
      file.config,
      file.secretKeys.filter((k) => k !== "rollout:heavydb"),
    );
    assert.throws(
      () => program(),
      (error: unknown) =>
        error instanceof RolloutInputError &&
        error.message ===
          `invalid stack config for stack "production":\n  rollout:heavydb.readOnlyPassword: expected a Pulumi secret (pulumi config set --secret --path 'rollout:heavydb.readOnlyPassword' <value>), got a plain value`,
    );
    assert.equal(recorder.resources.length, 0);
  });

  it("the real program itself validates config before registering anything", async () => {
    const recorder = new ResourceRecorder();
    await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "staging", false);
    const bad = variant("staging", { greenWeight: "150" });
    pulumi.runtime.setAllConfig(bad.config, bad.secretKeys);
    assert.throws(() => program(), /rollout:greenWeight: expected an integer 0-100, got 150/);
    assert.equal(recorder.resources.length, 0);
  });
});

describe("between releases: green idles, the hooks hold on blue (issue 13)", () => {
  const tbs = loadPlaybook("tbs-strategy-framework");
  const committed = JSON.parse(loadStackFile("production").config["rollout:services"]!) as {
    name: string;
    blue: { image: string; port: number };
    green: { image: string; port: number };
  }[];
  /** What `finish` writes: blue on green's version. */
  const promoted = committed.map((s) => ({ ...s, blue: s.green }));
  const finish = {
    at: "2026-11-20T09:00:00Z",
    by: "dana.devops",
    fromPhase: "full",
    evidence: [
      "rowsPerSecond = 34000 (required >= 33573): pass",
      "uptimePercent = 99.95 (required >= 99.9): pass",
      "errorRate = 1.2 (required < 5): pass",
      "rollbackMinutes = 4 (required < 15): pass",
      "userSatisfaction = 86 (required >= 80): pass",
    ],
  };
  const finished = {
    phase: "preparation",
    greenWeight: "0",
    decisions: [],
    signoffs: {},
    services: promoted,
    finish,
  };
  const inputsOf = (result: PlanResult, name: string) => {
    const resource = result.resources.find((r) => r.name === name);
    assert.ok(resource, name);
    return resource.inputs as Record<string, any>;
  };
  const replicas = (result: PlanResult) =>
    ["blue", "green"].flatMap((colour) =>
      committed.map((s) => `${colour}-${s.name}: ${inputsOf(result, `${colour}-${s.name}`).spec.replicas}`),
    );
  const mode = (result: PlanResult) => inputsOf(result, "hooks-pre-deploy").environment.MODE as string;

  it("after finish: green's Deployments run rollout:idleGreenReplicas (0 by default), blue its replicas, the hooks check blue only", async () => {
    const result = await planStack(variant("production", finished));
    assert.deepEqual(replicas(result), ["blue-web: 3", "blue-api: 3", "green-web: 0", "green-api: 0"]);
    assert.deepEqual(inputsOf(result, "green-web-pdb").spec.maxUnavailable, 1);
    assert.equal(
      inputsOf(result, "green-web").spec.template.spec.containers[0].image,
      committed[0]!.green.image,
    );
    const pre = inputsOf(result, "hooks-pre-deploy").environment;
    assert.equal(pre.MODE, "latched");
    assert.equal(pre.TARGET_GROUPS.split(" ").length, 2);
    assert.ok((pre.TARGET_GROUPS as string).split(" ").every((g) => /^(web|api):blue:/.test(g)));
    assert.equal(inputsOf(result, "hooks-post-deploy").environment.MODE, "latched");
    const state = RolloutState.parse(JSON.parse(inputsOf(result, "rollout-state").insecureValue as string));
    assert.deepEqual(state.finish, { fromPhase: "full", evidence: finish.evidence });
    assert.deepEqual(
      state.services.map((s) => [s.service, s.blueRunsGreen]),
      [
        ["web", true],
        ["api", true],
      ],
    );
    assert.deepEqual(
      result.violations.filter((v) => v.enforcementLevel === "mandatory"),
      [],
    );
  });

  it("rollout:idleGreenReplicas keeps that many green pods per service", async () => {
    const result = await planStack(variant("production", { ...finished, idleGreenReplicas: "1" }));
    assert.deepEqual(replicas(result), ["blue-web: 3", "blue-api: 3", "green-web: 1", "green-api: 1"]);
    assert.deepEqual(inputsOf(result, "green-web-pdb").spec.minAvailable, 1);
  });

  it("finish's first step (still in full at 100 %): green serves everything at its replicas, the hooks run as always", async () => {
    const decisions = approvedDecisions(tbs, "full");
    const result = await planStack(
      variant("production", { phase: "full", greenWeight: "100", decisions, services: promoted, finish }),
    );
    assert.deepEqual(replicas(result), ["blue-web: 3", "blue-api: 3", "green-web: 3", "green-api: 3"]);
    assert.equal(mode(result), "deploy");
  });

  it("after start: green runs its replicas again, still out of the traffic path (the hooks hold on blue until an advance)", async () => {
    const release = { number: 2, startedAt: "2026-11-21T09:00:00Z", services: ["web"] };
    const services = promoted.map((s) =>
      s.name === "web"
        ? {
            ...s,
            green: { image: `${s.green.image.split("@")[0]}-next@sha256:${"a".repeat(64)}`, port: 3000 },
          }
        : s,
    );
    const started = {
      phase: "preparation",
      greenWeight: "0",
      decisions: [],
      signoffs: {},
      services,
      release,
    };
    const result = await planStack(variant("production", started));
    assert.deepEqual(replicas(result), ["blue-web: 3", "blue-api: 3", "green-web: 3", "green-api: 3"]);
    assert.equal(mode(result), "latched");
    const state = RolloutState.parse(JSON.parse(inputsOf(result, "rollout-state").insecureValue as string));
    assert.deepEqual(state.release, { number: 2, services: ["web"] });
    assert.deepEqual(
      state.services.map((s) => [s.service, s.blueRunsGreen]),
      [
        ["web", undefined],
        ["api", true],
      ],
    );
    // The first advance moves traffic: the hooks check green again.
    const advanced = await planStack(variant("production", { ...started, phase: "internal" }));
    assert.equal(mode(advanced), "deploy");
  });

  it("a stack whose releases the CLI never ran keeps the hooks as they were in its first phase (a first deploy)", async () => {
    const result = await planStack(
      variant("production", { phase: "preparation", decisions: [], signoffs: {} }),
    );
    assert.equal(mode(result), "deploy");
    assert.deepEqual(replicas(result), ["blue-web: 3", "blue-api: 3", "green-web: 3", "green-api: 3"]);
  });
});
