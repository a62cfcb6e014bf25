import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { judgeEvent, rollBack, triggeringAlarms, type RollbackDeps } from "../../lambda/rollback";
import { compositeAlarmName, SECURITY_EVENT_DETAIL_TYPE, securityEventSource } from "../../rollout/names";

/**
 * Malformed and foreign events, as the function may be handed them (a hand-made test event, a
 * GuardDuty schema change, a buggy security tool). The rule: an event from a source the
 * function acts on that it cannot parse ROLLS BACK (fail toward blue, and say so); an event
 * from any other source is logged and ignored. Nothing throws before the rules move.
 */

const elb = mockClient(ElasticLoadBalancingV2Client);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

const STACK = "production";
const COMPOSITE = compositeAlarmName(STACK);
const SECURITY = securityEventSource(STACK);
const TG = (colour: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-${colour}/abc`;
const greenRule: Rule = {
  RuleArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/alb/1/l/web",
  Actions: [
    {
      Type: "forward",
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: TG("blue"), Weight: 80 },
          { TargetGroupArn: TG("green"), Weight: 20 },
        ],
      },
    },
  ],
};

let logs: Record<string, unknown>[];
function deps(): RollbackDeps {
  logs = [];
  return {
    elb: new ElasticLoadBalancingV2Client({}),
    ssm: new SSMClient({}),
    sns: new SNSClient({}),
    env: {
      LISTENER_ARN: "arn:listener",
      TARGET_GROUP_PAIRS: [{ service: "web", blue: TG("blue"), green: TG("green") }],
      LATCH_PARAMETER: `/staged-rollout/${STACK}/latch/rollback`,
      TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:critical",
      STACK,
      COMPOSITE_ALARM_NAME: COMPOSITE,
      SECURITY_EVENT_SOURCE: SECURITY,
    },
    now: () => new Date("2026-11-22T10:00:00.000Z"),
    log: (entry) => void logs.push(entry),
  };
}

beforeEach(() => {
  elb.reset();
  ssm.reset();
  sns.reset();
  elb.on(DescribeRulesCommand).resolves({ Rules: [greenRule] });
  elb.on(ModifyRuleCommand).resolves({});
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
  ssm.on(PutParameterCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

const alarm = (alarmData: unknown) => ({
  source: "aws.cloudwatch",
  alarmArn: `arn:...:alarm:${COMPOSITE}`,
  alarmData,
});
const finding = (detail: unknown, detailType: unknown = "GuardDuty Finding") => ({
  source: "aws.guardduty",
  "detail-type": detailType,
  detail,
});
const security = (detail: unknown, detailType: unknown = SECURITY_EVENT_DETAIL_TYPE) => ({
  source: SECURITY,
  "detail-type": detailType,
  detail,
});

/** [what, event, how it is judged: the source it rolls back as unparseable, "rolls back" (parsed), or "ignored"] */
type Expect = { unparseable: string } | "rolls back" | "ignored";
const TABLE: [string, unknown, Expect][] = [
  // CloudWatch alarm action events
  ["alarm event without alarmData", { source: "aws.cloudwatch" }, { unparseable: "aws.cloudwatch" }],
  ["alarmData null", alarm(null), { unparseable: "aws.cloudwatch" }],
  ["alarmData a string", alarm("ALARM"), { unparseable: "aws.cloudwatch" }],
  ["alarmData a list", alarm([COMPOSITE]), { unparseable: "aws.cloudwatch" }],
  ["alarmData without alarmName", alarm({ state: { value: "ALARM" } }), { unparseable: "aws.cloudwatch" }],
  [
    "alarmName a number",
    alarm({ alarmName: 42, state: { value: "ALARM" } }),
    { unparseable: "aws.cloudwatch" },
  ],
  ["the composite without state", alarm({ alarmName: COMPOSITE }), { unparseable: "aws.cloudwatch" }],
  ["state a string", alarm({ alarmName: COMPOSITE, state: "ALARM" }), { unparseable: "aws.cloudwatch" }],
  ["state without value", alarm({ alarmName: COMPOSITE, state: {} }), { unparseable: "aws.cloudwatch" }],
  [
    "state value unknown",
    alarm({ alarmName: COMPOSITE, state: { value: "ALARMING" } }),
    { unparseable: "aws.cloudwatch" },
  ],
  [
    "state value a number",
    alarm({ alarmName: COMPOSITE, state: { value: 1 } }),
    { unparseable: "aws.cloudwatch" },
  ],
  // A state that parses: the cosmetic parts may be broken without stopping the rollback.
  [
    "reasonData not JSON",
    alarm({ alarmName: COMPOSITE, state: { value: "ALARM", reason: 5, reasonData: "{not json" } }),
    "rolls back",
  ],
  [
    "reasonData JSON null",
    alarm({ alarmName: COMPOSITE, state: { value: "ALARM", reasonData: "null" } }),
    "rolls back",
  ],
  [
    "triggeringAlarms not a list",
    alarm({
      alarmName: COMPOSITE,
      state: { value: "ALARM", reasonData: '{"triggeringAlarms":{"arn":"x"}}' },
    }),
    "rolls back",
  ],
  // GuardDuty findings
  [
    "finding without detail",
    { source: "aws.guardduty", "detail-type": "GuardDuty Finding" },
    { unparseable: "aws.guardduty" },
  ],
  ["finding detail a string", finding("HIGH"), { unparseable: "aws.guardduty" }],
  ["finding detail null", finding(null), { unparseable: "aws.guardduty" }],
  [
    "severity a string",
    finding({ severity: "8.0", type: "Recon:EC2/PortProbeUnprotectedPort" }),
    { unparseable: "aws.guardduty" },
  ],
  [
    "severity null",
    finding({ severity: null, type: "Recon:EC2/PortProbeUnprotectedPort" }),
    { unparseable: "aws.guardduty" },
  ],
  ["finding without type", finding({ severity: 8 }), { unparseable: "aws.guardduty" }],
  [
    "GuardDuty event of another detail-type",
    finding({ severity: 8, type: "x" }, "GuardDuty Malware Protection Object Scan Result"),
    { unparseable: "aws.guardduty" },
  ],
  // The stack's security event
  [
    "security event without detail",
    { source: SECURITY, "detail-type": SECURITY_EVENT_DETAIL_TYPE },
    { unparseable: SECURITY },
  ],
  ["security event detail a list", security(["breach"]), { unparseable: SECURITY }],
  ["security event type a number", security({ type: 7 }), { unparseable: SECURITY }],
  [
    "security event of another detail-type",
    security({ type: "x" }, "Security Test"),
    { unparseable: SECURITY },
  ],
  ["security event with an empty detail", security({}), "rolls back"],
  // Not events it acts on
  ["null", null, "ignored"],
  ["a string", "ALARM", "ignored"],
  ["a list", [alarm({ alarmName: COMPOSITE, state: { value: "ALARM" } })], "ignored"],
  ["an empty object", {}, "ignored"],
  ["source a number", { source: 7, alarmData: { alarmName: COMPOSITE } }, "ignored"],
  ["an S3 event", { source: "aws.s3", "detail-type": "Object Created", detail: {} }, "ignored"],
  [
    "another stack's security event",
    { ...security({ type: "x" }), source: securityEventSource("staging") },
    "ignored",
  ],
  [
    "another alarm in ALARM",
    alarm({ alarmName: "production-errorRate-critical-web", state: { value: "ALARM" } }),
    "ignored",
  ],
  ["the composite in OK", alarm({ alarmName: COMPOSITE, state: { value: "OK" } }), "ignored"],
];

describe("rollback Lambda: malformed and foreign events", () => {
  it(`covers at least 12 malformed events of the sources it acts on (${TABLE.length} events in all)`, () => {
    assert.ok(TABLE.filter(([, , expect]) => typeof expect === "object").length >= 12);
  });

  for (const [what, event, expect] of TABLE) {
    const label =
      expect === "ignored"
        ? "is logged and ignored"
        : expect === "rolls back"
          ? "rolls back"
          : "rolls back as unparseable";
    it(`${what}: ${label}, never throwing before the rules move`, async () => {
      const result = await rollBack(event, deps());
      if (expect === "ignored") {
        assert.equal(result.action, "ignored");
        assert.deepEqual([elb.calls().length, ssm.calls().length, sns.calls().length], [0, 0, 0]);
        assert.equal(logs[0]!.msg, "event ignored");
        return;
      }
      assert.equal(result.action, "rolled-back");
      assert.deepEqual(
        elb.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input.RuleArn),
        [greenRule.RuleArn],
        "the rule moved to blue",
      );
      const latch = JSON.parse(ssm.commandCalls(PutParameterCommand)[1]!.args[0].input.Value!) as {
        alarm: string;
        reason: string;
      };
      const message = sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!;
      if (expect === "rolls back") {
        assert.doesNotMatch(latch.alarm, /^unparseable/);
        return;
      }
      const said = `unparseable event from ${expect.unparseable}: rolling back`;
      assert.equal(latch.alarm, `unparseable:${expect.unparseable}`);
      assert.ok(latch.reason.startsWith(`${said} (`), latch.reason);
      assert.ok(message.includes(said), message);
      assert.ok(
        logs.some((l) => typeof l.msg === "string" && l.msg.startsWith(said)),
        "logged",
      );
    });
  }

  it("says what was wrong with the event", () => {
    const env = { COMPOSITE_ALARM_NAME: COMPOSITE, SECURITY_EVENT_SOURCE: SECURITY };
    assert.deepEqual(judgeEvent(finding({ severity: "8.0", type: "t" }), env), {
      act: "roll-back",
      alarm: "unparseable:aws.guardduty",
      reason: 'unparseable event from aws.guardduty: rolling back (detail.severity is "8.0", not a number)',
      unparseable: 'detail.severity is "8.0", not a number',
    });
    assert.deepEqual(judgeEvent(alarm({ alarmName: COMPOSITE, state: { value: "ALARMING" } }), env), {
      act: "roll-back",
      alarm: "unparseable:aws.cloudwatch",
      reason:
        'unparseable event from aws.cloudwatch: rolling back (alarmData.state.value is "ALARMING", not ALARM, OK or INSUFFICIENT_DATA)',
      unparseable: 'alarmData.state.value is "ALARMING", not ALARM, OK or INSUFFICIENT_DATA',
    });
  });

  it("reads the triggering gate alarms from reasonData, skipping what is not one", () => {
    const arn = (name: string) => `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`;
    assert.deepEqual(
      triggeringAlarms(
        JSON.stringify({
          triggeringAlarms: [
            { arn: arn("a"), state: { value: "ALARM" } },
            { arn: arn("b") },
            { arn: arn("c"), state: { value: "OK" } },
            { arn: 5 },
            null,
            "d",
          ],
        }),
      ),
      ["a", "b"],
    );
    for (const broken of [undefined, 5, "", "{", "null", "[]", '{"triggeringAlarms":null}']) {
      assert.deepEqual(triggeringAlarms(broken), [], String(broken));
    }
  });
});
