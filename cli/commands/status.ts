import { nextPhase, trafficCap } from "../../rollout/phases";
import { requiredRoles } from "../../rollout/decisions";
import {
  alarmStates,
  loadLiveConfig,
  readAlbTraffic,
  readLatch,
  readStackOutputs,
  stackAlarms,
  type AlarmState,
  type CommandContext,
} from "../backend";
import { planTraffic } from "../../rollout/traffic";
import { RolloutInputError } from "../../rollout/validation";
import { errorMessage } from "../../rollout/errors";
import { EXIT, formatSeconds, oneLine, parseDuration } from "../output";
import { emit, routingProblems, trafficTable, type Flags } from "./shared";

/** `{ALARM: 1, OK: 20, INSUFFICIENT_DATA: 3}`, in that order. */
function stateCounts(alarms: AlarmState[]): Record<string, number> {
  const counts: Record<string, number> = { ALARM: 0, OK: 0, INSUFFICIENT_DATA: 0 };
  for (const a of alarms) counts[a.state] = (counts[a.state] ?? 0) + 1;
  return counts;
}

/** How often `status --watch` reads the stack by default: twice per CloudWatch evaluation minute. */
const WATCH_DEFAULT_SECONDS = 30;
/** Reading faster than every 10 s shows nothing new (the fastest alarms evaluate every 10 s) and spends API calls. */
const WATCH_MIN_SECONDS = 10;
const WATCH_MAX_SECONDS = 3600;
/** Reads failing in a row that end `--watch` (exit 1): fewer is a blip, more is an outage to look at. */
const WATCH_FAILURES_MAX = 3;

/**
 * `rollout status --stack S [--watch [--interval T]]`: phase, weights read from the ALB, alarms,
 * latch, decisions, sign-offs, and where the ALB's routing differs from the config. `--watch`
 * reads again every interval until Ctrl-C (with --json: one JSON document per line).
 */
export async function statusCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  if (!flags.watch) {
    if (flags.interval !== undefined)
      throw new RolloutInputError(
        `--interval: only with --watch (how often status reads the stack again), got ${JSON.stringify(flags.interval)} without it`,
      );
    return statusOnce(flags, ctx);
  }
  const seconds =
    flags.interval === undefined
      ? WATCH_DEFAULT_SECONDS
      : parseDuration(
          "interval",
          flags.interval,
          WATCH_MIN_SECONDS,
          WATCH_MAX_SECONDS,
          "the fastest alarms evaluate every 10 s: reading more often shows nothing new",
        );
  let failuresInARow = 0;
  for (let reads = 1; ; reads += 1) {
    try {
      await statusOnce(flags, ctx, true);
      failuresInARow = 0;
    } catch (error) {
      // A watch outlives a throttled or dropped call: said on stderr, read again next time. Bad
      // config (exit 2) and a failure that repeats are not transient: they end the watch.
      failuresInARow += 1;
      if (error instanceof RolloutInputError || failuresInARow >= WATCH_FAILURES_MAX) throw error;
      ctx.out.error(
        `warning: read ${reads} failed (${failuresInARow} of ${WATCH_FAILURES_MAX} in a row stop the watch): ${oneLine(errorMessage(error))}`,
      );
    }
    if (ctx.signal?.aborted) break;
    if (!flags.json) ctx.out.log(`-- read ${reads}; next in ${formatSeconds(seconds)} (Ctrl-C stops) --`);
    await ctx.sleep(seconds * 1000);
    if (ctx.signal?.aborted) break;
  }
  if (!flags.json) ctx.out.log("status --watch stopped");
  return EXIT.ok;
}

async function statusOnce(flags: Flags, ctx: CommandContext, watching = false): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  const outputs = await readStackOutputs(ctx.backend);
  const [traffic, alarms, latch] = await Promise.all([
    readAlbTraffic(ctx.aws, outputs),
    alarmStates(ctx.aws, config, stackAlarms(config)),
    readLatch(ctx.aws, config.stack),
  ]);
  const firing = alarms.filter((a) => a.state === "ALARM").map((a) => a.name);
  // Where the ALB differs from the config's plan: what the rollback function (or a hand edit) changed.
  const routingDiffers = routingProblems(planTraffic(config), traffic);
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
    routingDiffers,
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
  const recovery = latch
    ? `the latch keeps blue: once green is fixed, \`npm run rollout -- resume --stack ${config.stack}\` then \`npm run rollout -- restore --stack ${config.stack}\``
    : `\`npm run rollout -- restore --stack ${config.stack}\` returns the ALB to the config`;
  if (watching && flags.json) {
    ctx.out.log(JSON.stringify({ at: ctx.now().toISOString(), ...status }));
    return EXIT.ok;
  }
  emit(ctx, flags, status, () => {
    ctx.out.log(
      `stack ${config.stack} (${config.tier}) - playbook ${config.playbookSpec.id} - phase ${config.phase}${next ? ` (next: ${next.id})` : ""}`,
    );
    ctx.out.log(
      `config: greenWeight ${config.greenWeight} % (cap ${trafficCap(config.playbookSpec, config.phase)} %), rollback ${config.rollback}`,
    );
    ctx.out.log("traffic, read from the ALB:");
    trafficTable(ctx, traffic);
    if (routingDiffers.length === 0) ctx.out.log("routing: the ALB serves what the config plans");
    else {
      ctx.out.log("ROUTING DIFFERS from the config:");
      for (const d of routingDiffers) ctx.out.log(`  - ${d}`);
      ctx.out.log(`  ${recovery}`);
    }
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
    ctx.out.log(`ALB: ${outputs.albDnsName}`);
  });
  return EXIT.ok;
}
