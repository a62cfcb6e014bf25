import { GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { DeleteParameterCommand as DeleteParameterCommand } from "@aws-sdk/client-ssm";
import type { RolloutConfig } from "../../rollout/config";
import { alarmSpecs, type AlarmSpec, type DecisionResult } from "../../rollout/gates";
import { loadEvidence } from "../../rollout/evidence";
import { getPhase, latestDecision, nextPhase, transitionFrom, trafficCap } from "../../rollout/phases";
import { missingSignoffs, requiredRoles, roleChecklist } from "../../rollout/signoff";
import { latchParameterName } from "../../rollout/state";
import { planTraffic } from "../../rollout/traffic";
import { RolloutInputError } from "../../rollout/validation";
import { EXIT, formatSeconds, requireFlag, table } from "../cli";
import {
  criticalAlarms,
  firingAlarms,
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readLatch,
  runUp,
  type CommandContext,
  type LiveTraffic,
} from "../backend";
import { decideTransition, printDecision } from "./gates";

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

export async function statusCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  const outputs = await ctx.backend.outputs();
  const [traffic, firing, latch] = await Promise.all([
    readAlbTraffic(ctx.aws, outputs),
    firingAlarms(ctx.aws, config.stack),
    readLatch(ctx.aws, config.stack),
  ]);
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
    ctx.out.log(firing.length === 0 ? "alarms: none in ALARM" : `alarms in ALARM: ${firing.join(", ")}`);
    ctx.out.log(latch ? `latch: SET by ${latch.alarm} at ${latch.at} (${latch.reason})` : "latch: clear");
    for (const d of status.decisions)
      ctx.out.log(`decision: ${d.from} -> ${d.to} ${d.decision} by ${d.by} at ${d.at}`);
    if (next) {
      const missing = missingSignoffs(config.playbookSpec, next.id, config.signoffs);
      ctx.out.log(
        `sign-offs for ${next.id}: ${missing.length === 0 ? "complete" : `missing ${missing.join(", ")}`}`,
      );
    }
    ctx.out.log(`ALB: ${String(outputs.albDnsName ?? "-")}`);
  });
  return EXIT.ok;
}

// ------------------------------------------------------------------------------------- gates live

const MAX_EVIDENCE_DAYS = 14;

/** One CloudWatch query per alarm metric: the gate's value on green over the window. */
function evidenceQuery(
  spec: AlarmSpec,
  id: string,
  config: RolloutConfig,
  outputs: Record<string, unknown>,
  service?: string,
): MetricDataQuery[] {
  const period = 3600;
  const groups = (outputs.targetGroupArns ?? {}) as Record<string, { green: string }>;
  const tgSuffix = service ? groups[service]!.green.replace(/^.*:(targetgroup\/.*)$/, "$1") : "";
  const albSuffix = String(outputs.albArnSuffix ?? "");
  const alb = [
    { Name: "LoadBalancer", Value: albSuffix },
    { Name: "TargetGroup", Value: tgSuffix },
  ];
  const m = spec.metric;
  switch (m.kind) {
    case "alb-error-rate":
      return [
        {
          Id: `${id}e`,
          MetricStat: {
            Metric: {
              Namespace: "AWS/ApplicationELB",
              MetricName: "HTTPCode_Target_5XX_Count",
              Dimensions: alb,
            },
            Period: period,
            Stat: "Sum",
          },
          ReturnData: false,
        },
        {
          Id: `${id}r`,
          MetricStat: {
            Metric: { Namespace: "AWS/ApplicationELB", MetricName: "RequestCount", Dimensions: alb },
            Period: period,
            Stat: "Sum",
          },
          ReturnData: false,
        },
        { Id: id, Expression: `${id}e / ${id}r * 100`, ReturnData: true },
      ];
    case "alb":
      return [
        {
          Id: id,
          MetricStat: {
            Metric: { Namespace: "AWS/ApplicationELB", MetricName: m.metricName, Dimensions: alb },
            Period: period,
            Stat: m.extendedStatistic ?? m.statistic,
          },
          ReturnData: true,
        },
      ];
    case "container-insights":
      return [
        {
          Id: id,
          MetricStat: {
            Metric: {
              Namespace: "ContainerInsights",
              MetricName: m.metricName,
              Dimensions: [
                { Name: "ClusterName", Value: config.cluster.name },
                { Name: "Namespace", Value: config.cluster.namespace },
                { Name: "Service", Value: `${service}-green` },
              ],
            },
            Period: period,
            Stat: m.statistic,
          },
          ReturnData: true,
        },
      ];
    case "custom":
      return [
        {
          Id: id,
          MetricStat: {
            Metric: {
              Namespace: `StagedRollout/${config.stack}`,
              MetricName: m.metricName,
              Dimensions: [{ Name: "Colour", Value: "green" }],
            },
            Period: period,
            Stat: m.extendedStatistic ?? m.statistic,
          },
          ReturnData: true,
        },
      ];
  }
}

interface Evidence {
  value: number;
  source: string;
}

/** Evidence for the transition's criteria that CloudWatch can give: the worst service's window average. */
async function cloudWatchEvidence(
  ctx: CommandContext,
  config: RolloutConfig,
  criteria: string[],
  outputs: Record<string, unknown>,
): Promise<Record<string, Evidence>> {
  const days = Math.min(getPhase(config.playbookSpec, config.phase).durationDays, MAX_EVIDENCE_DAYS);
  const end = ctx.now();
  const start = new Date(end.getTime() - days * 86400_000);
  const services = config.services.map((s) => s.name);
  const wanted: { criterion: string; spec: AlarmSpec; scale: number; queryIds: string[] }[] = [];
  const queries: MetricDataQuery[] = [];
  criteria.forEach((criterion, i) => {
    const gate = config.playbookSpec.gates.find((g) => g.id === criterion);
    const spec = gate ? alarmSpecs(gate)[0] : undefined;
    if (!gate || !spec) return;
    const perService = spec.metric.kind !== "custom";
    const ids = (perService ? services : [undefined]).map((service, j) => {
      const id = `q${i}_${j}`;
      queries.push(...evidenceQuery(spec, id, config, outputs, service));
      return id;
    });
    // The alarm works in CloudWatch units (seconds for latency); evidence is in the playbook's.
    wanted.push({ criterion, spec, scale: spec.playbookThreshold / (spec.threshold || 1), queryIds: ids });
  });
  if (queries.length === 0) return {};
  const result = await ctx.aws.cloudwatch.send(
    new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: end }),
  );
  const byId = new Map((result.MetricDataResults ?? []).map((r) => [r.Id!, r.Values ?? []]));
  const evidence: Record<string, Evidence> = {};
  for (const w of wanted) {
    const averages = w.queryIds
      .map((id) => byId.get(id) ?? [])
      .filter((v) => v.length > 0)
      .map((v) => v.reduce((a, b) => a + b, 0) / v.length);
    if (averages.length === 0) continue;
    const worst =
      w.spec.comparison === "GreaterThanThreshold" ? Math.max(...averages) : Math.min(...averages);
    evidence[w.criterion] = {
      value: Math.round(worst * w.scale * 1000) / 1000,
      source: `CloudWatch, ${days}-day average on green`,
    };
  }
  return evidence;
}

export async function gatesLiveCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  const transition = transitionFrom(config.playbookSpec, config.phase);
  if (!transition)
    throw new RolloutInputError(
      `--stack: phase ${config.phase} of ${config.stack} has no GO/NO-GO transition`,
    );
  const manual = typeof flags.evidence === "string" ? loadEvidence(flags.evidence).metrics : {};
  const outputs = await ctx.backend.outputs();
  const measured = await cloudWatchEvidence(
    ctx,
    config,
    transition.criteria.map((c) => c.id),
    outputs,
  );
  const merged: Record<string, Evidence> = { ...measured };
  for (const [id, value] of Object.entries(manual))
    merged[id] = { value, source: `evidence file ${String(flags.evidence)}` };
  const result: DecisionResult = decideTransition(
    config.playbookSpec,
    config.phase,
    Object.fromEntries(Object.entries(merged).map(([id, e]) => [id, e.value])),
  );
  const evidenceLines = result.results.map(
    (r) =>
      `${r.id} = ${r.value ?? "missing"} (required ${r.op} ${r.threshold}): ${r.pass ? "pass" : "FAIL"}${merged[r.id] ? ` [${merged[r.id]!.source}]` : ""}`,
  );
  if (flags.record) {
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
      recorded: Boolean(flags.record),
    },
    () => {
      printDecision(result, ctx.out);
      for (const [id, e] of Object.entries(merged)) ctx.out.log(`  ${id}: ${e.source}`);
      if (flags.record)
        ctx.out.log(`recorded in rollout:decisions (${result.from} -> ${result.to} ${result.decision})`);
    },
  );
  return result.decision === "GO" ? EXIT.ok : EXIT.refused;
}

// ---------------------------------------------------------------------------------------- advance

async function unhealthyReasons(ctx: CommandContext, config: RolloutConfig): Promise<string[]> {
  const [firing, latch] = await Promise.all([
    firingAlarms(ctx.aws, config.stack),
    readLatch(ctx.aws, config.stack),
  ]);
  const reasons: string[] = [];
  if (firing.length > 0)
    reasons.push(
      `alarms in ALARM: ${firing.join(", ")} (see \`npm run rollout -- status --stack ${config.stack}\`)`,
    );
  if (latch)
    reasons.push(
      `automatic rollback latch set by ${latch.alarm} at ${latch.at}: fix green, then \`npm run rollout -- resume --stack ${config.stack}\``,
    );
  return reasons;
}

/** Traffic on the ALB equals the plan for the config (what `up` should have produced). */
async function verifyTraffic(
  ctx: CommandContext,
  config: RolloutConfig,
  phase: string,
  greenWeight: number,
  rollback: boolean,
  outputs: Record<string, unknown>,
): Promise<string[]> {
  const expected = planTraffic({
    playbook: config.playbookSpec,
    phase,
    greenWeight,
    cohorts: config.cohorts,
    rollback,
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
  reasons.push(...(await unhealthyReasons(ctx, config)));
  if (reasons.length > 0) return refuse(ctx, flags, "advance", reasons);

  const say = progress(ctx, start, Boolean(flags.json));
  say(`advancing ${config.stack}: ${config.phase} -> ${next.id}`);
  await ctx.backend.setConfig({ phase: next.id });
  const outputs = await runUp(ctx, start, `phase ${next.id}`, Boolean(flags.json));
  const problems = await verifyTraffic(ctx, config, next.id, config.greenWeight, config.rollback, outputs);
  const seconds = (ctx.now().getTime() - start.getTime()) / 1000;
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

export async function shiftCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const start = ctx.now();
  const to = parseInteger("to", flags.to, 0, 100);
  const config = await loadLiveConfig(ctx.backend);
  const step =
    flags.step === undefined
      ? Math.max(1, Math.abs(to - config.greenWeight))
      : parseInteger("step", flags.step, 1, 100);
  const interval = parseInterval(flags.interval);
  const cap = trafficCap(config.playbookSpec, config.phase);
  const reasons: string[] = [];
  if (to > cap)
    reasons.push(`${to} % is above phase ${config.phase}'s cap of ${cap} % (advance to a later phase first)`);
  if (config.rollback)
    reasons.push(
      `rollout:rollback is true: \`pulumi config set rollout:rollback false\` once green is fixed`,
    );
  reasons.push(...(await unhealthyReasons(ctx, config)));
  if (reasons.length > 0) return refuse(ctx, flags, "shift", reasons);

  const steps = shiftSteps(config.greenWeight, to, step);
  const say = progress(ctx, start, Boolean(flags.json));
  const applied: number[] = [];
  if (steps.length === 0) say(`green is already at ${to} %`);
  for (const [i, weight] of steps.entries()) {
    say(`step ${i + 1}/${steps.length}: greenWeight ${weight} %`);
    await ctx.backend.setConfig({ greenWeight: String(weight) });
    await runUp(ctx, start, `greenWeight ${weight}`, Boolean(flags.json));
    applied.push(weight);
    if (i < steps.length - 1) {
      say(`watching alarms for ${formatSeconds(interval)} before the next step`);
      await ctx.sleep(interval * 1000);
    }
    const critical = criticalAlarms(await firingAlarms(ctx.aws, config.stack), config.stack);
    if (critical.length > 0) {
      say(`critical alarm during the shift: ${critical.join(", ")}; rolling back`);
      await ctx.backend.setConfig({ rollback: "true" });
      await runUp(ctx, start, "rollback after a critical alarm", Boolean(flags.json));
      emit(
        ctx,
        flags,
        { command: "shift", completed: false, applied, rolledBack: true, alarms: critical },
        () => say("shift aborted; every service is back on blue"),
      );
      return EXIT.refused;
    }
  }
  const seconds = (ctx.now().getTime() - start.getTime()) / 1000;
  emit(ctx, flags, { command: "shift", completed: true, applied, to, seconds }, () =>
    say(`green at ${to} % (${formatSeconds(seconds)})`),
  );
  return EXIT.ok;
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
  const reason = requireFlag(flags, "reason", "why you are rolling back (kept in the output and the log)");
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  const say = progress(ctx, start, Boolean(flags.json));
  say(`rolling back ${config.stack}: ${reason}`);
  await ctx.backend.setConfig({ rollback: "true" });
  const outputs = await runUp(ctx, start, "rollback", Boolean(flags.json));
  const problems = await blueProblems(ctx, outputs);
  const seconds = (ctx.now().getTime() - start.getTime()) / 1000;
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
 * Acknowledge an automatic rollback: record the latch's time in config (audit trail) and
 * delete the latch. Traffic does not move here: the next `pulumi up` (or `shift`) restores
 * the configured weight, which the operator should lower first if green is still suspect.
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
  await ctx.backend.setConfig({ rollbackAcknowledged: latch.at });
  await ctx.aws.ssm.send(new DeleteParameterCommand({ Name: latchParameterName(config.stack) }));
  emit(ctx, flags, { command: "resume", latch, acknowledged: latch.at }, () => {
    ctx.out.log(
      `acknowledged the rollback by ${latch.alarm} at ${latch.at} (${latch.reason}) and cleared the latch`,
    );
    ctx.out.log(
      `green is still at 0 % until the next \`pulumi up\`, which restores rollout:greenWeight (${config.greenWeight} %);`,
    );
    ctx.out.log(`lower it first if needed: \`npm run rollout -- shift --stack ${config.stack} --to N\``);
  });
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------- signoff

export async function signoffCommand(
  flags: Flags,
  positionals: string[],
  ctx: CommandContext,
): Promise<number> {
  const action = positionals[0];
  if (action !== "approve" && action !== "revoke" && action !== "status") {
    throw new RolloutInputError(
      `signoff: expected approve, revoke or status, got ${action === undefined ? "nothing" : JSON.stringify(action)}`,
    );
  }
  const config = await loadLiveConfig(ctx.backend);
  const playbook = config.playbookSpec;
  const phase =
    typeof flags.phase === "string" ? flags.phase : (nextPhase(playbook, config.phase)?.id ?? config.phase);
  if (!playbook.phases.some((p) => p.id === phase)) {
    throw new RolloutInputError(
      `--phase: unknown phase "${phase}"; expected one of ${playbook.phases.map((p) => p.id).join(", ")}`,
    );
  }
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
  const role = requireFlag(flags, "role", `a role of ${playbook.id}`);
  const roles = playbook.signoff.roles.map((r) => r.id);
  if (!roles.includes(role))
    throw new RolloutInputError(`--role: unknown role "${role}"; expected one of ${roles.join(", ")}`);
  if (action === "approve") {
    const approver = requireFlag(flags, "approver", "the name of the person approving");
    const at = ctx.now().toISOString();
    await ctx.backend.setConfig(
      { [`${key(role)}.approver`]: approver, [`${key(role)}.at`]: at },
      { path: true },
    );
    emit(ctx, flags, { command: "signoff", action, phase, role, approver, at }, () =>
      ctx.out.log(`${role} approved ${phase} (${approver}, ${at})`),
    );
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

/**
 * A real rollback drill on a staging-tier stack: force a rollback, poll the ALB until every
 * service is blue (measured time-to-blue), restore the previous config and verify it. It does
 * not advance a phase: that needs a GO decision, and a drill must not manufacture one.
 */
export async function drillLiveCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  if (config.isProduction) {
    throw new RolloutInputError(
      `--live: stack ${config.stack} is production-tier; live drills run on staging-tier stacks only`,
    );
  }
  const start = ctx.now();
  const say = progress(ctx, start, Boolean(flags.json));
  const outputs = await ctx.backend.outputs();
  const before = await readAlbTraffic(ctx.aws, outputs);
  say(`drill on ${config.stack}: forcing a rollback`);
  await ctx.backend.setConfig({ rollback: "true" });
  let timeToBlue: number | undefined;
  try {
    await runUp(ctx, start, "drill rollback", Boolean(flags.json));
    const limit = config.playbookSpec.rollback.limitSeconds;
    while ((ctx.now().getTime() - start.getTime()) / 1000 <= limit) {
      if ((await blueProblems(ctx, outputs)).length === 0) {
        timeToBlue = (ctx.now().getTime() - start.getTime()) / 1000;
        break;
      }
      await ctx.sleep(5000);
    }
  } finally {
    say("restoring the previous configuration");
    await ctx.backend.setConfig({ rollback: String(config.rollback) });
    await runUp(ctx, start, "drill restore", Boolean(flags.json));
  }
  const restored = await verifyTraffic(
    ctx,
    config,
    config.phase,
    config.greenWeight,
    config.rollback,
    outputs,
  );
  const limit = config.playbookSpec.rollback.limitSeconds;
  const ok = timeToBlue !== undefined && restored.length === 0;
  emit(
    ctx,
    flags,
    {
      command: "drill",
      live: true,
      before,
      timeToBlueSeconds: timeToBlue ?? null,
      limitSeconds: limit,
      restored: restored.length === 0,
      problems: restored,
    },
    () => {
      say(
        timeToBlue === undefined
          ? `NOT blue within the ${formatSeconds(limit)} limit`
          : `time to blue: ${formatSeconds(timeToBlue)} (limit ${formatSeconds(limit)})`,
      );
      for (const p of restored) say(`restore check FAILED: ${p}`);
      if (restored.length === 0) say("previous traffic restored and verified");
    },
  );
  return ok ? EXIT.ok : EXIT.refused;
}
