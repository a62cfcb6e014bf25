import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { alarmSpecs, autoRollbackAlarms } from "../../rollout/alarms";
import {
  compare,
  decide,
  evaluateCriterion,
  latestDecision,
  latestDecisionPerTransition,
  latestGoInto,
  missingGoDecisions,
  missingSignoffs,
  requiredRoles,
  roleChecklist,
  signoffsComplete,
  unknownEvidence,
  type Decision,
} from "../../rollout/decisions";
import {
  alarmWorstCaseSeconds,
  EVENTBRIDGE_DELIVERY_SECONDS,
  GUARDDUTY_PUBLICATION_SECONDS,
  ROLLBACK_LAMBDA_SECONDS,
  triggerLatencies,
} from "../../rollout/latency";
import { loadEvidence, loadPlaybook } from "../../rollout/loaders";
import { alarmPeriod } from "../../rollout/metricCatalogue";
import {
  allowsCohortRouting,
  classifyMove,
  getPhase,
  nextPhase,
  phaseIds,
  phaseIndex,
  trafficCap,
  transitionFrom,
  transitionsBefore,
} from "../../rollout/phases";
import { sustainProblem } from "../../rollout/playbook";
import { latchStatus } from "../../rollout/state";
import { ALB_LIMITS, listenerRuleProblems, cohortRoutesFor, planTraffic } from "../../rollout/traffic";
import {
  closest,
  describeReceived,
  describeZodError,
  formatPath,
  parseOrThrow,
  RolloutInputError,
} from "../../rollout/validation";

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
      // phase, weight, rollback, blue, green, cohort routes per service (4 users: header 2 + exact cookies 16 / 3 = 6)
      ["preparation", 0, false, 100, 0, 0],
      ["internal", 0, false, 100, 0, 8],
      ["broader-pilot", 10, false, 90, 10, 8],
      ["full", 100, false, 0, 100, 0],
      ["broader-pilot", 10, true, 100, 0, 0],
    ];
    for (const [phase, greenWeight, rollback, blue, green, routes] of table) {
      const plan = planTraffic({ playbookSpec: tbs, phase, greenWeight, cohorts, rollback, services });
      for (const t of plan) {
        assert.equal(t.blue, blue, `${phase} ${t.service}`);
        assert.equal(t.green, green, `${phase} ${t.service}`);
        assert.equal(t.cohortRoutes.length, routes, `${phase} ${t.service}`);
      }
    }
  });

  it("splits cohorts within ALB limits: 3 header values per rule; each user's cookie as the 4 exact patterns, 3 per rule", () => {
    const exact = (u: string) => [
      `pilot_user=${u}`,
      `pilot_user=${u};*`,
      `*; pilot_user=${u}`,
      `*; pilot_user=${u};*`,
    ];
    const cookieValues = ["anna", "ben", "chen", "dara"].flatMap(exact);
    assert.deepEqual(cohortRoutesFor(cohorts, "/*"), [
      { match: "header", headerName: "X-Pilot-User", values: ["anna", "ben", "chen"] },
      { match: "header", headerName: "X-Pilot-User", values: ["dara"] },
      ...[0, 3, 6, 9, 12, 15].map((i) => ({
        match: "cookie",
        headerName: "Cookie",
        values: cookieValues.slice(i, i + 3),
      })),
    ]);
    assert.deepEqual(cohortRoutesFor({ ...cohorts, cookie: undefined }, "/api/health"), [
      { match: "header", headerName: "X-Pilot-User", values: ["anna", "ben", "chen"] },
      { match: "header", headerName: "X-Pilot-User", values: ["dara"] },
    ]);
    assert.deepEqual(cohortRoutesFor(undefined, "/*"), []);
  });

  it("refuses cohorts that cannot fit one listener, naming rollout:cohorts", () => {
    const many = { header: "X-Pilot-User", users: Array.from({ length: 150 }, (_, i) => `u${i}`) };
    const problems = listenerRuleProblems(many, services);
    assert.deepEqual(problems, [
      `rollout:cohorts: 150 users across 2 services need 102 listener rules, expected at most ${ALB_LIMITS.rulesPerListener} (the ALB limit per listener); shrink the cohort`,
    ]);
    assert.deepEqual(listenerRuleProblems(cohorts, services), []);
  });

  const weight = fc.integer({ min: 0, max: 100 });
  const phase = fc.constantFrom(...phaseIds(tbs));
  const users = fc.uniqueArray(fc.stringMatching(/^[a-z]{3,8}\d{2}$/), { maxLength: 12 });

  it("property: weights always sum to 100", () => {
    fc.assert(
      fc.property(phase, weight, fc.boolean(), users, (p, w, rollback, u) => {
        for (const t of planTraffic({
          playbookSpec: tbs,
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
          playbookSpec: tbs,
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
            playbookSpec: playbook,
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
    // "99.9 % over a 24 h period": one rolling day, not 24 hours that must each breach.
    assert.deepEqual(pick("uptimePercent", "critical"), [
      "LessThanThreshold",
      99.9,
      86400,
      1,
      1,
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
        "healthyHosts-critical",
        "albGeneratedErrors-critical",
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
      // From six hours up to a day: one period, the figure over the whole window.
      [60, 6 * 3600, 6 * 3600],
      [60, 86400, 86400],
      // Beyond a day: hourly periods (CloudWatch evaluates up to seven days of them).
      [60, 2 * 86400, 3600],
    ];
    for (const [metric, sustain, expected] of table)
      assert.equal(alarmPeriod(metric, sustain), expected, `${metric}/${sustain}`);
  });

  it("computes worst-case detection: periods x evaluation + cadence + Lambda", () => {
    assert.equal(
      alarmWorstCaseSeconds({ periodSeconds: 60, evaluationPeriods: 5 }),
      300 + 60 + ROLLBACK_LAMBDA_SECONDS,
    );
    assert.equal(
      alarmWorstCaseSeconds({ periodSeconds: 10, evaluationPeriods: 1 }),
      10 + 10 + ROLLBACK_LAMBDA_SECONDS,
    );
    const tbsLatency = Object.fromEntries(
      triggerLatencies(tbs).map((t) => [t.id, [t.worstCaseSeconds, t.limitSeconds, t.meets]]),
    );
    assert.deepEqual(tbsLatency.errorRateSustained, [365, 900, true]);
    assert.deepEqual(tbsLatency.performanceDegradation, [665, 900, true]);
    // Green down: the slower of its two paths (5 x 60 s connection errors; 2 x 60 s healthy hosts).
    assert.deepEqual(tbsLatency.greenUnavailable, [365, 900, true]);
  });

  it("every automatic trigger of both playbooks meets its limit on its own path", () => {
    for (const playbook of [tbs, telegram])
      for (const t of triggerLatencies(playbook))
        assert.ok(
          t.meets,
          `${playbook.id} ${t.id}: ${t.worstCaseSeconds} s against ${t.limitSeconds} s (${t.explanation})`,
        );
    const telegramLatency = Object.fromEntries(triggerLatencies(telegram).map((t) => [t.id, t]));
    // Critical errors: the 10 s high-resolution metric alone (1 x 10 s + 10 s evaluation + function).
    assert.deepEqual(
      [telegramLatency.criticalError!.worstCaseSeconds, telegramLatency.criticalError!.limitSeconds],
      [10 + 10 + ROLLBACK_LAMBDA_SECONDS, 60],
    );
    // Security breach: the application's own event through EventBridge; GuardDuty reported as the slower net.
    const security = telegramLatency.securityBreach!;
    assert.deepEqual(
      [security.worstCaseSeconds, security.limitSeconds],
      [EVENTBRIDGE_DELIVERY_SECONDS + ROLLBACK_LAMBDA_SECONDS, 10],
    );
    assert.deepEqual(
      security.paths.map((p) => [p.gate, p.role, p.seconds]),
      [
        ["securityEvents", "own", EVENTBRIDGE_DELIVERY_SECONDS + ROLLBACK_LAMBDA_SECONDS],
        ["securityFindings", "backup", GUARDDUTY_PUBLICATION_SECONDS + ROLLBACK_LAMBDA_SECONDS],
      ],
    );
    assert.match(
      security.explanation,
      /second net securityFindings: 305 s \(over the 10 s limit, not counted\)/,
    );
    // System failure: the slowest own path is green's healthy hosts (2 x 60 s).
    assert.deepEqual(
      [telegramLatency.systemFailure!.worstCaseSeconds, telegramLatency.systemFailure!.limitSeconds],
      [2 * 60 + 60 + ROLLBACK_LAMBDA_SECONDS, 300],
    );
  });

  it("a trigger whose own path is too slow misses, and says why", () => {
    const slow = structuredClone(telegram);
    slow.rollback.triggers.find((t) => t.id === "criticalError")!.gates = ["criticalErrors", "errorRate"];
    const critical = triggerLatencies(slow).find((t) => t.id === "criticalError")!;
    assert.deepEqual([critical.worstCaseSeconds, critical.meets], [60 + 60 + ROLLBACK_LAMBDA_SECONDS, false]);
    assert.match(
      critical.explanation,
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
    assert.deepEqual(requiredRoles(telegram, "production-deployment"), [
      "technicalLead",
      "productManager",
      "securityOfficer",
      "operationsManager",
      "businessOwner",
      "qaLead",
      "devopsEngineer",
    ]);
    assert.deepEqual(roleChecklist(telegram, "securityOfficer"), {
      name: "Security Officer",
      checklist: ["Security audit", "Authentication", "Encryption"],
    });
    assert.equal(roleChecklist(telegram, "nobody"), undefined);
  });

  it("requiredRoles refuses a phase the playbook does not have instead of requiring nobody", () => {
    assert.throws(
      () => requiredRoles(tbs, "pilot"),
      /^Error: unknown phase "pilot" in playbook tbs-strategy-framework: expected one of preparation, internal/,
    );
    assert.throws(() => missingSignoffs(tbs, "pilot", {}), /unknown phase "pilot"/);
    // A hand-built playbook without the phase's entry (the schema refuses one) fails closed too.
    const partial = { ...tbs, signoff: { ...tbs.signoff, requiredByPhase: { preparation: [] } } };
    assert.throws(
      () => signoffsComplete(partial, "internal", {}),
      /^Error: playbook tbs-strategy-framework has no signoff\.requiredByPhase\.internal$/,
    );
  });

  it("keeps blue while a latch is set and not acknowledged", () => {
    const latch = { reason: "error rate", alarm: "production-auto-rollback", at: "2026-11-20T10:00:00Z" };
    assert.equal(latchStatus(undefined, undefined), "clear");
    assert.equal(latchStatus(latch, undefined), "set");
    assert.equal(latchStatus(latch, "2026-11-19T00:00:00Z"), "set");
    assert.equal(latchStatus(latch, latch.at), "acknowledged");
  });
});

// ---------------------------------------------------------------------------------------------
// Every TBS transition on its exact thresholds: one criterion moved to (or just past) its
// boundary, the others passing. `≥` passes on the boundary, `<` and `>` fail on it.

describe("TBS GO/NO-GO on every boundary", () => {
  const passing: Record<string, Record<string, number>> = {
    preparation: {
      infrastructureTested: 1,
      monitoringIntegrated: 1,
      pilotUsersSelected: 1,
      trainingMaterialsReviewed: 1,
      rollbackDrillPassed: 1,
      emergencyTeamAssigned: 1,
      stakeholderCommunicationActivated: 1,
    },
    internal: {
      rowsPerSecond: 37303,
      errorRate: 0.99,
      criticalBugs: 0,
      featureParity: 100,
      dataDiscrepancies: 0,
    },
    "limited-pilot": { userSatisfaction: 80, rowsPerSecond: 33573, errorRate: 2.99, workflowTimeRatio: 1.2 },
    "broader-pilot": {
      concurrentUsers: 20,
      p95ResponseMs: 299.99,
      errorRate: 4.99,
      userAdoption: 85.01,
      cpuUtilization: 84.99,
      memoryUtilization: 89.99,
    },
    readiness: {
      rowsPerSecond: 37303,
      errorRate: 4.99,
      p95ResponseMs: 299.99,
      trainingCompletion: 95.01,
      operationalReadiness: 1,
      riskMitigation: 1,
    },
  };

  it("the passing evidence of each transition is GO with every criterion passed", () => {
    for (const [from, evidence] of Object.entries(passing)) {
      const result = decide(transitionFrom(tbs, from)!, evidence);
      assert.deepEqual(
        [result.decision, result.passed, result.total],
        ["GO", result.total, result.total],
        from,
      );
      assert.deepEqual(
        Object.keys(evidence),
        transitionFrom(tbs, from)!.criteria.map((c) => c.id),
        from,
      );
    }
  });

  const table: [from: string, id: string, value: number, pass: boolean][] = [
    ["preparation", "trainingMaterialsReviewed", 0, false],
    ["preparation", "stakeholderCommunicationActivated", 0, false],
    ["preparation", "rollbackDrillPassed", 0, false],
    ["internal", "rowsPerSecond", 37303, true],
    ["internal", "rowsPerSecond", 37302.99, false],
    ["internal", "errorRate", 1, false],
    ["internal", "errorRate", 0.99, true],
    ["internal", "criticalBugs", 0, true],
    ["internal", "criticalBugs", 1, false],
    ["internal", "featureParity", 100, true],
    ["internal", "featureParity", 99.9, false],
    ["internal", "dataDiscrepancies", 1, false],
    ["limited-pilot", "userSatisfaction", 80, true],
    ["limited-pilot", "userSatisfaction", 79.99, false],
    ["limited-pilot", "rowsPerSecond", 33573, true],
    ["limited-pilot", "rowsPerSecond", 33572, false],
    ["limited-pilot", "errorRate", 3, false],
    ["limited-pilot", "errorRate", 2.99, true],
    ["limited-pilot", "workflowTimeRatio", 1.2, true],
    ["limited-pilot", "workflowTimeRatio", 1.21, false],
    ["broader-pilot", "concurrentUsers", 20, true],
    ["broader-pilot", "concurrentUsers", 19, false],
    ["broader-pilot", "p95ResponseMs", 300, false],
    ["broader-pilot", "p95ResponseMs", 299.99, true],
    ["broader-pilot", "errorRate", 5, false],
    ["broader-pilot", "userAdoption", 85, false],
    ["broader-pilot", "userAdoption", 85.01, true],
    ["broader-pilot", "cpuUtilization", 85, false],
    ["broader-pilot", "memoryUtilization", 90, false],
    ["readiness", "rowsPerSecond", 37303, true],
    ["readiness", "rowsPerSecond", 37302, false],
    ["readiness", "errorRate", 5, false],
    ["readiness", "p95ResponseMs", 300, false],
    ["readiness", "trainingCompletion", 95, false],
    ["readiness", "trainingCompletion", 95.01, true],
    ["readiness", "operationalReadiness", 0, false],
    ["readiness", "riskMitigation", 0, false],
  ];
  for (const [from, id, value, pass] of table) {
    it(`${from}: ${id} = ${value} ${pass ? "passes" : "fails"}`, () => {
      const transition = transitionFrom(tbs, from)!;
      const result = decide(transition, { ...passing[from], [id]: value });
      const criterion = result.results.find((r) => r.id === id)!;
      assert.equal(criterion.pass, pass);
      assert.equal(criterion.reason, pass ? "ok" : `${value} is not ${criterion.op} ${criterion.threshold}`);
      // One failure is NO-GO under ALL; the 3-of-4 rule tolerates exactly one.
      const decision = pass || transition.rule.type === "atLeast" ? "GO" : "NO-GO";
      assert.deepEqual([result.decision, result.passed], [decision, result.total - (pass ? 0 : 1)]);
    });
  }

  it("limited-pilot: 2 of 4 is NO-GO, whichever two fail", () => {
    const ids = Object.keys(passing["limited-pilot"]!);
    const failing: Record<string, number> = {
      userSatisfaction: 79,
      rowsPerSecond: 33572,
      errorRate: 3,
      workflowTimeRatio: 1.21,
    };
    for (const a of ids)
      for (const b of ids.filter((id) => id > a)) {
        const result = decide(transitionFrom(tbs, "limited-pilot")!, {
          ...passing["limited-pilot"],
          [a]: failing[a]!,
          [b]: failing[b]!,
        });
        assert.deepEqual([result.decision, result.passed, result.required], ["NO-GO", 2, 3], `${a} + ${b}`);
      }
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers of rollout/validation.ts, rollout/loaders.ts (evidence) and phase lookups.

describe("validation helpers", () => {
  it("formatPath (table)", () => {
    const table: [PropertyKey[], string][] = [
      [[], ""],
      [["phase"], "phase"],
      [["services", 1, "green", "port"], "services[1].green.port"],
      [[0, "id"], "[0].id"],
      [["signoffs", "limited-pilot", "qaEngineer"], "signoffs.limited-pilot.qaEngineer"],
      [["metrics", "errorRate", 2, "at"], "metrics.errorRate[2].at"],
    ];
    for (const [path, expected] of table) assert.equal(formatPath(path), expected, JSON.stringify(path));
  });

  it("describeReceived (table)", () => {
    const table: [unknown, string][] = [
      [undefined, "nothing"],
      [null, "null"],
      ["three", '"three"'],
      [NaN, "NaN"],
      [Infinity, "Infinity"],
      [12.5, "12.5"],
      [false, "false"],
      [[1, 2], "[1,2]"],
      [{ a: "x".repeat(100) }, `{"a":"${"x".repeat(71)}...`],
    ];
    for (const [value, expected] of table) assert.equal(describeReceived(value), expected, String(value));
  });

  it("closest suggests within edit distance 2, case-insensitively (table)", () => {
    const keys = ["greenWeight", "phase", "playbook", "rollback"];
    const table: [string, string | undefined][] = [
      ["greenWieght", "greenWeight"],
      ["GREENWEIGHT", "greenWeight"],
      ["phse", "phase"],
      ["plybok", "playbook"],
      ["rollbak", "rollback"],
      ["weight", undefined],
      ["", undefined],
    ];
    for (const [word, expected] of table) assert.equal(closest(word, keys), expected, word);
    assert.equal(closest("x", []), undefined);
  });

  const Schema = z
    .object({
      port: z.number({ message: "expected an integer 1-65535" }),
      mode: z.enum(["fast", "safe"]),
      secret: z.string().min(8),
      tags: z.record(z.string().regex(/^[a-z]+$/, { message: "expected a lowercase tag" }), z.boolean()),
      size: z.union([z.literal(10), z.literal(30)]).optional(),
      limit: z.union([z.number(), z.string()]).optional(),
    })
    .strict();

  it("describeZodError: one line per problem, enums listed, secrets and bad keys described (table)", () => {
    const table: [unknown, string, string[]][] = [
      [
        { port: "x", mode: "slow", secret: "short", tags: {} },
        "rollout:",
        [
          'rollout:port: expected an integer 1-65535, got "x"',
          'rollout:mode: expected one of fast, safe, got "slow"',
          "rollout:secret: expected string to have >=8 characters, got [secret]",
        ],
      ],
      [
        { port: NaN, mode: "fast", secret: "longenough", tags: { Bad: true }, extra: 1 },
        "",
        [
          "port: expected an integer 1-65535, got NaN",
          'tags.Bad: expected a lowercase tag, got the key "Bad"',
          "extra: unknown key (a typo?), got 1",
        ],
      ],
      [[1], "rollout:", ["rollout: expected object, got [1]"]],
      [
        { port: 1, mode: "fast", secret: "longenough", tags: {}, size: 7 },
        "",
        ["size: expected one of 10, 30, got 7"],
      ],
      [
        { port: 1, mode: "fast", secret: "longenough", tags: {}, size: "big" },
        "",
        ['size: expected one of 10, 30, got "big"'],
      ],
      [
        { port: 1, mode: "fast", secret: "longenough", tags: {}, limit: true },
        "",
        ["limit: expected number or string, got true"],
      ],
      ["text", "", ['document: expected object, got "text"']],
    ];
    for (const [input, prefix, lines] of table) {
      const result = Schema.safeParse(input);
      assert.ok(!result.success);
      assert.deepEqual(
        describeZodError(result.error, input, prefix, ["secret"]),
        lines,
        JSON.stringify(input),
      );
    }
  });

  it("parseOrThrow returns the parsed value or throws every line under its context", () => {
    assert.deepEqual(
      parseOrThrow(Schema, { port: 1, mode: "safe", secret: "12345678", tags: {} }, "", "ctx"),
      {
        port: 1,
        mode: "safe",
        secret: "12345678",
        tags: {},
      },
    );
    assert.throws(
      () =>
        parseOrThrow(Schema, { port: 1, mode: "x", secret: 5, tags: {} }, "cfg:", "bad input", ["secret"]),
      (error: unknown) => {
        assert.ok(error instanceof RolloutInputError);
        assert.equal(
          error.message,
          'bad input:\n  cfg:mode: expected one of fast, safe, got "x"\n  cfg:secret: expected string, got [secret]',
        );
        assert.deepEqual(error.issues, [
          'cfg:mode: expected one of fast, safe, got "x"',
          "cfg:secret: expected string, got [secret]",
        ]);
        return true;
      },
    );
  });

  it("sustainProblem: windows CloudWatch can and cannot evaluate (table)", () => {
    const table: [metricPeriod: number, sustain: number, problem: string | undefined][] = [
      [60, 60, undefined],
      [60, 300, undefined],
      [60, 600, undefined],
      [60, 86400, undefined],
      [10, 10, undefined],
      [30, 30, undefined],
      [10, 3600, undefined],
      [
        60,
        30,
        "expected at least 60 s, the metric's own period: a shorter window has no datapoint of its own",
      ],
      [
        30,
        10,
        "expected at least 30 s, the metric's own period: a shorter window has no datapoint of its own",
      ],
      // Only a metric period the schema refuses gets this far; it guards alarmPeriod's derivation.
      [
        45,
        45,
        "expected a window CloudWatch can alarm on: 10, 30 or a multiple of 60 seconds (this one would need a 45 s period)",
      ],
      [60, 90, "expected a multiple of the alarm period (60 s), or the alarm would wait 120 s"],
      [10, 25, "expected a multiple of the alarm period (10 s), or the alarm would wait 30 s"],
      // Hourly periods may span seven days (PutMetricAlarm EvaluationPeriods); shorter ones one day.
      [60, 90000, undefined],
      [60, 604800, undefined],
      [60, 608400, "expected at most 604800 s: CloudWatch evaluates at most seven days"],
      [60, 86460, "expected at most 86400 s: CloudWatch evaluates at most one day"],
      [10, 3610, "expected at most 3600 s: CloudWatch evaluates at most an hour of 10 s datapoints"],
      [30, 3630, "expected at most 3600 s: CloudWatch evaluates at most an hour of 30 s datapoints"],
    ];
    for (const [metricPeriod, sustain, problem] of table)
      assert.equal(sustainProblem(metricPeriod, sustain), problem, `${metricPeriod}/${sustain}`);
  });
});

describe("evidence files", () => {
  const write = (name: string, content: string) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "evidence-")), name);
    fs.writeFileSync(file, content);
    return file;
  };

  it("loadEvidence reads YAML and JSON (table)", () => {
    const table: [string, string, unknown][] = [
      ["e.yaml", "metrics:\n  errorRate: 0.5\n", { metrics: { errorRate: 0.5 } }],
      [
        "e.json",
        '{"metrics": {"errorRate": 1}, "notes": "weekly review"}',
        { metrics: { errorRate: 1 }, notes: "weekly review" },
      ],
      ["e.yaml", "metrics: {}\n", { metrics: {} }],
    ];
    for (const [name, content, expected] of table)
      assert.deepEqual(loadEvidence(write(name, content)), expected, content);
  });

  it("loadEvidence refuses bad files with the reason (table)", () => {
    const missing = path.join(os.tmpdir(), "no-such-evidence.yaml");
    const table: [string, RegExp][] = [
      [missing, new RegExp(`^--evidence: no such file ${missing}$`)],
      [write("e.yaml", "metrics: [1, 2\n"), /^--evidence: .*e\.yaml is not valid YAML or JSON: /],
      [
        write("e.yaml", "metrics:\n  errorRate: high\n"),
        /^--evidence: .*e\.yaml is malformed:\n {2}metrics\.errorRate: expected a number, got "high"$/,
      ],
      [
        write("e.yaml", "metric:\n  errorRate: 1\n"),
        /\n {2}metrics: expected an object of criterion id -> number, got nothing\n {2}metric: unknown key \(a typo\?\), got \{"errorRate":1\}$/,
      ],
      [write("e.yaml", "notes: 5\nmetrics: {}\n"), /\n {2}notes: expected text, got 5$/],
      [
        write("e.yaml", "- errorRate\n"),
        /\n {2}document: expected an object with metrics: \{<criterionId>: number\}, got \["errorRate"\]$/,
      ],
      [write("e.yaml", ""), /is not valid YAML or JSON: expected a document, but the input is empty$/],
    ];
    for (const [file, message] of table)
      assert.throws(
        () => loadEvidence(file),
        (error: unknown) => error instanceof RolloutInputError && message.test(error.message),
        file,
      );
  });
});

describe("phase lookups", () => {
  it("phaseIndex and getPhase (table)", () => {
    const table: [typeof tbs, string, number, string][] = [
      [tbs, "preparation", 0, "Pre-Deployment Preparation (Week 0)"],
      [tbs, "readiness", 4, "Phase 4: Production Readiness Assessment (Week 8)"],
      [tbs, "full", 5, "Full Production Rollout"],
      [telegram, "staging-deployment", 1, "Phase 2: Staging Deployment (Week 2)"],
      [telegram, "post-deployment", 3, "Phase 4: Post-Deployment (Week 4)"],
    ];
    for (const [playbook, id, index, name] of table) {
      assert.equal(phaseIndex(playbook, id), index, id);
      assert.equal(getPhase(playbook, id).name, name, id);
    }
  });

  it("phaseIndex and getPhase name the unknown phase and the known ones", () => {
    for (const lookup of [phaseIndex, getPhase])
      assert.throws(
        () => lookup(telegram, "canary"),
        (error: unknown) =>
          error instanceof Error &&
          error.message ===
            'unknown phase "canary" in playbook telegram-money-bot: expected one of preparation, staging-deployment, production-deployment, post-deployment',
      );
  });

  const decision = (
    from: string,
    to: string,
    verdict: Decision["decision"],
    at: string,
    by = "a",
  ): Decision => ({
    from,
    to,
    decision: verdict,
    at,
    by,
    evidence: [],
  });

  it("latestGoInto: the latest GO into the phase from any phase; NO-GOs and other phases do not count (table)", () => {
    const goEarly = decision("internal", "limited-pilot", "GO", "2026-10-08T00:00:00Z");
    const goLate = decision("internal", "limited-pilot", "GO", "2026-10-10T00:00:00Z");
    const noGoLatest = decision("internal", "limited-pilot", "NO-GO", "2026-10-12T00:00:00Z");
    const goBack = decision("extended-pilot", "limited-pilot", "GO", "2026-10-11T00:00:00Z");
    const goElsewhere = decision("limited-pilot", "extended-pilot", "GO", "2026-10-13T00:00:00Z");
    const sameTimeFirst = decision("internal", "limited-pilot", "GO", "2026-10-10T00:00:00Z", "first");
    const sameTimeLast = decision("internal", "limited-pilot", "GO", "2026-10-10T00:00:00Z", "last");
    const table: [string, Decision[], string, Decision | undefined][] = [
      ["no decisions", [], "limited-pilot", undefined],
      ["only a NO-GO", [noGoLatest], "limited-pilot", undefined],
      ["only a GO into another phase", [goElsewhere], "limited-pilot", undefined],
      ["the later of two GOs, whatever their order", [goLate, goEarly], "limited-pilot", goLate],
      ["a later NO-GO does not hide the GO", [goEarly, goLate, noGoLatest], "limited-pilot", goLate],
      [
        "a GO back into the phase counts too",
        [goEarly, goLate, goBack, goElsewhere],
        "limited-pilot",
        goBack,
      ],
      ["equal times: the one recorded last", [sameTimeFirst, sameTimeLast], "limited-pilot", sameTimeLast],
      ["the other phase", [goEarly, goElsewhere], "extended-pilot", goElsewhere],
    ];
    for (const [what, decisions, phase, expected] of table)
      assert.equal(latestGoInto(decisions, phase), expected, what);
  });

  it("latestDecisionPerTransition: one per transition, the latest, in the order transitions were first decided (table)", () => {
    const a1 = decision("internal", "limited-pilot", "NO-GO", "2026-10-08T00:00:00Z");
    const b1 = decision("limited-pilot", "extended-pilot", "GO", "2026-10-20T00:00:00Z");
    const a2 = decision("internal", "limited-pilot", "GO", "2026-10-09T00:00:00Z");
    const aEarlier = decision("internal", "limited-pilot", "GO", "2026-10-01T00:00:00Z");
    const aSameFirst = decision("internal", "limited-pilot", "GO", "2026-10-09T00:00:00Z", "first");
    const aSameLast = decision("internal", "limited-pilot", "NO-GO", "2026-10-09T00:00:00Z", "last");
    const table: [string, Decision[], Decision[]][] = [
      ["no decisions", [], []],
      ["one decision", [a1], [a1]],
      ["the latest of a transition, in first-decided order", [a1, b1, a2], [a2, b1]],
      ["a decision recorded later with an earlier time does not win", [a2, aEarlier, b1], [a2, b1]],
      ["equal times: the one recorded last", [aSameFirst, aSameLast], [aSameLast]],
    ];
    for (const [what, decisions, expected] of table) {
      assert.deepEqual(latestDecisionPerTransition(decisions), expected, what);
      for (const d of expected)
        assert.equal(latestDecision(decisions, d.from, d.to), d, `${what}: agrees with latestDecision`);
    }
  });
});
