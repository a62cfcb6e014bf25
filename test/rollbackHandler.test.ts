import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { MAX_ATTEMPTS, rollBack, type RollbackDeps, type RollbackEvent } from "../lambda/rollback";

const elb = mockClient(ElasticLoadBalancingV2Client);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

const TG = (service: string, colour: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${service}-${colour}/abc`;
const RULE = (name: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/alb/1/l/${name}`;
const pairs = ["web", "api"].map((s) => ({ service: s, blue: TG(s, "blue"), green: TG(s, "green") }));
const stickiness = { Enabled: true, DurationSeconds: 3600 };

function weighted(service: string, blue: number, green: number): Rule {
  return {
    RuleArn: RULE(`${service}-weighted`),
    IsDefault: false,
    Actions: [
      {
        Type: "forward",
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: TG(service, "blue"), Weight: blue },
            { TargetGroupArn: TG(service, "green"), Weight: green },
          ],
          TargetGroupStickinessConfig: stickiness,
        },
      },
    ],
  };
}
function cohort(service: string, i: number, colour = "green"): Rule {
  return {
    RuleArn: RULE(`${service}-cohort-${i}`),
    IsDefault: false,
    Actions: [{ Type: "forward", TargetGroupArn: TG(service, colour) }],
  };
}
const defaultRule: Rule = {
  RuleArn: RULE("default"),
  IsDefault: true,
  Actions: [{ Type: "fixed-response" }],
};

const alarmEvent: RollbackEvent = {
  source: "aws.cloudwatch",
  alarmArn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-auto-rollback",
  alarmData: {
    alarmName: "production-auto-rollback",
    state: { value: "ALARM", reason: "production-errorRate-critical-web in ALARM" },
  },
};

let sleeps: number[];
function deps(): RollbackDeps {
  sleeps = [];
  return {
    elb: new ElasticLoadBalancingV2Client({}),
    ssm: new SSMClient({}),
    sns: new SNSClient({}),
    env: {
      LISTENER_ARN: "arn:listener",
      TARGET_GROUP_PAIRS: JSON.stringify(pairs),
      LATCH_PARAMETER: "/staged-rollout/production/latch/rollback",
      TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:critical",
      STACK: "production",
    },
    sleep: async (ms) => void sleeps.push(ms),
    now: () => new Date("2026-11-22T10:00:00.000Z"),
    log: () => undefined,
  };
}

const throttle = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });

beforeEach(() => {
  elb.reset();
  ssm.reset();
  sns.reset();
  ssm.on(PutParameterCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: "m" });
  elb.on(ModifyRuleCommand).resolves({});
});

describe("rollback Lambda", () => {
  const startingWeights: [number, number][] = [
    [90, 10],
    [50, 50],
    [0, 100],
  ];
  for (const [blue, green] of startingWeights) {
    it(`puts every rule on blue from ${blue}/${green} in one invocation`, async () => {
      elb.on(DescribeRulesCommand).resolves({
        Rules: [defaultRule, cohort("web", 0), weighted("web", blue, green), weighted("api", blue, green)],
      });
      const result = await rollBack(alarmEvent, deps());
      const calls = elb.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input);
      assert.deepEqual(calls, [
        {
          RuleArn: RULE("web-cohort-0"),
          Actions: [
            {
              Type: "forward",
              Order: undefined,
              ForwardConfig: {
                TargetGroups: [{ TargetGroupArn: TG("web", "blue"), Weight: 1 }],
                TargetGroupStickinessConfig: undefined,
              },
            },
          ],
        },
        ...["web", "api"].map((s) => ({
          RuleArn: RULE(`${s}-weighted`),
          Actions: [
            {
              Type: "forward",
              Order: undefined,
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: TG(s, "blue"), Weight: 100 },
                  { TargetGroupArn: TG(s, "green"), Weight: 0 },
                ],
                TargetGroupStickinessConfig: stickiness,
              },
            },
          ],
        })),
      ]);
      assert.equal(result.changed.length, 3);
      assert.equal(result.latchWritten, true);
    });
  }

  it("writes nothing on a second invocation (already 100 % blue)", async () => {
    elb.on(DescribeRulesCommand).resolves({
      Rules: [defaultRule, cohort("web", 0, "blue"), weighted("web", 100, 0), weighted("api", 100, 0)],
    });
    const result = await rollBack(alarmEvent, deps());
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 0);
    assert.equal(ssm.commandCalls(PutParameterCommand).length, 0);
    assert.equal(sns.commandCalls(PublishCommand).length, 0);
    assert.deepEqual(result.changed, []);
    assert.equal(result.latchWritten, false);
  });

  it("retries throttling with growing backoff", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 90, 10)] });
    elb.on(ModifyRuleCommand).rejectsOnce(throttle()).rejectsOnce(throttle()).resolves({});
    const result = await rollBack(alarmEvent, deps());
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3);
    assert.equal(sleeps.length, 2);
    assert.ok(sleeps[1]! > sleeps[0]!, `backoff grows: ${sleeps.join(", ")}`);
    assert.equal(result.failed.length, 0);
  });

  it(`gives up after ${MAX_ATTEMPTS} throttled attempts and reports the rule`, async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 90, 10)] });
    elb.on(ModifyRuleCommand).rejects(throttle());
    await assert.rejects(rollBack(alarmEvent, deps()), /rollback incomplete: 1 rule\(s\) failed/);
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, MAX_ATTEMPTS);
  });

  it("goes on past one failing rule, still writes the latch and notifies, then fails the invocation", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 90, 10), weighted("api", 90, 10)] });
    elb
      .on(ModifyRuleCommand, { RuleArn: RULE("web-weighted") })
      .rejects(Object.assign(new Error("rule is locked"), { name: "OperationNotPermitted" }));
    await assert.rejects(
      rollBack(alarmEvent, deps()),
      new RegExp(`rollback incomplete: 1 rule\\(s\\) failed: ${RULE("web-weighted")}`),
    );
    assert.deepEqual(
      elb.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input.RuleArn),
      [RULE("web-weighted"), RULE("api-weighted")],
    );
    assert.equal(ssm.commandCalls(PutParameterCommand).length, 1);
    const message = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    assert.match(message.Subject!, /INCOMPLETE/);
    assert.match(message.Message!, /FAILED .*web-weighted: rule is locked/);
  });

  it("records the alarm's name in the latch and the notification", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("api", 75, 25)] });
    await rollBack(alarmEvent, deps());
    const put = ssm.commandCalls(PutParameterCommand)[0]!.args[0].input;
    assert.equal(put.Name, "/staged-rollout/production/latch/rollback");
    assert.equal(put.Overwrite, true);
    assert.deepEqual(JSON.parse(put.Value!), {
      reason: "production-errorRate-critical-web in ALARM",
      alarm: "production-auto-rollback",
      at: "2026-11-22T10:00:00.000Z",
    });
    const published = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    assert.equal(published.TopicArn, "arn:aws:sns:eu-west-1:123456789012:critical");
    assert.equal(published.Subject, "[production] automatic rollback: production-auto-rollback");
    assert.match(
      published.Message!,
      /Trigger: production-auto-rollback - production-errorRate-critical-web in ALARM/,
    );
    assert.match(published.Message!, /api: weighted rule -> 100 % blue/);
  });

  it("names GuardDuty findings as guardduty:<type>", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 90, 10)] });
    const finding: RollbackEvent = {
      source: "aws.guardduty",
      "detail-type": "GuardDuty Finding",
      detail: {
        severity: 8.2,
        type: "UnauthorizedAccess:EC2/SSHBruteForce",
        title: "SSH brute force against a node",
      },
    };
    const result = await rollBack(finding, deps());
    assert.equal(result.alarm, "guardduty:UnauthorizedAccess:EC2/SSHBruteForce");
    assert.match(
      JSON.parse(ssm.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!).reason,
      /severity 8.2: SSH brute force/,
    );
  });

  it("leaves the default rule and rules of other target groups alone, and pages through DescribeRules", async () => {
    const foreign: Rule = {
      RuleArn: RULE("other-app"),
      Actions: [
        { Type: "forward", ForwardConfig: { TargetGroups: [{ TargetGroupArn: "arn:other", Weight: 100 }] } },
      ],
    };
    elb
      .on(DescribeRulesCommand, { ListenerArn: "arn:listener", Marker: undefined })
      .resolves({ Rules: [defaultRule, foreign], NextMarker: "page-2" });
    elb
      .on(DescribeRulesCommand, { ListenerArn: "arn:listener", Marker: "page-2" })
      .resolves({ Rules: [weighted("api", 90, 10)] });
    const result = await rollBack(alarmEvent, deps());
    assert.equal(elb.commandCalls(DescribeRulesCommand).length, 2);
    assert.deepEqual(
      result.changed.map((c) => c.ruleArn),
      [RULE("api-weighted")],
    );
  });
});
