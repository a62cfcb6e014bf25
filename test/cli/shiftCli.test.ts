import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { parseInterval, shiftCommand, shiftSteps } from "../../cli/commands/shift";
import { RolloutInputError } from "../../rollout/validation";
import { cloudwatch, firing, latch, resetAwsMocks, serveAlb, setup, ssm } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout shift", () => {
  it("plans steps", () => {
    assert.deepEqual(shiftSteps(0, 10, 2), [2, 4, 6, 8, 10]);
    assert.deepEqual(shiftSteps(0, 10, 3), [3, 6, 9, 10]);
    assert.deepEqual(shiftSteps(10, 0, 5), [5, 0]);
    assert.deepEqual(shiftSteps(5, 5, 1), []);
    assert.deepEqual(shiftSteps(0, 10, 10), [10], "--step equal to the distance: one step");
  });

  it("reads --interval as a duration with its unit, 60s to 24h; not given, the phase's default applies", () => {
    assert.deepEqual(
      [
        parseInterval("60s"),
        parseInterval("90s"),
        parseInterval("5m"),
        parseInterval("1h"),
        parseInterval("24h"),
        parseInterval(undefined),
      ],
      [60, 90, 300, 3600, 86400, undefined],
    );
    const unit = (got: string) =>
      `--interval: expected a duration with its unit (s, m or h), such as 90s, 5m or 1h, got ${got}`;
    for (const [value, message] of [
      ["5", unit('"5"')],
      ["90", unit('"90"')],
      ["0", unit('"0"')],
      ["soon", unit('"soon"')],
      ["5 m", unit('"5 m"')],
      ["5M", unit('"5M"')],
      ["1d", unit('"1d"')],
      ["-5m", unit('"-5m"')],
      ["1e3s", unit('"1e3s"')],
      ["", unit('""')],
      [
        "30s",
        '--interval: expected at least 60s (CloudWatch evaluates alarms once a minute: a shorter wait steps again before any alarm has judged the step), got "30s"',
      ],
      [
        "0m",
        '--interval: expected at least 60s (CloudWatch evaluates alarms once a minute: a shorter wait steps again before any alarm has judged the step), got "0m"',
      ],
      ["25h", '--interval: expected at most 24h, got "25h"'],
      ["9999999999h", '--interval: expected at most 24h, got "9999999999h"'],
      [`${"9".repeat(400)}s`, `--interval: expected at most 24h, got "${"9".repeat(400)}s"`],
    ] as const)
      assert.throws(() => parseInterval(value), new RolloutInputError(message), value);
  });

  it("moves greenWeight in steps, watching alarms between them", async () => {
    const { ctx, backend, sleeps, out } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "2m" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.deepEqual(sleeps, [60_000, 60_000], "the 2 min interval, watched once a minute");
    assert.equal(
      cloudwatch.commandCalls(DescribeAlarmsCommand).length,
      5,
      "before; after step 1 at 0, 60 and 120 s; after step 2",
    );
    assert.match(out.text(), /green at 10 %, verified on the ALB/);
  });

  it("refuses a weight above the phase's cap", async () => {
    const { ctx, out, backend } = setup("staging");
    assert.equal(await shiftCommand({ to: "25" }, ctx), 1);
    assert.match(out.text(), /25 % is above phase broader-pilot's cap of 10 %/);
    assert.deepEqual(backend.ups, []);
  });

  it("refuses while the latch is set", async () => {
    const { ctx, out } = setup("staging");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    assert.equal(await shiftCommand({ to: "5" }, ctx), 1);
    assert.match(out.text(), /automatic rollback latch set/);
  });

  it("rolls back when a critical alarm fires mid-shift", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-errorRate-critical-api", "staging-auto-rollback"));
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m" }, ctx), 1);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/5/true"]);
    assert.equal(backend.raw.rollback, "true");
    assert.match(
      out.text(),
      /rollback alarm during the shift: staging-auto-rollback, staging-errorRate-critical-api; rolling back/,
    );
  });

  it("names the flag for bad input", async () => {
    const { ctx } = setup("staging");
    await assert.rejects(
      shiftCommand({ to: "ten" }, ctx),
      new RolloutInputError('--to: expected an integer 0-100, got "ten"'),
    );
    await assert.rejects(
      shiftCommand({ to: "5", step: "0" }, ctx),
      /--step: expected an integer 1-100, got "0"/,
    );
  });
});
describe("rollout shift (more)", () => {
  it("refuses while rollout:rollback is true", async () => {
    const { ctx, out, backend } = setup("staging", { rollback: "true" });
    assert.equal(await shiftCommand({ to: "5" }, ctx), 1);
    assert.match(out.text(), /rollout:rollback is true/);
    assert.deepEqual(backend.ups, []);
  });

  it("starts from the weight the ALB serves, not the config (after an automatic rollback)", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "10" });
    serveAlb({ ...backend.raw, rollback: "true" }, "staging"); // the Lambda moved it outside Pulumi
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.match(out.text(), /the ALB serves 0 % to green; rollout:greenWeight says 10 %: shifting from 0 %/);
  });

  it("writes the config when the ALB already serves the target but the config differs", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "10" });
    serveAlb({ ...backend.raw, greenWeight: "5" }, "staging");
    assert.equal(await shiftCommand({ to: "5" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false"]);
    assert.equal(backend.raw.greenWeight, "5");
  });

  it("does nothing when the ALB and the config are both at the target", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "10" });
    assert.equal(await shiftCommand({ to: "10" }, ctx), 0);
    assert.deepEqual(backend.ups, []);
    assert.match(out.text(), /green is already at 10 % on the ALB/);
  });

  it("shifts down too", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "10" });
    assert.equal(await shiftCommand({ to: "0", step: "5", interval: "1m" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/0/false"]);
  });

  it("goes on with only a warning alarm firing, and says so", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-errorRate-warning-web"));
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m", json: true }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.deepEqual(JSON.parse(out.text()).warnings, ["staging-errorRate-warning-web"]);
    assert.equal(
      out.errors.filter((l) =>
        / alarm in ALARM: staging-errorRate-warning-web \(warning, playbook action alert\): not a rollback trigger; the shift goes on$/.test(
          l,
        ),
      ).length,
      1,
      "said once, not at every poll",
    );
  });

  it("goes on when a critical alarm the playbook only alerts on or reviews fires (not a rollback alarm)", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-diskFreePercent-critical", "staging-uptimePercent-critical"));
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m", json: true }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    const result = JSON.parse(out.text());
    assert.equal(result.completed, true);
    assert.deepEqual(result.warnings, ["staging-diskFreePercent-critical", "staging-uptimePercent-critical"]);
    assert.deepEqual(
      out.errors.filter((l) => / alarm in ALARM: /.test(l)).map((l) => l.replace(/^\[\d\d:\d\d\] /, "")),
      [
        "alarm in ALARM: staging-diskFreePercent-critical (critical, playbook action alert): not a rollback trigger; the shift goes on",
        "alarm in ALARM: staging-uptimePercent-critical (critical, playbook action review): not a rollback trigger; the shift goes on",
      ],
    );
  });

  it("refuses to start while a non-rollback critical alarm fires, and labels each alarm", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolves(firing("staging-diskFreePercent-critical", "staging-errorRate-critical-api"));
    assert.equal(await shiftCommand({ to: "5", json: true }, ctx), 1);
    assert.deepEqual(backend.ups, []);
    assert.deepEqual(JSON.parse(out.text()).reasons, [
      "alarms in ALARM: staging-diskFreePercent-critical (critical, playbook action alert), staging-errorRate-critical-api (rollback) (see `npm run rollout -- status --stack staging`)",
    ]);
  });

  it("a critical alarm during the interval stops the wait at once, and the rollback is verified blue", async () => {
    const { ctx, backend, out, sleeps } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] }) // before
      .resolvesOnce({ MetricAlarms: [] }) // right after step 1
      .resolves(firing("staging-errorRate-critical-api")); // a minute into the interval
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "10m", json: true }, ctx), 1);
    assert.deepEqual(sleeps, [60_000], "not the whole 10 minutes");
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/5/true"]);
    const result = JSON.parse(out.text());
    assert.equal(result.rolledBack, true);
    assert.equal(result.verifiedBlue, true);
    assert.deepEqual(result.alarms, ["staging-errorRate-critical-api"]);
    assert.ok(result.timeToBlueSeconds > 0);
  });

  it("stops when the ALB does not serve the step's weight", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    backend.albStuckOnGreen = true;
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m" }, ctx), 1);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false"]);
    assert.match(out.text(), /traffic check FAILED: web: ALB sends 50 % to green, expected 5 %/);
  });

  it("when up fails: restores the last weight that was applied", async () => {
    const { ctx, out, backend } = setup("staging", { greenWeight: "0" });
    backend.failingUps = [2];
    assert.equal(await shiftCommand({ to: "10", step: "5", interval: "1m" }, ctx), 1);
    assert.equal(backend.raw.greenWeight, "5");
    assert.match(out.text(), /shift FAILED after \d+ s: pulumi up failed \(greenWeight 10\)/);
    assert.match(out.text(), /config: restored rollout:greenWeight to 5 %/);
  });
});
