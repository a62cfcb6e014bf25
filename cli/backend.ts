import { CloudWatchClient, DescribeAlarmsCommand, StateValue } from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { SNSClient } from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import * as fs from "node:fs";
import * as path from "node:path";
import { policyConfigFile } from "../policies/offline";
import { parseRolloutConfig, type RolloutConfig } from "../rollout/config";
import { errorMessage } from "../rollout/errors";
import { alarmNames, playbookAlarms } from "../rollout/alarms";
import { blueActions, moveRulesToBlue as sharedMoveRulesToBlue, type RuleMove } from "../rollout/blueRouting";
import type { TargetGroupPair } from "../rollout/lambdaEnvironment";
import { alarmNamePrefix, compositeAlarmName, latchParameterName } from "../rollout/names";
import { parseLatch, type Latch } from "../rollout/state";
import type { GateAction } from "../rollout/playbook";
import { parseStackOutputs, type StackOutputs } from "../rollout/stackOutputs";
import type { ReleaseHistoryStore } from "./history";
import { oneLine, type Output } from "./output";

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
  /** `pulumi up --refresh` with the policy pack, streaming its output line by line. */
  up(
    onOutput: (line: string) => void,
  ): Promise<{ result: "succeeded" | "failed"; outputs: Record<string, unknown> }>;
  outputs(): Promise<Record<string, unknown>>;
}

export interface AwsClients {
  elb: ElasticLoadBalancingV2Client;
  cloudwatch: CloudWatchClient;
  ssm: SSMClient;
  /** Publishes to the stack's critical topic (`rollback` tells it the reason). */
  sns: SNSClient;
}

/** What one command changed: the revision it wrote and the files to commit (cli/revision.ts). */
export interface ChangeLog {
  revision?: number;
  /** Project-relative files the command wrote. */
  files: Set<string>;
}

export interface CommandContext {
  backend: StackBackend;
  aws: AwsClients;
  out: Output;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** The stack's release history (releases/<stack>.json): events, finished releases. */
  history: ReleaseHistoryStore;
  /**
   * Aborted when the operator presses Ctrl-C: a long command (shift, status --watch) stops at
   * its next safe point, never in the middle of an `up`, and says where traffic stands.
   */
  signal?: AbortSignal;
  /**
   * The `rollout:` keys of Pulumi.<stack>.yaml, read without Pulumi (the offline `--dry-run`s):
   * the Automation API context reads the project's file; a test's fake stack answers its config.
   */
  readStackFile?: () => Record<string, string>;
  /** What the command wrote (revision, files), for the commit it tells the operator to make (cli/revision.ts). */
  changes?: ChangeLog;
}

/** What the backend uses of an Automation API `Stack` (a fake one in tests). */
export interface AutomationStack {
  getAllConfig(): Promise<Record<string, { value: string; secret?: boolean }>>;
  setAllConfig(config: Record<string, { value: string }>, path?: boolean): Promise<void>;
  removeAllConfig(keys: string[], path?: boolean): Promise<void>;
  up(options: {
    onOutput: (text: string) => void;
    refresh: boolean;
    policyPacks: string[];
    policyPackConfigs: string[];
  }): Promise<{ summary: { result: string }; outputs: Record<string, { value: unknown }> }>;
  outputs(): Promise<Record<string, { value: unknown }>>;
}

export type SelectStack = (args: { stackName: string; workDir: string }) => Promise<AutomationStack>;

/**
 * The Automation API's failures that mean "this machine cannot reach the stack", as one line
 * that says what to do (runCli prints it and exits 1, as for any other failure).
 */
function environmentError(error: unknown, stackName: string, workDir: string): Error {
  const text = errorMessage(error);
  // What the Automation API says when it cannot spawn `pulumi` ("spawn pulumi ENOENT"), or a shell would.
  if (/spawn pulumi ENOENT|ENOENT: pulumi|pulumi: (command )?not found/i.test(text))
    return new Error(
      "the Pulumi CLI was not found on PATH: live commands run `pulumi` through the Automation API; install the Pulumi CLI and log in to the stack's backend",
    );
  if (/no stack named|stack .* not found/i.test(text))
    return new Error(
      `no stack named "${stackName}" in ${workDir} on the current Pulumi backend: \`pulumi login\` to the backend that holds it, or \`pulumi stack ls\` to see the stacks there`,
    );
  return error instanceof Error ? error : new Error(text);
}

/**
 * The repo's policy pack, with the stack's pack config `policies/config/<stack>.json` when the
 * repo has one, found as `npm run plan` finds it (`policyConfigFile`: by the stack's own name,
 * the last part of `org/project/stack`). Without one the pack runs on its defaults, which relax
 * nothing: every check as in production, whatever the stack's `rollout:tier` says.
 */
function policyPackOptions(
  stackName: string,
  workDir: string,
): { policyPacks: string[]; policyPackConfigs: string[] } {
  const config = policyConfigFile(stackName, path.join(workDir, "policies", "config"));
  return {
    policyPacks: [path.join(workDir, "policies")],
    policyPackConfigs: config !== undefined && fs.existsSync(config) ? [config] : [],
  };
}

/** Calls `onLine` once per complete line of a stream that arrives in arbitrary chunks. */
export function lineBuffer(onLine: (line: string) => void): { write(text: string): void; flush(): void } {
  let pending = "";
  return {
    write(text) {
      const parts = (pending + text).split("\n");
      pending = parts.pop()!;
      for (const line of parts) if (line.trim() !== "") onLine(line.replace(/\r$/, ""));
    },
    flush() {
      if (pending.trim() !== "") onLine(pending);
      pending = "";
    },
  };
}

/**
 * The Automation API over the project directory (needs the Pulumi CLI on PATH, as `pulumi up`
 * does). The stack is selected on first use, once: creating the backend does nothing, so a
 * command that rejects its flags never touches Pulumi.
 *
 * Every `up` refreshes first: the rollback Lambda moves listener weights outside Pulumi, and
 * without a refresh Pulumi would believe green still has its configured weight and change
 * nothing. Every `up` runs the repo's policy pack with the stack's policy config, as the
 * cheat sheet's `pulumi up --refresh --policy-pack policies --policy-pack-config ...` does (README).
 */
export function automationBackend(
  stackName: string,
  workDir: string,
  /** How the stack is selected: cli/liveSecrets.ts's (pulumi in its own process group, secrets registered), or a test's fake. */
  selectStack: SelectStack,
): StackBackend {
  let selected: Promise<AutomationStack> | undefined;
  const stack = async () => {
    selected ??= selectStack({ stackName, workDir });
    try {
      return await selected;
    } catch (error) {
      selected = undefined;
      throw environmentError(error, stackName, workDir);
    }
  };
  const ns = (key: string) => `rollout:${key}`;
  const values = (outputs: Record<string, { value: unknown }>) =>
    Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
  return {
    stackName,
    async getRolloutConfig() {
      const all = await (await stack()).getAllConfig();
      const raw: Record<string, string> = {};
      for (const [key, { value }] of Object.entries(all))
        if (key.startsWith("rollout:")) raw[key.slice("rollout:".length)] = value;
      return raw;
    },
    async setConfig(entries, options) {
      const config = Object.fromEntries(Object.entries(entries).map(([k, value]) => [ns(k), { value }]));
      await (await stack()).setAllConfig(config, options?.path ?? false);
    },
    async removeConfig(keys, options) {
      await (await stack()).removeAllConfig(keys.map(ns), options?.path ?? false);
    },
    async up(onOutput) {
      const selected = await stack();
      const lines = lineBuffer(onOutput);
      try {
        const result = await selected.up({
          onOutput: (text) => lines.write(text),
          refresh: true,
          ...policyPackOptions(stackName, workDir),
        });
        return {
          result: result.summary.result === "succeeded" ? "succeeded" : "failed",
          outputs: values(result.outputs),
        };
      } catch (error) {
        // The Automation API throws on a failed update; its output was streamed above.
        lines.flush();
        onOutput(`up failed: ${oneLine(errorMessage(error))}`);
        return { result: "failed", outputs: {} };
      } finally {
        lines.flush();
      }
    },
    async outputs() {
      return values(await (await stack()).outputs());
    },
  };
}

/** SDK v3 clients, each made on first use (a command refused for its flags makes none). */
export function defaultAwsClients(region?: string): AwsClients {
  let elb: ElasticLoadBalancingV2Client | undefined;
  let cloudwatch: CloudWatchClient | undefined;
  let ssm: SSMClient | undefined;
  let sns: SNSClient | undefined;
  return {
    get elb() {
      // As the rollback Lambda's: a hung call is abandoned after 3 s and retried, up to 5 tries,
      // with the standard strategy (no client-side rate limiter holding back parallel ModifyRules).
      return (elb ??= new ElasticLoadBalancingV2Client({
        region,
        maxAttempts: 5,
        retryMode: "standard",
        requestHandler: { requestTimeout: 3_000 },
      }));
    },
    get cloudwatch() {
      return (cloudwatch ??= new CloudWatchClient({ region }));
    },
    get ssm() {
      return (ssm ??= new SSMClient({ region }));
    },
    get sns() {
      return (sns ??= new SNSClient({ region }));
    },
  };
}

export async function loadLiveConfig(backend: StackBackend): Promise<RolloutConfig> {
  return parseRolloutConfig(await backend.getRolloutConfig(), backend.stackName);
}

/** The stack's outputs, read from the backend and checked once: commands pass the typed value on. */
export async function readStackOutputs(backend: StackBackend): Promise<StackOutputs> {
  return parseStackOutputs(await backend.outputs());
}

/** Traffic as the ALB serves it right now, per service. */
export interface LiveTraffic {
  service: string;
  blue: number;
  green: number;
  /** Rules other than the weighted one that forward to green (cohort rules). */
  cohortRulesToGreen: number;
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

/** Each service's target groups as the rollback Lambda gets them (TARGET_GROUP_PAIRS), from the stack outputs. */
export function targetGroupPairs(outputs: StackOutputs): TargetGroupPair[] {
  return Object.entries(outputs.targetGroupArns).map(([service, { blue, green }]) => ({
    service,
    blue,
    green,
  }));
}

export type { RuleMove };

/**
 * 100 % blue on the ALB now, with the rollback Lambda's own calls (`moveRulesToBlue` in
 * rollout/blueRouting.ts, which both use): DescribeRules on the HTTPS listener, and a ModifyRule
 * for each rule not on blue as soon as its page arrives, all concurrently. Errors come back as
 * one line each. Throttling and timeouts are retried by the SDK (see `defaultAwsClients`).
 */
export async function moveRulesToBlue(
  aws: AwsClients,
  outputs: StackOutputs,
): Promise<{ moves: RuleMove[]; unlisted?: string }> {
  const { moves, unlisted } = await sharedMoveRulesToBlue(
    aws.elb,
    outputs.httpsListenerArn,
    targetGroupPairs(outputs),
  );
  return {
    moves: moves.map((m) => (m.error === undefined ? m : { ...m, error: oneLine(m.error) })),
    ...(unlisted !== undefined && { unlisted: oneLine(unlisted) }),
  };
}

/** Where one of this stack's listener rules sends its service's traffic, read from the ALB. */
export interface RuleState {
  ruleArn: string;
  service: string;
  kind: "weighted" | "cohort";
  /** Nothing of it forwards to green (what `blueActions` would leave as it is). */
  onBlue: boolean;
}

/**
 * This stack's listener rules (those forwarding to one of its target groups), each on blue or
 * not: what a rollback that stopped part-way says, rule by rule.
 */
export async function ruleStates(aws: AwsClients, outputs: StackOutputs): Promise<RuleState[]> {
  const pairs = targetGroupPairs(outputs);
  const rules = await listenerRules(aws, outputs.httpsListenerArn);
  return rules.flatMap((rule): RuleState[] => {
    if (rule.IsDefault || !rule.RuleArn) return [];
    const arns = (rule.Actions ?? [])
      .filter((a) => a.Type === "forward")
      .flatMap((a) => a.ForwardConfig?.TargetGroups?.map((g) => g.TargetGroupArn) ?? [a.TargetGroupArn]);
    const pair = pairs.find((p) => arns.includes(p.blue) || arns.includes(p.green));
    if (!pair) return [];
    return [
      {
        ruleArn: rule.RuleArn,
        service: pair.service,
        kind: arns.includes(pair.blue) && arns.includes(pair.green) ? "weighted" : "cohort",
        onBlue: blueActions(rule, pairs) === undefined,
      },
    ];
  });
}

/** Per-service weights read from the listener rules (the ALB API, not the config). */
export async function readAlbTraffic(aws: AwsClients, outputs: StackOutputs): Promise<LiveTraffic[]> {
  const { httpsListenerArn, targetGroupArns } = outputs;
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

/** What one of this stack's alarms is: its gate level (or the composite) and the playbook's action. */
export interface StackAlarm {
  level: "critical" | "warning" | "composite";
  /** The composite, or a gate whose action at this level is auto-rollback: firing means "roll back now". */
  rollback: boolean;
  action: GateAction;
}

/** This stack's alarms by exact name, to look firing alarms up in. */
export type StackAlarms = ReadonlyMap<string, StackAlarm>;

/**
 * This stack's alarms by exact name (a prefix would also match `staging-2-...`): gate level or
 * the composite. A command builds it once and passes it to the functions below.
 */
export function stackAlarms(config: RolloutConfig): StackAlarms {
  const services = config.services.map((s) => s.name);
  const alarms = new Map<string, StackAlarm>();
  for (const spec of playbookAlarms(config.playbookSpec))
    for (const name of alarmNames(config.stack, [spec], services))
      alarms.set(name, { level: spec.level, rollback: spec.autoRollback, action: spec.action });
  alarms.set(compositeAlarmName(config.stack), {
    level: "composite",
    rollback: true,
    action: "auto-rollback",
  });
  return alarms;
}

export interface AlarmState {
  name: string;
  state: string;
}

/** This stack's alarms (metric and composite) and their states; only those in `state` when given. */
export async function alarmStates(
  aws: AwsClients,
  config: RolloutConfig,
  ours: StackAlarms,
  state?: StateValue,
): Promise<AlarmState[]> {
  const found: AlarmState[] = [];
  let token: string | undefined;
  do {
    const page = await aws.cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: alarmNamePrefix(config.stack),
        ...(state ? { StateValue: state } : {}),
        AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
        NextToken: token,
      }),
    );
    for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])])
      if (a.AlarmName && ours.has(a.AlarmName))
        found.push({ name: a.AlarmName, state: a.StateValue ?? state ?? "UNKNOWN" });
    token = page.NextToken;
  } while (token);
  return found.sort((x, y) => x.name.localeCompare(y.name));
}

/** Names of this stack's alarms in ALARM (metric and composite). */
export async function firingAlarms(
  aws: AwsClients,
  config: RolloutConfig,
  ours: StackAlarms,
): Promise<string[]> {
  return (await alarmStates(aws, config, ours, StateValue.ALARM)).map((a) => a.name);
}

/**
 * Alarms whose firing means "roll back now": the composite and the alarms of gates whose action
 * at that level is auto-rollback. A critical alarm the playbook only alerts on (or reviews)
 * is not one: the Lambda does not act on it, and neither does `shift`.
 */
export function rollbackAlarms(names: string[], ours: StackAlarms): string[] {
  return names.filter((n) => ours.get(n)?.rollback === true);
}

/** `name (rollback)` or `name (critical, playbook action alert)`: what a firing alarm means. */
export function describeAlarm(name: string, ours: StackAlarms): string {
  const alarm = ours.get(name);
  if (!alarm) return name;
  if (alarm.rollback) return `${name} (rollback)`;
  return `${name} (${alarm.level}, playbook action ${alarm.action})`;
}

/** The automatic-rollback latch, or undefined when none is set. */
export async function readLatch(aws: AwsClients, stack: string): Promise<Latch | undefined> {
  try {
    const result = await aws.ssm.send(new GetParameterCommand({ Name: latchParameterName(stack) }));
    // As the program reads it: an unreadable latch is still a latch (status shows it, resume clears it).
    return parseLatch(result.Parameter?.Value ?? "");
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
