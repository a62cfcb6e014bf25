import { PublishCommand } from "@aws-sdk/client-sns";
import { ROLLBACK_REASON_MAX } from "../../rollout/config";
import { errorMessage } from "../../rollout/errors";
import type { StackOutputs } from "../../rollout/stackOutputs";
import { SNS_SUBJECT_MAX, snsSubject } from "../../rollout/snsSubject";
import { RolloutInputError } from "../../rollout/validation";
import {
  loadLiveConfig,
  moveRulesToBlue,
  progress,
  readStackOutputs,
  ruleStates,
  stackAlarms,
  type CommandContext,
  type RuleMove,
  type RuleState,
} from "../backend";
import { deployChange, deployFailed, type Deployed } from "../deployChange";
import { recordEvent } from "../events";
import { EXIT, formatSeconds, oneLine, requireFlag } from "../output";
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
 * `rollout rollback --stack S --reason R`: traffic first. The listener rules go to blue with
 * the rollback Lambda's own calls (DescribeRules, `blueActions`, ModifyRule per rule, all at
 * once), the ALB is read back until every service is 100 % blue (time-to-blue, judged against
 * the playbook's limit), the critical topic is told the reason, and only then is config set
 * (`rollout:rollback` true, `rollout:rollbackReason`) and reconciled with `pulumi up --refresh`
 * (time-to-reconciled). `--clear` ends a rollback once green is fixed.
 */
export async function rollbackCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  if (flags.clear) return clearRollback(flags, ctx);
  const reason = rollbackReason(flags);
  const start = ctx.now();
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  const stack = ctx.backend.stackName;
  say(`rolling back ${stack}: ${reason}`);
  // Both reads at once; traffic waits only for the outputs. A config that does not parse does
  // not keep traffic on green: it fails the `up` afterwards, and says so there.
  const configRead = settle(loadLiveConfig(ctx.backend));
  const outputs = await settle(readStackOutputs(ctx.backend));
  if (outputs instanceof Error) {
    // No listener to move: Pulumi itself is unreachable (no CLI, no stack), or the outputs are not there.
    const config = await configRead;
    if (config instanceof Error) throw config;
  }

  // 1. The listener rules to blue.
  let moves: RuleMove[] = [];
  let moveError: string | undefined;
  if (outputs instanceof Error) moveError = `the stack outputs could not be read: ${outputs.message}`;
  else {
    say(
      "moving the listener rules to blue (DescribeRules, ModifyRule per rule: the rollback Lambda's calls)",
    );
    const moved = await settle(moveRulesToBlue(ctx.aws, outputs));
    if (moved instanceof Error) moveError = moved.message;
    else {
      moves = moved.moves;
      if (moved.unlisted !== undefined) moveError = `DescribeRules failed: ${moved.unlisted}`;
    }
  }

  // 2. What the ALB serves now: time-to-blue (the rules' lines are printed after it).
  let problems: string[];
  if (outputs instanceof Error) problems = [`the ALB was not read: ${outputs.message}`];
  else
    try {
      problems = await blueProblems(ctx, outputs);
    } catch (error) {
      problems = [`the ALB could not be read back: ${oneLine(errorMessage(error))}`];
    }
  let timeToBlue: number | null = problems.length === 0 ? elapsedSeconds(ctx, start) : null;
  for (const m of moves)
    say(
      m.error === undefined
        ? `  ${m.service}: ${m.kind} rule -> 100 % blue (${m.ruleArn})`
        : `  FAILED ${m.service}: ${m.kind} rule ${m.ruleArn}: ${m.error}`,
    );
  if (moveError !== undefined)
    say(`could NOT move every listener rule: ${moveError}; the \`pulumi up\` below moves them instead`);
  else if (moves.length === 0) say("every listener rule of this stack was already on blue");
  const config = await configRead;
  const limit = config instanceof Error ? null : config.playbookSpec.rollback.limitSeconds;
  let rules: RuleState[] | undefined;
  if (timeToBlue !== null)
    say(`every service is 100 % blue (verified on the ALB): ${judged(timeToBlue, limit)}`);
  else {
    for (const p of problems) say(`NOT on blue: ${p}`);
    rules = outputs instanceof Error ? undefined : await settleOr(ruleStates(ctx.aws, outputs), undefined);
    if (rules) {
      say(`rules on blue: ${list(rules.filter((r) => r.onBlue))}`);
      say(`rules still forwarding to green: ${list(rules.filter((r) => !r.onBlue))}`);
    }
  }
  const failed = moveError !== undefined || moves.some((m) => m.error !== undefined) || timeToBlue === null;

  // 3. The critical topic is told, before the slow part.
  const notification = await notify(ctx, outputs, { stack, reason, moves, problems, timeToBlue, moveError });
  if ("error" in notification)
    say(`the critical topic was NOT told: ${notification.error}; tell the on-call yourself`);
  else say(`told the critical topic: "${notification.subject}"`);

  // 4. Config says blue, and `up` reconciles the stack with what the ALB now serves.
  say("setting rollout:rollback=true and rollout:rollbackReason, then pulumi up --refresh to reconcile");
  let deployed: Deployed<string[]>;
  let configSet = true;
  try {
    deployed = await deployChange(ctx, {
      set: { rollback: "true", rollbackReason: reason },
      up: "rollback",
      start,
      json,
      restore: {
        kept: "rollout:rollback stays true and rollout:rollbackReason set: the next `up` keeps 100 % blue",
      },
      verify: (after) => blueProblems(ctx, after),
    });
  } catch (error) {
    configSet = false;
    deployed = {
      ok: false,
      error: `pulumi config set failed: ${oneLine(errorMessage(error))}`,
      config: `rollout:rollback could NOT be set: before any other \`up\`, \`pulumi config set rollout:rollback true -s ${stack}\` (an \`up\` without it puts green's weight back)`,
    };
  }
  const reconciledAt = deployed.ok ? elapsedSeconds(ctx, start) : null;
  if (deployed.ok) {
    problems = deployed.verified;
    // The rules did not all move but `up` moved them: blue now, later than the fast path would have.
    if (timeToBlue === null && problems.length === 0) timeToBlue = reconciledAt;
  } else if (!(outputs instanceof Error)) {
    // What "traffic IS blue" rests on: the ALB read again, after the failed `up`.
    problems = await blueProblems(ctx, outputs).catch((e: unknown) => [
      `the ALB could not be read after the failed up: ${oneLine(errorMessage(e))}`,
    ]);
    if (timeToBlue === null && problems.length === 0) timeToBlue = elapsedSeconds(ctx, start);
  }
  const fastError =
    moveError ??
    (moves.some((m) => m.error !== undefined)
      ? `ModifyRule failed for ${moves
          .filter((m) => m.error !== undefined)
          .map((m) => m.ruleArn)
          .join(", ")}`
      : failed
        ? "the ALB did not read 100 % blue after the rules moved"
        : undefined);
  const error = !deployed.ok
    ? deployed.error
    : problems.length > 0
      ? "not every service is on blue after pulumi up"
      : fastError;
  const ok = error === undefined;
  // The info topic and the history hear of it too (the critical topic was told above, first).
  await recordEvent(ctx, {
    kind: "rollback",
    summary: `manual rollback of ${stack}: ${reason}${problems.length === 0 ? "" : " (NOT every service is on blue)"}`,
    details: {
      reason,
      onBlue: problems.length === 0,
      timeToBlueSeconds: timeToBlue,
      reconciled: deployed.ok,
    },
  });
  emit(
    ctx,
    flags,
    {
      command: "rollback",
      reason,
      verified: problems.length === 0,
      problems,
      rules: {
        moved: moves.filter((m) => m.error === undefined),
        failed: moves.filter((m) => m.error !== undefined),
        ...(moveError !== undefined && { error: moveError }),
        ...(rules && { states: rules }),
      },
      timeToBlueSeconds: timeToBlue,
      timeToReconciledSeconds: reconciledAt,
      limitSeconds: limit,
      withinLimit: timeToBlue !== null && limit !== null && timeToBlue <= limit,
      notified: !("error" in notification),
      notification,
      reconciled: deployed.ok,
      config: deployed.ok ? "rollout:rollback=true and rollout:rollbackReason set" : deployed.config,
      ...(!ok && { failed: true, error }),
    },
    () => {
      if (deployed.ok) {
        for (const p of problems) say(`NOT on blue after pulumi up: ${p}`);
        say(
          `reconciled: pulumi up with rollout:rollback=true succeeded (time-to-reconciled ${formatSeconds(reconciledAt!)})`,
        );
        if (problems.length === 0)
          say(
            `time-to-blue ${formatSeconds(timeToBlue!)}${fastError ? " (by pulumi up: the listener rules did not all move)" : ""}, time-to-reconciled ${formatSeconds(reconciledAt!)}; ${withinWords(timeToBlue!, limit)}`,
          );
        return;
      }
      say(`rollback's reconcile FAILED: ${deployed.error}`);
      if (problems.length === 0)
        say(
          `traffic IS blue: every service 100 % blue on the ALB (read again now; time-to-blue ${formatSeconds(timeToBlue!)})`,
        );
      else {
        say("traffic is NOT all blue:");
        for (const p of problems) say(`  ${p}`);
        say(
          "run this command again (it moves only the rules still on green), or put those rules on blue in the console",
        );
      }
      say(`config: ${deployed.config}`);
      if (configSet)
        say(
          `retry the reconcile: \`pulumi up --refresh -s ${stack}\` with the policy pack, or this command again (rules already on blue are not touched)`,
        );
    },
  );
  if (!ok) ctx.out.error(`error: rollback: ${error}`);
  return ok ? EXIT.ok : EXIT.refused;
}

/** `--reason`: present, not blank, at most ROLLBACK_REASON_MAX characters (what config and the state record hold). */
function rollbackReason(flags: Flags): string {
  const reason = requireFlag(
    flags,
    "reason",
    "why you are rolling back (stored as rollout:rollbackReason, sent to the critical topic)",
  ).trim();
  if (reason.length === 0)
    throw new RolloutInputError(`--reason: expected why you are rolling back, got only spaces`);
  if (Array.from(reason).length > ROLLBACK_REASON_MAX)
    throw new RolloutInputError(
      `--reason: expected at most ${ROLLBACK_REASON_MAX} characters (rollout:rollbackReason, kept in the state record), got ${Array.from(reason).length}`,
    );
  return reason;
}

/** A promise's value, or the Error it failed with (never a rejection). */
async function settle<T>(promise: Promise<T>): Promise<T | Error> {
  try {
    return await promise;
  } catch (error) {
    return error instanceof Error ? error : new Error(errorMessage(error));
  }
}

async function settleOr<T, F>(promise: Promise<T>, fallback: F): Promise<T | F> {
  const value = await settle(promise);
  return value instanceof Error ? fallback : value;
}

const list = (rules: RuleState[]) =>
  rules.length === 0 ? "none" : rules.map((r) => `${r.service} ${r.kind} (${r.ruleArn})`).join(", ");

const judged = (seconds: number, limit: number | null) =>
  limit === null
    ? `time-to-blue ${formatSeconds(seconds)} (the playbook's limit is unknown: the config did not parse)`
    : `time-to-blue ${formatSeconds(seconds)} against the playbook's ${formatSeconds(limit)} limit${seconds <= limit ? "" : " - OVER the limit"}`;

const withinWords = (seconds: number, limit: number | null) =>
  limit === null
    ? "the playbook's limit is unknown (the config did not parse)"
    : `${seconds <= limit ? "within" : "OVER"} the playbook's ${formatSeconds(limit)} limit (judged on time-to-blue)`;

export { SNS_SUBJECT_MAX };

export function rollbackSubject(stack: string, reason: string, complete: boolean): string {
  return snsSubject(`[${stack}] manual rollback${complete ? "" : " INCOMPLETE"}: ${reason}`);
}

type Notification = { topicArn: string; subject: string; messageId?: string } | { error: string };

/** The reason and what the ALB serves, to the stack's critical topic (`alertTopics.critical`). Never throws. */
async function notify(
  ctx: CommandContext,
  outputs: StackOutputs | Error,
  what: {
    stack: string;
    reason: string;
    moves: RuleMove[];
    problems: string[];
    timeToBlue: number | null;
    moveError: string | undefined;
  },
): Promise<Notification> {
  const topicArn = outputs instanceof Error ? undefined : outputs.alertTopics?.critical;
  if (!topicArn)
    return {
      error: `no critical topic in the stack outputs (alertTopics.critical)${outputs instanceof Error ? `: ${outputs.message}` : ""}`,
    };
  const { stack, reason, moves, problems, timeToBlue, moveError } = what;
  const subject = rollbackSubject(stack, reason, timeToBlue !== null);
  const lines = [
    `Manual rollback of stack ${stack} at ${ctx.now().toISOString()} by ${process.env.USER ?? "an operator"} (npm run rollout -- rollback)`,
    `Reason: ${reason}`,
    ...moves.map((m) =>
      m.error === undefined
        ? `  ${m.service}: ${m.kind} rule -> 100 % blue (${m.ruleArn})`
        : `  FAILED ${m.service}: ${m.kind} rule ${m.ruleArn}: ${m.error}`,
    ),
    ...(moveError !== undefined ? [`Not every listener rule could be moved: ${moveError}`] : []),
    timeToBlue !== null
      ? `Every service is 100 % blue on the ALB (verified ${formatSeconds(timeToBlue)} after the command started).`
      : `NOT every service is on blue yet: ${problems.join("; ")}.`,
    `Next: rollout:rollback=true and rollout:rollbackReason are set and \`pulumi up --refresh\` reconciles the stack. Once green is fixed: npm run rollout -- rollback --clear --stack ${stack}`,
  ];
  try {
    const sent = await ctx.aws.sns.send(
      new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: lines.join("\n") }),
    );
    return { topicArn, subject, ...(sent.MessageId && { messageId: sent.MessageId }) };
  } catch (error) {
    return { error: `${topicArn}: ${oneLine(errorMessage(error))}` };
  }
}

/**
 * `rollback --clear`: green is fixed; set `rollout:rollback` false (and remove
 * `rollout:rollbackReason`), `up` (with refresh) and verify the ALB serves the config's plan
 * again. Refused while alarms fire or the latch is set.
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
  // The reason goes with the rollback it explained; a failed `up` puts both back.
  const reason = config.rollbackReason;
  const deployed = await deployChange(ctx, {
    set: { rollback: "false" },
    ...(reason !== undefined && { remove: ["rollbackReason"] }),
    up: "rollback cleared",
    start,
    json,
    restore:
      reason === undefined
        ? { entries: { rollback: "true" }, what: "rollout:rollback to true" }
        : {
            entries: { rollback: "true", rollbackReason: reason },
            what: "rollout:rollback to true and rollout:rollbackReason",
          },
    verify: (outputs) => verifyTraffic(ctx, config, { rollback: false }, outputs),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "rollback --clear", start, deployed);
  const problems = deployed.verified;
  await recordEvent(ctx, {
    kind: "rollback",
    summary: `rollback cleared on ${config.stack}: back to ${config.phase} at greenWeight ${config.greenWeight} %${problems.length === 0 ? "" : " (the ALB does not match the plan)"}`,
    details: {
      cleared: true,
      phase: config.phase,
      greenWeight: config.greenWeight,
      verified: problems.length === 0,
      ...(reason !== undefined && { reason }),
    },
  });
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
