import { z } from "zod";
import { autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "./alarms";
import {
  evaluationCadenceSeconds,
  eventDeliverySeconds,
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
 * The alarm evaluation follows the Amazon CloudWatch User Guide, "How alarm state is evaluated
 * when data is missing" (awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md,
 * commit 05fd32f63861ca6646c8aa5c94334fd6e0dfdbf5), and reproduces both of its tables cell for
 * cell (see `evaluateRange`). Semantics:
 *
 * - Time is seconds from the start of the drill. There is no data before 0.
 * - A gate's series is a step function: each point's value holds until the next point (the last
 *   one until the end of the drill). A point `{at, value: null}` is a gap: no data from `at` until
 *   the next point. Before the first point, and for a gate the scenario leaves out, there is no
 *   data.
 * - Alarms are evaluated every `evaluationCadenceSeconds(period)` seconds (latency.ts), at
 *   t = cadence, 2 * cadence, ... up to durationSeconds. At an evaluation at t, datapoint j
 *   (j = 0 the newest) covers [t - (j + 1) * P, t - j * P): the periods END at t. CloudWatch
 *   evaluates standard alarms every minute over the most recent periods, so for P >= 60 these
 *   are sliding windows aligned to the evaluation minute (a one-day period is a rolling 24-hour
 *   figure, evaluated every minute); for P = 60 and for high-resolution periods (10 s, 30 s,
 *   evaluated every period) they are the periods aligned to 0, k * P to (k + 1) * P. A period's
 *   datapoint counts from the moment it ends (no ingestion delay).
 * - A period's datapoint is taken over the part of the period the series covers (null stretches
 *   and time before 0 are not covered):
 *   Average, p95/p99 and the ALB error rate -> the time-weighted average of that part;
 *   Maximum -> the largest value present; Minimum -> the smallest;
 *   Sum and SampleCount -> each point's value is the per-period total, pro-rated by the share of
 *   the period it holds for (a value of 3 for the whole period is 3, for half of it 1.5).
 *   A period the series does not cover at all has a missing datapoint.
 * - Each evaluation looks at the alarm's evaluation range: the `evaluationRangePeriods(N)` =
 *   N + 2 most recent periods (N = evaluationPeriods; an assumption from the guide's example,
 *   see EVALUATION_RANGE_EXTRA_PERIODS), periods wholly before 0 missing. `evaluateRange` decides
 *   the state from it the guide's way: with N or more real datapoints in the range, the newest N
 *   real ones are evaluated and treatMissingData is not used (so with gaps, real datapoints older
 *   than the last N periods count); with fewer, the missing ones are filled per treatMissingData
 *   ("missing" can then reach ALARM on a single old breaching datapoint, the guide's row
 *   "X - - - -"). N datapoints are always evaluated; ALARM needs `datapointsToAlarm` breaching,
 *   anything else is OK. The comparison is in playbook units (`playbookThreshold`), not the
 *   CloudWatch unit.
 * - Every alarm starts in INSUFFICIENT_DATA; every state change is recorded.
 * - The composite alarm is the OR of the auto-rollback alarms. It fires at the first evaluation
 *   where one of them is in ALARM, and the rollback Lambda then needs ROLLBACK_LAMBDA_SECONDS.
 * - Raw breaches (a trigger's breachAt): a stretch where the series' value breaches the critical
 *   threshold. A null stretch is not a breach of the raw value (silence is not a raw breach),
 *   even for an alarm that treats missing data as breaching: such a rollback has no breachAt.
 *   The breach behind an alarm's firing is the first raw breach still on within its evaluation
 *   range at the time it fired.
 * - Alarms gated on green carrying traffic (`AlarmSpec.whileServing`: green's healthy hosts, its
 *   ALB-generated errors, custom gates with `silenceWhileServing`) compute what the alarm's
 *   metric math computes: while green serves, the gate's datapoint, or its `silence` value when
 *   the period has none; while green serves nothing, the neutral value (never a breach). Green
 *   serves in a period when the scenario's `greenRequests` has a datapoint above 0 there
 *   (requests routed to green, Sum); a scenario without `greenRequests` has green serving
 *   throughout. For these alarms a null stretch while serving IS a raw breach when `silence`
 *   breaches (a green that went silent), so such a rollback has its breachAt; a series the
 *   scenario leaves out reads neutral (it says nothing about the gate: write a null point for
 *   silence).
 * - Blue's alarms (twins of the ALB gates, which page and never roll back) are not replayed: a
 *   scenario's series describe green.
 * - Event gates: a point whose value breaches the gate's critical threshold is an event at that
 *   time (null is none). A GuardDuty finding reaches the function GUARDDUTY_PUBLICATION_SECONDS
 *   later (the worst case, used as the figure), the application's own security event
 *   EVENTBRIDGE_DELIVERY_SECONDS later; then the Lambda runs. A trigger fires on the first of its
 *   own gates and its backup nets.
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
    /** The value from `at` until the next point; null: no data (a gap) until the next point. */
    value: z.number({ message: "expected a number, or null for no data until the next point" }).nullable(),
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
    /**
     * Requests routed to green per period (its target groups' RequestCount, Sum): when green
     * carries traffic, for the alarms gated on it. Absent: green serves throughout the drill.
     */
    greenRequests: z.array(Point).optional(),
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
  /** `guardduty`: a GuardDuty finding; `security-event`: the application's own event. */
  source: "guardduty" | "security-event";
  /** When the finding happened (the point's `at`). */
  at: number;
  /** When EventBridge delivers it to the function (GUARDDUTY_PUBLICATION_SECONDS or EVENTBRIDGE_DELIVERY_SECONDS later). */
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
  const series: [(string | number)[], readonly Point[]][] = Object.entries(scenario.metrics).map(
    ([gateId, points]) => [["metrics", gateId], points],
  );
  if (scenario.greenRequests) series.push([["greenRequests"], scenario.greenRequests]);
  for (const [path, points] of series) {
    const gateId = path[1];
    if (typeof gateId === "string" && !gateIds.includes(gateId)) {
      issues.push(`${formatPath(path)}: unknown gate id; expected one of ${gateIds.join(", ")}`);
      continue;
    }
    points.forEach((point, i) => {
      const where = formatPath([...path, i, "at"]);
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
  // Metric-math measurements, which have no statistic of their own (metricCatalogue.ts).
  switch (metric.kind as string) {
    case "alb-error-rate":
    case "alb-generated-error-rate":
      return "average"; // a % of the period's requests
    case "alb-healthy-hosts":
      return "minimum"; // HealthyHostCount, Minimum (ALB_AVAILABILITY)
  }
  switch ("statistic" in metric ? metric.statistic : undefined) {
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

/**
 * A datapoint source: the datapoint of the period that ends at `periodEnd` (seconds from the
 * start), [periodEnd - P, periodEnd), in playbook units; undefined when the period has no data.
 * `evaluateAlarm` asks it for the periods of each evaluation range, so an alarm whose datapoints
 * come from elsewhere than one step function can reuse the state evaluation.
 */
export type DatapointAt = (periodEnd: number) => number | undefined;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * For every start s in [0, values.length - width], `combine` over values[s .. s + width - 1], in
 * O(n) whatever the width (van Herk / Gil-Werman): the array is cut into blocks of `width`; a
 * window is the tail of one block plus the head of the next, or one whole block. A sum only
 * adds up the window's own units (no running total over the whole drill, whose rounding errors
 * would grow with it).
 */
function slidingWindows(
  values: Float64Array,
  width: number,
  combine: (a: number, b: number) => number,
): Float64Array {
  if (width === 1) return values; // each window is one unit
  const n = values.length;
  const head = new Float64Array(n); // combine from the block's start to i
  const tail = new Float64Array(n); // combine from i to the block's end
  for (let i = 0; i < n; i++) head[i] = i % width === 0 ? values[i]! : combine(head[i - 1]!, values[i]!);
  for (let i = n - 1; i >= 0; i--)
    tail[i] = i % width === width - 1 || i === n - 1 ? values[i]! : combine(values[i]!, tail[i + 1]!);
  const out = new Float64Array(Math.max(0, n - width + 1));
  for (let s = 0; s < out.length; s++)
    out[s] = s % width === 0 ? head[s + width - 1]! : combine(tail[s]!, head[s + width - 1]!);
  return out;
}

/**
 * The datapoints of every period of `periodSeconds` that ends at a multiple of `stepSeconds`
 * (the evaluation cadence) within the drill, precomputed, as a DatapointAt. The step function is
 * cut into units of gcd(period, step) seconds (a minute for periods of whole minutes evaluated
 * every minute; the period itself for high-resolution ones); each unit's covered time,
 * time-weighted sum, maximum and minimum are summed up, then every period (a run of whole units,
 * sliding by one unit) is combined in O(1) per period. So a week-long drill costs O(units +
 * points) per alarm, whatever the period.
 *
 * The function throws a RangeError for a period end that is not a multiple of the unit or lies
 * past durationSeconds; ends at or before 0 have no data.
 */
export function windowDatapoints(
  points: readonly Point[],
  periodSeconds: number,
  how: Aggregation,
  durationSeconds: number,
  stepSeconds: number = evaluationCadenceSeconds(periodSeconds),
): DatapointAt {
  const unit = gcd(periodSeconds, stepSeconds);
  const width = periodSeconds / unit; // units per period
  const units = Math.floor(durationSeconds / unit);
  // Unit u of the drill sits at index width + u: the first `width` units are before 0 (no data),
  // so every period, even one that starts before 0, is `width` whole units.
  const size = width + units;
  const covered = new Float64Array(size);
  const weighted = new Float64Array(size);
  const max = new Float64Array(size).fill(-Infinity);
  const min = new Float64Array(size).fill(Infinity);
  const endOfData = units * unit;
  points.forEach((point, i) => {
    const value = point.value;
    if (value === null) return; // a gap: nothing covered until the next point
    const from = point.at;
    const to = Math.min(endOfData, points[i + 1]?.at ?? Infinity);
    for (let u = Math.floor(from / unit); u < units && u * unit < to; u++) {
      const seconds = Math.min(to, (u + 1) * unit) - Math.max(from, u * unit);
      if (seconds <= 0) continue;
      const k = width + u;
      covered[k] = covered[k]! + seconds;
      weighted[k] = weighted[k]! + value * seconds;
      max[k] = Math.max(max[k]!, value);
      min[k] = Math.min(min[k]!, value);
    }
  });
  // Period ending at unit boundary e (0 <= e <= units) = padded units e .. e + width - 1.
  const coveredBy = slidingWindows(covered, width, (a, b) => a + b);
  const weightedBy = slidingWindows(weighted, width, (a, b) => a + b);
  const maxBy = slidingWindows(max, width, Math.max);
  const minBy = slidingWindows(min, width, Math.min);
  const datapoints = new Float64Array(units + 1).fill(NaN); // NaN: no data
  for (let e = 0; e <= units; e++) {
    const seconds = coveredBy[e]!;
    if (seconds <= 0) continue;
    const hi = maxBy[e]!;
    const lo = minBy[e]!;
    // An average never leaves [min, max]; the clamp removes floating-point artefacts.
    const average = Math.min(hi, Math.max(lo, weightedBy[e]! / seconds));
    datapoints[e] =
      how === "maximum"
        ? hi
        : how === "minimum"
          ? lo
          : how === "sum"
            ? seconds === periodSeconds
              ? average
              : weightedBy[e]! / periodSeconds
            : average;
  }
  return (periodEnd) => {
    if (periodEnd <= 0) return undefined;
    const e = periodEnd / unit;
    if (!Number.isInteger(e) || e > units)
      throw new RangeError(
        `no datapoint for a period ending at ${periodEnd} s: expected a multiple of ${unit} s up to ${endOfData} s`,
      );
    const value = datapoints[e]!;
    return Number.isNaN(value) ? undefined : value;
  };
}

/** Datapoints of the periods aligned to 0, k * P to (k + 1) * P for k = 0 .. count-1; undefined where the period has no data. */
export function periodDatapoints(
  points: readonly Point[],
  periodSeconds: number,
  count: number,
  how: Aggregation,
): (number | undefined)[] {
  const at = windowDatapoints(points, periodSeconds, how, count * periodSeconds, periodSeconds);
  return Array.from({ length: count }, (_, k) => at((k + 1) * periodSeconds));
}

/** Whether a value breaches an alarm's threshold (playbook units). */
export function breaches(spec: Pick<AlarmSpec, "comparison" | "playbookThreshold">, value: number): boolean {
  return spec.comparison === "GreaterThanThreshold"
    ? value > spec.playbookThreshold
    : value < spec.playbookThreshold;
}

// ---------------------------------------------------------------------------------------
// Alarm state: CloudWatch's evaluation of the evaluation range

/**
 * How many periods the evaluation range holds beyond Evaluation Periods. The guide says
 * CloudWatch "attempts to retrieve a higher number of data points than specified by Evaluation
 * Periods" (how many "depends on the length of the alarm period and whether it is based on a
 * metric with standard resolution or high resolution") and documents no formula; its only
 * example, Evaluation Periods 3, "retrieves the 5 most recent data points". The drill ASSUMES
 * N + 2 for every alarm, from that one example.
 */
export const EVALUATION_RANGE_EXTRA_PERIODS = 2;

/** Periods in an alarm's evaluation range: evaluationPeriods + 2 (an assumption, see EVALUATION_RANGE_EXTRA_PERIODS). */
export function evaluationRangePeriods(evaluationPeriods: number): number {
  return evaluationPeriods + EVALUATION_RANGE_EXTRA_PERIODS;
}

/**
 * One datapoint of an evaluation range, in the guide's notation or as a boolean:
 * "X" or true breaching, "0" or false not breaching, "-" or undefined missing.
 */
export type RangePoint = "X" | "0" | "-" | boolean | undefined;

export type RangeRule = Pick<AlarmSpec, "evaluationPeriods" | "datapointsToAlarm" | "treatMissingData">;

/**
 * The alarm state CloudWatch sets from one evaluation range (oldest datapoint first, newest
 * last, as in the guide's tables), per the Amazon CloudWatch User Guide, "How alarm state is
 * evaluated when data is missing" (doc_source/AlarmThatSendsEmail.md, commit 05fd32f6):
 *
 * - "If no data points in the evaluation range are missing, CloudWatch evaluates the alarm based
 *   on the most recent data points collected." / "If some data points in the evaluation range are
 *   missing, but the number of existing data points retrieved is equal to or more than the
 *   alarm's Evaluation Periods, CloudWatch evaluates the alarm state based on the most recent
 *   existing data points ... the value you set for how to treat missing data is not needed and is
 *   ignored." Here: N or more real datapoints -> the newest N real ones.
 * - None at all: "missing" -> INSUFFICIENT_DATA, "ignore" -> the current state is kept,
 *   "breaching" -> ALARM, "notBreaching" -> OK.
 * - Fewer than N: "CloudWatch fills in the missing data points with the result you specified ...
 *   However, any real data points in the evaluation range, no matter when they were reported, are
 *   included ... CloudWatch uses missing data points only as few times as possible": every real
 *   datapoint plus N - real fills. "breaching" fills are breaching, "notBreaching" fills are not.
 *   "missing" and "ignore" fills count as neither: `datapointsToAlarm` breaching real ones ->
 *   ALARM; else any non-breaching real one -> OK; else (only breaching
 *   real ones, too few): if the oldest evaluated datapoint is a real, breaching one (a real
 *   datapoint older than the last N periods is pulled in, or the first of the last N periods is
 *   real) "missing" gives ALARM (the guide's row "X - - - -": "the alarm goes to ALARM state even
 *   if missing data is treated as missing, because the oldest evaluated data point is breaching
 *   and there aren't any non-breaching data points") and "ignore" keeps the current state;
 *   otherwise "missing" gives INSUFFICIENT_DATA (row "- - - - X") and "ignore" keeps the state.
 * - "In all of these situations, the number of datapoints evaluated is equal to the value of
 *   Evaluation Periods. If fewer than the value of Datapoints to Alarm are breaching, the alarm
 *   state is set to OK. Otherwise, the state is set to ALARM."
 *
 * This reproduces all 11 rows x 4 treatments of the guide's two tables (commit 05fd32f6; the
 * older cd4004cd has the same tables without table 1's row "X - - - -"), which
 * test/rollout/drill.test.ts checks cell for cell. Each part of the "missing" rule is needed by
 * some cell: "a non-breaching real datapoint gives OK" even where breaching fills could reach
 * datapointsToAlarm (table 2 row "0 - X - -"), and the position of the oldest real datapoint
 * (table 1 rows "- - - - X" and "X - - - -" differ only in it). The range is
 * normally `evaluationRangePeriods(N)` long; a shorter one is taken as is.
 */
export function evaluateRange(
  range: readonly RangePoint[],
  rule: RangeRule,
  current: AlarmState,
): AlarmState {
  const n = rule.evaluationPeriods;
  const m = rule.datapointsToAlarm;
  let real = 0;
  let bad = 0; // breaching among the newest N real datapoints
  let good = 0; // not breaching among the newest N real datapoints
  let oldestAge = -1; // periods back from the newest slot to the oldest real datapoint
  for (let age = 0; age < range.length; age++) {
    const point = range[range.length - 1 - age];
    if (point === undefined || point === "-") continue;
    real++;
    oldestAge = age;
    if (real > n) continue;
    if (point === true || point === "X") bad++;
    else good++;
  }
  if (real >= n) return bad >= m ? "ALARM" : "OK";
  const treatment = rule.treatMissingData;
  if (real === 0) {
    if (treatment === "missing") return "INSUFFICIENT_DATA";
    if (treatment === "ignore") return current;
    return treatment === "breaching" ? "ALARM" : "OK";
  }
  const fills = n - real;
  if (treatment === "breaching") return bad + fills >= m ? "ALARM" : "OK";
  if (treatment === "notBreaching") return bad >= m ? "ALARM" : "OK";
  // "missing" and "ignore": the fills are neither breaching nor not breaching.
  if (bad >= m) return "ALARM";
  if (good > 0) return "OK";
  if (treatment === "ignore") return current;
  return oldestAge >= n - 1 ? "ALARM" : "INSUFFICIENT_DATA";
}

export interface AlarmRun {
  transitions: StateChange[];
  state: AlarmState;
  firstAlarmAt: number | null;
}

export type EvaluatedAlarm = Pick<
  AlarmSpec,
  | "key"
  | "periodSeconds"
  | "evaluationPeriods"
  | "datapointsToAlarm"
  | "treatMissingData"
  | "comparison"
  | "playbookThreshold"
>;

/**
 * The evaluation range of an alarm evaluated at t, oldest first: whether each of the
 * `evaluationRangePeriods(N)` periods ending at t, t - P, ... breaches (undefined: no datapoint;
 * periods ending at or before 0 have none).
 */
export function alarmRangeAt(
  spec: EvaluatedAlarm,
  datapointAt: DatapointAt,
  t: number,
  into: (boolean | undefined)[] = new Array<boolean | undefined>(
    evaluationRangePeriods(spec.evaluationPeriods),
  ),
): (boolean | undefined)[] {
  const size = into.length;
  for (let age = 0; age < size; age++) {
    const end = t - age * spec.periodSeconds;
    const value = end > 0 ? datapointAt(end) : undefined;
    into[size - 1 - age] = value === undefined ? undefined : breaches(spec, value);
  }
  return into;
}

/**
 * The state evaluation of one alarm over durationSeconds, from any datapoint source: evaluated
 * every `evaluationCadenceSeconds(period)` (t = cadence, 2 * cadence, ...) with `evaluateRange`
 * over the evaluation range ending at t. `datapointAt` is asked once per period end (every end is
 * a multiple of gcd(period, cadence)); each evaluation then costs O(N + 2).
 */
export function evaluateAlarm(
  spec: EvaluatedAlarm,
  datapointAt: DatapointAt,
  durationSeconds: number,
): AlarmRun {
  const period = spec.periodSeconds;
  const cadence = evaluationCadenceSeconds(period);
  const unit = gcd(period, cadence);
  // Per period end / unit: 0 not asked yet, 1 missing, 2 not breaching, 3 breaching.
  const known = new Int8Array(Math.floor(durationSeconds / unit) + 1);
  const breachAt = (end: number): boolean | undefined => {
    if (end <= 0) return undefined;
    const e = end / unit;
    let code = known[e]!;
    if (code === 0) {
      const value = datapointAt(end);
      code = value === undefined ? 1 : breaches(spec, value) ? 3 : 2;
      known[e] = code;
    }
    return code === 1 ? undefined : code === 3;
  };
  const range = new Array<boolean | undefined>(evaluationRangePeriods(spec.evaluationPeriods));
  const size = range.length;
  const transitions: StateChange[] = [];
  let state: AlarmState = "INSUFFICIENT_DATA";
  let firstAlarmAt: number | null = null;
  for (let t = cadence; t <= durationSeconds; t += cadence) {
    for (let age = 0; age < size; age++) range[size - 1 - age] = breachAt(t - age * period);
    const next = evaluateRange(range, spec, state);
    if (next !== state) {
      transitions.push({ at: t, alarm: spec.key, from: state, to: next });
      state = next;
      if (next === "ALARM" && firstAlarmAt === null) firstAlarmAt = t;
    }
  }
  return { transitions, state, firstAlarmAt };
}

/** What simulateAlarm needs of an AlarmSpec. */
export type SimulatedAlarm = EvaluatedAlarm & Pick<AlarmSpec, "metric">;

/** Run one alarm over a series for durationSeconds: its datapoints (`windowDatapoints`), then `evaluateAlarm`. */
export function simulateAlarm(
  spec: SimulatedAlarm,
  points: readonly Point[],
  durationSeconds: number,
): AlarmRun {
  const datapointAt = windowDatapoints(points, spec.periodSeconds, aggregation(spec), durationSeconds);
  return evaluateAlarm(spec, datapointAt, durationSeconds);
}

// ---------------------------------------------------------------------------------------
// Breaches of the raw series

interface Episode {
  start: number;
  /** When the value stopped breaching; Infinity if it never did. */
  end: number;
}

/**
 * Stretches where the raw value breaches. A null point (no data) ends a breach and starts none:
 * silence is not a breach of the raw value, whatever the alarm's treatMissingData makes of it.
 */
function breachEpisodes(
  points: readonly Point[],
  isBreach: (value: number) => boolean,
  silence?: number,
): Episode[] {
  const episodes: Episode[] = [];
  let open: number | undefined;
  for (const point of points) {
    // A gated alarm's silence reads as `silence` (while green serves, which the scenario's
    // greenRequests says; the raw series alone cannot, so a gap counts when silence breaches).
    const value = point.value ?? silence;
    const breach = value !== undefined && isBreach(value);
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

/**
 * The datapoints an alarm compares: the gate's own, or for an alarm gated on green carrying
 * traffic what its metric math yields (see the module comment), in playbook units.
 */
function alarmDatapoints(
  spec: AlarmSpec,
  points: readonly Point[],
  greenRequests: readonly Point[] | undefined,
  duration: number,
): DatapointAt {
  const raw = windowDatapoints(points, spec.periodSeconds, aggregation(spec), duration);
  const gate = spec.whileServing;
  if (!gate) return raw;
  const serving = greenRequests
    ? windowDatapoints(greenRequests, spec.periodSeconds, "sum", duration)
    : () => 1;
  const silence = gate.silence / spec.metricScale;
  const neutral = gate.neutral / spec.metricScale;
  // A series the scenario leaves out says nothing about the gate (ALB health is always
  // reported): neutral. To make green go silent, give the series a null point.
  if (points.length === 0) return (periodEnd) => (periodEnd <= 0 ? undefined : neutral);
  return (periodEnd) => {
    if (periodEnd <= 0) return undefined;
    return (serving(periodEnd) ?? 0) > 0 ? (raw(periodEnd) ?? silence) : neutral;
  };
}

/** Replay a (validated or programmatic) scenario through the playbook's gates. */
export function runDrill(playbook: Playbook, scenario: DrillScenario): DrillResult {
  checkScenario(scenario, playbook, `invalid drill scenario for ${playbook.id}`);
  const duration = scenario.durationSeconds;
  const series = (gateId: string): readonly Point[] => scenario.metrics[gateId] ?? [];

  // Green's alarms: blue's twins page and never roll back, and a scenario describes green.
  const specs = playbookAlarms(playbook).filter((spec) => spec.colour === "green");
  const runs = new Map(
    specs.map((spec) => [
      spec.key,
      evaluateAlarm(
        spec,
        alarmDatapoints(spec, series(spec.gateId), scenario.greenRequests, duration),
        duration,
      ),
    ]),
  );
  const rollbackKeys = new Set(autoRollbackAlarms(playbook).map((a) => a.key));
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));
  const silenceOf = (spec: AlarmSpec | undefined) =>
    spec?.whileServing ? spec.whileServing.silence / spec.metricScale : undefined;

  // Every path to the Lambda, per gate.
  const paths: RollbackPath[] = [];
  for (const spec of specs) {
    if (!rollbackKeys.has(spec.key)) continue;
    const firstAlarmAt = runs.get(spec.key)!.firstAlarmAt;
    let causeAt: number | null = null;
    if (firstAlarmAt !== null) {
      // The breach behind it: the first breach still on within the alarm's evaluation range
      // (with gaps, a real datapoint older than the last N periods can decide the state).
      const windowStart = firstAlarmAt - spec.periodSeconds * evaluationRangePeriods(spec.evaluationPeriods);
      const cause = breachEpisodes(series(spec.gateId), (v) => breaches(spec, v), silenceOf(spec)).find(
        (e) => e.end > windowStart && e.start <= firstAlarmAt,
      );
      causeAt = cause?.start ?? null;
    }
    paths.push({ gate: spec.gateId, alarm: spec.key, firedAt: firstAlarmAt, causeAt });
  }
  const findings: DrillFinding[] = [];
  for (const gate of playbook.gates) {
    const delay = eventDeliverySeconds(gate);
    if (delay === undefined || gate.critical?.action !== "auto-rollback") continue;
    const source = gate.metric.source as DrillFinding["source"];
    const isEvent = criticalBreach(gate, undefined)!;
    for (const point of series(gate.id)) {
      if (point.value !== null && isEvent(point.value))
        findings.push({
          gate: gate.id,
          source,
          at: point.at,
          publishedAt: point.at + delay,
        });
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
          id:
            automatic.find((t) => t.gates.includes(first.gate))?.id ??
            automatic.find((t) => t.backupGates.includes(first.gate))?.id ??
            null,
          gate: first.gate,
          alarm: first.alarm,
          firedAt: first.firedAt,
          breachAt: first.causeAt,
        }
      : null;

  const triggers = automatic.map((t): DrillTriggerCheck => {
    const limitSeconds = limits.get(t.id)!; // triggerLatencies covers every automatic trigger
    // Its own gates and its backup nets both roll back; whichever came first is what happened.
    const fired = earliest(paths.filter((p) => t.gates.includes(p.gate) || t.backupGates.includes(p.gate)));
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
        note: `${fired.alarm ?? `${fired.gate} (${gates.get(fired.gate)!.metric.source === "guardduty" ? "GuardDuty finding" : "security event"})`}${t.backupGates.includes(fired.gate) ? " (backup net)" : ""}: ${detectionSeconds} s ${met ? "within" : "over"} the ${limitSeconds} s limit`,
      };
    }
    // Not fired: the first breach of any of its gates, and how long it lasted.
    const episodes = [...t.gates, ...t.backupGates].flatMap((gateId) => {
      const gate = gates.get(gateId)!;
      const critical = specs.find((s) => s.gateId === gateId && s.level === "critical");
      const isBreach = criticalBreach(gate, critical);
      return isBreach ? breachEpisodes(series(gateId), isBreach, silenceOf(critical)).slice(0, 1) : [];
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
