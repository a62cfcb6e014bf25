import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "../../rollout/alarms";
import {
  alarmRangeAt,
  EVALUATION_RANGE_EXTRA_PERIODS,
  evaluateAlarm,
  evaluateRange,
  evaluationRangePeriods,
  MAX_DRILL_SECONDS,
  periodDatapoints,
  runDrill,
  simulateAlarm,
  windowDatapoints,
  type Aggregation,
  type AlarmState,
  type DrillResult,
  type DrillScenario,
  type Point,
  type RangePoint,
  type SimulatedAlarm,
} from "../../rollout/drill";
import {
  alarmWorstCaseSeconds,
  evaluationCadenceSeconds,
  EVENTBRIDGE_DELIVERY_SECONDS,
  GUARDDUTY_PUBLICATION_SECONDS,
  ROLLBACK_LAMBDA_SECONDS,
  triggerLatencies,
} from "../../rollout/latency";
import { loadPlaybook, loadScenario, parseScenario } from "../../rollout/loaders";
import { RolloutInputError } from "../../rollout/validation";
import { bufferOutput } from "../../cli/output";
import { clock, drillCommand } from "../../cli/commands/drill";
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
/** The guide every evaluation rule is taken from (cited in test names). */
const GUIDE =
  'CloudWatch User Guide "How alarm state is evaluated when data is missing" (AlarmThatSendsEmail.md @05fd32f6)';
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
  it("error rate 8 % from 10:00: ALARM at 15:00, blue back one Lambda run later, by the error-rate trigger", () => {
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
    assert.equal(check.rolledBackAt, 900 + ROLLBACK_LAMBDA_SECONDS);
    assert.equal(check.detectionSeconds, 300 + ROLLBACK_LAMBDA_SECONDS);
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
    // The warning treats missing data as missing: with fewer than 10 real datapoints, all breaching
    // and the oldest evaluated one missing, it is INSUFFICIENT_DATA (guide, table 1 row 5
    // "- - - - X"), not OK, until the 10th breaching minute.
    assert.deepEqual(changesOf(result, "rowsPerSecond-warning"), [
      { at: 600, from: "INSUFFICIENT_DATA", to: "ALARM" },
    ]);
    assert.deepEqual(changesOf(result, "rowsPerSecond-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
    ]);
    assert.equal(stateOf(result, "rowsPerSecond-critical"), "OK");
    assert.deepEqual(result.alarmsRaised, ["rowsPerSecond-warning"]);
    assert.equal(result.rollbackAt, null);
  });

  it("throughput 27,000 rows/s rolls back after 10 breaching minutes + the Lambda", () => {
    const result = drillFixture("tbs-throughput-27000");
    assert.equal(result.rollbackAt, 600 + ROLLBACK_LAMBDA_SECONDS);
    assert.ok(result.rollbackAt >= 600 && result.rollbackAt <= 700);
    assert.deepEqual(changesOf(result, "rowsPerSecond-critical"), [
      { at: 600, from: "INSUFFICIENT_DATA", to: "ALARM" },
    ]);
    assert.equal(result.trigger?.id, "performanceDegradation");
    assert.equal(result.trigger?.alarm, "rowsPerSecond-critical");
    assert.equal(triggerCheck(result, "performanceDegradation").met, true);
  });

  it("no data at all: no rollback; notBreaching and traffic-gated alarms go OK at 01:00, all others stay INSUFFICIENT_DATA", () => {
    const result = drillFixture("tbs-no-data");
    assert.equal(result.rollbackAt, null);
    assert.deepEqual(result.alarmsRaised, []);
    // notBreaching treats silence as good; a gated alarm whose series the scenario leaves out reads neutral.
    const ok = [
      "rowsPerSecond-critical",
      "rowsPerSecond-warning",
      "errorRate-critical",
      "errorRate-warning",
      "healthyHosts-critical",
      "albGeneratedErrors-critical",
      "p95ResponseMs-critical",
      "p95ResponseMs-warning",
      "sessionSuccessRate-critical",
      "sessionSuccessRate-warning",
      "dbConnectionFailures-critical",
      "dataIntegrityErrors-critical",
    ];
    assert.deepEqual(
      result.transitions,
      ok.map((alarm) => ({ at: 60, alarm, from: "INSUFFICIENT_DATA", to: "OK" })),
    );
    const gated = new Set(
      playbookAlarms(loadPlaybook(TBS))
        .filter((a) => a.whileServing)
        .map((a) => a.key),
    );
    for (const alarm of result.alarms) {
      const expected =
        alarm.treatMissingData === "notBreaching" || gated.has(alarm.key) ? "OK" : "INSUFFICIENT_DATA";
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

describe("drill: green down (alarms gated on green carrying traffic)", () => {
  it("a green that goes silent while it serves rolls back within the trigger's limit (silence reads 0)", () => {
    const result = drillFixture("tbs-green-goes-silent");
    assert.deepEqual(changesOf(result, "sessionSuccessRate-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
      { at: 900, from: "OK", to: "ALARM" },
    ]);
    assert.deepEqual(changesOf(result, "rowsPerSecond-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
      { at: 1200, from: "OK", to: "ALARM" },
    ]);
    assert.deepEqual(result.trigger, {
      id: "sessionFailures",
      gate: "sessionSuccessRate",
      alarm: "sessionSuccessRate-critical",
      firedAt: 900,
      breachAt: 600,
    });
    for (const [id, firedAt] of [
      ["sessionFailures", 900],
      ["performanceDegradation", 1200],
    ] as const) {
      const check = triggerCheck(result, id);
      assert.deepEqual(
        [check.breachAt, check.detectionSeconds, check.met],
        [600, firedAt - 600 + ROLLBACK_LAMBDA_SECONDS, true],
        id,
      );
    }
  });

  it("the same silence while green serves nothing never rolls back (the alarm reads its neutral value)", () => {
    const { scenario, playbook } = loadScenario(path.join(fixtures, "tbs-green-goes-silent.yaml"));
    const idle = runDrill(playbook, { ...scenario, greenRequests: [{ at: 0, value: 0 }] });
    assert.equal(idle.rollbackAt, null);
    assert.deepEqual(idle.alarmsRaised, []);
  });

  it("a green whose targets all fail rolls back on its healthy hosts: TBS greenUnavailable within 900 s", () => {
    const result = drillFixture("tbs-green-targets-fail");
    assert.deepEqual(changesOf(result, "healthyHosts-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
      { at: 720, from: "OK", to: "ALARM" },
    ]);
    const check = triggerCheck(result, "greenUnavailable");
    assert.deepEqual(
      [check.breachAt, check.detectionSeconds, check.limitSeconds, check.met],
      [600, 120 + ROLLBACK_LAMBDA_SECONDS, 900, true],
    );
  });

  it("a green whose targets all fail: Telegram's system failure within 300 s", () => {
    const result = runDrill(loadPlaybook(TELEGRAM), {
      playbook: TELEGRAM,
      durationSeconds: 900,
      greenRequests: [{ at: 0, value: 500 }],
      metrics: {
        healthyHosts: [
          { at: 0, value: 2 },
          { at: 300, value: 0 },
        ],
      },
    });
    const check = triggerCheck(result, "systemFailure");
    assert.deepEqual(
      [check.breachAt, check.rolledBackAt, check.limitSeconds, check.met],
      [300, 420 + ROLLBACK_LAMBDA_SECONDS, 300, true],
    );
  });

  it("an idle green with no healthy host (weight 0, no cohort) never rolls back", () => {
    const result = runDrill(loadPlaybook(TBS), {
      playbook: TBS,
      durationSeconds: 1800,
      greenRequests: [{ at: 0, value: 0 }],
      metrics: { healthyHosts: [{ at: 0, value: 0 }] },
    });
    assert.equal(result.rollbackAt, null);
    assert.equal(result.alarms.find((a) => a.key === "healthyHosts-critical")!.state, "OK");
  });
});

describe("drill: the 24-hour uptime figure is one rolling day", () => {
  // uptime 100 % but for one hour from 12:00 (the window is rolling: 24 h evaluated every minute).
  const uptime = (badHour: number) =>
    runDrill(loadPlaybook(TBS), {
      playbook: TBS,
      durationSeconds: 2 * 86400,
      metrics: {
        uptimePercent: [
          { at: 0, value: 100 },
          { at: 12 * 3600, value: badHour },
          { at: 13 * 3600, value: 100 },
        ],
      },
    });

  it("one hour at 0 % (24 h uptime 95.8 %) raises the uptime alarm", () => {
    const alarm = uptime(0).alarms.find((a) => a.key === "uptimePercent-critical")!;
    // 12:10, over the 12 h 10 min so far: 100 * 12 h / 12 h 10 min = 98.6 % < 99.9 %.
    assert.equal(alarm.firstAlarmAt, 12 * 3600 + 60);
  });

  it("one hour at 99.5 % does not (24 h uptime 99.98 %)", () => {
    const alarm = uptime(99.5).alarms.find((a) => a.key === "uptimePercent-critical")!;
    assert.deepEqual([alarm.firstAlarmAt, alarm.state], [null, "OK"]);
  });

  it("Telegram's daily business gates are rolling days too", () => {
    for (const id of ["winRate", "profitFactor"]) {
      const [spec] = playbookAlarms(loadPlaybook(TELEGRAM)).filter((a) => a.gateId === id);
      assert.deepEqual([spec!.periodSeconds, spec!.evaluationPeriods], [86400, 1], id);
    }
  });
});

describe("drill: gaps (null points)", () => {
  it(`TBS pod CPU 98 % for 3 minutes, then no data: ALARM at 17:00 and a rollback (${GUIDE}, table 1 row 6 "X - - - -")`, () => {
    const result = drillFixture("tbs-cpu-metric-stops");
    assert.deepEqual(changesOf(result, "cpuUtilization-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
      { at: 1020, from: "OK", to: "ALARM" },
      { at: 1200, from: "ALARM", to: "INSUFFICIENT_DATA" },
    ]);
    assert.deepEqual(result.trigger, {
      id: "resourceExhaustion",
      gate: "cpuUtilization",
      alarm: "cpuUtilization-critical",
      firedAt: 1020,
      breachAt: 600,
    });
    assert.equal(result.rollbackAt, 1020 + ROLLBACK_LAMBDA_SECONDS);
    const check = triggerCheck(result, "resourceExhaustion");
    assert.equal(check.breachAt, 600);
    assert.equal(check.detectionSeconds, 420 + ROLLBACK_LAMBDA_SECONDS);
    assert.equal(check.met, check.detectionSeconds <= check.limitSeconds);
  });

  it("a null point ends a raw breach: silence is not a breach of the raw value", () => {
    const result = drill(TBS, 900, {
      errorRate: [
        { at: 0, value: 8 },
        { at: 120, value: null },
      ],
    });
    // errorRate treats missing data as notBreaching: 2 breaching minutes of 5, no alarm.
    assert.deepEqual(changesOf(result, "errorRate-critical"), [
      { at: 60, from: "INSUFFICIENT_DATA", to: "OK" },
    ]);
    assert.equal(result.rollbackAt, null);
    const check = triggerCheck(result, "errorRateSustained");
    assert.equal(check.breachAt, 0);
    assert.equal(check.met, null);
    assert.equal(check.note, "breach lasted 120 s and did not fire the trigger");
  });

  it("a null point is no GuardDuty finding", () => {
    const result = drill(TELEGRAM, 600, {
      securityFindings: [
        { at: 0, value: null },
        { at: 100, value: 0 },
      ],
    });
    assert.deepEqual(result.findings, []);
    assert.equal(result.rollbackAt, null);
  });

  it("the schema takes null values (a gap) in YAML", () => {
    const { scenario } = loadScenario(path.join(fixtures, "tbs-cpu-metric-stops.yaml"));
    assert.deepEqual(scenario.metrics.cpuUtilization?.at(-1), { at: 780, value: null });
  });
});

describe("drill: performance", () => {
  it("a week-long drill of the telegram playbook (10-second alarms, gaps) stays well under 2 s", () => {
    const playbook = loadPlaybook(TELEGRAM);
    const metrics: DrillScenario["metrics"] = {};
    for (const gateId of new Set(playbookAlarms(playbook).map((a) => a.gateId))) {
      const points: Point[] = [];
      for (let at = 0; at < MAX_DRILL_SECONDS; at += 3 * 3600 + 7)
        points.push({ at, value: points.length % 5 === 4 ? null : points.length % 2 });
      metrics[gateId] = points;
    }
    const started = performance.now();
    const result = runDrill(playbook, { playbook: TELEGRAM, durationSeconds: MAX_DRILL_SECONDS, metrics });
    const elapsed = performance.now() - started;
    assert.equal(result.durationSeconds, MAX_DRILL_SECONDS);
    assert.ok(elapsed < 2000, `${Math.round(elapsed)} ms`);
  });
});

describe("drill: telegram money bot", () => {
  it("critical errors at 01:40 (10 s metric): ALARM at 01:50, rolled back within the 60 s limit", () => {
    const result = drillFixture("telegram-critical-errors");
    assert.equal(result.rollbackAt, 110 + ROLLBACK_LAMBDA_SECONDS);
    assert.deepEqual(result.trigger, {
      id: "criticalError",
      gate: "criticalErrors",
      alarm: "criticalErrors-critical",
      firedAt: 110,
      breachAt: 100,
    });
    const check = triggerCheck(result, "criticalError");
    assert.equal(check.detectionSeconds, 10 + ROLLBACK_LAMBDA_SECONDS);
    assert.equal(check.limitSeconds, 60);
    assert.equal(check.met, true);
  });

  it("data corruption at 01:40 rolls back within its 30 s limit", () => {
    const result = drillFixture("telegram-data-corruption");
    assert.equal(result.rollbackAt, 110 + ROLLBACK_LAMBDA_SECONDS);
    assert.equal(result.trigger?.id, "dataCorruption");
    const check = triggerCheck(result, "dataCorruption");
    assert.equal(check.detectionSeconds, 10 + ROLLBACK_LAMBDA_SECONDS);
    assert.equal(check.limitSeconds, 30);
    assert.equal(check.met, true);
  });

  it("the application's security event: EventBridge + function, within the security trigger's 10 s limit", () => {
    const result = drillFixture("telegram-security-event");
    const publishedAt = 100 + EVENTBRIDGE_DELIVERY_SECONDS;
    assert.deepEqual(result.findings, [
      { gate: "securityEvents", source: "security-event", at: 100, publishedAt },
    ]);
    assert.equal(result.rollbackAt, publishedAt + ROLLBACK_LAMBDA_SECONDS);
    const check = triggerCheck(result, "securityBreach");
    assert.deepEqual(
      [check.breachAt, check.detectionSeconds, check.limitSeconds, check.met],
      [100, EVENTBRIDGE_DELIVERY_SECONDS + ROLLBACK_LAMBDA_SECONDS, 10, true],
    );
    const worst = triggerLatencies(loadPlaybook(TELEGRAM)).find((l) => l.id === "securityBreach")!;
    assert.equal(
      check.detectionSeconds,
      worst.worstCaseSeconds,
      "the drill agrees with the static worst case",
    );
  });

  it("a GuardDuty finding alone (the backup net) takes publication + Lambda: the 10 s limit is missed (honest)", () => {
    const result = drillFixture("telegram-security-finding");
    const publishedAt = 100 + GUARDDUTY_PUBLICATION_SECONDS;
    assert.deepEqual(result.findings, [
      { gate: "securityFindings", source: "guardduty", at: 100, publishedAt },
    ]);
    assert.equal(result.rollbackAt, publishedAt + ROLLBACK_LAMBDA_SECONDS);
    assert.deepEqual(result.trigger, {
      id: "securityBreach",
      gate: "securityFindings",
      alarm: null,
      firedAt: publishedAt,
      breachAt: 100,
    });
    const check = triggerCheck(result, "securityBreach");
    assert.equal(check.detectionSeconds, GUARDDUTY_PUBLICATION_SECONDS + ROLLBACK_LAMBDA_SECONDS);
    assert.equal(check.limitSeconds, 10);
    assert.equal(check.met, false);
    assert.match(
      check.note,
      /securityFindings \(GuardDuty finding\) \(backup net\): 305 s over the 10 s limit/,
    );
    const backup = triggerLatencies(loadPlaybook(TELEGRAM))
      .find((l) => l.id === "securityBreach")!
      .paths.find((p) => p.role === "backup")!;
    assert.equal(check.detectionSeconds, backup.seconds, "the drill agrees with the static backup figure");
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

/** An alarm of its own, so these tests do not move when a playbook does: TBS's error-rate critical numbers. */
const base: SimulatedAlarm = {
  key: "errorRate-critical",
  metric: { kind: "alb-error-rate" },
  comparison: "GreaterThanThreshold",
  playbookThreshold: 5,
  periodSeconds: 60,
  evaluationPeriods: 5,
  datapointsToAlarm: 5,
  treatMissingData: "notBreaching",
};
const spec = (overrides: Partial<SimulatedAlarm>): SimulatedAlarm => ({ ...base, ...overrides });
const changes = (run: { transitions: { at: number; to: string }[] }) =>
  run.transitions.map((t) => [t.at, t.to]);

/** Datapoints by direct integration over [end - P, end) (the reference the fast path must agree with). */
function referenceDatapoint(
  points: readonly Point[],
  periodSeconds: number,
  how: Aggregation,
  durationSeconds: number,
  end: number,
): number | undefined {
  const start = end - periodSeconds;
  let covered = 0;
  let weighted = 0;
  let max = -Infinity;
  let min = Infinity;
  points.forEach((point, i) => {
    if (point.value === null) return;
    const seconds =
      Math.min(end, points[i + 1]?.at ?? durationSeconds, durationSeconds) - Math.max(start, point.at, 0);
    if (seconds <= 0) return;
    covered += seconds;
    weighted += point.value * seconds;
    max = Math.max(max, point.value);
    min = Math.min(min, point.value);
  });
  if (covered === 0) return undefined;
  const average = Math.min(max, Math.max(min, weighted / covered));
  if (how === "maximum") return max;
  if (how === "minimum") return min;
  if (how === "sum") return covered === periodSeconds ? average : weighted / periodSeconds;
  return average;
}

describe("drill: datapoints", () => {
  it("time-weighted average, max, min and pro-rated sum over the covered part", () => {
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

  it("a null point is a gap: no data from it until the next point", () => {
    const points = [
      { at: 0, value: 10 },
      { at: 30, value: null },
      { at: 90, value: 4 },
      { at: 120, value: null },
      { at: 240, value: 2 },
    ];
    assert.deepEqual(periodDatapoints(points, 60, 5, "average"), [10, 4, undefined, undefined, 2]);
    assert.deepEqual(periodDatapoints(points, 60, 5, "sum"), [5, 2, undefined, undefined, 2]);
    assert.deepEqual(periodDatapoints(points, 60, 5, "maximum"), [10, 4, undefined, undefined, 2]);
    assert.deepEqual(periodDatapoints([{ at: 0, value: null }], 60, 2, "average"), [undefined, undefined]);
  });

  it("periods of P >= 60 s end at the evaluation minute: sliding windows, the part before 0 uncovered", () => {
    const at = windowDatapoints(
      [
        { at: 0, value: 1 },
        { at: 120, value: 7 },
      ],
      300,
      "average",
      600,
    );
    assert.equal(at(60), 1); // [-240, 60): only [0, 60) covered
    assert.equal(at(180), (120 * 1 + 60 * 7) / 180); // [-120, 180)
    assert.equal(at(360), (60 * 1 + 240 * 7) / 300); // [60, 360)
    assert.equal(at(420), 7); // [120, 420)
    assert.equal(at(0), undefined);
    assert.throws(() => at(90), RangeError, "not a period end: the windows slide by the minute");
    assert.throws(() => at(660), RangeError, "past the drill");
    // Sum: a period only partly covered is pro-rated over the whole period.
    const sum = windowDatapoints([{ at: 0, value: 3 }], 300, "sum", 600);
    assert.equal(sum(60), (3 * 60) / 300);
    assert.equal(sum(300), 3);
  });

  it("property: the precomputed windows agree with integrating each period directly (gaps included)", () => {
    const series = fc
      .uniqueArray(fc.integer({ min: 0, max: 7200 }), { minLength: 0, maxLength: 12 })
      .chain((times) =>
        fc
          .tuple(
            ...times.map(() => fc.option(fc.double({ min: -1000, max: 1000, noNaN: true }), { freq: 4 })),
          )
          .map((values) => [...times].sort((a, b) => a - b).map((at, i) => ({ at, value: values[i]! }))),
      );
    fc.assert(
      fc.property(
        series,
        fc.constantFrom(10, 30, 60, 120, 300, 3600),
        fc.constantFrom<Aggregation>("average", "maximum", "minimum", "sum"),
        fc.integer({ min: 60, max: 7200 }),
        (points, periodSeconds, how, durationSeconds) => {
          const step = evaluationCadenceSeconds(periodSeconds);
          const at = windowDatapoints(points, periodSeconds, how, durationSeconds, step);
          for (let end = step; end <= durationSeconds; end += step) {
            const expected = referenceDatapoint(points, periodSeconds, how, durationSeconds, end);
            const actual = at(end);
            if (expected === undefined || actual === undefined) assert.equal(actual, expected, `end ${end}`);
            else
              assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `end ${end}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("drill: semantics of one alarm", () => {
  it(`the evaluation range is N + 2 periods, an assumption from the guide's example (N 3: "the 5 most recent data points")`, () => {
    assert.equal(EVALUATION_RANGE_EXTRA_PERIODS, 2);
    assert.equal(evaluationRangePeriods(3), 5);
    assert.equal(evaluationRangePeriods(1), 3);
    const always = () => 1;
    assert.deepEqual(alarmRangeAt(spec({ evaluationPeriods: 3 }), always, 300), [
      false,
      false,
      false,
      false,
      false,
    ]);
    assert.deepEqual(alarmRangeAt(spec({ evaluationPeriods: 3 }), always, 120), [
      undefined,
      undefined,
      undefined,
      false,
      false,
    ]);
  });

  it(`missing: INSUFFICIENT_DATA with no data, and while fewer than N real datapoints all breach (${GUIDE}, table 1 row "- - - - X"); ALARM at the Nth`, () => {
    const run = simulateAlarm(spec({ treatMissingData: "missing" }), [{ at: 0, value: 8 }], 600);
    assert.deepEqual(changes(run), [[300, "ALARM"]]);
    const stops = simulateAlarm(
      spec({ treatMissingData: "missing", evaluationPeriods: 1, datapointsToAlarm: 1 }),
      [{ at: 0, value: 1 }],
      120,
    );
    assert.equal(stops.state, "OK");
    assert.equal(simulateAlarm(spec({ treatMissingData: "missing" }), [], 600).transitions.length, 0);
    const good = simulateAlarm(spec({ treatMissingData: "missing" }), [{ at: 0, value: 1 }], 600);
    assert.deepEqual(changes(good), [[60, "OK"]], `a non-breaching real datapoint is OK (row "- - - - 0")`);
  });

  it("breaching, notBreaching and ignore on an empty series", () => {
    const none = (treatMissingData: AlarmSpec["treatMissingData"]) =>
      simulateAlarm(spec({ treatMissingData }), [], 300);
    assert.deepEqual(changes(none("breaching")), [[60, "ALARM"]]);
    assert.deepEqual(changes(none("notBreaching")), [[60, "OK"]]);
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

  it(`${GUIDE}, table 1 row 6 "X - - - -": treated as missing, an old breaching datapoint alone puts the alarm in ALARM, until it leaves the range`, () => {
    const alarm = spec({ treatMissingData: "missing", evaluationPeriods: 3, datapointsToAlarm: 3 });
    const points = [
      { at: 0, value: 8 },
      { at: 60, value: null },
    ];
    const run = simulateAlarm(alarm, points, 600);
    // 60: "- - - - X" and 120: "- - - X -" are INSUFFICIENT_DATA; from 180 the oldest evaluated
    // datapoint ("X - -") is the real breaching one; at 360 it has left the 5-period range.
    assert.deepEqual(changes(run), [
      [180, "ALARM"],
      [360, "INSUFFICIENT_DATA"],
    ]);
    const datapoints = windowDatapoints(points, 60, "average", 600);
    assert.deepEqual(alarmRangeAt(alarm, datapoints, 300), [
      true,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    // ignore keeps its state there instead.
    const ignore = simulateAlarm({ ...alarm, treatMissingData: "ignore" }, points, 600);
    assert.deepEqual(ignore.transitions, []);
  });

  it(`${GUIDE}: with N real datapoints in the range, the newest N real ones are evaluated, however old, and the treatment is unused`, () => {
    const alarm = spec({ treatMissingData: "notBreaching", evaluationPeriods: 3, datapointsToAlarm: 3 });
    const points = [
      { at: 0, value: 8 },
      { at: 120, value: null },
      { at: 180, value: 8 },
      { at: 240, value: null },
    ];
    // 240: "- X X - X" -> X X X, ALARM (the last 3 periods alone, "X - X", would be OK);
    // 300: "X X - X -" -> X X X; 360: "X - X - -" has 2 real ones, the fill is not breaching: OK.
    assert.deepEqual(changes(simulateAlarm(alarm, points, 600)), [
      [60, "OK"],
      [240, "ALARM"],
      [360, "OK"],
    ]);
  });

  it(`${GUIDE}, table 1 row 2 "0 - - - -" and its note: treated as breaching, a non-breaching datapoint keeps OK until it leaves the range`, () => {
    const alarm = spec({ treatMissingData: "breaching", evaluationPeriods: 3, datapointsToAlarm: 3 });
    const run = simulateAlarm(
      alarm,
      [
        { at: 0, value: 1 },
        { at: 60, value: null },
      ],
      600,
    );
    assert.deepEqual(changes(run), [
      [60, "OK"],
      [360, "ALARM"],
    ]);
  });

  it("a one-day period is a rolling 24-hour figure evaluated every minute", () => {
    const uptime = spec({
      key: "uptimePercent-critical",
      metric: { kind: "custom", metricName: "UptimePercent", statistic: "Average" },
      comparison: "LessThanThreshold",
      playbookThreshold: 99.9,
      periodSeconds: 86400,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "missing",
    });
    const run = simulateAlarm(
      uptime,
      [
        { at: 0, value: 100 },
        { at: 86400, value: 90 },
      ],
      2 * 86400,
    );
    // The 24 hours up to 86400 + x average 100 - 10 x / 86400: under 99.9 once x > 864 s, at the
    // evaluation minute x = 900 (aligned days would wait for 172800).
    assert.deepEqual(changes(run), [
      [60, "OK"],
      [86400 + 900, "ALARM"],
    ]);
  });

  it("evaluateAlarm: the state evaluation takes any datapoint source", () => {
    const alarm = spec({ treatMissingData: "missing", evaluationPeriods: 1, datapointsToAlarm: 1 });
    const seen: number[] = [];
    const run = evaluateAlarm(
      alarm,
      (end) => {
        seen.push(end);
        return end <= 120 ? 8 : undefined;
      },
      360,
    );
    // The last real datapoint is re-evaluated while it is in the range (N + 2 = 3 periods).
    assert.deepEqual(changes(run), [
      [60, "ALARM"],
      [300, "INSUFFICIENT_DATA"],
    ]);
    assert.ok(seen.every((end) => end > 0 && end <= 360 && end % 60 === 0));
  });
});

type Cell = AlarmState | "retain";
/** The guide's two tables: data points (oldest -> newest), then MISSING, IGNORE, BREACHING, NOT BREACHING. */
const GUIDE_TABLES: { name: string; datapointsToAlarm: number; rows: [string, Cell, Cell, Cell, Cell][] }[] =
  [
    {
      name: "table 1 (Datapoints to Alarm 3, Evaluation Periods 3)",
      datapointsToAlarm: 3,
      rows: [
        ["0 - X - X", "OK", "OK", "OK", "OK"],
        ["0 - - - -", "OK", "OK", "OK", "OK"],
        ["- - - - -", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"],
        ["0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"],
        ["- - - - X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"],
        ["X - - - -", "ALARM", "retain", "ALARM", "OK"],
      ],
    },
    {
      name: "table 2 (Datapoints to Alarm 2, Evaluation Periods 3)",
      datapointsToAlarm: 2,
      rows: [
        ["0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"],
        ["0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"],
        ["0 - X - -", "OK", "OK", "ALARM", "OK"],
        ["- - - - 0", "OK", "OK", "ALARM", "OK"],
        ["- - - - X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"],
      ],
    },
  ];
const TREATMENTS = ["missing", "ignore", "breaching", "notBreaching"] as const;
const STATES: AlarmState[] = ["OK", "ALARM", "INSUFFICIENT_DATA"];

describe(`evaluateRange: ${GUIDE}, both tables cell for cell`, () => {
  for (const table of GUIDE_TABLES) {
    table.rows.forEach(([row, ...cells], i) => {
      TREATMENTS.forEach((treatMissingData, column) => {
        const expected = cells[column]!;
        it(`${GUIDE}, ${table.name} row ${i + 1} "${row}", treat missing data as ${treatMissingData}: ${expected === "retain" ? "retain current state" : expected}`, () => {
          const rule = { evaluationPeriods: 3, datapointsToAlarm: table.datapointsToAlarm, treatMissingData };
          const range = row.split(" ") as RangePoint[];
          assert.equal(
            range.length,
            evaluationRangePeriods(3),
            "the guide retrieves 5 data points for 3 periods",
          );
          const booleans = range.map((p) => (p === "-" ? undefined : p === "X"));
          for (const current of STATES) {
            const want = expected === "retain" ? current : expected;
            assert.equal(evaluateRange(range, rule, current), want, `from ${current}`);
            assert.equal(evaluateRange(booleans, rule, current), want, `booleans, from ${current}`);
          }
        });
      });
    });
  }

  it("no missing data point: the newest N decide, whatever the treatment (property)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 8 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 1, max: n }),
              fc.array(fc.boolean(), { minLength: n + 2, maxLength: n + 2 }),
            ),
          ),
        fc.constantFrom(...TREATMENTS),
        fc.constantFrom(...STATES),
        ([n, m, range], treatMissingData, current) => {
          const bad = range.slice(-n).filter(Boolean).length;
          assert.equal(
            evaluateRange(range, { evaluationPeriods: n, datapointsToAlarm: m, treatMissingData }, current),
            bad >= m ? "ALARM" : "OK",
          );
        },
      ),
    );
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
      /metrics\.errorRate\[0\]\.value: expected a number, or null for no data until the next point, got "high"/,
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
    const blueAt = clock(900 + ROLLBACK_LAMBDA_SECONDS);
    const detection = 300 + ROLLBACK_LAMBDA_SECONDS;
    assert.ok(
      out.lines.includes(
        `rollback at ${blueAt} (${detection} s after the first breach) by trigger errorRateSustained (errorRate-critical)`,
      ),
      text,
    );
    assert.match(
      text,
      new RegExp(`^errorRateSustained\\s+10:00\\s+${blueAt}\\s+${detection} s\\s+900 s\\s+met\\s`, "m"),
    );
    assert.match(text, /^not automated \(manual evidence, not simulated\): userSatisfaction/m);
    // Gated gates the scenario leaves out read neutral (OK); the ungated custom and Container Insights ones have no data.
    assert.match(text, /^INSUFFICIENT_DATA throughout \(no state change\): cpuUtilization-critical, /m);
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
    assert.equal(json.rollbackAt, 600 + ROLLBACK_LAMBDA_SECONDS);
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
    assert.equal(JSON.parse(out.text()).rollbackAt, 300 + ROLLBACK_LAMBDA_SECONDS);
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
    const gateIds = loadPlaybook(TBS)
      .gates.map((g) => g.id)
      .join(", ");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drill-")), "bad.yaml");
    fs.writeFileSync(
      file,
      `playbook: ${TBS}\ndurationSeconds: 600\nmetrics:\n  errorRat:\n    - { at: 0, value: 1 }\n`,
    );
    await rejectsWithInputError(
      drillCommand({ scenario: file }, bufferOutput()),
      `invalid drill scenario ${file}:\n  metrics.errorRat: unknown gate id; expected one of ${gateIds}`,
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
  // Green serves throughout these scenarios: a gate judged while it serves must publish from the
  // start, or its silence before the first point is (rightly) a breach.
  const gatedGates = new Set(
    autoRollbackAlarms(playbook)
      .filter((a) => a.whileServing)
      .map((a) => a.gateId),
  );
  const series = (gateId: string, duration: number) =>
    fc.uniqueArray(fc.integer({ min: 0, max: duration }), { minLength: 1, maxLength: 6 }).chain((times) => {
      const sorted = [...new Set([...(gatedGates.has(gateId) ? [0] : []), ...times])].sort((a, b) => a - b);
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
