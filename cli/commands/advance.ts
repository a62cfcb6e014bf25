import { latestDecision, missingSignoffs } from "../../rollout/decisions";
import { nextPhase, transitionFrom } from "../../rollout/phases";
import { loadLiveConfig, progress, stackAlarms, type CommandContext } from "../backend";
import { deployChange, deployFailed } from "../deployChange";
import { recordEvent } from "../events";
import { EXIT, formatSeconds } from "../output";
import {
  elapsedSeconds,
  emit,
  refuse,
  rollbackSetReason,
  unhealthyReasons,
  verifyTraffic,
  type Flags,
} from "./shared";

/**
 * `rollout advance --stack S`: the next phase, with a recorded GO and (production) its sign-offs,
 * never while rollout:rollback is true, an alarm fires or the latch is set. Verified on the ALB.
 */
export async function advanceCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const start = ctx.now();
  const config = await loadLiveConfig(ctx.backend);
  const next = nextPhase(config.playbookSpec, config.phase);
  if (!next)
    return refuse(ctx, flags, "advance", [
      `${config.phase} is the last phase of ${config.playbookSpec.id}: once its success criteria are met, \`npm run rollout -- finish --stack ${config.stack} --evidence FILE\``,
    ]);
  const reasons: string[] = [];
  // A finished release has nothing left to roll out: its green is idle and blue runs its version.
  if (config.finish)
    reasons.push(
      `the release finished at ${config.finish.at}: open the next one first with \`npm run rollout -- start --stack ${config.stack} --image SERVICE=IMAGE\``,
    );
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

  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  say(`advancing ${config.stack}: ${config.phase} -> ${next.id}`);
  const deployed = await deployChange(ctx, {
    set: { phase: next.id },
    up: `phase ${next.id}`,
    start,
    json,
    restore: { entries: { phase: config.phase }, what: `rollout:phase to ${config.phase}` },
    verify: (outputs) => verifyTraffic(ctx, config, { phase: next.id }, outputs),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "advance", start, deployed);
  const problems = deployed.verified;
  await recordEvent(ctx, {
    kind: "advance",
    summary: `advance ${config.stack}: ${config.phase} -> ${next.id}${problems.length === 0 ? "" : " (the ALB does not match the plan)"}`,
    details: { from: config.phase, to: next.id, verified: problems.length === 0 },
  });
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
