import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import {
  DESCRIBE_RULES_PAGE_SIZE,
  moveRulesToBlue as sharedMoveRulesToBlue,
  type RuleChange,
} from "../rollout/blueRouting";
import { errorMessage } from "../rollout/errors";
import { snsSubject } from "../rollout/snsSubject";
import { parseRollbackEnvironment, type RollbackEnvironment } from "../rollout/lambdaEnvironment";
import { SECURITY_EVENT_DETAIL_TYPE } from "../rollout/names";
import { parseLatch, type Latch } from "../rollout/state";

/**
 * The automatic rollback: sets every weighted forward of the listener to 100 % blue and points
 * cohort rules at blue, writes the latch that keeps `pulumi up` on blue, and tells the critical
 * topic what it did.
 *
 * WHAT IT ACTS ON (`judgeEvent`)
 * - `aws.cloudwatch`: the Lambda action of this stack's composite alarm
 *   (`alarmData.alarmName === COMPOSITE_ALARM_NAME`) in state ALARM. OK and INSUFFICIENT_DATA,
 *   and any other alarm, are logged and ignored: no rule touched, nothing written.
 * - `aws.guardduty`, detail-type `GuardDuty Finding`: a finding the EventBridge rule let through.
 * - `SECURITY_EVENT_SOURCE` (`securityEventSource(stack)`), detail-type
 *   `SECURITY_EVENT_DETAIL_TYPE`: the stack's own security event, put on the default bus by
 *   the application or a security tool; `detail` is an object whose optional `type` and
 *   `summary` strings name what was detected.
 * An event from one of these sources that it cannot parse (no alarmData or state, an unknown
 * state, detail not an object, severity not a number, another detail-type...) ROLLS BACK: fail
 * toward blue, saying "unparseable event from <source>: rolling back" in the log, the latch and
 * the notification. An event from any other source (or none) is logged and ignored.
 *
 * ONE INVOCATION, IN ORDER
 * 1. DescribeRules; each rule still sending traffic to green gets its ModifyRule as soon as
 *    its page arrives, all concurrently. A failing rule does not stop the others.
 * 2. Only when no rule had to move and nothing failed: read the latch. A complete latch means
 *    an earlier invocation finished: return, nothing written (the duplicate event).
 * 3. Write the latch with `notificationPending: true`.
 * 4. Publish, whatever 1 and 3 did: the message names each rule moved or failed, and says
 *    "LATCH NOT WRITTEN: the next pulumi up would restore green; set rollout:rollback true
 *    now" when 3 failed.
 * 5. Only when 3 and 4 succeeded: write the latch again without `notificationPending`.
 * 6. If anything in 1, 3, 4 or 5 failed, throw `RollbackIncomplete`: Lambda retries the
 *    asynchronous event (twice), then sends it to the DLQ, and the function's Errors and
 *    dead-letter alarms page the critical topic through CloudWatch's own SNS permissions
 *    (they reach people even when this function's Publish cannot).
 *
 * WHAT A RETRY FINDS, AND DOES
 * | rules         | latch            | left by                                           | the retry                          |
 * | some on green | any              | a ModifyRule or DescribeRules that failed         | moves them, new latch, notifies    |
 * | all blue      | missing          | step 3 failed (the publish said LATCH NOT WRITTEN | writes the latch, notifies         |
 * |               |                  | or failed too), or the function died before it    |                                    |
 * | all blue      | pending          | step 4 failed, or step 5 after step 4 succeeded   | notifies, completes the latch      |
 * |               |                  |                                                   | (keeping its `at`)                 |
 * | all blue      | complete         | a finished invocation                             | nothing                            |
 * | all blue      | unreadable value | someone else (the program treats it as set)       | nothing: not its to overwrite      |
 * | all blue      | GetParameter err | an SSM outage                                     | writes the latch, notifies         |
 * So no path ends without a publish attempt while the latch is missing or pending: at worst
 * people get two notifications (the publish went out, the latch write after it did not), never
 * zero. While the latch cannot be written at all, every attempt notifies (up to three, each
 * saying LATCH NOT WRITTEN): nothing else can remember that a notification went out.
 * Two invocations at once (reserved concurrency 1 prevents it; a manual invoke could) put
 * the same actions on the same rules; each then latches and notifies, or, finding the rules
 * moved by the other, completes the latch the other left pending.
 *
 * TIME TO BLUE (rollout/latency.ts budgets 5 s from invocation to every rule on blue)
 * What holds it: a cold start (the runtime, then this bundle: about 0.2 s of CPU to load it and
 * sign the first requests, at 1024 MB about 0.6 vCPU, see components/autoRollback.ts), one
 * DescribeRules page (PageSize 400: a listener holds at most 100 rules by default) and ONE
 * round of ModifyRule calls, all in parallel (each a few hundred milliseconds in AWS). The
 * latch and the notification come after the rules moved and are not in the budget. Each call
 * times out after REQUEST_TIMEOUT_MS and is retried; a throttled call waits the SDK's backoff
 * (a random part of 1 s x 2^n) before its retry, so the budget holds through a throttle or two,
 * not through a throttling storm or a hung ELB API.
 */

export interface Clients {
  elb: ElasticLoadBalancingV2Client;
  ssm: SSMClient;
  sns: SNSClient;
}

export interface RollbackDeps extends Clients {
  env: RollbackEnvironment;
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
  "detail-type": "GuardDuty Finding";
  detail: { severity: number; type: string; id?: string; title?: string };
}

/** The stack's custom security event, as the application or a security tool puts it on the default bus. */
export interface SecurityEvent {
  /** `securityEventSource(stack)`. */
  source: string;
  "detail-type": typeof SECURITY_EVENT_DETAIL_TYPE;
  detail: { type?: string; summary?: string; [key: string]: unknown };
}

/** The events the function acts on. It accepts anything (`unknown`): what it cannot parse is judged, never thrown on. */
export type RollbackEvent = AlarmEvent | GuardDutyEvent | SecurityEvent;
export type { RuleChange };

/** What the function decided about an event. */
export type Verdict =
  | { act: "ignore"; why: string }
  | {
      act: "roll-back";
      /** What fired: the gate alarms, `guardduty:<type>`, `security-event:<type>`, or `unparseable:<source>`. */
      alarm: string;
      reason: string;
      /** Set when the event could not be parsed: what was wrong with it. */
      unparseable?: string;
    };

export type RollbackResult =
  | { action: "ignored"; why: string }
  | {
      action: "rolled-back";
      alarm: string;
      reason: string;
      /** Rules this invocation moved; empty when an earlier one had. */
      changed: RuleChange[];
      latchWritten: boolean;
      notified: boolean;
    };

export interface RuleFailure {
  ruleArn: string;
  error: string;
}

/** The invocation did not finish: Lambda retries it. Carries what it did and did not do. */
export class RollbackIncomplete extends Error {
  constructor(
    readonly changed: RuleChange[],
    readonly failed: RuleFailure[],
    readonly problems: string[],
    readonly notified: boolean,
  ) {
    super(`automatic rollback incomplete: ${problems.join("; ")}`);
    this.name = "RollbackIncomplete";
  }
}

// ---------------------------------------------------------------------------------------
// The AWS clients: retries are the SDK's

/** Tries per AWS call, the first included. */
export const SDK_MAX_ATTEMPTS = 5;
/**
 * A call that has not answered by then is abandoned and retried (a TimeoutError is transient to
 * the SDK). @smithy/node-http-handler only logs a warning when `requestTimeout` passes unless
 * `throwOnRequestTimeout` is set, so both are.
 */
export const REQUEST_TIMEOUT_MS = 3_000;
export { DESCRIBE_RULES_PAGE_SIZE };

/**
 * Errors of SNS the SDK would not retry, although they are throttling. The SDK's standard and
 * adaptive strategies retry an error as throttling when its HTTP status is 429, its name is in
 * @smithy/core's THROTTLING_ERROR_CODES, or it carries `$retryable.throttling`. SNS's
 * ThrottledException (`Throttled`, 429) is in that list and retried as it is; SNS's
 * KMSThrottlingException (`KMSThrottling`, HTTP 400: KMS throttled the data key SNS asked for
 * to encrypt the message for the topic's key) is not, and would fail at once.
 */
export const SNS_UNCLASSIFIED_THROTTLING = ["KMSThrottlingException"] as const;

/**
 * Marks SNS_UNCLASSIFIED_THROTTLING errors with the Smithy `@retryable(throttling: true)` trait
 * (`$retryable: {throttling: true}`), which the SDK's retry strategy reads. It sits right inside
 * the retry middleware, so it sees each attempt's deserialized error before the strategy does.
 */
export function markSnsThrottling<A, O>(next: (args: A) => Promise<O>): (args: A) => Promise<O> {
  return async (args) => {
    try {
      return await next(args);
    } catch (error) {
      const e = error as { name?: string; $retryable?: { throttling?: boolean } } | undefined;
      if (e && (SNS_UNCLASSIFIED_THROTTLING as readonly string[]).includes(e.name ?? "")) {
        e.$retryable = { throttling: true };
      }
      throw error;
    }
  };
}

/**
 * The three clients, with the SDK's retries. ELB: `standard` mode, so a throttled ModifyRule
 * is retried after the jittered backoff alone. `adaptive` mode would add a client-side rate
 * limiter that, after a throttle on a fresh client, refills at as little as 0.5 requests/s
 * (@smithy/core's DefaultRateLimiter, minFillRate): the parallel ModifyRules queue behind it,
 * measured here at 1.5-2 s more for four rules with two throttles, a third of the 5 s budget;
 * with one invocation at a time there is no fleet for it to slow down. SSM and SNS come after
 * the rules moved: `adaptive`, which backs off harder while AWS keeps throttling; the second it
 * may add delays the notification, not the rollback.
 */
export function createClients(): Clients {
  const common = {
    maxAttempts: SDK_MAX_ATTEMPTS,
    requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  };
  const sns = new SNSClient({ ...common, retryMode: "adaptive" });
  sns.middlewareStack.addRelativeTo(markSnsThrottling, {
    name: "markSnsThrottling",
    relation: "after",
    toMiddleware: "retryMiddleware",
  });
  return {
    elb: new ElasticLoadBalancingV2Client({ ...common, retryMode: "standard" }),
    ssm: new SSMClient({ ...common, retryMode: "adaptive" }),
    sns,
  };
}

// ---------------------------------------------------------------------------------------
// Judging the event

const ALARM_SOURCE = "aws.cloudwatch";
const GUARDDUTY_SOURCE = "aws.guardduty";
const GUARDDUTY_DETAIL_TYPE = "GuardDuty Finding";
const ALARM_STATES = ["ALARM", "OK", "INSUFFICIENT_DATA"];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as it appears in a log line or a message, cut short. */
export function excerpt(value: unknown, max = 300): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function unparseable(source: string, problem: string): Verdict {
  return {
    act: "roll-back",
    alarm: `unparseable:${source}`,
    reason: `unparseable event from ${source}: rolling back (${problem})`,
    unparseable: problem,
  };
}

/** Names of the alarms that put a composite alarm in ALARM, from its `state.reasonData` (a JSON string). */
export function triggeringAlarms(reasonData: unknown): string[] {
  if (typeof reasonData !== "string") return [];
  let data: unknown;
  try {
    data = JSON.parse(reasonData);
  } catch {
    return [];
  }
  const alarms = isObject(data) && Array.isArray(data.triggeringAlarms) ? data.triggeringAlarms : [];
  return alarms.flatMap((a: unknown) => {
    if (!isObject(a) || typeof a.arn !== "string" || a.arn === "") return [];
    const value = isObject(a.state) ? a.state.value : undefined;
    if (value !== undefined && value !== "ALARM") return [];
    const at = a.arn.indexOf(":alarm:");
    return [at >= 0 ? a.arn.slice(at + ":alarm:".length) : a.arn];
  });
}

function judgeAlarm(event: Record<string, unknown>, composite: string): Verdict {
  const data = event.alarmData;
  if (!isObject(data)) return unparseable(ALARM_SOURCE, `alarmData is ${excerpt(data, 80)}, not an object`);
  const name = data.alarmName;
  if (typeof name !== "string" || name === "") {
    return unparseable(ALARM_SOURCE, `alarmData.alarmName is ${excerpt(name, 80)}, not an alarm name`);
  }
  if (name !== composite)
    return { act: "ignore", why: `alarm ${name} is not this stack's composite alarm ${composite}` };
  const state = data.state;
  if (!isObject(state))
    return unparseable(ALARM_SOURCE, `alarmData.state is ${excerpt(state, 80)}, not an object`);
  const value = state.value;
  if (typeof value !== "string" || !ALARM_STATES.includes(value)) {
    return unparseable(
      ALARM_SOURCE,
      `alarmData.state.value is ${excerpt(value, 80)}, not ALARM, OK or INSUFFICIENT_DATA`,
    );
  }
  if (value !== "ALARM") return { act: "ignore", why: `${name} is ${value}: only ALARM rolls back` };
  const gates = triggeringAlarms(state.reasonData);
  return {
    act: "roll-back",
    // The gate alarms are what people must look at; the composite only says "one of them".
    alarm: gates.length > 0 ? gates.join(", ") : name,
    reason: `${name} ALARM: ${typeof state.reason === "string" ? state.reason : "no reason given"}`,
  };
}

function judgeFinding(event: Record<string, unknown>): Verdict {
  const detailType = event["detail-type"];
  if (detailType !== GUARDDUTY_DETAIL_TYPE) {
    return unparseable(
      GUARDDUTY_SOURCE,
      `detail-type is ${excerpt(detailType, 80)}, not "${GUARDDUTY_DETAIL_TYPE}"`,
    );
  }
  const detail = event.detail;
  if (!isObject(detail))
    return unparseable(GUARDDUTY_SOURCE, `detail is ${excerpt(detail, 80)}, not an object`);
  const { severity, type, title } = detail;
  if (typeof severity !== "number" || !Number.isFinite(severity)) {
    return unparseable(GUARDDUTY_SOURCE, `detail.severity is ${excerpt(severity, 80)}, not a number`);
  }
  if (typeof type !== "string" || type === "") {
    return unparseable(GUARDDUTY_SOURCE, `detail.type is ${excerpt(type, 80)}, not a finding type`);
  }
  return {
    act: "roll-back",
    alarm: `guardduty:${type}`,
    reason: `GuardDuty finding severity ${severity}: ${typeof title === "string" && title !== "" ? title : type}`,
  };
}

function judgeSecurityEvent(event: Record<string, unknown>, source: string): Verdict {
  const detailType = event["detail-type"];
  if (detailType !== SECURITY_EVENT_DETAIL_TYPE) {
    return unparseable(
      source,
      `detail-type is ${excerpt(detailType, 80)}, not "${SECURITY_EVENT_DETAIL_TYPE}"`,
    );
  }
  const detail = event.detail;
  if (!isObject(detail)) return unparseable(source, `detail is ${excerpt(detail, 80)}, not an object`);
  const { type, summary } = detail;
  if (type !== undefined && typeof type !== "string") {
    return unparseable(source, `detail.type is ${excerpt(type, 80)}, not a string`);
  }
  if (summary !== undefined && typeof summary !== "string") {
    return unparseable(source, `detail.summary is ${excerpt(summary, 80)}, not a string`);
  }
  return {
    act: "roll-back",
    alarm: `security-event:${type || "breach"}`,
    reason: `${SECURITY_EVENT_DETAIL_TYPE} (${source}): ${summary || type || "no summary given"}`,
  };
}

/** Whether and why an event rolls back. Never throws, whatever it is given. */
export function judgeEvent(
  event: unknown,
  env: Pick<RollbackEnvironment, "COMPOSITE_ALARM_NAME" | "SECURITY_EVENT_SOURCE">,
): Verdict {
  const source = isObject(event) ? event.source : undefined;
  if (typeof source !== "string") {
    return {
      act: "ignore",
      why: `event without a source (${excerpt(event, 80)}): not one this function acts on`,
    };
  }
  if (source === ALARM_SOURCE) return judgeAlarm(event as Record<string, unknown>, env.COMPOSITE_ALARM_NAME);
  if (source === GUARDDUTY_SOURCE) return judgeFinding(event as Record<string, unknown>);
  if (source === env.SECURITY_EVENT_SOURCE)
    return judgeSecurityEvent(event as Record<string, unknown>, source);
  return { act: "ignore", why: `event from ${source}, a source this function does not act on` };
}

// ---------------------------------------------------------------------------------------
// Moving the rules, the latch, the notification

interface Moved {
  changed: RuleChange[];
  failed: RuleFailure[];
  /** Set when the listener's rules could not all be read: some may still send traffic to green. */
  unlisted?: string;
}

/** Every rule to blue (`moveRulesToBlue`, shared with `rollout rollback`), each rule logged as it settles. */
async function moveAllToBlue(deps: RollbackDeps): Promise<Moved> {
  const { moves, unlisted } = await sharedMoveRulesToBlue(
    deps.elb,
    deps.env.LISTENER_ARN,
    deps.env.TARGET_GROUP_PAIRS,
    (m) =>
      m.error === undefined
        ? deps.log({ msg: "rule on blue", rule: m.ruleArn, service: m.service, kind: m.kind })
        : deps.log({ msg: "rule failed", rule: m.ruleArn, error: m.error }),
  );
  if (unlisted !== undefined) deps.log({ msg: "listener rules could not be read", error: unlisted });
  return {
    changed: moves.flatMap(({ error, ...change }) => (error === undefined ? [change] : [])),
    failed: moves.flatMap((m) => (m.error === undefined ? [] : [{ ruleArn: m.ruleArn, error: m.error }])),
    ...(unlisted === undefined ? {} : { unlisted }),
  };
}

/** The latch, `undefined` when there is none, or the error that kept it from being read. */
async function readLatch(deps: RollbackDeps): Promise<{ latch?: Latch; error?: string }> {
  try {
    const found = await deps.ssm.send(new GetParameterCommand({ Name: deps.env.LATCH_PARAMETER }));
    // An unreadable value reads as a latch without a pending notification: the program treats
    // it as set, and it is not this function's to overwrite.
    return { latch: parseLatch(found.Parameter?.Value ?? "") };
  } catch (error) {
    if (error instanceof Error && error.name === "ParameterNotFound") return {};
    return { error: errorMessage(error) };
  }
}

async function writeLatch(deps: RollbackDeps, latch: Latch): Promise<void> {
  await deps.ssm.send(
    new PutParameterCommand({
      Name: deps.env.LATCH_PARAMETER,
      Type: "String",
      Overwrite: true,
      Value: JSON.stringify(latch),
    }),
  );
}

function subjectAlarms(alarms: string): string {
  const names = alarms.split(", ");
  return names.length > 1 ? `${names[0]} and ${names.length - 1} more` : alarms;
}

interface Report extends Moved {
  latch: Latch;
  /** Why the latch could not be written, if it could not. */
  latchError?: string;
}

/** The notification's subject and message. */
export function notification(stack: string, report: Report): { subject: string; message: string } {
  const { latch, changed, failed, unlisted, latchError } = report;
  const incomplete = failed.length > 0 || unlisted !== undefined;
  const flags = [incomplete ? "INCOMPLETE" : "", latchError !== undefined ? "LATCH NOT WRITTEN" : ""].filter(
    Boolean,
  );
  const lines = [
    `Automatic rollback of stack ${stack} at ${latch.at}`,
    `Trigger: ${latch.alarm} - ${latch.reason}`,
    ...changed.map((c) => `  ${c.service}: ${c.kind} rule -> 100 % blue (${c.ruleArn})`),
    ...failed.map((f) => `  FAILED ${f.ruleArn}: ${f.error}`),
    ...(unlisted === undefined ? [] : [`  FAILED to read the listener's rules (DescribeRules): ${unlisted}`]),
    incomplete
      ? "Some rules may still send traffic to green: the invocation fails and Lambda retries it. Check the listener now."
      : changed.length > 0
        ? "Every listener rule is on blue."
        : "Every listener rule was already on blue (an earlier attempt moved them, or green carried no traffic); this completes the latch and this notification.",
    latchError !== undefined
      ? `LATCH NOT WRITTEN: the next pulumi up would restore green; set rollout:rollback true now ` +
        `(pulumi config set rollout:rollback true -s ${stack}). PutParameter failed: ${latchError}`
      : `pulumi up keeps 100 % blue until the latch is acknowledged: npm run rollout -- resume --stack ${stack}`,
  ];
  return {
    // SNS refuses a subject of 100 characters or more, or with control characters (snsSubject):
    // name the first alarm, count the rest (the message lists all).
    subject: snsSubject(
      `[${stack}] automatic rollback${flags.length > 0 ? ` ${flags.join(", ")}` : ""}: ${subjectAlarms(latch.alarm)}`,
    ),
    message: lines.join("\n"),
  };
}

/** The latch as written once the notification is out: `{reason, alarm, at}`, no pending mark. */
function withoutPendingNotification(latch: Latch): Latch {
  const { notificationPending: _sent, ...complete } = latch;
  return complete;
}

/** `undefined` when `step` succeeds, else its error's message. */
async function attempt(step: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await step();
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

export async function rollBack(event: unknown, deps: RollbackDeps): Promise<RollbackResult> {
  const verdict = judgeEvent(event, deps.env);
  if (verdict.act === "ignore") {
    deps.log({ msg: "event ignored", why: verdict.why, event: excerpt(event) });
    return { action: "ignored", why: verdict.why };
  }
  const { alarm, reason } = verdict;
  if (verdict.unparseable !== undefined) deps.log({ msg: reason, event: excerpt(event) });
  deps.log({ msg: "rollback requested", alarm, reason, stack: deps.env.STACK });

  const moved = await moveAllToBlue(deps);
  const { changed, failed, unlisted } = moved;

  let latch: Latch = { reason, alarm, at: deps.now().toISOString() };
  if (changed.length === 0 && failed.length === 0 && unlisted === undefined) {
    // Every rule is already blue: done, unless an earlier attempt moved them and then failed
    // before the latch or the notification was complete.
    const existing = await readLatch(deps);
    if (existing.latch && !existing.latch.notificationPending) {
      deps.log({ msg: "already 100 % blue and latched; nothing written", alarm, latch: existing.latch });
      return { action: "rolled-back", alarm, reason, changed, latchWritten: false, notified: false };
    }
    if (existing.latch) latch = withoutPendingNotification(existing.latch);
    deps.log({
      msg: existing.latch
        ? "completing a pending notification"
        : existing.error !== undefined
          ? "latch could not be read; writing it and notifying"
          : "repairing a missing latch",
      latch,
      ...(existing.error === undefined ? {} : { error: existing.error }),
    });
  }

  const latchError = await attempt(() => writeLatch(deps, { ...latch, notificationPending: true }));
  if (latchError !== undefined) deps.log({ msg: "LATCH NOT WRITTEN", error: latchError });
  const { subject, message } = notification(deps.env.STACK, { ...moved, latch, latchError });
  const notifyError = await attempt(() =>
    deps.sns.send(new PublishCommand({ TopicArn: deps.env.TOPIC_ARN, Subject: subject, Message: message })),
  );
  if (notifyError !== undefined) deps.log({ msg: "notification failed", error: notifyError });
  const completeError =
    latchError === undefined && notifyError === undefined
      ? await attempt(() => writeLatch(deps, latch))
      : undefined;

  const problems = [
    ...(failed.length > 0
      ? [`${failed.length} rule(s) failed: ${failed.map((f) => `${f.ruleArn} (${f.error})`).join(", ")}`]
      : []),
    ...(unlisted === undefined ? [] : [`listener rules could not be read: ${unlisted}`]),
    ...(latchError === undefined ? [] : [`latch not written: ${latchError}`]),
    ...(notifyError === undefined ? [] : [`notification not sent: ${notifyError}`]),
    ...(completeError === undefined ? [] : [`latch left pending: ${completeError}`]),
  ];
  if (problems.length > 0) throw new RollbackIncomplete(changed, failed, problems, notifyError === undefined);
  return { action: "rolled-back", alarm, reason, changed, latchWritten: true, notified: true };
}

/** Lambda entry point: the clients are created once per container. */
let clients: Clients | undefined;
export async function handler(event: unknown): Promise<RollbackResult> {
  clients ??= createClients();
  return rollBack(event, {
    ...clients,
    env: parseRollbackEnvironment(process.env),
    now: () => new Date(),
    log: (entry) => console.log(JSON.stringify(entry)),
  });
}
