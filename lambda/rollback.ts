import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  GetParameterCommand,
  PutParameterCommand,
  SSMClient,
  type GetParameterCommandOutput,
} from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { blueActions, type RuleChange } from "../rollout/blueRouting";
import { errorMessage } from "../rollout/errors";
import { parseRollbackEnvironment, type RollbackEnvironment } from "../rollout/lambdaEnvironment";
import { parseLatch, type Latch } from "../rollout/state";

/**
 * The automatic rollback. Invoked by the composite alarm (CloudWatch's Lambda alarm action)
 * and, when the stack has a GuardDuty rule (`guardDutyMinSeverity` of AutoRollback), by
 * EventBridge for GuardDuty findings. It reads the listener's rules, sets every
 * weighted forward to 100 % blue and points cohort rules at blue, writes the latch that
 * keeps `pulumi up` on blue, and tells the critical topic what it did, naming the gate
 * alarms that fired.
 *
 * Idempotent: rules already on blue are not touched, and when nothing had to change and a
 * complete latch exists, nothing is written. Throttling is retried with backoff; one failing
 * rule does not stop the others, and the invocation then fails so Lambda retries it.
 *
 * A retry must finish what a failed attempt left undone, although it finds every rule
 * already blue. So the latch is written first with `notificationPending: true`, then the
 * notification is published, then the latch is written again without that field. A retry that finds no latch, or a
 * pending one, completes both; at worst people get the notification twice, never zero times.
 */

export interface RollbackDeps {
  elb: ElasticLoadBalancingV2Client;
  ssm: SSMClient;
  sns: SNSClient;
  env: RollbackEnvironment;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
  log: (entry: Record<string, unknown>) => void;
}

/** CloudWatch alarm Lambda action event (the fields used here). */
export interface AlarmEvent {
  source: "aws.cloudwatch";
  alarmArn?: string;
  alarmData: {
    alarmName: string;
    /** `reasonData` of a composite alarm is a JSON string: `{"triggeringAlarms": [{arn, state: {value, timestamp}}]}`. */
    state: { value: string; reason?: string; reasonData?: string; timestamp?: string };
  };
}

/** GuardDuty finding through EventBridge (the fields used here). */
export interface GuardDutyEvent {
  source: "aws.guardduty";
  "detail-type": string;
  detail: { severity: number; type: string; id?: string; title?: string };
}

export type RollbackEvent = AlarmEvent | GuardDutyEvent;
export type { RuleChange };

export interface RollbackResult {
  alarm: string;
  reason: string;
  changed: RuleChange[];
  failed: { ruleArn: string; error: string }[];
  latchWritten: boolean;
  notified: boolean;
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);
export const MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 200;

function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: { throttling?: boolean } };
  return THROTTLING.has(e?.name ?? "") || e?.$retryable?.throttling === true;
}

/** Exponential backoff with full jitter on throttling; anything else fails at once. */
async function withRetry<T>(
  operation: () => Promise<T>,
  sleep: (ms: number) => Promise<void>,
  random = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isThrottling(error) || attempt >= MAX_ATTEMPTS) throw error;
      const cap = BASE_DELAY_MS * 2 ** (attempt - 1);
      await sleep(Math.round(cap / 2 + (random() * cap) / 2));
    }
  }
}

/** Names of the alarms that put a composite alarm in ALARM, from its `state.reasonData`. */
export function triggeringAlarms(event: AlarmEvent): string[] {
  const raw = event.alarmData.state.reasonData;
  if (!raw) return [];
  let data: { triggeringAlarms?: { arn?: string; state?: { value?: string } }[] };
  try {
    data = JSON.parse(raw) as typeof data;
  } catch {
    return [];
  }
  return (data.triggeringAlarms ?? [])
    .filter((a) => a.arn && (a.state?.value ?? "ALARM") === "ALARM")
    .map((a) => {
      const at = a.arn!.indexOf(":alarm:");
      return at >= 0 ? a.arn!.slice(at + ":alarm:".length) : a.arn!;
    });
}

function describeEvent(event: RollbackEvent): { alarm: string; reason: string } {
  if (event.source === "aws.guardduty") {
    return {
      alarm: `guardduty:${event.detail.type}`,
      reason: `GuardDuty finding severity ${event.detail.severity}: ${event.detail.title ?? event.detail.type}`,
    };
  }
  const { alarmName, state } = event.alarmData;
  const gates = triggeringAlarms(event);
  return {
    // The gate alarms are what people must look at; the composite only says "one of them".
    alarm: gates.length > 0 ? gates.join(", ") : alarmName,
    reason: `${alarmName} ${state.value}: ${state.reason ?? "no reason given"}`,
  };
}

async function allRules(deps: RollbackDeps): Promise<Rule[]> {
  const rules: Rule[] = [];
  let marker: string | undefined;
  do {
    const page = await withRetry(
      () => deps.elb.send(new DescribeRulesCommand({ ListenerArn: deps.env.LISTENER_ARN, Marker: marker })),
      deps.sleep,
    );
    rules.push(...(page.Rules ?? []));
    marker = page.NextMarker;
  } while (marker);
  return rules;
}

async function readLatch(deps: RollbackDeps): Promise<Latch | undefined> {
  let found: GetParameterCommandOutput;
  try {
    found = await withRetry(
      () => deps.ssm.send(new GetParameterCommand({ Name: deps.env.LATCH_PARAMETER })),
      deps.sleep,
    );
  } catch (error) {
    if (error instanceof Error && error.name === "ParameterNotFound") return undefined;
    throw error;
  }
  // An unreadable latch reads as one without a pending notification: the program treats it as
  // set, and it is not this function's to overwrite.
  return parseLatch(found.Parameter?.Value ?? "");
}

async function writeLatch(deps: RollbackDeps, latch: Latch): Promise<void> {
  await withRetry(
    () =>
      deps.ssm.send(
        new PutParameterCommand({
          Name: deps.env.LATCH_PARAMETER,
          Type: "String",
          Overwrite: true,
          Value: JSON.stringify(latch),
        }),
      ),
    deps.sleep,
  );
}

function subjectAlarms(alarms: string): string {
  const names = alarms.split(", ");
  return names.length > 1 ? `${names[0]} and ${names.length - 1} more` : alarms;
}

async function notify(
  deps: RollbackDeps,
  latch: Latch,
  changed: RuleChange[],
  failed: { ruleArn: string; error: string }[],
): Promise<void> {
  const lines = [
    `Automatic rollback of stack ${deps.env.STACK} at ${latch.at}`,
    `Trigger: ${latch.alarm} - ${latch.reason}`,
    ...changed.map((c) => `  ${c.service}: ${c.kind} rule -> 100 % blue (${c.ruleArn})`),
    ...failed.map((f) => `  FAILED ${f.ruleArn}: ${f.error}`),
    failed.length > 0
      ? "Some rules could not be changed: the invocation fails and Lambda retries it."
      : changed.length > 0
        ? "Every listener rule is on blue."
        : "Every listener rule was already on blue (an earlier attempt moved them); this completes the latch and this notification.",
    `pulumi up keeps 100 % blue until the latch is acknowledged: npm run rollout -- resume --stack ${deps.env.STACK}`,
  ];
  await withRetry(
    () =>
      deps.sns.send(
        new PublishCommand({
          TopicArn: deps.env.TOPIC_ARN,
          // SNS caps subjects at 100 characters: name the first alarm, count the rest (the message lists all).
          Subject:
            `[${deps.env.STACK}] automatic rollback${failed.length > 0 ? " INCOMPLETE" : ""}: ${subjectAlarms(latch.alarm)}`.slice(
              0,
              100,
            ),
          Message: lines.join("\n"),
        }),
      ),
    deps.sleep,
  );
}

/** The latch as written once the notification is out: `{reason, alarm, at}`, no pending mark. */
function withoutPendingNotification(latch: Latch): Latch {
  const { notificationPending: _sent, ...complete } = latch;
  return complete;
}

export async function rollBack(event: RollbackEvent, deps: RollbackDeps): Promise<RollbackResult> {
  const { alarm, reason } = describeEvent(event);
  const pairs = deps.env.TARGET_GROUP_PAIRS;
  deps.log({ msg: "rollback requested", alarm, reason, stack: deps.env.STACK });

  const changed: RuleChange[] = [];
  const failed: { ruleArn: string; error: string }[] = [];
  for (const rule of await allRules(deps)) {
    const plan = blueActions(rule, pairs);
    if (!plan) continue;
    try {
      await withRetry(
        () => deps.elb.send(new ModifyRuleCommand({ RuleArn: rule.RuleArn, Actions: plan.actions })),
        deps.sleep,
      );
      changed.push({ ruleArn: rule.RuleArn!, ...plan.change });
      deps.log({ msg: "rule on blue", rule: rule.RuleArn, ...plan.change });
    } catch (error) {
      failed.push({ ruleArn: rule.RuleArn!, error: errorMessage(error) });
      deps.log({ msg: "rule failed", rule: rule.RuleArn, error: errorMessage(error) });
    }
  }

  let latch: Latch = { reason, alarm, at: deps.now().toISOString() };
  if (changed.length === 0 && failed.length === 0) {
    // Every rule is already blue: done, unless an earlier attempt moved them and then failed
    // before the latch or the notification was complete.
    const existing = await readLatch(deps);
    if (existing && !existing.notificationPending) {
      deps.log({ msg: "already 100 % blue and latched; nothing written", alarm, latch: existing });
      return { alarm, reason, changed, failed, latchWritten: false, notified: false };
    }
    if (existing) latch = withoutPendingNotification(existing);
    deps.log({ msg: existing ? "completing a pending notification" : "repairing a missing latch", latch });
  }

  await writeLatch(deps, { ...latch, notificationPending: true });
  await notify(deps, latch, changed, failed);
  await writeLatch(deps, latch);

  if (failed.length > 0) {
    throw new Error(
      `rollback incomplete: ${failed.length} rule(s) failed: ${failed.map((f) => f.ruleArn).join(", ")}`,
    );
  }
  return { alarm: latch.alarm, reason: latch.reason, changed, failed, latchWritten: true, notified: true };
}

/** Lambda entry point: clients are created once per container. */
let clients: Pick<RollbackDeps, "elb" | "ssm" | "sns"> | undefined;
export async function handler(event: RollbackEvent): Promise<RollbackResult> {
  clients ??= { elb: new ElasticLoadBalancingV2Client({}), ssm: new SSMClient({}), sns: new SNSClient({}) };
  return rollBack(event, {
    ...clients,
    env: parseRollbackEnvironment(process.env),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    log: (entry) => console.log(JSON.stringify(entry)),
  });
}
