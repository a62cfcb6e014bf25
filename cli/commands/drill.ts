import { runDrill, type DrillResult } from "../../rollout/drill";
import { drillPicture } from "../../rollout/svg/drillPicture";
import { svgPath, writeSvgFile } from "../../rollout/svg/file";
import { clock } from "../../rollout/svg/layout";
import { loadScenario } from "../../rollout/loaders";
import { errorMessage } from "../../rollout/errors";
import type { StackOutputs } from "../../rollout/stackOutputs";
import { RolloutInputError } from "../../rollout/validation";
import {
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readStackOutputs,
  stackAlarms,
  type CommandContext,
} from "../backend";
import { deployChange, deployFailed, type Deploy } from "../deployChange";
import { EXIT, formatSeconds, requireFlag, table, type Output } from "../output";
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

/** `mm:ss` from the start of the drill: one notation for the tables and the pictures. */
export { clock };

function describeRollback(result: DrillResult): string {
  const trigger = result.trigger;
  if (!trigger || result.rollbackAt === null) return "no rollback";
  const by =
    trigger.id !== null
      ? `by trigger ${trigger.id} (${trigger.alarm ?? `GuardDuty finding on ${trigger.gate}`})`
      : `by ${trigger.alarm ?? trigger.gate} (gate ${trigger.gate} is in no automatic trigger)`;
  const after =
    trigger.breachAt === null
      ? "with no raw breach: missing data treated as breaching"
      : `${result.rollbackAt - trigger.breachAt} s after the first breach`;
  return `rollback at ${clock(result.rollbackAt)} (${after}) ${by}`;
}

export function printDrill(result: DrillResult, out: Output, origin?: string): void {
  out.log(
    `drill of ${result.playbook} over ${formatSeconds(result.durationSeconds)}${origin ? ` (${origin})` : ""}`,
  );
  out.log("");
  if (result.transitions.length === 0) out.log("state changes: none");
  else {
    out.log("state changes:");
    const rows = result.transitions.map((t) => [clock(t.at), t.alarm, `${t.from} -> ${t.to}`]);
    for (const line of table(["time", "alarm", "from -> to"], rows)) out.log(line);
  }
  out.log("");
  out.log(`alarms raised: ${result.alarmsRaised.length > 0 ? result.alarmsRaised.join(", ") : "none"}`);
  const changed = new Set(result.transitions.map((t) => t.alarm));
  const silent = result.alarms.filter((a) => !changed.has(a.key));
  // No state change is not always no data: too few real datapoints can keep INSUFFICIENT_DATA.
  if (silent.length > 0)
    out.log(`INSUFFICIENT_DATA throughout (no state change): ${silent.map((a) => a.key).join(", ")}`);
  for (const f of result.findings) {
    out.log(
      `GuardDuty finding on ${f.gate} at ${clock(f.at)}, published to EventBridge at ${clock(f.publishedAt)}`,
    );
  }
  out.log("");
  out.log(describeRollback(result));
  out.log("");
  out.log("trigger limits:");
  const rows = result.triggers.map((t) => [
    t.id,
    t.breachAt === null ? "-" : clock(t.breachAt),
    t.rolledBackAt === null ? "-" : clock(t.rolledBackAt),
    t.detectionSeconds === null ? "-" : `${t.detectionSeconds} s`,
    `${t.limitSeconds} s`,
    t.met === null ? "-" : t.met ? "met" : "MISSED",
    t.note,
  ]);
  for (const line of table(["trigger", "breach", "blue at", "detection", "limit", "result", "why"], rows))
    out.log(line);
  // Data for a manual gate is the scenario's mistake, not the drill's: say it, still exit 0.
  for (const id of result.ignoredMetrics) out.log(`ignored: ${id} is a manual gate (no alarm)`);
  if (result.notAutomated.length > 0) {
    out.log("");
    out.log(`not automated (manual evidence, not simulated): ${result.notAutomated.join(", ")}`);
  }
}

/**
 * `rollout drill --scenario FILE [--svg FILE] [--json]`: replay a metric timeline through the playbook's gates,
 * offline (see rollout/drill.ts for the semantics).
 *
 * Exit 0 when the drill ran and no rollback trigger missed its limit, whether or not it rolled
 * back: a rollback (or its absence) is the drill's finding, not a failure. Exit 1 when a trigger
 * that breached was rolled back too late, or not at all (`met: false`): the output says which
 * (`missedTriggers` and `exitReason` in JSON).
 * Bad input (missing flag, unreadable or invalid scenario, unknown playbook or gate) throws a
 * RolloutInputError: runCli prints it (and its JSON line with --json) and exits 2.
 * `--svg FILE` also draws the drill (rollout/svg/drillPicture.ts) and says where (`svg` in JSON);
 * a path that cannot be written is bad input, refused before the drill runs.
 *
 * `--live --stack staging` is drillLiveCommand below: the CLI router sends `drill` with
 * `--live` there and everything else here. Called with `--live`, this throws a
 * RolloutInputError (the router maps it to exit 2).
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async: bad input too is a rejection, as callers await
export async function drillCommand(values: Record<string, unknown>, out: Output): Promise<number> {
  if (values.live) {
    throw new RolloutInputError(
      "--live: the live drill (--live --stack staging) is not handled here; the router must send it to the live drill command",
    );
  }
  const file = requireFlag(values, "scenario", "a YAML or JSON drill scenario file");
  const svg = svgPath(values.svg);
  const { scenario, playbook } = loadScenario(file);
  const result = runDrill(playbook, scenario);
  if (svg !== undefined) writeSvgFile(svg, drillPicture({ playbook, scenario, result, origin: file }));
  const missed = result.triggers.filter((t) => t.met === false).map((t) => t.id);
  const exitReason =
    missed.length === 0
      ? undefined
      : `rollback trigger${missed.length > 1 ? "s" : ""} ${missed.join(", ")} missed ${missed.length > 1 ? "their limits" : "its limit"}`;
  if (values.json)
    out.log(
      JSON.stringify(
        {
          scenario: file,
          ...result,
          missedTriggers: missed,
          ...(exitReason ? { exitReason } : {}),
          ...(svg !== undefined ? { svg } : {}),
        },
        null,
        2,
      ),
    );
  else {
    printDrill(result, out, file);
    if (svg !== undefined) {
      out.log("");
      out.log(`picture written to ${svg}`);
    }
    if (exitReason) {
      out.log("");
      out.log(`drill FAILED: ${exitReason} (exit 1)`);
    }
  }
  return exitReason ? EXIT.refused : EXIT.ok;
}

/** How often a live drill reads the ALB while it waits for blue. */
const DRILL_POLL_SECONDS = 5;

/**
 * Seconds from `start` until every service is blue on the ALB, or undefined once past `limit`.
 * At least one look, however long `up` took: the time is reported even when over the limit.
 */
async function timeToBlue(
  ctx: CommandContext,
  start: Date,
  limit: number,
  outputs: StackOutputs,
): Promise<number | undefined> {
  for (;;) {
    if ((await blueProblems(ctx, outputs)).length === 0) return elapsedSeconds(ctx, start);
    if (elapsedSeconds(ctx, start) > limit) return undefined;
    await ctx.sleep(DRILL_POLL_SECONDS * 1000);
  }
}

/** A drill's deploy, whose failure (even an unreadable ALB while it verifies) is returned, never thrown: the restore always runs. */
async function drillDeploy<V>(
  ctx: CommandContext,
  change: Deploy<V>,
): Promise<{ verified: V; error?: undefined } | { error: string }> {
  try {
    const deployed = await deployChange(ctx, change);
    return deployed.ok ? { verified: deployed.verified } : deployed;
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

/**
 * `rollout drill --live --stack S`: a real rollback drill on a staging-tier stack: force a
 * rollback, poll the ALB until every service is blue (measured time-to-blue), restore the
 * previous config and verify it.
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
  const before = await readAlbTraffic(ctx.aws, await readStackOutputs(ctx.backend));
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
  const mayStillBeTrue = `rollout:rollback may still be true: check \`npm run rollout -- status --stack ${config.stack}\``;
  say(`drill on ${config.stack}: forcing a rollback`);
  const forced = await drillDeploy(ctx, {
    set: { rollback: "true" },
    up: "drill rollback",
    start,
    json,
    restore: { kept: "rollout:rollback stays true until the drill restores it" },
    verify: (outputs) => timeToBlue(ctx, start, limit, outputs),
  });
  const waited = elapsedSeconds(ctx, start);
  say("restoring the previous configuration");
  const restore = await drillDeploy(ctx, {
    set: { rollback: String(config.rollback) },
    up: "drill restore",
    start,
    json,
    restore: { kept: mayStillBeTrue },
    verify: (outputs) => verifyTraffic(ctx, config, {}, outputs),
  });
  if (forced.error !== undefined || restore.error !== undefined) {
    const errors = [
      forced.error !== undefined && `forced rollback: ${forced.error}`,
      restore.error !== undefined && `restore: ${restore.error}`,
    ]
      .filter(Boolean)
      .join("; ");
    return deployFailed(ctx, flags, "drill --live", start, {
      error: errors,
      config:
        restore.error !== undefined ? mayStillBeTrue : `rollout:rollback restored to ${config.rollback}`,
    });
  }
  const seconds = forced.verified;
  const restored = restore.verified;
  const withinLimit = seconds !== undefined && seconds <= limit;
  emit(
    ctx,
    flags,
    {
      command: "drill",
      live: true,
      before,
      timeToBlueSeconds: seconds ?? null,
      waitedSeconds: waited,
      limitSeconds: limit,
      withinLimit,
      restored: restored.length === 0,
      problems: restored,
    },
    () => {
      say(
        seconds === undefined
          ? `NOT blue after ${formatSeconds(waited)} (limit ${formatSeconds(limit)})`
          : `time to blue: ${formatSeconds(seconds)} (limit ${formatSeconds(limit)})${seconds <= limit ? "" : " - OVER the limit"}`,
      );
      for (const p of restored) say(`restore check FAILED: ${p}`);
      if (restored.length === 0) say("previous traffic restored and verified");
    },
  );
  return withinLimit && restored.length === 0 ? EXIT.ok : EXIT.refused;
}
