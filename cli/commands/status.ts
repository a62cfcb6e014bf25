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
import { EXIT } from "../output";
import { emit, trafficTable, type Flags } from "./shared";

/** `{ALARM: 1, OK: 20, INSUFFICIENT_DATA: 3}`, in that order. */
function stateCounts(alarms: AlarmState[]): Record<string, number> {
  const counts: Record<string, number> = { ALARM: 0, OK: 0, INSUFFICIENT_DATA: 0 };
  for (const a of alarms) counts[a.state] = (counts[a.state] ?? 0) + 1;
  return counts;
}

/** `rollout status --stack S`: phase, weights read from the ALB, alarms, latch, decisions, sign-offs. */
export async function statusCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const config = await loadLiveConfig(ctx.backend);
  const outputs = await readStackOutputs(ctx.backend);
  const [traffic, alarms, latch] = await Promise.all([
    readAlbTraffic(ctx.aws, outputs),
    alarmStates(ctx.aws, config, stackAlarms(config)),
    readLatch(ctx.aws, config.stack),
  ]);
  const firing = alarms.filter((a) => a.state === "ALARM").map((a) => a.name);
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
    alarmStates: stateCounts(alarms),
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
