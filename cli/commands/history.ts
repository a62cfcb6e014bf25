import type { ReleaseRecord } from "../../rollout/release";
import type { CommandContext } from "../backend";
import { EXIT } from "../output";
import { emit, type Flags } from "./shared";

/**
 * `rollout history --stack S [--json]`: the stack's release history (releases/<stack>.json), read
 * from the file alone (no Pulumi, no AWS): the release rolling out now with its events, and every
 * finished release with its versions, decisions, sign-offs, success evidence and event count.
 */
export async function historyCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  const history = await ctx.history.read();
  emit(ctx, flags, { command: "history", file: ctx.history.file, ...history }, () => {
    const say = (line = "") => ctx.out.log(line);
    say(`release history of ${history.stack} (${ctx.history.file})`);
    if (!history.current && history.finished.length === 0) {
      say(
        "  no release recorded yet: `npm run rollout -- start` opens one, and every rollout event is kept here",
      );
      return;
    }
    say();
    if (history.current) {
      const r = history.current;
      say(`current: release ${r.number}, started ${r.startedAt ?? "(before `rollout start` recorded it)"}`);
      versionLines(r).forEach((line) => say(`  ${line}`));
      say(`  events (${r.events.length}):`);
      for (const e of r.events) say(`    ${e.at}  ${e.kind.padEnd(8)}  ${e.summary}`);
    } else say("current: none (the last release finished; `npm run rollout -- start` opens the next)");
    for (const r of [...history.finished].reverse()) {
      say();
      say(
        `release ${r.number}: ${r.startedAt ?? "(start not recorded)"} -> ${r.finishedAt ?? "(not finished)"}`,
      );
      versionLines(r).forEach((line) => say(`  ${line}`));
      say(`  decisions (${r.decisions.length}):`);
      for (const d of r.decisions) say(`    ${d.from} -> ${d.to}: ${d.decision} by ${d.by} at ${d.at}`);
      const signoffs = Object.entries(r.signoffs).flatMap(([phase, roles]) =>
        Object.entries(roles).map(([role, s]) => `${phase}: ${role} ${s.approver} at ${s.at}`),
      );
      say(`  sign-offs (${signoffs.length}):`);
      for (const s of signoffs) say(`    ${s}`);
      say(`  success evidence (${r.successEvidence.length}):`);
      for (const line of r.successEvidence) say(`    ${line}`);
      say(`  events: ${r.events.length}`);
    }
  });
  return EXIT.ok;
}

/** `web: blue <image> (port 8000) -> green <image> (port 3000)`, or `api: unchanged, <image> (port 8000)`. */
function versionLines(release: ReleaseRecord): string[] {
  const entries = Object.entries(release.versions);
  if (entries.length === 0) return ["versions: not recorded"];
  return [
    "versions:",
    ...entries.map(([service, { blue, green }]) =>
      blue.image === green.image && blue.port === green.port
        ? `  ${service}: unchanged, ${blue.image} (port ${blue.port})`
        : `  ${service}: blue ${blue.image} (port ${blue.port}) -> green ${green.image} (port ${green.port})`,
    ),
  ];
}
