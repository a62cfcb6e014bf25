import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { advanceCommand } from "../../cli/commands/advance";
import type { memoryHistoryStore } from "../../cli/history";
import {
  cloudwatch,
  goDecision,
  INFO_TOPIC,
  latch,
  published,
  resetAwsMocks,
  setup,
  ssm,
} from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout advance", () => {
  it("refuses without a recorded GO, naming the command that records one", async () => {
    const { ctx, out, backend } = setup("staging", { phase: "limited-pilot", greenWeight: "0" });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /no GO decision recorded for limited-pilot -> broader-pilot: `npm run rollout -- gates --stack staging --evidence FILE --record`/,
    );
    assert.deepEqual(backend.ups, []);
  });

  it("refuses in production without the next phase's sign-offs", async () => {
    const { ctx, out } = setup("production", {
      decisions: [
        goDecision("preparation", "internal"),
        goDecision("internal", "limited-pilot"),
        goDecision("limited-pilot", "broader-pilot"),
      ],
    });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /sign-off missing for broader-pilot: supportEngineer \(`npm run rollout -- signoff approve --stack production --role supportEngineer --approver NAME`\)/,
    );
  });

  it("refuses while an alarm fires or the latch is set", async () => {
    const { ctx, out } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: "staging-p95ResponseMs-critical-web" }] });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await advanceCommand({ json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.equal(result.refused, true);
    assert.equal(result.reasons.length, 2);
    assert.match(result.reasons[0], /alarms in ALARM: staging-p95ResponseMs-critical-web/);
    assert.match(result.reasons[1], /latch set by production-auto-rollback/);
  });

  it("sets the next phase, runs up, verifies the ALB and reports the time", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    assert.equal(await advanceCommand({}, ctx), 0);
    assert.equal(backend.raw.phase, "broader-pilot");
    assert.deepEqual(backend.ups, ["broader-pilot/0/false"]);
    assert.match(out.text(), /\[\d\d:\d\d\] advancing staging: limited-pilot -> broader-pilot/);
    assert.match(out.text(), /now in broader-pilot; traffic verified on the ALB \(\d+ s\)/);
    // The advance is kept in the release history and told to the info topic.
    const events = (ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.summary, e.details]),
      [
        [
          "advance",
          "advance staging: limited-pilot -> broader-pilot",
          { from: "limited-pilot", to: "broader-pilot", verified: true },
        ],
      ],
    );
    assert.deepEqual(
      published().map((p) => [p.TopicArn, p.Subject, p.Message!.split("\n")[0]]),
      [[INFO_TOPIC, "[staging] rollout advance", "advance staging: limited-pilot -> broader-pilot"]],
    );
  });

  it("fails when the ALB does not match the plan after up", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    backend.albStuckOnGreen = true;
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(out.text(), /post-deploy check FAILED: web: ALB sends 50 % to green, expected 0 %/);
  });

  it("refuses at the last phase", async () => {
    const { ctx, out } = setup("staging", { phase: "full", greenWeight: "100" });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /full is the last phase of tbs-strategy-framework: once its success criteria are met, `npm run rollout -- finish --stack staging --evidence FILE`/,
    );
  });

  it("refuses once the release finished: the next one starts first", async () => {
    const finish = { at: "2026-11-20T10:00:00Z", by: "dana", fromPhase: "full", evidence: [] };
    const { ctx, out, backend } = setup("staging", {
      phase: "preparation",
      greenWeight: "0",
      decisions: [],
      finish,
    });
    assert.equal(await advanceCommand({ json: true }, ctx), 1);
    assert.deepEqual(JSON.parse(out.text()), {
      command: "advance",
      refused: true,
      reasons: [
        "the release finished at 2026-11-20T10:00:00Z: open the next one first with `npm run rollout -- start --stack staging --image SERVICE=IMAGE`",
        "no GO decision recorded for preparation -> internal: `npm run rollout -- gates --stack staging --evidence FILE --record`",
      ],
      exitCode: 1,
    });
    assert.deepEqual(backend.ups, []);
  });
});
describe("rollout advance (safety)", () => {
  it("refuses while rollout:rollback is true, naming rollback --clear", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      rollback: "true",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /rollout:rollback is true: once green is fixed, `npm run rollout -- rollback --clear --stack staging`/,
    );
    assert.deepEqual(backend.ups, []);
  });

  it("when up fails: restores rollout:phase, says what the ALB serves and the time, exit 1", async () => {
    const { ctx, out, backend } = setup("staging", {
      phase: "limited-pilot",
      greenWeight: "0",
      decisions: [goDecision("limited-pilot", "broader-pilot")],
    });
    backend.upFails = true;
    assert.equal(await advanceCommand({}, ctx), 1);
    assert.equal(backend.raw.phase, "limited-pilot");
    assert.deepEqual(
      backend.sets.map((s) => s.entries),
      // The write carries the next revision (cli/revision.ts); the restore puts back the phase only.
      [{ phase: "broader-pilot", revision: "1" }, { phase: "limited-pilot" }],
    );
    assert.match(out.text(), /advance FAILED after \d+ s: pulumi up failed \(phase broader-pilot\)/);
    assert.match(out.text(), /config: restored rollout:phase to limited-pilot/);
    assert.match(out.text(), /the ALB serves now:\n {2}service/);
    assert.deepEqual(out.errors, [
      "error: advance: pulumi up failed (phase broader-pilot); see the output above",
    ]);
  });
});
