import { alarmSpecs, type AlarmSpec } from "./alarms";
import type { Gate, Playbook, Trigger } from "./playbook";

/**
 * The worst-case time from a breach to 100 % blue, per automatic rollback trigger and per path
 * (CloudWatch alarm, the stack's own security event, or GuardDuty), against the limit the
 * rollout document promises. Two terms are budgets, not AWS guarantees, and are said as such:
 * the function's time and EventBridge's delivery. Not counted: the few seconds CloudWatch may
 * take before a datapoint is visible to an alarm, and the application's own publish interval.
 */

/**
 * Time the rollback function takes from invocation to every listener rule at 100 % blue: a
 * cold start of the bundled handler (Node.js on arm64, one small file), one DescribeRules page
 * and the ModifyRule calls made concurrently. The latch write and the notification come after
 * the rules moved and are not on this path. A budget, not a measurement in AWS: the function's
 * own Duration metric on the dashboard shows what it really takes.
 */
export const ROLLBACK_LAMBDA_SECONDS = 5;
/**
 * GuardDuty publishes a new finding to EventBridge within 5 minutes (GuardDuty User Guide,
 * "Processing GuardDuty findings with Amazon EventBridge": for "newly generated findings with a
 * unique finding ID", GuardDuty "sends a notification within 5 minutes of the finding"; that
 * frequency cannot be changed).
 */
export const GUARDDUTY_PUBLICATION_SECONDS = 300;
/**
 * From the application's PutEvents to the rollback function's invocation. EventBridge
 * publishes no latency guarantee; it starts the first delivery "as soon as the event arrives"
 * and reports the time per rule as `IngestionToInvocationStartLatency` (EventBridge User Guide,
 * "Monitoring Amazon EventBridge"). Two seconds is the budget the security path is built to.
 */
export const EVENTBRIDGE_DELIVERY_SECONDS = 2;

/**
 * CloudWatch evaluates standard alarms every minute and high-resolution ones (a period of 10 or
 * 30 s) every 10 seconds (Amazon CloudWatch User Guide, "High-resolution alarms": "If the alarm
 * period is 10 seconds or 30 seconds, the alarm is evaluated every 10 seconds").
 */
export function evaluationCadenceSeconds(periodSeconds: number): number {
  return periodSeconds < 60 ? 10 : 60;
}

/**
 * Worst case from breach to 100 % blue for one alarm: the breach can start just after a
 * period began, so `evaluationPeriods` full periods must pass, then the alarm waits for its
 * next evaluation, then the Lambda runs.
 */
export function alarmWorstCaseSeconds(alarm: Pick<AlarmSpec, "periodSeconds" | "evaluationPeriods">): number {
  return (
    alarm.periodSeconds * alarm.evaluationPeriods +
    evaluationCadenceSeconds(alarm.periodSeconds) +
    ROLLBACK_LAMBDA_SECONDS
  );
}

/** One way a breach reaches the rollback function. */
export interface TriggerPath {
  gate: string;
  /** `own`: the trigger's limit is judged on it; `backup`: a second, slower net, reported only. */
  role: "own" | "backup";
  seconds: number;
  /** How the figure is made up. */
  why: string;
}

export interface TriggerLatency {
  id: string;
  name: string;
  limitSeconds: number;
  /** The slowest of the trigger's own paths. */
  worstCaseSeconds: number;
  meets: boolean;
  /** Which path bounds the worst case and, when it misses, why; backup nets named with their figures. */
  explanation: string;
  paths: TriggerPath[];
}

/** Detection latency of every automatic trigger against its limit (or the playbook's rollback limit). */
export function triggerLatencies(playbook: Playbook): TriggerLatency[] {
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));
  return playbook.rollback.triggers
    .filter((t) => t.kind === "automatic")
    .map((trigger) => triggerLatency(trigger, gates, playbook.rollback.limitSeconds));
}

/**
 * How long an event gate's breach takes to reach the rollback function (GuardDuty's publication,
 * or EventBridge's delivery of the application's own event); undefined for gates CloudWatch alarms watch.
 */
export function eventDeliverySeconds(gate: Pick<Gate, "metric">): number | undefined {
  switch (gate.metric.source) {
    case "guardduty":
      return GUARDDUTY_PUBLICATION_SECONDS;
    case "security-event":
      return EVENTBRIDGE_DELIVERY_SECONDS;
    default:
      return undefined;
  }
}

/** The path from a gate's breach to 100 % blue, or undefined when the gate does not roll back. */
function gatePath(gate: Gate): { seconds: number; why: string; fix: string } | undefined {
  if (gate.critical?.action !== "auto-rollback") return undefined;
  switch (gate.metric.source) {
    case "guardduty":
      return {
        seconds: eventDeliverySeconds(gate)! + ROLLBACK_LAMBDA_SECONDS,
        why: `${gate.id}: GuardDuty publishes findings to EventBridge up to ${GUARDDUTY_PUBLICATION_SECONDS} s after detection, then the function runs (${ROLLBACK_LAMBDA_SECONDS} s)`,
        fix: "GuardDuty's own publication delay exceeds the limit: the application (or a security tool) must put the stack's security event itself",
      };
    case "security-event":
      return {
        seconds: eventDeliverySeconds(gate)! + ROLLBACK_LAMBDA_SECONDS,
        why: `${gate.id}: security event put by the application, EventBridge delivery (${EVENTBRIDGE_DELIVERY_SECONDS} s budget, no AWS guarantee) + ${ROLLBACK_LAMBDA_SECONDS} s function (budget)`,
        fix: "nothing faster exists: the event goes straight to the function",
      };
    default: {
      const critical = alarmSpecs(gate).find((a) => a.level === "critical" && a.autoRollback);
      if (!critical) return undefined;
      const source =
        gate.metric.source === "alb"
          ? "ALB metrics are 60-second"
          : `${critical.periodSeconds}-second metric`;
      return {
        seconds: alarmWorstCaseSeconds(critical),
        why: `${gate.id}: ${source}, ${critical.evaluationPeriods} x ${critical.periodSeconds} s + ${evaluationCadenceSeconds(critical.periodSeconds)} s evaluation + ${ROLLBACK_LAMBDA_SECONDS} s function (budget)`,
        fix:
          gate.metric.source === "alb" || gate.metric.source === "container-insights"
            ? "per-minute AWS metrics cannot be faster; the application must publish a high-resolution (10 s) custom metric for it"
            : "shorten the gate's sustain window or publish the metric at high resolution (10 s)",
      };
    }
  }
}

function triggerLatency(trigger: Trigger, gates: Map<string, Gate>, defaultLimit: number): TriggerLatency {
  const limitSeconds = trigger.limitSeconds ?? defaultLimit;
  const paths: (TriggerPath & { fix: string })[] = [];
  for (const [role, ids] of [
    ["own", trigger.gates],
    ["backup", trigger.backupGates],
  ] as const) {
    for (const gateId of ids) {
      const path = gatePath(gates.get(gateId)!);
      if (path) paths.push({ gate: gateId, role, ...path });
    }
  }
  const own = paths.filter((p) => p.role === "own");
  // The slowest own path bounds the trigger: a breach only that path sees waits that long.
  const worst = own.reduce<(typeof own)[number] | undefined>(
    (a, b) => (!a || b.seconds > a.seconds ? b : a),
    undefined,
  );
  const meets = worst !== undefined && worst.seconds <= limitSeconds;
  const backups = paths
    .filter((p) => p.role === "backup")
    .map(
      (p) =>
        `second net ${p.gate}: ${p.seconds} s${p.seconds > limitSeconds ? ` (over the ${limitSeconds} s limit, not counted)` : ""}`,
    );
  const explanation = [
    worst === undefined ? "no gate feeds this trigger" : meets ? worst.why : `${worst.why}; ${worst.fix}`,
    ...backups,
  ].join("; ");
  return {
    id: trigger.id,
    name: trigger.name,
    limitSeconds,
    worstCaseSeconds: worst?.seconds ?? 0,
    meets,
    explanation,
    paths: paths.map(({ fix: _fix, ...path }) => path),
  };
}
