import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
import { playbookAlarms } from "../../rollout/alarms";
import { loadPlaybook } from "../../rollout/loaders";
import { triggerLatencies } from "../../rollout/latency";
import { formatSeconds } from "../../cli/output";

/** docs/automatic-rollback.md's per-gate table is what the code builds, row for row. */
it("docs/automatic-rollback.md: the per-gate missing-data table matches the playbooks' alarms", () => {
  const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "automatic-rollback.md"), "utf8");
  const table = doc.slice(doc.indexOf("<!-- gate-table:start -->"), doc.indexOf("<!-- gate-table:end -->"));
  const documented = table
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| playbook"));
  const expected: string[] = [];
  for (const id of ["tbs-strategy-framework", "telegram-money-bot"]) {
    const playbook = loadPlaybook(id);
    const alarms = playbookAlarms(playbook);
    for (const gate of playbook.gates) {
      const green = alarms.find((a) => a.gateId === gate.id && a.colour === "green");
      if (!green) continue;
      const serving = green.whileServing
        ? `silence reads ${green.whileServing.silence}, idle reads ${green.whileServing.neutral}`
        : "-";
      const blue = alarms.some((a) => a.gateId === gate.id && a.colour === "blue") ? "yes" : "-";
      const action = gate.critical?.action ?? gate.warning!.action;
      expected.push(
        `| ${id} | \`${gate.id}\` | ${action} | \`${gate.missingData}\` | ${serving} | ${blue} |`,
      );
    }
  }
  assert.deepEqual(documented, expected);
});

it("docs/automatic-rollback.md: the trigger table's worst cases and limits are the code's", () => {
  const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "automatic-rollback.md"), "utf8");
  for (const [name, id] of [
    ["TBS", "tbs-strategy-framework"],
    ["Telegram", "telegram-money-bot"],
  ] as const) {
    for (const t of triggerLatencies(loadPlaybook(id))) {
      const row = `| ${name} | \`${t.id}\` | ${formatSeconds(t.worstCaseSeconds)} | ${formatSeconds(t.limitSeconds)} |`;
      assert.ok(doc.includes(row), `missing or stale row: ${row}`);
    }
  }
});
