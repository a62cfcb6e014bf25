import { GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { DeleteParameterCommand as DeleteParameterCommand } from "@aws-sdk/client-ssm";
import type { RolloutConfig } from "../../rollout/config";
import {
  ALB_ERROR_RATE_PARTS,
  alarmSpecs,
  customMetricNamespace,
  isPerService,
  metricIdentity,
  type AlarmSpec,
  type DecisionResult,
  type MetricLocation,
} from "../../rollout/gates";
import { loadEvidence } from "../../rollout/evidence";
import { loadPlaybook, type Playbook } from "../../rollout/playbook";
import { loadStackFile } from "../../rollout/stackFile";
import {
  getPhase,
  latestDecision,
  latestGoInto,
  nextPhase,
  transitionFrom,
  trafficCap,
} from "../../rollout/phases";
import { missingSignoffs, requiredRoles, roleChecklist } from "../../rollout/signoff";
import { isUnreadableLatch, latchParameterName } from "../../rollout/state";
import { planTraffic } from "../../rollout/traffic";
import { RolloutInputError } from "../../rollout/validation";
import { EXIT, formatSeconds, requireFlag, table } from "../output";
import {
  alarmStates,
  describeAlarm,
  firingAlarms,
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readLatch,
  rollbackAlarms,
  runUp,
  stackAlarms,
  type AlarmState,
  type CommandContext,
  type StackAlarms,
  type LiveTraffic,
} from "../backend";
import { describeCondition, evaluatePhaseTriggers, triggerGates } from "../../rollout/triggers";
import { decideTransition, decisionExit, printDecision } from "./gates";

/**
 * The live operator commands. Each takes its flags and a CommandContext (Automation API
 * backend, AWS clients, output, clock), so every path is tested with fakes.
 */

type Flags = Record<string, unknown>;

function emit(ctx: CommandContext, flags: Flags, json: unknown, human: () => void): void {
  if (flags.json) ctx.out.log(JSON.stringify(json, null, 2));
  else human();
}

/** A refusal: what is missing and the command that supplies it. Exit 1. */
function refuse(ctx: CommandContext, flags: Flags, command: string, reasons: string[]): number {
  emit(ctx, flags, { command, refused: true, reasons }, () => {
    ctx.out.log(`${command} refused:`);
    for (const r of reasons) ctx.out.log(`  - ${r}`);
  });
  return EXIT.refused;
}

function trafficTable(ctx: CommandContext, traffic: LiveTraffic[]): void {
  const rows = traffic.map((t) => [t.service, `${t.blue} %`, `${t.green} %`, t.cohortRulesToGreen]);
  for (const line of table(["service", "blue", "green", "cohort rules -> green"], rows))
    ctx.out.log(`  ${line}`);
}

// ---------------------------------------------------------------------------------------- status

/** `{ALARM: 1, OK: 20, INSUFFICIENT_DATA: 3}`, in that order. */
function stateCounts(alarms: AlarmState[]): Record<string, number> {
  const counts: Record<string, number> = { ALARM: 0, OK: 0, INSUFFICIENT_DATA: 0 };
  for (const a of alarms) counts[a.state] = (counts[a.state] ?? 0) + 1;
  return counts;
}

export async function statusCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  const outputs = await ctx.backend.outputs();
  const [traffic, alarms, latch] = await Promise.all([
    readAlbTraffic(ctx.aws, outputs),
    alarmStates(ctx.aws, config, stackAlarms(config)),
    readLatch(ctx.aws, config.stack),
  ]);
  const firing = alarms.filter((a) => a.state === "ALARM").map((a) => a.name);
  const next = nextPhase(config.playbookSpec, config.phase);
  const status = {
    stack: config.stack,
    playbook: config.playbookSpec.id,
    tier: config.tier,
    phase: config.phase,
    nextPhase: next?.id ?? null,
    greenWeight: config.greenWeight,
    rollback: config.rollback,
    traffic,
    alarmsInAlarm: firing,
    alarmStates: stateCounts(alarms),
    latch: latch ?? null,
    decisions: config.decisions.slice(-3),
    signoffs: {
      phase: config.signoffs[config.phase] ?? {},
      next: next ? (config.signoffs[next.id] ?? {}) : {},
    },
    outputs,
  };
  emit(ctx, flags, status, () => {
    ctx.out.log(
      `stack ${config.stack} (${config.tier}) - playbook ${config.playbookSpec.id} - phase ${config.phase}${next ? ` (next: ${next.id})` : ""}`,
    );
    ctx.out.log(
      `config: greenWeight ${config.greenWeight} % (cap ${trafficCap(config.playbookSpec, config.phase)} %), rollback ${config.rollback}`,
    );
    ctx.out.log("traffic, read from the ALB:");
    trafficTable(ctx, traffic);
    ctx.out.log(
      `alarms: ${Object.entries(status.alarmStates)
        .map(([state, n]) => `${n} ${state}`)
        .join(", ")}`,
    );
    if (firing.length > 0) ctx.out.log(`alarms in ALARM: ${firing.join(", ")}`);
    ctx.out.log(latch ? `latch: SET by ${latch.alarm} at ${latch.at} (${latch.reason})` : "latch: clear");
    for (const d of status.decisions)
      ctx.out.log(`decision: ${d.from} -> ${d.to} ${d.decision} by ${d.by} at ${d.at}`);
    for (const phase of [config.phase, ...(next ? [next.id] : [])]) {
      const approvals = config.signoffs[phase] ?? {};
      const required = requiredRoles(config.playbookSpec, phase);
      const parts = required.map((role) =>
        approvals[role]
          ? `${role} by ${approvals[role].approver} at ${approvals[role].at}`
          : `${role} MISSING`,
      );
      ctx.out.log(`sign-offs for ${phase}: ${parts.length === 0 ? "none required" : parts.join("; ")}`);
    }
    ctx.out.log(`ALB: ${String(outputs.albDnsName ?? "-")}`);
  });
  return EXIT.ok;
}

// ------------------------------------------------------------------------------------- gates live

/** Hourly datapoints: a phase lasts days to weeks, and 1-hour data is kept for 455 days. */
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
  outputs: Record<string, unknown>,
  service?: string,
): MetricDataQuery[] {
  const groups = (outputs.targetGroupArns ?? {}) as Record<string, { green: string }>;
  const where: MetricLocation<string> = {
    alb: {
      loadBalancer: String(outputs.albArnSuffix ?? ""),
      targetGroup: service ? groups[service]!.green.replace(/^.*:(targetgroup\/.*)$/, "$1") : "",
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
export function evidenceWindow(config: RolloutConfig, now: Date): { start: Date; end: Date; since: string } {
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
  outputs: Record<string, unknown>,
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
  const outputs = await ctx.backend.outputs();
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
  const breached = triggers.filter((t) => t.status === "breached");
  // A NO-GO may be recorded whatever the triggers say; a GO must not be while one is breached.
  const recordRefused =
    flags.record && result.decision === "GO"
      ? breached.map(
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
    await ctx.backend.setConfig(entry, { path: true });
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

// ---------------------------------------------------------------------------------------- advance

async function unhealthyReasons(
  ctx: CommandContext,
  config: RolloutConfig,
  alarms: StackAlarms,
): Promise<string[]> {
  const [firing, latch] = await Promise.all([
    firingAlarms(ctx.aws, config, alarms),
    readLatch(ctx.aws, config.stack),
  ]);
  const reasons: string[] = [];
  if (firing.length > 0)
    reasons.push(
      `alarms in ALARM: ${firing.map((n) => describeAlarm(n, alarms)).join(", ")} (see \`npm run rollout -- status --stack ${config.stack}\`)`,
    );
  if (latch)
    reasons.push(
      `automatic rollback latch set by ${latch.alarm} at ${latch.at}: fix green, then \`npm run rollout -- resume --stack ${config.stack}\``,
    );
  return reasons;
}

function rollbackSetReason(config: RolloutConfig): string {
  return `rollout:rollback is true: once green is fixed, \`npm run rollout -- rollback --clear --stack ${config.stack}\``;
}

/** Traffic on the ALB equals the plan for the config (what `up` should have produced). */
async function verifyTraffic(
  ctx: CommandContext,
  config: RolloutConfig,
  change: { phase?: string; greenWeight?: number; rollback?: boolean },
  outputs: Record<string, unknown>,
): Promise<string[]> {
  const expected = planTraffic({
    playbook: config.playbookSpec,
    phase: change.phase ?? config.phase,
    greenWeight: change.greenWeight ?? config.greenWeight,
    cohorts: config.cohorts,
    rollback: change.rollback ?? config.rollback,
    services: config.services,
  });
  const live = await readAlbTraffic(ctx.aws, outputs);
  return expected.flatMap((e) => {
    const l = live.find((x) => x.service === e.service);
    if (!l) return [`${e.service}: not found on the listener`];
    const problems: string[] = [];
    if (l.green !== e.green)
      problems.push(`${e.service}: ALB sends ${l.green} % to green, expected ${e.green} %`);
    if (l.cohortRulesToGreen !== e.cohortRoutes.length)
      problems.push(
        `${e.service}: ${l.cohortRulesToGreen} cohort rules to green, expected ${e.cohortRoutes.length}`,
      );
    return problems;
  });
}

const elapsedSeconds = (ctx: CommandContext, start: Date) => (ctx.now().getTime() - start.getTime()) / 1000;

/**
 * `pulumi up` failed: put back the config values the command had changed (when `restore` is
 * given), say what the ALB serves now, and fail with one line. Exit 1.
 */
async function upFailed(
  ctx: CommandContext,
  flags: Flags,
  command: string,
  start: Date,
  error: Error,
  restore: { entries: Record<string, string>; what: string } | { kept: string },
): Promise<number> {
  const say = progress(ctx, start, Boolean(flags.json));
  let config: string;
  if ("entries" in restore) {
    try {
      await ctx.backend.setConfig(restore.entries);
      config = `restored ${restore.what}`;
    } catch (restoreError) {
      config = `could NOT restore ${restore.what}: ${(restoreError as Error).message}`;
    }
  } else config = restore.kept;
  let traffic: LiveTraffic[] | null = null;
  try {
    traffic = await readAlbTraffic(ctx.aws, await ctx.backend.outputs());
  } catch {
    // The failure is already being reported; an unreadable ALB is said below.
  }
  const seconds = elapsedSeconds(ctx, start);
  emit(ctx, flags, { command, failed: true, error: error.message, config, traffic, seconds }, () => {
    say(`${command} FAILED after ${formatSeconds(seconds)}: ${error.message}`);
    say(`config: ${config}`);
    if (traffic) {
      say("the ALB serves now:");
      trafficTable(ctx, traffic);
    } else say("the ALB could not be read: check `npm run rollout -- status` before retrying");
  });
  ctx.out.error(`error: ${command}: ${error.message}`);
  return EXIT.refused;
}

export async function advanceCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  const next = nextPhase(config.playbookSpec, config.phase);
  if (!next)
    return refuse(ctx, flags, "advance", [`${config.phase} is the last phase of ${config.playbookSpec.id}`]);
  const reasons: string[] = [];
  const transition = transitionFrom(config.playbookSpec, config.phase);
  if (transition && latestDecision(config.decisions, config.phase, next.id)?.decision !== "GO") {
    reasons.push(
      `no GO decision recorded for ${config.phase} -> ${next.id}: \`npm run rollout -- gates --stack ${config.stack} --evidence FILE --record\``,
    );
  }
  if (config.isProduction) {
    for (const role of missingSignoffs(config.playbookSpec, next.id, config.signoffs)) {
      reasons.push(
        `sign-off missing for ${next.id}: ${role} (\`npm run rollout -- signoff approve --stack ${config.stack} --role ${role} --approver NAME\`)`,
      );
    }
  }
  if (config.rollback) reasons.push(rollbackSetReason(config));
  reasons.push(...(await unhealthyReasons(ctx, config, stackAlarms(config))));
  if (reasons.length > 0) return refuse(ctx, flags, "advance", reasons);

  const say = progress(ctx, start, Boolean(flags.json));
  say(`advancing ${config.stack}: ${config.phase} -> ${next.id}`);
  await ctx.backend.setConfig({ phase: next.id });
  let outputs: Record<string, unknown>;
  try {
    outputs = await runUp(ctx, start, `phase ${next.id}`, Boolean(flags.json));
  } catch (error) {
    return upFailed(ctx, flags, "advance", start, error as Error, {
      entries: { phase: config.phase },
      what: `rollout:phase to ${config.phase}`,
    });
  }
  const problems = await verifyTraffic(ctx, config, { phase: next.id }, outputs);
  const seconds = elapsedSeconds(ctx, start);
  emit(
    ctx,
    flags,
    {
      command: "advance",
      from: config.phase,
      to: next.id,
      verified: problems.length === 0,
      problems,
      seconds,
    },
    () => {
      for (const p of problems) say(`post-deploy check FAILED: ${p}`);
      say(
        problems.length === 0
          ? `now in ${next.id}; traffic verified on the ALB (${formatSeconds(seconds)})`
          : `advanced, but the ALB does not match the plan`,
      );
    },
  );
  return problems.length === 0 ? EXIT.ok : EXIT.refused;
}

// ------------------------------------------------------------------------------------------ shift

function parseInteger(flag: string, value: unknown, min: number, max: number): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RolloutInputError(
      `--${flag}: expected an integer ${min}-${max}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`,
    );
  }
  return n;
}

/** `300`, `30s`, `5m`, `1h` -> seconds. */
export function parseInterval(value: unknown): number {
  if (value === undefined) return 300;
  const match = typeof value === "string" ? /^(\d+)(s|m|h)?$/.exec(value) : null;
  if (!match)
    throw new RolloutInputError(
      `--interval: expected seconds or a duration such as 30s, 5m, 1h, got ${JSON.stringify(value)}`,
    );
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? "s") as "s" | "m" | "h"];
}

/** The weights a shift passes through: from (exclusive) to `to` (inclusive) in steps of `step`. */
export function shiftSteps(from: number, to: number, step: number): number[] {
  const steps: number[] = [];
  const direction = Math.sign(to - from);
  for (let w = from + direction * step; direction * (to - w) > 0; w += direction * step) steps.push(w);
  if (from !== to) steps.push(to);
  return steps;
}

/** How often `shift` reads alarm states while it waits between steps: CloudWatch evaluates once a minute. */
const ALARM_POLL_SECONDS = 60;

/**
 * Watch the stack's alarms for `seconds` (at least one read): the rollback alarms firing (the
 * composite, or a gate whose action is auto-rollback), as soon as one does. Every other
 * firing alarm (a warning, or a critical one the playbook only alerts on or reviews) is said
 * once and added to `warnings`: the shift goes on, as the playbook says.
 */
async function watchAlarms(
  ctx: CommandContext,
  config: RolloutConfig,
  alarms: StackAlarms,
  seconds: number,
  say: (line: string) => void,
  warnings: Set<string>,
): Promise<string[]> {
  let waited = 0;
  for (;;) {
    const firing = await firingAlarms(ctx.aws, config, alarms);
    const rollback = rollbackAlarms(firing, alarms);
    if (rollback.length > 0) return rollback;
    for (const w of firing.filter((n) => !warnings.has(n))) {
      warnings.add(w);
      say(`alarm in ALARM: ${describeAlarm(w, alarms)}: not a rollback trigger; the shift goes on`);
    }
    if (waited >= seconds) return [];
    const wait = Math.min(ALARM_POLL_SECONDS, seconds - waited);
    await ctx.sleep(wait * 1000);
    waited += wait;
  }
}

/** The green weight the ALB serves now: the lowest service's going up, the highest going down. */
function servedGreen(traffic: LiveTraffic[], to: number, configured: number): number {
  const weights = traffic.map((t) => t.green);
  if (weights.length === 0) return configured;
  return Math.max(...weights) > to ? Math.max(...weights) : Math.min(...weights);
}

export async function shiftCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const start = ctx.now();
  const to = parseInteger("to", flags.to, 0, 100);
  const stepFlag = flags.step === undefined ? undefined : parseInteger("step", flags.step, 1, 100);
  const interval = parseInterval(flags.interval);
  const config = await loadLiveConfig(ctx.backend);
  const cap = trafficCap(config.playbookSpec, config.phase);
  const reasons: string[] = [];
  if (to > cap)
    reasons.push(`${to} % is above phase ${config.phase}'s cap of ${cap} % (advance to a later phase first)`);
  if (config.rollback) reasons.push(rollbackSetReason(config));
  const alarms = stackAlarms(config);
  reasons.push(...(await unhealthyReasons(ctx, config, alarms)));
  if (reasons.length > 0) return refuse(ctx, flags, "shift", reasons);

  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  // Steps start from what the ALB serves, not the config: after an automatic rollback the
  // Lambda has put green at 0 % while rollout:greenWeight still says otherwise.
  const from = servedGreen(
    await readAlbTraffic(ctx.aws, await ctx.backend.outputs()),
    to,
    config.greenWeight,
  );
  if (from !== config.greenWeight)
    say(
      `the ALB serves ${from} % to green; rollout:greenWeight says ${config.greenWeight} %: shifting from ${from} %`,
    );
  const steps = shiftSteps(from, to, stepFlag ?? Math.max(1, Math.abs(to - from)));
  // The ALB already serves N but the config says otherwise: one step writes N, or the next
  // `up` would move traffic back to the config's value.
  if (steps.length === 0 && config.greenWeight !== to) steps.push(to);
  const applied: number[] = [];
  const warnings = new Set<string>();
  if (steps.length === 0) say(`green is already at ${to} % on the ALB`);
  for (const [i, weight] of steps.entries()) {
    say(`step ${i + 1}/${steps.length}: greenWeight ${weight} %`);
    await ctx.backend.setConfig({ greenWeight: String(weight) });
    let outputs: Record<string, unknown>;
    try {
      outputs = await runUp(ctx, start, `greenWeight ${weight}`, json);
    } catch (error) {
      const previous = applied.at(-1) ?? config.greenWeight;
      return upFailed(ctx, flags, "shift", start, error as Error, {
        entries: { greenWeight: String(previous) },
        what: `rollout:greenWeight to ${previous} %`,
      });
    }
    const problems = await verifyTraffic(ctx, config, { greenWeight: weight }, outputs);
    if (problems.length > 0) {
      for (const p of problems) say(`traffic check FAILED: ${p}`);
      emit(ctx, flags, { command: "shift", completed: false, applied, problems }, () =>
        say(`shift stopped at step ${i + 1}: the ALB does not serve ${weight} % to green`),
      );
      return EXIT.refused;
    }
    applied.push(weight);
    const last = i === steps.length - 1;
    if (!last) say(`watching alarms for ${formatSeconds(interval)} before the next step`);
    const rollback = await watchAlarms(ctx, config, alarms, last ? 0 : interval, say, warnings);
    if (rollback.length > 0) return shiftRollback(ctx, flags, config, start, applied, rollback);
  }
  const seconds = elapsedSeconds(ctx, start);
  emit(
    ctx,
    flags,
    { command: "shift", completed: true, from, applied, to, warnings: [...warnings], seconds },
    () => say(`green at ${to} %, verified on the ALB (${formatSeconds(seconds)})`),
  );
  return EXIT.ok;
}

/** A rollback alarm fired mid-shift: roll back, confirm every service is blue, report time-to-blue. */
async function shiftRollback(
  ctx: CommandContext,
  flags: Flags,
  config: RolloutConfig,
  start: Date,
  applied: number[],
  critical: string[],
): Promise<number> {
  const say = progress(ctx, start, Boolean(flags.json));
  const detected = ctx.now();
  say(`rollback alarm during the shift: ${critical.join(", ")}; rolling back`);
  await ctx.backend.setConfig({ rollback: "true" });
  let problems: string[];
  try {
    problems = await blueProblems(
      ctx,
      await runUp(ctx, start, "rollback after a rollback alarm", Boolean(flags.json)),
    );
  } catch (error) {
    return upFailed(ctx, flags, "shift", start, error as Error, {
      kept: "rollout:rollback stays true (the auto-rollback Lambda also moves the ALB to blue)",
    });
  }
  const timeToBlue = elapsedSeconds(ctx, detected);
  emit(
    ctx,
    flags,
    {
      command: "shift",
      completed: false,
      applied,
      rolledBack: true,
      alarms: critical,
      verifiedBlue: problems.length === 0,
      problems,
      timeToBlueSeconds: timeToBlue,
    },
    () => {
      for (const p of problems) say(`NOT on blue: ${p}`);
      say(
        problems.length === 0
          ? `shift aborted; every service is 100 % blue (verified on the ALB) ${formatSeconds(timeToBlue)} after the alarm was seen`
          : "shift aborted, but the ALB is NOT all blue",
      );
    },
  );
  return EXIT.refused;
}

// --------------------------------------------------------------------------------- rollback/resume

/** Every service 100 % blue on the ALB and nothing forwarding to green. */
async function blueProblems(ctx: CommandContext, outputs: Record<string, unknown>): Promise<string[]> {
  const live = await readAlbTraffic(ctx.aws, outputs);
  return live.flatMap((t) => [
    ...(t.green > 0 ? [`${t.service}: ${t.green} % of general traffic still on green`] : []),
    ...(t.cohortRulesToGreen > 0
      ? [`${t.service}: ${t.cohortRulesToGreen} cohort rules still forward to green`]
      : []),
  ]);
}

export async function rollbackCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  if (flags.clear) return clearRollback(flags, ctx);
  const reason = requireFlag(
    flags,
    "reason",
    "why you are rolling back (printed, and the JSON's reason field)",
  );
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  const say = progress(ctx, start, Boolean(flags.json));
  say(`rolling back ${config.stack}: ${reason}`);
  await ctx.backend.setConfig({ rollback: "true" });
  let outputs: Record<string, unknown>;
  try {
    outputs = await runUp(ctx, start, "rollback", Boolean(flags.json));
  } catch (error) {
    return upFailed(ctx, flags, "rollback", start, error as Error, {
      kept: "rollout:rollback stays true; retry, or move the listener rules to blue in the console",
    });
  }
  const problems = await blueProblems(ctx, outputs);
  const seconds = elapsedSeconds(ctx, start);
  const limit = config.playbookSpec.rollback.limitSeconds;
  emit(
    ctx,
    flags,
    {
      command: "rollback",
      reason,
      verified: problems.length === 0,
      problems,
      timeToBlueSeconds: seconds,
      limitSeconds: limit,
      withinLimit: seconds <= limit,
    },
    () => {
      for (const p of problems) say(`NOT on blue: ${p}`);
      if (problems.length === 0)
        say(
          `every service is 100 % blue (verified on the ALB): ${formatSeconds(seconds)} against the playbook's ${formatSeconds(limit)} limit${seconds <= limit ? "" : " - OVER the limit"}`,
        );
    },
  );
  return problems.length === 0 ? EXIT.ok : EXIT.refused;
}

/**
 * `rollback --clear`: green is fixed; set `rollout:rollback` false, `up` (with refresh) and
 * verify the ALB serves the config's plan again. Refused while alarms fire or the latch is set.
 */
async function clearRollback(flags: Flags, ctx: CommandContext): Promise<number> {
  if (flags.reason !== undefined)
    throw new RolloutInputError(
      `--clear: takes no --reason (got ${JSON.stringify(flags.reason)}); it ends a rollback`,
    );
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  if (!config.rollback) {
    emit(ctx, flags, { command: "rollback", cleared: false, rollback: false }, () =>
      ctx.out.log(`rollout:rollback is already false on ${config.stack}: nothing to clear`),
    );
    return EXIT.ok;
  }
  const reasons = await unhealthyReasons(ctx, config, stackAlarms(config));
  if (reasons.length > 0) return refuse(ctx, flags, "rollback --clear", reasons);
  const say = progress(ctx, start, Boolean(flags.json));
  say(
    `clearing rollout:rollback on ${config.stack}: back to ${config.phase} at greenWeight ${config.greenWeight} %`,
  );
  await ctx.backend.setConfig({ rollback: "false" });
  let outputs: Record<string, unknown>;
  try {
    outputs = await runUp(ctx, start, "rollback cleared", Boolean(flags.json));
  } catch (error) {
    return upFailed(ctx, flags, "rollback --clear", start, error as Error, {
      entries: { rollback: "true" },
      what: "rollout:rollback to true",
    });
  }
  const problems = await verifyTraffic(ctx, config, { rollback: false }, outputs);
  const seconds = elapsedSeconds(ctx, start);
  emit(
    ctx,
    flags,
    { command: "rollback", cleared: true, verified: problems.length === 0, problems, seconds },
    () => {
      for (const p of problems) say(`traffic check FAILED: ${p}`);
      if (problems.length === 0)
        say(
          `rollback cleared; the ALB serves the plan for ${config.phase} at ${config.greenWeight} % (${formatSeconds(seconds)})`,
        );
    },
  );
  return problems.length === 0 ? EXIT.ok : EXIT.refused;
}

/**
 * Acknowledge an automatic rollback: record the latch's time in config (audit trail) and
 * delete the latch. Traffic does not move here: the Lambda set the listener to blue outside
 * Pulumi, so green stays at 0 % until a `shift` (which refreshes and starts from what the ALB
 * serves) brings it back, in steps the operator chooses.
 */
export async function resumeCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  const latch = await readLatch(ctx.aws, config.stack);
  if (!latch) {
    emit(ctx, flags, { command: "resume", latch: null }, () =>
      ctx.out.log(`no automatic rollback latch on ${config.stack}: nothing to resume`),
    );
    return EXIT.ok;
  }
  // An unreadable latch has no time to acknowledge: deleting the parameter alone clears it.
  const acknowledged = isUnreadableLatch(latch) ? undefined : latch.at;
  if (acknowledged) await ctx.backend.setConfig({ rollbackAcknowledged: acknowledged });
  await ctx.aws.ssm.send(new DeleteParameterCommand({ Name: latchParameterName(config.stack) }));
  const traffic = await readAlbTraffic(ctx.aws, await ctx.backend.outputs());
  const green = Math.max(0, ...traffic.map((t) => t.green));
  const next = config.rollback
    ? `npm run rollout -- rollback --clear --stack ${config.stack}`
    : `npm run rollout -- shift --stack ${config.stack} --to ${config.greenWeight} --step K --interval T`;
  emit(
    ctx,
    flags,
    { command: "resume", latch, acknowledged: acknowledged ?? null, greenOnAlb: green, next },
    () => {
      ctx.out.log(
        acknowledged
          ? `acknowledged the rollback by ${latch.alarm} at ${latch.at} (${latch.reason}) and cleared the latch`
          : `cleared an unreadable latch parameter (nothing to acknowledge: it had no readable time)`,
      );
      ctx.out.log(
        `the ALB serves ${green} % to green; rollout:greenWeight is ${config.greenWeight} %. Traffic moves only with: \`${next}\``,
      );
      ctx.out.log(
        "(a plain `pulumi up` without --refresh changes nothing: Pulumi's state still holds the weights from before the Lambda)",
      );
    },
  );
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------- signoff

/**
 * The playbook `rollout:playbook` names in Pulumi.<stack>.yaml: the one source --role and
 * --phase are checked against, read before Pulumi is touched. (The Automation API reads the
 * stack's config from this same file.)
 */
function stackFilePlaybook(stack: string): { playbook: Playbook; file: string } {
  const { config, file } = loadStackFile(stack);
  const id = config["rollout:playbook"];
  if (id === undefined)
    throw new RolloutInputError(
      `rollout:playbook: expected a playbook id such as tbs-strategy-framework in ${file}, got nothing`,
    );
  return { playbook: loadPlaybook(id), file };
}

/** --phase (when given) is a phase of the playbook and --role (when given) one of its sign-off roles. */
function checkSignoffFlags(playbook: Playbook, role: string | undefined, phase: string | undefined): void {
  const phases = playbook.phases.map((p) => p.id);
  if (phase !== undefined && !phases.includes(phase))
    throw new RolloutInputError(`--phase: unknown phase "${phase}"; expected one of ${phases.join(", ")}`);
  const roles = playbook.signoff.roles.map((r) => r.id);
  if (role !== undefined && !roles.includes(role))
    throw new RolloutInputError(`--role: unknown role "${role}"; expected one of ${roles.join(", ")}`);
}

export type SignoffAction = "approve" | "revoke" | "status";

/** The action word of `signoff`, or a RolloutInputError saying it is missing or unknown. */
export function signoffAction(positionals: string[]): SignoffAction {
  const action = positionals[0];
  if (action !== "approve" && action !== "revoke" && action !== "status") {
    throw new RolloutInputError(
      `signoff: expected approve, revoke or status, got ${action === undefined ? "nothing" : JSON.stringify(action)}`,
    );
  }
  return action;
}

/** `signoff <action>`: the router reads the action (signoffAction) before it makes the context. */
export async function signoffCommand(
  flags: Flags,
  action: SignoffAction,
  ctx: CommandContext,
): Promise<number> {
  // Flags first: a typo never reaches Pulumi.
  const roleFlag =
    action === "status" ? undefined : requireFlag(flags, "role", "a role id such as qaEngineer");
  const approver =
    action === "approve" ? requireFlag(flags, "approver", "the name of the person approving") : undefined;
  const phaseFlag = typeof flags.phase === "string" ? flags.phase : undefined;
  const checked = stackFilePlaybook(ctx.backend.stackName);
  checkSignoffFlags(checked.playbook, roleFlag, phaseFlag);
  const config = await loadLiveConfig(ctx.backend);
  const playbook = config.playbookSpec;
  // Only a config changed outside the file (not through it) can differ: the flags were checked
  // against the file's playbook, so stop rather than write a role this playbook may not have.
  if (playbook.id !== checked.playbook.id)
    throw new Error(
      `rollout:playbook is "${playbook.id}" on stack ${config.stack} but "${checked.playbook.id}" in ${checked.file}: make the two agree before signing off`,
    );
  // The default, the next phase (or the last), is a phase of the playbook: parseRolloutConfig checked config.phase.
  const phase = phaseFlag ?? nextPhase(playbook, config.phase)?.id ?? config.phase;
  const key = (role: string) => `signoffs["${phase}"]["${role}"]`;
  if (action === "status") {
    const roles = requiredRoles(playbook, phase);
    const approvals = config.signoffs[phase] ?? {};
    const rows = roles.map((role) => ({
      role,
      approval: approvals[role] ?? null,
      checklist: roleChecklist(playbook, role)?.checklist ?? [],
    }));
    emit(ctx, flags, { phase, required: roles, complete: rows.every((r) => r.approval), roles: rows }, () => {
      ctx.out.log(
        `sign-offs for ${phase} (${config.tier}${config.isProduction ? ", required" : ", advisory"}):`,
      );
      if (rows.length === 0) ctx.out.log("  none required");
      for (const r of rows) {
        ctx.out.log(
          `  ${r.role}: ${r.approval ? `approved by ${r.approval.approver} at ${r.approval.at}` : "MISSING"}`,
        );
        for (const item of r.checklist) ctx.out.log(`    [ ] ${item}`);
      }
    });
    return EXIT.ok;
  }
  const role = roleFlag!;
  if (action === "approve") {
    const at = ctx.now().toISOString();
    await ctx.backend.setConfig(
      { [`${key(role)}.approver`]: approver!, [`${key(role)}.at`]: at },
      { path: true },
    );
    const checklist = roleChecklist(playbook, role)?.checklist ?? [];
    emit(ctx, flags, { command: "signoff", action, phase, role, approver, at, checklist }, () => {
      ctx.out.log(`${role} approved ${phase} (${approver}, ${at}), attesting:`);
      for (const item of checklist) ctx.out.log(`  [x] ${item}`);
    });
  } else {
    if (!config.signoffs[phase]?.[role]) {
      emit(ctx, flags, { command: "signoff", action, phase, role, changed: false }, () =>
        ctx.out.log(`${role} had not approved ${phase}: nothing to revoke`),
      );
      return EXIT.ok;
    }
    await ctx.backend.removeConfig([key(role)], { path: true });
    emit(ctx, flags, { command: "signoff", action, phase, role, changed: true }, () =>
      ctx.out.log(`${role}'s approval of ${phase} revoked`),
    );
  }
  return EXIT.ok;
}

// ------------------------------------------------------------------------------------- drill live

/** How often a live drill reads the ALB while it waits for blue. */
const DRILL_POLL_SECONDS = 5;

/**
 * A real rollback drill on a staging-tier stack: force a rollback, poll the ALB until every
 * service is blue (measured time-to-blue), restore the previous config and verify it.
 *
 * It does not advance a phase first, as issue 6's outline has it: advancing needs a recorded
 * GO decision, and a drill must not manufacture one. Instead it needs green to carry traffic
 * already (a weight or cohort rules); with none, the time to blue would measure nothing, so it
 * refuses and names the `shift` that gives green a small weight.
 */
export async function drillLiveCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  if (config.isProduction)
    return refuse(ctx, flags, "drill --live", [
      `stack ${config.stack} is production-tier; live drills run on staging-tier stacks only`,
    ]);
  const outputs = await ctx.backend.outputs();
  const before = await readAlbTraffic(ctx.aws, outputs);
  const reasons = await unhealthyReasons(ctx, config, stackAlarms(config));
  if (config.rollback) reasons.push(rollbackSetReason(config));
  if (before.every((t) => t.green === 0 && t.cohortRulesToGreen === 0))
    reasons.push(
      `green carries no traffic on ${config.stack}'s ALB, so time-to-blue would measure nothing: give it a small weight first (\`npm run rollout -- shift --stack ${config.stack} --to 5\`)`,
    );
  if (reasons.length > 0) return refuse(ctx, flags, "drill --live", reasons);

  const json = Boolean(flags.json);
  const start = ctx.now();
  const say = progress(ctx, start, json);
  const limit = config.playbookSpec.rollback.limitSeconds;
  say(`drill on ${config.stack}: forcing a rollback`);
  await ctx.backend.setConfig({ rollback: "true" });
  let timeToBlue: number | undefined;
  let failure: Error | undefined;
  try {
    await runUp(ctx, start, "drill rollback", json);
    // At least one look, however long `up` took: the time is reported even when over the limit.
    for (;;) {
      if ((await blueProblems(ctx, outputs)).length === 0) {
        timeToBlue = elapsedSeconds(ctx, start);
        break;
      }
      if (elapsedSeconds(ctx, start) > limit) break;
      await ctx.sleep(DRILL_POLL_SECONDS * 1000);
    }
  } catch (error) {
    failure = error as Error;
  }
  const waited = elapsedSeconds(ctx, start);
  say("restoring the previous configuration");
  let restoreError: Error | undefined;
  let restored: string[] = [];
  try {
    await ctx.backend.setConfig({ rollback: String(config.rollback) });
    restored = await verifyTraffic(ctx, config, {}, await runUp(ctx, start, "drill restore", json));
  } catch (error) {
    restoreError = error as Error;
  }
  if (failure || restoreError) {
    const errors = [
      failure && `forced rollback: ${failure.message}`,
      restoreError && `restore: ${restoreError.message}`,
    ]
      .filter(Boolean)
      .join("; ");
    return upFailed(ctx, flags, "drill --live", start, new Error(errors), {
      kept: restoreError
        ? `rollout:rollback may still be true: check \`npm run rollout -- status --stack ${config.stack}\``
        : `rollout:rollback restored to ${config.rollback}`,
    });
  }
  const ok = timeToBlue !== undefined && timeToBlue <= limit && restored.length === 0;
  emit(
    ctx,
    flags,
    {
      command: "drill",
      live: true,
      before,
      timeToBlueSeconds: timeToBlue ?? null,
      waitedSeconds: waited,
      limitSeconds: limit,
      withinLimit: timeToBlue !== undefined && timeToBlue <= limit,
      restored: restored.length === 0,
      problems: restored,
    },
    () => {
      say(
        timeToBlue === undefined
          ? `NOT blue after ${formatSeconds(waited)} (limit ${formatSeconds(limit)})`
          : `time to blue: ${formatSeconds(timeToBlue)} (limit ${formatSeconds(limit)})${timeToBlue <= limit ? "" : " - OVER the limit"}`,
      );
      for (const p of restored) say(`restore check FAILED: ${p}`);
      if (restored.length === 0) say("previous traffic restored and verified");
    },
  );
  return ok ? EXIT.ok : EXIT.refused;
}
