import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { CommandContext, StackBackend } from "../../cli/backend";
import { bufferOutput } from "../../cli/output";
import { parseRolloutConfig } from "../../rollout/config";
import { loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import type { Colour } from "../../rollout/names";
import { planTraffic } from "../../rollout/traffic";

/**
 * A live stack for the CLI's live commands, with no Pulumi and no AWS: an in-memory backend
 * whose `up` makes the mocked ALB serve the config's plan, mocked CloudWatch and SSM, and a
 * clock that moves. Each test file calls `beforeEach(resetAwsMocks)`.
 */

const elb = mockClient(ElasticLoadBalancingV2Client);
export const cloudwatch = mockClient(CloudWatchClient);
export const ssm = mockClient(SSMClient);

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
  elb.on(DescribeRulesCommand).resolves({
    Rules: [{ RuleArn: "default", IsDefault: true, Actions: [{ Type: "fixed-response" }] }, ...rules],
  });
}

export function setup(stack: "staging" | "production", changes: Record<string, unknown> = {}) {
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
}

/** Every mock back to no alarms and no latch: each test file's `beforeEach`. */
export function resetAwsMocks(): void {
  elb.reset();
  cloudwatch.reset();
  ssm.reset();
  noAlarms();
  noLatch();
}

/** A recorded GO decision (what `gates --record` writes), as config holds it. */
export const goDecision = (from: string, to: string) => ({
  from,
  to,
  decision: "GO",
  at: "2026-11-20T10:00:00Z",
  by: "dana",
  evidence: [],
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
