import { loadScenario, runDrill, type DrillResult } from "../../rollout/drill";
import { RolloutInputError } from "../../rollout/validation";
import { EXIT, formatSeconds, requireFlag, table, type Output } from "../output";

/** `mm:ss` from the start of the drill (minutes keep counting past 59). */
export function clock(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  return `${String(minutes).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")}`;
}

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
  if (silent.length > 0)
    out.log(`no data throughout (INSUFFICIENT_DATA): ${silent.map((a) => a.key).join(", ")}`);
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
 * `rollout drill --scenario FILE [--json]`: replay a metric timeline through the playbook's gates,
 * offline (see rollout/drill.ts for the semantics).
 *
 * Exit 0 whenever the drill ran, whether or not it rolled back: a rollback (or its absence) is
 * the drill's finding, not a failure, so read the output (or `--json`) for the verdict.
 * Bad input (missing flag, unreadable or invalid scenario, unknown playbook or gate) throws a
 * RolloutInputError: runCli prints it (and its JSON line with --json) and exits 2.
 *
 * `--live --stack staging` is a separate command: the CLI router should send `drill` with
 * `--live` there and everything else here. Called with `--live`, this throws a
 * RolloutInputError (the router maps it to exit 2).
 */
export async function drillCommand(values: Record<string, unknown>, out: Output): Promise<number> {
  if (values.live) {
    throw new RolloutInputError(
      "--live: the live drill (--live --stack staging) is not handled here; the router must send it to the live drill command",
    );
  }
  const file = requireFlag(values, "scenario", "a YAML or JSON drill scenario file");
  const { scenario, playbook } = loadScenario(file);
  const result = runDrill(playbook, scenario);
  if (values.json) out.log(JSON.stringify({ scenario: file, ...result }, null, 2));
  else printDrill(result, out, file);
  return EXIT.ok;
}
