import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Decision } from "../rollout/config";
import {
  alarmPeriod,
  alarmSpecs,
  alarmWorstCaseSeconds,
  autoRollbackAlarms,
  compare,
  decide,
  evaluateCriterion,
  triggerLatencies,
  unknownEvidence,
} from "../rollout/gates";
import {
  allowsCohortRouting,
  classifyMove,
  latestDecision,
  missingGoDecisions,
  nextPhase,
  phaseIds,
  trafficCap,
  transitionFrom,
  transitionsBefore,
} from "../rollout/phases";
import { loadPlaybook } from "../rollout/playbook";
import { missingSignoffs, requiredRoles, roleChecklist, signoffsComplete } from "../rollout/signoff";
import { latchStatus } from "../rollout/state";
import { ALB_LIMITS, cohortLimitProblems, cohortRoutesFor, planTraffic } from "../rollout/traffic";

const tbs = loadPlaybook("tbs-strategy-framework");
const telegram = loadPlaybook("telegram-money-bot");
const services = [
  { name: "web", pathPattern: "/*" },
  { name: "api", pathPattern: "/api/*" },
];
const cohorts = { header: "X-Pilot-User", cookie: "pilot_user", users: ["anna", "ben", "chen", "dara"] };

describe("phases", () => {
  it("orders TBS phases with their caps and cohort routing", () => {
    assert.deepEqual(phaseIds(tbs), [
      "preparation",
      "internal",
      "limited-pilot",
      "broader-pilot",
      "readiness",
      "full",
    ]);
    const table: [string, number, boolean, string | undefined][] = [
      ["preparation", 0, false, "internal"],
      ["internal", 0, true, "limited-pilot"],
      ["limited-pilot", 0, true, "broader-pilot"],
      ["broader-pilot", 10, true, "readiness"],
      ["readiness", 10, true, "full"],
      ["full", 100, false, undefined],
    ];
    for (const [phase, cap, cohortRouting, next] of table) {
      assert.equal(trafficCap(tbs, phase), cap, phase);
      assert.equal(allowsCohortRouting(tbs, phase), cohortRouting, phase);
      assert.equal(nextPhase(tbs, phase)?.id, next, phase);
    }
  });

  it("classifies moves: one forward advances, more skips, backwards retreats", () => {
    const table: [string, string, string][] = [
      ["internal", "internal", "stay"],
      ["internal", "limited-pilot", "advance"],
      ["internal", "broader-pilot", "skip"],
      ["preparation", "full", "skip"],
      ["readiness", "internal", "back"],
    ];
    for (const [from, to, kind] of table) assert.equal(classifyMove(tbs, from, to), kind, `${from}->${to}`);
  });

  it("throws naming the phase for an unknown id", () => {
    assert.throws(
      () => trafficCap(tbs, "canary"),
      /unknown phase "canary" in playbook tbs-strategy-framework/,
    );
  });

  it("finds the transition out of a phase and those before it", () => {
    assert.equal(transitionFrom(tbs, "limited-pilot")?.to, "broader-pilot");
    assert.equal(transitionFrom(tbs, "full"), undefined);
    assert.deepEqual(
      transitionsBefore(tbs, "broader-pilot").map((t) => `${t.from}->${t.to}`),
      ["preparation->internal", "internal->limited-pilot", "limited-pilot->broader-pilot"],
    );
    assert.deepEqual(transitionsBefore(tbs, "preparation"), []);
  });

  it("takes the latest decision and lists transitions without a GO", () => {
    const decisions: Decision[] = [
      {
        from: "preparation",
        to: "internal",
        decision: "GO",
        at: "2026-10-01T00:00:00Z",
        by: "a",
        evidence: [],
      },
      {
        from: "internal",
        to: "limited-pilot",
        decision: "GO",
        at: "2026-10-08T00:00:00Z",
        by: "a",
        evidence: [],
      },
      {
        from: "internal",
        to: "limited-pilot",
        decision: "NO-GO",
        at: "2026-10-09T00:00:00Z",
        by: "a",
        evidence: [],
      },
    ];
    assert.equal(latestDecision(decisions, "internal", "limited-pilot")?.decision, "NO-GO");
    assert.deepEqual(
      missingGoDecisions(tbs, "limited-pilot", decisions).map((t) => t.from),
      ["internal"],
    );
    assert.deepEqual(missingGoDecisions(tbs, "internal", decisions), []);
  });
});

describe("traffic", () => {
  it("plans weights and cohort routes per phase (table)", () => {
    const table: [string, number, boolean, number, number, number][] = [
      // phase, weight, rollback, blue, green, cohort routes per service (web: header 2 + cookie 2; api: header 2 + cookie 2)
      ["preparation", 0, false, 100, 0, 0],
      ["internal", 0, false, 100, 0, 4],
      ["broader-pilot", 10, false, 90, 10, 4],
      ["full", 100, false, 0, 100, 0],
      ["broader-pilot", 10, true, 100, 0, 0],
    ];
    for (const [phase, greenWeight, rollback, blue, green, routes] of table) {
      const plan = planTraffic({ playbook: tbs, phase, greenWeight, cohorts, rollback, services });
      for (const t of plan) {
        assert.equal(t.blue, blue, `${phase} ${t.service}`);
        assert.equal(t.green, green, `${phase} ${t.service}`);
        assert.equal(t.cohortRoutes.length, routes, `${phase} ${t.service}`);
      }
    }
  });

  it("splits cohorts within ALB limits: 3 header values per rule, cookie values within the wildcard budget", () => {
    assert.deepEqual(cohortRoutesFor(cohorts, "/*"), [
      { match: "header", headerName: "X-Pilot-User", values: ["anna", "ben", "chen"] },
      { match: "header", headerName: "X-Pilot-User", values: ["dara"] },
      { match: "cookie", headerName: "Cookie", values: ["*pilot_user=anna*", "*pilot_user=ben*"] },
      { match: "cookie", headerName: "Cookie", values: ["*pilot_user=chen*", "*pilot_user=dara*"] },
    ]);
    assert.deepEqual(cohortRoutesFor({ ...cohorts, cookie: undefined }, "/api/health"), [
      { match: "header", headerName: "X-Pilot-User", values: ["anna", "ben", "chen"] },
      { match: "header", headerName: "X-Pilot-User", values: ["dara"] },
    ]);
    assert.deepEqual(cohortRoutesFor(undefined, "/*"), []);
  });

  it("refuses cohorts that cannot fit one listener, naming rollout:cohorts", () => {
    const many = { header: "X-Pilot-User", users: Array.from({ length: 150 }, (_, i) => `u${i}`) };
    const problems = cohortLimitProblems(many, services);
    assert.deepEqual(problems, [
      `rollout:cohorts: 150 users across 2 services need 102 listener rules, expected at most ${ALB_LIMITS.rulesPerListener} (the ALB limit per listener); shrink the cohort`,
    ]);
    assert.deepEqual(cohortLimitProblems(cohorts, services), []);
  });

  const weight = fc.integer({ min: 0, max: 100 });
  const phase = fc.constantFrom(...phaseIds(tbs));
  const users = fc.uniqueArray(fc.stringMatching(/^[a-z]{3,8}\d{2}$/), { maxLength: 12 });

  it("property: weights always sum to 100", () => {
    fc.assert(
      fc.property(phase, weight, fc.boolean(), users, (p, w, rollback, u) => {
        for (const t of planTraffic({
          playbook: tbs,
          phase: p,
          greenWeight: w,
          rollback,
          services,
          cohorts: { header: "X-U", users: u },
        })) {
          assert.equal(t.blue + t.green, 100);
        }
      }),
    );
  });

  it("property: rollback is always 100/0 with no cohort routes", () => {
    fc.assert(
      fc.property(phase, weight, users, (p, w, u) => {
        for (const t of planTraffic({
          playbook: tbs,
          phase: p,
          greenWeight: w,
          rollback: true,
          services,
          cohorts: { header: "X-U", users: u },
        })) {
          assert.deepEqual([t.blue, t.green, t.cohortRoutes.length], [100, 0, 0]);
        }
      }),
    );
  });

  it("property: cohort routes only where the phase allows them, and every user is routed there", () => {
    fc.assert(
      fc.property(fc.constantFrom(tbs, telegram), weight, users, (playbook, w, u) => {
        for (const p of phaseIds(playbook)) {
          const plan = planTraffic({
            playbook,
            phase: p,
            greenWeight: w,
            rollback: false,
            services,
            cohorts: { header: "X-U", users: u },
          });
          for (const t of plan) {
            if (!allowsCohortRouting(playbook, p)) assert.equal(t.cohortRoutes.length, 0);
            else assert.deepEqual(t.cohortRoutes.flatMap((r) => r.values).sort(), [...u].sort());
            for (const r of t.cohortRoutes) assert.ok(r.values.length <= ALB_LIMITS.valuesPerCondition);
          }
        }
      }),
    );
  });
});

describe("gates", () => {
  const gate = (id: string) => tbs.gates.find((g) => g.id === id)!;

  it("turns TBS gates into alarms with the document's numbers", () => {
    const pick = (id: string, level: "warning" | "critical") => {
      const a = alarmSpecs(gate(id)).find((s) => s.level === level)!;
      return [
        a.comparison,
        a.threshold,
        a.periodSeconds,
        a.evaluationPeriods,
        a.datapointsToAlarm,
        a.treatMissingData,
        a.action,
      ];
    };
    assert.deepEqual(pick("errorRate", "critical"), [
      "GreaterThanThreshold",
      5,
      60,
      5,
      5,
      "notBreaching",
      "auto-rollback",
    ]);
    assert.deepEqual(pick("errorRate", "warning"), [
      "GreaterThanThreshold",
      3,
      60,
      5,
      5,
      "notBreaching",
      "alert",
    ]);
    assert.deepEqual(pick("rowsPerSecond", "critical"), [
      "LessThanThreshold",
      27977,
      60,
      10,
      10,
      "missing",
      "auto-rollback",
    ]);
    assert.deepEqual(pick("rowsPerSecond", "warning"), [
      "LessThanThreshold",
      29842,
      60,
      10,
      10,
      "missing",
      "alert",
    ]);
    // ALB reports TargetResponseTime in seconds: 300 ms is 0.3.
    assert.deepEqual(pick("p95ResponseMs", "critical"), [
      "GreaterThanThreshold",
      0.3,
      60,
      5,
      5,
      "notBreaching",
      "auto-rollback",
    ]);
    assert.deepEqual(pick("dbConnectionFailures", "critical"), [
      "GreaterThanThreshold",
      3,
      60,
      1,
      1,
      "notBreaching",
      "auto-rollback",
    ]);
    assert.deepEqual(pick("cpuUtilization", "critical"), [
      "GreaterThanThreshold",
      95,
      60,
      5,
      5,
      "missing",
      "auto-rollback",
    ]);
    assert.deepEqual(pick("memoryUtilization", "critical"), [
      "GreaterThanThreshold",
      95,
      60,
      5,
      5,
      "missing",
      "auto-rollback",
    ]);
    assert.deepEqual(pick("uptimePercent", "critical"), [
      "LessThanThreshold",
      99.9,
      3600,
      24,
      24,
      "missing",
      "review",
    ]);
    assert.equal(alarmSpecs(gate("userSatisfaction")).length, 0, "manual gates have no alarm");
  });

  it("lists the TBS auto-rollback alarms", () => {
    assert.deepEqual(
      autoRollbackAlarms(tbs).map((a) => a.key),
      [
        "rowsPerSecond-critical",
        "errorRate-critical",
        "p95ResponseMs-critical",
        "sessionSuccessRate-critical",
        "cpuUtilization-critical",
        "memoryUtilization-critical",
        "dbConnectionFailures-critical",
        "dataIntegrityErrors-critical",
      ],
    );
  });

  it("picks alarm periods (table)", () => {
    const table: [number, number, number][] = [
      [60, 300, 60],
      [60, 600, 60],
      [10, 10, 10],
      [30, 30, 30],
      [60, 30, 30],
      [60, 3600, 300],
      [60, 86400, 3600],
    ];
    for (const [metric, sustain, expected] of table)
      assert.equal(alarmPeriod(metric, sustain), expected, `${metric}/${sustain}`);
  });

  it("computes worst-case detection: periods x evaluation + cadence + Lambda", () => {
    assert.equal(alarmWorstCaseSeconds({ periodSeconds: 60, evaluationPeriods: 5 }), 300 + 60 + 10);
    assert.equal(alarmWorstCaseSeconds({ periodSeconds: 10, evaluationPeriods: 1 }), 10 + 10 + 10);
    const tbsLatency = Object.fromEntries(
      triggerLatencies(tbs).map((t) => [t.id, [t.worstCaseSeconds, t.limitSeconds, t.meets]]),
    );
    assert.deepEqual(tbsLatency.errorRateSustained, [370, 900, true]);
    assert.deepEqual(tbsLatency.performanceDegradation, [670, 900, true]);
    const telegramLatency = Object.fromEntries(triggerLatencies(telegram).map((t) => [t.id, t]));
    assert.equal(telegramLatency.dataCorruption!.meets, true);
    assert.equal(telegramLatency.circuitBreaker!.meets, true);
    assert.equal(telegramLatency.securityBreach!.meets, false);
    assert.equal(telegramLatency.securityBreach!.limitSeconds, 10);
    assert.match(
      telegramLatency.securityBreach!.explanation,
      /GuardDuty publishes findings.*GuardDuty's own publication delay exceeds the limit/,
    );
    assert.equal(telegramLatency.criticalError!.meets, false);
    assert.match(
      telegramLatency.criticalError!.explanation,
      /ALB metrics are 60-second.*publish a high-resolution \(10 s\) custom metric/,
    );
  });

  it("compares exactly as the document writes (boundaries)", () => {
    const table: [number, ">=" | ">" | "<=" | "<" | "=", number, boolean][] = [
      [37303, ">=", 37303, true],
      [37302.9, ">=", 37303, false],
      [1, "<", 1, false],
      [0.99, "<", 1, true],
      [85, ">", 85, false],
      [85.01, ">", 85, true],
      [1.2, "<=", 1.2, true],
      [0, "=", 0, true],
      [1, "=", 0, false],
    ];
    for (const [value, op, threshold, pass] of table)
      assert.equal(compare(value, op, threshold), pass, `${value} ${op} ${threshold}`);
  });

  it("fails a criterion with no evidence and says so", () => {
    const criterion = transitionFrom(tbs, "internal")!.criteria[0]!;
    assert.deepEqual(evaluateCriterion(criterion, undefined), {
      id: "rowsPerSecond",
      description: criterion.description,
      op: ">=",
      threshold: 37303,
      unit: criterion.unit,
      value: undefined,
      pass: false,
      reason: "no evidence for rowsPerSecond",
    });
  });

  it("decides ALL rules: one miss is NO-GO", () => {
    const internal = transitionFrom(tbs, "internal")!;
    const good = {
      rowsPerSecond: 37303,
      errorRate: 0.99,
      criticalBugs: 0,
      featureParity: 100,
      dataDiscrepancies: 0,
    };
    assert.equal(decide(internal, good).decision, "GO");
    assert.equal(decide(internal, { ...good, errorRate: 1 }).decision, "NO-GO");
    assert.equal(decide(internal, { ...good, rowsPerSecond: 37302 }).decision, "NO-GO");
    const { criticalBugs: _, ...missing } = good;
    const result = decide(internal, missing);
    assert.equal(result.decision, "NO-GO");
    assert.equal(result.results.find((r) => r.id === "criticalBugs")!.reason, "no evidence for criticalBugs");
  });

  it("decides 3-of-4 for limited-pilot -> broader-pilot", () => {
    const limited = transitionFrom(tbs, "limited-pilot")!;
    assert.equal(limited.rule.type, "atLeast");
    const all = { userSatisfaction: 80, rowsPerSecond: 33573, errorRate: 2.99, workflowTimeRatio: 1.2 };
    const table: [Record<string, number>, "GO" | "NO-GO", number][] = [
      [all, "GO", 4],
      [{ ...all, userSatisfaction: 79 }, "GO", 3],
      [{ ...all, workflowTimeRatio: 1.21 }, "GO", 3],
      [{ ...all, userSatisfaction: 79, errorRate: 3 }, "NO-GO", 2],
      [{ rowsPerSecond: 40000, errorRate: 1, workflowTimeRatio: 1 }, "GO", 3],
      [{ rowsPerSecond: 40000, errorRate: 1 }, "NO-GO", 2],
    ];
    for (const [evidence, decision, passed] of table) {
      const result = decide(limited, evidence);
      assert.equal(result.decision, decision, JSON.stringify(evidence));
      assert.equal(result.passed, passed);
      assert.equal(result.rule, "3 of 4");
    }
  });

  it("reports evidence ids no criterion knows", () => {
    assert.deepEqual(unknownEvidence(transitionFrom(tbs, "internal")!, { errorRate: 1, errrorRate: 2 }), [
      "errrorRate",
    ]);
  });
});

describe("sign-offs and latch", () => {
  it("lists required and missing roles per phase", () => {
    assert.deepEqual(requiredRoles(tbs, "preparation"), []);
    assert.deepEqual(requiredRoles(tbs, "limited-pilot"), ["devopsEngineer", "qaEngineer", "productManager"]);
    const signoffs = { "limited-pilot": { devopsEngineer: { approver: "d", at: "2026-11-01T00:00:00Z" } } };
    assert.deepEqual(missingSignoffs(tbs, "limited-pilot", signoffs), ["qaEngineer", "productManager"]);
    assert.equal(signoffsComplete(tbs, "limited-pilot", signoffs), false);
    assert.equal(signoffsComplete(tbs, "preparation", {}), true);
    assert.equal(requiredRoles(telegram, "production-deployment").length, 7);
    assert.ok(roleChecklist(telegram, "securityOfficer")!.checklist.length > 0);
    assert.equal(roleChecklist(telegram, "nobody"), undefined);
  });

  it("keeps blue while a latch is set and not acknowledged", () => {
    const latch = { reason: "error rate", alarm: "production-auto-rollback", at: "2026-11-20T10:00:00Z" };
    assert.equal(latchStatus(undefined, undefined), "clear");
    assert.equal(latchStatus(latch, undefined), "set");
    assert.equal(latchStatus(latch, "2026-11-19T00:00:00Z"), "set");
    assert.equal(latchStatus(latch, latch.at), "acknowledged");
  });
});
