import { RolloutInputError } from "../../rollout/validation";
import { loadLiveConfig, progress, stackAlarms, type CommandContext } from "../backend";
import { deployChange, deployFailed } from "../deployChange";
import { EXIT, formatSeconds, requireFlag } from "../output";
import {
  blueProblems,
  elapsedSeconds,
  emit,
  refuse,
  unhealthyReasons,
  verifyTraffic,
  type Flags,
} from "./shared";

/**
 * `rollout rollback --stack S --reason R`: 100 % blue now, verified through the ALB, timed
 * against the playbook's limit. `--clear` ends a rollback once green is fixed.
 */
export async function rollbackCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  if (flags.clear) return clearRollback(flags, ctx);
  const reason = requireFlag(
    flags,
    "reason",
    "why you are rolling back (printed, and the JSON's reason field)",
  );
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  say(`rolling back ${config.stack}: ${reason}`);
  const deployed = await deployChange(ctx, {
    set: { rollback: "true" },
    up: "rollback",
    start,
    json,
    restore: {
      kept: "rollout:rollback stays true; retry, or move the listener rules to blue in the console",
    },
    verify: (outputs) => blueProblems(ctx, outputs),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "rollback", start, deployed);
  const problems = deployed.verified;
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
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  say(
    `clearing rollout:rollback on ${config.stack}: back to ${config.phase} at greenWeight ${config.greenWeight} %`,
  );
  const deployed = await deployChange(ctx, {
    set: { rollback: "false" },
    up: "rollback cleared",
    start,
    json,
    restore: { entries: { rollback: "true" }, what: "rollout:rollback to true" },
    verify: (outputs) => verifyTraffic(ctx, config, { rollback: false }, outputs),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "rollback --clear", start, deployed);
  const problems = deployed.verified;
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
