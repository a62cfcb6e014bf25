import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { TELEGRAM_PASSING } from "../support/evidenceFixtures";

/** `rollout gates` offline: the FROM phase's rollback triggers beside the decision, and `--success`. */

function evidenceFile(metrics: Record<string, number>): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "evidence-")), "evidence.json");
  fs.writeFileSync(file, JSON.stringify({ metrics }));
  return file;
}

async function run(argv: string[]) {
  const out = bufferOutput();
  const code = await runCli(argv, out);
  return { code, out };
}

const gates = (from: string, file: string, ...extra: string[]) =>
  run(["gates", "--playbook", "tbs-strategy-framework", "--from", from, "--evidence", file, ...extra]);

/** Internal -> limited-pilot's five criteria, all on their passing boundary. */
const INTERNAL_GO = {
  rowsPerSecond: 37303,
  errorRate: 0.99,
  criticalBugs: 0,
  featureParity: 100,
  dataDiscrepancies: 0,
};

const INTERNAL_CRITERIA = [
  "internal -> limited-pilot: rule ALL 5",
  "criterion          value  required         result  why",
  "-----------------  -----  ---------------  ------  ---",
  "rowsPerSecond      37303  >= 37303 rows/s  pass",
  "errorRate          0.99   < 1 %            pass",
  "criticalBugs       0      = 0              pass",
  "featureParity      100    = 100 %          pass",
  "dataDiscrepancies  0      = 0              pass",
  "",
];

describe("rollout gates --from: the phase's rollback triggers", () => {
  it("--json: a NO-GO exits 1 with exitReason naming the decision", async () => {
    const { code, out } = await gates("internal", evidenceFile({ ...INTERNAL_GO, errorRate: 1 }), "--json");
    assert.equal(code, 1);
    const result = JSON.parse(out.text());
    assert.deepEqual([result.decision, result.exitCode, result.exitReason], ["NO-GO", 1, "decision NO-GO"]);
  });

  it("a breached trigger on a GO: printed after the decision with the rollback command, exit 1", async () => {
    const { code, out } = await gates("internal", evidenceFile({ ...INTERNAL_GO, dataIntegrityErrors: 1 }));
    assert.equal(code, 1);
    assert.deepEqual(out.lines, [
      ...INTERNAL_CRITERIA,
      "rollback triggers of internal:",
      "trigger                                                   breaches when                    observed   status",
      "--------------------------------------------------------  -------------------------------  ---------  ---------------------------",
      "Any system instability or critical functionality failure  -                                -          manual (a person judges it)",
      "Data integrity issues                                     dataIntegrityErrors > 0 count    1          BREACHED",
      "Performance degradation >10% from baseline                rowsPerSecond < 33573 rows/s     37303      clear",
      "Critical bugs affecting core trading workflows (any)      criticalBugsPerDay > 0 bugs/day  (missing)  not measured",
      "",
      "decision: GO (5 of 5 passed, 5 required)",
      'ROLLBACK TRIGGER BREACHED: Data integrity issues (dataIntegrityErrors = 1, breaches when dataIntegrityErrors > 0 count) — roll back: npm run rollout -- rollback --stack STACK --reason "rollback trigger of internal: Data integrity issues"',
      "exit 1: a GO must not be recorded while a rollback trigger of internal is breached",
    ]);
    assert.deepEqual(out.errors, []);
  });

  it("the same GO with every trigger clear or unmeasured: decision last, exit 0", async () => {
    const { code, out } = await gates("internal", evidenceFile({ ...INTERNAL_GO, dataIntegrityErrors: 0 }));
    assert.equal(code, 0);
    assert.deepEqual(out.lines.slice(INTERNAL_CRITERIA.length), [
      "rollback triggers of internal:",
      "trigger                                                   breaches when                    observed   status",
      "--------------------------------------------------------  -------------------------------  ---------  ---------------------------",
      "Any system instability or critical functionality failure  -                                -          manual (a person judges it)",
      "Data integrity issues                                     dataIntegrityErrors > 0 count    0          clear",
      "Performance degradation >10% from baseline                rowsPerSecond < 33573 rows/s     37303      clear",
      "Critical bugs affecting core trading workflows (any)      criticalBugsPerDay > 0 bugs/day  (missing)  not measured",
      "",
      "decision: GO (5 of 5 passed, 5 required)",
    ]);
  });

  it("a NO-GO whose evidence also breaches a trigger names both (rowsPerSecond 33572 < 33573)", async () => {
    const { code, out } = await gates("internal", evidenceFile({ ...INTERNAL_GO, rowsPerSecond: 33572 }));
    assert.equal(code, 1);
    assert.deepEqual(out.lines.slice(-3), [
      "decision: NO-GO (4 of 5 passed, 5 required)",
      'ROLLBACK TRIGGER BREACHED: Performance degradation >10% from baseline (rowsPerSecond = 33572, breaches when rowsPerSecond < 33573 rows/s) — roll back: npm run rollout -- rollback --stack STACK --reason "rollback trigger of internal: Performance degradation >10% from baseline"',
      "exit 1: a GO must not be recorded while a rollback trigger of internal is breached",
    ]);
  });

  // Limited-pilot decides 3 of 4: satisfaction below 80 still allows a GO, below 70 it rolls back.
  const limitedPilot = (userSatisfaction: number) =>
    evidenceFile({ userSatisfaction, rowsPerSecond: 33573, errorRate: 2.5, workflowTimeRatio: 1.2 });

  it("--json adds rollbackTriggers; satisfaction 69.9 on a 3-of-4 GO is breached, exit 1", async () => {
    const { code, out } = await gates("limited-pilot", limitedPilot(69.9), "--json");
    assert.equal(code, 1);
    const result = JSON.parse(out.text());
    assert.deepEqual([result.playbook, result.decision, result.passed], ["tbs-strategy-framework", "GO", 3]);
    assert.deepEqual(
      [result.exitCode, result.exitReason],
      [
        1,
        "rollback trigger of limited-pilot breached: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9) (a GO must not be recorded while one is)",
      ],
    );
    assert.deepEqual(result.rollbackTriggers, [
      {
        description: "User satisfaction <70% in feedback surveys",
        gate: "userSatisfaction",
        op: "<",
        value: 70,
        unit: "% positive",
        observed: 69.9,
        status: "breached",
      },
      {
        description: "Performance degradation >20% from baseline",
        gate: "rowsPerSecond",
        op: "<",
        value: 29842,
        unit: "rows/s",
        observed: 33573,
        status: "clear",
      },
      {
        description: "Critical workflow failures affecting >50% of pilot users",
        gate: "pilotUsersAffectedPercent",
        op: ">",
        value: 50,
        unit: "% of pilot users",
        status: "not-measured",
      },
    ]);
  });

  it("satisfaction exactly 70 is clear: the GO exits 0", async () => {
    const { code, out } = await gates("limited-pilot", limitedPilot(70), "--json");
    assert.equal(code, 0);
    const result = JSON.parse(out.text());
    assert.deepEqual([result.exitCode, "exitReason" in result], [0, false]);
    assert.deepEqual(
      result.rollbackTriggers.map((t: { gate: string; status: string }) => [t.gate, t.status]),
      [
        ["userSatisfaction", "clear"],
        ["rowsPerSecond", "clear"],
        ["pilotUsersAffectedPercent", "not-measured"],
      ],
    );
  });

  it("evidence for a trigger's gate only (pilotUsersAffectedPercent) is accepted and evaluated", async () => {
    const file = evidenceFile({
      userSatisfaction: 85,
      rowsPerSecond: 33573,
      errorRate: 2.5,
      workflowTimeRatio: 1.2,
      pilotUsersAffectedPercent: 50.1,
    });
    const { code, out } = await gates("limited-pilot", file);
    assert.equal(code, 1);
    assert.equal(out.lines.at(-3), "decision: GO (4 of 4 passed, 3 required)");
    assert.match(
      out.lines.at(-2)!,
      /^ROLLBACK TRIGGER BREACHED: Critical workflow failures affecting >50% of pilot users \(pilotUsersAffectedPercent = 50\.1, breaches when pilotUsersAffectedPercent > 50 % of pilot users\) — roll back: /,
    );
  });

  it("a phase without triggers says so; --json has rollbackTriggers []", async () => {
    const file = evidenceFile({
      rowsPerSecond: 37303,
      errorRate: 4,
      p95ResponseMs: 299,
      trainingCompletion: 96,
      operationalReadiness: 1,
      riskMitigation: 1,
    });
    const human = await gates("readiness", file);
    assert.equal(human.code, 0);
    assert.deepEqual(human.out.lines.slice(-3), [
      "rollback triggers of readiness: none in the playbook",
      "",
      "decision: GO (6 of 6 passed, 6 required)",
    ]);
    const json = await gates("readiness", file, "--json");
    assert.deepEqual(JSON.parse(json.out.text()).rollbackTriggers, []);
  });

  it("exit 2 for an id that is neither a criterion nor a trigger's gate, listing both kinds once", async () => {
    const { code, out } = await gates("internal", evidenceFile({ ...INTERNAL_GO, sessionSuccessRate: 99 }));
    assert.equal(code, 2);
    assert.deepEqual(out.errors, [
      'error: --evidence: unknown criterion id "sessionSuccessRate" for internal -> limited-pilot; expected rowsPerSecond, errorRate, criticalBugs, featureParity, dataDiscrepancies or dataIntegrityErrors, criticalBugsPerDay (gates of internal\'s rollback triggers)',
    ]);
  });
});

const success = (playbook: string, file: string, ...extra: string[]) =>
  run(["gates", "--playbook", playbook, "--success", "--evidence", file, ...extra]);

describe("rollout gates --success", () => {
  it("TBS: one category, a failure and a missing criterion, exit 1", async () => {
    const file = evidenceFile({
      rowsPerSecond: 33572,
      uptimePercent: 99.9,
      errorRate: 4.99,
      userSatisfaction: 80,
    });
    const { code, out } = await success("tbs-strategy-framework", file);
    assert.equal(code, 1);
    assert.deepEqual(out.lines, [
      "success criteria of tbs-strategy-framework:",
      "",
      "deployment: FAIL (3 of 5 passed, 1 failed, 1 not measured)",
      "  criterion         value      required         result        why",
      "  ----------------  ---------  ---------------  ------------  -------------------------------",
      "  rowsPerSecond     33572      >= 33573 rows/s  FAIL          33572 is not >= 33573",
      "  uptimePercent     99.9       >= 99.9 %        pass",
      "  errorRate         4.99       < 5 %            pass",
      "  rollbackMinutes   (missing)  < 15 min         not measured  no evidence for rollbackMinutes",
      "  userSatisfaction  80         >= 80 %          pass",
      "",
      "success: FAIL (3 of 5 passed, 1 failed, 1 not measured)",
    ]);
  });

  it("Telegram: every criterion on its boundary passes, grouped by category, exit 0", async () => {
    const { code, out } = await success("telegram-money-bot", evidenceFile(TELEGRAM_PASSING));
    assert.equal(code, 0);
    assert.deepEqual(
      out.lines.filter((l) => /^\w+: /.test(l)),
      [
        "technical: PASS (7 of 7 passed, 0 failed, 0 not measured)",
        "business: PASS (5 of 5 passed, 0 failed, 0 not measured)",
        "operational: PASS (5 of 5 passed, 0 failed, 0 not measured)",
        "success: PASS (17 of 17 passed, 0 failed, 0 not measured)",
      ],
    );
    assert.ok(out.lines.includes("  winRate          80     >= 80 %                    pass"), out.text());
    assert.ok(out.lines.includes("  profitFactor     2      >= 2                       pass"), out.text());
  });

  it("Telegram --json: winRate 79.9 fails business only; the whole fails, exit 1", async () => {
    const file = evidenceFile({ ...TELEGRAM_PASSING, winRate: 79.9 });
    const { code, out } = await success("telegram-money-bot", file, "--json");
    assert.equal(code, 1);
    const report = JSON.parse(out.text());
    assert.deepEqual(
      [report.playbook, report.verdict, report.passed, report.failed, report.notMeasured, report.total],
      ["telegram-money-bot", "fail", 16, 1, 0, 17],
    );
    assert.deepEqual([report.exitCode, report.exitReason], [1, "success criteria failed: winRate"]);
    assert.deepEqual(
      report.categories.map((c: { category: string; verdict: string }) => [c.category, c.verdict]),
      [
        ["technical", "pass"],
        ["business", "fail"],
        ["operational", "pass"],
      ],
    );
    assert.deepEqual(report.categories[1].results[0], {
      id: "winRate",
      description: "Win rate: ≥80% win rate",
      op: ">=",
      threshold: 80,
      unit: "%",
      value: 79.9,
      pass: false,
      reason: "79.9 is not >= 80",
      category: "business",
      status: "fail",
    });
  });

  it("a missing criterion with all others passing is incomplete, exit 1", async () => {
    const { sharpeRatio: _sharpe, ...rest } = TELEGRAM_PASSING;
    const { code, out } = await success("telegram-money-bot", evidenceFile(rest));
    assert.equal(code, 1);
    assert.ok(
      out.lines.includes("business: INCOMPLETE (4 of 5 passed, 0 failed, 1 not measured)"),
      out.text(),
    );
    assert.equal(out.lines.at(-1), "success: INCOMPLETE (16 of 17 passed, 0 failed, 1 not measured)");
    const json = await success("telegram-money-bot", evidenceFile(rest), "--json");
    const report = JSON.parse(json.out.text());
    assert.deepEqual(
      [json.code, report.exitCode, report.exitReason],
      [1, 1, "success criteria without evidence: sharpeRatio"],
    );
  });

  it("exit 2 naming an unknown id and the file; a gate-only id is no success criterion", async () => {
    const file = evidenceFile({ ...TELEGRAM_PASSING, winrate: 80, criticalErrors: 0 });
    const { code, out } = await success("telegram-money-bot", file);
    assert.equal(code, 2);
    assert.deepEqual(out.errors, [
      `error: --evidence: unknown success criterion ids "winrate" (did you mean winRate?), "criticalErrors" in ${file}; expected uptimePercent, p95LatencyMs, errorRate, cpuUtilization, memoryUtilization, diskUtilization, dbQueryMs, winRate, riskRewardRatio, maxDrawdown, profitFactor, sharpeRatio, deploymentSuccess, rollbackSeconds, monitoringCoverage, alertResponseMinutes, documentationCoverage`,
    ]);
    assert.deepEqual(out.lines, []);
  });

  it("exit 2 for --success with --from, naming both flags", async () => {
    const { code, out } = await run([
      "gates",
      "--playbook",
      "telegram-money-bot",
      "--success",
      "--from",
      "staging-deployment",
      "--evidence",
      evidenceFile(TELEGRAM_PASSING),
    ]);
    assert.equal(code, 2);
    assert.deepEqual(out.errors, [
      "error: success gates (--success): unexpected flag --from; offline gates (--playbook) takes --playbook, --from, --evidence, --json; success gates (--success) takes --playbook, --success, --evidence, --json; live gates (--stack) takes --stack, --evidence, --record, --approver, --json",
    ]);
  });

  it("exit 2 for an unknown playbook or no evidence file", async () => {
    const unknown = await success("nope", evidenceFile(TELEGRAM_PASSING));
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.out.errors[0]!,
      /^error: unknown playbook "nope": expected one of tbs-strategy-framework, telegram-money-bot/,
    );
    const noFile = await run(["gates", "--playbook", "telegram-money-bot", "--success"]);
    assert.equal(noFile.code, 2);
    assert.deepEqual(noFile.out.errors, [
      "error: --evidence: expected a YAML or JSON evidence file, got nothing",
    ]);
  });

  it("--success stays offline when --stack is given too (no live context is made)", async () => {
    const out = bufferOutput();
    let contexts = 0;
    const code = await runCli(
      ["gates", "--stack", "staging", "--success", "--evidence", evidenceFile(TELEGRAM_PASSING)],
      out,
      () => {
        contexts += 1;
        throw new Error("no live context expected");
      },
    );
    assert.equal(code, 2);
    assert.equal(contexts, 0);
    assert.deepEqual(out.errors, [
      "error: success gates (--success): unexpected flag --stack; offline gates (--playbook) takes --playbook, --from, --evidence, --json; success gates (--success) takes --playbook, --success, --evidence, --json; live gates (--stack) takes --stack, --evidence, --record, --approver, --json",
    ]);
  });

  it("--success with neither --playbook nor --stack still asks for --playbook", async () => {
    const out = bufferOutput();
    const code = await runCli(["gates", "--success", "--evidence", evidenceFile(TELEGRAM_PASSING)], out);
    assert.equal(code, 2);
    assert.deepEqual(out.errors, [
      "error: --playbook: expected a playbook id such as tbs-strategy-framework, got nothing",
    ]);
  });

  it("--help lists --success and the trigger rule", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["--help"], out), 0);
    assert.match(
      out.text(),
      /^ {12}success criteria, by category: --playbook ID --success --evidence FILE$/m,
    );
    assert.match(
      out.text(),
      /^ {12}both also evaluate the phase's rollback triggers: one breached exits 1$/m,
    );
  });
});
