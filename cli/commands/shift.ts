import type { RolloutConfig } from "../../rollout/config";
import { trafficCap } from "../../rollout/phases";
import { RolloutInputError } from "../../rollout/validation";
import {
  describeAlarm,
  firingAlarms,
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readStackOutputs,
  rollbackAlarms,
  stackAlarms,
  type CommandContext,
  type LiveTraffic,
  type StackAlarms,
} from "../backend";
import { deployChange, deployFailed } from "../deployChange";
import { EXIT, formatSeconds } from "../output";
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
 * in steps, watching the stack's alarms between them; a rollback alarm rolls back.
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

/** `rollout shift`: refused above the cap, while rollout:rollback is true, an alarm fires or the latch is set. */
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
    await readAlbTraffic(ctx.aws, await readStackOutputs(ctx.backend)),
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
    const previous = applied.at(-1) ?? config.greenWeight;
    const deployed = await deployChange(ctx, {
      set: { greenWeight: String(weight) },
      up: `greenWeight ${weight}`,
      start,
      json,
      restore: { entries: { greenWeight: String(previous) }, what: `rollout:greenWeight to ${previous} %` },
      verify: (outputs) => verifyTraffic(ctx, config, { greenWeight: weight }, outputs),
    });
    if (!deployed.ok) return deployFailed(ctx, flags, "shift", start, deployed);
    const problems = deployed.verified;
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
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  const detected = ctx.now();
  say(`rollback alarm during the shift: ${critical.join(", ")}; rolling back`);
  const deployed = await deployChange(ctx, {
    set: { rollback: "true" },
    up: "rollback after a rollback alarm",
    start,
    json,
    restore: { kept: "rollout:rollback stays true (the auto-rollback Lambda also moves the ALB to blue)" },
    verify: (outputs) => blueProblems(ctx, outputs),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "shift", start, deployed);
  const problems = deployed.verified;
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
