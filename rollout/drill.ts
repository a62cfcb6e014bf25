import { z } from "zod";
import { autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "./alarms";
import {
  evaluationCadenceSeconds,
  GUARDDUTY_PUBLICATION_SECONDS,
  ROLLBACK_LAMBDA_SECONDS,
  triggerLatencies,
} from "./latency";
import type { Gate, Playbook } from "./playbook";
import { formatPath, RolloutInputError } from "./validation";

/**
 * Offline rehearsal of a playbook's gates: a metric timeline (the scenario) is replayed through
 * every CloudWatch alarm of the playbook, the composite rollback alarm and the GuardDuty path,
 * and the drill says when green would have been rolled back and whether each rollback trigger
 * met its limit. Pure (loaders.ts reads scenario files); the alarms' numbers come from `alarms.ts`.
 *
 * Semantics (documented choices, kept deliberately simple):
 *
 * - Time is seconds from the start of the drill. Periods are aligned to 0: period k covers
 *   [k * P, (k + 1) * P). There is no data before 0.
 * - A gate's series is a step function: each point's value holds until the next point (the last
 *   one until the end of the drill). Before the first point, and for a gate the scenario leaves
 *   out, there is no data.
 * - A period's datapoint is taken over the part of the period the series covers:
 *   Average, p95/p99 and the ALB error rate -> the time-weighted average of that part;
 *   Maximum -> the largest value present; Minimum -> the smallest;
 *   Sum and SampleCount -> each point's value is the per-period total, pro-rated by the share of
 *   the period it holds for (a value of 3 for the whole period is 3, for half of it 1.5).
 *   A period the series does not reach at all has a missing datapoint.
 * - Alarms are evaluated every `evaluationCadenceSeconds(period)` seconds (at t = cadence,
 *   2 * cadence, ... up to durationSeconds) over the last `evaluationPeriods` complete periods,
 *   so a period's datapoint counts from the moment the period ends (no ingestion delay). The
 *   comparison is in playbook units (`playbookThreshold`), not the CloudWatch unit.
 * - Missing datapoints in the window, per `treatMissingData`: "notBreaching" counts them as good,
 *   "breaching" as bad; "missing" gives INSUFFICIENT_DATA when the whole window is missing and
 *   otherwise evaluates the present datapoints only; "ignore" keeps the current state when the
 *   whole window is missing and otherwise evaluates the present ones. ALARM needs at least
 *   `datapointsToAlarm` breaching datapoints, anything else is OK. CloudWatch itself looks
 *   further back than the window for real datapoints when some are missing; the drill keeps to
 *   the window, so with "missing" an alarm needs `datapointsToAlarm` real breaching datapoints.
 * - Every alarm starts in INSUFFICIENT_DATA; every state change is recorded.
 * - The composite alarm is the OR of the auto-rollback alarms. It fires at the first evaluation
 *   where one of them is in ALARM, and the rollback Lambda then needs ROLLBACK_LAMBDA_SECONDS.
 * - GuardDuty gates: a point whose value breaches the gate's critical threshold is a finding at
 *   that time; EventBridge delivers it GUARDDUTY_PUBLICATION_SECONDS later (the worst case, used
 *   as the figure) and the Lambda runs.
 * - A rollback counts when the Lambda is invoked within durationSeconds; `rollbackAt` (invocation
 *   + Lambda) may then lie up to ROLLBACK_LAMBDA_SECONDS past the end.
 * - The series are taken as given: the drill keeps evaluating after a rollback.
 * - Manual gates are not simulated; they are listed as not automated.
 */

/** The longest drill: a week, which keeps the 10-second alarms at some 60,000 evaluations. */
export const MAX_DRILL_SECONDS = 7 * 86400;

const Point = z
  .object({
    at: z.number().min(0, { message: "expected seconds from the start (>= 0)" }),
    value: z.number(),
  })
  .strict();
export type Point = z.infer<typeof Point>;

/** A drill scenario, in YAML or JSON. */
export const DrillScenario = z
  .object({
    /** Playbook id (`tbs-strategy-framework`) or a path to a playbook YAML file, relative to the scenario. */
    playbook: z.string().min(1),
    description: z.string().optional(),
    durationSeconds: z
      .number()
      .int()
      .positive()
      .max(MAX_DRILL_SECONDS, { message: `expected at most ${MAX_DRILL_SECONDS} s (a week)` }),
    /** One series per gate id, in the gate's playbook unit. */
    metrics: z.record(z.string(), z.array(Point)).default({}),
  })
  .strict();
export type DrillScenario = z.infer<typeof DrillScenario>;

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

export interface StateChange {
  /** Seconds from the start. */
  at: number;
  /** `AlarmSpec.key`, such as `errorRate-critical`. */
  alarm: string;
  from: AlarmState;
  to: AlarmState;
}

export interface DrillAlarm {
  key: string;
  gateId: string;
  level: AlarmSpec["level"];
  autoRollback: boolean;
  treatMissingData: AlarmSpec["treatMissingData"];
  /** State at the end of the drill. */
  state: AlarmState;
  /** First evaluation that put the alarm in ALARM, or null. */
  firstAlarmAt: number | null;
}

export interface DrillFinding {
  gate: string;
  /** When the finding happened (the point's `at`). */
  at: number;
  /** When EventBridge delivers it (at + GUARDDUTY_PUBLICATION_SECONDS). */
  publishedAt: number;
}

export interface FiredTrigger {
  /** The first automatic playbook trigger that lists the gate; null when none does. */
  id: string | null;
  gate: string;
  /** The alarm that fired the composite, or null for the GuardDuty (EventBridge) path. */
  alarm: string | null;
  /** When the rollback Lambda was invoked. */
  firedAt: number;
  /** Start of the breach that led to it (see DrillTriggerCheck.breachAt), or null. */
  breachAt: number | null;
}

export interface DrillTriggerCheck {
  id: string;
  name: string;
  gates: string[];
  /**
   * When the trigger's gates breached their critical threshold (raw value, before any
   * aggregation). When the trigger fired, the start of the breach behind it (a spike long before
   * does not count against detection); otherwise the first breach. Null when nothing breached.
   */
  breachAt: number | null;
  /** When this trigger's own path had blue back at 100 % (alarm/finding + Lambda), or null. */
  rolledBackAt: number | null;
  detectionSeconds: number | null;
  limitSeconds: number;
  /**
   * true: rolled back within the limit. false: rolled back too late, or the breach lasted the
   * whole limit without a rollback. null: nothing to judge (no breach, or the breach ended or the
   * drill ended before the limit ran out without a rollback).
   */
  met: boolean | null;
  note: string;
}

export interface DrillResult {
  playbook: string;
  durationSeconds: number;
  /** Seconds from the start when blue was back at 100 %, or null. */
  rollbackAt: number | null;
  trigger: FiredTrigger | null;
  transitions: StateChange[];
  /** Keys of the alarms that reached ALARM, in playbook order. */
  alarmsRaised: string[];
  triggers: DrillTriggerCheck[];
  alarms: DrillAlarm[];
  findings: DrillFinding[];
  /** Gates the drill cannot simulate (manual evidence). */
  notAutomated: string[];
  /** Gates of the scenario's metrics that have no alarm (manual gates): their data was not replayed. */
  ignoredMetrics: string[];
}

// ---------------------------------------------------------------------------------------
// Scenario input

/** Problems zod cannot see: unknown gate ids, unsorted points, points past the end. */
export function scenarioIssues(scenario: DrillScenario, playbook: Playbook): string[] {
  const gateIds = playbook.gates.map((g) => g.id);
  const issues: string[] = [];
  for (const [gateId, points] of Object.entries(scenario.metrics)) {
    if (!gateIds.includes(gateId)) {
      issues.push(
        `${formatPath(["metrics", gateId])}: unknown gate id; expected one of ${gateIds.join(", ")}`,
      );
      continue;
    }
    points.forEach((point, i) => {
      const where = formatPath(["metrics", gateId, i, "at"]);
      const previous = points[i - 1];
      if (previous && point.at <= previous.at) {
        issues.push(
          `${where}: expected points sorted by at, each after the one before (${previous.at}), got ${point.at}`,
        );
      }
      if (point.at > scenario.durationSeconds) {
        issues.push(
          `${where}: expected at most durationSeconds (${scenario.durationSeconds}), got ${point.at}`,
        );
      }
    });
  }
  return issues;
}

/** Throws a RolloutInputError listing every scenarioIssues problem, under `context`. */
export function checkScenario(scenario: DrillScenario, playbook: Playbook, context: string): void {
  const issues = scenarioIssues(scenario, playbook);
  if (issues.length > 0) throw new RolloutInputError(`${context}:\n  ${issues.join("\n  ")}`, issues);
}

// ---------------------------------------------------------------------------------------
// One alarm

export type Aggregation = "average" | "maximum" | "minimum" | "sum";

/** How a period's datapoint is formed from the step function, per the alarm's statistic. */
export function aggregation(spec: Pick<AlarmSpec, "metric">): Aggregation {
  const metric = spec.metric;
  if (metric.kind === "alb-error-rate") return "average";
  switch (metric.statistic) {
    case "Maximum":
      return "maximum";
    case "Minimum":
      return "minimum";
    case "Sum":
    case "SampleCount":
      return "sum";
    default:
      // Average and percentiles (extendedStatistic): a step function's time-weighted average.
      return "average";
  }
}

/** Datapoints of periods 0 .. count-1; undefined where the period has no data. */
export function periodDatapoints(
  points: readonly Point[],
  periodSeconds: number,
  count: number,
  how: Aggregation,
): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  let first = 0; // last point at or before the period's start (or 0)
  for (let k = 0; k < count; k++) {
    const start = k * periodSeconds;
    const end = start + periodSeconds;
    while (first + 1 < points.length && points[first + 1]!.at <= start) first++;
    let covered = 0;
    let weighted = 0;
    let max = -Infinity;
    let min = Infinity;
    for (let j = first; j < points.length && points[j]!.at < end; j++) {
      const point = points[j]!;
      const from = Math.max(start, point.at);
      const to = Math.min(end, points[j + 1]?.at ?? Infinity);
      if (to <= from) continue;
      covered += to - from;
      weighted += point.value * (to - from);
      max = Math.max(max, point.value);
      min = Math.min(min, point.value);
    }
    // An average never leaves [min, max]; the clamp removes floating-point artefacts.
    const average = Math.min(max, Math.max(min, weighted / covered));
    if (covered === 0) out.push(undefined);
    else if (how === "maximum") out.push(max);
    else if (how === "minimum") out.push(min);
    else if (how === "sum") out.push(covered === periodSeconds ? average : weighted / periodSeconds);
    else out.push(average);
  }
  return out;
}

/** Whether a value breaches an alarm's threshold (playbook units). */
export function breaches(spec: Pick<AlarmSpec, "comparison" | "playbookThreshold">, value: number): boolean {
  return spec.comparison === "GreaterThanThreshold"
    ? value > spec.playbookThreshold
    : value < spec.playbookThreshold;
}

export interface AlarmRun {
  transitions: StateChange[];
  state: AlarmState;
  firstAlarmAt: number | null;
}

/** Run one alarm over a series for durationSeconds. */
export function simulateAlarm(spec: AlarmSpec, points: readonly Point[], durationSeconds: number): AlarmRun {
  const period = spec.periodSeconds;
  const cadence = evaluationCadenceSeconds(period);
  const datapoints = periodDatapoints(
    points,
    period,
    Math.floor(durationSeconds / period),
    aggregation(spec),
  );
  const transitions: StateChange[] = [];
  let state: AlarmState = "INSUFFICIENT_DATA";
  let firstAlarmAt: number | null = null;
  for (let t = cadence; t <= durationSeconds; t += cadence) {
    const last = Math.floor(t / period) - 1; // newest complete period
    let bad = 0;
    let good = 0;
    let missing = 0;
    for (let k = last - spec.evaluationPeriods + 1; k <= last; k++) {
      const value = k >= 0 ? datapoints[k] : undefined;
      if (value === undefined) missing++;
      else if (breaches(spec, value)) bad++;
      else good++;
    }
    const next = nextState(spec, state, bad, good, missing);
    if (next !== state) {
      transitions.push({ at: t, alarm: spec.key, from: state, to: next });
      state = next;
      if (next === "ALARM" && firstAlarmAt === null) firstAlarmAt = t;
    }
  }
  return { transitions, state, firstAlarmAt };
}

function nextState(
  spec: Pick<AlarmSpec, "treatMissingData" | "datapointsToAlarm">,
  current: AlarmState,
  bad: number,
  good: number,
  missing: number,
): AlarmState {
  const alarmOrOk = (breaching: number): AlarmState => (breaching >= spec.datapointsToAlarm ? "ALARM" : "OK");
  switch (spec.treatMissingData) {
    case "breaching":
      return alarmOrOk(bad + missing);
    case "notBreaching":
      return alarmOrOk(bad);
    case "missing":
      return bad + good === 0 ? "INSUFFICIENT_DATA" : alarmOrOk(bad);
    case "ignore":
      return bad + good === 0 ? current : alarmOrOk(bad);
  }
}

// ---------------------------------------------------------------------------------------
// Breaches of the raw series

interface Episode {
  start: number;
  /** When the value stopped breaching; Infinity if it never did. */
  end: number;
}

/** Stretches where the raw value breaches. */
function breachEpisodes(points: readonly Point[], isBreach: (value: number) => boolean): Episode[] {
  const episodes: Episode[] = [];
  let open: number | undefined;
  for (const point of points) {
    const breach = isBreach(point.value);
    if (breach && open === undefined) open = point.at;
    if (!breach && open !== undefined) {
      episodes.push({ start: open, end: point.at });
      open = undefined;
    }
  }
  if (open !== undefined) episodes.push({ start: open, end: Infinity });
  return episodes;
}

/** The gate's critical threshold as a predicate, from its alarm where it has one. */
function criticalBreach(
  gate: Gate,
  critical: AlarmSpec | undefined,
): ((value: number) => boolean) | undefined {
  if (critical) return (value) => breaches(critical, value);
  // GuardDuty gates have no alarm spec: the gate's own critical level decides.
  const threshold = gate.critical?.threshold;
  if (threshold === undefined) return undefined;
  return gate.breachWhen === "above" ? (value) => value > threshold : (value) => value < threshold;
}

/** One path to the rollback Lambda: an auto-rollback alarm or a GuardDuty gate. */
interface RollbackPath {
  gate: string;
  alarm: string | null;
  /** Lambda invocation, or null when it never happened within the drill. */
  firedAt: number | null;
  /** Start of the breach behind the firing (see DrillTriggerCheck.breachAt). */
  causeAt: number | null;
}

// ---------------------------------------------------------------------------------------
// The drill

/** Replay a (validated or programmatic) scenario through the playbook's gates. */
export function runDrill(playbook: Playbook, scenario: DrillScenario): DrillResult {
  checkScenario(scenario, playbook, `invalid drill scenario for ${playbook.id}`);
  const duration = scenario.durationSeconds;
  const series = (gateId: string): readonly Point[] => scenario.metrics[gateId] ?? [];

  const specs = playbookAlarms(playbook);
  const runs = new Map(specs.map((spec) => [spec.key, simulateAlarm(spec, series(spec.gateId), duration)]));
  const rollbackKeys = new Set(autoRollbackAlarms(playbook).map((a) => a.key));
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));

  // Every path to the Lambda, per gate.
  const paths: RollbackPath[] = [];
  for (const spec of specs) {
    if (!rollbackKeys.has(spec.key)) continue;
    const firstAlarmAt = runs.get(spec.key)!.firstAlarmAt;
    let causeAt: number | null = null;
    if (firstAlarmAt !== null) {
      // The breach behind it: the first breach still on within the alarm's window.
      const windowStart = firstAlarmAt - spec.periodSeconds * spec.evaluationPeriods;
      const cause = breachEpisodes(series(spec.gateId), (v) => breaches(spec, v)).find(
        (e) => e.end > windowStart && e.start <= firstAlarmAt,
      );
      causeAt = cause?.start ?? null;
    }
    paths.push({ gate: spec.gateId, alarm: spec.key, firedAt: firstAlarmAt, causeAt });
  }
  const findings: DrillFinding[] = [];
  for (const gate of playbook.gates) {
    if (gate.metric.source !== "guardduty" || gate.critical?.action !== "auto-rollback") continue;
    const isFinding = criticalBreach(gate, undefined)!;
    for (const point of series(gate.id)) {
      if (isFinding(point.value))
        findings.push({ gate: gate.id, at: point.at, publishedAt: point.at + GUARDDUTY_PUBLICATION_SECONDS });
    }
    const first = findings.find((f) => f.gate === gate.id && f.publishedAt <= duration);
    paths.push({
      gate: gate.id,
      alarm: null,
      firedAt: first?.publishedAt ?? null,
      causeAt: first?.at ?? null,
    });
  }

  const automatic = playbook.rollback.triggers.filter((t) => t.kind === "automatic");
  const limits = new Map(triggerLatencies(playbook).map((l) => [l.id, l.limitSeconds]));
  const earliest = (candidates: RollbackPath[]) =>
    candidates.reduce<RollbackPath | undefined>(
      (best, p) =>
        p.firedAt !== null && (!best || best.firedAt === null || p.firedAt < best.firedAt) ? p : best,
      undefined,
    );

  const first = earliest(paths);
  const trigger: FiredTrigger | null =
    first?.firedAt != null
      ? {
          id: automatic.find((t) => t.gates.includes(first.gate))?.id ?? null,
          gate: first.gate,
          alarm: first.alarm,
          firedAt: first.firedAt,
          breachAt: first.causeAt,
        }
      : null;

  const triggers = automatic.map((t): DrillTriggerCheck => {
    const limitSeconds = limits.get(t.id)!; // triggerLatencies covers every automatic trigger
    const fired = earliest(paths.filter((p) => t.gates.includes(p.gate)));
    const base = { id: t.id, name: t.name, gates: t.gates, limitSeconds };
    if (fired?.firedAt != null) {
      const rolledBackAt = fired.firedAt + ROLLBACK_LAMBDA_SECONDS;
      if (fired.causeAt === null) {
        return {
          ...base,
          breachAt: null,
          rolledBackAt,
          detectionSeconds: null,
          met: null,
          note: `${fired.alarm ?? fired.gate} fired with no raw breach (missing data treated as breaching)`,
        };
      }
      const detectionSeconds = rolledBackAt - fired.causeAt;
      const met = detectionSeconds <= limitSeconds;
      return {
        ...base,
        breachAt: fired.causeAt,
        rolledBackAt,
        detectionSeconds,
        met,
        note: `${fired.alarm ?? `${fired.gate} (GuardDuty finding)`}: ${detectionSeconds} s ${met ? "within" : "over"} the ${limitSeconds} s limit`,
      };
    }
    // Not fired: the first breach of any of its gates, and how long it lasted.
    const episodes = t.gates.flatMap((gateId) => {
      const gate = gates.get(gateId)!;
      const critical = specs.find((s) => s.gateId === gateId && s.level === "critical");
      const isBreach = criticalBreach(gate, critical);
      return isBreach ? breachEpisodes(series(gateId), isBreach).slice(0, 1) : [];
    });
    const firstBreach = episodes.reduce<Episode | undefined>(
      (a, e) => (!a || e.start < a.start ? e : a),
      undefined,
    );
    if (!firstBreach) {
      return {
        ...base,
        breachAt: null,
        rolledBackAt: null,
        detectionSeconds: null,
        met: null,
        note: "no breach",
      };
    }
    const lasted = Math.min(firstBreach.end, duration) - firstBreach.start;
    const missed = lasted >= limitSeconds;
    return {
      ...base,
      breachAt: firstBreach.start,
      rolledBackAt: null,
      detectionSeconds: null,
      met: missed ? false : null,
      note: missed
        ? `breach lasted ${lasted} s, over the ${limitSeconds} s limit, with no rollback`
        : firstBreach.end <= duration
          ? `breach lasted ${lasted} s and did not fire the trigger`
          : `drill ended ${lasted} s after the breach, before the ${limitSeconds} s limit`,
    };
  });

  const transitions = specs.flatMap((spec) => runs.get(spec.key)!.transitions).sort((a, b) => a.at - b.at); // stable: playbook order within the same instant
  const alarms = specs.map((spec): DrillAlarm => {
    const run = runs.get(spec.key)!;
    return {
      key: spec.key,
      gateId: spec.gateId,
      level: spec.level,
      autoRollback: spec.autoRollback,
      treatMissingData: spec.treatMissingData,
      state: run.state,
      firstAlarmAt: run.firstAlarmAt,
    };
  });

  const manual = playbook.gates.filter((g) => g.metric.source === "manual").map((g) => g.id);
  return {
    playbook: playbook.id,
    durationSeconds: duration,
    rollbackAt: trigger ? trigger.firedAt + ROLLBACK_LAMBDA_SECONDS : null,
    trigger,
    transitions,
    alarmsRaised: alarms.filter((a) => a.firstAlarmAt !== null).map((a) => a.key),
    triggers,
    alarms,
    findings,
    notAutomated: manual,
    ignoredMetrics: manual.filter((id) => scenario.metrics[id] !== undefined),
  };
}
