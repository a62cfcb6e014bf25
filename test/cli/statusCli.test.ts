import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { statusCommand } from "../../cli/commands/status";
import { cloudwatch, latch, resetAwsMocks, setup, ssm } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout status", () => {
  it("reads weights from the ALB, alarms, latch, decisions and sign-offs", async () => {
    const { ctx, out } = setup("production");
    assert.equal(await statusCommand({ json: true }, ctx), 0);
    const status = JSON.parse(out.text());
    assert.equal(status.phase, "limited-pilot");
    assert.equal(status.nextPhase, "broader-pilot");
    assert.deepEqual(status.traffic, [
      { service: "web", blue: 100, green: 0, cohortRulesToGreen: 14 },
      { service: "api", blue: 100, green: 0, cohortRulesToGreen: 14 },
    ]);
    assert.equal(status.latch, null);
    assert.deepEqual(status.alarmsInAlarm, []);
    assert.equal(status.decisions.at(-1).to, "limited-pilot");
  });

  it("shows a firing alarm and a set latch in the human output", async () => {
    const { ctx, out } = setup("production");
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: "production-errorRate-critical-web", StateValue: "ALARM" },
        { AlarmName: "production-errorRate-warning-web", StateValue: "OK" },
        // Another stack whose name starts with this one's: not ours.
        { AlarmName: "production-2-errorRate-critical-web", StateValue: "ALARM" },
      ],
      CompositeAlarms: [{ AlarmName: "production-auto-rollback", StateValue: "ALARM" }],
    });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    await statusCommand({}, ctx);
    assert.match(out.text(), /\nalarms: 2 ALARM, 1 OK, 0 INSUFFICIENT_DATA\n/);
    assert.match(
      out.text(),
      /alarms in ALARM: production-auto-rollback, production-errorRate-critical-web\n/,
    );
    assert.match(out.text(), /latch: SET by production-auto-rollback at 2026-11-22T09:00:00.000Z/);
    assert.match(
      out.text(),
      /sign-offs for limited-pilot: devopsEngineer by dana.devops at 2026-11-02T15:00:00Z; qaEngineer by quinn.qa at 2026-11-02T15:05:00Z; productManager by /,
    );
    assert.match(
      out.text(),
      /sign-offs for broader-pilot: devopsEngineer MISSING; qaEngineer MISSING; productManager MISSING; supportEngineer MISSING/,
    );
  });
});
describe("rollout status (more)", () => {
  it("JSON: every alarm state counted, this stack's alarms only, sign-offs with approvers", async () => {
    const { ctx, out } = setup("production");
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: "production-errorRate-warning-api", StateValue: "ALARM" },
        { AlarmName: "production-errorRate-critical-api", StateValue: "INSUFFICIENT_DATA" },
        { AlarmName: "production-2-errorRate-critical-api", StateValue: "ALARM" },
      ],
    });
    assert.equal(await statusCommand({ json: true }, ctx), 0);
    const status = JSON.parse(out.text());
    assert.deepEqual(status.alarmsInAlarm, ["production-errorRate-warning-api"]);
    assert.deepEqual(status.alarmStates, { ALARM: 1, OK: 0, INSUFFICIENT_DATA: 1 });
    assert.deepEqual(status.signoffs.phase.devopsEngineer, {
      approver: "dana.devops",
      at: "2026-11-02T15:00:00Z",
    });
    assert.deepEqual(status.signoffs.next, {});
    assert.equal(status.outputs.albDnsName, "router-alb-123.eu-west-1.elb.amazonaws.com");
    assert.equal(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input.StateValue, undefined);
  });
});
