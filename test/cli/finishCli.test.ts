import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  finishCommand,
  finishDryRun,
  TARGET_HEALTH_POLL_MS,
  TARGET_HEALTH_TIMEOUT_MS,
} from "../../cli/commands/finish";
import type { memoryHistoryStore } from "../../cli/history";
import { runCli } from "../../cli/rollout";
import { parseRolloutConfig } from "../../rollout/config";
import { loadPlaybook } from "../../rollout/loaders";
import { approvedDecisions, writeEvidenceFile } from "../support/evidenceFixtures";
import {
  calls,
  cloudwatch,
  fakeTargetGroupArn,
  firing,
  interruptible,
  published,
  resetAwsMocks,
  serveAlb,
  serveTargetHealth,
  setup,
  targetHealthCalls,
} from "../support/liveStack";

// resetAwsMocks also makes every target healthy.
beforeEach(resetAwsMocks);

const tbs = loadPlaybook("tbs-strategy-framework");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finish-"));
const evidenceFile = (name: string, metrics: Record<string, number>) => writeEvidenceFile(dir, name, metrics);
const SUCCESS = {
  rowsPerSecond: 34120,
  uptimePercent: 99.95,
  errorRate: 1.1,
  rollbackMinutes: 3,
  userSatisfaction: 87,
};
const success = evidenceFile("success", SUCCESS);

/** Production in full at 100 %, every GO recorded: where a release finishes. */
function inFull(changes: Record<string, unknown> = {}) {
  return setup("production", {
    phase: "full",
    greenWeight: "100",
    decisions: approvedDecisions(tbs, "full"),
    ...changes,
  });
}

const historyOf = (ctx: Parameters<typeof finishCommand>[1]) =>
  (ctx.history as ReturnType<typeof memoryHistoryStore>).history;

describe("rollout finish: refusals", () => {
  it("from a phase other than the last: exit 1, nothing written, nothing asked of AWS", async () => {
    const { ctx, out, backend } = setup("production");
    assert.equal(await finishCommand({ evidence: success, json: true }, ctx), 1);
    assert.deepEqual(JSON.parse(out.text()), {
      command: "finish",
      refused: true,
      reasons: [
        "phase limited-pilot: a release finishes from the last phase of tbs-strategy-framework, full; advance there first (`npm run rollout -- advance --stack production`)",
      ],
      exitCode: 1,
    });
    assert.deepEqual([backend.sets, backend.ups, calls], [[], [], []]);
  });

  it("names every failing and missing criterion, green not at 100 % (config and ALB), and a missing GO in production", async () => {
    const { ctx, out, backend } = inFull({
      greenWeight: "90",
      decisions: approvedDecisions(tbs, "readiness"),
    });
    const { userSatisfaction: _, ...withoutSatisfaction } = SUCCESS;
    const file = evidenceFile("failing", { ...withoutSatisfaction, errorRate: 7 });
    assert.equal(await finishCommand({ evidence: file, json: true }, ctx), 1);
    assert.deepEqual(JSON.parse(out.text()).reasons, [
      "green has greenWeight 90 % in full: blue takes green's version only while it carries no traffic; shift green to 100 first (`npm run rollout -- shift --stack production --to 100`)",
      "no GO decision recorded for readiness -> full: production finishes a release that entered full on a recorded GO (`npm run rollout -- gates --stack production --evidence FILE --record` in readiness)",
      `success criterion errorRate fails: 7 is not < 5 (${file})`,
      `success criterion userSatisfaction is not measured: ${file} has no value for it`,
      "the ALB sends 90 % of web's general traffic to green, not 100 %: blue takes green's version only while it carries no traffic (`npm run rollout -- status --stack production`)",
      "the ALB sends 90 % of api's general traffic to green, not 100 %: blue takes green's version only while it carries no traffic (`npm run rollout -- status --stack production`)",
    ]);
    assert.deepEqual([backend.sets, backend.ups], [[], []]);
  });

  it("while an alarm fires, and while the ALB does not serve what config says (an automatic rollback)", async () => {
    const { ctx, out, backend } = inFull();
    cloudwatch.on(DescribeAlarmsCommand).resolves(firing("production-auto-rollback"));
    // The rollback Lambda moved every rule to blue; config still says 100 % green.
    serveAlb({ ...backend.raw, rollback: "true" }, "production");
    assert.equal(await finishCommand({ evidence: success, json: true }, ctx), 1);
    assert.deepEqual(JSON.parse(out.text()).reasons, [
      "alarms in ALARM: production-auto-rollback (rollback) (see `npm run rollout -- status --stack production`)",
      "the ALB sends 0 % of web's general traffic to green, not 100 %: blue takes green's version only while it carries no traffic (`npm run rollout -- status --stack production`)",
      "the ALB sends 0 % of api's general traffic to green, not 100 %: blue takes green's version only while it carries no traffic (`npm run rollout -- status --stack production`)",
    ]);
    assert.deepEqual(backend.sets, []);
  });

  it("bad input exits 2, nothing written: an evidence id that is no success criterion, a lookalike approver, no --evidence", async () => {
    const { ctx, out, backend } = inFull();
    const run = async (argv: string[]) => {
      out.lines.length = 0;
      out.errors.length = 0;
      const code = await runCli(argv, out, () => ctx);
      return [code, out.errors.join("\n")];
    };
    const typo = evidenceFile("typo", { ...SUCCESS, rowsPerSec: 1 });
    assert.deepEqual(await run(["finish", "--stack", "production", "--evidence", typo]), [
      2,
      `error: --evidence: unknown success criterion id "rowsPerSec" in ${typo}; expected rowsPerSecond, uptimePercent, errorRate, rollbackMinutes, userSatisfaction`,
    ]);
    assert.deepEqual(
      await run(["finish", "--stack", "production", "--evidence", success, "--approver", "dаna"]),
      [
        2,
        'error: --approver: expected a name of 1-64 ASCII letters, digits and . _ @ + - such as dana.devops (it is stored in the rollout state parameter, and one person must not pass for two), got "d\u0430na"',
      ],
    );
    assert.deepEqual(await run(["finish", "--stack", "production"]), [
      2,
      "error: --evidence: expected the success criteria's evidence (metrics: {<criterion>: value}), got nothing",
    ]);
    assert.deepEqual([backend.sets, backend.ups], [[], []]);
  });
});

describe("rollout finish: the three steps", () => {
  it("--json: one document; blue takes green's version, is checked healthy, traffic returns, the release is archived", async () => {
    const { ctx, out, backend } = inFull();
    const before = parseRolloutConfig(backend.raw, "production");
    assert.equal(await finishCommand({ evidence: success, approver: "dana.devops", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    const finish = parseRolloutConfig(backend.raw, "production").finish!;
    assert.deepEqual(result, {
      command: "finish",
      stack: "production",
      release: 1,
      finishedAt: finish.at,
      by: "dana.devops",
      fromPhase: "full",
      blue: Object.fromEntries(before.services.map((s) => [s.name, s.green])),
      traffic: "100 % blue",
      phase: "preparation",
      idleGreenReplicas: 0,
      successEvidence: finish.evidence,
      archived: "releases/production.json",
      seconds: result.seconds,
    });
    // The progress went to stderr, stdout holds the one document.
    assert.ok(out.errors.some((e) => /step 2 of 3: traffic back on blue/.test(e)));
    // Each step one config write (its revision), then up; blue's targets read between the two ups.
    assert.deepEqual(
      calls
        .filter((c) => c.startsWith("set ") || c.startsWith("up "))
        .map((c) => c.replace(/=.*?(,revision)/, "=...$1")),
      [
        "set finish=...,revision=1",
        "up full/100/false",
        "set phase=...,revision=2",
        "up preparation/0/false",
      ],
    );
    assert.deepEqual(
      targetHealthCalls().map((c) => c.TargetGroupArn),
      [fakeTargetGroupArn("web", "blue"), fakeTargetGroupArn("api", "blue")],
    );
    assert.deepEqual(backend.removed, ["decisions", "signoffs"]);
    const history = historyOf(ctx);
    assert.equal(history.current, undefined);
    assert.deepEqual(
      history.finished.map((r) => [r.number, r.finishedAt, r.decisions.length, r.events.map((e) => e.kind)]),
      [[1, finish.at, 5, ["finish"]]],
    );
    assert.deepEqual(
      published().map((p) => p.Subject),
      ["[production] rollout finish"],
    );
  });

  it("stops when blue is not healthy in time, says where things stand; run again, it resumes at blue's check", async () => {
    const { ctx, out, backend, sleeps } = inFull();
    const blueWeb = fakeTargetGroupArn("web", "blue");
    serveTargetHealth((arn) => (arn === blueWeb ? ["healthy", "unhealthy"] : ["healthy", "healthy"]));
    assert.equal(await finishCommand({ evidence: success }, ctx), 1);
    // A read every health check interval until the deadline.
    assert.ok(sleeps.length > 0 && sleeps.every((ms) => ms === TARGET_HEALTH_POLL_MS), sleeps.join(" "));
    assert.ok(sleeps.length <= TARGET_HEALTH_TIMEOUT_MS / TARGET_HEALTH_POLL_MS, String(sleeps.length));
    const text = out.text();
    assert.match(text, /finish stopped at step 1 of 3: blue's targets are not all healthy after 10 min/);
    assert.match(
      text,
      /\] {3}web\/blue: 1 of 2 targets healthy \(healthy, unhealthy Target\.FailedHealthChecks\)\n.*\] {3}api\/blue: 2 of 2 targets healthy\n.*\] {3}green still serves 100 % of the traffic; blue carries none\n/,
    );
    assert.match(
      text,
      /to resume: once blue's pods are healthy \(check them: `kubectl -n tbs get pods -l colour=blue`\), `npm run rollout -- finish --stack production` \(it reads from the config what is done and goes on from there\)/,
    );
    assert.deepEqual([backend.raw.phase, backend.raw.greenWeight], ["full", "100"]);
    assert.equal(parseRolloutConfig(backend.raw, "production").finish!.fromPhase, "full");
    assert.deepEqual(backend.ups, ["full/100/false"]);

    // Blue is fixed: the same command, without --evidence, goes on from blue's check.
    serveTargetHealth();
    out.lines.length = 0;
    assert.equal(await finishCommand({}, ctx), 0);
    assert.match(
      out.text(),
      /resuming the finish of production recorded at .* \(step 1 of 3: blue's health\)/,
    );
    assert.deepEqual(backend.ups, ["full/100/false", "full/100/false", "preparation/0/false"]);
    assert.equal(historyOf(ctx).finished.length, 1);
  });

  it("Ctrl-C while waiting for blue: stops at once with the same account of where things stand", async () => {
    const { ctx, out } = inFull();
    serveTargetHealth(() => ["initial"]);
    interruptible(ctx, 1);
    assert.equal(await finishCommand({ evidence: success }, ctx), 1);
    assert.match(out.text(), /finish stopped at step 1 of 3: interrupted while waiting for blue's targets/);
    assert.match(out.text(), /web\/blue: 0 of 1 targets healthy \(initial Elb\.InitialHealthChecking\)/);
  });

  it("Ctrl-C once blue is healthy: stops before traffic moves, and says so", async () => {
    const { ctx, out, backend } = inFull();
    const controller = interruptible(ctx);
    // The operator presses Ctrl-C while blue's targets are read (healthy at the first read).
    serveTargetHealth(() => {
      controller.abort();
      return ["healthy"];
    });
    assert.equal(await finishCommand({ evidence: success }, ctx), 1);
    assert.match(out.text(), /blue is healthy on green's version/);
    assert.match(out.text(), /finish stopped at step 2 of 3: interrupted before traffic returned to blue/);
    assert.deepEqual(backend.ups, ["full/100/false"]);
  });

  it("a failed up at step 2 keeps the config (traffic goes to a healthy blue); run again, it redoes step 2 and archives once", async () => {
    const { ctx, out, backend } = inFull();
    backend.failingUps = [2];
    assert.equal(await finishCommand({ evidence: success }, ctx), 1);
    assert.match(
      out.text(),
      /config: rollout:phase is preparation at greenWeight 0 and the release's decisions and sign-offs are archived in releases\/production\.json; run `npm run rollout -- finish --stack production`/,
    );
    assert.deepEqual([backend.raw.phase, backend.raw.greenWeight], ["preparation", "0"]);
    assert.equal(historyOf(ctx).current!.decisions.length, 5);
    out.lines.length = 0;
    assert.equal(await finishCommand({ evidence: success }, ctx), 0);
    assert.match(out.text(), /\(step 2 of 3: traffic back on blue\)/);
    assert.match(
      out.text(),
      /--evidence .* is not used: rollout:finish keeps the evidence the finish was decided on/,
    );
    assert.deepEqual(backend.ups, ["full/100/false", "preparation/0/false", "preparation/0/false"]);
    const history = historyOf(ctx);
    assert.deepEqual(
      history.finished.map((r) => [r.number, r.decisions.length, r.events.map((e) => e.kind)]),
      [[1, 5, ["finish"]]],
    );
    // Finished: a third run has nothing to do.
    out.lines.length = 0;
    assert.equal(await finishCommand({}, ctx), 0);
    assert.match(
      out.text(),
      /^release 1 of production finished at .*: nothing left to do; open the next with `npm run rollout -- start --stack production --image SERVICE=IMAGE`$/,
    );
    assert.equal(backend.ups.length, 3);
  });
});

describe("rollout finish: a resume is checked again", () => {
  it("a rollback set after a stopped finish refuses its resume: nothing is archived, blue is not declared the release", async () => {
    const { ctx, out, backend } = inFull();
    backend.failingUps = [1];
    assert.equal(await finishCommand({ evidence: success }, ctx), 1);
    // The operator rolls back green's version before resuming.
    backend.raw.rollback = "true";
    out.lines.length = 0;
    assert.equal(await finishCommand({}, ctx), 1);
    assert.deepEqual(out.lines, [
      "finish (resume) refused:",
      "  - rollout:rollback is true: once green is fixed, `npm run rollout -- rollback --clear --stack production`",
    ]);
    assert.deepEqual(historyOf(ctx).finished, []);
    assert.deepEqual(backend.ups, ["full/100/false"]);
  });
});

describe("rollout finish --dry-run", () => {
  it("prints the config change key by key, from the stack file, and asks neither Pulumi nor AWS", async () => {
    const { ctx, out, backend } = inFull();
    const raw = { ...backend.raw };
    const config = parseRolloutConfig(raw, "production");
    backend.getRolloutConfig = () => assert.fail("the dry run asked Pulumi");
    assert.equal(await finishDryRun({ evidence: success, approver: "dana.devops" }, ctx, { raw, config }), 0);
    const [web, api] = config.services;
    assert.deepEqual(out.lines, [
      "finish --dry-run on production, from Pulumi.production.yaml (nothing is changed):",
      `  rollout:finish: (unset) -> {"at":"2026-11-22T10:00:02.000Z","by":"dana.devops","fromPhase":"full","evidence":["rowsPerSecond = 34120 (required >= 33573): pass","uptimePercent = 99.95 (required >= 99.9): pass","errorRate = 1.1 (required < 5): pass","rollbackMinutes = 3 (required < 15): pass","userSatisfaction = 87 (required >= 80): pass"]}`,
      `  rollout:services[0].blue.image: ${web!.blue.image} -> ${web!.green.image}`,
      "  rollout:services[0].blue.port: 8000 -> 3000",
      `  rollout:services[1].blue.image: ${api!.blue.image} -> ${api!.green.image}`,
      "  rollout:phase: full -> preparation",
      "  rollout:greenWeight: 100 -> 0",
      "  rollout:decisions: 5 decisions -> (removed)  (archived in releases/production.json)",
      "  rollout:signoffs: 5 sign-offs (internal, limited-pilot) -> (removed)  (archived in releases/production.json)",
      "  rollout:revision: 0 -> 2  (one per config write, more if the deployed record is newer)",
      "  blue's targets must be healthy before traffic moves",
      "  green's Deployments: 0 pods per service (rollout:idleGreenReplicas)",
      "  releases/production.json: release 1 archived with its versions, decisions, sign-offs, success evidence and events",
      "not checked offline: alarms, the rollback latch, what the ALB serves, target health",
    ]);
    assert.deepEqual([calls, backend.sets, published()], [[], [], []]);
    out.lines.length = 0;
    assert.equal(await finishDryRun({ evidence: success, json: true }, ctx, { raw, config }), 0);
    const json = JSON.parse(out.text());
    assert.deepEqual(
      [json.command, json.dryRun, json.stage, json.release, json.changes.length],
      ["finish", true, "begin", 1, 9],
    );
    assert.deepEqual(json.changes[5], { key: "rollout:greenWeight", before: 100, after: 0 });
    assert.deepEqual(json.changes[6].after, null);
  });

  it("through the CLI: the committed production stack is in limited-pilot, so the dry run is the refusal, exit 1", async () => {
    const { ctx, out, backend } = setup("production");
    backend.getRolloutConfig = () => assert.fail("the dry run asked Pulumi");
    const code = await runCli(
      ["finish", "--stack", "production", "--evidence", success, "--dry-run", "--json"],
      out,
      () => ctx,
    );
    assert.equal(code, 1);
    assert.deepEqual(JSON.parse(out.text()), {
      command: "finish",
      refused: true,
      reasons: [
        "phase limited-pilot: a release finishes from the last phase of tbs-strategy-framework, full; advance there first (`npm run rollout -- advance --stack production`)",
      ],
      exitCode: 1,
    });
    assert.deepEqual(calls, []);
  });
});
