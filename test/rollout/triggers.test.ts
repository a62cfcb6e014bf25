import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describeCondition,
  evaluatePhaseTriggers,
  triggerGates,
  unknownEvidence,
} from "../../rollout/decisions";
import { loadPlaybook } from "../../rollout/loaders";
import { phaseIds, transitionFrom } from "../../rollout/phases";
import { evaluateSuccessCriteria, unknownSuccessEvidence } from "../../rollout/success";
import { TELEGRAM_PASSING } from "../support/evidenceFixtures";

const tbs = loadPlaybook("tbs-strategy-framework");
const telegram = loadPlaybook("telegram-money-bot");

/** The status of the one trigger of `phase` that reads `gate`, for one value of it. */
function statusOf(phase: string, gate: string, value: number): string {
  const matching = evaluatePhaseTriggers(tbs, phase, { [gate]: value }).filter((t) => t.gate === gate);
  assert.equal(matching.length, 1, `${phase} has one trigger on ${gate}`);
  return matching[0]!.status;
}

describe("evaluatePhaseTriggers", () => {
  it("TBS internal: every trigger, with a manual one, a breach, a clear one and a missing one", () => {
    assert.deepEqual(
      evaluatePhaseTriggers(tbs, "internal", { rowsPerSecond: 33572, dataIntegrityErrors: 0 }),
      [
        { description: "Any system instability or critical functionality failure", status: "manual" },
        {
          description: "Data integrity issues",
          gate: "dataIntegrityErrors",
          op: ">",
          value: 0,
          unit: "count",
          observed: 0,
          status: "clear",
        },
        {
          description: "Performance degradation >10% from baseline",
          gate: "rowsPerSecond",
          op: "<",
          value: 33573,
          unit: "rows/s",
          observed: 33572,
          status: "breached",
        },
        {
          description: "Critical bugs affecting core trading workflows (any)",
          gate: "criticalBugsPerDay",
          op: ">",
          value: 0,
          unit: "bugs/day",
          status: "not-measured",
        },
      ],
    );
  });

  // [phase, gate, value on the breaching side, value on the clear side (the boundary where it is one)]
  const boundaries: [string, string, number, number][] = [
    ["internal", "rowsPerSecond", 33572, 33573],
    ["internal", "dataIntegrityErrors", 1, 0],
    ["internal", "criticalBugsPerDay", 1, 0],
    ["limited-pilot", "userSatisfaction", 69.9, 70],
    ["limited-pilot", "rowsPerSecond", 29841, 29842],
    ["limited-pilot", "pilotUsersAffectedPercent", 50.1, 50],
    ["broader-pilot", "rowsPerSecond", 27976, 27977],
    ["broader-pilot", "sessionSuccessRate", 89.9, 90],
    ["broader-pilot", "errorRate", 5.01, 5],
    ["broader-pilot", "cpuUtilization", 95.1, 95],
    ["broader-pilot", "memoryUtilization", 95.1, 95],
  ];
  for (const [phase, gate, breaching, clear] of boundaries) {
    it(`TBS ${phase}: ${gate} ${breaching} breaches, ${clear} is clear`, () => {
      assert.equal(statusOf(phase, gate, breaching), "breached");
      assert.equal(statusOf(phase, gate, clear), "clear");
    });
  }

  it("lists each TBS phase's trigger conditions; the other phases and Telegram's have none", () => {
    const conditions = (playbook: typeof tbs, phase: string) =>
      evaluatePhaseTriggers(playbook, phase, {}).map((t) => `${describeCondition(t)} ${t.status}`);
    assert.deepEqual(Object.fromEntries(phaseIds(tbs).map((p) => [p, conditions(tbs, p)])), {
      preparation: [],
      internal: [
        "- manual",
        "dataIntegrityErrors > 0 count not-measured",
        "rowsPerSecond < 33573 rows/s not-measured",
        "criticalBugsPerDay > 0 bugs/day not-measured",
      ],
      "limited-pilot": [
        "userSatisfaction < 70 % positive not-measured",
        "rowsPerSecond < 29842 rows/s not-measured",
        "pilotUsersAffectedPercent > 50 % of pilot users not-measured",
      ],
      "broader-pilot": [
        "rowsPerSecond < 27977 rows/s not-measured",
        "sessionSuccessRate < 90 % not-measured",
        "errorRate > 5 % not-measured",
        "cpuUtilization > 95 % not-measured",
        "memoryUtilization > 95 % not-measured",
      ],
      readiness: [],
      full: [],
    });
    for (const phase of phaseIds(telegram)) assert.deepEqual(conditions(telegram, phase), [], phase);
  });

  it("a trigger with a gate but no number is manual, keeping its gate", () => {
    const playbook = structuredClone(tbs);
    playbook.phases[1]!.rollbackTriggers = [{ description: "Watch it", gate: "rowsPerSecond" }];
    assert.deepEqual(evaluatePhaseTriggers(playbook, "internal", { rowsPerSecond: 1 }), [
      { description: "Watch it", gate: "rowsPerSecond", status: "manual" },
    ]);
  });

  it("names the gates a phase's triggers read, once each; evidence for them is known", () => {
    assert.deepEqual(triggerGates(tbs, "internal"), [
      "dataIntegrityErrors",
      "rowsPerSecond",
      "criticalBugsPerDay",
    ]);
    assert.deepEqual(triggerGates(tbs, "readiness"), []);
    const internal = transitionFrom(tbs, "internal")!;
    const evidence = { rowsPerSecond: 1, criticalBugsPerDay: 0, dataIntegrityErrors: 0, typo: 1 };
    assert.deepEqual(unknownEvidence(internal, evidence), [
      "criticalBugsPerDay",
      "dataIntegrityErrors",
      "typo",
    ]);
    assert.deepEqual(unknownEvidence(internal, evidence, triggerGates(tbs, "internal")), ["typo"]);
  });
});

describe("evaluateSuccessCriteria", () => {
  it("Telegram: every criterion on its passing boundary passes, by category", () => {
    const report = evaluateSuccessCriteria(telegram, TELEGRAM_PASSING);
    assert.deepEqual(
      report.categories.map((c) => [c.category, c.verdict, c.passed, c.failed, c.notMeasured, c.total]),
      [
        ["technical", "pass", 7, 0, 0, 7],
        ["business", "pass", 5, 0, 0, 5],
        ["operational", "pass", 5, 0, 0, 5],
      ],
    );
    assert.deepEqual(
      [report.verdict, report.passed, report.failed, report.notMeasured, report.total],
      ["pass", 17, 0, 0, 17],
    );
  });

  // [criterion, failing value, passing value]
  const telegramBoundaries: [keyof typeof TELEGRAM_PASSING, number, number][] = [
    ["uptimePercent", 99.9, 99.91],
    ["p95LatencyMs", 200, 199.9],
    ["errorRate", 1, 0.99],
    ["cpuUtilization", 80, 79.9],
    ["memoryUtilization", 85, 84.9],
    ["diskUtilization", 90, 89.9],
    ["dbQueryMs", 50, 49.9],
    ["winRate", 79.9, 80],
    ["riskRewardRatio", 2.99, 3],
    ["maxDrawdown", 5, 4.99],
    ["profitFactor", 1.99, 2.0],
    ["sharpeRatio", 1.49, 1.5],
    ["deploymentSuccess", 99.9, 100],
    ["rollbackSeconds", 300, 299],
    ["monitoringCoverage", 99, 100],
    ["alertResponseMinutes", 5, 4.9],
    ["documentationCoverage", 99, 100],
  ];
  for (const [id, failing, passing] of telegramBoundaries) {
    it(`Telegram ${id}: ${failing} fails its category and the whole, ${passing} passes`, () => {
      const failed = evaluateSuccessCriteria(telegram, { ...TELEGRAM_PASSING, [id]: failing });
      const result = failed.categories.flatMap((c) => c.results).find((r) => r.id === id)!;
      assert.equal(result.status, "fail");
      assert.equal(failed.categories.find((c) => c.category === result.category)!.verdict, "fail");
      assert.deepEqual(
        failed.categories.filter((c) => c.verdict === "pass").length,
        2,
        "the other categories still pass",
      );
      assert.equal(failed.verdict, "fail");
      const passed = evaluateSuccessCriteria(telegram, { ...TELEGRAM_PASSING, [id]: passing });
      assert.equal(passed.verdict, "pass");
    });
  }

  it("a missing criterion makes its category and the whole incomplete; a failure outranks it", () => {
    const { winRate: _winRate, ...withoutWinRate } = TELEGRAM_PASSING;
    const incomplete = evaluateSuccessCriteria(telegram, withoutWinRate);
    assert.deepEqual(
      incomplete.categories.map((c) => [c.category, c.verdict]),
      [
        ["technical", "pass"],
        ["business", "incomplete"],
        ["operational", "pass"],
      ],
    );
    assert.deepEqual([incomplete.verdict, incomplete.notMeasured], ["incomplete", 1]);
    const failing = evaluateSuccessCriteria(telegram, { ...withoutWinRate, maxDrawdown: 5 });
    assert.deepEqual(
      [failing.categories[1]!.verdict, failing.verdict, failing.failed, failing.notMeasured],
      ["fail", "fail", 1, 1],
    );
  });

  it("TBS: the whole report at its boundaries", () => {
    assert.deepEqual(
      evaluateSuccessCriteria(tbs, {
        rowsPerSecond: 33572,
        uptimePercent: 99.9,
        errorRate: 4.99,
        userSatisfaction: 80,
      }),
      {
        verdict: "fail",
        passed: 3,
        failed: 1,
        notMeasured: 1,
        total: 5,
        categories: [
          {
            category: "deployment",
            verdict: "fail",
            passed: 3,
            failed: 1,
            notMeasured: 1,
            total: 5,
            results: [
              {
                id: "rowsPerSecond",
                description: "Target performance: maintain ≥90% of baseline (33,573+ rows/sec)",
                op: ">=",
                threshold: 33573,
                unit: "rows/s",
                value: 33572,
                pass: false,
                reason: "33572 is not >= 33573",
                category: "deployment",
                status: "fail",
              },
              {
                id: "uptimePercent",
                description: "Uptime requirement: 99.9% availability",
                op: ">=",
                threshold: 99.9,
                unit: "%",
                value: 99.9,
                pass: true,
                reason: "ok",
                category: "deployment",
                status: "pass",
              },
              {
                id: "errorRate",
                description:
                  "Error rate threshold: <5% with <3% target (the 3% target is the errorRate gate's warning)",
                op: "<",
                threshold: 5,
                unit: "%",
                value: 4.99,
                pass: true,
                reason: "ok",
                category: "deployment",
                status: "pass",
              },
              {
                id: "rollbackMinutes",
                description: "Rollback capability: <15 minutes complete rollback",
                op: "<",
                threshold: 15,
                unit: "min",
                value: undefined,
                pass: false,
                reason: "no evidence for rollbackMinutes",
                category: "deployment",
                status: "not-measured",
              },
              {
                id: "userSatisfaction",
                description: "User satisfaction: ≥80% positive feedback",
                op: ">=",
                threshold: 80,
                unit: "%",
                value: 80,
                pass: true,
                reason: "ok",
                category: "deployment",
                status: "pass",
              },
            ],
          },
        ],
      },
    );
    assert.deepEqual(
      evaluateSuccessCriteria(tbs, {
        rowsPerSecond: 33573,
        uptimePercent: 99.9,
        errorRate: 4.99,
        rollbackMinutes: 14.9,
        userSatisfaction: 80,
      }).verdict,
      "pass",
    );
  });

  it("names evidence ids that are no success criterion", () => {
    assert.deepEqual(unknownSuccessEvidence(telegram, { winRate: 80, winrate: 80, criticalBugs: 0 }), [
      "winrate",
      "criticalBugs",
    ]);
  });
});
