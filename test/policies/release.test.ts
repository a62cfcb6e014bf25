import assert from "node:assert/strict";
import { planWithChanges, type PlanOutcome, type Stack } from "../support/planWithChanges";
import { describe, it } from "node:test";
import { TIER_RELAXED_POLICIES } from "../../policies/rules/rollout";
import { finishRecordProblems, successEvidenceLines, imageIdentity } from "../../rollout/release";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { approvedDecisions } from "../support/evidenceFixtures";

/*
 * rollout-finish-needs-success over the real program: a production (or staging) config derived from
 * the committed stack, planned with `npm run plan --json` (the program under Pulumi's mock engine,
 * then every policy of the pack, with the stack's pack config), the violations asserted whole.
 */

type Outcome = PlanOutcome;

const plan = planWithChanges;

const POLICY = "rollout-finish-needs-success";
const describeOutcome = (o: Outcome) =>
  o.error ?? o.violations.map((v) => `[${v.enforcementLevel}] ${v.policy}: ${v.message}`).join("\n");

/** Every violation of the policy, mandatory, in order. */
function messages(o: Outcome): string[] {
  for (const v of o.violations.filter((v) => v.policy === POLICY))
    assert.equal(v.enforcementLevel, "mandatory", describeOutcome(o));
  return o.violations.filter((v) => v.policy === POLICY).map((v) => v.message);
}

const tbs = loadPlaybook("tbs-strategy-framework");
const PASSING = {
  rowsPerSecond: 34000,
  uptimePercent: 99.95,
  errorRate: 1.2,
  rollbackMinutes: 4,
  userSatisfaction: 86,
};
const finishOf = (evidence: Record<string, number>, fromPhase = "full") => ({
  at: "2026-11-20T10:00:00Z",
  by: "dana.devops",
  fromPhase,
  evidence: successEvidenceLines(tbs, evidence),
});

/** The committed stack's services with blue on green's version: what `finish` writes. */
function promoted(stack: Stack, only?: string[]): unknown[] {
  const services = JSON.parse(loadStackFile(stack).config["rollout:services"]!) as {
    name: string;
    blue: unknown;
    green: unknown;
  }[];
  return services.map((s) => (only && !only.includes(s.name) ? s : { ...s, blue: s.green }));
}

/** Production after `finish`: first phase, decisions and sign-offs archived, blue on green's version. */
const finished = (changes: Record<string, unknown> = {}) =>
  plan("production", {
    phase: "preparation",
    greenWeight: 0,
    decisions: [],
    signoffs: {},
    services: promoted("production"),
    finish: finishOf(PASSING),
    ...changes,
  });

const REMEDY =
  "; a release finishes with `npm run rollout -- finish --stack production --evidence FILE` from phase full, every success criterion met " +
  "(`npm run rollout -- gates --playbook tbs-strategy-framework --success --evidence FILE` checks the evidence)";
const tookGreen = (service: string, refusedAbove = true) =>
  `service ${service}: blue took green's version without a finish: run \`npm run rollout -- finish --stack production --evidence FILE\`` +
  `${refusedAbove ? " (the recorded rollout:finish is refused above)" : ""}, or set rollout:services[].blue back to the version blue ran`;

describe("rollout-finish-needs-success", () => {
  it("a proper finish passes: the finished state, and the full phase the moment blue took green's version", async () => {
    const after = await finished();
    assert.equal(after.code, 0, describeOutcome(after));
    assert.deepEqual(messages(after), []);
    // Step 1 of `finish`: still in full at 100 %, every GO and sign-off in place, blue on green's version.
    const people = {
      devopsEngineer: "dana.devops",
      qaEngineer: "quinn.qa",
      productManager: "pat.product",
      engineeringManager: "eli.eng",
    };
    const decisions = approvedDecisions(tbs, "full");
    const signoffs = {
      full: Object.fromEntries(
        Object.entries(people).map(([role, approver]) => [role, { approver, at: decisions.at(-1)!.at }]),
      ),
    };
    const during = await plan("production", {
      phase: "full",
      greenWeight: 100,
      decisions,
      signoffs,
      services: promoted("production"),
      finish: finishOf(PASSING),
    });
    assert.equal(during.code, 0, describeOutcome(during));
    assert.deepEqual(messages(during), []);
  });

  it("a finish with a failing criterion", async () => {
    const o = await finished({ finish: finishOf({ ...PASSING, errorRate: 7 }) });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [
      `rollout:finish.evidence: success criterion errorRate fails: 7 is not < 5${REMEDY}`,
      tookGreen("web"),
      tookGreen("api"),
    ]);
  });

  it("a finish with a missing criterion", async () => {
    const { userSatisfaction: _, ...withoutSatisfaction } = PASSING;
    const finish = finishOf(withoutSatisfaction);
    // What a hand edit leaves: the line gone altogether.
    finish.evidence = finish.evidence.filter((line) => !line.startsWith("userSatisfaction"));
    const o = await finished({ finish });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [
      `rollout:finish.evidence: success criterion userSatisfaction is not measured; every success criterion needs its evidence${REMEDY}`,
      tookGreen("web"),
      tookGreen("api"),
    ]);
  });

  it("a finish from a phase other than the last", async () => {
    const o = await finished({ finish: finishOf(PASSING, "readiness") });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [
      `rollout:finish.fromPhase: the release finished from phase readiness, but playbook tbs-strategy-framework ends with full: a release finishes from its last phase${REMEDY}`,
      tookGreen("web"),
      tookGreen("api"),
    ]);
  });

  it("blue on green's version without a finish", async () => {
    const o = await plan("production", { services: promoted("production", ["api"]) });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [tookGreen("api", false)]);
  });

  it("blue on green's image spelled another way (the tag dropped beside the same digest): still green's version", async () => {
    const services = (
      JSON.parse(loadStackFile("production").config["rollout:services"]!) as {
        name: string;
        blue: { image: string; port: number };
        green: { image: string; port: number };
      }[]
    ).map((s) =>
      s.name === "api" ? { ...s, blue: { ...s.green, image: s.green.image.replace(/:[^:/@]+@/, "@") } } : s,
    );
    assert.notEqual(
      (services.find((s) => s.name === "api")!.blue as { image: string }).image,
      (services.find((s) => s.name === "api")!.green as { image: string }).image,
    );
    const o = await plan("production", { services });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [tookGreen("api", false)]);
  });

  it("a valid-looking finish record in a pilot phase (copied from history, or written by hand): refused", async () => {
    const o = await plan("production", { services: promoted("production"), finish: finishOf(PASSING) });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [
      `rollout:finish is set in phase limited-pilot at greenWeight 0 %: a finish holds only in full (while blue takes green's version) or in preparation at 0 % (after it)${REMEDY}`,
      tookGreen("web"),
      tookGreen("api"),
    ]);
  });

  it("a service the release does not change keeps blue's version on green: no finish needed for it", async () => {
    const release = { number: 2, startedAt: "2026-11-21T10:00:00Z", services: ["api"] };
    // After `start --image api=...`: web's green is blue's version, api's green the new one.
    const started = await plan("production", {
      phase: "preparation",
      greenWeight: 0,
      decisions: [],
      signoffs: {},
      services: promoted("production", ["web"]),
      release,
    });
    assert.equal(started.code, 0, describeOutcome(started));
    assert.deepEqual(messages(started), []);
    // The same release, with api's blue given green's version by hand: refused for api alone.
    const o = await plan("production", {
      phase: "preparation",
      greenWeight: 0,
      decisions: [],
      signoffs: {},
      services: promoted("production"),
      release,
    });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [tookGreen("api", false)]);
  });

  it("staging does not relax it: a rehearsal that promotes blue by hand is refused as in production", async () => {
    assert.ok(!(TIER_RELAXED_POLICIES as readonly string[]).includes(POLICY));
    const o = await plan("staging", { services: promoted("staging", ["web"]) });
    assert.equal(o.code, 1, describeOutcome(o));
    assert.deepEqual(messages(o), [tookGreen("web", false).replace("--stack production", "--stack staging")]);
  });
});

describe("finishRecordProblems: the finish record against the playbook", () => {
  it("recomputes each line (what a line says of itself counts for nothing) and names each problem's key", () => {
    assert.deepEqual(
      finishRecordProblems(tbs, {
        fromPhase: "full",
        evidence: [
          "rowsPerSecond = 34000 (required >= 33573): pass",
          // Says pass, but 99 is not >= 99.9.
          "uptimePercent = 99 (required >= 99.9): pass",
          "errorRate=1",
          "speed = 3 (required >= 1): pass",
          "rowsPerSecond = 35000 (required >= 33573): pass",
          "rollbackMinutes = missing (required < 15): FAIL",
        ],
      }),
      [
        'rollout:finish.evidence[2]: expected "<criterion> = <value> (required <op> <threshold>): pass|FAIL", got "errorRate=1"',
        "rollout:finish.evidence[3]: speed is no success criterion of playbook tbs-strategy-framework; expected one of rowsPerSecond, uptimePercent, errorRate, rollbackMinutes, userSatisfaction",
        "rollout:finish.evidence[4]: rowsPerSecond is recorded twice; expected one line per criterion",
        "rollout:finish.evidence: success criterion uptimePercent fails: 99 is not >= 99.9",
        "rollout:finish.evidence: success criterion errorRate is not measured; every success criterion needs its evidence",
        "rollout:finish.evidence: success criterion rollbackMinutes is not measured; every success criterion needs its evidence",
        "rollout:finish.evidence: success criterion userSatisfaction is not measured; every success criterion needs its evidence",
      ],
    );
  });

  it("an impossible value is refused with its range, as evidence anywhere is", () => {
    assert.deepEqual(
      finishRecordProblems(tbs, {
        fromPhase: "full",
        evidence: successEvidenceLines(tbs, { ...PASSING, uptimePercent: 120 }),
      }),
      [
        "rollout:finish.evidence: evidence uptimePercent = 120 is impossible for a percentage (%): expected 0-100",
      ],
    );
  });

  it("the lines `finish` writes from passing evidence pass", () => {
    assert.deepEqual(successEvidenceLines(tbs, PASSING), [
      "rowsPerSecond = 34000 (required >= 33573): pass",
      "uptimePercent = 99.95 (required >= 99.9): pass",
      "errorRate = 1.2 (required < 5): pass",
      "rollbackMinutes = 4 (required < 15): pass",
      "userSatisfaction = 86 (required >= 80): pass",
    ]);
    assert.deepEqual(
      finishRecordProblems(tbs, { fromPhase: "full", evidence: successEvidenceLines(tbs, PASSING) }),
      [],
    );
  });
});

describe("imageIdentity: what an image reference runs", () => {
  it("the digest when there is one (a tag beside it is ignored), else repository:tag with latest by default; a registry port is no tag", () => {
    assert.equal(imageIdentity("r.example:5000/tbs/web:1.2@sha256:AB"), "r.example:5000/tbs/web@sha256:ab");
    assert.equal(imageIdentity("r.example:5000/tbs/web@sha256:ab"), "r.example:5000/tbs/web@sha256:ab");
    assert.equal(imageIdentity("r.example:5000/tbs/web"), "r.example:5000/tbs/web:latest");
    assert.equal(imageIdentity("tbs/web:latest"), "tbs/web:latest");
    assert.notEqual(imageIdentity("tbs/web:1.2"), imageIdentity("tbs/web:1.3"));
  });
});
