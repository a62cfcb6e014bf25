import { DeleteParameterCommand } from "@aws-sdk/client-ssm";
import { latchParameterName } from "../../rollout/names";
import { planTraffic } from "../../rollout/traffic";
import { isUnreadableLatch } from "../../rollout/state";
import {
  describeAlarm,
  firingAlarms,
  loadLiveConfig,
  readAlbTraffic,
  readLatch,
  readStackOutputs,
  rollbackAlarms,
  stackAlarms,
  type CommandContext,
} from "../backend";
import { deployChange } from "../deployChange";
import { recordEvent } from "../events";
import { EXIT } from "../output";
import { emit, refuse, type Flags } from "./shared";

/**
 * Acknowledge an automatic rollback: record the latch's time in config (audit trail) and
 * delete the latch. Traffic does not move here: the Lambda set the listener to blue outside
 * Pulumi, so green stays at 0 % (and, in a pilot phase, the cohort rules forward to blue) until
 * `rollout restore` returns the ALB to the configured routing, once green is fixed and no
 * rollback alarm fires.
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
  // Acknowledging while a rollback alarm still fires would hand green back at the next up (CI's
  // deploy of the acknowledged config included) with the composite already in ALARM, and "the
  // actions happen only on state transitions, and are not performed again if the condition
  // persists" (CloudWatch User Guide, "Alarm actions"): no second rollback would come. The latch
  // stays until the alarms are OK.
  const alarms = stackAlarms(config);
  const rollback = rollbackAlarms(await firingAlarms(ctx.aws, config, alarms), alarms);
  if (rollback.length > 0)
    return refuse(ctx, flags, "resume", [
      `rollback alarms in ALARM: ${rollback.map((n) => describeAlarm(n, alarms)).join(", ")}: the latch keeps blue until green is fixed and they are OK`,
    ]);
  // An unreadable latch has no time to acknowledge: deleting the parameter alone clears it.
  const acknowledged = isUnreadableLatch(latch) ? undefined : latch.at;
  if (acknowledged) await deployChange(ctx, { set: { rollbackAcknowledged: acknowledged } });
  await ctx.aws.ssm.send(new DeleteParameterCommand({ Name: latchParameterName(config.stack) }));
  await recordEvent(ctx, {
    kind: "resume",
    summary: acknowledged
      ? `resume ${config.stack}: the automatic rollback by ${latch.alarm} at ${latch.at} acknowledged (${latch.reason}); traffic stays on blue until restore`
      : `resume ${config.stack}: an unreadable latch parameter cleared`,
  });
  const traffic = await readAlbTraffic(ctx.aws, await readStackOutputs(ctx.backend));
  const green = Math.max(0, ...traffic.map((t) => t.green));
  const cohortRules = traffic.reduce((n, t) => n + t.cohortRulesToGreen, 0);
  const plan = planTraffic(config);
  const planned = {
    green: Math.max(0, ...plan.map((t) => t.green)),
    cohortRules: plan.reduce((n, t) => n + t.cohortRoutes.length, 0),
  };
  const next = config.rollback
    ? `npm run rollout -- rollback --clear --stack ${config.stack}`
    : `npm run rollout -- restore --stack ${config.stack}`;
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
        `the ALB serves ${green} % to green and ${cohortRules} cohort rules to green; the config plans ${planned.green} % and ${planned.cohortRules} cohort rules. Traffic moves only with: \`${next}\``,
      );
      ctx.out.log(
        "(a plain `pulumi up` without --refresh changes nothing: Pulumi's state still holds the weights from before the Lambda)",
      );
    },
  );
  return EXIT.ok;
}
