import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "../../rollout/alarms";
import {
  periodDatapoints,
  runDrill,
  simulateAlarm,
  type DrillResult,
  type DrillScenario,
} from "../../rollout/drill";
import { alarmWorstCaseSeconds, ROLLBACK_LAMBDA_SECONDS, triggerLatencies } from "../../rollout/latency";
import { loadPlaybook, loadScenario, parseScenario } from "../../rollout/loaders";
import { RolloutInputError } from "../../rollout/validation";
import { bufferOutput } from "../../cli/output";
import { drillCommand } from "../../cli/commands/drill";
import { runCli } from "../../cli/rollout";

const fixtures = path.join(__dirname, "..", "fixtures", "drills");

/** Bad input: drillCommand throws this exact RolloutInputError (runCli prints it and exits 2). */
async function rejectsWithInputError(run: Promise<number>, message: string): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof RolloutInputError, String(error));
    assert.equal(error.message, message);
    return true;
  });
}
const TBS = "tbs-strategy-framework";
const TELEGRAM = "telegram-money-bot";

function drillFixture(name: string): DrillResult {
  const { scenario, playbook } = loadScenario(path.join(fixtures, `${name}.yaml`));
  return runDrill(playbook, scenario);
}

function drill(playbookId: string, durationSeconds: number, metrics: DrillScenario["metrics"]): DrillResult {
  return runDrill(loadPlaybook(playbookId), { playbook: playbookId, durationSeconds, metrics });
}

const changesOf = (result: DrillResult, alarm: string) =>
  result.transitions.filter((t) => t.alarm === alarm).map(({ at, from, to }) => ({ at, from, to }));
const triggerCheck = (result: DrillResult, id: string) => {
  const check = result.triggers.find((t) => t.id === id);
  assert.ok(check, `no trigger ${id} in ${result.triggers.map((t) => t.id).join(", ")}`);
  return check;
};
const stateOf = (result: DrillResult, key: string) => result.alarms.find((a) => a.key === key)?.state;

describe("drill: the playbook's numbers the tests rely on", () => {
  it("TBS error rate: > 5 % critical and > 3 % warning, 5 x 60 s; rows/s < 27977 and < 29842, 10 x 60 s", () => {
    const alarms = new Map(playbookAlarms(loadPlaybook(TBS)).map((a) => [a.key, a]));
    const pick = (key: string) => {
      const a = alarms.get(key)!;
      return [
        a.comparison,
        a.playbookThreshold,
        a.periodSeconds,
        a.evaluationPeriods,
        a.datapointsToAlarm,
        a.autoRollback,
      ];
    };
    assert.deepEqual(pick("errorRate-critical"), ["GreaterThanThreshold", 5, 60, 5, 5, true]);
    assert.deepEqual(pick("errorRate-warning"), ["GreaterThanThreshold", 3, 60, 5, 5, false]);
    assert.deepEqual(pick("rowsPerSecond-critical"), ["LessThanThreshold", 27977, 60, 10, 10, true]);
    assert.deepEqual(pick("rowsPerSecond-warning"), ["LessThanThreshold", 29842, 60, 10, 10, false]);
  });
});

describe("drill: TBS strategy framework", () => {
  it("error rate 8 % from 10:00 rolls back at 15:10 by the error-rate trigger", () => {
    const result = drillFixture("tbs-error-rate-8pct");
    assert.equal(result.rollbackAt, 600 + 300 + ROLLBACK_LAMBDA_SECONDS);
    assert.ok(
      result.rollbackAt >= 600 + 300 && result.rollbackAt <= 600 + 420,
      `rollbackAt ${result.rollbackAt}`,
    );
    assert.deepEqual(result.trigger, {
      id: "errorRateSustained",
      gate: "errorRate",
      alarm: "errorRate-critical",
      firedAt: 900,
      breachAt: 600,
    });
    assert.deepEqual(changesOf(result, "errorRate-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
      { at: 900, from: "OK", to: "ALARM" },
    ]);
    const check = triggerCheck(result, "errorRateSustained");
    assert.equal(check.breachAt, 600);
    assert.equal(check.rolledBackAt, 910);
    assert.equal(check.detectionSeconds, 310);
    assert.equal(check.met, true);
    assert.deepEqual(result.alarmsRaised, ["errorRate-critical", "errorRate-warning"]);
  });

  it("a 3-minute spike to 8 % does not roll back, and the > 3 % warning stays OK too (3 of 5 minutes)", () => {
    const result = drillFixture("tbs-error-spike-3min");
    assert.equal(result.rollbackAt, null);
    assert.equal(result.trigger, null);
    for (const key of ["errorRate-critical", "errorRate-warning"]) {
      assert.deepEqual(changesOf(result, key), [{ at: 60, from: "INSUFFICIENT_DATA", to: "OK" }], key);
      assert.equal(stateOf(result, key), "OK");
    }
    assert.deepEqual(result.alarmsRaised, []);
    const check = triggerCheck(result, "errorRateSustained");
    assert.equal(check.breachAt, 600);
    assert.equal(check.rolledBackAt, null);
    assert.equal(check.met, null, "a spike shorter than the trigger's window is nothing to judge");
  });

  it("throughput 28,000 rows/s raises the warning at 10:00, not the critical, and does not roll back", () => {
    const result = drillFixture("tbs-throughput-28000");
    assert.deepEqual(changesOf(result, "rowsPerSecond-warning"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
      { at: 600, from: "OK", to: "ALARM" },
    ]);
    assert.deepEqual(changesOf(result, "rowsPerSecond-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
    ]);
    assert.equal(stateOf(result, "rowsPerSecond-critical"), "OK");
    assert.deepEqual(result.alarmsRaised, ["rowsPerSecond-warning"]);
    assert.equal(result.rollbackAt, null);
  });

  it("throughput 27,000 rows/s rolls back at 10:10 (10 breaching minutes + Lambda)", () => {
    const result = drillFixture("tbs-throughput-27000");
    assert.equal(result.rollbackAt, 610);
    assert.ok(result.rollbackAt >= 600 && result.rollbackAt <= 700);
    assert.equal(result.trigger?.id, "performanceDegradation");
    assert.equal(result.trigger?.alarm, "rowsPerSecond-critical");
    assert.equal(triggerCheck(result, "performanceDegradation").met, true);
  });

  it("no data at all: no rollback; notBreaching alarms go OK at 01:00, all others stay INSUFFICIENT_DATA", () => {
    const result = drillFixture("tbs-no-data");
    assert.equal(result.rollbackAt, null);
    assert.deepEqual(result.alarmsRaised, []);
    const ok = [
      "errorRate-critical",
      "errorRate-warning",
      "p95ResponseMs-critical",
      "p95ResponseMs-warning",
      "dbConnectionFailures-critical",
      "dataIntegrityErrors-critical",
    ];
    assert.deepEqual(
      result.transitions,
      ok.map((alarm) => ({ at: 60, alarm, from: "INSUFFICIENT_DATA", to: "OK" })),
    );
    for (const alarm of result.alarms) {
      const expected = alarm.treatMissingData === "notBreaching" ? "OK" : "INSUFFICIENT_DATA";
      assert.equal(alarm.state, expected, `${alarm.key} (${alarm.treatMissingData})`);
      assert.equal(alarm.state === "OK", ok.includes(alarm.key), alarm.key);
    }
    assert.ok(result.triggers.every((t) => t.breachAt === null && t.met === null));
    assert.deepEqual(result.notAutomated, [
      "userSatisfaction",
      "criticalBugsPerDay",
      "pilotUsersAffectedPercent",
    ]);
  });
});

describe("drill: telegram money bot", () => {
  it("critical errors at 01:40 (10 s metric) roll back at 02:00, within the 60 s limit", () => {
    const result = drillFixture("telegram-critical-errors");
    assert.equal(result.rollbackAt, 120);
    assert.deepEqual(result.trigger, {
      id: "criticalError",
      gate: "criticalErrors",
      alarm: "criticalErrors-critical",
      firedAt: 110,
      breachAt: 100,
    });
    const check = triggerCheck(result, "criticalError");
    assert.equal(check.detectionSeconds, 20);
    assert.equal(check.limitSeconds, 60);
    assert.equal(check.met, true);
  });

  it("data corruption at 01:40 rolls back within its 30 s limit", () => {
    const result = drillFixture("telegram-data-corruption");
    assert.equal(result.rollbackAt, 120);
    assert.equal(result.trigger?.id, "dataCorruption");
    const check = triggerCheck(result, "dataCorruption");
    assert.equal(check.detectionSeconds, 20);
    assert.equal(check.limitSeconds, 30);
    assert.equal(check.met, true);
  });

  it("a GuardDuty finding takes 310 s: the security trigger's 10 s limit is missed (honest)", () => {
    const result = drillFixture("telegram-security-finding");
    assert.deepEqual(result.findings, [{ gate: "securityFindings", at: 100, publishedAt: 400 }]);
    assert.equal(result.rollbackAt, 410);
    assert.deepEqual(result.trigger, {
      id: "securityBreach",
      gate: "securityFindings",
      alarm: null,
      firedAt: 400,
      breachAt: 100,
    });
    const check = triggerCheck(result, "securityBreach");
    assert.equal(check.detectionSeconds, 310);
    assert.equal(check.limitSeconds, 10);
    assert.equal(check.met, false);
    const worst = triggerLatencies(loadPlaybook(TELEGRAM)).find((l) => l.id === "securityBreach")!;
    assert.equal(
      check.detectionSeconds,
      worst.worstCaseSeconds,
      "the drill agrees with the static worst case",
    );
  });

  it("a finding published after the drill ends is no rollback, but the 10 s limit has still been missed", () => {
    const result = drill(TELEGRAM, 300, { securityFindings: [{ at: 100, value: 1 }] });
    assert.equal(result.rollbackAt, null);
    const check = triggerCheck(result, "securityBreach");
    assert.equal(check.rolledBackAt, null);
    assert.equal(check.met, false);
    assert.equal(check.note, "breach lasted 200 s, over the 10 s limit, with no rollback");
    const early = triggerCheck(
      drill(TELEGRAM, 105, { securityFindings: [{ at: 100, value: 1 }] }),
      "securityBreach",
    );
    assert.equal(early.met, null, "the drill ended before the limit ran out");
  });

  it("treatMissingData breaching: silence raises unhealthyServices (an alert, not a rollback)", () => {
    const result = drill(TELEGRAM, 600, {});
    assert.deepEqual(changesOf(result, "unhealthyServices-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "ALARM" },
    ]);
    assert.equal(result.rollbackAt, null);
  });
});

describe("drill: semantics of one alarm", () => {
  it("datapoints: time-weighted average, max, min and pro-rated sum over the covered part", () => {
    const points = [
      { at: 30, value: 10 },
      { at: 90, value: 4 },
    ];
    assert.deepEqual(periodDatapoints(points, 60, 3, "average"), [10, 7, 4]);
    assert.deepEqual(periodDatapoints(points, 60, 3, "maximum"), [10, 10, 4]);
    assert.deepEqual(periodDatapoints(points, 60, 3, "minimum"), [10, 4, 4]);
    assert.deepEqual(periodDatapoints(points, 60, 3, "sum"), [5, 7, 4]);
    assert.deepEqual(periodDatapoints([{ at: 120, value: 1 }], 60, 3, "average"), [undefined, undefined, 1]);
  });

  const spec = (overrides: Partial<AlarmSpec>): AlarmSpec => ({
    ...playbookAlarms(loadPlaybook(TBS)).find((a) => a.key === "errorRate-critical")!,
    ...overrides,
  });

  it("missing: INSUFFICIENT_DATA with no data, present datapoints only otherwise, back when data stops", () => {
    const run = simulateAlarm(spec({ treatMissingData: "missing" }), [{ at: 0, value: 8 }], 600);
    assert.deepEqual(
      run.transitions.map((t) => [t.at, t.to]),
      [
        [60, "OK"],
        [300, "ALARM"],
      ],
    );
    const stops = simulateAlarm(
      spec({ treatMissingData: "missing", evaluationPeriods: 1, datapointsToAlarm: 1 }),
      [{ at: 0, value: 1 }],
      120,
    );
    assert.equal(stops.state, "OK");
    assert.equal(simulateAlarm(spec({ treatMissingData: "missing" }), [], 600).transitions.length, 0);
  });

  it("breaching, notBreaching and ignore on an empty series", () => {
    const none = (treatMissingData: AlarmSpec["treatMissingData"]) =>
      simulateAlarm(spec({ treatMissingData }), [], 300);
    assert.deepEqual(
      none("breaching").transitions.map((t) => [t.at, t.to]),
      [[60, "ALARM"]],
    );
    assert.deepEqual(
      none("notBreaching").transitions.map((t) => [t.at, t.to]),
      [[60, "OK"]],
    );
    assert.deepEqual(none("ignore").transitions, []);
    assert.equal(none("ignore").state, "INSUFFICIENT_DATA");
  });

  it("M of N: 3 breaching minutes out of 5 alarm a 3-of-5 alarm", () => {
    const points = [
      { at: 0, value: 1 },
      { at: 60, value: 8 },
      { at: 240, value: 1 },
    ];
    const run = simulateAlarm(spec({ datapointsToAlarm: 3 }), points, 600);
    assert.equal(run.firstAlarmAt, 240);
    assert.equal(run.state, "OK");
  });
});

describe("drill: bad scenarios", () => {
  const base = { playbook: TBS, durationSeconds: 1200 };
  const bad: [string, unknown, RegExp][] = [
    [
      "unknown gate id",
      { ...base, metrics: { errorRat: [{ at: 0, value: 1 }] } },
      /metrics\.errorRat: unknown gate id; expected one of rowsPerSecond, errorRate, /,
    ],
    [
      "unsorted points",
      {
        ...base,
        metrics: {
          errorRate: [
            { at: 600, value: 8 },
            { at: 0, value: 1 },
          ],
        },
      },
      /metrics\.errorRate\[1\]\.at: expected points sorted by at, each after the one before \(600\), got 0/,
    ],
    [
      "a repeated time",
      {
        ...base,
        metrics: {
          errorRate: [
            { at: 60, value: 8 },
            { at: 60, value: 1 },
          ],
        },
      },
      /metrics\.errorRate\[1\]\.at: expected points sorted/,
    ],
    [
      "a negative time",
      { ...base, metrics: { errorRate: [{ at: -5, value: 1 }] } },
      /metrics\.errorRate\[0\]\.at: expected seconds from the start \(>= 0\), got -5/,
    ],
    [
      "a point past the end",
      { ...base, metrics: { errorRate: [{ at: 1300, value: 1 }] } },
      /metrics\.errorRate\[0\]\.at: expected at most durationSeconds \(1200\), got 1300/,
    ],
    [
      "unknown playbook",
      { ...base, playbook: "nope", metrics: {} },
      /playbook: unknown playbook "nope": expected one of tbs-strategy-framework, telegram-money-bot/,
    ],
    ["a missing duration", { playbook: TBS, metrics: {} }, /durationSeconds: expected number, got nothing/],
    [
      "a non-number value",
      { ...base, metrics: { errorRate: [{ at: 0, value: "high" }] } },
      /metrics\.errorRate\[0\]\.value: expected number, got "high"/,
    ],
    ["an unknown key", { ...base, metric: {} }, /metric: unknown key/],
  ];
  for (const [name, document, message] of bad) {
    it(`RolloutInputError naming the key for ${name}`, () => {
      assert.throws(
        () => parseScenario(document, "inline"),
        (error: unknown) => error instanceof RolloutInputError && message.test(error.message),
      );
    });
  }

  it("runDrill checks a programmatic scenario too", () => {
    assert.throws(
      () => drill(TBS, 600, { nope: [{ at: 0, value: 1 }] }),
      (error: unknown) =>
        error instanceof RolloutInputError && /metrics\.nope: unknown gate id/.test(error.message),
    );
  });
});

describe("rollout drill command", () => {
  it("human output: state changes, the rollback line and the limit checks; exit 0", async () => {
    const out = bufferOutput();
    const code = await drillCommand({ scenario: path.join(fixtures, "tbs-error-rate-8pct.yaml") }, out);
    assert.equal(code, 0);
    const text = out.text();
    assert.match(text, /^time\s+alarm\s+from -> to$/m);
    assert.match(text, /^01:00\s+errorRate-critical\s+INSUFFICIENT_DATA -> OK$/m);
    assert.match(text, /^15:00\s+errorRate-critical\s+OK -> ALARM$/m);
    assert.ok(
      out.lines.includes(
        "rollback at 15:10 (310 s after the first breach) by trigger errorRateSustained (errorRate-critical)",
      ),
      text,
    );
    assert.match(text, /^errorRateSustained\s+10:00\s+15:10\s+310 s\s+900 s\s+met\s/m);
    assert.match(text, /^not automated \(manual evidence, not simulated\): userSatisfaction/m);
    assert.deepEqual(out.errors, []);
  });

  it("exit 0 without a rollback too, saying so", async () => {
    const out = bufferOutput();
    const code = await drillCommand({ scenario: path.join(fixtures, "tbs-error-spike-3min.yaml") }, out);
    assert.equal(code, 0);
    assert.ok(out.lines.includes("no rollback"), out.text());
  });

  it("--json parses and carries the result", async () => {
    const out = bufferOutput();
    const file = path.join(fixtures, "tbs-throughput-27000.yaml");
    const code = await drillCommand({ scenario: file, json: true }, out);
    assert.equal(code, 0);
    const json = JSON.parse(out.text());
    assert.equal(json.scenario, file);
    assert.equal(json.playbook, TBS);
    assert.equal(json.rollbackAt, 610);
    assert.equal(json.trigger.id, "performanceDegradation");
    assert.ok(Array.isArray(json.transitions) && json.transitions.length > 0);
  });

  it("a JSON scenario file works as well", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drill-")), "scenario.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ playbook: TBS, durationSeconds: 900, metrics: { errorRate: [{ at: 0, value: 9 }] } }),
    );
    const out = bufferOutput();
    assert.equal(await drillCommand({ scenario: file, json: true }, out), 0);
    assert.equal(JSON.parse(out.text()).rollbackAt, 310);
  });

  it("data for a manual gate: said to be ignored (human and JSON), still exit 0", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drill-")), "manual.yaml");
    fs.writeFileSync(
      file,
      `playbook: ${TBS}\ndurationSeconds: 600\nmetrics:\n  errorRate:\n    - { at: 0, value: 1 }\n  userSatisfaction:\n    - { at: 0, value: 10 }\n`,
    );
    const out = bufferOutput();
    assert.equal(await drillCommand({ scenario: file }, out), 0);
    assert.deepEqual(
      out.lines.filter((l) => l.startsWith("ignored: ")),
      ["ignored: userSatisfaction is a manual gate (no alarm)"],
    );
    const json = bufferOutput();
    assert.equal(await drillCommand({ scenario: file, json: true }, json), 0);
    assert.deepEqual(JSON.parse(json.text()).ignoredMetrics, ["userSatisfaction"]);
  });

  it("no manual gate's data: nothing ignored", async () => {
    const out = bufferOutput();
    const file = path.join(fixtures, "tbs-error-rate-8pct.yaml");
    assert.equal(await drillCommand({ scenario: file, json: true }, out), 0);
    assert.deepEqual(JSON.parse(out.text()).ignoredMetrics, []);
  });

  it("--json and bad input: the error is also one JSON line on stdout", async () => {
    const direct = bufferOutput();
    await rejectsWithInputError(
      drillCommand({ scenario: "/nonexistent.yaml", json: true }, direct),
      "--scenario: no such file /nonexistent.yaml",
    );
    assert.deepEqual([direct.lines, direct.errors], [[], []]);
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", "/nonexistent.yaml", "--json"], out), 2);
    assert.deepEqual(out.errors, ["error: --scenario: no such file /nonexistent.yaml"]);
    assert.equal(out.lines.length, 1);
    assert.deepEqual(JSON.parse(out.lines[0]!), {
      error: out.errors[0]!.replace(/^error: /, ""),
      exitCode: 2,
    });
  });

  it("exit 2 with the key path on bad input", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drill-")), "bad.yaml");
    fs.writeFileSync(
      file,
      `playbook: ${TBS}\ndurationSeconds: 600\nmetrics:\n  errorRat:\n    - { at: 0, value: 1 }\n`,
    );
    await rejectsWithInputError(
      drillCommand({ scenario: file }, bufferOutput()),
      `invalid drill scenario ${file}:\n  metrics.errorRat: unknown gate id; expected one of rowsPerSecond, errorRate, p95ResponseMs, sessionSuccessRate, cpuUtilization, memoryUtilization, dbConnectionPoolUtilization, diskFreePercent, dbConnectionFailures, uptimePercent, userSatisfaction, criticalBugsPerDay, pilotUsersAffectedPercent, dataIntegrityErrors`,
    );
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", file], out), 2);
    assert.match(
      out.errors.join("\n"),
      /^error: invalid drill scenario .*bad\.yaml:\n {2}metrics\.errorRat: unknown gate id/,
    );
    assert.deepEqual(out.lines, []);
  });

  it("exit 2 without --scenario or with a missing file", async () => {
    await rejectsWithInputError(
      drillCommand({}, bufferOutput()),
      "--scenario: expected a YAML or JSON drill scenario file, got nothing",
    );
    await rejectsWithInputError(
      drillCommand({ scenario: "/nonexistent/drill.yaml" }, bufferOutput()),
      "--scenario: no such file /nonexistent/drill.yaml",
    );
    const none = bufferOutput();
    assert.equal(await runCli(["drill"], none), 2);
    assert.match(
      none.errors.join("\n"),
      /--scenario: expected a YAML or JSON drill scenario file, got nothing/,
    );
    const missing = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", "/nonexistent/drill.yaml"], missing), 2);
    assert.match(missing.errors.join("\n"), /--scenario: no such file \/nonexistent\/drill\.yaml/);
  });

  it("--live is not handled here (the router's hook)", async () => {
    await assert.rejects(
      drillCommand({ live: true, stack: "staging" }, bufferOutput()),
      (error: unknown) =>
        error instanceof RolloutInputError && /^--live: .*not handled here/.test(error.message),
    );
  });
});

describe("drill: properties (TBS)", () => {
  const playbook = loadPlaybook(TBS);
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));

  /** A value that breaches none of the gate's levels; the brief's own ranges for the two headline gates. */
  function healthy(gateId: string): fc.Arbitrary<number> {
    if (gateId === "errorRate") return fc.double({ min: 0, max: 3, maxExcluded: true, noNaN: true });
    if (gateId === "rowsPerSecond")
      return fc.double({ min: 29842, minExcluded: true, max: 60000, noNaN: true });
    const gate = gates.get(gateId)!;
    const thresholds = [gate.warning?.threshold, gate.critical?.threshold].filter(
      (t): t is number => t !== undefined,
    );
    if (gate.breachWhen === "above") {
      const limit = Math.min(...thresholds);
      return limit > 0 ? fc.double({ min: 0, max: limit, noNaN: true }) : fc.constant(limit);
    }
    const limit = Math.max(...thresholds);
    return fc.double({ min: limit, max: limit * 2, noNaN: true });
  }

  const automatedGates = [...new Set(autoRollbackAlarms(playbook).map((a) => a.gateId))];
  const series = (gateId: string, duration: number) =>
    fc.uniqueArray(fc.integer({ min: 0, max: duration }), { minLength: 1, maxLength: 6 }).chain((times) => {
      const sorted = [...times].sort((a, b) => a - b);
      return fc
        .tuple(...sorted.map(() => healthy(gateId)))
        .map((values) => sorted.map((at, i) => ({ at, value: values[i]! })));
    });
  const healthyScenario = fc.integer({ min: 60, max: 3600 }).chain((durationSeconds) =>
    fc
      .record(Object.fromEntries(automatedGates.map((g) => [g, series(g, durationSeconds)])), {
        requiredKeys: [],
      })
      .map((metrics): DrillScenario => ({
        playbook: TBS,
        durationSeconds,
        metrics: Object.fromEntries(
          Object.entries(metrics).filter(([, points]) => points !== undefined),
        ) as DrillScenario["metrics"],
      })),
  );

  it("a scenario where every gate is healthy never rolls back", () => {
    assert.ok(automatedGates.includes("errorRate") && automatedGates.includes("rowsPerSecond"));
    fc.assert(
      fc.property(healthyScenario, (scenario) => {
        const result = runDrill(playbook, scenario);
        assert.equal(result.rollbackAt, null, JSON.stringify(result.alarmsRaised));
        assert.equal(result.trigger, null);
      }),
      { numRuns: 200 },
    );
  });

  it("a sustained error-rate breach is always caught within the alarm's worst case (latency.ts)", () => {
    const critical = autoRollbackAlarms(playbook).find((a) => a.key === "errorRate-critical")!;
    const worst = alarmWorstCaseSeconds(critical);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1800 }),
        fc.double({ min: 0, max: 3, maxExcluded: true, noNaN: true }),
        fc.double({ min: 5, minExcluded: true, max: 100, noNaN: true }),
        (breachAt, before, during) => {
          const metrics = {
            errorRate:
              breachAt === 0
                ? [{ at: 0, value: during }]
                : [
                    { at: 0, value: before },
                    { at: breachAt, value: during },
                  ],
          };
          const result = runDrill(playbook, { playbook: TBS, durationSeconds: breachAt + worst, metrics });
          assert.notEqual(result.rollbackAt, null);
          assert.ok(result.rollbackAt! <= breachAt + worst, `${result.rollbackAt} > ${breachAt} + ${worst}`);
          const earliest =
            breachAt + (critical.evaluationPeriods - 1) * critical.periodSeconds + ROLLBACK_LAMBDA_SECONDS;
          assert.ok(result.rollbackAt! >= earliest, `${result.rollbackAt} < ${earliest}`);
          assert.equal(result.trigger?.id, "errorRateSustained");
          assert.equal(result.trigger?.breachAt, breachAt);
        },
      ),
      { numRuns: 200 },
    );
  });
});
