import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { listPlaybooks, loadPlaybook, PLAYBOOK_DIR } from "../../rollout/loaders";
import { parsePlaybook, type Playbook } from "../../rollout/playbook";
import { RolloutInputError } from "../../rollout/validation";

/**
 * The committed playbooks against their source documents (seeds/*.md): every figure a person
 * acts on must be carried, at a known place, with the document's value. A document figure that
 * goes missing or drifts fails here by name.
 */

const TBS = "tbs-strategy-framework";
const TELEGRAM = "telegram-money-bot";

// ---------------------------------------------------------------------------------------------
// Lookups that fail with a readable message instead of `undefined` deep inside a row.

function byId<T extends { id: string }>(items: readonly T[], id: string, what: string): T {
  const found = items.find((item) => item.id === id);
  if (!found) throw new Error(`no ${what} "${id}" (have ${items.map((i) => i.id).join(", ")})`);
  return found;
}

function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not set`);
  return value;
}

const phase = (pb: Playbook, id: string) => byId(pb.phases, id, "phase");
const gate = (pb: Playbook, id: string) => byId(pb.gates, id, "gate");
const warning = (pb: Playbook, id: string) => defined(gate(pb, id).warning, `gates.${id}.warning`);
const critical = (pb: Playbook, id: string) => defined(gate(pb, id).critical, `gates.${id}.critical`);
const trigger = (pb: Playbook, id: string) => byId(pb.rollback.triggers, id, "rollback trigger");
const success = (pb: Playbook, id: string) => byId(pb.successCriteria, id, "success criterion");
const baseline = (pb: Playbook) => defined(gate(pb, "rowsPerSecond").baseline, "rowsPerSecond baseline");

function transition(pb: Playbook, from: string) {
  const found = pb.transitions.find((t) => t.from === from);
  if (!found) throw new Error(`no transition from ${from}`);
  return found;
}

const criterion = (pb: Playbook, from: string, id: string) =>
  byId(transition(pb, from).criteria, id, "criterion");

/** A phase's staffing line whose role starts with `role`. */
function staffing(pb: Playbook, phaseId: string, role: string): number {
  const line = phase(pb, phaseId).staffing.find((s) => s.role.startsWith(role));
  if (!line) throw new Error(`no ${role} in ${phaseId} staffing`);
  return line.allocationPercent;
}

/** The value of the phase's rollback trigger tied to `gateId`, or of the nth one. */
function phaseTrigger(pb: Playbook, phaseId: string, gateId: string, nth = 0): number {
  const matching = phase(pb, phaseId).rollbackTriggers.filter((t) => t.gate === gateId);
  return defined(matching[nth]?.value, `${phaseId} rollback trigger on ${gateId}`);
}

function matrixRow(pb: Playbook, metric: string) {
  const row = pb.responseMatrix.find((r) => r.metric === metric);
  if (!row) throw new Error(`no response matrix row ${metric}`);
  return row;
}

function operation(pb: Playbook, group: string, pattern: RegExp) {
  const items = pb.operations.find((o) => o.name.startsWith(group))?.items ?? [];
  const item = items.find((i) => pattern.test(i.description));
  if (!item) throw new Error(`no operations item ${pattern} in "${group}"`);
  return item;
}

/** A figure the schema can only hold inside text (user profiles, manual triggers): the first capture of `pattern`. */
function numberIn(texts: string | readonly string[], pattern: RegExp): number {
  for (const text of typeof texts === "string" ? [texts] : texts) {
    const match = pattern.exec(text);
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  throw new Error(`no ${pattern} in ${JSON.stringify(texts)}`);
}

/** Degradation from the throughput baseline, in whole percent: 27,977 is 25. */
const degradationPercent = (pb: Playbook, value: number) => Math.round(100 * (1 - value / baseline(pb)));

const milestoneDays = (pb: Playbook, id: string) => phase(pb, id).milestones.map((m) => m.day);
const weeksOf = (pb: Playbook, id: string) => {
  const days = defined(phase(pb, id).days, `${id}.days`);
  return [Math.ceil(days.min / 7), Math.ceil(days.max / 7)];
};
const activityPrefixes = (pb: Playbook, id: string) =>
  phase(pb, id)
    .activities.map((a) => /^(Days? [\d-]+|Weeks? [\d-]+)/.exec(a)?.[1])
    .filter((p) => p !== undefined);

type Row = [label: string, actual: (pb: Playbook) => unknown, expected: unknown];

function assertRows(id: string, rows: Row[]): void {
  const pb = loadPlaybook(id);
  for (const [label, actual, expected] of rows) {
    it(label, () => assert.deepEqual(actual(pb), expected));
  }
}

// ---------------------------------------------------------------------------------------------

describe("committed playbooks", () => {
  it("both load and validate", () => {
    assert.equal(loadPlaybook(TBS).id, TBS);
    assert.equal(loadPlaybook(TELEGRAM).id, TELEGRAM);
  });

  it("listPlaybooks returns exactly the two ids", () => {
    assert.deepEqual(listPlaybooks(), [TBS, TELEGRAM]);
  });

  it("loadPlaybook by id, by path, once per file, and refusing what it cannot use (table)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "playbooks-"));
    const tbsText = fs.readFileSync(path.join(PLAYBOOK_DIR, `${TBS}.yaml`), "utf8");
    fs.writeFileSync(path.join(dir, "copy.yaml"), tbsText);
    fs.writeFileSync(path.join(dir, "broken.yaml"), "phases: [\n");
    fs.writeFileSync(path.join(dir, "notes.txt"), "not a playbook");
    fs.writeFileSync(path.join(dir, `${TBS}.yml`), tbsText);
    assert.deepEqual(listPlaybooks(dir), ["broken", "copy"]);

    const byPath = loadPlaybook(path.join(dir, `${TBS}.yml`));
    assert.equal(byPath.id, TBS);
    assert.equal(loadPlaybook(path.join(dir, `${TBS}.yml`)), byPath, "cached: the same object");
    assert.equal(loadPlaybook(path.join(dir, "copy.yaml")).id, TBS, "a path may name any file");

    const table: [string, RegExp][] = [
      [
        "canary",
        /^unknown playbook "canary": expected one of broken, copy or a path to a playbook YAML file$/,
      ],
      ["broken", /^playbook .*broken\.yaml is not valid YAML: /],
      ["copy", new RegExp(`^playbook .*copy\\.yaml: id "${TBS}" must match its file name "copy"$`)],
    ];
    for (const [id, message] of table)
      assert.throws(
        () => loadPlaybook(id, dir),
        (error: unknown) => error instanceof RolloutInputError && message.test(error.message),
        id,
      );
  });

  it("parsePlaybook refuses a document that is not an object, at the document root", () => {
    for (const [document, got] of [
      ["a string", '"a string"'],
      [[1], "[1]"],
      [undefined, "nothing"],
    ] as const)
      assert.throws(
        () => parsePlaybook(document, "test"),
        (error: unknown) =>
          error instanceof RolloutInputError &&
          error.message ===
            `invalid playbook test:\n  document: expected a playbook: an object with id, name, source, phases, gates, rollback and signoff, got ${got}`,
      );
  });

  it("the committed YAML parses to the loaded playbook (no hidden defaults beyond the schema's)", () => {
    const document = yaml.load(fs.readFileSync(path.join(PLAYBOOK_DIR, `${TELEGRAM}.yaml`), "utf8"));
    assert.deepEqual(parsePlaybook(document, "telegram"), loadPlaybook(TELEGRAM));
  });

  it("TBS phases are in document order with their caps and cohort routing", () => {
    const pb = loadPlaybook(TBS);
    assert.deepEqual(
      pb.phases.map((p) => [p.id, p.trafficCapPercent, p.cohortRouting]),
      [
        ["preparation", 0, false],
        ["internal", 0, true],
        ["limited-pilot", 0, true],
        ["broader-pilot", 10, true],
        ["readiness", 10, true],
        ["full", 100, false],
      ],
    );
  });

  it("Telegram phases are in guide order with their caps and cohort routing", () => {
    const pb = loadPlaybook(TELEGRAM);
    assert.deepEqual(
      pb.phases.map((p) => [p.id, p.trafficCapPercent, p.cohortRouting]),
      [
        ["preparation", 0, false],
        ["staging-deployment", 0, true],
        ["production-deployment", 100, true],
        ["post-deployment", 100, false],
      ],
    );
  });

  it("TBS carries the gates the automation needs", () => {
    const ids = loadPlaybook(TBS).gates.map((g) => g.id);
    for (const id of [
      "rowsPerSecond",
      "errorRate",
      "p95ResponseMs",
      "sessionSuccessRate",
      "cpuUtilization",
      "memoryUtilization",
      "dbConnectionPoolUtilization",
      "diskFreePercent",
      "dbConnectionFailures",
      "uptimePercent",
      "userSatisfaction",
      "criticalBugsPerDay",
      "dataIntegrityErrors",
    ]) {
      assert.ok(ids.includes(id), `missing gate ${id}`);
    }
  });

  it("sign-off requirements name every phase, and only phases", () => {
    for (const id of [TBS, TELEGRAM]) {
      const pb = loadPlaybook(id);
      assert.deepEqual(Object.keys(pb.signoff.requiredByPhase).sort(), pb.phases.map((p) => p.id).sort());
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Every number of the TBS document.
//
// Not carried, on purpose:
// - the "Real-Time Metrics Dashboard" mock-up (37,245 rows/sec, 99.8% baseline, 1.2%, 142ms, 12/20,
//   60% concurrent, 87%, 94%, 95%, 2.1 hours): sample readings, not requirements. Its "Target" column
//   restates the gates, except "Training Completion (Target: >90%)", which the Phase 4 GO criterion
//   (>95%) overrides;
// - document version 1.0 and the dates 2025-01-24: metadata;
// - "Success Probability Assessment" (95/85/90/88%): confidence estimates, not something anyone acts on;
// - ports 8000 (blue) and 3000 (green): stack config (services[].blue/green.port), not the playbook;
// - "Next.js 14+": a version in the architecture line, carried as text under operations;
// - numbering that only labels things: Phase 1-4, P0/P1/P2, the numbered review and action lists,
//   and "24/7" / "Phase 1-3 Coverage" (these are in the operations group names).

describe(`${TBS}: every number of the document is carried`, () => {
  assertRows(TBS, [
    // Executive summary: Current System Status, Deployment Success Metrics.
    ["target users 10-20", (pb) => phase(pb, "broader-pilot").users, { min: 10, max: 20 }],
    ["baseline 37,303 rows/sec", (pb) => gate(pb, "rowsPerSecond").baseline, 37303],
    [
      "monitoring 100% test success rate",
      (pb) =>
        numberIn(operation(pb, "Current system status", /test success/).description, /(\d+)% test success/),
      100,
    ],
    [
      "readiness score 86/100",
      (pb) => numberIn(operation(pb, "Current system status", /readiness score/).description, /(\d+)\/100/),
      86,
    ],
    ["target performance 33,573 rows/sec", (pb) => success(pb, "rowsPerSecond").value, 33573],
    [
      "target performance ≥90% of baseline",
      (pb) => 100 - degradationPercent(pb, success(pb, "rowsPerSecond").value),
      90,
    ],
    ["target performance op ≥", (pb) => success(pb, "rowsPerSecond").op, ">="],
    ["uptime requirement 99.9%", (pb) => success(pb, "uptimePercent").value, 99.9],
    [
      "error rate threshold <5%",
      (pb) => [success(pb, "errorRate").op, success(pb, "errorRate").value],
      ["<", 5],
    ],
    ["error rate <3% target (warning level)", (pb) => warning(pb, "errorRate").threshold, 3],
    ["rollback <15 minutes (success metric)", (pb) => success(pb, "rollbackMinutes").value, 15],
    ["user satisfaction ≥80%", (pb) => success(pb, "userSatisfaction").value, 80],

    // Phase 1: Internal Testing.
    ["phase 1 duration 1 week", (pb) => phase(pb, "internal").durationDays, 7],
    ["phase 1 users 2-3", (pb) => phase(pb, "internal").users, { min: 2, max: 3 }],
    ["phase 1 days 1-7", (pb) => phase(pb, "internal").days, { min: 1, max: 7 }],
    ["phase 1 Week 1", (pb) => weeksOf(pb, "internal"), [1, 1]],
    [
      "phase 1 performance 100% of baseline (37,303)",
      (pb) => criterion(pb, "internal", "rowsPerSecond").value,
      37303,
    ],
    ["phase 1 zero critical bugs", (pb) => criterion(pb, "internal", "criticalBugs").value, 0],
    ["phase 1 error rate <1%", (pb) => criterion(pb, "internal", "errorRate").value, 1],
    ["phase 1 feature parity 100%", (pb) => criterion(pb, "internal", "featureParity").value, 100],
    ["phase 1 zero data discrepancies", (pb) => criterion(pb, "internal", "dataDiscrepancies").value, 0],
    [
      "phase 1 daily activities Days 1-2 / 3-5 / 6-7",
      (pb) => activityPrefixes(pb, "internal"),
      ["Days 1-2", "Days 3-5", "Days 6-7"],
    ],
    [
      "phase 1 rollback: degradation >10% (value)",
      (pb) => phaseTrigger(pb, "internal", "rowsPerSecond"),
      33573,
    ],
    [
      "phase 1 rollback: degradation >10% (percent)",
      (pb) => degradationPercent(pb, phaseTrigger(pb, "internal", "rowsPerSecond")),
      10,
    ],
    [
      "phase 1 rollback: data integrity issues (any)",
      (pb) => phaseTrigger(pb, "internal", "dataIntegrityErrors"),
      0,
    ],

    // Phase 2: Limited Pilot.
    ["phase 2 duration 2 weeks", (pb) => phase(pb, "limited-pilot").durationDays, 14],
    ["phase 2 users 5-8", (pb) => phase(pb, "limited-pilot").users, { min: 5, max: 8 }],
    ["phase 2 days 8-21", (pb) => phase(pb, "limited-pilot").days, { min: 8, max: 21 }],
    ["phase 2 Weeks 2-3", (pb) => weeksOf(pb, "limited-pilot"), [2, 3]],
    ["phase 2 user satisfaction ≥80%", (pb) => criterion(pb, "limited-pilot", "userSatisfaction").value, 80],
    ["phase 2 performance ≥33,573", (pb) => criterion(pb, "limited-pilot", "rowsPerSecond").value, 33573],
    ["phase 2 error rate <3%", (pb) => criterion(pb, "limited-pilot", "errorRate").value, 3],
    [
      "phase 2 workflows within 20% of baseline time",
      (pb) => criterion(pb, "limited-pilot", "workflowTimeRatio").value,
      1.2,
    ],
    [
      "phase 2 weekly activities Week 1 / Week 2",
      (pb) => activityPrefixes(pb, "limited-pilot"),
      ["Week 1", "Week 2"],
    ],
    [
      "phase 2 rollback: satisfaction <70%",
      (pb) => phaseTrigger(pb, "limited-pilot", "userSatisfaction"),
      70,
    ],
    [
      "phase 2 rollback: degradation >20% (value)",
      (pb) => phaseTrigger(pb, "limited-pilot", "rowsPerSecond"),
      29842,
    ],
    [
      "phase 2 rollback: degradation >20% (percent)",
      (pb) => degradationPercent(pb, phaseTrigger(pb, "limited-pilot", "rowsPerSecond")),
      20,
    ],
    [
      "phase 2 rollback: workflow failures affecting >50% of pilot users",
      (pb) => phaseTrigger(pb, "limited-pilot", "pilotUsersAffectedPercent"),
      50,
    ],

    // Phase 3: Broader Pilot.
    ["phase 3 duration 4 weeks", (pb) => phase(pb, "broader-pilot").durationDays, 28],
    ["phase 3 users 10-20", (pb) => phase(pb, "broader-pilot").users, { min: 10, max: 20 }],
    ["phase 3 days 22-49", (pb) => phase(pb, "broader-pilot").days, { min: 22, max: 49 }],
    ["phase 3 Weeks 4-7", (pb) => weeksOf(pb, "broader-pilot"), [4, 7]],
    ["phase 3 20 simultaneous users", (pb) => criterion(pb, "broader-pilot", "concurrentUsers").value, 20],
    ["phase 3 response <300ms", (pb) => criterion(pb, "broader-pilot", "p95ResponseMs").value, 300],
    [
      "phase 3 response for 95% of requests (p95)",
      (pb) => gate(pb, "p95ResponseMs").metric,
      { source: "alb", name: "p95ResponseMs" },
    ],
    ["phase 3 error rate <5%", (pb) => criterion(pb, "broader-pilot", "errorRate").value, 5],
    ["phase 3 user adoption >85%", (pb) => criterion(pb, "broader-pilot", "userAdoption").value, 85],
    [
      "phase 3 weekly activities Week 1 / Weeks 2-3 / Week 4",
      (pb) => activityPrefixes(pb, "broader-pilot"),
      ["Week 1", "Weeks 2-3", "Week 4"],
    ],
    [
      "phase 3 rollback: degradation >25% (value)",
      (pb) => phaseTrigger(pb, "broader-pilot", "rowsPerSecond"),
      27977,
    ],
    [
      "phase 3 rollback: degradation >25% (percent)",
      (pb) => degradationPercent(pb, phaseTrigger(pb, "broader-pilot", "rowsPerSecond")),
      25,
    ],
    [
      "phase 3 rollback: session failures >10%",
      (pb) => 100 - phaseTrigger(pb, "broader-pilot", "sessionSuccessRate"),
      10,
    ],
    ["phase 3 rollback: error rate >5%", (pb) => phaseTrigger(pb, "broader-pilot", "errorRate"), 5],
    [
      "phase 3 rollback: CPU exhaustion >95%",
      (pb) => phaseTrigger(pb, "broader-pilot", "cpuUtilization"),
      95,
    ],
    [
      "phase 3 rollback: memory exhaustion >95%",
      (pb) => phaseTrigger(pb, "broader-pilot", "memoryUtilization"),
      95,
    ],

    // Phase 4: Production Readiness Assessment.
    ["phase 4 duration 1 week", (pb) => phase(pb, "readiness").durationDays, 7],
    ["phase 4 days 50-56", (pb) => phase(pb, "readiness").days, { min: 50, max: 56 }],
    ["phase 4 Week 8", (pb) => weeksOf(pb, "readiness"), [8, 8]],
    [
      "phase 4 daily activities Days 1-3 / 4-5 / 6-7",
      (pb) => activityPrefixes(pb, "readiness"),
      ["Days 1-3", "Days 4-5", "Days 6-7"],
    ],
    ["phase 4 milestones from its daily activities", (pb) => milestoneDays(pb, "readiness"), [52, 54, 56]],
    ["phase 4 training completion >95%", (pb) => criterion(pb, "readiness", "trainingCompletion").value, 95],

    // Infrastructure.
    [
      "instant switching <30 seconds",
      (pb) => 60 * defined(operation(pb, "Traffic switching", /30 second/).withinMinutes, "withinMinutes"),
      30,
    ],

    // Quality gates.
    ["performance warning 29,842", (pb) => warning(pb, "rowsPerSecond").threshold, 29842],
    ["performance warning -20%", (pb) => degradationPercent(pb, warning(pb, "rowsPerSecond").threshold), 20],
    ["performance critical 27,977", (pb) => critical(pb, "rowsPerSecond").threshold, 27977],
    [
      "performance critical -25%",
      (pb) => degradationPercent(pb, critical(pb, "rowsPerSecond").threshold),
      25,
    ],
    ["performance critical auto rollback", (pb) => critical(pb, "rowsPerSecond").action, "auto-rollback"],
    ["response time limit 300ms", (pb) => critical(pb, "p95ResponseMs").threshold, 300],
    ["response time sustained >5min", (pb) => critical(pb, "p95ResponseMs").sustainSeconds, 300],
    ["response time warning 250ms", (pb) => warning(pb, "p95ResponseMs").threshold, 250],
    ["current error rate 1.5%", (pb) => gate(pb, "errorRate").baseline, 1.5],
    ["error rate warning 3.0%", (pb) => warning(pb, "errorRate").threshold, 3],
    ["error rate critical 5.0%", (pb) => critical(pb, "errorRate").threshold, 5],
    ["uptime requirement 99.9% (gate)", (pb) => critical(pb, "uptimePercent").threshold, 99.9],
    ["uptime over a 24h period", (pb) => critical(pb, "uptimePercent").sustainSeconds, 24 * 3600],
    ["session success 90% minimum", (pb) => warning(pb, "sessionSuccessRate").threshold, 90],
    ["user satisfaction 70% phase hold", (pb) => critical(pb, "userSatisfaction").threshold, 70],
    ["user satisfaction action phase hold", (pb) => critical(pb, "userSatisfaction").action, "phase-hold"],
    ["critical bugs per day 2", (pb) => critical(pb, "criticalBugsPerDay").threshold, 2],
    ["cpu usage warning 85%", (pb) => warning(pb, "cpuUtilization").threshold, 85],
    ["memory usage critical 90% immediate alert", (pb) => warning(pb, "memoryUtilization").threshold, 90],
    ["memory 90% pages the critical topic", (pb) => warning(pb, "memoryUtilization").notify, "critical"],
    [
      "db connection pool 80% scaling alert",
      (pb) => warning(pb, "dbConnectionPoolUtilization").threshold,
      80,
    ],
    ["db connection pool action scale", (pb) => warning(pb, "dbConnectionPoolUtilization").action, "scale"],
    ["disk space critical 15% free", (pb) => critical(pb, "diskFreePercent").threshold, 15],

    // Automated Response Matrix.
    [
      "matrix performance <80% / <75% baseline",
      (pb) => [matrixRow(pb, "Performance").warning.value, matrixRow(pb, "Performance").critical.value],
      [80, 75],
    ],
    [
      "matrix error rate >3% / >5%",
      (pb) => [matrixRow(pb, "Error Rate").warning.value, matrixRow(pb, "Error Rate").critical.value],
      [3, 5],
    ],
    [
      "matrix response time >250ms / >300ms",
      (pb) => [matrixRow(pb, "Response Time").warning.value, matrixRow(pb, "Response Time").critical.value],
      [250, 300],
    ],
    [
      "matrix resource usage >80% / >90%",
      (pb) => [matrixRow(pb, "Resource Usage").warning.value, matrixRow(pb, "Resource Usage").critical.value],
      [80, 90],
    ],
    ["matrix resource usage Scale/Alert", (pb) => matrixRow(pb, "Resource Usage").action, "Scale/Alert"],
    [
      "matrix user sessions <90% / <85%",
      (pb) => [matrixRow(pb, "User Sessions").warning.value, matrixRow(pb, "User Sessions").critical.value],
      [90, 85],
    ],
    ["matrix user sessions <85% rolls back (gate)", (pb) => critical(pb, "sessionSuccessRate").threshold, 85],

    // User selection strategy.
    [
      "internal: full-time testing for 1 week",
      (pb) => numberIn(phase(pb, "internal").userProfiles, /for (\d+) week/),
      1,
    ],
    [
      "power users: >6 months usage",
      (pb) => numberIn(phase(pb, "limited-pilot").userProfiles, />(\d+) months/),
      6,
    ],
    [
      "power users: 4+ hours daily",
      (pb) => numberIn(phase(pb, "limited-pilot").userProfiles, /(\d+)\+ hours/),
      4,
    ],
    [
      "power users: for 2 weeks",
      (pb) => numberIn(phase(pb, "limited-pilot").userProfiles, /for (\d+) weeks/),
      2,
    ],
    [
      "mixed: 60% experienced",
      (pb) => numberIn(phase(pb, "broader-pilot").userProfiles, /(\d+)% experienced/),
      60,
    ],
    [
      "mixed: 40% new/intermediate",
      (pb) => numberIn(phase(pb, "broader-pilot").userProfiles, /(\d+)% new/),
      40,
    ],
    [
      "mixed: 4-week period",
      (pb) => numberIn(phase(pb, "broader-pilot").userProfiles, /(\d+)-week period/),
      4,
    ],

    // Rollback strategy.
    ["15-minute rollback", (pb) => pb.rollback.limitSeconds, 15 * 60],
    [
      "minute blocks 0-2, 2-5, 5-10, 10-12, 12-15",
      (pb) => pb.rollback.procedure.map((b) => [b.fromMinute, b.toMinute]),
      [
        [0, 2],
        [2, 5],
        [5, 10],
        [10, 12],
        [12, 15],
      ],
    ],
    [
      "automated: degradation >25% sustained 10 minutes",
      (pb) => critical(pb, "rowsPerSecond").sustainSeconds,
      600,
    ],
    [
      "automated: degradation trigger uses throughput",
      (pb) => trigger(pb, "performanceDegradation").gates,
      ["rowsPerSecond"],
    ],
    ["automated: error rate >5% for 5 minutes", (pb) => critical(pb, "errorRate").sustainSeconds, 300],
    ["automated: db connection failures >3", (pb) => critical(pb, "dbConnectionFailures").threshold, 3],
    [
      "automated: db connection failures in 1 minute",
      (pb) => critical(pb, "dbConnectionFailures").sustainSeconds,
      60,
    ],
    ["automated: CPU >95%", (pb) => critical(pb, "cpuUtilization").threshold, 95],
    ["automated: memory >95%", (pb) => critical(pb, "memoryUtilization").threshold, 95],
    [
      "automated: resource exhaustion trigger uses CPU and memory",
      (pb) => trigger(pb, "resourceExhaustion").gates,
      ["cpuUtilization", "memoryUtilization"],
    ],
    [
      "manual: satisfaction <70%",
      (pb) => numberIn(trigger(pb, "userSatisfactionComplaints").description, /<(\d+)%/),
      70,
    ],
    [
      "manual: critical bug >50% of pilot users",
      (pb) => numberIn(trigger(pb, "criticalBugMajority").description, />(\d+)%/),
      50,
    ],
    ["manual: >50% of pilot users (gate)", (pb) => critical(pb, "pilotUsersAffectedPercent").threshold, 50],
    // No TBS trigger has its own limit: all of them fall back to the 15-minute one.
    [
      "TBS triggers take the playbook limit",
      (pb) => pb.rollback.triggers.map((t) => t.limitSeconds),
      Array(12).fill(undefined),
    ],

    // Emergency response.
    [
      "primary on-call <5 minutes",
      (pb) => operation(pb, "On-call rotation", /^Primary on-call \(/).withinMinutes,
      5,
    ],
    [
      "secondary on-call <15 minutes",
      (pb) => operation(pb, "On-call rotation", /^Secondary on-call \(/).withinMinutes,
      15,
    ],
    ["communication within 30 min", (pb) => operation(pb, "Communication tree", /CTO/).withinMinutes, 30],
    [
      "communication within 2 hours",
      (pb) => operation(pb, "Communication tree", /Business stakeholders/).withinMinutes,
      120,
    ],
    [
      "immediate debrief within 24 hours",
      (pb) => operation(pb, "Post-incident review", /debrief/).withinMinutes,
      24 * 60,
    ],
    [
      "root cause analysis within 72 hours",
      (pb) => operation(pb, "Post-incident review", /Root cause/).withinMinutes,
      72 * 60,
    ],
    [
      "improvement plan within 1 week",
      (pb) => operation(pb, "Post-incident review", /Improvement plan/).withinMinutes,
      7 * 24 * 60,
    ],

    // Decision framework (the full criteria are checked in their own suite).
    [
      "phase 2 → 3: 3 of 4",
      (pb) => [transition(pb, "limited-pilot").rule, transition(pb, "limited-pilot").criteria.length],
      [{ type: "atLeast", count: 3 }, 4],
    ],
    [
      "phase 2 fail: extend by 1 week",
      (pb) => numberIn(transition(pb, "limited-pilot").failActions, /by (\d+) week/),
      1,
    ],

    // Timeline and resource allocation.
    [
      "checklist: 7 items for Week 0 and each of Phases 1-4",
      (pb) => pb.phases.map((p) => p.checklist.length),
      [7, 7, 7, 7, 7, 0],
    ],
    ["week 0 duration 7 days", (pb) => phase(pb, "preparation").durationDays, 7],
    ["week 0 DevOps 100%", (pb) => staffing(pb, "preparation", "DevOps"), 100],
    ["week 0 QA 50%", (pb) => staffing(pb, "preparation", "QA"), 50],
    ["week 0 Product Manager 25%", (pb) => staffing(pb, "preparation", "Product Manager"), 25],
    ["phase 1 milestones days 2, 4, 6, 7", (pb) => milestoneDays(pb, "internal"), [2, 4, 6, 7]],
    ["phase 1 DevOps 100%", (pb) => staffing(pb, "internal", "DevOps"), 100],
    ["phase 1 QA 75%", (pb) => staffing(pb, "internal", "QA"), 75],
    ["phase 1 internal testers 100%", (pb) => staffing(pb, "internal", "Internal testers"), 100],
    ["phase 2 milestones days 10, 14, 17, 21", (pb) => milestoneDays(pb, "limited-pilot"), [10, 14, 17, 21]],
    ["phase 2 DevOps 75%", (pb) => staffing(pb, "limited-pilot", "DevOps"), 75],
    ["phase 2 QA 50%", (pb) => staffing(pb, "limited-pilot", "QA"), 50],
    ["phase 2 Product Manager 50%", (pb) => staffing(pb, "limited-pilot", "Product Manager"), 50],
    ["phase 3 milestones days 28, 35, 42, 49", (pb) => milestoneDays(pb, "broader-pilot"), [28, 35, 42, 49]],
    ["phase 3 DevOps 50%", (pb) => staffing(pb, "broader-pilot", "DevOps"), 50],
    ["phase 3 QA 75%", (pb) => staffing(pb, "broader-pilot", "QA"), 75],
    ["phase 3 Product Manager 75%", (pb) => staffing(pb, "broader-pilot", "Product Manager"), 75],
    ["phase 4 DevOps 75%", (pb) => staffing(pb, "readiness", "DevOps"), 75],
    ["phase 4 QA 50%", (pb) => staffing(pb, "readiness", "QA"), 50],
    ["phase 4 Product Manager 100%", (pb) => staffing(pb, "readiness", "Product Manager"), 100],
    ["phase 4 Engineering Manager 50%", (pb) => staffing(pb, "readiness", "Engineering Manager"), 50],
    [
      "total 63 days (9 weeks) from preparation to the readiness decision",
      (pb) => pb.phases.slice(0, 5).reduce((sum, p) => sum + p.durationDays, 0),
      63,
    ],

    // Conclusion.
    [
      "validated uptime 99.93%",
      (pb) => numberIn(operation(pb, "Current system status", /uptime/).description, /([\d.]+)%/),
      99.93,
    ],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Every number of the Telegram guide.
//
// Not carried, on purpose: the product version v8.0 (in the name), the dashboard's local port 8080
// in the example curl commands (the Python tool's own port, not a rollout parameter), and list
// numbering (Phase 1-4 names, numbered steps, whose order is carried as list order).

const ALL_SEVEN = [
  "technicalLead",
  "productManager",
  "securityOfficer",
  "operationsManager",
  "businessOwner",
  "qaLead",
  "devopsEngineer",
];

describe(`${TELEGRAM}: every number of the guide is carried`, () => {
  assertRows(TELEGRAM, [
    // Production Monitoring Dashboard.
    [
      "24-hour retention",
      (pb) => numberIn(operation(pb, "Monitoring and alerting", /retention/).description, /(\d+)-hour/),
      24,
    ],
    ["CPU <80%", (pb) => critical(pb, "cpuUtilization").threshold, 80],
    ["memory <85%", (pb) => critical(pb, "memoryUtilization").threshold, 85],
    ["disk <90%", (pb) => critical(pb, "diskUtilization").threshold, 90],
    [
      "disk is the node filesystem",
      (pb) => gate(pb, "diskUtilization").metric,
      { source: "container-insights", name: "node_filesystem_utilization" },
    ],
    ["network latency <1000ms", (pb) => critical(pb, "p95LatencyMs").threshold, 1000],
    ["latency above 1000ms rolls back", (pb) => critical(pb, "p95LatencyMs").action, "auto-rollback"],
    ["error rate <5%", (pb) => critical(pb, "errorRate").threshold, 5],
    ["error rate above 5% rolls back", (pb) => critical(pb, "errorRate").action, "auto-rollback"],
    ["queue depth <1000 items", (pb) => critical(pb, "queueDepth").threshold, 1000],
    [
      "queue depth is the deepest queue",
      (pb) => gate(pb, "queueDepth").metric,
      { source: "custom", name: "QueueDepth", statistic: "Maximum" },
    ],
    [
      "resource limits alert, not roll back",
      (pb) =>
        ["cpuUtilization", "memoryUtilization", "diskUtilization", "queueDepth"].map(
          (id) => critical(pb, id).action,
        ),
      ["alert", "alert", "alert", "alert"],
    ],

    // Rollback triggers and process.
    ["critical error within 60 seconds", (pb) => trigger(pb, "criticalError").limitSeconds, 60],
    // Only the 10 s metric fits 60 s; the per-minute error rate rolls back as a system failure.
    ["critical error gates", (pb) => trigger(pb, "criticalError").gates, ["criticalErrors"]],
    [
      "system failure within 5 minutes: error rate, healthy hosts, ALB-generated errors",
      (pb) => [trigger(pb, "systemFailure").limitSeconds, trigger(pb, "systemFailure").gates],
      [300, ["errorRate", "healthyHosts", "albGeneratedErrors"]],
    ],
    [
      "security breach: the application's own event, GuardDuty as the second net",
      (pb) => [trigger(pb, "securityBreach").gates, trigger(pb, "securityBreach").backupGates],
      [["securityEvents"], ["securityFindings"]],
    ],
    [
      "performance degradation: playbook limit",
      (pb) => trigger(pb, "performanceDegradation").limitSeconds,
      undefined,
    ],
    ["performance degradation gates", (pb) => trigger(pb, "performanceDegradation").gates, ["p95LatencyMs"]],
    ["data corruption within 30 seconds", (pb) => trigger(pb, "dataCorruption").limitSeconds, 30],
    ["security breach within 10 seconds", (pb) => trigger(pb, "securityBreach").limitSeconds, 10],
    [
      "manual intervention is manual",
      (pb) => [trigger(pb, "manualIntervention").kind, trigger(pb, "manualIntervention").gates],
      ["manual", []],
    ],
    ["circuit breaker within 120 seconds", (pb) => trigger(pb, "circuitBreaker").limitSeconds, 120],
    [
      "10 s detection for the 10-60 s triggers",
      (pb) => ["criticalErrors", "dataCorruption"].map((id) => critical(pb, id).sustainSeconds),
      [10, 10],
    ],
    ["circuit breaker 30 s detection", (pb) => critical(pb, "circuitBreakerOpen").sustainSeconds, 30],
    [
      "security findings severity ≥7, any finding",
      (pb) => [gate(pb, "securityFindings").metric, critical(pb, "securityFindings").threshold],
      [{ source: "guardduty", minSeverity: 7 }, 0],
    ],
    ["rollback process 7 steps", (pb) => pb.rollback.procedure.length, 7],
    ["rollback <5 minutes", (pb) => pb.rollback.limitSeconds, 5 * 60],

    // Stakeholder sign-off.
    ["7 required approvals", (pb) => pb.signoff.roles.map((r) => r.id), ALL_SEVEN],
    [
      "each role has its 3 checklist items",
      (pb) => pb.signoff.roles.map((r) => r.checklist.length),
      [3, 3, 3, 3, 3, 3, 3],
    ],
    [
      "technical lead: code quality, architecture, performance",
      (pb) => byId(pb.signoff.roles, "technicalLead", "role").checklist,
      ["Code quality", "Architecture", "Performance"],
    ],
    [
      "product manager: features, UX, business logic",
      (pb) => byId(pb.signoff.roles, "productManager", "role").checklist,
      ["Features", "UX", "Business logic"],
    ],
    [
      "security officer: audit, authentication, encryption",
      (pb) => byId(pb.signoff.roles, "securityOfficer", "role").checklist,
      ["Security audit", "Authentication", "Encryption"],
    ],
    [
      "operations manager: deployment, monitoring, backups",
      (pb) => byId(pb.signoff.roles, "operationsManager", "role").checklist,
      ["Deployment", "Monitoring", "Backup procedures"],
    ],
    [
      "business owner: value, risk, compliance",
      (pb) => byId(pb.signoff.roles, "businessOwner", "role").checklist,
      ["Business value", "Risk management", "Compliance"],
    ],
    [
      "QA lead: coverage, automation, performance testing",
      (pb) => byId(pb.signoff.roles, "qaLead", "role").checklist,
      ["Test coverage", "Automated testing", "Performance testing"],
    ],
    [
      "DevOps: infrastructure, CI/CD, configuration",
      (pb) => byId(pb.signoff.roles, "devopsEngineer", "role").checklist,
      ["Infrastructure", "CI/CD", "Configuration management"],
    ],
    ["production needs all seven", (pb) => pb.signoff.requiredByPhase["production-deployment"], ALL_SEVEN],
    ["post-deployment needs all seven", (pb) => pb.signoff.requiredByPhase["post-deployment"], ALL_SEVEN],
    [
      "staging needs tech lead, QA, DevOps",
      (pb) => pb.signoff.requiredByPhase["staging-deployment"],
      ["technicalLead", "qaLead", "devopsEngineer"],
    ],
    ["preparation needs none", (pb) => pb.signoff.requiredByPhase["preparation"], []],
    [
      "approval process 6 steps",
      (pb) => pb.operations.find((o) => o.name === "Approval process")?.items.length,
      6,
    ],
    [
      "emergency response 6 steps",
      (pb) => pb.operations.find((o) => o.name === "Emergency response")?.items.length,
      6,
    ],
    [
      "4 emergency contacts",
      (pb) => pb.operations.find((o) => o.name === "Emergency contacts")?.items.length,
      4,
    ],

    // Rollout timeline: Week 1-4, five checklist items each.
    ["4 phases of 1 week", (pb) => pb.phases.map((p) => p.durationDays), [7, 7, 7, 7]],
    [
      "weeks 1, 2, 3, 4",
      (pb) => pb.phases.map((p) => weeksOf(pb, p.id)),
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
      ],
    ],
    ["5 checklist items per phase", (pb) => pb.phases.map((p) => p.checklist.length), [5, 5, 5, 5]],

    // Technical success criteria.
    [
      "uptime >99.9%",
      (pb) => [success(pb, "uptimePercent").op, success(pb, "uptimePercent").value],
      [">", 99.9],
    ],
    ["p95 latency <200ms", (pb) => success(pb, "p95LatencyMs").value, 200],
    ["p95 <200ms also warns", (pb) => warning(pb, "p95LatencyMs").threshold, 200],
    ["error rate <1%", (pb) => success(pb, "errorRate").value, 1],
    ["success CPU <80%", (pb) => success(pb, "cpuUtilization").value, 80],
    ["success memory <85%", (pb) => success(pb, "memoryUtilization").value, 85],
    ["success disk <90%", (pb) => success(pb, "diskUtilization").value, 90],
    ["db query <50ms", (pb) => success(pb, "dbQueryMs").value, 50],
    ["db query warning 50ms", (pb) => warning(pb, "dbQueryMs").threshold, 50],

    // Business success criteria.
    ["win rate ≥80%", (pb) => [success(pb, "winRate").op, success(pb, "winRate").value], [">=", 80]],
    [
      "R:R ≥1:3",
      (pb) => [success(pb, "riskRewardRatio").op, success(pb, "riskRewardRatio").value],
      [">=", 3],
    ],
    ["max drawdown <5%", (pb) => [success(pb, "maxDrawdown").op, success(pb, "maxDrawdown").value], ["<", 5]],
    ["profit factor ≥2.0", (pb) => success(pb, "profitFactor").value, 2.0],
    ["Sharpe ratio ≥1.5", (pb) => success(pb, "sharpeRatio").value, 1.5],
    [
      "business gates carry the same figures",
      (pb) =>
        ["winRate", "riskRewardRatio", "maxDrawdown", "profitFactor", "sharpeRatio"].map(
          (id) => critical(pb, id).threshold,
        ),
      [80, 3, 5, 2, 1.5],
    ],
    [
      "business gates never roll back",
      (pb) => pb.gates.filter((g) => g.category === "business").map((g) => g.critical?.action),
      ["review", "review", "review", "review", "review"],
    ],

    // Operational success criteria.
    ["deployment success 100%", (pb) => success(pb, "deploymentSuccess").value, 100],
    ["rollback <5 minutes (criterion)", (pb) => success(pb, "rollbackSeconds").value, 300],
    ["monitoring coverage 100%", (pb) => success(pb, "monitoringCoverage").value, 100],
    ["alert response <5 minutes", (pb) => success(pb, "alertResponseMinutes").value, 5],
    ["documentation 100%", (pb) => success(pb, "documentationCoverage").value, 100],
    [
      "alert response within 5 minutes (operations)",
      (pb) => operation(pb, "Monitoring and alerting", /Alert response/).withinMinutes,
      5,
    ],

    // Risk mitigation.
    [
      "system failure: automated rollback within 5 minutes",
      (pb) => operation(pb, "Risk mitigation", /System failure/).withinMinutes,
      5,
    ],

    // Transitions.
    [
      "staging → production: technical criteria + rollback <300 s",
      (pb) => transition(pb, "staging-deployment").criteria.map((c) => [c.id, c.op, c.value]),
      [
        ["uptimePercent", ">", 99.9],
        ["p95LatencyMs", "<", 200],
        ["errorRate", "<", 1],
        ["cpuUtilization", "<", 80],
        ["memoryUtilization", "<", 85],
        ["diskUtilization", "<", 90],
        ["dbQueryMs", "<", 50],
        ["rollbackSeconds", "<", 300],
      ],
    ],
    [
      "production → post-deployment: the technical criteria, resources included",
      (pb) => transition(pb, "production-deployment").criteria.map((c) => [c.id, c.op, c.value]),
      [
        ["uptimePercent", ">", 99.9],
        ["p95LatencyMs", "<", 200],
        ["errorRate", "<", 1],
        ["cpuUtilization", "<", 80],
        ["memoryUtilization", "<", 85],
        ["diskUtilization", "<", 90],
        ["dbQueryMs", "<", 50],
      ],
    ],
    [
      "every transition needs all criteria",
      (pb) => pb.transitions.map((t) => t.rule.type),
      ["all", "all", "all"],
    ],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Operators, actions and sustain windows: the figures above say "which number"; these tables say
// what happens at it. Each row is the whole level, so flipping an operator, an action or a window
// fails by gate.

type LevelRow = [threshold: number, sustainSeconds: number, action: string, notify?: string] | null;

function levelRow(level: Playbook["gates"][number]["warning"]): LevelRow {
  if (!level) return null;
  return level.notify
    ? [level.threshold, level.sustainSeconds, level.action, level.notify]
    : [level.threshold, level.sustainSeconds, level.action];
}

const gateTable = (pb: Playbook) =>
  pb.gates.map((g) => [g.id, g.breachWhen, levelRow(g.warning), levelRow(g.critical)]);
const successTable = (pb: Playbook) => pb.successCriteria.map((c) => [c.id, c.category, c.op, c.value]);
const procedureTable = (pb: Playbook) =>
  pb.rollback.procedure.map((b) => [b.name, b.fromMinute ?? null, b.toMinute ?? null, b.steps]);
const checklists = (pb: Playbook) => pb.phases.map((p) => [p.id, p.checklist]);

describe(`${TBS}: operators, actions, sustain windows and texts`, () => {
  assertRows(TBS, [
    [
      "every gate: [id, breach direction, warning [threshold, sustain, action, notify], critical]",
      gateTable,
      [
        // -20% alert / -25% auto rollback, "sustained for 10 minutes".
        ["rowsPerSecond", "below", [29842, 600, "alert"], [27977, 600, "auto-rollback"]],
        // 3.0% monitoring alert / 5.0% auto rollback "for 5 consecutive minutes".
        ["errorRate", "above", [3, 300, "alert"], [5, 300, "auto-rollback"]],
        // Green down, seen by the ALB: no healthy target for 2 minutes; connection failures as the error rate.
        ["healthyHosts", "below", null, [1, 120, "auto-rollback"]],
        ["albGeneratedErrors", "above", null, [5, 300, "auto-rollback"]],
        // >250ms / >300ms "sustained >5min".
        ["p95ResponseMs", "above", [250, 300, "alert"], [300, 300, "auto-rollback"]],
        ["sessionSuccessRate", "below", [90, 300, "alert"], [85, 300, "auto-rollback"]],
        ["cpuUtilization", "above", [85, 600, "alert"], [95, 300, "auto-rollback"]],
        // 90% "immediate alert": one minute, to the critical topic.
        ["memoryUtilization", "above", [90, 60, "alert", "critical"], [95, 300, "auto-rollback"]],
        // 80% "scaling alert".
        ["dbConnectionPoolUtilization", "above", [80, 300, "scale"], null],
        // 15% free space minimum: an alert, never a rollback.
        ["diskFreePercent", "below", null, [15, 300, "alert"]],
        // ">3 in 1 minute".
        ["dbConnectionFailures", "above", null, [3, 60, "auto-rollback"]],
        // 99.9% over a 24 h period.
        ["uptimePercent", "below", null, [99.9, 86400, "review"]],
        // 70% "threshold for phase hold".
        ["userSatisfaction", "below", null, [70, 86400, "phase-hold"]],
        // 2 per day "-> IMMEDIATE REVIEW".
        ["criticalBugsPerDay", "above", null, [2, 86400, "review"]],
        ["pilotUsersAffectedPercent", "above", null, [50, 86400, "review"]],
        ["dataIntegrityErrors", "above", null, [0, 60, "auto-rollback"]],
      ],
    ],
    [
      "Automated Response Matrix, every row with operators and action",
      (pb) =>
        pb.responseMatrix.map((r) => [
          r.metric,
          r.gates,
          [r.warning.op, r.warning.value],
          [r.critical.op, r.critical.value],
          r.action,
        ]),
      [
        ["Performance", ["rowsPerSecond"], ["<", 80], ["<", 75], "Auto Rollback"],
        ["Error Rate", ["errorRate"], [">", 3], [">", 5], "Auto Rollback"],
        ["Response Time", ["p95ResponseMs"], [">", 250], [">", 300], "Auto Rollback"],
        ["Resource Usage", ["cpuUtilization", "memoryUtilization"], [">", 80], [">", 90], "Scale/Alert"],
        ["User Sessions", ["sessionSuccessRate"], ["<", 90], ["<", 85], "Auto Rollback"],
      ],
    ],
    [
      "Deployment Success Metrics with operators",
      successTable,
      [
        ["rowsPerSecond", "deployment", ">=", 33573],
        ["uptimePercent", "deployment", ">=", 99.9],
        ["errorRate", "deployment", "<", 5],
        ["rollbackMinutes", "deployment", "<", 15],
        ["userSatisfaction", "deployment", ">=", 80],
      ],
    ],
    [
      "phase rollback triggers: [phase, gate, op, value] in document order",
      (pb) =>
        pb.phases.flatMap((p) =>
          p.rollbackTriggers.map((t) => [p.id, t.gate ?? null, t.op ?? null, t.value ?? null]),
        ),
      [
        ["internal", null, null, null],
        ["internal", "dataIntegrityErrors", ">", 0],
        ["internal", "rowsPerSecond", "<", 33573],
        ["internal", "criticalBugsPerDay", ">", 0],
        ["limited-pilot", "userSatisfaction", "<", 70],
        ["limited-pilot", "rowsPerSecond", "<", 29842],
        ["limited-pilot", "pilotUsersAffectedPercent", ">", 50],
        ["broader-pilot", "rowsPerSecond", "<", 27977],
        ["broader-pilot", "sessionSuccessRate", "<", 90],
        ["broader-pilot", "errorRate", ">", 5],
        ["broader-pilot", "cpuUtilization", ">", 95],
        ["broader-pilot", "memoryUtilization", ">", 95],
      ],
    ],
    [
      "15-minute rollback procedure, every block and bullet word for word",
      procedureTable,
      [
        [
          "Trigger Identification",
          0,
          2,
          [
            "Automated detection: system monitoring identifies rollback trigger",
            "Manual validation: on-call engineer validates rollback necessity",
            "Stakeholder notification: immediate alert to deployment team",
            "Documentation: incident logging with timestamp and trigger reason",
          ],
        ],
        [
          "Traffic Routing",
          2,
          5,
          [
            "Load balancer switch: redirect all traffic back to Blue environment",
            "Connection draining: graceful closure of Green environment connections",
            "Session preservation: maintain user sessions during transition",
            "Health verification: confirm Blue environment stability",
          ],
        ],
        [
          "Database State Management",
          5,
          10,
          [
            "Transaction verification: ensure all pending transactions complete",
            "Data synchronization: sync any critical data changes",
            "Integrity checks: validate data consistency across systems",
            "Backup restoration: restore from checkpoint if necessary",
          ],
        ],
        [
          "User Session Restoration",
          10,
          12,
          [
            "Session migration: transfer active sessions to Blue environment",
            "Authentication validation: verify user access and permissions",
            "State preservation: maintain user context and current workflows",
            "Performance verification: confirm system responsiveness",
          ],
        ],
        [
          "Final Validation",
          12,
          15,
          [
            "Health check execution: comprehensive system functionality validation",
            "User notification: inform affected users of system restoration",
            "Monitoring reset: restore normal monitoring and alerting",
            "Documentation update: complete incident report and lessons learned",
          ],
        ],
      ],
    ],
    [
      "Deployment Playbook Checklist, word for word",
      checklists,
      [
        [
          "preparation",
          [
            "Blue-green infrastructure configured and tested",
            "Monitoring and alerting systems integrated",
            "User selection completed and communicated",
            "Training materials created and reviewed",
            "Rollback procedures tested and validated",
            "Emergency response team assigned and trained",
            "Stakeholder communication plan activated",
          ],
        ],
        [
          "internal",
          [
            "Green environment deployed successfully",
            "Internal team access configured",
            "Daily performance monitoring active",
            "Issue tracking system operational",
            "Data integrity validation complete",
            "Performance baseline confirmed",
            "Phase 2 readiness assessment complete",
          ],
        ],
        [
          "limited-pilot",
          [
            "Pilot users onboarded successfully",
            "Training completion verified for all users",
            "Weekly feedback collection active",
            "Performance monitoring expanded",
            "User satisfaction surveys distributed",
            "Issue resolution tracking operational",
            "Phase 3 readiness assessment complete",
          ],
        ],
        [
          "broader-pilot",
          [
            "Full pilot user base onboarded",
            "Concurrent usage monitoring active",
            "Load testing under real conditions complete",
            "User adoption metrics tracked",
            "System resource monitoring validated",
            "Support procedures tested and refined",
            "Phase 4 readiness assessment complete",
          ],
        ],
        [
          "readiness",
          [
            "Comprehensive performance analysis complete",
            "User readiness validation finished",
            "Operational procedures documented",
            "Risk assessment and mitigation complete",
            "Stakeholder review and decision recorded",
            "Production deployment authorization obtained",
            "Full production rollout plan prepared",
          ],
        ],
        ["full", []],
      ],
    ],
  ]);
});

describe(`${TELEGRAM}: operators, actions, sustain windows and texts`, () => {
  assertRows(TELEGRAM, [
    [
      "every gate: [id, breach direction, warning [threshold, sustain, action, notify], critical]",
      gateTable,
      [
        ["cpuUtilization", "above", null, [80, 300, "alert"]],
        ["memoryUtilization", "above", null, [85, 300, "alert"]],
        ["diskUtilization", "above", null, [90, 300, "alert"]],
        ["p95LatencyMs", "above", [200, 300, "alert"], [1000, 180, "auto-rollback"]],
        ["errorRate", "above", [1, 300, "alert"], [5, 60, "auto-rollback"]],
        // "System Failure: automated rollback within 5 minutes", seen by the ALB.
        ["healthyHosts", "below", null, [1, 120, "auto-rollback"]],
        ["albGeneratedErrors", "above", null, [5, 60, "auto-rollback"]],
        ["queueDepth", "above", null, [1000, 300, "alert"]],
        ["unhealthyServices", "above", null, [0, 60, "alert"]],
        ["criticalErrors", "above", null, [0, 10, "auto-rollback"]],
        ["dataCorruption", "above", null, [0, 10, "auto-rollback"]],
        ["circuitBreakerOpen", "above", null, [0, 30, "auto-rollback"]],
        ["securityEvents", "above", null, [0, 10, "auto-rollback"]],
        ["securityFindings", "above", null, [0, 10, "auto-rollback"]],
        ["uptimePercent", "below", null, [99.9, 86400, "review"]],
        ["dbQueryMs", "above", [50, 300, "alert"], null],
        ["winRate", "below", null, [80, 86400, "review"]],
        ["profitFactor", "below", null, [2, 86400, "review"]],
        ["maxDrawdown", "above", null, [5, 60, "review", "critical"]],
        ["riskRewardRatio", "below", null, [3, 86400, "review"]],
        ["sharpeRatio", "below", null, [1.5, 86400, "review"]],
      ],
    ],
    [
      "technical, business and operational success criteria with operators",
      successTable,
      [
        ["uptimePercent", "technical", ">", 99.9],
        ["p95LatencyMs", "technical", "<", 200],
        ["errorRate", "technical", "<", 1],
        ["cpuUtilization", "technical", "<", 80],
        ["memoryUtilization", "technical", "<", 85],
        ["diskUtilization", "technical", "<", 90],
        ["dbQueryMs", "technical", "<", 50],
        ["winRate", "business", ">=", 80],
        ["riskRewardRatio", "business", ">=", 3],
        ["maxDrawdown", "business", "<", 5],
        ["profitFactor", "business", ">=", 2],
        ["sharpeRatio", "business", ">=", 1.5],
        ["deploymentSuccess", "operational", "=", 100],
        ["rollbackSeconds", "operational", "<", 300],
        ["monitoringCoverage", "operational", "=", 100],
        ["alertResponseMinutes", "operational", "<", 5],
        ["documentationCoverage", "operational", "=", 100],
      ],
    ],
    [
      "rollback process, its 7 steps word for word",
      procedureTable,
      [
        [
          "Pre-rollback checks",
          null,
          null,
          [
            "Verify backup availability and system state",
            "Pre-rollback script: rollback necessity check, backup verification and integrity, rollback plan creation, resource assessment",
          ],
        ],
        ["Service shutdown", null, null, ["Graceful shutdown of all services"]],
        ["Data restoration", null, null, ["Restore from most recent backup"]],
        ["Code restoration", null, null, ["Restore previous version"]],
        ["Service restart", null, null, ["Start services with previous version"]],
        [
          "Health verification",
          null,
          null,
          [
            "Verify all services are healthy",
            "Post-rollback script: service health, functionality tests, database integrity, performance validation",
          ],
        ],
        ["Post-rollback tasks", null, null, ["Update metadata", "Send notifications (rollback completion)"]],
      ],
    ],
    [
      "rollout timeline checklists, word for word",
      checklists,
      [
        [
          "preparation",
          [
            "Set up production monitoring dashboard",
            "Configure rollback procedures and drills",
            "Create stakeholder sign-off checklists",
            "Prepare deployment scripts and documentation",
            "Conduct rollback drills and testing",
          ],
        ],
        [
          "staging-deployment",
          [
            "Deploy to staging environment",
            "Run comprehensive testing",
            "Validate monitoring and alerting",
            "Test rollback procedures",
            "Gather stakeholder feedback",
          ],
        ],
        [
          "production-deployment",
          [
            "Execute stakeholder sign-off process",
            "Deploy to production environment",
            "Monitor system performance",
            "Validate all functionality",
            "Document lessons learned",
          ],
        ],
        [
          "post-deployment",
          [
            "Monitor system stability",
            "Collect performance metrics",
            "Gather user feedback",
            "Optimize system performance",
            "Plan future improvements",
          ],
        ],
      ],
    ],
  ]);
});

// ---------------------------------------------------------------------------------------------

describe(`${TBS}: transition criteria`, () => {
  const pb = loadPlaybook(TBS);
  const expected = [
    {
      from: "internal",
      to: "limited-pilot",
      failActions: [
        "Fix identified issues with internal team",
        "Repeat Phase 1 until all criteria met",
        "Document lessons learned and process improvements",
      ],
      rule: { type: "all" },
      criteria: [
        ["rowsPerSecond", ">=", 37303],
        ["errorRate", "<", 1],
        ["criticalBugs", "=", 0],
        ["featureParity", "=", 100],
        ["dataDiscrepancies", "=", 0],
      ],
    },
    {
      from: "limited-pilot",
      to: "broader-pilot",
      failActions: [
        "Address specific failing criteria",
        "Consider rollback if fundamental issues identified",
        "Extend Phase 2 by 1 week with focused improvements",
      ],
      rule: { type: "atLeast", count: 3 },
      criteria: [
        ["userSatisfaction", ">=", 80],
        ["rowsPerSecond", ">=", 33573],
        ["errorRate", "<", 3],
        ["workflowTimeRatio", "<=", 1.2],
      ],
    },
    {
      from: "broader-pilot",
      to: "readiness",
      failActions: [
        "Comprehensive rollback to Blue environment",
        "Full assessment of architectural limitations",
        "Major revision cycle before attempting deployment again",
      ],
      rule: { type: "all" },
      criteria: [
        ["concurrentUsers", ">=", 20],
        ["p95ResponseMs", "<", 300],
        ["errorRate", "<", 5],
        ["userAdoption", ">", 85],
        ["cpuUtilization", "<", 85],
        ["memoryUtilization", "<", 90],
      ],
    },
    {
      from: "readiness",
      to: "full",
      failActions: [
        "Maintain Blue environment as primary production",
        "Schedule comprehensive system review",
        "Plan major architectural improvements before next attempt",
      ],
      rule: { type: "all" },
      criteria: [
        ["rowsPerSecond", ">=", 37303],
        ["errorRate", "<", 5],
        ["p95ResponseMs", "<", 300],
        ["trainingCompletion", ">", 95],
        ["operationalReadiness", "=", 1],
        ["riskMitigation", "=", 1],
      ],
    },
  ];

  for (const want of expected) {
    it(`${want.from} → ${want.to}`, () => {
      const t = transition(pb, want.from);
      assert.equal(t.to, want.to);
      assert.deepEqual(t.rule, want.rule);
      assert.deepEqual(
        t.criteria.map((c) => [c.id, c.op, c.value]),
        want.criteria,
      );
      assert.deepEqual(t.failActions, want.failActions);
    });
  }

  it("preparation → internal: the Week 0 checklist as 0/1 evidence, all required", () => {
    const t = transition(pb, "preparation");
    assert.equal(t.to, "internal");
    assert.deepEqual(t.rule, { type: "all" });
    assert.deepEqual(
      t.criteria.map((c) => [c.id, c.op, c.value, c.description]),
      [
        ["infrastructureTested", "=", 1, "Blue-green infrastructure configured and tested"],
        ["monitoringIntegrated", "=", 1, "Monitoring and alerting systems integrated"],
        ["pilotUsersSelected", "=", 1, "User selection completed and communicated"],
        ["trainingMaterialsReviewed", "=", 1, "Training materials created and reviewed"],
        ["rollbackDrillPassed", "=", 1, "Rollback procedures tested and validated"],
        ["emergencyTeamAssigned", "=", 1, "Emergency response team assigned and trained"],
        ["stakeholderCommunicationActivated", "=", 1, "Stakeholder communication plan activated"],
      ],
    );
    assert.deepEqual(
      t.criteria.map((c) => c.description),
      phase(pb, "preparation").checklist,
      "one criterion per Week 0 checklist item",
    );
    assert.deepEqual(t.failActions, []);
  });

  it("one transition per adjacent pair of phases, in order", () => {
    assert.deepEqual(
      pb.transitions.map((t) => `${t.from}>${t.to}`),
      pb.phases.slice(1).map((p, i) => `${pb.phases[i]?.id}>${p.id}`),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed playbooks: the TBS playbook with one field broken. The error must name the exact key
// path and say what was expected, so whoever edits the YAML can fix it from the message alone.

type Doc = Record<string, any>;

const TBS_GATES =
  "rowsPerSecond, errorRate, healthyHosts, albGeneratedErrors, p95ResponseMs, sessionSuccessRate, cpuUtilization, memoryUtilization, " +
  "dbConnectionPoolUtilization, diskFreePercent, dbConnectionFailures, uptimePercent, userSatisfaction, " +
  "criticalBugsPerDay, pilotUsersAffectedPercent, dataIntegrityErrors";

const malformed: [name: string, breakIt: (doc: Doc) => void, line: string][] = [
  [
    "a threshold that is not a number",
    (doc) => (doc.gates[0].critical.threshold = "27977"),
    'gates[0].critical.threshold: expected number, got "27977"',
  ],
  [
    "an unknown gate action",
    (doc) => (doc.gates[0].critical.action = "page"),
    'gates[0].critical.action: expected one of auto-rollback, alert, scale, phase-hold, review, got "page"',
  ],
  [
    "an unknown metric source",
    (doc) => (doc.gates[0].metric.source = "prometheus"),
    'gates[0].metric.source: expected one of alb, container-insights, custom, manual, guardduty, security-event, got "prometheus"',
  ],
  [
    "a transition to a non-adjacent phase",
    (doc) => (doc.transitions[1].to = "broader-pilot"),
    'transitions[1].to: expected the phase after internal (limited-pilot), got "broader-pilot"',
  ],
  [
    "a trigger naming an unknown gate",
    (doc) => (doc.rollback.triggers[0].gates[0] = "throughput"),
    "rollback.triggers[0].gates[0]: expected a gate id (rowsPerSecond, errorRate, healthyHosts, albGeneratedErrors, p95ResponseMs,",
  ],
  [
    "a duplicate phase id",
    (doc) => (doc.phases[2].id = "internal"),
    'phases[2].id: expected unique phase ids, "internal" repeats (first at index 1), got "internal"',
  ],
  [
    "a sign-off role that is not defined",
    (doc) => (doc.signoff.requiredByPhase.internal = ["devopsEngineer", "cto"]),
    'signoff.requiredByPhase.internal[1]: expected a role id (devopsEngineer, qaEngineer, productManager, supportEngineer, engineeringManager, seniorDeveloper), got "cto"',
  ],
  [
    "sign-off for a phase that does not exist",
    (doc) => (doc.signoff.requiredByPhase.pilot = []),
    "signoff.requiredByPhase.pilot: expected a phase id (preparation, internal, limited-pilot, broader-pilot, readiness, full), got []",
  ],
  [
    "a first phase that takes traffic",
    (doc) => (doc.phases[0].trafficCapPercent = 5),
    "phases[0].trafficCapPercent: expected 0: the first phase is blue-only, got 5",
  ],
  [
    "a traffic cap above 100",
    (doc) => (doc.phases[3].trafficCapPercent = 150),
    "phases[3].trafficCapPercent: expected number to be <=100, got 150",
  ],
  [
    "an atLeast count above the number of criteria",
    (doc) => (doc.transitions[2].rule.count = 5),
    "transitions[2].rule.count: expected rule.count to be at most the number of criteria, got 5",
  ],
  [
    "an unknown decision rule",
    (doc) => (doc.transitions[2].rule = { type: "majority" }),
    'transitions[2].rule.type: expected one of all, atLeast, got "majority"',
  ],
  [
    "an unknown comparator",
    (doc) => (doc.transitions[1].criteria[1].op = "<<"),
    'transitions[1].criteria[1].op: expected one of >=, >, <=, <, =, got "<<"',
  ],
  [
    "a gate id that is not camelCase",
    (doc) => (doc.gates[1].id = "error_rate"),
    'gates[1].id: expected a camelCase id such as errorRate, got "error_rate"',
  ],
  [
    "a missing sustainSeconds",
    (doc) => delete doc.gates[0].warning.sustainSeconds,
    "gates[0].warning.sustainSeconds: expected number, got nothing",
  ],
  [
    "an unknown extra key",
    (doc) => (doc.gates[0].thresholdPercent = 80),
    "gates[0].thresholdPercent: unknown key (a typo?), got 80",
  ],
  [
    "an unknown missingData treatment",
    (doc) => (doc.gates[0].missingData = "treatAsZero"),
    'gates[0].missingData: expected one of missing, notBreaching, breaching, ignore, got "treatAsZero"',
  ],
  [
    "a gate with neither a warning nor a critical level",
    (doc) => delete doc.gates[8].warning,
    "gates[8]: expected a warning or a critical level, got {",
  ],
  [
    "a phase of zero days",
    (doc) => (doc.phases[1].durationDays = 0),
    "phases[1].durationDays: expected number to be >0, got 0",
  ],
  [
    "a duplicate gate id",
    (doc) => (doc.gates[4].id = "errorRate"),
    'gates[4].id: expected unique gate ids, "errorRate" repeats (first at index 1), got "errorRate"',
  ],
  [
    "a phase left out of the sign-off requirements",
    (doc) => delete doc.signoff.requiredByPhase.readiness,
    "signoff.requiredByPhase.readiness: expected the list of role ids phase readiness needs (write [] when it needs none), got nothing",
  ],
  [
    "a phase rollback trigger naming an unknown gate",
    (doc) => (doc.phases[1].rollbackTriggers[1].gate = "dataIntegrity"),
    `phases[1].rollbackTriggers[1].gate: expected a gate id (${TBS_GATES}), got "dataIntegrity"`,
  ],
  [
    "a response matrix row naming an unknown gate",
    (doc) => (doc.responseMatrix[3].gates[1] = "memory"),
    `responseMatrix[3].gates[1]: expected a gate id (${TBS_GATES}), got "memory"`,
  ],
  [
    "a criterion id twice within one transition",
    (doc) => (doc.transitions[1].criteria[2].id = "errorRate"),
    'transitions[1].criteria[2].id: expected unique criterion ids within a transition, "errorRate" repeats (first at index 1), got "errorRate"',
  ],
  [
    "two transitions out of the same phase",
    (doc) => doc.transitions.push(structuredClone(doc.transitions[1])),
    'transitions[5].from: expected unique transition sources (one transition out of each phase), "internal" repeats (first at index 1), got "internal"',
  ],
  [
    "a trigger id twice",
    (doc) => (doc.rollback.triggers[1].id = "performanceDegradation"),
    'rollback.triggers[1].id: expected unique trigger ids, "performanceDegradation" repeats (first at index 0), got "performanceDegradation"',
  ],
  [
    "a success criterion id twice",
    (doc) => (doc.successCriteria[2].id = "rowsPerSecond"),
    'successCriteria[2].id: expected unique success criterion ids, "rowsPerSecond" repeats (first at index 0), got "rowsPerSecond"',
  ],
  [
    "a role id twice",
    (doc) => (doc.signoff.roles[5].id = "devopsEngineer"),
    'signoff.roles[5].id: expected unique role ids, "devopsEngineer" repeats (first at index 0), got "devopsEngineer"',
  ],
  [
    "more minimum users than maximum",
    (doc) => (doc.phases[2].users = { min: 8, max: 5 }),
    "phases[2].users.max: expected at least min (8), got 5",
  ],
  [
    "days running backwards",
    (doc) => (doc.phases[3].days = { min: 49, max: 22 }),
    "phases[3].days.max: expected at least min (49), got 22",
  ],
  [
    "a warning above the critical level of a gate that breaches above",
    (doc) => (doc.gates[1].warning.threshold = 6),
    "gates[1].warning.threshold: expected a warning threshold at most the critical threshold (5): the gate breaches above it, so the warning must fire first, got 6",
  ],
  [
    "a warning below the critical level of a gate that breaches below",
    (doc) => (doc.gates[0].warning.threshold = 27000),
    "gates[0].warning.threshold: expected a warning threshold at least the critical threshold (27977): the gate breaches below it, so the warning must fire first, got 27000",
  ],
  [
    "a rollback block that ends before it starts",
    (doc) => (doc.rollback.procedure[2].fromMinute = 11),
    "rollback.procedure[2].toMinute: expected at least fromMinute (11), got 10",
  ],
  [
    "a rollback block that ends after the rollback limit",
    (doc) => (doc.rollback.procedure[4].toMinute = 20),
    "rollback.procedure[4].toMinute: expected at most 15 (rollback.limitSeconds 900), got 20",
  ],
  [
    "a trigger limit longer than the playbook's rollback limit",
    (doc) => (doc.rollback.triggers[0].limitSeconds = 1200),
    "rollback.triggers[0].limitSeconds: expected at most rollback.limitSeconds (900): a trigger cannot promise a slower rollback than the playbook, got 1200",
  ],
  [
    "a sustain window shorter than the metric's period",
    (doc) => (doc.gates[0].critical.sustainSeconds = 45),
    "gates[0].critical.sustainSeconds: expected at least 60 s, the metric's own period: a shorter window has no datapoint of its own, got 45",
  ],
  [
    "a sustain window that is not a whole number of periods",
    (doc) => (doc.gates[1].critical.sustainSeconds = 90),
    "gates[1].critical.sustainSeconds: expected a multiple of the alarm period (60 s), or the alarm would wait 120 s, got 90",
  ],
  [
    "a high-resolution sustain window longer than an hour",
    (doc) => {
      doc.gates[15].metric.periodSeconds = 10;
      doc.gates[15].critical.sustainSeconds = 3610;
    },
    "gates[15].critical.sustainSeconds: expected at most 3600 s: CloudWatch evaluates at most an hour of 10 s datapoints, got 3610",
  ],
  [
    "green's healthy hosts do not roll back (a crashed green would be invisible)",
    (doc) => (doc.gates[2].critical.action = "alert"),
    "gates: expected a gate on { source: alb, name: healthyHostCount } whose critical level is auto-rollback: without it a green that cannot answer (crashed or unhealthy targets) is invisible to the automatic rollback",
  ],
  [
    "no gate on ALB-generated errors",
    (doc) => (doc.gates[3].metric = { source: "alb", name: "errorRate" }),
    "gates: expected a gate on { source: alb, name: albGeneratedErrorRate } whose critical level is auto-rollback",
  ],
  [
    "silence-while-serving on an ALB gate",
    (doc) => (doc.gates[1].silenceWhileServing = 0),
    "gates[1].silenceWhileServing: expected only on a custom metric gate (this one is alb): ALB and Container Insights metrics are published by AWS, not by the application",
  ],
  [
    "a backup net naming an unknown gate",
    (doc) => (doc.rollback.triggers[0].backupGates = ["guardDuty"]),
    "rollback.triggers[0].backupGates[0]: expected a gate id (rowsPerSecond, errorRate, healthyHosts,",
  ],
  [
    "a metric period CloudWatch does not have",
    (doc) => (doc.gates[0].metric.periodSeconds = 45),
    "gates[0].metric.periodSeconds: expected 10, 30 or a multiple of 60 up to 86400 (seconds), got 45",
  ],
];

/**
 * CloudWatch PutMetricAlarm's documented limits (awsLimits.ts): the whole message, so the
 * playbook file and the gate's path are asserted with the limit.
 */
const cloudWatchLimits: [name: string, breakIt: (doc: Doc) => void, line: string][] = [
  [
    "datapointsToAlarm above the alarm's evaluation periods",
    (doc) => (doc.gates[1].critical.datapointsToAlarm = 6),
    "gates[1].critical.datapointsToAlarm: expected at most 5, the alarm's evaluation periods (300 s of 60 s periods): CloudWatch alarms on M breaching datapoints out of N periods, M <= N, got 6",
  ],
  [
    "datapointsToAlarm of 0",
    (doc) => (doc.gates[1].warning.datapointsToAlarm = 0),
    "gates[1].warning.datapointsToAlarm: expected number to be >0, got 0",
  ],
  [
    "a window of minute periods longer than a day",
    // 86460 s is no whole number of 5-minute or hourly periods: it keeps 60 s periods.
    (doc) => (doc.gates[9].critical.sustainSeconds = 86460),
    "gates[9].critical.sustainSeconds: expected at most 86400 s: CloudWatch evaluates at most one day, got 86460",
  ],
  [
    "a window of hourly periods longer than seven days",
    (doc) => (doc.gates[9].critical.sustainSeconds = 169 * 3600),
    "gates[9].critical.sustainSeconds: expected at most 604800 s: CloudWatch evaluates at most seven days, got 608400",
  ],
];

describe("playbook alarms CloudWatch would refuse", () => {
  const valid = loadPlaybook(TBS);
  for (const [name, breakIt, line] of cloudWatchLimits) {
    it(name, () => {
      const doc: Doc = structuredClone(valid);
      breakIt(doc);
      assert.throws(() => parsePlaybook(doc, "playbooks/test.yaml"), {
        name: "RolloutInputError",
        message: `invalid playbook playbooks/test.yaml:\n  ${line}`,
      });
    });
  }

  it("accepts 25 h of hourly periods (more than a day), as CloudWatch does", () => {
    const doc: Doc = structuredClone(valid);
    doc.gates[9].critical.sustainSeconds = 25 * 3600;
    assert.equal(parsePlaybook(doc, "test").gates[9]?.critical?.sustainSeconds, 90000);
  });

  it("accepts datapointsToAlarm equal to the evaluation periods", () => {
    const doc: Doc = structuredClone(valid);
    doc.gates[1].critical.datapointsToAlarm = 5;
    assert.equal(parsePlaybook(doc, "test").gates[1]?.critical?.datapointsToAlarm, 5);
  });
});

describe("malformed playbooks name the broken key", () => {
  const valid = loadPlaybook(TBS);

  it("the unbroken clone parses", () => {
    assert.doesNotThrow(() => parsePlaybook(structuredClone(valid), "test"));
  });

  for (const [name, breakIt, line] of malformed) {
    it(name, () => {
      const doc: Doc = structuredClone(valid);
      breakIt(doc);
      assert.throws(
        () => parsePlaybook(doc, "test"),
        (error: unknown) => {
          assert.ok(error instanceof RolloutInputError, `expected a RolloutInputError, got ${String(error)}`);
          assert.ok(error.message.startsWith("invalid playbook test:\n"), error.message);
          assert.ok(
            error.message.includes(line),
            `expected the message to contain\n  ${line}\ngot\n${error.message}`,
          );
          return true;
        },
      );
    });
  }

  it("the loaded playbook itself is not mutated by the cases", () => {
    assert.equal(loadPlaybook(TBS).gates[0]?.critical?.threshold, 27977);
    assert.equal(loadPlaybook(TBS).phases[0]?.trafficCapPercent, 0);
  });
});
