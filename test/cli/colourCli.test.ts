import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { colourWanted, paintVerdicts } from "../../cli/output";
import { PROJECT_ROOT } from "../../rollout/loaders";

/** Issue 13: colour for GO / NO-GO / BREACHED / MISSED, for a person at a terminal only. */

const GREEN = "\u001b[32m";
const RED = "\u001b[1m\u001b[31m";
const RESET = "\u001b[0m";

describe("colour", () => {
  it("paints whole verdict words only: NO-GO is not GO, METRIC is not MET", () => {
    assert.equal(
      paintVerdicts(
        "decision: NO-GO (2 of 4 passed); was GO; trigger BREACHED; limit MISSED; limit MET; METRIC GOOD",
      ),
      `decision: ${RED}NO-GO${RESET} (2 of 4 passed); was ${GREEN}GO${RESET}; trigger ${RED}BREACHED${RESET}; limit ${RED}MISSED${RESET}; limit ${GREEN}MET${RESET}; METRIC GOOD`,
    );
    assert.equal(paintVerdicts("internal -> limited-pilot"), "internal -> limited-pilot");
  });

  it("only on a TTY, never with NO_COLOR set (non-empty) or TERM=dumb", () => {
    assert.equal(colourWanted({}, true), true);
    assert.equal(colourWanted({}, false), false);
    assert.equal(colourWanted({ NO_COLOR: "1" }, true), false);
    // no-color.org: an empty NO_COLOR does not disable colour.
    assert.equal(colourWanted({ NO_COLOR: "" }, true), true);
    assert.equal(colourWanted({ TERM: "dumb" }, true), false);
  });

  it("the real CLI into a pipe prints no escape codes", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(PROJECT_ROOT, "cli", "rollout.ts"),
        "gates",
        "--playbook",
        "tbs-strategy-framework",
        "--from",
        "internal",
        "--evidence",
        path.join(PROJECT_ROOT, "test", "fixtures", "evidence", "internal-go.yaml"),
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, NO_COLOR: undefined } },
    );
    assert.match(stdout, /decision: GO/);
    assert.equal(stdout.includes("\u001b["), false);
  });
});
