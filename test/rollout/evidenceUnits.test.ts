import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { parseRolloutConfig } from "../../rollout/config";
import {
  decide,
  evaluatePhaseTriggers,
  parseEvidenceLine,
  recordedDecisionProblems,
  unitProblem,
  unitRange,
  type Decision,
} from "../../rollout/decisions";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import { evaluateSuccessCriteria } from "../../rollout/success";
import { RolloutInputError } from "../../rollout/validation";
import { TELEGRAM_PASSING } from "../support/evidenceFixtures";
import { cloudwatch, resetAwsMocks, setup } from "../support/liveStack";

/*
 * Issue 12: evidence values are checked against their gate's or criterion's unit before anything
 * is decided (percentages 0-100; counts, times and ratios never negative). Impossible numbers
 * (`errorRate: -100`, `p95ResponseMs: -1`, `userAdoption: 1000`) are bad input, exit 2, naming the
 * metric, the value and the range: in `gates --evidence`, `gates --success`, `gates --stack`
 * merges and recorded decisions in stack config.
 */

const tbs = loadPlaybook("tbs-strategy-framework");
const telegram = loadPlaybook("telegram-money-bot");
const transitionOf = (from: string) => tbs.transitions.find((t) => t.from === from)!;

/** The RolloutInputError `run` throws; fails when it throws anything else or nothing. */
function inputError(run: () => unknown): RolloutInputError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof RolloutInputError, `expected RolloutInputError, got ${String(error)}`);
    return error;
  }
  assert.fail("no error thrown");
}

describe("unit ranges", () => {
  const table: [string | undefined, number, number | undefined, string][] = [
    ["%", 0, 100, "a percentage (%)"],
    ["% positive", 0, 100, "a percentage (% positive)"],
    ["% of pilot users", 0, 100, "a percentage (% of pilot users)"],
    // A share of a baseline may exceed it.
    ["% of baseline", 0, undefined, "a count or rate (% of baseline)"],
    ["ms", 0, undefined, "a time (ms)"],
    ["s", 0, undefined, "a time (s)"],
    ["min", 0, undefined, "a time (min)"],
    ["ratio", 0, undefined, "a ratio (ratio)"],
    ["reward per unit risk", 0, undefined, "a ratio (reward per unit risk)"],
    ["rows/s", 0, undefined, "a count or rate (rows/s)"],
    ["count", 0, undefined, "a count or rate (count)"],
    [undefined, 0, undefined, "a count, flag or ratio (no unit)"],
  ];
  for (const [unit, min, max, kind] of table)
    it(`${unit ?? "no unit"}: ${min}-${max ?? "∞"}, ${kind}`, () => {
      assert.deepEqual(unitRange(unit), { min, ...(max !== undefined && { max }), kind });
    });

  it("every unit an evidence id has in either playbook is one of these, and none allows a negative value", () => {
    for (const playbook of [tbs, telegram]) {
      const units = [
        ...playbook.gates.map((g) => g.unit),
        ...playbook.transitions.flatMap((t) => t.criteria.map((c) => c.unit)),
        ...playbook.successCriteria.map((c) => c.unit),
      ];
      for (const unit of units) {
        assert.equal(unitRange(unit).min, 0, `${playbook.id}: ${unit}`);
        // The boundaries themselves are possible values.
        assert.equal(unitProblem("x", 0, unit), undefined, `${playbook.id}: 0 ${unit}`);
        if (unit?.startsWith("%")) assert.equal(unitProblem("x", 100, unit), undefined);
      }
    }
  });

  it("names the metric, the value and the expected range", () => {
    assert.equal(
      unitProblem("errorRate", -100, "%"),
      "errorRate = -100 is impossible for a percentage (%): expected 0-100",
    );
    assert.equal(
      unitProblem("p95ResponseMs", -1, "ms"),
      "p95ResponseMs = -1 is impossible for a time (ms): expected >= 0",
    );
    assert.equal(
      unitProblem("userAdoption", 1000, "%"),
      "userAdoption = 1000 is impossible for a percentage (%): expected 0-100",
    );
    assert.equal(unitProblem("userAdoption", 100.01, "%")?.startsWith("userAdoption = 100.01"), true);
    assert.equal(unitProblem("workflowTimeRatio", 0, undefined), undefined);
  });
});

describe("deciding over impossible evidence is refused (exit 2), never turned into GO", () => {
  it("decide: errorRate -100 would pass `< 1`; refused, naming it", () => {
    const error = inputError(() =>
      decide(transitionOf("internal"), {
        rowsPerSecond: 40000,
        errorRate: -100,
        criticalBugs: 0,
        featureParity: 100,
        dataDiscrepancies: 0,
      }),
    );
    assert.equal(
      error.message,
      "evidence errorRate = -100 is impossible for a percentage (%): expected 0-100",
    );
  });

  it("decide: every impossible value is named at once (p95ResponseMs -1, userAdoption 1000)", () => {
    const error = inputError(() =>
      decide(transitionOf("broader-pilot"), {
        concurrentUsers: 20,
        p95ResponseMs: -1,
        errorRate: 1,
        userAdoption: 1000,
        cpuUtilization: 50,
        memoryUtilization: 50,
      }),
    );
    assert.deepEqual(error.issues, [
      "evidence p95ResponseMs = -1 is impossible for a time (ms): expected >= 0",
      "evidence userAdoption = 1000 is impossible for a percentage (%): expected 0-100",
    ]);
  });

  it("decide: a negative count without a unit (criticalBugs -1)", () => {
    const error = inputError(() => decide(transitionOf("internal"), { criticalBugs: -1 }));
    assert.match(
      error.message,
      /criticalBugs = -1 is impossible for a count, flag or ratio \(no unit\): expected >= 0/,
    );
  });

  it("the boundaries decide as before: 0 % errors and 100 % parity are GO", () => {
    const result = decide(transitionOf("internal"), {
      rowsPerSecond: 37303,
      errorRate: 0,
      criticalBugs: 0,
      featureParity: 100,
      dataDiscrepancies: 0,
    });
    assert.equal(result.decision, "GO");
  });

  it("rollback triggers: a gate's value outside its unit (cpuUtilization 150 %)", () => {
    const error = inputError(() => evaluatePhaseTriggers(tbs, "broader-pilot", { cpuUtilization: 150 }));
    assert.equal(
      error.message,
      "evidence cpuUtilization = 150 is impossible for a percentage (%): expected 0-100",
    );
  });

  it("success criteria: uptimePercent 101 and a negative rollback time", () => {
    const error = inputError(() =>
      evaluateSuccessCriteria(telegram, { ...TELEGRAM_PASSING, uptimePercent: 101, rollbackSeconds: -5 }),
    );
    assert.deepEqual(error.issues, [
      "evidence uptimePercent = 101 is impossible for a percentage (%): expected 0-100",
      "evidence rollbackSeconds = -5 is impossible for a time (s): expected >= 0",
    ]);
    assert.equal(evaluateSuccessCriteria(telegram, TELEGRAM_PASSING).verdict, "pass");
  });
});

function evidenceFile(content: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "evidence-units-")), "evidence.yaml");
  fs.writeFileSync(file, content);
  return file;
}

describe("rollout gates: exit 2 before any decision is printed", () => {
  const cases: [string, string[], string, RegExp][] = [
    [
      "--from internal with errorRate: -100",
      ["--playbook", "tbs-strategy-framework", "--from", "internal"],
      "metrics:\n  rowsPerSecond: 40000\n  errorRate: -100\n  criticalBugs: 0\n  featureParity: 100\n  dataDiscrepancies: 0\n",
      /^error: evidence errorRate = -100 is impossible for a percentage \(%\): expected 0-100$/,
    ],
    [
      "--from broader-pilot with userAdoption: 1000",
      ["--playbook", "tbs-strategy-framework", "--from", "broader-pilot"],
      "metrics:\n  concurrentUsers: 20\n  p95ResponseMs: 200\n  errorRate: 1\n  userAdoption: 1000\n  cpuUtilization: 50\n  memoryUtilization: 50\n",
      /^error: evidence userAdoption = 1000 is impossible for a percentage \(%\): expected 0-100$/,
    ],
    [
      "--from broader-pilot with p95ResponseMs: -1",
      ["--playbook", "tbs-strategy-framework", "--from", "broader-pilot"],
      "metrics:\n  p95ResponseMs: -1\n",
      /^error: evidence p95ResponseMs = -1 is impossible for a time \(ms\): expected >= 0$/,
    ],
    [
      "--from limited-pilot with a trigger gate's impossible value (pilotUsersAffectedPercent: 120)",
      ["--playbook", "tbs-strategy-framework", "--from", "limited-pilot"],
      "metrics:\n  userSatisfaction: 90\n  pilotUsersAffectedPercent: 120\n",
      /^error: evidence pilotUsersAffectedPercent = 120 is impossible for a percentage \(% of pilot users\): expected 0-100$/,
    ],
    [
      "--success with uptimePercent: 250",
      ["--playbook", "telegram-money-bot", "--success"],
      "metrics:\n  uptimePercent: 250\n",
      /^error: evidence uptimePercent = 250 is impossible for a percentage \(%\): expected 0-100$/,
    ],
  ];
  for (const [name, flags, content, pattern] of cases)
    it(name, async () => {
      const out = bufferOutput();
      assert.equal(await runCli(["gates", ...flags, "--evidence", evidenceFile(content)], out), 2);
      assert.deepEqual(out.lines, [], "nothing decided, nothing printed");
      assert.match(out.errors.join("\n"), pattern);
    });

  it("--json: the error and exit code 2 as JSON", async () => {
    const out = bufferOutput();
    const file = evidenceFile("metrics:\n  errorRate: -100\n");
    const flags = [
      "--playbook",
      "tbs-strategy-framework",
      "--from",
      "internal",
      "--evidence",
      file,
      "--json",
    ];
    assert.equal(await runCli(["gates", ...flags], out), 2);
    assert.deepEqual(JSON.parse(out.lines[0]!), {
      error: "evidence errorRate = -100 is impossible for a percentage (%): expected 0-100",
      exitCode: 2,
    });
  });
});

describe("rollout gates --stack: the merged evidence is checked before anything is recorded", () => {
  beforeEach(resetAwsMocks);

  it("a manual file's userSatisfaction: -5 is exit 2, and --record writes nothing", async () => {
    const { ctx, out, backend } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const file = evidenceFile("metrics:\n  userSatisfaction: -5\n  workflowTimeRatio: 1.1\n");
    const code = await runCli(
      ["gates", "--stack", "production", "--evidence", file, "--record"],
      out,
      () => ctx,
    );
    assert.equal(code, 2, out.text());
    assert.match(
      out.errors.join("\n"),
      /evidence userSatisfaction = -5 is impossible for a percentage \(%\): expected 0-100/,
    );
    assert.deepEqual(backend.sets, [], "nothing recorded");
  });
});

describe("recorded decisions in stack config", () => {
  const stagingRaw = () => rolloutKeys(loadStackFile("staging").config);
  const refusal = (decisions: Decision[], stack: "staging" | "production") => {
    const raw = stack === "staging" ? stagingRaw() : rolloutKeys(loadStackFile("production").config);
    return inputError(() => parseRolloutConfig({ ...raw, decisions: JSON.stringify(decisions) }, stack));
  };
  const decision = (evidence: string[], decision: Decision["decision"] = "NO-GO"): Decision => ({
    from: "internal",
    to: "limited-pilot",
    decision,
    at: "2026-11-10T09:00:00Z",
    by: "quinn.qa",
    evidence,
  });

  it("every tier: an impossible value is a config error naming rollout:decisions[i].evidence[j]", () => {
    const error = refusal(
      [
        decision([
          "rowsPerSecond = 40000 (required >= 37303): pass",
          "errorRate = -100 (required < 1): pass",
        ]),
      ],
      "staging",
    );
    assert.deepEqual(error.issues, [
      "rollout:decisions[0].evidence[1]: errorRate = -100 is impossible for a percentage (%): expected 0-100",
    ]);
  });

  it("a trigger gate's unit counts where no criterion has the id (cpuUtilization in a broader-pilot line)", () => {
    const problems = recordedDecisionProblems(
      tbs,
      [
        {
          ...decision(["cpuUtilization = 120 (required < 85): FAIL"]),
          from: "broader-pilot",
          to: "readiness",
        },
      ],
      false,
    );
    assert.deepEqual(problems, [
      "rollout:decisions[0].evidence[0]: cpuUtilization = 120 is impossible for a percentage (%): expected 0-100",
    ]);
  });

  it("lines as `gates --record` writes them parse, their source included; other text does not", () => {
    assert.deepEqual(
      parseEvidenceLine(
        "rowsPerSecond = 34000 (required >= 33573): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z: lowest 5-min Average]",
      ),
      { id: "rowsPerSecond", value: 34000, op: ">=", threshold: 33573, pass: true },
    );
    assert.deepEqual(parseEvidenceLine("userSatisfaction = missing (required >= 80): FAIL"), {
      id: "userSatisfaction",
      value: undefined,
      op: ">=",
      threshold: 80,
      pass: false,
    });
    assert.deepEqual(parseEvidenceLine("errorRate = 1e-7 (required < 1): pass")?.value, 1e-7);
    assert.equal(parseEvidenceLine("all good, trust me"), undefined);
    assert.equal(parseEvidenceLine("errorRate = low (required < 1): pass"), undefined);
    // What `gates --record` could never write: a number that overflows to Infinity; -0 reads 0.
    assert.equal(parseEvidenceLine("rowsPerSecond = 1e309 (required >= 37303): pass"), undefined);
    assert.ok(Object.is(parseEvidenceLine("errorRate = -0 (required < 1): pass")?.value, 0));
  });

  it("free text in a NO-GO is kept (only a production GO must be in the recorded format)", () => {
    assert.deepEqual(
      recordedDecisionProblems(tbs, [decision(["users unhappy with the new chart"])], true),
      [],
    );
  });
});
