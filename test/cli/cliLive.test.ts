import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DeleteParameterCommand, GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { parseRolloutConfig } from "../../rollout/config";
import { loadStackFile, rolloutKeys } from "../../rollout/stackFile";
import { planTraffic } from "../../rollout/traffic";
import { RolloutInputError } from "../../rollout/validation";
import type { CommandContext, StackBackend } from "../../cli/backend";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { missingGoDecisions, nextPhase, trafficCap } from "../../rollout/phases";
import { missingSignoffs } from "../../rollout/signoff";
import {
  advanceCommand,
  drillLiveCommand,
  gatesLiveCommand,
  parseInterval,
  resumeCommand,
  rollbackCommand,
  shiftCommand,
  shiftSteps,
  signoffAction,
  signoffCommand,
  statusCommand,
} from "../../cli/commands/live";

const elb = mockClient(ElasticLoadBalancingV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const ssm = mockClient(SSMClient);

const TG = (service: string, colour: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/router-${service}-${colour}-tg/abc`;
const LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/https";

/** `decisions[3].from`, `signoffs["limited-pilot"]["qaEngineer"].at` -> ["decisions", 3, "from"], ... */
function pathSegments(key: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const re = /^([A-Za-z]\w*)|\.([A-Za-z]\w*)|\[(\d+)\]|\["([^"]+)"\]/g;
  for (const m of key.matchAll(re))
    segments.push(m[1] ?? m[2] ?? (m[3] !== undefined ? Number(m[3]) : m[4]!));
  return segments;
}

/** An in-memory stack: config as Pulumi stores it, and an `up` that makes the mocked ALB match the config. */
class FakeBackend implements StackBackend {
  readonly ups: string[] = [];
  readonly sets: { entries: Record<string, string>; path: boolean }[] = [];
  readonly removed: string[] = [];
  upFails = false;
  /** 1-based numbers of the `up` calls that fail (the others succeed). */
  failingUps: number[] = [];
  /** Called on every `up` before it returns (to move the test clock). */
  onUp: () => void = () => {};
  /** Leave green weight behind on `up` (a broken deploy). */
  albStuckOnGreen = false;
  constructor(
    readonly stackName: string,
    readonly raw: Record<string, string>,
  ) {}
  async getRolloutConfig() {
    return { ...this.raw };
  }
  private decoded(key: string): unknown {
    const v = this.raw[key];
    return v === undefined ? undefined : JSON.parse(v);
  }
  async setConfig(entries: Record<string, string>, options?: { path?: boolean }) {
    this.sets.push({ entries, path: Boolean(options?.path) });
    for (const [key, value] of Object.entries(entries)) {
      if (!options?.path) {
        this.raw[key] = value;
        continue;
      }
      const [top, ...rest] = pathSegments(key) as [string, ...(string | number)[]];
      const root = (this.decoded(top) ?? (typeof rest[0] === "number" ? [] : {})) as Record<
        string | number,
        unknown
      >;
      let cursor = root;
      rest.forEach((segment, i) => {
        if (i === rest.length - 1) cursor[segment] = value;
        else
          cursor = (cursor[segment] ??= typeof rest[i + 1] === "number" ? [] : {}) as Record<
            string | number,
            unknown
          >;
      });
      this.raw[top] = JSON.stringify(root);
    }
  }
  async removeConfig(keys: string[], options?: { path?: boolean }) {
    for (const key of keys) {
      this.removed.push(key);
      const [top, ...rest] = pathSegments(key) as [string, ...(string | number)[]];
      if (!options?.path || rest.length === 0) {
        delete this.raw[top];
        continue;
      }
      const root = this.decoded(top) as Record<string | number, unknown>;
      let cursor = root;
      rest.slice(0, -1).forEach((s) => (cursor = cursor[s] as Record<string | number, unknown>));
      delete cursor[rest.at(-1)!];
      this.raw[top] = JSON.stringify(root);
    }
  }
  async up(onOutput: (line: string) => void) {
    this.ups.push(`${this.raw.phase}/${this.raw.greenWeight}/${this.raw.rollback}`);
    onOutput("Updating (fake)");
    this.onUp();
    if (this.upFails || this.failingUps.includes(this.ups.length))
      return { result: "failed" as const, outputs: OUTPUTS };
    serveAlb(this.raw, this.stackName, this.albStuckOnGreen);
    return { result: "succeeded" as const, outputs: OUTPUTS };
  }
  async outputs() {
    return OUTPUTS;
  }
}

const OUTPUTS = {
  httpsListenerArn: LISTENER,
  targetGroupArns: {
    web: { blue: TG("web", "blue"), green: TG("web", "green") },
    api: { blue: TG("api", "blue"), green: TG("api", "green") },
  },
  albDnsName: "router-alb-123.eu-west-1.elb.amazonaws.com",
  albArnSuffix: "app/router-alb/0123456789abcdef",
};

/** Make DescribeRules answer what the listener would hold for this config. */
function serveAlb(raw: Record<string, string>, stack: string, stuckOnGreen = false): void {
  const config = parseRolloutConfig(raw, stack);
  const plan = planTraffic({
    playbook: config.playbookSpec,
    phase: config.phase,
    greenWeight: config.greenWeight,
    cohorts: config.cohorts,
    rollback: config.rollback,
    services: config.services,
  });
  const rules: Rule[] = plan.flatMap((t) => [
    ...t.cohortRoutes.map((_, i) => ({
      RuleArn: `${t.service}-cohort-${i}`,
      Actions: [{ Type: "forward" as const, TargetGroupArn: TG(t.service, "green") }],
    })),
    {
      RuleArn: `${t.service}-weighted`,
      Actions: [
        {
          Type: "forward" as const,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: TG(t.service, "blue"), Weight: stuckOnGreen ? 50 : t.blue },
              { TargetGroupArn: TG(t.service, "green"), Weight: stuckOnGreen ? 50 : t.green },
            ],
          },
        },
      ],
    },
  ]);
  elb.on(DescribeRulesCommand).resolves({
    Rules: [{ RuleArn: "default", IsDefault: true, Actions: [{ Type: "fixed-response" }] }, ...rules],
  });
}

function setup(stack: "staging" | "production", changes: Record<string, unknown> = {}) {
  const raw = rolloutKeys(loadStackFile(stack).config);
  for (const [k, v] of Object.entries(changes)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  const backend = new FakeBackend(stack, raw);
  serveAlb(raw, stack);
  const out = bufferOutput();
  let clock = Date.parse("2026-11-22T10:00:00.000Z");
  const sleeps: number[] = [];
  const ctx: CommandContext = {
    backend,
    aws: {
      elb: new ElasticLoadBalancingV2Client({}),
      cloudwatch: new CloudWatchClient({}),
      ssm: new SSMClient({}),
    },
    out,
    // Every read of the clock moves it 2 s, so durations are deterministic and non-zero.
    now: () => new Date((clock += 2000)),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
  const advanceClock = (ms: number) => (clock += ms);
  return { backend, out, ctx, sleeps, advanceClock };
}

const latch = {
  reason: "errorRate-critical-web in ALARM",
  alarm: "production-auto-rollback",
  at: "2026-11-22T09:00:00.000Z",
};
function noAlarms() {
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
}
function noLatch() {
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
}

beforeEach(() => {
  elb.reset();
  cloudwatch.reset();
  ssm.reset();
  noAlarms();
  noLatch();
});

describe("rollout status", () => {
  it("reads weights from the ALB, alarms, latch, decisions and sign-offs", async () => {
    const { ctx, out } = setup("production");
    assert.equal(await statusCommand({ json: true }, ctx), 0);
    const status = JSON.parse(out.text());
    assert.equal(status.phase, "limited-pilot");
    assert.equal(status.nextPhase, "broader-pilot");
    assert.deepEqual(status.traffic, [
      { service: "web", blue: 100, green: 0, cohortRulesToGreen: 7 },
      { service: "api", blue: 100, green: 0, cohortRulesToGreen: 7 },
    ]);
    assert.equal(status.latch, null);
    assert.deepEqual(status.alarmsInAlarm, []);
    assert.equal(status.decisions.at(-1).to, "limited-pilot");
  });

  it("shows a firing alarm and a set latch in the human output", async () => {
    const { ctx, out } = setup("production");
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: "production-errorRate-critical-web", StateValue: "ALARM" },
        { AlarmName: "production-errorRate-warning-web", StateValue: "OK" },
        // Another stack whose name starts with this one's: not ours.
        { AlarmName: "production-2-errorRate-critical-web", StateValue: "ALARM" },
      ],
      CompositeAlarms: [{ AlarmName: "production-auto-rollback", StateValue: "ALARM" }],
    });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    await statusCommand({}, ctx);
    assert.match(out.text(), /\nalarms: 2 ALARM, 1 OK, 0 INSUFFICIENT_DATA\n/);
    assert.match(
      out.text(),
      /alarms in ALARM: production-auto-rollback, production-errorRate-critical-web\n/,
    );
    assert.match(out.text(), /latch: SET by production-auto-rollback at 2026-11-22T09:00:00.000Z/);
    assert.match(
      out.text(),
      /sign-offs for limited-pilot: devopsEngineer by dana.devops at 2026-11-02T15:00:00Z; qaEngineer by quinn.qa at 2026-11-02T15:05:00Z; productManager by /,
    );
    assert.match(
      out.text(),
      /sign-offs for broader-pilot: devopsEngineer MISSING; qaEngineer MISSING; productManager MISSING; supportEngineer MISSING/,
    );
  });
});

/** A recorded GO decision (what `gates --record` writes), as config holds it. */
const goDecision = (from: string, to: string) => ({
  from,
  to,
  decision: "GO",
  at: "2026-11-20T10:00:00Z",
  by: "dana",
  evidence: [],
});

describe("rollout advance", () => {
  it("refuses without a recorded GO, naming the command that records one", async () => {
    const { ctx, out, backend } = setup("staging", { phase: "limited-pilot", greenWeight: "0" });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /no GO decision recorded for limited-pilot -> broader-pilot: `npm run rollout -- gates --stack staging --evidence FILE --record`/,
    );
    assert.deepEqual(backend.ups, []);
  });

  it("refuses in production without the next phase's sign-offs", async () => {
    const { ctx, out } = setup("production", {
      decisions: [
        goDecision("preparation", "internal"),
        goDecision("internal", "limited-pilot"),
        goDecision("limited-pilot", "broader-pilot"),
      ],
    });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /sign-off missing for broader-pilot: supportEngineer \(`npm run rollout -- signoff approve --stack production --role supportEngineer --approver NAME`\)/,
    );
  });

  it("refuses while an alarm fires or the latch is set", async () => {
    const { ctx, out } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: "staging-p95ResponseMs-critical-web" }] });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await advanceCommand({ json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.equal(result.refused, true);
    assert.equal(result.reasons.length, 2);
    assert.match(result.reasons[0], /alarms in ALARM: staging-p95ResponseMs-critical-web/);
    assert.match(result.reasons[1], /latch set by production-auto-rollback/);
  });

  it("sets the next phase, runs up, verifies the ALB and reports the time", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    assert.equal(await advanceCommand({}, ctx), 0);
    assert.equal(backend.raw.phase, "broader-pilot");
    assert.deepEqual(backend.ups, ["broader-pilot/0/false"]);
    assert.match(out.text(), /\[\d\d:\d\d\] advancing staging: limited-pilot -> broader-pilot/);
    assert.match(out.text(), /now in broader-pilot; traffic verified on the ALB \(\d+ s\)/);
  });

  it("fails when the ALB does not match the plan after up", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    backend.albStuckOnGreen = true;
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(out.text(), /post-deploy check FAILED: web: ALB sends 50 % to green, expected 0 %/);
  });

  it("refuses at the last phase", async () => {
    const { ctx, out } = setup("staging", { phase: "full", greenWeight: "100" });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(out.text(), /full is the last phase of tbs-strategy-framework/);
  });
});

describe("rollout shift", () => {
  it("plans steps and intervals", () => {
    assert.deepEqual(shiftSteps(0, 10, 2), [2, 4, 6, 8, 10]);
    assert.deepEqual(shiftSteps(0, 10, 3), [3, 6, 9, 10]);
    assert.deepEqual(shiftSteps(10, 0, 5), [5, 0]);
    assert.deepEqual(shiftSteps(5, 5, 1), []);
    assert.deepEqual(
      [
        parseInterval("30s"),
        parseInterval("5m"),
        parseInterval("1h"),
        parseInterval("90"),
        parseInterval(undefined),
      ],
      [30, 300, 3600, 90, 300],
    );
    assert.throws(
      () => parseInterval("soon"),
      /--interval: expected seconds or a duration such as 30s, 5m, 1h, got "soon"/,
    );
  });

  it("moves greenWeight in steps, watching alarms between them", async () => {
    const { ctx, backend, sleeps, out } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "2m" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.deepEqual(sleeps, [60_000, 60_000], "the 2 min interval, watched once a minute");
    assert.equal(
      cloudwatch.commandCalls(DescribeAlarmsCommand).length,
      5,
      "before; after step 1 at 0, 60 and 120 s; after step 2",
    );
    assert.match(out.text(), /green at 10 %, verified on the ALB/);
  });

  it("refuses a weight above the phase's cap", async () => {
    const { ctx, out, backend } = setup("staging");
    assert.equal(await shiftCommand({ to: "25" }, ctx), 1);
    assert.match(out.text(), /25 % is above phase broader-pilot's cap of 10 %/);
    assert.deepEqual(backend.ups, []);
  });

  it("refuses while the latch is set", async () => {
    const { ctx, out } = setup("staging");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await shiftCommand({ to: "5" }, ctx), 1);
    assert.match(out.text(), /automatic rollback latch set/);
  });

  it("rolls back when a critical alarm fires mid-shift", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves({
        MetricAlarms: [{ AlarmName: "staging-errorRate-critical-api" }],
        CompositeAlarms: [{ AlarmName: "staging-auto-rollback" }],
      });
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m" }, ctx), 1);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/5/true"]);
    assert.equal(backend.raw.rollback, "true");
    assert.match(
      out.text(),
      /rollback alarm during the shift: staging-auto-rollback, staging-errorRate-critical-api; rolling back/,
    );
  });

  it("names the flag for bad input", async () => {
    const { ctx } = setup("staging");
    await assert.rejects(
      shiftCommand({ to: "ten" }, ctx),
      new RolloutInputError('--to: expected an integer 0-100, got "ten"'),
    );
    await assert.rejects(
      shiftCommand({ to: "5", step: "0" }, ctx),
      /--step: expected an integer 1-100, got "0"/,
    );
  });
});

describe("rollout rollback and resume", () => {
  it("rolls back, verifies every service is blue on the ALB and reports time-to-blue against the limit", async () => {
    const { ctx, out, backend } = setup("staging");
    assert.equal(await rollbackCommand({ reason: "p95 above 300 ms", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.equal(result.verified, true);
    assert.equal(result.limitSeconds, 900);
    assert.equal(result.withinLimit, true);
    assert.ok(result.timeToBlueSeconds > 0);
    assert.equal(backend.raw.rollback, "true");
  });

  it("fails when the ALB still sends traffic to green", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.albStuckOnGreen = true;
    assert.equal(await rollbackCommand({ reason: "drill" }, ctx), 1);
    assert.match(out.text(), /NOT on blue: web: 50 % of general traffic still on green/);
  });

  it("requires a reason", async () => {
    const { ctx } = setup("staging");
    await assert.rejects(rollbackCommand({}, ctx), /--reason: expected why you are rolling back/);
  });

  it("resume acknowledges and clears the latch, without moving traffic", async () => {
    const { ctx, out, backend } = setup("production");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    ssm.on(DeleteParameterCommand).resolves({});
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.equal(backend.raw.rollbackAcknowledged, latch.at);
    assert.deepEqual(ssm.commandCalls(DeleteParameterCommand)[0]!.args[0].input, {
      Name: "/staged-rollout/production/latch/rollback",
    });
    assert.deepEqual(backend.ups, []);
    assert.match(out.text(), /acknowledged the rollback by production-auto-rollback/);
  });

  it("resume clears an unreadable latch without acknowledging a time it does not have", async () => {
    const { ctx, out, backend } = setup("production");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "{not json" } });
    ssm.on(DeleteParameterCommand).resolves({});
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.equal(backend.raw.rollbackAcknowledged, undefined);
    assert.deepEqual(ssm.commandCalls(DeleteParameterCommand)[0]!.args[0].input, {
      Name: "/staged-rollout/production/latch/rollback",
    });
    assert.match(
      out.text(),
      /cleared an unreadable latch parameter \(nothing to acknowledge: it had no readable time\)/,
    );
  });

  it("resume with no latch says so", async () => {
    const { ctx, out } = setup("production");
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.match(out.text(), /no automatic rollback latch on production: nothing to resume/);
  });
});

describe("rollout signoff", () => {
  it("approves the next phase by default, writing exactly the path keys", async () => {
    const { ctx, backend } = setup("production");
    assert.equal(
      await signoffCommand({ role: "supportEngineer", approver: "sam.support" }, "approve", ctx),
      0,
    );
    assert.deepEqual(backend.sets, [
      {
        entries: {
          'signoffs["broader-pilot"]["supportEngineer"].approver': "sam.support",
          'signoffs["broader-pilot"]["supportEngineer"].at': "2026-11-22T10:00:02.000Z",
        },
        path: true,
      },
    ]);
    assert.deepEqual(JSON.parse(backend.raw.signoffs!)["broader-pilot"].supportEngineer, {
      approver: "sam.support",
      at: "2026-11-22T10:00:02.000Z",
    });
  });

  it("revokes an approval", async () => {
    const { ctx, backend } = setup("production");
    assert.equal(await signoffCommand({ role: "qaEngineer", phase: "limited-pilot" }, "revoke", ctx), 0);
    assert.deepEqual(backend.removed, ['signoffs["limited-pilot"]["qaEngineer"]']);
    assert.equal(JSON.parse(backend.raw.signoffs!)["limited-pilot"].qaEngineer, undefined);
  });

  it("shows each required role with its checklist", async () => {
    const { ctx, out } = setup("production");
    await signoffCommand({ phase: "limited-pilot", json: true }, "status", ctx);
    const status = JSON.parse(out.text());
    assert.equal(status.complete, true);
    assert.deepEqual(status.required, ["devopsEngineer", "qaEngineer", "productManager"]);
    assert.ok(status.roles[0].checklist.length > 0);
  });

  it("names --role and the valid roles for an unknown role", async () => {
    const { ctx } = setup("production");
    await assert.rejects(
      signoffCommand({ role: "ceo", approver: "x" }, "approve", ctx),
      /--role: unknown role "ceo"; expected one of devopsEngineer/,
    );
    assert.throws(() => signoffAction(["sign"]), /signoff: expected approve, revoke or status, got "sign"/);
  });

  it("stops, writing nothing, when the stack's live playbook is not the one its file names", async () => {
    // The flags were checked against Pulumi.production.yaml's playbook (TBS): devopsEngineer is
    // a role of both playbooks, yet it must not be written against another playbook's phases.
    const { ctx, backend } = setup("production", {
      playbook: "telegram-money-bot",
      phase: "preparation",
      greenWeight: "0",
      decisions: [],
      signoffs: {},
    });
    await assert.rejects(
      signoffCommand({ role: "devopsEngineer", approver: "x" }, "approve", ctx),
      new Error(
        `rollout:playbook is "telegram-money-bot" on stack production but "tbs-strategy-framework" in ${loadStackFile("production").file}: make the two agree before signing off`,
      ),
    );
    assert.deepEqual(backend.sets, []);
  });
});

describe("rollout gates --stack (live)", () => {
  it("merges CloudWatch evidence with the manual file and records the decision", async () => {
    const { ctx, out, backend } = setup("production");
    cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: { MetricDataQueries: { Id: string; ReturnData?: boolean }[] }) => ({
        MetricDataResults: input.MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => ({
          Id: q.Id,
          // criteria order: userSatisfaction (manual, no query), q1 rowsPerSecond (custom), q2 errorRate (per service)
          // errorRate: 5xx sums [3, 1] over request sums [100, 100] = 2 %.
          Values: q.Id.startsWith("q1") ? [34000, 35000] : q.Id.endsWith("e") ? [3, 1] : [100, 100],
        })),
      }));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "week3.yaml");
    fs.writeFileSync(file, "metrics:\n  userSatisfaction: 84\n  workflowTimeRatio: 1.1\n");
    assert.equal(await gatesLiveCommand({ evidence: file, record: true, approver: "dana.devops" }, ctx), 0);
    assert.match(out.text(), /limited-pilot -> broader-pilot: rule 3 of 4/);
    assert.match(
      out.text(),
      /rowsPerSecond: CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z/,
    );
    const decisions = JSON.parse(backend.raw.decisions!);
    const recorded = decisions.at(-1);
    assert.deepEqual(
      [recorded.from, recorded.to, recorded.decision, recorded.by],
      ["limited-pilot", "broader-pilot", "GO", "dana.devops"],
    );
    assert.deepEqual(recorded.evidence.slice(0, 3), [
      `userSatisfaction = 84 (required >= 80): pass [evidence file ${file}]`,
      "rowsPerSecond = 34500 (required >= 33573): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z]",
      "errorRate = 2 (required < 3): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z]",
    ]);
    assert.equal(Object.keys(backend.sets[0]!.entries)[0], "decisions[2].from");
  });

  it("is NO-GO (exit 1) without enough evidence", async () => {
    const { ctx } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    assert.equal(await gatesLiveCommand({}, ctx), 1);
  });
});

describe("rollout drill --live", () => {
  it("forces a rollback, measures time-to-blue and restores", async () => {
    const { ctx, out, backend } = setup("staging");
    assert.equal(await drillLiveCommand({ json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.ok(result.timeToBlueSeconds > 0);
    assert.equal(result.restored, true);
    assert.deepEqual(backend.ups, ["broader-pilot/10/true", "broader-pilot/10/false"]);
  });

  it("refuses production-tier stacks", async () => {
    const { ctx, out, backend } = setup("production");
    assert.equal(await drillLiveCommand({}, ctx), 1, "refused, not bad input");
    assert.match(
      out.text(),
      /drill --live refused:\n {2}- stack production is production-tier; live drills run on staging-tier stacks only/,
    );
    assert.deepEqual(backend.ups, []);
  });
});

const firing = (...names: string[]) => ({
  MetricAlarms: names
    .filter((n) => !n.endsWith("auto-rollback"))
    .map((AlarmName) => ({ AlarmName, StateValue: "ALARM" as const })),
  CompositeAlarms: names
    .filter((n) => n.endsWith("auto-rollback"))
    .map((AlarmName) => ({ AlarmName, StateValue: "ALARM" as const })),
});

describe("rollout status (more)", () => {
  it("JSON: every alarm state counted, this stack's alarms only, sign-offs with approvers", async () => {
    const { ctx, out } = setup("production");
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: "production-errorRate-warning-api", StateValue: "ALARM" },
        { AlarmName: "production-errorRate-critical-api", StateValue: "INSUFFICIENT_DATA" },
        { AlarmName: "production-2-errorRate-critical-api", StateValue: "ALARM" },
      ],
    });
    assert.equal(await statusCommand({ json: true }, ctx), 0);
    const status = JSON.parse(out.text());
    assert.deepEqual(status.alarmsInAlarm, ["production-errorRate-warning-api"]);
    assert.deepEqual(status.alarmStates, { ALARM: 1, OK: 0, INSUFFICIENT_DATA: 1 });
    assert.deepEqual(status.signoffs.phase.devopsEngineer, {
      approver: "dana.devops",
      at: "2026-11-02T15:00:00Z",
    });
    assert.deepEqual(status.signoffs.next, {});
    assert.equal(status.outputs.albDnsName, "router-alb-123.eu-west-1.elb.amazonaws.com");
    assert.equal(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input.StateValue, undefined);
  });
});

describe("rollout advance (safety)", () => {
  it("refuses while rollout:rollback is true, naming rollback --clear", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      rollback: "true",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /rollout:rollback is true: once green is fixed, `npm run rollout -- rollback --clear --stack staging`/,
    );
    assert.deepEqual(backend.ups, []);
  });

  it("when up fails: restores rollout:phase, says what the ALB serves and the time, exit 1", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    backend.upFails = true;
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.equal(backend.raw.phase, "limited-pilot");
    assert.deepEqual(
      backend.sets.map((s) => s.entries),
      [{ phase: "broader-pilot" }, { phase: "limited-pilot" }],
    );
    assert.match(out.text(), /advance FAILED after \d+ s: pulumi up failed \(phase broader-pilot\)/);
    assert.match(out.text(), /config: restored rollout:phase to limited-pilot/);
    assert.match(out.text(), /the ALB serves now:\n {2}service/);
    assert.deepEqual(out.errors, [
      "error: advance: pulumi up failed (phase broader-pilot); see the output above",
    ]);
  });
});

describe("rollout shift (more)", () => {
  it("refuses while rollout:rollback is true", async () => {
    const { ctx, out, backend } = setup("staging", { rollback: "true" });
    assert.equal(await shiftCommand({ to: "5" }, ctx), 1);
    assert.match(out.text(), /rollout:rollback is true/);
    assert.deepEqual(backend.ups, []);
  });

  it("starts from the weight the ALB serves, not the config (after an automatic rollback)", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "10" });
    serveAlb({ ...backend.raw, rollback: "true" }, "staging"); // the Lambda moved it outside Pulumi
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "60" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.match(out.text(), /the ALB serves 0 % to green; rollout:greenWeight says 10 %: shifting from 0 %/);
  });

  it("writes the config when the ALB already serves the target but the config differs", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "10" });
    serveAlb({ ...backend.raw, greenWeight: "5" }, "staging");
    assert.equal(await shiftCommand({ to: "5" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false"]);
    assert.equal(backend.raw.greenWeight, "5");
  });

  it("does nothing when the ALB and the config are both at the target", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "10" });
    assert.equal(await shiftCommand({ to: "10" }, ctx), 0);
    assert.deepEqual(backend.ups, []);
    assert.match(out.text(), /green is already at 10 % on the ALB/);
  });

  it("shifts down too", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "10" });
    assert.equal(await shiftCommand({ to: "0", step: "5", interval: "0" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/0/false"]);
  });

  it("goes on with only a warning alarm firing, and says so", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-errorRate-warning-web"));
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m", json: true }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.deepEqual(JSON.parse(out.text()).warnings, ["staging-errorRate-warning-web"]);
    assert.equal(
      out.errors.filter((l) =>
        / alarm in ALARM: staging-errorRate-warning-web \(warning, playbook action alert\): not a rollback trigger; the shift goes on$/.test(
          l,
        ),
      ).length,
      1,
      "said once, not at every poll",
    );
  });

  it("goes on when a critical alarm the playbook only alerts on or reviews fires (not a rollback alarm)", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-diskFreePercent-critical", "staging-uptimePercent-critical"));
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m", json: true }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    const result = JSON.parse(out.text());
    assert.equal(result.completed, true);
    assert.deepEqual(result.warnings, ["staging-diskFreePercent-critical", "staging-uptimePercent-critical"]);
    assert.deepEqual(
      out.errors.filter((l) => / alarm in ALARM: /.test(l)).map((l) => l.replace(/^\[\d\d:\d\d\] /, "")),
      [
        "alarm in ALARM: staging-diskFreePercent-critical (critical, playbook action alert): not a rollback trigger; the shift goes on",
        "alarm in ALARM: staging-uptimePercent-critical (critical, playbook action review): not a rollback trigger; the shift goes on",
      ],
    );
  });

  it("refuses to start while a non-rollback critical alarm fires, and labels each alarm", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves(firing("staging-diskFreePercent-critical", "staging-errorRate-critical-api"));
    assert.equal(await shiftCommand({ to: "5", json: true }, ctx), 1);
    assert.deepEqual(backend.ups, []);
    assert.deepEqual(JSON.parse(out.text()).reasons, [
      "alarms in ALARM: staging-diskFreePercent-critical (critical, playbook action alert), staging-errorRate-critical-api (rollback) (see `npm run rollout -- status --stack staging`)",
    ]);
  });

  it("a critical alarm during the interval stops the wait at once, and the rollback is verified blue", async () => {
    const { ctx, backend, out, sleeps } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] }) // before
      .resolvesOnce({ MetricAlarms: [] }) // right after step 1
      .resolves(firing("staging-errorRate-critical-api")); // a minute into the interval
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "10m", json: true }, ctx), 1);
    assert.deepEqual(sleeps, [60_000], "not the whole 10 minutes");
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/5/true"]);
    const result = JSON.parse(out.text());
    assert.equal(result.rolledBack, true);
    assert.equal(result.verifiedBlue, true);
    assert.deepEqual(result.alarms, ["staging-errorRate-critical-api"]);
    assert.ok(result.timeToBlueSeconds > 0);
  });

  it("stops when the ALB does not serve the step's weight", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    backend.albStuckOnGreen = true;
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "0" }, ctx), 1);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false"]);
    assert.match(out.text(), /traffic check FAILED: web: ALB sends 50 % to green, expected 5 %/);
  });

  it("when up fails: restores the last weight that was applied", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    backend.failingUps = [2];
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "0" }, ctx), 1);
    assert.equal(backend.raw.greenWeight, "5");
    assert.match(out.text(), /shift FAILED after \d+ s: pulumi up failed \(greenWeight 10\)/);
    assert.match(out.text(), /config: restored rollout:greenWeight to 5 %/);
  });
});

describe("rollout rollback (more)", () => {
  it("reports a time over the playbook's limit as withinLimit false", async () => {
    const { ctx, out, backend, advanceClock } = setup("staging");
    backend.onUp = () => advanceClock(1000_000);
    assert.equal(await rollbackCommand({ reason: "slow", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.equal(result.withinLimit, false);
    assert.ok(result.timeToBlueSeconds > 1000);
  });

  it("when up fails: rollout:rollback stays true, exit 1 with one line", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.upFails = true;
    assert.equal(await rollbackCommand({ reason: "p95" }, ctx), 1);
    assert.equal(backend.raw.rollback, "true");
    assert.match(out.text(), /config: rollout:rollback stays true/);
    assert.deepEqual(out.errors, ["error: rollback: pulumi up failed (rollback); see the output above"]);
  });

  it("--clear sets rollback false, runs up and verifies the ALB serves the plan again", async () => {
    const { ctx, out, backend } = setup("staging", { rollback: "true" });
    assert.equal(await rollbackCommand({ clear: true }, ctx), 0);
    assert.equal(backend.raw.rollback, "false");
    assert.deepEqual(backend.ups, ["broader-pilot/10/false"]);
    assert.match(out.text(), /rollback cleared; the ALB serves the plan for broader-pilot at 10 %/);
  });

  it("--clear refuses while the latch is set, and does nothing when rollback is already false", async () => {
    const first = setup("staging", { rollback: "true" });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await rollbackCommand({ clear: true }, first.ctx), 1);
    assert.match(first.out.text(), /rollback --clear refused:\n {2}- automatic rollback latch set/);
    assert.deepEqual(first.backend.ups, []);
    noLatch();
    const second = setup("staging");
    assert.equal(await rollbackCommand({ clear: true }, second.ctx), 0);
    assert.match(second.out.text(), /rollout:rollback is already false on staging: nothing to clear/);
    assert.deepEqual(second.backend.ups, []);
  });

  it("resume says what the ALB serves and which command moves traffic", async () => {
    const { ctx, out, backend } = setup("production");
    serveAlb({ ...backend.raw, rollback: "true" }, "production");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    ssm.on(DeleteParameterCommand).resolves({});
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.match(
      out.text(),
      /the ALB serves 0 % to green; rollout:greenWeight is 0 %. Traffic moves only with: `npm run rollout -- shift --stack production --to 0 --step K --interval T`/,
    );
  });
});

describe("rollout signoff approve", () => {
  it("shows the role's checklist it attests", async () => {
    const { ctx, out } = setup("production");
    assert.equal(
      await signoffCommand({ role: "supportEngineer", approver: "sam.support", json: true }, "approve", ctx),
      0,
    );
    const result = JSON.parse(out.text());
    assert.ok(result.checklist.length > 0);
    assert.deepEqual(result.checklist, loadStackFileChecklist("supportEngineer"));
  });

  it("checks --role and --approver before reading the stack", async () => {
    const { ctx, backend } = setup("production");
    let reads = 0;
    backend.getRolloutConfig = async () => {
      reads += 1;
      return { ...backend.raw };
    };
    await assert.rejects(
      signoffCommand({ role: "qaEngineer" }, "approve", ctx),
      /--approver: expected the name of the person approving, got nothing/,
    );
    await assert.rejects(signoffCommand({}, "revoke", ctx), /--role: expected a role id such as qaEngineer/);
    assert.equal(reads, 0);
  });
});

function loadStackFileChecklist(role: string): string[] {
  const config = parseRolloutConfig(rolloutKeys(loadStackFile("production").config), "production");
  return config.playbookSpec.signoff.roles.find((r) => r.id === role)!.checklist;
}

describe("rollout gates --stack (window and sums)", () => {
  it("asks GetMetricData from the GO into the phase to now, hourly, per service, and follows NextToken", async () => {
    const { ctx } = setup("production");
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: "q2_0e", Values: [3] }], NextToken: "page2" })
      .resolves({
        MetricDataResults: [
          { Id: "q2_0e", Values: [1] },
          { Id: "q2_0r", Values: [100, 100] },
        ],
      });
    await gatesLiveCommand({ json: true }, ctx);
    const calls = cloudwatch.commandCalls(GetMetricDataCommand);
    assert.equal(calls.length, 2);
    const input = calls[0]!.args[0].input;
    assert.deepEqual(input.StartTime, new Date("2026-11-02T16:00:00Z"));
    assert.equal(calls[1]!.args[0].input.NextToken, "page2");
    const errors5xx = input.MetricDataQueries!.find((q) => q.Id === "q2_0e")!;
    assert.deepEqual(errors5xx.MetricStat, {
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "HTTPCode_Target_5XX_Count",
        Dimensions: [
          { Name: "LoadBalancer", Value: "app/router-alb/0123456789abcdef" },
          { Name: "TargetGroup", Value: "targetgroup/router-web-green-tg/abc" },
        ],
      },
      Period: 3600,
      Stat: "Sum",
    });
    const rows = input.MetricDataQueries!.find((q) => q.Id === "q1_0")!;
    assert.equal(rows.MetricStat!.Metric!.Namespace, "StagedRollout/production");
  });

  it("error rate is total 5xx over total requests, not an average of hourly rates", async () => {
    const { ctx, out } = setup("production");
    // Hour 1: 1 error in 1 request (100 %); hour 2: 0 in 999. Weighted: 0.1 %; averaged: 50 %.
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "q2_0e", Values: [1, 0] },
        { Id: "q2_0r", Values: [1, 999] },
      ],
    });
    await gatesLiveCommand({ json: true }, ctx);
    const errorRate = JSON.parse(out.text()).results.find((r: { id: string }) => r.id === "errorRate");
    assert.equal(errorRate.value, 0.1);
  });

  it("a value in the evidence file overrides CloudWatch's; --record on NO-GO records NO-GO", async () => {
    const { ctx, out, backend } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "q2_0e", Values: [1] },
        { Id: "q2_0r", Values: [100] },
      ],
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "nogo.yaml");
    fs.writeFileSync(file, "metrics:\n  errorRate: 4\n");
    assert.equal(
      await gatesLiveCommand({ evidence: file, record: true, approver: "dana", json: true }, ctx),
      1,
    );
    const result = JSON.parse(out.text());
    assert.equal(result.results.find((r: { id: string }) => r.id === "errorRate").value, 4);
    assert.equal(result.sources.errorRate, `evidence file ${file}`);
    const recorded = JSON.parse(backend.raw.decisions!).at(-1);
    assert.deepEqual(
      [recorded.from, recorded.to, recorded.decision],
      ["limited-pilot", "broader-pilot", "NO-GO"],
    );
  });
});

describe("rollout gates --stack: the phase's rollback triggers", () => {
  /** CloudWatch for limited-pilot: rowsPerSecond (q1) averages 34500, errorRate (q2) is 2 %. */
  function limitedPilotMetrics() {
    cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: { MetricDataQueries: { Id: string; ReturnData?: boolean }[] }) => ({
        MetricDataResults: input.MetricDataQueries.map((q) => ({
          Id: q.Id,
          Values: q.Id.startsWith("q1") ? [34000, 35000] : q.Id.endsWith("e") ? [3, 1] : [100, 100],
        })),
      }));
  }
  function surveyFile(userSatisfaction: number): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "survey.yaml");
    fs.writeFileSync(file, `metrics:\n  userSatisfaction: ${userSatisfaction}\n  workflowTimeRatio: 1.1\n`);
    return file;
  }

  it("refuses to --record a GO while a trigger is breached: exit 1, nothing written, the trigger named", async () => {
    const { ctx, out, backend } = setup("production");
    limitedPilotMetrics();
    const file = surveyFile(69.9);
    assert.equal(await gatesLiveCommand({ evidence: file, record: true, approver: "dana" }, ctx), 1);
    assert.deepEqual(backend.sets, []);
    const since = "CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z";
    assert.deepEqual(out.lines.slice(out.lines.indexOf("rollback triggers of limited-pilot:")), [
      "rollback triggers of limited-pilot:",
      "trigger                                                   breaches when                                    observed   status",
      "--------------------------------------------------------  -----------------------------------------------  ---------  ------------",
      "User satisfaction <70% in feedback surveys                userSatisfaction < 70 % positive                 69.9       BREACHED",
      "Performance degradation >20% from baseline                rowsPerSecond < 29842 rows/s                     34500      clear",
      "Critical workflow failures affecting >50% of pilot users  pilotUsersAffectedPercent > 50 % of pilot users  (missing)  not measured",
      "",
      "decision: GO (3 of 4 passed, 3 required)",
      'ROLLBACK TRIGGER BREACHED: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive) — roll back: npm run rollout -- rollback --stack production --reason "rollback trigger of limited-pilot: User satisfaction <70% in feedback surveys"',
      "exit 1: a GO must not be recorded while a rollback trigger of limited-pilot is breached",
      `  rowsPerSecond: ${since}`,
      `  errorRate: ${since}`,
      `  userSatisfaction: evidence file ${file}`,
      `  workflowTimeRatio: evidence file ${file}`,
      "gates --record refused: the GO is not recorded",
      "  - rollback trigger of limited-pilot breached: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive)",
    ]);
  });

  it("--json: rollbackTriggers, recorded false and recordRefused", async () => {
    const { ctx, out, backend } = setup("production");
    limitedPilotMetrics();
    assert.equal(
      await gatesLiveCommand({ evidence: surveyFile(69.9), record: true, approver: "dana", json: true }, ctx),
      1,
    );
    assert.deepEqual(backend.sets, []);
    const result = JSON.parse(out.text());
    assert.deepEqual(
      [result.decision, result.recorded, result.recordRefused],
      [
        "GO",
        false,
        [
          "rollback trigger of limited-pilot breached: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive)",
        ],
      ],
    );
    assert.deepEqual(result.rollbackTriggers, [
      {
        description: "User satisfaction <70% in feedback surveys",
        gate: "userSatisfaction",
        op: "<",
        value: 70,
        unit: "% positive",
        observed: 69.9,
        status: "breached",
      },
      {
        description: "Performance degradation >20% from baseline",
        gate: "rowsPerSecond",
        op: "<",
        value: 29842,
        unit: "rows/s",
        observed: 34500,
        status: "clear",
      },
      {
        description: "Critical workflow failures affecting >50% of pilot users",
        gate: "pilotUsersAffectedPercent",
        op: ">",
        value: 50,
        unit: "% of pilot users",
        status: "not-measured",
      },
    ]);
  });

  it("satisfaction exactly 70 is clear: the GO is recorded, exit 0, no recordRefused", async () => {
    const { ctx, out, backend } = setup("production");
    limitedPilotMetrics();
    assert.equal(
      await gatesLiveCommand({ evidence: surveyFile(70), record: true, approver: "dana", json: true }, ctx),
      0,
    );
    const result = JSON.parse(out.text());
    assert.deepEqual([result.recorded, "recordRefused" in result], [true, false]);
    const recorded = JSON.parse(backend.raw.decisions!).at(-1);
    assert.deepEqual([recorded.from, recorded.decision, recorded.by], ["limited-pilot", "GO", "dana"]);
  });

  it("a NO-GO with a breached trigger is still recorded (as NO-GO), exit 1", async () => {
    const { ctx, backend } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    assert.equal(await gatesLiveCommand({ evidence: surveyFile(60), record: true, json: true }, ctx), 1);
    const recorded = JSON.parse(backend.raw.decisions!).at(-1);
    assert.deepEqual([recorded.from, recorded.decision], ["limited-pilot", "NO-GO"]);
  });

  it("broader-pilot: asks CloudWatch for the triggers' own gates after the criteria; session success 89 breaches", async () => {
    const { ctx, out } = setup("production", { phase: "broader-pilot" });
    // Criteria q0..q5 (concurrentUsers, p95ResponseMs, errorRate, userAdoption, cpu, memory),
    // then the triggers' gates that are no criterion: q6 rowsPerSecond, q7 sessionSuccessRate.
    const values: Record<string, number[]> = { q6_0: [30000], q7_0: [89, 89] };
    cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
      MetricDataResults: input.MetricDataQueries.filter((q) => values[q.Id]).map((q) => ({
        Id: q.Id,
        Values: values[q.Id],
      })),
    }));
    assert.equal(await gatesLiveCommand({ json: true }, ctx), 1);
    const queries = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries!;
    assert.deepEqual(
      queries.filter((q) => q.Id === "q6_0" || q.Id === "q7_0").map((q) => [q.Id, q.MetricStat]),
      [
        [
          "q6_0",
          {
            Metric: {
              Namespace: "StagedRollout/production",
              MetricName: "RowsPerSecond",
              Dimensions: [{ Name: "Colour", Value: "green" }],
            },
            Period: 3600,
            Stat: "Average",
          },
        ],
        [
          "q7_0",
          {
            Metric: {
              Namespace: "StagedRollout/production",
              MetricName: "SessionSuccessRate",
              Dimensions: [{ Name: "Colour", Value: "green" }],
            },
            Period: 3600,
            Stat: "Average",
          },
        ],
      ],
    );
    const result = JSON.parse(out.text());
    assert.equal(result.decision, "NO-GO");
    assert.deepEqual(
      result.rollbackTriggers.map((t: { gate: string; observed?: number; status: string }) => [
        t.gate,
        t.observed,
        t.status,
      ]),
      [
        ["rowsPerSecond", 30000, "clear"],
        ["sessionSuccessRate", 89, "breached"],
        ["errorRate", undefined, "not-measured"],
        ["cpuUtilization", undefined, "not-measured"],
        ["memoryUtilization", undefined, "not-measured"],
      ],
    );
    assert.match(result.sources.sessionSuccessRate, /^CloudWatch on green /);
  });
});

describe("rollout drill --live (refusals and failures)", () => {
  it("refuses when green carries no traffic, naming the shift that gives it some", async () => {
    // Preparation routes no cohort to green, and the weight is 0.
    const { ctx, out, backend } = setup("staging", { phase: "preparation", greenWeight: "0" });
    assert.equal(await drillLiveCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /green carries no traffic on staging's ALB, so time-to-blue would measure nothing: give it a small weight first \(`npm run rollout -- shift --stack staging --to 5`\)/,
    );
    assert.deepEqual(backend.ups, []);
  });

  it("refuses while an alarm fires or the latch is set", async () => {
    const { ctx, out, backend } = setup("staging");
    cloudwatch.on(DescribeAlarmsCommand).resolves(firing("staging-errorRate-warning-web"));
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await drillLiveCommand({ json: true }, ctx), 1);
    assert.equal(JSON.parse(out.text()).reasons.length, 2);
    assert.deepEqual(backend.ups, []);
  });

  it("reports the time even when the forced up alone is over the limit", async () => {
    const { ctx, out, backend, advanceClock } = setup("staging");
    backend.onUp = () => advanceClock(1000_000);
    assert.equal(await drillLiveCommand({ json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.ok(result.timeToBlueSeconds > 1000);
    assert.equal(result.withinLimit, false);
    assert.equal(result.restored, true);
  });

  it("not blue within the limit: polls, restores, exit 1", async () => {
    const { ctx, out, backend, sleeps } = setup("staging");
    backend.albStuckOnGreen = true;
    assert.equal(await drillLiveCommand({ json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.equal(result.timeToBlueSeconds, null);
    assert.ok(result.waitedSeconds > 900);
    assert.ok(sleeps.length > 100 && sleeps.every((ms) => ms === 5000));
    assert.deepEqual(backend.ups, ["broader-pilot/10/true", "broader-pilot/10/false"]);
  });

  it("a failing forced up still restores; a failing restore does not hide the first error", async () => {
    const first = setup("staging");
    first.backend.failingUps = [1];
    assert.equal(await drillLiveCommand({}, first.ctx), 1);
    assert.equal(first.backend.raw.rollback, "false");
    assert.deepEqual(first.out.errors, [
      "error: drill --live: forced rollback: pulumi up failed (drill rollback); see the output above",
    ]);
    const second = setup("staging");
    second.backend.upFails = true;
    assert.equal(await drillLiveCommand({}, second.ctx), 1);
    assert.deepEqual(second.out.errors, [
      "error: drill --live: forced rollback: pulumi up failed (drill rollback); see the output above; restore: pulumi up failed (drill restore); see the output above",
    ]);
    assert.match(second.out.text(), /rollout:rollback may still be true/);
  });
});

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
