import { planTraffic } from "../../rollout/traffic";
import {
  describeAlarm,
  firingAlarms,
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readLatch,
  readStackOutputs,
  rollbackAlarms,
  stackAlarms,
  type CommandContext,
} from "../backend";
import { deployChange, deployFailed } from "../deployChange";
import { recordEvent } from "../events";
import { EXIT, formatSeconds } from "../output";
import {
  elapsedSeconds,
  emit,
  refuse,
  rollbackSetReason,
  routingProblems,
  trafficTable,
  verifyTraffic,
  type Flags,
} from "./shared";

/**
 * `rollout restore --stack S`: after an automatic rollback has been acknowledged (`rollout
 * resume`), return the ALB to the routing the config plans: green's weight and, in the pilot
 * phases, the cohort rules that send the named pilot users to green. The rollback function moved
 * them to blue outside Pulumi; `up --refresh` sees that drift and puts the configured actions
 * back. The config does not change (no revision is written): only the ALB returns to it.
 *
 * Refused while the latch is still set (acknowledge it first), while rollout:rollback is true
 * (that rollback is ended with `rollback --clear`), and while a rollback alarm fires: restoring
 * green then would only be rolled back again.
 */
export async function restoreCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  const outputs = await readStackOutputs(ctx.backend);
  const alarms = stackAlarms(config);
  const [latch, firing, before] = await Promise.all([
    readLatch(ctx.aws, config.stack),
    firingAlarms(ctx.aws, config, alarms),
    readAlbTraffic(ctx.aws, outputs),
  ]);
  const reasons: string[] = [];
  if (latch)
    reasons.push(
      `the automatic rollback latch is set (by ${latch.alarm} at ${latch.at}: ${latch.reason}): acknowledge it first with \`npm run rollout -- resume --stack ${config.stack}\``,
    );
  if (config.rollback) reasons.push(rollbackSetReason(config));
  const rollback = rollbackAlarms(firing, alarms);
  if (rollback.length > 0)
    reasons.push(
      `rollback alarms in ALARM: ${rollback.map((n) => describeAlarm(n, alarms)).join(", ")}: green would be rolled back again; fix it first`,
    );
  if (reasons.length > 0) return refuse(ctx, flags, "restore", reasons);

  const differences = routingProblems(planTraffic(config), before);
  if (differences.length === 0) {
    emit(ctx, flags, { command: "restore", restored: false, traffic: before }, () =>
      ctx.out.log(
        `the ALB already serves ${config.stack}'s configured routing (phase ${config.phase}, green ${config.greenWeight} %): nothing to restore`,
      ),
    );
    return EXIT.ok;
  }
  const say = progress(ctx, start, Boolean(flags.json));
  say(
    `restoring ${config.stack}'s configured routing (phase ${config.phase}, green ${config.greenWeight} %):`,
  );
  for (const d of differences) say(`  ${d}`);
  const deployed = await deployChange(ctx, {
    up: "restore configured routing",
    start,
    json: Boolean(flags.json),
    // Nothing was written, so nothing is put back: the ALB stays where the failed up left it.
    restore: { kept: "unchanged (restore writes no config)" },
    verify: (after) => verifyTraffic(ctx, config, {}, after),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "restore", start, deployed);
  const problems = deployed.verified;
  const after = await readAlbTraffic(ctx.aws, outputs);
  const seconds = elapsedSeconds(ctx, start);
  const recorded =
    problems.length === 0
      ? await recordEvent(ctx, {
          kind: "restore",
          summary: `restore ${config.stack}: configured routing back (phase ${config.phase}, green ${config.greenWeight} %, ${after.reduce((n, t) => n + t.cohortRulesToGreen, 0)} cohort rules to green)`,
        })
      : undefined;
  emit(
    ctx,
    flags,
    {
      command: "restore",
      restored: problems.length === 0,
      problems,
      before,
      traffic: after,
      seconds,
      ...(recorded && { event: recorded.event }),
    },
    () => {
      ctx.out.log(
        problems.length === 0
          ? `restored in ${formatSeconds(seconds)}: the ALB serves ${config.stack}'s configured routing`
          : `restore FAILED: after up the ALB still differs from the config:`,
      );
      for (const p of problems) ctx.out.log(`  - ${p}`);
      ctx.out.log("traffic, read from the ALB:");
      trafficTable(ctx, after);
    },
  );
  return problems.length === 0 ? EXIT.ok : EXIT.refused;
}
