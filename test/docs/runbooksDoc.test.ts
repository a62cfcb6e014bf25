import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../../cli/rollout";
import { bufferOutput } from "../../cli/output";
import { loadPlaybook } from "../../rollout/loaders";
import { ROOT } from "./docCommands";
import { phaseRows, phaseTriggerRows, roleRows, transitionRows, triggerRows } from "./runbookTables";

/**
 * The runbooks' facts tables hold exactly what the playbooks say: each table, found by its
 * header, has the rows runbookTables.ts derives from the playbook, no more, no fewer. (It
 * replaces the README evidence-table test of test/cli/gatesCli.test.ts: the table lives here now.)
 */

const TABLES = {
  "| phase | general traffic cap | cohort on green | pilot users | minimum days | shift default | sign-offs to enter |":
    phaseRows,
  "| role | name | signs off to enter |": roleRows,
  "| phase | rollback trigger | breaches when |": phaseTriggerRows,
  "| trigger | kind | gates | limit |": triggerRows,
} as const;

const EVIDENCE_HEADER = "| evidence file | transition | rule | criteria (* from CloudWatch) |";

/** The rows of the table under `header` (after its separator line), or undefined when the doc has none. */
function tableRows(doc: string, header: string): string[] | undefined {
  const lines = doc.split("\n");
  const at = lines.indexOf(header);
  if (at < 0) return undefined;
  const rows: string[] = [];
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line);
  }
  return rows;
}

const RUNBOOKS = [
  { file: "docs/runbooks/tbs.md", playbook: "tbs-strategy-framework", dir: "tbs" },
  { file: "docs/runbooks/telegram.md", playbook: "telegram-money-bot", dir: "telegram" },
];

for (const runbook of RUNBOOKS) {
  describe(`${runbook.file}: the tables are the playbook's`, () => {
    const doc = fs.readFileSync(path.join(ROOT, runbook.file), "utf8");
    const playbook = loadPlaybook(runbook.playbook);

    for (const [header, rows] of Object.entries(TABLES)) {
      it(header, () => {
        const expected = rows(playbook);
        const found = tableRows(doc, header);
        if (expected.length === 0) assert.equal(found, undefined, "no such table: the playbook has none");
        else assert.deepEqual(found, expected);
      });
    }

    it("the GO decisions: every transition with exactly its criteria, rule and evidence file", () => {
      assert.deepEqual(tableRows(doc, EVIDENCE_HEADER), transitionRows(playbook, runbook.dir));
    });

    it("every example evidence file passes its transition offline on the criteria people measure", async () => {
      for (const transition of playbook.transitions) {
        const file = `docs/examples/evidence/${runbook.dir}/${transition.from}.yaml`;
        const out = bufferOutput();
        await runCli(
          ["gates", "--playbook", playbook.id, "--from", transition.from, "--evidence", file, "--json"],
          out,
        );
        const result = JSON.parse(out.text()) as { results: { id: string; pass: boolean; value?: number }[] };
        // CloudWatch supplies the rest under `gates --stack`; what the file holds must pass.
        const given = result.results.filter((r) => r.value !== undefined);
        assert.ok(given.length > 0, file);
        assert.deepEqual(
          given.filter((r) => !r.pass).map((r) => r.id),
          [],
          `${file}: failing criteria`,
        );
      }
    });
  });
}
