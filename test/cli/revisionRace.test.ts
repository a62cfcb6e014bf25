import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { planStack } from "../../cli/offlinePlan";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { loadStackFile } from "../../rollout/loaders";
import { RolloutState, stackRevision, staleRevisionProblem } from "../../rollout/state";
import { deployedRecords, FakeBackend, resetAwsMocks, revisionClaims, setup } from "../support/liveStack";

/*
 * Issue 13, "one source of truth": the CLI writes Pulumi.<stack>.yaml in the operator's working
 * copy, CI deploys the committed file. A lost update is a deploy (or a CLI write) from a stack
 * file older than what the stack runs. rollout:revision orders them: the CLI bumps it on every
 * write, the state record carries it, and both the CLI and the policy pack refuse the older file.
 */

beforeEach(resetAwsMocks);

const STALE_STAGING =
  "Pulumi.staging.yaml is at rollout:revision 0, but stack staging runs revision 1: the rollout CLI changed its config since this file was written (a shift, an advance, a sign-off, a decision), and deploying this file would undo that. Pull the newer Pulumi.staging.yaml (git pull) or merge your change into it, then deploy; see docs/config-revisions.md";

/** `pulumi up --policy-pack policies` of a stack file, with the record SSM holds (the mock engine answers the program's read). */
async function deploy(config: Record<string, string>, deployed: { revision: number } | undefined) {
  const file = loadStackFile("staging");
  const result = await planStack(
    { ...file, config: { ...file.config, ...config } },
    { latchParameters: [], ...(deployed && { deployedState: JSON.stringify(deployed) }) },
  );
  const state = result.resources.find((r) => r.name === "rollout-state")!;
  return {
    record: RolloutState.parse(JSON.parse(state.inputs.insecureValue as string)),
    revisionViolations: result.violations.filter((v) => v.policy === "rollout-revision-current"),
  };
}

describe("the lost-update race between the CLI and CI", () => {
  it("an operator's rollback deployed at revision 1, then CI deploys the committed file at revision 0: refused, naming both revisions", async () => {
    // The operator rolls back from their working copy: the CLI writes revision 1 and deploys it.
    const { backend, ctx } = setup("staging");
    const out = bufferOutput();
    const code = await runCli(["rollback", "--stack", "staging", "--reason", "p95 over 300 ms"], out, () => ({
      ...ctx,
      out,
    }));
    assert.equal(code, 0, out.text());
    assert.equal(backend.raw.revision, "1");
    assert.deepEqual(deployedRecords.get("staging"), { revision: 1 });
    // ...and is told exactly what to commit.
    assert.deepEqual(out.lines.slice(-2), [
      "config changed (revision 1): commit it, or the next deploy from main will be refused as older than the stack (rollout-revision-current):",
      // The rollback event went into the release history too (issue 13): it is part of the commit.
      '  git add Pulumi.staging.yaml releases/staging.json && git commit -m "rollout rollback staging (revision 1)"',
    ]);

    // Before that commit lands, CI deploys main's Pulumi.staging.yaml (revision 0, rollback false).
    const stale = await deploy({}, deployedRecords.get("staging"));
    assert.equal(stale.record.revision, 0);
    assert.equal(stale.record.deployedRevision, 1);
    assert.deepEqual(
      stale.revisionViolations.map((v) => [v.enforcementLevel, v.message]),
      [["mandatory", STALE_STAGING]],
    );

    // The operator's commit lands: CI's file is at revision 1 and deploys.
    const current = await deploy(
      { "rollout:revision": "1", "rollout:rollback": "true" },
      deployedRecords.get("staging"),
    );
    assert.equal(current.record.revision, 1);
    assert.equal(current.record.deployedRevision, undefined);
    assert.deepEqual(current.revisionViolations, []);
  });

  it("a second operator on a stale working copy: the CLI refuses to write, exit 1, and nothing is set", async () => {
    const { backend, ctx } = setup("staging");
    // The stack runs revision 1 (someone else's change); this working copy is at 0.
    deployedRecords.set("staging", { revision: 1 });
    const out = bufferOutput();
    const code = await runCli(
      ["signoff", "approve", "--stack", "staging", "--role", "qaEngineer", "--approver", "quinn.qa"],
      out,
      () => ({ ...ctx, out }),
    );
    assert.equal(code, 1);
    assert.deepEqual(out.errors, [`error: refused to change the config: ${STALE_STAGING}`]);
    assert.deepEqual(backend.sets, []);
    // After `git pull` (the file at revision 1) the same sign-off writes revision 2.
    backend.raw.revision = "1";
    const retry = bufferOutput();
    assert.equal(
      await runCli(
        ["signoff", "approve", "--stack", "staging", "--role", "qaEngineer", "--approver", "quinn.qa"],
        retry,
        () => ({ ...ctx, out: retry }),
      ),
      0,
      retry.text(),
    );
    assert.equal(backend.raw.revision, "2");
  });

  it("every write moves past both the file's and the deployed revision", async () => {
    const { backend, ctx } = setup("staging", { revision: "5" });
    deployedRecords.set("staging", { revision: 3 });
    const out = bufferOutput();
    const approve = ["signoff", "approve", "--stack", "staging", "--role", "qaEngineer", "--approver", "q"];
    assert.equal(await runCli(approve, out, () => ({ ...ctx, out })), 0, out.text());
    assert.equal(backend.raw.revision, "6");
  });
});

describe("record-only writes claim their revision (two working copies at the same revision)", () => {
  it("B records a sign-off (revision 1, not deployed); A, still at revision 0, is refused; CI's file at 0 is refused too", async () => {
    // Working copy B: a sign-off is a record, no up. It claims revision 1 in SSM.
    const b = setup("staging");
    const outB = bufferOutput();
    const approve = ["signoff", "approve", "--stack", "staging", "--role", "qaEngineer", "--approver", "q"];
    assert.equal(await runCli(approve, outB, () => ({ ...b.ctx, out: outB })), 0, outB.text());
    assert.equal(b.backend.raw.revision, "1");
    assert.equal(revisionClaims.get("staging"), "1");
    assert.deepEqual(deployedRecords.get("staging"), { revision: 0 });

    // Working copy A (its own file at revision 0, same stack): its shift is refused before anything moves.
    const a = new FakeBackend("staging", { ...b.backend.raw, revision: "0" });
    const outA = bufferOutput();
    const shift = ["shift", "--stack", "staging", "--to", "0", "--step", "10", "--interval", "1m"];
    assert.equal(await runCli(shift, outA, () => ({ ...b.ctx, backend: a, out: outA })), 1);
    assert.deepEqual(outA.errors, [`error: refused to change the config: ${STALE_STAGING}`]);
    assert.deepEqual([a.sets, a.ups], [[], []]);

    // CI deploys main's file (revision 0) before B commits: the program reads the claim beside the record.
    const file = loadStackFile("staging");
    const ci = await planStack(file, {
      latchParameters: [],
      deployedState: JSON.stringify({ revision: 0 }),
      revisionClaim: revisionClaims.get("staging")!,
    });
    assert.deepEqual(
      ci.violations.filter((v) => v.policy === "rollout-revision-current").map((v) => v.message),
      [STALE_STAGING],
    );
  });

  it("stackRevision: the larger of the record's and the claim's; a claim that is no whole number counts for nothing", () => {
    assert.equal(stackRevision(JSON.stringify({ revision: 3 }), "5"), 5);
    assert.equal(stackRevision(JSON.stringify({ revision: 7 }), "5"), 7);
    assert.equal(stackRevision(undefined, "2"), 2);
    assert.equal(stackRevision(JSON.stringify({ revision: 3 }), "five"), 3);
    assert.equal(stackRevision(undefined, undefined), undefined);
  });
});

describe("the program and rollout-revision-current", () => {
  it("a first deploy (no record in SSM) and a record from before revisions (no revision field: 0) pass", async () => {
    assert.deepEqual((await deploy({}, undefined)).revisionViolations, []);
    const legacy = await planStack(loadStackFile("staging"), {
      latchParameters: [],
      deployedState: JSON.stringify({ version: 1, stack: "staging", phase: "internal" }),
    });
    assert.deepEqual(
      legacy.violations.filter((v) => v.policy === "rollout-revision-current"),
      [],
    );
  });

  it("the offline plan reads no record: the revision is not compared (nothing to compare with)", async () => {
    const result = await planStack(loadStackFile("staging"));
    const state = result.resources.find((r) => r.name === "rollout-state")!;
    const record = RolloutState.parse(JSON.parse(state.inputs.insecureValue as string));
    assert.equal(record.revision, 0);
    assert.equal(record.deployedRevision, undefined);
  });

  it("staleRevisionProblem: equal and newer files deploy; an older one is refused", () => {
    assert.equal(staleRevisionProblem("staging", 4, 4), undefined);
    assert.equal(staleRevisionProblem("staging", 5, 4), undefined);
    assert.equal(staleRevisionProblem("staging", 4, undefined), undefined);
    assert.match(
      staleRevisionProblem("staging", 3, 4)!,
      /^Pulumi\.staging\.yaml is at rollout:revision 3, but stack staging runs revision 4:/,
    );
  });
});
