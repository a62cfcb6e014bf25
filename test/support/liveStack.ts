import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type Metric,
  type MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type DescribeRulesCommandInput,
  type ModifyRuleCommandInput,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { PublishCommand, SNSClient, type PublishCommandInput } from "@aws-sdk/client-sns";
import {
  GetParameterCommand,
  PutParameterCommand,
  SSMClient,
  type PutParameterCommandInput,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { CommandContext, StackBackend } from "../../cli/backend";
import { memoryHistoryStore } from "../../cli/history";
import { bufferOutput } from "../../cli/output";
import { parseRolloutConfig } from "../../rollout/config";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import { revisionClaimParameterName, stateParameterName, type Colour } from "../../rollout/names";
import { planTraffic } from "../../rollout/traffic";
import { passingEvidence } from "./evidenceFixtures";

/**
 * A live stack for the CLI's live commands, with no Pulumi and no AWS: an in-memory backend
 * whose `up` makes the fake ALB serve the config's plan, a fake ALB whose listener rules
 * DescribeRules reads and ModifyRule changes, mocked CloudWatch, SSM and SNS (publishes are
 * recorded), and a clock that moves. Each test file calls `beforeEach(resetAwsMocks)`.
 */

const elb = mockClient(ElasticLoadBalancingV2Client);
export const cloudwatch = mockClient(CloudWatchClient);
export const ssm = mockClient(SSMClient);
export const sns = mockClient(SNSClient);

/**
 * What the fakes were asked, in order: `up <phase>/<greenWeight>/<rollback>`, `set <key>=<value>,...`,
 * `ModifyRule <ruleArn>`, `Publish <subject>`. Emptied by `resetAwsMocks`.
 */
export const calls: string[] = [];

/** The fake ALB: the HTTPS listener's rules, which DescribeRules pages through and ModifyRule changes. */
export const alb = {
  rules: [] as Rule[],
  /** Rules per DescribeRules page (the request's PageSize caps it too); 0: all in one page. */
  pageSize: 0,
  /** ModifyRule fails for these rule ARNs, with this error. */
  failModify: new Map<string, Error>(),
  /** Called by every ModifyRule before it applies (to move the test clock). */
  onModify: (_ruleArn: string) => {},
};

/** The ModifyRule requests the fake ALB received, in order. */
export const modifyRuleCalls = () => elb.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input);

/** The DescribeRules requests the fake ALB received, in order. */
export const describeRulesCalls = () => elb.commandCalls(DescribeRulesCommand).map((c) => c.args[0].input);

/** The SNS publishes, in order. */
export const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

function answerAlb(): void {
  elb.on(DescribeRulesCommand).callsFake((input: DescribeRulesCommandInput) => {
    const from = input.Marker ? Number(input.Marker) : 0;
    const size = Math.min(alb.pageSize || alb.rules.length, input.PageSize ?? Infinity) || alb.rules.length;
    const page = alb.rules.slice(from, from + size);
    const next = from + size < alb.rules.length ? String(from + size) : undefined;
    return { Rules: structuredClone(page), ...(next && { NextMarker: next }) };
  });
  elb.on(ModifyRuleCommand).callsFake((input: ModifyRuleCommandInput) => {
    calls.push(`ModifyRule ${input.RuleArn}`);
    alb.onModify(input.RuleArn!);
    const failure = alb.failModify.get(input.RuleArn!);
    if (failure) throw failure;
    const rule = alb.rules.find((r) => r.RuleArn === input.RuleArn);
    if (!rule)
      throw Object.assign(new Error(`rule ${input.RuleArn} not found`), { name: "RuleNotFoundException" });
    // ModifyRule replaces the rule's actions (its conditions stay as they are).
    rule.Actions = structuredClone(input.Actions);
    return { Rules: [structuredClone(rule)] };
  });
}

const TG = (service: string, colour: Colour) =>
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
export class FakeBackend implements StackBackend {
  readonly ups: string[] = [];
  readonly sets: { entries: Record<string, string>; path: boolean }[] = [];
  readonly removed: string[] = [];
  upFails = false;
  /** `setConfig` throws (the backend cannot be reached). */
  setFails = false;
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
    calls.push(
      `set ${Object.entries(entries)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")}`,
    );
    if (this.setFails) throw new Error("pulumi config set: the backend is unreachable");
    for (const [key, value] of Object.entries(entries)) {
      if (!options?.path) {
        this.raw[key] = value;
        continue;
      }
      const [top, ...rest] = pathSegments(key) as [string, ...(string | number)[]];
      // `--path rollout:revision 3`: a top-level path sets the value itself.
      if (rest.length === 0) {
        this.raw[top] = value;
        continue;
      }
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
    calls.push(`up ${this.ups.at(-1)}`);
    onOutput("Updating (fake)");
    this.onUp();
    if (this.upFails || this.failingUps.includes(this.ups.length))
      return { result: "failed" as const, outputs: OUTPUTS };
    serveAlb(this.raw, this.stackName, this.albStuckOnGreen);
    deployedRecords.set(this.stackName, { revision: Number(this.raw.revision ?? 0) });
    return { result: "succeeded" as const, outputs: OUTPUTS };
  }
  async outputs() {
    return OUTPUTS;
  }
}

export const CRITICAL_TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts-critical";

const OUTPUTS = {
  httpsListenerArn: LISTENER,
  targetGroupArns: {
    web: { blue: TG("web", "blue"), green: TG("web", "green") },
    api: { blue: TG("api", "blue"), green: TG("api", "green") },
  },
  albDnsName: "router-alb-123.eu-west-1.elb.amazonaws.com",
  albArnSuffix: "app/router-alb/0123456789abcdef",
  alertTopics: {
    critical: CRITICAL_TOPIC,
    warning: "arn:aws:sns:eu-west-1:123456789012:alerts-warning",
    info: "arn:aws:sns:eu-west-1:123456789012:alerts-info",
  },
};

/** Make the fake ALB hold what the listener would for this config (DescribeRules answers it). */
export function serveAlb(raw: Record<string, string>, stack: string, stuckOnGreen = false): void {
  const config = parseRolloutConfig(raw, stack);
  const plan = planTraffic(config);
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
  alb.rules = [{ RuleArn: "default", IsDefault: true, Actions: [{ Type: "fixed-response" }] }, ...rules];
  answerAlb();
}

export function setup(stack: "staging" | "production", changes: Record<string, unknown> = {}) {
  const raw = rolloutKeys(loadStackFile(stack).config);
  for (const [k, v] of Object.entries(changes)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  const backend = new FakeBackend(stack, raw);
  // A new stack: deployed at the stack file's revision, as CI would have left it.
  deployedRecords.set(stack, { revision: Number(raw.revision ?? 0) });
  revisionClaims.delete(stack);
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
      sns: new SNSClient({}),
    },
    out,
    // Every read of the clock moves it 2 s, so durations are deterministic and non-zero.
    now: () => new Date((clock += 2000)),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    history: memoryHistoryStore(stack),
    // The fake stack's config is its stack file.
    readStackFile: () => ({ ...backend.raw }),
  };
  const advanceClock = (ms: number) => (clock += ms);
  return { backend, out, ctx, sleeps, advanceClock };
}

/** One raw sample in the fake CloudWatch: a request's response time, one minute's rows/s or request count. */
export interface Sample {
  at: string | number;
  value: number;
}

/** The key `serveMetrics` files a metric's samples under: `MetricName`, or `MetricName@<target group>` for the ALB's. */
export function seriesKey(metric: Metric): string {
  const targetGroup = metric.Dimensions?.find((d) => d.Name === "TargetGroup")?.Value;
  return targetGroup ? `${metric.MetricName}@${targetGroup}` : metric.MetricName!;
}

/** `targetgroup/router-<service>-<colour>-tg/abc`: the TargetGroup dimension of a service's group. */
export const targetGroupDimension = (service: string, colour: Colour) =>
  TG(service, colour).replace(/^.*:(targetgroup\/.*)$/, "$1");

function statistic(stat: string, values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const percentile = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (percentile) return sorted[Math.max(0, Math.ceil((Number(percentile[1]) / 100) * sorted.length) - 1)]!;
  switch (stat) {
    case "Sum":
      return values.reduce((a, b) => a + b, 0);
    case "Average":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "Minimum":
      return sorted[0]!;
    case "Maximum":
      return sorted.at(-1)!;
    case "SampleCount":
      return values.length;
  }
  throw new Error(`fake CloudWatch: statistic ${stat} not modelled`);
}

/**
 * Make GetMetricData answer as CloudWatch aggregates raw data: for each query, the samples of its
 * metric (`seriesKey`) from StartTime (inclusive) to EndTime (exclusive), grouped into periods of
 * its Period counted from StartTime, each period's statistic (Sum, Average, Minimum, Maximum,
 * SampleCount, pNN by nearest rank over every sample of the period). A period without samples
 * has no datapoint. Everything in one page.
 */
export function serveMetrics(series: Record<string, Sample[]>): void {
  cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    const start = new Date(input.StartTime as Date).getTime();
    const end = new Date(input.EndTime as Date).getTime();
    const results: MetricDataResult[] = (input.MetricDataQueries ?? []).map((q) => {
      const stat = q.MetricStat!;
      const periodMs = stat.Period! * 1000;
      const buckets = new Map<number, number[]>();
      for (const sample of series[seriesKey(stat.Metric!)] ?? []) {
        const at = typeof sample.at === "number" ? sample.at : Date.parse(sample.at);
        if (at < start || at >= end) continue;
        const bucket = start + Math.floor((at - start) / periodMs) * periodMs;
        buckets.set(bucket, [...(buckets.get(bucket) ?? []), sample.value]);
      }
      const stamps = [...buckets.keys()].sort((a, b) => a - b);
      return {
        Id: q.Id,
        Timestamps: stamps.map((t) => new Date(t)),
        Values: stamps.map((t) => statistic(stat.Stat!, buckets.get(t)!)),
        StatusCode: "Complete",
      };
    });
    return { MetricDataResults: results };
  });
}

export const latch = {
  reason: "errorRate-critical-web in ALARM",
  alarm: "production-auto-rollback",
  at: "2026-11-22T09:00:00.000Z",
};
function noAlarms() {
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
}
export function noLatch() {
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
  answerStateRecords();
}

/**
 * The state record each stack's last successful fake `up` wrote (what SSM holds at
 * stateParameterName): its `revision` is what the CLI's revision check reads.
 */
export const deployedRecords = new Map<string, { revision: number }>();

/** The revision each stack's CLI claimed in SSM (cli/revision.ts `claimRevision`): PutParameter writes it. */
export const revisionClaims = new Map<string, string>();

/**
 * GetParameter of a stack's state parameter answers its deployed record (ParameterNotFound before
 * the first up); its revision claim answers what PutParameter wrote.
 */
function answerStateRecords(): void {
  for (const stack of ["staging", "production"]) {
    ssm.on(GetParameterCommand, { Name: stateParameterName(stack) }).callsFake(() => {
      const record = deployedRecords.get(stack);
      if (!record) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
      return { Parameter: { Name: stateParameterName(stack), Value: JSON.stringify(record) } };
    });
    ssm.on(GetParameterCommand, { Name: revisionClaimParameterName(stack) }).callsFake(() => {
      const claim = revisionClaims.get(stack);
      if (claim === undefined) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
      return { Parameter: { Name: revisionClaimParameterName(stack), Value: claim } };
    });
    ssm
      .on(PutParameterCommand, { Name: revisionClaimParameterName(stack) })
      .callsFake((input: PutParameterCommandInput) => {
        revisionClaims.set(stack, input.Value!);
        return { Version: 1 };
      });
  }
}

/** Every mock back to no alarms and no latch: each test file's `beforeEach`. */
export function resetAwsMocks(): void {
  elb.reset();
  cloudwatch.reset();
  ssm.reset();
  sns.reset();
  calls.length = 0;
  deployedRecords.clear();
  revisionClaims.clear();
  alb.rules = [];
  alb.pageSize = 0;
  alb.failModify.clear();
  alb.onModify = () => {};
  answerAlb();
  sns.on(PublishCommand).callsFake((input: PublishCommandInput) => {
    calls.push(`Publish ${input.Subject}`);
    return { MessageId: `message-${calls.length}` };
  });
  noAlarms();
  noLatch();
  // Every target healthy unless a test says otherwise (finish and start read it).
  serveTargetHealth();
}

/** A recorded GO decision of the TBS playbook (what `gates --record` writes, evidence included), as config holds it. */
export const goDecision = (from: string, to: string) => ({
  from,
  to,
  decision: "GO",
  at: "2026-11-20T10:00:00Z",
  by: "dana",
  evidence: passingEvidence(loadPlaybook("tbs-strategy-framework"), from),
});

/** DescribeAlarms answering these alarms in ALARM (composites by their name). */
export const firing = (...names: string[]) => ({
  MetricAlarms: names
    .filter((n) => !n.endsWith("auto-rollback"))
    .map((AlarmName) => ({ AlarmName, StateValue: "ALARM" as const })),
  CompositeAlarms: names
    .filter((n) => n.endsWith("auto-rollback"))
    .map((AlarmName) => ({ AlarmName, StateValue: "ALARM" as const })),
});

// ---------------------------------------------------------------------------------------------
// Shift helpers (issue 13: heartbeat, Ctrl-C, events): alarm states over time, and an interrupt.

export const INFO_TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts-info";

export type AlarmStateValue = "OK" | "ALARM" | "INSUFFICIENT_DATA";

/**
 * DescribeAlarms answering the alarms `states(n)` gives at its nth call (1-based), honouring the
 * request's StateValue filter as CloudWatch does (composites by their name).
 */
export function serveAlarmStates(states: (call: number) => Record<string, AlarmStateValue>): void {
  let call = 0;
  cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { StateValue?: string }) => {
    const all = Object.entries(states(++call)).filter(([, s]) => !input.StateValue || s === input.StateValue);
    const of = (composite: boolean) =>
      all
        .filter(([name]) => name.endsWith("auto-rollback") === composite)
        .map(([AlarmName, StateValue]) => ({ AlarmName, StateValue }));
    return { MetricAlarms: of(false), CompositeAlarms: of(true) };
  });
}

/**
 * Ctrl-C for a setup() context: `ctx.signal` becomes the returned controller's. With `onSleep`,
 * the controller aborts during that ctx.sleep (1-based), which then returns at once, as the live
 * context's interruptible sleep does.
 */
export function interruptible(ctx: CommandContext, onSleep?: number): AbortController {
  const controller = new AbortController();
  ctx.signal = controller.signal;
  const sleep = ctx.sleep;
  let sleeps = 0;
  ctx.sleep = async (ms) => {
    if (++sleeps === onSleep) controller.abort();
    if (controller.signal.aborted) return;
    await sleep(ms);
  };
  return controller;
}

// ---------------------------------------------------------------------------------------------
// Target health (issue 13, the release lifecycle): `finish` waits for blue's targets to be healthy
// before traffic returns to blue, `start` for green's new version. Tests that run them call
// `serveTargetHealth()` after `resetAwsMocks` (which clears every fake answer).

import {
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandInput,
} from "@aws-sdk/client-elastic-load-balancing-v2";

/**
 * ELBv2 TargetHealthStateEnum (AWS API model, botocore elbv2 2015-12-01 service-2.json):
 * initial | healthy | unhealthy | unhealthy.draining | unused | draining | unavailable.
 */
export type TargetState =
  "initial" | "healthy" | "unhealthy" | "unhealthy.draining" | "unused" | "draining" | "unavailable";

/**
 * The reason code the model documents for each state (TargetHealth.Reason: none when healthy;
 * Elb.InitialHealthChecking while initial, Target.FailedHealthChecks when unhealthy,
 * Target.DeregistrationInProgress while draining, Target.NotRegistered when unused,
 * Target.HealthCheckDisabled when unavailable).
 */
const TARGET_REASON: Record<TargetState, string | undefined> = {
  initial: "Elb.InitialHealthChecking",
  healthy: undefined,
  unhealthy: "Target.FailedHealthChecks",
  "unhealthy.draining": "Target.DeregistrationInProgress",
  unused: "Target.NotRegistered",
  draining: "Target.DeregistrationInProgress",
  unavailable: "Target.HealthCheckDisabled",
};

/** A service's target group ARN in the fake stack's outputs (what DescribeTargetHealth is asked for). */
export const fakeTargetGroupArn = (service: string, colour: Colour) => TG(service, colour);

/**
 * DescribeTargetHealth answering, for the target group of its request, one target per state of
 * `states(targetGroupArn, call)`, where `call` counts that group's requests from 1 (IP targets
 * 10.0.0.1, 10.0.0.2... on port 8080, as a TargetGroupBinding of targetType ip registers pods).
 * Default: two healthy targets in every group. A state list of `"not-found"` answers
 * TargetGroupNotFoundException, as ELBv2 does for a deleted group.
 */
export function serveTargetHealth(
  states: (targetGroupArn: string, call: number) => TargetState[] | "not-found" = () => [
    "healthy",
    "healthy",
  ],
): void {
  const calls = new Map<string, number>();
  elb.on(DescribeTargetHealthCommand).callsFake((input: DescribeTargetHealthCommandInput) => {
    const arn = input.TargetGroupArn!;
    const call = (calls.get(arn) ?? 0) + 1;
    calls.set(arn, call);
    const answer = states(arn, call);
    if (answer === "not-found")
      throw Object.assign(new Error(`One or more target groups not found: ${arn}`), {
        name: "TargetGroupNotFoundException",
      });
    return {
      TargetHealthDescriptions: answer.map((state, i) => ({
        Target: { Id: `10.0.0.${i + 1}`, Port: 8080 },
        HealthCheckPort: "8080",
        TargetHealth: {
          State: state,
          ...(TARGET_REASON[state] !== undefined && { Reason: TARGET_REASON[state] }),
        },
      })),
    };
  });
}

/** The DescribeTargetHealth requests the fake ALB received, in order. */
export const targetHealthCalls = () =>
  elb.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input);
