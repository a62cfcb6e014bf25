import assert from "node:assert/strict";
import { planWithChanges, type PlanOutcome } from "../support/planWithChanges";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import * as policyProxy from "@pulumi/policy/proxy";
import { planStack } from "../../cli/offlinePlan";
import { runPoliciesOffline } from "../../policies/offline";
import type { Decision } from "../../rollout/decisions";
import { loadPlaybook, loadStackFile, PLAYBOOK_DIR } from "../../rollout/loaders";
import { parsePlaybook } from "../../rollout/playbook";
import { approvedDecisions, passingEvidence } from "../support/evidenceFixtures";

/*
 * Issue 12, "Guardrails that cannot be walked around": production configs derived from the
 * committed stack that forge a decision or a sign-off, record impossible evidence, or run a
 * playbook other than the committed one. Each is run through `npm run plan` (the offline twin of
 * `pulumi preview --policy-pack`) and must be blocked: exit 2 naming the config key, or exit 1
 * with a named mandatory violation. Copies of the playbook are also run on staging, where a path
 * is allowed, to show the gates policy compares every alarm with the committed playbook.
 */

type Outcome = PlanOutcome;

/** The committed stack file with `rollout:` keys replaced, planned with `npm run plan --json`. */
const plan = planWithChanges;

function describeOutcome(o: Outcome): string {
  return o.error ?? o.violations.map((v) => `[${v.enforcementLevel}] ${v.policy}: ${v.message}`).join("\n");
}

/** Exit 2, with a line starting with `key` that matches `pattern`. */
function assertConfigError(o: Outcome, key: string, pattern: RegExp): void {
  assert.equal(o.code, 2, describeOutcome(o));
  const lines = o.error!.split("\n").map((l) => l.trim());
  assert.ok(
    lines.some((l) => l.startsWith(`${key}:`) && pattern.test(l)),
    `no line "${key}: ..." matching ${pattern} in:\n${o.error}`,
  );
}

/** Exit 1, every mandatory violation of one of `policies`, and one of each policy matching its pattern. */
function assertRefusedBy(o: Outcome, expected: Record<string, RegExp>): void {
  assert.equal(o.code, 1, describeOutcome(o));
  const mandatory = o.violations.filter((v) => v.enforcementLevel === "mandatory");
  assert.deepEqual(
    [...new Set(mandatory.map((v) => v.policy))].sort(),
    Object.keys(expected).sort(),
    describeOutcome(o),
  );
  for (const [policy, pattern] of Object.entries(expected))
    assert.ok(
      mandatory.some((v) => v.policy === policy && pattern.test(v.message)),
      `no ${policy} message matches ${pattern}:\n${describeOutcome(o)}`,
    );
}

const tbs = loadPlaybook("tbs-strategy-framework");
const committedDecisions = JSON.parse(loadStackFile("production").config["rollout:decisions"]!) as Decision[];
const committedSignoffs = JSON.parse(loadStackFile("production").config["rollout:signoffs"]!) as Record<
  string,
  Record<string, { approver: string; at: string }>
>;
const [intoInternal, intoPilot] = committedDecisions as [Decision, Decision];

/** The committed internal -> limited-pilot GO with its evidence lines rewritten. */
const pilotGoWith = (evidence: string[], at = intoPilot.at): Decision[] => [
  intoInternal,
  { ...intoPilot, at, evidence },
];

const TIME_ORDER = "rollout-decisions-in-time-order";
const SOAK = "rollout-phase-minimum-soak";
const DISTINCT = "rollout-signoffs-distinct-approvers";
const AUTO = "gates-auto-rollback-alarms-match-playbook";
const OTHER = "gates-alarms-match-playbook";

describe("the committed stacks satisfy the new rules", () => {
  for (const stack of ["staging", "production"] as const)
    it(`Pulumi.${stack}.yaml: exit 0, no violation at all`, async () => {
      const o = await plan(stack, {});
      assert.equal(o.code, 0, describeOutcome(o));
      assert.deepEqual(o.violations, []);
    });
});

describe("forged decisions and sign-offs in production are refused", () => {
  it("a GO whose evidence lines all say FAIL: exit 2, the evidence gives NO-GO", async () => {
    const failing = [
      "rowsPerSecond = 30000 (required >= 37303): FAIL",
      "errorRate = 7 (required < 1): FAIL",
      "criticalBugs = 3 (required = 0): FAIL",
      "featureParity = 90 (required = 100): FAIL",
      "dataDiscrepancies = 2 (required = 0): FAIL",
    ];
    assertConfigError(
      await plan("production", { decisions: pilotGoWith(failing) }),
      "rollout:decisions[1]",
      /^rollout:decisions\[1\]: a GO for internal -> limited-pilot, but its evidence gives NO-GO under rule ALL 5 \(0 of 5 passed, 5 required: 30000 is not >= 37303; 7 is not < 1; 3 is not = 0; 90 is not = 100; 2 is not = 0\)/,
    );
  });

  it("a GO whose passing values are labelled FAIL: exit 2 at each line that is not what gates --record writes", async () => {
    const relabelled = intoPilot.evidence.map((line) => line.replace(/: pass$/, ": FAIL"));
    const o = await plan("production", { decisions: pilotGoWith(relabelled) });
    assertConfigError(
      o,
      "rollout:decisions[1].evidence[0]",
      /says FAIL, but rowsPerSecond = 37410 passes >= 37303/,
    );
    assert.equal(o.error!.split("\n").filter((l) => /evidence\[\d\]: says FAIL/.test(l)).length, 5);
  });

  it("a GO with no evidence at all: exit 2 naming the criteria it lacks", async () => {
    assertConfigError(
      await plan("production", { decisions: pilotGoWith([]) }),
      "rollout:decisions[1].evidence",
      /records no line for rowsPerSecond, errorRate, criticalBugs, featureParity, dataDiscrepancies/,
    );
  });

  it("a GO whose line claims a looser threshold than the playbook's: exit 2", async () => {
    const looser = intoPilot.evidence.map((line) =>
      line.startsWith("errorRate") ? "errorRate = 7 (required < 10): pass" : line,
    );
    assertConfigError(
      await plan("production", { decisions: pilotGoWith(looser) }),
      "rollout:decisions[1].evidence[1]",
      /says errorRate is required < 10, but playbook internal -> limited-pilot requires < 1/,
    );
  });

  it("a NO-GO overridden by a GO a second later: exit 2, the GO comes a week after at the earliest", async () => {
    const noGo: Decision = {
      ...intoPilot,
      decision: "NO-GO",
      at: "2026-11-02T15:59:59Z",
      evidence: ["errorRate = 7 (required < 1): FAIL"],
    };
    assertConfigError(
      await plan("production", { decisions: [intoInternal, noGo, intoPilot] }),
      "rollout:decisions[2].at",
      /a GO for internal -> limited-pilot 1 s after the NO-GO of rollout:decisions\[1\] \(2026-11-02T15:59:59Z\); .* 7 days later at the earliest \(2026-11-09T15:59:59.000Z\)/,
    );
  });

  it("GOs out of time order (the GO out of internal dated before the GO into it)", async () => {
    const swapped = [
      { ...intoInternal, at: intoPilot.at },
      { ...intoPilot, at: intoInternal.at },
    ];
    assertRefusedBy(await plan("production", { decisions: swapped }), {
      [TIME_ORDER]:
        /^the GO for internal -> limited-pilot \(2026-10-26T16:00:00Z\) is not after the GO that entered internal \(preparation -> internal, 2026-11-02T16:00:00Z\)/,
    });
  });

  it("every GO at the same instant", async () => {
    const sameInstant = [intoInternal, { ...intoPilot, at: intoInternal.at }];
    assertRefusedBy(await plan("production", { decisions: sameInstant }), {
      [TIME_ORDER]:
        /^the GO for internal -> limited-pilot \(2026-10-26T16:00:00Z\) is not after the GO that entered internal/,
    });
  });

  it("a GO dated in the future", async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    assertRefusedBy(await plan("production", { decisions: pilotGoWith(intoPilot.evidence, tomorrow) }), {
      [TIME_ORDER]: new RegExp(
        `^the GO decision for internal -> limited-pilot is dated ${tomorrow}, in the future`,
      ),
    });
  });

  it("a GO one second after the phase began (internal soaks 7 days)", async () => {
    assertRefusedBy(
      await plan("production", { decisions: pilotGoWith(intoPilot.evidence, "2026-10-26T16:00:01Z") }),
      {
        [SOAK]:
          /^the GO for internal -> limited-pilot \(2026-10-26T16:00:01Z\) came 1 s after internal began \(GO preparation -> internal, 2026-10-26T16:00:00Z\), but playbook tbs-strategy-framework requires internal to run at least 7 days first \(minimumDays\); record the GO no earlier than 2026-11-02T16:00:00.000Z/,
      },
    );
  });

  it("readiness entered after 21 days of broader pilot (it soaks 28: weeks 4-7)", async () => {
    const decisions = approvedDecisions(tbs, "readiness");
    const last = decisions.at(-1)!;
    last.at = new Date(Date.parse(last.at) - 7 * 86_400_000).toISOString();
    const people = { devopsEngineer: "dana.devops", qaEngineer: "quinn.qa", productManager: "pat.product" };
    const signoffs = {
      readiness: Object.fromEntries(
        Object.entries({ ...people, engineeringManager: "eli.eng" }).map(([role, approver]) => [
          role,
          { approver, at: last.at },
        ]),
      ),
    };
    assertRefusedBy(await plan("production", { phase: "readiness", greenWeight: 10, decisions, signoffs }), {
      [SOAK]:
        /^the GO for broader-pilot -> readiness \(.*\) came 21 days after broader-pilot began .* at least 28 days/,
    });
  });

  it("one person signing every role of the phase", async () => {
    const signoffs = structuredClone(committedSignoffs);
    for (const role of Object.keys(signoffs["limited-pilot"]!))
      signoffs["limited-pilot"]![role]!.approver = "dana.devops";
    assertRefusedBy(await plan("production", { signoffs }), {
      [DISTINCT]:
        /^dana\.devops signed off devopsEngineer, qaEngineer, productManager of phase limited-pilot; each role is a different person's review/,
    });
  });

  it("the same person under another spelling signing two roles", async () => {
    const signoffs = structuredClone(committedSignoffs);
    signoffs["limited-pilot"]!.qaEngineer!.approver = "Dana.Devops";
    assertRefusedBy(await plan("production", { signoffs }), {
      [DISTINCT]: /^dana\.devops signed off devopsEngineer, qaEngineer of phase limited-pilot/,
    });
  });
});

describe("impossible evidence in recorded decisions is refused", () => {
  it("errorRate: -100 in a recorded GO: exit 2 naming the line, the value and the range", async () => {
    const negative = intoPilot.evidence.map((line) => line.replace(/^errorRate = [^ ]+/, "errorRate = -100"));
    assertConfigError(
      await plan("production", { decisions: pilotGoWith(negative) }),
      "rollout:decisions[1].evidence[1]",
      /^rollout:decisions\[1\]\.evidence\[1\]: errorRate = -100 is impossible for a percentage \(%\): expected 0-100$/,
    );
  });

  it("userAdoption: 1000 and p95ResponseMs: -1 in a recorded NO-GO: exit 2 for each (every decision's values are checked)", async () => {
    const noGo: Decision = {
      from: "broader-pilot",
      to: "readiness",
      decision: "NO-GO",
      at: "2026-11-20T10:00:00Z",
      by: "dana.devops",
      evidence: ["userAdoption = 1000 (required > 85): pass", "p95ResponseMs = -1 (required < 300): pass"],
    };
    const o = await plan("production", { decisions: [...committedDecisions, noGo] });
    assertConfigError(
      o,
      "rollout:decisions[2].evidence[0]",
      /userAdoption = 1000 is impossible for a percentage \(%\): expected 0-100/,
    );
    assertConfigError(
      o,
      "rollout:decisions[2].evidence[1]",
      /p95ResponseMs = -1 is impossible for a time \(ms\): expected >= 0/,
    );
  });
});

/** A copy of the committed TBS playbook (same id) with one change, written to a fresh directory. */
function playbookCopy(change: (doc: any) => void): string {
  const doc = yaml.load(fs.readFileSync(path.join(PLAYBOOK_DIR, "tbs-strategy-framework.yaml"), "utf8"));
  change(doc);
  const file = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), "playbook-copy-")),
    "tbs-strategy-framework.yaml",
  );
  fs.writeFileSync(file, yaml.dump(doc));
  return file;
}

const gate = (doc: any, id: string) => (doc.gates as { id: string }[]).find((g) => g.id === id) as any;

const copies: { name: string; change: (doc: any) => void; refusedBy: Record<string, RegExp> }[] = [
  {
    name: "a metric nobody publishes",
    change: (doc) => (gate(doc, "rowsPerSecond").metric.name = "RowsProcessed"),
    refusedBy: {
      [AUTO]:
        /^alarm staging-rowsPerSecond-critical has metricQueries\[gate\]\.metric\.metricName RowsProcessed, but playbook tbs-strategy-framework requires RowsPerSecond/,
      [OTHER]:
        /^alarm staging-rowsPerSecond-warning has metricQueries\[gate\]\.metric\.metricName RowsProcessed, but .* requires RowsPerSecond/,
    },
  },
  {
    name: "another statistic",
    change: (doc) => (gate(doc, "rowsPerSecond").metric.statistic = "Maximum"),
    refusedBy: {
      [AUTO]:
        /^alarm staging-rowsPerSecond-critical has metricQueries\[gate\]\.metric\.stat Maximum, but .* requires Average/,
      [OTHER]: /^alarm staging-rowsPerSecond-warning has metricQueries\[gate\]\.metric\.stat Maximum/,
    },
  },
  {
    name: "another missing-data treatment (on a warning-only gate)",
    change: (doc) => (gate(doc, "dbConnectionPoolUtilization").missingData = "notBreaching"),
    refusedBy: {
      [OTHER]:
        /^alarm staging-dbConnectionPoolUtilization-warning has treatMissingData notBreaching, but .* requires missing/,
    },
  },
  {
    name: "notify: info on the error rate's critical level",
    change: (doc) => (gate(doc, "errorRate").critical.notify = "info"),
    refusedBy: {
      [AUTO]:
        /^alarm staging-errorRate-critical-web has alarmActions the info topic, but .* requires the critical topic only \(notify: critical\)/,
    },
  },
];

describe("playbook integrity", () => {
  it("production refuses a playbook by path, even the committed file's own: exit 2 naming rollout:playbook", async () => {
    assertConfigError(
      await plan("production", { playbook: path.join(PLAYBOOK_DIR, "tbs-strategy-framework.yaml") }),
      "rollout:playbook",
      /expected the id of a committed playbook in production \(tbs-strategy-framework, telegram-money-bot\), got the path/,
    );
  });

  for (const copy of copies) {
    it(`production refuses a copy with ${copy.name}: exit 2 naming rollout:playbook`, async () => {
      assertConfigError(
        await plan("production", { playbook: playbookCopy(copy.change) }),
        "rollout:playbook",
        /got the path/,
      );
    });

    it(`staging (paths allowed) runs a copy with ${copy.name}: the gates policy compares it with the committed playbook`, async () => {
      assertRefusedBy(await plan("staging", { playbook: playbookCopy(copy.change) }), copy.refusedBy);
    });
  }
});

describe("the evidence fixtures this file builds on are themselves accepted", () => {
  it("passingEvidence gives GO lines for every TBS transition", () => {
    for (const t of tbs.transitions)
      assert.ok(
        passingEvidence(tbs, t.from).every((l) => l.endsWith(": pass")),
        t.from,
      );
  });
});

describe("the gates policy over the real program's alarms: every field, unknown ones skipped", () => {
  // The engine's sentinel for a string unknown during preview (internal to @pulumi/policy).
  const UNKNOWN = (policyProxy as unknown as { unknownStringValue: string }).unknownStringValue;

  async function editedAlarm(name: string, change: (inputs: Record<string, any>) => void) {
    const result = await planStack(loadStackFile("production"), {}, { revealSecrets: true });
    const resources = structuredClone(result.resources);
    const alarm = resources.find((r) => r.name === name);
    assert.ok(alarm, name);
    change(alarm.inputs);
    return runPoliciesOffline(resources, { stack: "production" });
  }

  it("green's error-rate alarm pointed at blue's target group", async () => {
    const violations = await editedAlarm("gates-errorRate-critical-web", (i) => {
      for (const q of i.metricQueries.filter((q: any) => q.metric))
        q.metric.dimensions.TargetGroup = q.metric.dimensions.TargetGroup.replace(
          "-web-green-",
          "-web-blue-",
        );
    });
    assert.deepEqual(
      violations.map((v) => [v.policy, v.enforcementLevel]),
      [
        [AUTO, "mandatory"],
        [AUTO, "mandatory"],
      ],
    );
    assert.match(
      violations[0]!.message,
      /^alarm production-errorRate-critical-web has metricQueries\[errors\]\.metric\.dimensions\.TargetGroup targetgroup\/production-web-blue-[0-9a-f]+\/[0-9a-f]+, but playbook tbs-strategy-framework requires green's web target group/,
    );
  });

  it("unknown at preview: the unknown dimension and actions are skipped, the threshold still checked", async () => {
    const violations = await editedAlarm("gates-errorRate-critical-web", (i) => {
      i.metricQueries[0].metric.dimensions.TargetGroup = UNKNOWN;
      i.alarmActions = UNKNOWN;
      i.threshold = 10;
    });
    assert.deepEqual(
      violations.map((v) => [v.policy, v.enforcementLevel, v.message.replace(/ \(.*$/, "")]),
      [
        [
          AUTO,
          "mandatory",
          "alarm production-errorRate-critical-web has threshold 10, but playbook tbs-strategy-framework requires 5",
        ],
      ],
    );
  });

  it("the composite without the rollback function among its actions", async () => {
    const violations = await editedAlarm("gates-auto-rollback", (i) => {
      i.alarmActions = i.alarmActions.filter((arn: string) => !arn.includes(":lambda:"));
    });
    assert.deepEqual(
      violations.map((v) => [v.policy, v.message.replace(/;.*$/, "")]),
      [
        [
          "gates-composite-covers-auto-rollback",
          "composite alarm production-auto-rollback does not invoke the rollback function production-auto-rollback",
        ],
      ],
    );
  });
});

describe("minimumDays: each phase's soak, from the documents' timelines", () => {
  it("TBS: Week 0, Week 1, Weeks 2-3, Weeks 4-7, Week 8; full has no GO out. Telegram: a week per phase", () => {
    assert.deepEqual(
      tbs.phases.map((p) => [p.id, p.minimumDays]),
      [
        ["preparation", 7],
        ["internal", 7],
        ["limited-pilot", 14],
        ["broader-pilot", 28],
        ["readiness", 7],
        ["full", 0],
      ],
    );
    assert.deepEqual(
      loadPlaybook("telegram-money-bot").phases.map((p) => p.minimumDays),
      [7, 7, 7, 7],
    );
  });

  it("a phase must declare it, and may not have to soak longer than it lasts", () => {
    const doc = yaml.load(
      fs.readFileSync(path.join(PLAYBOOK_DIR, "tbs-strategy-framework.yaml"), "utf8"),
    ) as any;
    const missing = structuredClone(doc);
    delete missing.phases[1].minimumDays;
    assert.throws(() => parsePlaybook(missing, "copy"), /phases\[1\]\.minimumDays: /);
    const tooLong = structuredClone(doc);
    tooLong.phases[2].minimumDays = 15;
    assert.throws(
      () => parsePlaybook(tooLong, "copy"),
      /phases\[2\]\.minimumDays: expected at most durationDays \(14\): a phase cannot have to soak longer than it is planned to last/,
    );
  });
});
