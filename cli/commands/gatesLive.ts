import { GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import type { RolloutConfig } from "../../rollout/config";
import { alarmSpecs, type AlarmSpec } from "../../rollout/alarms";
import {
  describeCondition,
  evaluatePhaseTriggers,
  goRecordBlockers,
  latestGoInto,
  triggerGates,
  type DecisionResult,
} from "../../rollout/decisions";
import { loadEvidence } from "../../rollout/loaders";
import {
  ALB_ERROR_RATE_PARTS,
  isPerService,
  metricIdentity,
  type MetricLocation,
} from "../../rollout/metricCatalogue";
import { customMetricNamespace } from "../../rollout/names";
import { getPhase, transitionFrom } from "../../rollout/phases";
import type { StackOutputs } from "../../rollout/stackOutputs";
import { RolloutInputError } from "../../rollout/validation";
import { loadLiveConfig, readStackOutputs, type CommandContext } from "../backend";
import { deployChange } from "../deployChange";
import { recordEvent } from "../events";
import { decideTransition, decisionExit, decisionExitFields, printDecision } from "./gates";
import { emit, type Flags } from "./shared";

/**
 * `rollout gates --stack S [--evidence FILE] [--record] [--approver A]`: the GO/NO-GO decision
 * for the current phase's transition over evidence from CloudWatch (on green, since the GO into
 * the phase), a manual evidence file overriding it. Beside gates.ts so the offline command
 * loads no AWS SDK.
 *
 * Each figure is CloudWatch's own statistic over the whole window, never an average of hourly
 * values (which averages one bad hour away): a percentile (p95) over every sample of the window,
 * the error rate as 5xx and requests each summed over the window, and for every other gate the
 * worst period at the gate's alarm period (the lowest for "below" gates such as throughput, the
 * highest for "above" gauges). The worst service counts.
 */

/*
 * How CloudWatch answers a query over the evidence window (AWS API model, CloudWatch
 * GetMetricData and its MetricStat):
 * - MetricStat.Period: "a period can be as short as one minute (60 seconds) and must be a
 *   multiple of 60" for regular-resolution metrics; "If the StartTime parameter specifies a time
 *   stamp that is greater than 3 hours ago, you must specify the period as follows or no data
 *   points in that time range is returned: Start time between 3 hours and 15 days ago - Use a
 *   multiple of 60 seconds (1 minute). Start time between 15 and 63 days ago - Use a multiple of
 *   300 seconds (5 minutes). Start time greater than 63 days ago - Use a multiple of 3600 seconds
 *   (1 hour)." Its only bound is "Minimum value of 1": a period may span the whole window.
 * - GetMetricData (retention): "Data points with a period of less than 60 seconds are available
 *   for 3 hours", "60 seconds (1-minute) ... for 15 days", "300 seconds (5-minute) ... for 63
 *   days", "3600 seconds (1 hour) ... for 455 days"; data published with a shorter period "is
 *   still available, but is aggregated and retrievable only with a resolution of 5 minutes" after
 *   15 days, and of 1 hour after 63. So a 10 s or 30 s alarm period is asked at 60 s, and a
 *   window reaching back past 15 (63) days at 5-minute (1-hour) multiples.
 * - GetMetricData.StartTime: "CloudWatch rounds the specified time stamp as follows: Start time
 *   less than 15 days ago - Round down to the nearest whole minute ... between 15 and 63 days
 *   ago - Round down to the nearest 5-minute clock interval ... greater than 63 days ago - Round
 *   down to the nearest 1-hour clock interval." The start is sent rounded so, and a whole-window
 *   period counts from it.
 * - GetMetricStatistics: "CloudWatch aggregates data points based on the length of the period
 *   that you specify ... all data points with time stamps that fall within each one-hour
 *   period": one period spanning the window is CloudWatch's own statistic (a p95 of every
 *   request) over it.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/**
 * CloudWatch judges a start's age when the request arrives: a start just inside 15 (63) days
 * is treated as past it, so a slow request never asks a period CloudWatch then answers with nothing.
 */
const AGE_MARGIN_MS = 60 * MINUTE_MS;

/** The multiple of which every period must be for a query starting at `start` (seconds). */
export function periodGranularity(start: Date, now: Date): number {
  const age = now.getTime() - start.getTime() + AGE_MARGIN_MS;
  if (age > 63 * DAY_MS) return 3600;
  if (age > 15 * DAY_MS) return 300;
  return 60;
}

/** How one gate's value over the window is asked of CloudWatch, and read from its answer. */
type EvidenceMethod =
  /** A percentile (p95) of every sample in the window: one period spanning it. */
  | { kind: "window"; period: number }
  /** The ALB error rate: 5xx and requests each summed over the whole window, then divided. */
  | { kind: "pooled"; period: number }
  /**
   * The worst period at the gate's alarm period (or the shortest CloudWatch still keeps for the
   * window): the lowest for a "below" gate (throughput), the highest for an "above" one. A Sum
   * (or SampleCount) over a longer period than the alarm's is scaled back to the alarm's.
   */
  | {
      kind: "worst";
      period: number;
      alarmPeriod: number;
      pick: "lowest" | "highest";
      perAlarmPeriod: number;
    };

/** `1-min`, `5-min`, `1-hour`, `1-day`, or `N-s`. */
function periodName(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}-day`;
  if (seconds % 3600 === 0) return `${seconds / 3600}-hour`;
  if (seconds % 60 === 0) return `${seconds / 60}-min`;
  return `${seconds}-s`;
}

interface Window {
  /** The GO into the phase (or the phase's duration back from now), rounded down as CloudWatch rounds it. */
  start: Date;
  end: Date;
  since: string;
  /** Every period must be a multiple of this (60, 300 or 3600 s). */
  granularity: number;
  /** One period from `start` past `end`: the whole window. */
  wholePeriod: number;
}

type PlainMetric = Parameters<typeof metricIdentity>[0];

/** A metric CloudWatch publishes as one series (no metric math): it has a name. */
function isPlainMetric(metric: AlarmSpec["metric"]): metric is PlainMetric & AlarmSpec["metric"] {
  return "metricName" in metric;
}

/** The statistic a plain metric is asked with: its extended statistic (p95) or its statistic. */
function statOf(metric: PlainMetric): string {
  return (
    ("extendedStatistic" in metric ? metric.extendedStatistic : undefined) ?? metric.statistic ?? "Average"
  );
}

/** How the window's value of a gate is asked; undefined for metric math `gates --stack` does not query. */
function evidenceMethod(spec: AlarmSpec, window: Window): EvidenceMethod | undefined {
  if (spec.metric.kind === "alb-error-rate") return { kind: "pooled", period: window.wholePeriod };
  if (!isPlainMetric(spec.metric)) return undefined;
  const stat = statOf(spec.metric);
  if (/^p\d+(\.\d+)?$/.test(stat)) return { kind: "window", period: window.wholePeriod };
  const g = window.granularity;
  const period = Math.ceil(Math.max(spec.periodSeconds, g) / g) * g;
  return {
    kind: "worst",
    period,
    alarmPeriod: spec.periodSeconds,
    pick: spec.comparison === "LessThanThreshold" ? "lowest" : "highest",
    perAlarmPeriod: stat === "Sum" || stat === "SampleCount" ? spec.periodSeconds / period : 1,
  };
}

/** What the source line says of the figure. */
function describeMethod(method: EvidenceMethod, spec: AlarmSpec): string {
  switch (method.kind) {
    case "window":
      return `${isPlainMetric(spec.metric) ? statOf(spec.metric) : "percentile"} over the whole window`;
    case "pooled":
      return "5xx / requests, each summed over the whole window";
    case "worst": {
      const stat = isPlainMetric(spec.metric) ? statOf(spec.metric) : "value";
      const per =
        method.perAlarmPeriod === 1 ? "" : `, per ${periodName(method.alarmPeriod)} (the alarm's period)`;
      return `${method.pick} ${periodName(method.period)} ${stat}${per}`;
    }
  }
}

/** Factor from the alarm's CloudWatch unit to the playbook's (TargetResponseTime is seconds, gates say ms). */
function playbookUnitScale(spec: AlarmSpec): number {
  return 1 / spec.metricScale;
}

/** The CloudWatch queries of one gate on one service's green (or the app's): one, or two for the error rate. */
function evidenceQuery(
  spec: AlarmSpec,
  method: EvidenceMethod,
  id: string,
  config: RolloutConfig,
  outputs: StackOutputs,
  service?: string,
): MetricDataQuery[] {
  const where: MetricLocation<string> = {
    alb: {
      loadBalancer: outputs.albArnSuffix,
      targetGroup: service
        ? outputs.targetGroupArns[service]!.green.replace(/^.*:(targetgroup\/.*)$/, "$1")
        : "",
    },
    cluster: { clusterName: config.cluster.name, namespace: config.cluster.namespace },
    customNamespace: customMetricNamespace(config.stack),
  };
  const query = (metric: PlainMetric, Id = id): MetricDataQuery => {
    const m = metricIdentity(metric, where, service, "green");
    return {
      Id,
      MetricStat: {
        Metric: {
          Namespace: m.namespace,
          MetricName: m.metricName,
          Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: method.period,
        Stat: m.extendedStatistic ?? m.statistic ?? "Average",
      },
      ReturnData: true,
    };
  };
  if (method.kind === "pooled")
    return [query(ALB_ERROR_RATE_PARTS.errors, `${id}e`), query(ALB_ERROR_RATE_PARTS.requests, `${id}r`)];
  return isPlainMetric(spec.metric) ? [query(spec.metric)] : [];
}

interface Evidence {
  value: number;
  source: string;
}

/**
 * The evidence window: from the GO decision that entered the current phase (its `at`) to
 * now; without one, the phase's planned duration back from now. Its start is rounded down as
 * CloudWatch rounds it, and its whole-window period counts from there.
 */
function evidenceWindow(config: RolloutConfig, now: Date): Window {
  const entered = latestGoInto(config.decisions, config.phase);
  const fromGo = entered !== undefined && Date.parse(entered.at) < now.getTime();
  const days = getPhase(config.playbookSpec, config.phase).durationDays;
  const from = fromGo ? new Date(entered.at) : new Date(now.getTime() - days * DAY_MS);
  const granularity = periodGranularity(from, now);
  const start = new Date(Math.floor(from.getTime() / (granularity * 1000)) * granularity * 1000);
  const span = Math.max(1, Math.ceil((now.getTime() - start.getTime()) / 1000 / granularity));
  return {
    start,
    end: now,
    since: fromGo
      ? `since the GO into ${config.phase} at ${entered.at}`
      : `over the last ${days} days (phase ${config.phase}'s duration; no GO into it recorded)`,
    granularity,
    wholePeriod: span * granularity,
  };
}

/** Every page of one GetMetricData request, values merged per query id. */
async function metricData(
  ctx: CommandContext,
  queries: MetricDataQuery[],
  start: Date,
  end: Date,
): Promise<Map<string, number[]>> {
  const values = new Map<string, number[]>();
  let token: string | undefined;
  do {
    const page = await ctx.aws.cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: start,
        EndTime: end,
        NextToken: token,
      }),
    );
    for (const r of page.MetricDataResults ?? [])
      values.set(r.Id!, [...(values.get(r.Id!) ?? []), ...(r.Values ?? [])]);
    token = page.NextToken;
  } while (token);
  return values;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** One service's figure from CloudWatch's answer, or undefined without data. */
function figure(
  method: EvidenceMethod,
  spec: AlarmSpec,
  id: string,
  byId: Map<string, number[]>,
): number | undefined {
  if (method.kind === "pooled") {
    // Summed before dividing: a quiet hour with one error weighs as little as it is.
    const requests = sum(byId.get(`${id}r`) ?? []);
    return requests > 0 ? (100 * sum(byId.get(`${id}e`) ?? [])) / requests : undefined;
  }
  const values = byId.get(id) ?? [];
  if (values.length === 0) return undefined;
  // A whole-window query answers one value; should CloudWatch split it, the worse one counts.
  const lowest = method.kind === "worst" ? method.pick === "lowest" : spec.comparison === "LessThanThreshold";
  const worst = lowest ? Math.min(...values) : Math.max(...values);
  return method.kind === "worst" ? worst * method.perAlarmPeriod : worst;
}

/** Evidence for these ids (criteria, trigger gates) that CloudWatch can give: the worst service's value over the window. */
async function cloudWatchEvidence(
  ctx: CommandContext,
  config: RolloutConfig,
  criteria: string[],
  outputs: StackOutputs,
): Promise<Record<string, Evidence>> {
  const window = evidenceWindow(config, ctx.now());
  const services = config.services.map((s) => s.name);
  const wanted: { criterion: string; spec: AlarmSpec; method: EvidenceMethod; queryIds: string[] }[] = [];
  const queries: MetricDataQuery[] = [];
  criteria.forEach((criterion, i) => {
    const gate = config.playbookSpec.gates.find((g) => g.id === criterion);
    const spec = gate ? alarmSpecs(gate)[0] : undefined;
    const method = spec ? evidenceMethod(spec, window) : undefined;
    if (!gate || !spec || !method) return;
    const ids = (isPerService(spec) ? services : [undefined]).map((service, j) => {
      const id = `q${i}_${j}`;
      queries.push(...evidenceQuery(spec, method, id, config, outputs, service));
      return id;
    });
    wanted.push({ criterion, spec, method, queryIds: ids });
  });
  if (queries.length === 0) return {};
  const byId = await metricData(ctx, queries, window.start, window.end);
  const evidence: Record<string, Evidence> = {};
  for (const w of wanted) {
    const perService = w.queryIds.flatMap((id) => {
      const value = figure(w.method, w.spec, id, byId);
      return value === undefined ? [] : [value];
    });
    if (perService.length === 0) continue;
    const worst =
      w.spec.comparison === "GreaterThanThreshold" ? Math.max(...perService) : Math.min(...perService);
    evidence[w.criterion] = {
      value: Math.round(worst * playbookUnitScale(w.spec) * 1000) / 1000,
      source: `CloudWatch on green ${window.since}: ${describeMethod(w.method, w.spec)}`,
    };
  }
  return evidence;
}

export async function gatesLiveCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  // The local file first: a typo in its path never reaches Pulumi or AWS.
  const manual = typeof flags.evidence === "string" ? loadEvidence(flags.evidence).metrics : {};
  const config = await loadLiveConfig(ctx.backend);
  const transition = transitionFrom(config.playbookSpec, config.phase);
  if (!transition)
    throw new RolloutInputError(
      `--stack: phase ${config.phase} of ${config.stack} has no GO/NO-GO transition`,
    );
  const outputs = await readStackOutputs(ctx.backend);
  // Criteria first, then the triggers' other gates: query ids follow this order.
  const wanted = [
    ...new Set([...transition.criteria.map((c) => c.id), ...triggerGates(config.playbookSpec, config.phase)]),
  ];
  const measured = await cloudWatchEvidence(ctx, config, wanted, outputs);
  const merged: Record<string, Evidence> = { ...measured };
  for (const [id, value] of Object.entries(manual))
    merged[id] = { value, source: `evidence file ${String(flags.evidence)}` };
  const values = Object.fromEntries(Object.entries(merged).map(([id, e]) => [id, e.value]));
  const result: DecisionResult = decideTransition(config.playbookSpec, config.phase, values);
  const triggers = evaluatePhaseTriggers(config.playbookSpec, config.phase, values);
  const recordRefused = flags.record
    ? goRecordBlockers(result, triggers).map(
        (t) =>
          `rollback trigger of ${config.phase} breached: ${t.description} (${t.gate} = ${t.observed}, breaches when ${describeCondition(t)})`,
      )
    : [];
  const record = Boolean(flags.record) && recordRefused.length === 0;
  const evidenceLines = result.results.map(
    (r) =>
      `${r.id} = ${r.value ?? "missing"} (required ${r.op} ${r.threshold}): ${r.pass ? "pass" : "FAIL"}${merged[r.id] ? ` [${merged[r.id]!.source}]` : ""}`,
  );
  if (record) {
    const n = config.decisions.length;
    const entry: Record<string, string> = {
      [`decisions[${n}].from`]: result.from,
      [`decisions[${n}].to`]: result.to,
      [`decisions[${n}].decision`]: result.decision,
      [`decisions[${n}].at`]: ctx.now().toISOString(),
      [`decisions[${n}].by`]:
        typeof flags.approver === "string" ? flags.approver : (process.env.USER ?? "operator"),
    };
    evidenceLines.forEach((line, i) => (entry[`decisions[${n}].evidence[${i}]`] = line));
    await deployChange(ctx, { set: entry, path: true });
    const by = entry[`decisions[${n}].by`]!;
    await recordEvent(ctx, {
      kind: "decision",
      summary: `${result.decision} recorded for ${result.from} -> ${result.to} on ${config.stack} by ${by} (${result.passed} of ${result.total} criteria passed, ${result.required} required)`,
      details: {
        from: result.from,
        to: result.to,
        decision: result.decision,
        by,
        passed: result.passed,
        required: result.required,
      },
    });
  }
  emit(
    ctx,
    flags,
    {
      stack: config.stack,
      ...result,
      sources: Object.fromEntries(Object.entries(merged).map(([k, e]) => [k, e.source])),
      recorded: record,
      rollbackTriggers: triggers,
      ...(recordRefused.length > 0 && { recordRefused }),
      ...decisionExitFields(result, triggers),
    },
    () => {
      printDecision(result, triggers, ctx.out, config.stack);
      for (const [id, e] of Object.entries(merged)) ctx.out.log(`  ${id}: ${e.source}`);
      if (record)
        ctx.out.log(`recorded in rollout:decisions (${result.from} -> ${result.to} ${result.decision})`);
      if (recordRefused.length > 0) {
        ctx.out.log("gates --record refused: the GO is not recorded");
        for (const r of recordRefused) ctx.out.log(`  - ${r}`);
      }
    },
  );
  return decisionExit(result, triggers);
}
