import type { RolloutConfig } from "../../rollout/config";
import type { StackOutputs } from "../../rollout/stackOutputs";
import { planTraffic, type ServiceTraffic } from "../../rollout/traffic";
import { table } from "../output";
import {
  describeAlarm,
  firingAlarms,
  readAlbTraffic,
  readLatch,
  type CommandContext,
  type LiveTraffic,
  type StackAlarms,
} from "../backend";

/**
 * What the live commands share: output (JSON or human), refusals, and the checks they make on
 * the stack before and after a change. Each command takes its flags and a CommandContext
 * (Automation API backend, AWS clients, output, clock), so every path is tested with fakes.
 */

export type Flags = Record<string, unknown>;

// The output of a result or a refusal is shared with what runs before a command (cli/stackFileChecks.ts).
export { emit, refuse } from "../output";

export function trafficTable(ctx: CommandContext, traffic: LiveTraffic[]): void {
  const rows = traffic.map((t) => [t.service, `${t.blue} %`, `${t.green} %`, t.cohortRulesToGreen]);
  for (const line of table(["service", "blue", "green", "cohort rules -> green"], rows))
    ctx.out.log(`  ${line}`);
}

export const elapsedSeconds = (ctx: CommandContext, start: Date) =>
  (ctx.now().getTime() - start.getTime()) / 1000;

/** Why a change must wait: this stack's alarms in ALARM, and the automatic-rollback latch. */
export async function unhealthyReasons(
  ctx: CommandContext,
  config: RolloutConfig,
  alarms: StackAlarms,
): Promise<string[]> {
  const [firing, latch] = await Promise.all([
    firingAlarms(ctx.aws, config, alarms),
    readLatch(ctx.aws, config.stack),
  ]);
  const reasons: string[] = [];
  if (firing.length > 0)
    reasons.push(
      `alarms in ALARM: ${firing.map((n) => describeAlarm(n, alarms)).join(", ")} (see \`npm run rollout -- status --stack ${config.stack}\`)`,
    );
  if (latch)
    reasons.push(
      `automatic rollback latch set by ${latch.alarm} at ${latch.at}: fix green, then \`npm run rollout -- resume --stack ${config.stack}\``,
    );
  return reasons;
}

export function rollbackSetReason(config: RolloutConfig): string {
  return `rollout:rollback is true: once green is fixed, \`npm run rollout -- rollback --clear --stack ${config.stack}\``;
}

/** Traffic on the ALB equals the plan for the config (what `up` should have produced). */
export async function verifyTraffic(
  ctx: CommandContext,
  config: RolloutConfig,
  change: { phase?: string; greenWeight?: number; rollback?: boolean },
  outputs: StackOutputs,
): Promise<string[]> {
  const expected = planTraffic({
    ...config,
    phase: change.phase ?? config.phase,
    greenWeight: change.greenWeight ?? config.greenWeight,
    rollback: change.rollback ?? config.rollback,
  });
  return routingProblems(expected, await readAlbTraffic(ctx.aws, outputs));
}

/**
 * Where the ALB's routing differs from a plan, one line per difference: a service missing from
 * the listener, green's share of general traffic, the cohort rules forwarding to green.
 */
export function routingProblems(
  expected: readonly Pick<ServiceTraffic, "service" | "green" | "cohortRoutes">[],
  live: readonly LiveTraffic[],
): string[] {
  return expected.flatMap((e) => {
    const l = live.find((x) => x.service === e.service);
    if (!l) return [`${e.service}: not found on the listener`];
    const problems: string[] = [];
    if (l.green !== e.green)
      problems.push(`${e.service}: ALB sends ${l.green} % to green, expected ${e.green} %`);
    if (l.cohortRulesToGreen !== e.cohortRoutes.length)
      problems.push(
        `${e.service}: ${l.cohortRulesToGreen} cohort rules to green, expected ${e.cohortRoutes.length}`,
      );
    return problems;
  });
}

/** Every service 100 % blue on the ALB and nothing forwarding to green. */
export async function blueProblems(ctx: CommandContext, outputs: StackOutputs): Promise<string[]> {
  const live = await readAlbTraffic(ctx.aws, outputs);
  return live.flatMap((t) => [
    ...(t.green > 0 ? [`${t.service}: ${t.green} % of general traffic still on green`] : []),
    ...(t.cohortRulesToGreen > 0
      ? [`${t.service}: ${t.cohortRulesToGreen} cohort rules still forward to green`]
      : []),
  ]);
}
