import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { rollbackCommand } from "../../cli/commands/rollback";
import { latch, noLatch, resetAwsMocks, setup, ssm } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout rollback", () => {
  it("rolls back, verifies every service is blue on the ALB and reports time-to-blue against the limit", async () => {
    const { ctx, out, backend } = setup("staging");
    assert.equal(await rollbackCommand({ reason: "p95 above 300 ms", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.equal(result.verified, true);
    assert.equal(result.limitSeconds, 900);
    assert.equal(result.withinLimit, true);
    assert.ok(result.timeToBlueSeconds > 0);
    assert.equal(backend.raw.rollback, "true");
  });

  it("fails when the ALB still sends traffic to green", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.albStuckOnGreen = true;
    assert.equal(await rollbackCommand({ reason: "drill" }, ctx), 1);
    assert.match(out.text(), /NOT on blue: web: 50 % of general traffic still on green/);
  });

  it("requires a reason", async () => {
    const { ctx } = setup("staging");
    await assert.rejects(rollbackCommand({}, ctx), /--reason: expected why you are rolling back/);
  });
});

describe("rollout rollback (more)", () => {
  it("reports a time over the playbook's limit as withinLimit false", async () => {
    const { ctx, out, backend, advanceClock } = setup("staging");
    backend.onUp = () => advanceClock(1000_000);
    assert.equal(await rollbackCommand({ reason: "slow", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.equal(result.withinLimit, false);
    assert.ok(result.timeToBlueSeconds > 1000);
  });

  it("when up fails: rollout:rollback stays true, exit 1 with one line", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.upFails = true;
    assert.equal(await rollbackCommand({ reason: "p95" }, ctx), 1);
    assert.equal(backend.raw.rollback, "true");
    assert.match(out.text(), /config: rollout:rollback stays true/);
    assert.deepEqual(out.errors, ["error: rollback: pulumi up failed (rollback); see the output above"]);
  });

  it("--clear sets rollback false, runs up and verifies the ALB serves the plan again", async () => {
    const { ctx, out, backend } = setup("staging", { rollback: "true" });
    assert.equal(await rollbackCommand({ clear: true }, ctx), 0);
    assert.equal(backend.raw.rollback, "false");
    assert.deepEqual(backend.ups, ["broader-pilot/10/false"]);
    assert.match(out.text(), /rollback cleared; the ALB serves the plan for broader-pilot at 10 %/);
  });

  it("--clear refuses while the latch is set, and does nothing when rollback is already false", async () => {
    const first = setup("staging", { rollback: "true" });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await rollbackCommand({ clear: true }, first.ctx), 1);
    assert.match(first.out.text(), /rollback --clear refused:\n {2}- automatic rollback latch set/);
    assert.deepEqual(first.backend.ups, []);
    noLatch();
    const second = setup("staging");
    assert.equal(await rollbackCommand({ clear: true }, second.ctx), 0);
    assert.match(second.out.text(), /rollout:rollback is already false on staging: nothing to clear/);
    assert.deepEqual(second.backend.ups, []);
  });
});
