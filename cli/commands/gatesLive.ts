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
import { decideTransition, decisionExit, printDecision } from "./gates";
import { emit, type Flags } from "./shared";

/**
 * `rollout gates --stack S [--evidence FILE] [--record] [--approver A]`: the GO/NO-GO decision
 * for the current phase's transition over evidence from CloudWatch (on green, since the GO into
 * the phase), a manual evidence file overriding it. Beside gates.ts so the offline command
 * loads no AWS SDK.
 */

const EVIDENCE_PERIOD_SECONDS = 3600;

/** Factor from the alarm's CloudWatch unit to the playbook's (TargetResponseTime is seconds, gates say ms). */
function playbookUnitScale(spec: AlarmSpec): number {
  return 1 / spec.metricScale;
}

/** One CloudWatch query per alarm metric: the gate's value on green over the window. */
function evidenceQuery(
  spec: AlarmSpec,
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
  const query = (metric: Parameters<typeof metricIdentity>[0], Id = id): MetricDataQuery => {
    const m = metricIdentity(metric, where, service, "green");
    return {
      Id,
      MetricStat: {
        Metric: {
          Namespace: m.namespace,
          MetricName: m.metricName,
          Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: EVIDENCE_PERIOD_SECONDS,
        Stat: m.extendedStatistic ?? m.statistic ?? "Average",
      },
      ReturnData: true,
    };
  };
  // Both sums come back for an error rate: the rate is total 5xx / total requests over the
  // window, not an average of hourly rates (a quiet hour with one error would weigh as much
  // as a busy one).
  return spec.metric.kind === "alb-error-rate"
    ? [query(ALB_ERROR_RATE_PARTS.errors, `${id}e`), query(ALB_ERROR_RATE_PARTS.requests, `${id}r`)]
    : [query(spec.metric)];
}

interface Evidence {
  value: number;
  source: string;
}

/**
 * The evidence window: from the GO decision that entered the current phase (its `at`) to
 * now; without one, the phase's planned duration back from now.
 */
function evidenceWindow(config: RolloutConfig, now: Date): { start: Date; end: Date; since: string } {
  const entered = latestGoInto(config.decisions, config.phase);
  if (entered && Date.parse(entered.at) < now.getTime())
    return {
      start: new Date(entered.at),
      end: now,
      since: `since the GO into ${config.phase} at ${entered.at}`,
    };
  const days = getPhase(config.playbookSpec, config.phase).durationDays;
  return {
    start: new Date(now.getTime() - days * 86400_000),
    end: now,
    since: `over the last ${days} days (phase ${config.phase}'s duration; no GO into it recorded)`,
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

/** Evidence for these ids (criteria, trigger gates) that CloudWatch can give: the worst service's value over the window. */
async function cloudWatchEvidence(
  ctx: CommandContext,
  config: RolloutConfig,
  criteria: string[],
  outputs: StackOutputs,
): Promise<Record<string, Evidence>> {
  const { start, end, since } = evidenceWindow(config, ctx.now());
  const services = config.services.map((s) => s.name);
  const wanted: { criterion: string; spec: AlarmSpec; queryIds: string[] }[] = [];
  const queries: MetricDataQuery[] = [];
  criteria.forEach((criterion, i) => {
    const gate = config.playbookSpec.gates.find((g) => g.id === criterion);
    const spec = gate ? alarmSpecs(gate)[0] : undefined;
    if (!gate || !spec) return;
    const ids = (isPerService(spec) ? services : [undefined]).map((service, j) => {
      const id = `q${i}_${j}`;
      queries.push(...evidenceQuery(spec, id, config, outputs, service));
      return id;
    });
    wanted.push({ criterion, spec, queryIds: ids });
  });
  if (queries.length === 0) return {};
  const byId = await metricData(ctx, queries, start, end);
  const evidence: Record<string, Evidence> = {};
  for (const w of wanted) {
    const perService = w.queryIds.flatMap((id): number[] => {
      if (w.spec.metric.kind === "alb-error-rate") {
        const requests = sum(byId.get(`${id}r`) ?? []);
        return requests > 0 ? [(100 * sum(byId.get(`${id}e`) ?? [])) / requests] : [];
      }
      const v = byId.get(id) ?? [];
      return v.length > 0 ? [sum(v) / v.length] : [];
    });
    if (perService.length === 0) continue;
    const worst =
      w.spec.comparison === "GreaterThanThreshold" ? Math.max(...perService) : Math.min(...perService);
    evidence[w.criterion] = {
      value: Math.round(worst * playbookUnitScale(w.spec) * 1000) / 1000,
      source: `CloudWatch on green ${since}`,
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
