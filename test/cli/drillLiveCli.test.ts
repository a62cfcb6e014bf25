import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { drillLiveCommand } from "../../cli/commands/drill";
import { cloudwatch, firing, latch, resetAwsMocks, setup, ssm } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout drill --live", () => {
  it("forces a rollback, measures time-to-blue and restores", async () => {
    const { ctx, out, backend } = setup("staging");
    assert.equal(await drillLiveCommand({ json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.ok(result.timeToBlueSeconds > 0);
    assert.equal(result.restored, true);
    assert.deepEqual(backend.ups, ["broader-pilot/10/true", "broader-pilot/10/false"]);
  });

  it("refuses production-tier stacks", async () => {
    const { ctx, out, backend } = setup("production");
    assert.equal(await drillLiveCommand({}, ctx), 1, "refused, not bad input");
    assert.match(
      out.text(),
      /drill --live refused:\n {2}- stack production is production-tier; live drills run on staging-tier stacks only/,
    );
    assert.deepEqual(backend.ups, []);
  });
});
describe("rollout drill --live (refusals and failures)", () => {
  it("refuses when green carries no traffic, naming the shift that gives it some", async () => {
    // Preparation routes no cohort to green, and the weight is 0.
    const { ctx, out, backend } = setup("staging", { phase: "preparation", greenWeight: "0" });
    assert.equal(await drillLiveCommand({}, ctx), 1);
    assert.match(
      out.text(),
      /green carries no traffic on staging's ALB, so time-to-blue would measure nothing: give it a small weight first \(`npm run rollout -- shift --stack staging --to 5`\)/,
    );
    assert.deepEqual(backend.ups, []);
  });

  it("refuses while an alarm fires or the latch is set", async () => {
    const { ctx, out, backend } = setup("staging");
    cloudwatch.on(DescribeAlarmsCommand).resolves(firing("staging-errorRate-warning-web"));
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await drillLiveCommand({ json: true }, ctx), 1);
    assert.equal(JSON.parse(out.text()).reasons.length, 2);
    assert.deepEqual(backend.ups, []);
  });

  it("reports the time even when the forced up alone is over the limit", async () => {
    const { ctx, out, backend, advanceClock } = setup("staging");
    backend.onUp = () => advanceClock(1000_000);
    assert.equal(await drillLiveCommand({ json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.ok(result.timeToBlueSeconds > 1000);
    assert.equal(result.withinLimit, false);
    assert.equal(result.restored, true);
  });

  it("not blue within the limit: polls, restores, exit 1", async () => {
    const { ctx, out, backend, sleeps } = setup("staging");
    backend.albStuckOnGreen = true;
    assert.equal(await drillLiveCommand({ json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.equal(result.timeToBlueSeconds, null);
    assert.ok(result.waitedSeconds > 900);
    assert.ok(sleeps.length > 100 && sleeps.every((ms) => ms === 5000));
    assert.deepEqual(backend.ups, ["broader-pilot/10/true", "broader-pilot/10/false"]);
  });

  it("a failing forced up still restores; a failing restore does not hide the first error", async () => {
    const first = setup("staging");
    first.backend.failingUps = [1];
    assert.equal(await drillLiveCommand({}, first.ctx), 1);
    assert.equal(first.backend.raw.rollback, "false");
    assert.deepEqual(first.out.errors, [
      "error: drill --live: forced rollback: pulumi up failed (drill rollback); see the output above",
    ]);
    const second = setup("staging");
    second.backend.upFails = true;
    assert.equal(await drillLiveCommand({}, second.ctx), 1);
    assert.deepEqual(second.out.errors, [
      "error: drill --live: forced rollback: pulumi up failed (drill rollback); see the output above; restore: pulumi up failed (drill restore); see the output above",
    ]);
    assert.match(second.out.text(), /rollout:rollback may still be true/);
  });
});
