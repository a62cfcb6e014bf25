import { alarmSpecs, type AlarmSpec } from "./alarms";
import type { Gate, Playbook, Trigger } from "./playbook";

/**
 * The worst-case time from a breach to 100 % blue, per automatic rollback trigger and per path
 * (CloudWatch alarm or GuardDuty finding), against the limit the rollout document promises.
 */

/** Time the rollback Lambda takes from invocation to every listener rule at 100 % blue (cold start + API calls). */
export const ROLLBACK_LAMBDA_SECONDS = 10;
/** GuardDuty publishes a new finding to EventBridge within about 5 minutes of detecting it. */
export const GUARDDUTY_PUBLICATION_SECONDS = 300;

/** CloudWatch evaluates standard alarms every minute, high-resolution ones every period. */
export function evaluationCadenceSeconds(periodSeconds: number): number {
  return periodSeconds < 60 ? periodSeconds : 60;
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

export interface TriggerLatency {
  id: string;
  name: string;
  limitSeconds: number;
  worstCaseSeconds: number;
  meets: boolean;
  /** Which path bounds the worst case and, when it misses, why. */
  explanation: string;
}

/** Detection latency of every automatic trigger against its limit (or the playbook's rollback limit). */
export function triggerLatencies(playbook: Playbook): TriggerLatency[] {
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));
  return playbook.rollback.triggers
    .filter((t) => t.kind === "automatic")
    .map((trigger) => triggerLatency(trigger, gates, playbook.rollback.limitSeconds));
}

function triggerLatency(trigger: Trigger, gates: Map<string, Gate>, defaultLimit: number): TriggerLatency {
  const limitSeconds = trigger.limitSeconds ?? defaultLimit;
  const paths: { seconds: number; why: string; fix: string }[] = [];
  for (const gateId of trigger.gates) {
    const gate = gates.get(gateId)!;
    if (gate.metric.source === "guardduty") {
      paths.push({
        seconds: GUARDDUTY_PUBLICATION_SECONDS + ROLLBACK_LAMBDA_SECONDS,
        why: `${gateId}: GuardDuty publishes findings to EventBridge up to ${GUARDDUTY_PUBLICATION_SECONDS} s after detection, then the Lambda runs (${ROLLBACK_LAMBDA_SECONDS} s)`,
        fix: "GuardDuty's own publication delay exceeds the limit; only a detector in the application publishing a 10 s custom metric could meet it",
      });
      continue;
    }
    const critical = alarmSpecs(gate).find((a) => a.level === "critical" && a.autoRollback);
    if (!critical) continue;
    const seconds = alarmWorstCaseSeconds(critical);
    const source =
      gate.metric.source === "alb" ? "ALB metrics are 60-second" : `${critical.periodSeconds}-second metric`;
    paths.push({
      seconds,
      why: `${gateId}: ${source}, ${critical.evaluationPeriods} x ${critical.periodSeconds} s + ${evaluationCadenceSeconds(critical.periodSeconds)} s evaluation + ${ROLLBACK_LAMBDA_SECONDS} s Lambda`,
      fix:
        gate.metric.source === "alb" || gate.metric.source === "container-insights"
          ? "per-minute AWS metrics cannot be faster; the application must publish a high-resolution (10 s) custom metric for it"
          : "shorten the gate's sustain window or publish the metric at high resolution (10 s)",
    });
  }
  // The slowest path bounds the trigger: a breach only that path sees waits that long.
  const worst = paths.reduce((a, b) => (b.seconds > a.seconds ? b : a), {
    seconds: 0,
    why: "no automatic path",
    fix: "",
  });
  const meets = paths.length > 0 && worst.seconds <= limitSeconds;
  const explanation = meets
    ? worst.why
    : paths.length === 0
      ? "no gate feeds this trigger"
      : `${worst.why}; ${worst.fix}`;
  return {
    id: trigger.id,
    name: trigger.name,
    limitSeconds,
    worstCaseSeconds: worst.seconds,
    meets,
    explanation,
  };
}
