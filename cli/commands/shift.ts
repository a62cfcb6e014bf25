import type { RolloutConfig } from "../../rollout/config";
import { errorMessage } from "../../rollout/errors";
import { getPhase } from "../../rollout/phases";
import {
  minimumShiftIntervalSeconds,
  SHIFT_INTERVAL_MIN_SECONDS,
  slowestAutoRollback,
} from "../../rollout/playbook";
import { RolloutInputError } from "../../rollout/validation";
import {
  alarmStates,
  describeAlarm,
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readStackOutputs,
  rollbackAlarms,
  stackAlarms,
  type AlarmState,
  type CommandContext,
  type LiveTraffic,
  type StackAlarms,
} from "../backend";
import { deployChange, deployFailed } from "../deployChange";
import { recordEvent } from "../events";
import { EXIT, formatSeconds, oneLine, parseDuration } from "../output";
import {
  blueProblems,
  elapsedSeconds,
  emit,
  refuse,
  rollbackSetReason,
  unhealthyReasons,
  verifyTraffic,
  type Flags,
} from "./shared";

/**
 * `rollout shift --stack S --to N [--step K --interval T]`: greenWeight within the phase's cap,
 * in steps (by default the phase's `shift` in the playbook), watching the stack's alarms between
 * them with a heartbeat line at every read; a rollback alarm rolls back; Ctrl-C stops after the
 * step in flight and says where traffic stands.
 */

function parseInteger(flag: string, value: unknown, min: number, max: number): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RolloutInputError(
      `--${flag}: expected an integer ${min}-${max}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`,
    );
  }
  return n;
}

/** The longest wait between two steps: a day (a longer one is a typo, and a shift is attended). */
export const SHIFT_INTERVAL_MAX_SECONDS = 24 * 3600;

/** `--interval`, or undefined when not given (the phase's default applies). */
export function parseInterval(value: unknown): number | undefined {
  return value === undefined
    ? undefined
    : parseDuration(
        "interval",
        value,
        SHIFT_INTERVAL_MIN_SECONDS,
        SHIFT_INTERVAL_MAX_SECONDS,
        "CloudWatch evaluates alarms once a minute: a shorter wait steps again before any alarm has judged the step",
      );
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
const ALARM_POLL_SECONDS = SHIFT_INTERVAL_MIN_SECONDS;

/** `alarms 1 ALARM, 40 OK, 3 INSUFFICIENT_DATA`: this stack's alarms by state. */
function alarmCounts(states: AlarmState[]): string {
  const count = (state: string) => states.filter((a) => a.state === state).length;
  return `alarms ${count("ALARM")} ALARM, ${count("OK")} OK, ${count("INSUFFICIENT_DATA")} INSUFFICIENT_DATA`;
}

/** What a heartbeat line says besides the alarms: the weight green is at and the step that follows. */
interface Waiting {
  weight: number;
  next: number;
}

/**
 * Watch the stack's alarms for `seconds` (at least one read, then one a minute): the rollback
 * alarms firing (the composite, or a gate whose action is auto-rollback), as soon as one does.
 * Every other firing alarm (a warning, or a critical one the playbook only alerts on or reviews)
 * is said once and added to `warnings`: the shift goes on, as the playbook says. While waiting,
 * each read prints a heartbeat: the alarms by state, green's weight, the time to the next step.
 * Ctrl-C ends the wait early: `ctx.sleep` returns at once, the alarms are read one last time (a
 * rollback alarm still wins) and the step loop's safe point stops the shift.
 */
async function watchAlarms(
  ctx: CommandContext,
  config: RolloutConfig,
  alarms: StackAlarms,
  seconds: number,
  say: (line: string) => void,
  warnings: Set<string>,
  waiting?: Waiting,
): Promise<string[]> {
  let waited = 0;
  for (;;) {
    const states = await alarmStates(ctx.aws, config, alarms);
    const firing = states.filter((a) => a.state === "ALARM").map((a) => a.name);
    const rollback = rollbackAlarms(firing, alarms);
    if (rollback.length > 0) return rollback;
    for (const w of firing.filter((n) => !warnings.has(n))) {
      warnings.add(w);
      say(`alarm in ALARM: ${describeAlarm(w, alarms)}: not a rollback trigger; the shift goes on`);
    }
    if (ctx.signal?.aborted) return [];
    if (waiting) {
      const left = seconds - waited;
      say(
        `heartbeat: green at ${waiting.weight} %; ${alarmCounts(states)}; next step (${waiting.next} %) ${left > 0 ? `in ${formatSeconds(left)}` : "now"}`,
      );
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

/** Where a shift came from and goes, for the lines, events and JSON of its endings. */
interface ShiftRun {
  config: RolloutConfig;
  start: Date;
  from: number;
  to: number;
  steps: number[];
  /** The weights applied and verified so far. */
  applied: number[];
}

const stackOf = (run: ShiftRun) => run.config.stack;

/** Where a plan's step and interval came from: the flags, or the phase's shift defaults. */
function planOrigin(config: RolloutConfig, stepGiven: boolean, intervalGiven: boolean): string {
  const flags = [stepGiven && "--step", intervalGiven && "--interval"].filter((f) => f !== false);
  const defaulted = [!stepGiven && "step", !intervalGiven && "interval"].filter((f) => f !== false);
  return [
    ...(flags.length > 0 ? [`from ${flags.join(" and ")}`] : []),
    ...(defaulted.length > 0
      ? [
          `${defaulted.join(" and ")} from phase ${config.phase}'s shift defaults in playbook ${config.playbookSpec.id}`,
        ]
      : []),
  ].join("; ");
}

/** `rollout shift`: refused above the cap, while rollout:rollback is true, an alarm fires or the latch is set. */
export async function shiftCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const start = ctx.now();
  const to = parseInteger("to", flags.to, 0, 100);
  const stepFlag = flags.step === undefined ? undefined : parseInteger("step", flags.step, 1, 100);
  const intervalFlag = parseInterval(flags.interval);
  const config = await loadLiveConfig(ctx.backend);
  const phase = getPhase(config.playbookSpec, config.phase);
  const cap = phase.trafficCapPercent;
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
    await readAlbTraffic(ctx.aws, await readStackOutputs(ctx.backend)),
    to,
    config.greenWeight,
  );
  if (from !== config.greenWeight)
    say(
      `the ALB serves ${from} % to green; rollout:greenWeight says ${config.greenWeight} %: shifting from ${from} %`,
    );
  // Never one jump unless asked for: the phase's step and observation window, from the playbook.
  const step = stepFlag ?? phase.shift.stepPercent;
  const interval = intervalFlag ?? phase.shift.intervalSeconds;
  const steps = shiftSteps(from, to, step);
  // The ALB already serves N but the config says otherwise: one step writes N, or the next
  // `up` would move traffic back to the config's value.
  if (steps.length === 0 && config.greenWeight !== to) steps.push(to);
  const run: ShiftRun = { config, start, from, to, steps, applied: [] };
  const warnings = new Set<string>();
  if (steps.length === 0) say(`green is already at ${to} % on the ALB`);
  else {
    say(
      `plan: green ${[from, ...steps].map((w) => `${w} %`).join(" -> ")} in ${steps.length} step${steps.length === 1 ? "" : "s"} of at most ${step} points, ` +
        `${formatSeconds(interval)} of alarm watching between steps (${planOrigin(config, stepFlag !== undefined, intervalFlag !== undefined)})`,
    );
    const minimum = minimumShiftIntervalSeconds(config.playbookSpec);
    const slowest = slowestAutoRollback(config.playbookSpec);
    if (steps.length > 1 && interval < minimum && slowest)
      say(
        `warning: ${formatSeconds(interval)} between steps is less than the ${formatSeconds(minimum)} the slowest automatic rollback needs (${slowest.gate} ${slowest.level}: ${slowest.sustainSeconds} s of data, evaluated up to ${SHIFT_INTERVAL_MIN_SECONDS} s later): a breach one step causes may first fire after the next step`,
      );
  }
  for (const [i, weight] of steps.entries()) {
    // The safe point for Ctrl-C: no `up` in flight, config and ALB agree at the last applied
    // weight. After the last step there is none: the shift is done, whenever Ctrl-C came.
    if (ctx.signal?.aborted) return shiftInterrupted(ctx, flags, run);
    const served = run.applied.at(-1) ?? from;
    const previous = run.applied.at(-1) ?? config.greenWeight;
    const stepOf = `step ${i + 1} of ${steps.length}`;
    say(`step ${i + 1}/${steps.length}: greenWeight ${weight} %`);
    // Ctrl-C during this `up` is not passed on: the step finishes and is verified first.
    const deployed = await deployChange(ctx, {
      set: { greenWeight: String(weight) },
      up: `greenWeight ${weight}`,
      start,
      json,
      restore: { entries: { greenWeight: String(previous) }, what: `rollout:greenWeight to ${previous} %` },
      verify: (outputs) => verifyTraffic(ctx, config, { greenWeight: weight }, outputs),
    });
    if (!deployed.ok) {
      await recordEvent(ctx, {
        kind: "shift",
        summary: `shift ${stackOf(run)}: pulumi up failed at ${stepOf} (green ${served} % -> ${weight} %); config: ${deployed.config}`,
        details: {
          from: served,
          to: weight,
          step: i + 1,
          steps: steps.length,
          target: to,
          outcome: "failed",
        },
      });
      return deployFailed(ctx, flags, "shift", start, deployed);
    }
    const problems = deployed.verified;
    if (problems.length > 0) {
      for (const p of problems) say(`traffic check FAILED: ${p}`);
      await recordEvent(ctx, {
        kind: "shift",
        summary: `shift ${stackOf(run)}: stopped at ${stepOf}: the ALB does not serve ${weight} % to green`,
        details: { weight, step: i + 1, steps: steps.length, target: to, outcome: "traffic check failed" },
      });
      emit(ctx, flags, { command: "shift", completed: false, applied: run.applied, problems }, () =>
        say(`shift stopped at step ${i + 1}: the ALB does not serve ${weight} % to green`),
      );
      return EXIT.refused;
    }
    run.applied.push(weight);
    await recordEvent(ctx, {
      kind: "shift",
      summary:
        served === weight
          ? `shift ${stackOf(run)}: rollout:greenWeight ${config.greenWeight} % -> ${weight} %, the weight the ALB already served (${stepOf})`
          : `shift ${stackOf(run)}: green ${served} % -> ${weight} % (${stepOf})`,
      details: { from: served, to: weight, step: i + 1, steps: steps.length, target: to },
    });
    const next = steps[i + 1];
    if (next !== undefined) say(`watching alarms for ${formatSeconds(interval)} before the next step`);
    const rollback = await watchAlarms(
      ctx,
      config,
      alarms,
      next === undefined ? 0 : interval,
      say,
      warnings,
      next === undefined ? undefined : { weight, next },
    );
    if (rollback.length > 0) return shiftRollback(ctx, flags, run, rollback);
  }
  const seconds = elapsedSeconds(ctx, start);
  emit(
    ctx,
    flags,
    {
      command: "shift",
      completed: true,
      interrupted: false,
      from,
      applied: run.applied,
      to,
      stepPercent: step,
      intervalSeconds: interval,
      warnings: [...warnings],
      seconds,
    },
    () => say(`green at ${to} %, verified on the ALB (${formatSeconds(seconds)})`),
  );
  return EXIT.ok;
}

/** Where traffic stands: rollout:greenWeight, what each service's ALB rule serves, and whether they agree. */
interface Standing {
  configWeight: number;
  alb: Record<string, number>;
  /** Differences between the ALB and the plan for the config (verifyTraffic); none when they agree. */
  problems: string[];
}

async function whereTrafficStands(ctx: CommandContext): Promise<Standing> {
  const config = await loadLiveConfig(ctx.backend);
  const outputs = await readStackOutputs(ctx.backend);
  const traffic = await readAlbTraffic(ctx.aws, outputs);
  return {
    configWeight: config.greenWeight,
    alb: Object.fromEntries(traffic.map((t) => [t.service, t.green])),
    problems: await verifyTraffic(ctx, config, {}, outputs),
  };
}

/**
 * Ctrl-C stopped the shift at a safe point (no `up` in flight): read back where traffic stands
 * (the config and the ALB, which agree after every completed step), record it, say how to go on.
 */
async function shiftInterrupted(ctx: CommandContext, flags: Flags, run: ShiftRun): Promise<number> {
  const say = progress(ctx, run.start, Boolean(flags.json));
  const done = `${run.applied.length} of ${run.steps.length} steps done`;
  let standing: Standing | { error: string };
  try {
    standing = await whereTrafficStands(ctx);
  } catch (error) {
    standing = { error: oneLine(errorMessage(error)) };
  }
  const weight = "error" in standing ? (run.applied.at(-1) ?? run.from) : standing.configWeight;
  const agree = "error" in standing ? null : standing.problems.length === 0;
  await recordEvent(ctx, {
    kind: "shift",
    summary: `shift ${stackOf(run)}: stopped by Ctrl-C at green ${weight} % (${done}; target ${run.to} %)`,
    details: {
      weight,
      target: run.to,
      stepsDone: run.applied.length,
      steps: run.steps.length,
      outcome: "interrupted",
      agree,
    },
  });
  const seconds = elapsedSeconds(ctx, run.start);
  const goOn = `npm run rollout -- shift --stack ${stackOf(run)} --to ${run.to}`;
  emit(
    ctx,
    flags,
    {
      command: "shift",
      completed: false,
      interrupted: true,
      from: run.from,
      to: run.to,
      applied: run.applied,
      weight,
      ...("error" in standing
        ? { error: standing.error }
        : { configWeight: standing.configWeight, alb: standing.alb, problems: standing.problems }),
      agree,
      seconds,
    },
    () => {
      say(`interrupted (Ctrl-C): the shift stopped with ${done}`);
      if ("error" in standing)
        say(
          `where traffic stands could not be read (${standing.error}): check \`npm run rollout -- status --stack ${stackOf(run)}\``,
        );
      else if (standing.problems.length === 0)
        say(`green at ${weight} % on the ALB and in rollout:greenWeight, which agree`);
      else {
        say(`rollout:greenWeight says ${standing.configWeight} %, but the ALB differs:`);
        for (const p of standing.problems) say(`  ${p}`);
      }
      say(`to go on to ${run.to} %: ${goOn}`);
    },
  );
  // 130: stopped by Ctrl-C before the target, config and ALB in agreement (EXIT in cli/output.ts).
  return EXIT.interrupted;
}

/** A rollback alarm fired mid-shift: roll back, confirm every service is blue, report time-to-blue. */
async function shiftRollback(
  ctx: CommandContext,
  flags: Flags,
  run: ShiftRun,
  critical: string[],
): Promise<number> {
  const json = Boolean(flags.json);
  const say = progress(ctx, run.start, json);
  const detected = ctx.now();
  const weight = run.applied.at(-1) ?? run.from;
  say(`rollback alarm during the shift: ${critical.join(", ")}; rolling back`);
  const deployed = await deployChange(ctx, {
    set: { rollback: "true" },
    up: "rollback after a rollback alarm",
    start: run.start,
    json,
    restore: { kept: "rollout:rollback stays true (the auto-rollback Lambda also moves the ALB to blue)" },
    verify: (outputs) => blueProblems(ctx, outputs),
  });
  const details = { weight, target: run.to, alarms: critical.join(", "), outcome: "rolled back" };
  if (!deployed.ok) {
    await recordEvent(ctx, {
      kind: "shift",
      summary: `shift ${stackOf(run)}: rollback alarm at green ${weight} % (${critical.join(", ")}); the rollback's pulumi up failed`,
      details: { ...details, verifiedBlue: false },
    });
    return deployFailed(ctx, flags, "shift", run.start, deployed);
  }
  const problems = deployed.verified;
  const timeToBlue = elapsedSeconds(ctx, detected);
  await recordEvent(ctx, {
    kind: "shift",
    summary: `shift ${stackOf(run)}: rolled back at green ${weight} % (${critical.join(", ")}); ${problems.length === 0 ? "every service 100 % blue, verified on the ALB" : "the ALB is NOT all blue"}`,
    details: { ...details, verifiedBlue: problems.length === 0, timeToBlueSeconds: timeToBlue },
  });
  emit(
    ctx,
    flags,
    {
      command: "shift",
      completed: false,
      applied: run.applied,
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
