import { CloudWatchClient, DescribeAlarmsCommand, StateValue } from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { parseRolloutConfig, type RolloutConfig } from "../rollout/config";
import { Latch, latchParameterName } from "../rollout/state";
import { PROJECT_ROOT } from "../rollout/stackFile";
import type { Output } from "./cli";

/**
 * What the live commands need from Pulumi and AWS, behind small interfaces so their logic is
 * tested with fakes: the real backend wraps the Automation API, the real clients are SDK v3.
 */

export interface StackBackend {
  stackName: string;
  /** `rollout:*` config as Pulumi stores it: key without namespace -> string (objects as JSON). */
  getRolloutConfig(): Promise<Record<string, string>>;
  /** `pulumi config set [--path] rollout:<key> <value>` for each entry. */
  setConfig(entries: Record<string, string>, options?: { path?: boolean }): Promise<void>;
  removeConfig(keys: string[], options?: { path?: boolean }): Promise<void>;
  /** `pulumi up`, streaming its output. */
  up(
    onOutput: (line: string) => void,
  ): Promise<{ result: "succeeded" | "failed"; outputs: Record<string, unknown> }>;
  outputs(): Promise<Record<string, unknown>>;
}

export interface AwsClients {
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  ssm: SSMClient;
}

export interface CommandContext {
  backend: StackBackend;
  aws: AwsClients;
  out: Output;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

/** The Automation API over the project directory (needs the Pulumi CLI on PATH, as `pulumi up` does). */
export function automationBackend(stackName: string, workDir: string = PROJECT_ROOT): StackBackend {
  // Loaded on first use: importing the automation module is slow and needs nothing offline.
  const stack = (async () => {
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
    return LocalWorkspace.selectStack({ stackName, workDir });
  })();
  const ns = (key: string) => `rollout:${key}`;
  return {
    stackName,
    async getRolloutConfig() {
      const all = await (await stack).getAllConfig();
      const raw: Record<string, string> = {};
      for (const [key, { value }] of Object.entries(all))
        if (key.startsWith("rollout:")) raw[key.slice(8)] = value;
      return raw;
    },
    async setConfig(entries, options) {
      const config = Object.fromEntries(Object.entries(entries).map(([k, value]) => [ns(k), { value }]));
      await (await stack).setAllConfig(config, options?.path);
    },
    async removeConfig(keys, options) {
      await (await stack).removeAllConfig(keys.map(ns), options?.path);
    },
    async up(onOutput) {
      const result = await (
        await stack
      ).up({ onOutput: (text) => text.split("\n").filter(Boolean).forEach(onOutput) });
      return {
        result: result.summary.result === "succeeded" ? "succeeded" : "failed",
        outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value])),
      };
    },
    async outputs() {
      const outputs = await (await stack).outputs();
      return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
    },
  };
}

export function defaultAwsClients(region?: string): AwsClients {
  return {
    elb: new ElasticLoadBalancingV2Client({ region }),
    cloudwatch: new CloudWatchClient({ region }),
    ssm: new SSMClient({ region }),
  };
}

export async function loadLiveConfig(backend: StackBackend): Promise<RolloutConfig> {
  return parseRolloutConfig(await backend.getRolloutConfig(), backend.stackName);
}

/** Traffic as the ALB serves it right now, per service. */
export interface LiveTraffic {
  service: string;
  blue: number;
  green: number;
  /** Rules other than the weighted one that forward to green (cohort rules). */
  cohortRulesToGreen: number;
}

interface StackOutputs {
  httpsListenerArn: string;
  targetGroupArns: Record<string, { blue: string; green: string }>;
}

function stackOutputs(outputs: Record<string, unknown>): StackOutputs {
  const listener = outputs.httpsListenerArn;
  const groups = outputs.targetGroupArns;
  if (typeof listener !== "string" || typeof groups !== "object" || groups === null) {
    throw new Error(
      "the stack has no httpsListenerArn / targetGroupArns outputs: run `pulumi up` once before live commands",
    );
  }
  return { httpsListenerArn: listener, targetGroupArns: groups as StackOutputs["targetGroupArns"] };
}

async function listenerRules(aws: AwsClients, listenerArn: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let marker: string | undefined;
  do {
    const page = await aws.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn, Marker: marker }));
    rules.push(...(page.Rules ?? []));
    marker = page.NextMarker;
  } while (marker);
  return rules;
}

/** Per-service weights read from the listener rules (the ALB API, not the config). */
export async function readAlbTraffic(
  aws: AwsClients,
  outputs: Record<string, unknown>,
): Promise<LiveTraffic[]> {
  const { httpsListenerArn, targetGroupArns } = stackOutputs(outputs);
  const rules = await listenerRules(aws, httpsListenerArn);
  return Object.entries(targetGroupArns).map(([service, { blue, green }]) => {
    const live: LiveTraffic = { service, blue: 0, green: 0, cohortRulesToGreen: 0 };
    for (const rule of rules) {
      for (const action of rule.Actions ?? []) {
        if (action.Type !== "forward") continue;
        const groups = action.ForwardConfig?.TargetGroups ?? [
          { TargetGroupArn: action.TargetGroupArn, Weight: 1 },
        ];
        const weightOf = (arn: string) =>
          groups.filter((g) => g.TargetGroupArn === arn).reduce((n, g) => n + (g.Weight ?? 1), 0);
        const [b, g] = [weightOf(blue), weightOf(green)];
        if (b > 0 && groups.length > 1)
          [live.blue, live.green] = [Math.round((100 * b) / (b + g)), Math.round((100 * g) / (b + g))];
        else if (groups.length > 1 && g > 0) [live.blue, live.green] = [0, 100];
        else if (g > 0) live.cohortRulesToGreen += 1;
      }
    }
    return live;
  });
}

/** Names of this stack's alarms in ALARM (metric and composite). */
export async function firingAlarms(aws: AwsClients, stack: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await aws.cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: `${stack}-`,
        StateValue: StateValue.ALARM,
        AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
        NextToken: token,
      }),
    );
    names.push(
      ...(page.MetricAlarms ?? []).map((a) => a.AlarmName!),
      ...(page.CompositeAlarms ?? []).map((a) => a.AlarmName!),
    );
    token = page.NextToken;
  } while (token);
  return names.sort();
}

/** Alarms whose firing means "roll back now": the composite and every critical level. */
export function criticalAlarms(names: string[], stack: string): string[] {
  return names.filter((n) => n === `${stack}-auto-rollback` || /-critical(-|$)/.test(n));
}

/** The automatic-rollback latch, or undefined when none is set. */
export async function readLatch(aws: AwsClients, stack: string): Promise<Latch | undefined> {
  try {
    const result = await aws.ssm.send(new GetParameterCommand({ Name: latchParameterName(stack) }));
    return Latch.parse(JSON.parse(result.Parameter?.Value ?? "{}"));
  } catch (error) {
    if ((error as { name?: string }).name === "ParameterNotFound") return undefined;
    throw error;
  }
}

/**
 * `[mm:ss] message` relative to `start`, for progress on long steps. With `--json` progress
 * goes to stderr so stdout stays one JSON document.
 */
export function progress(ctx: Pick<CommandContext, "out" | "now">, start: Date, json = false) {
  return (message: string) => {
    const seconds = Math.max(0, Math.round((ctx.now().getTime() - start.getTime()) / 1000));
    const line = `[${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}] ${message}`;
    if (json) ctx.out.error(line);
    else ctx.out.log(line);
  };
}

/** Run `pulumi up` with streamed progress; throws when it fails. */
export async function runUp(
  ctx: CommandContext,
  start: Date,
  why: string,
  json = false,
): Promise<Record<string, unknown>> {
  const say = progress(ctx, start, json);
  say(`pulumi up (${why})`);
  const result = await ctx.backend.up((line) => say(`  ${line}`));
  if (result.result !== "succeeded") throw new Error(`pulumi up failed (${why}); see the output above`);
  say("pulumi up succeeded");
  return result.outputs;
}
