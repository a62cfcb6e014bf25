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
import { MAX_ATTEMPTS, rollBack, type RollbackDeps, type RollbackEvent } from "../../lambda/rollback";

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

/**
 * The composite alarm's Lambda action event as CloudWatch sends it (shape of AWS's documented
 * example): `state.reasonData` is a JSON string naming the triggering alarms.
 */
const TRIGGERED_AT = "2026-11-22T09:59:41.208+0000";
const alarmEvent: RollbackEvent = {
  source: "aws.cloudwatch",
  alarmArn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-auto-rollback",
  alarmData: {
    alarmName: "production-auto-rollback",
    state: {
      value: "ALARM",
      reason:
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-errorRate-critical-web transitioned to ALARM at Sunday 22 November, 2026 09:59:41 UTC",
      reasonData: JSON.stringify({
        triggeringAlarms: [
          {
            arn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-errorRate-critical-web",
            state: { value: "ALARM", timestamp: TRIGGERED_AT },
          },
          {
            arn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-p95ResponseMs-critical-web",
            state: { value: "ALARM", timestamp: TRIGGERED_AT },
          },
        ],
      }),
      timestamp: "2026-11-22T09:59:41.214+0000",
    },
  },
};
const TRIGGERING = "production-errorRate-critical-web, production-p95ResponseMs-critical-web";
const REASON =
  "production-auto-rollback ALARM: arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-errorRate-critical-web transitioned to ALARM at Sunday 22 November, 2026 09:59:41 UTC";
const LATCH = { reason: REASON, alarm: TRIGGERING, at: "2026-11-22T10:00:00.000Z" };
const notFound = () => Object.assign(new Error("parameter not found"), { name: "ParameterNotFound" });

let sleeps: number[];
function deps(): RollbackDeps {
  sleeps = [];
  return {
    elb: new ElasticLoadBalancingV2Client({}),
    ssm: new SSMClient({}),
    sns: new SNSClient({}),
    env: {
      LISTENER_ARN: "arn:listener",
      TARGET_GROUP_PAIRS: pairs,
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
  ssm.on(GetParameterCommand).rejects(notFound());
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
                TargetGroupStickinessConfig: { Enabled: false },
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
                // Sticky clients must not stay on green after the rollback.
                TargetGroupStickinessConfig: { Enabled: false },
              },
            },
          ],
        })),
      ]);
      assert.equal(result.changed.length, 3);
      assert.equal(result.latchWritten, true);
    });
  }

  it("writes nothing on a second invocation (already 100 % blue, latch complete)", async () => {
    elb.on(DescribeRulesCommand).resolves({
      Rules: [defaultRule, cohort("web", 0, "blue"), weighted("web", 100, 0), weighted("api", 100, 0)],
    });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(LATCH) } });
    const result = await rollBack(alarmEvent, deps());
    assert.deepEqual(
      ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input),
      [{ Name: "/staged-rollout/production/latch/rollback" }],
    );
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 0);
    assert.equal(ssm.commandCalls(PutParameterCommand).length, 0);
    assert.equal(sns.commandCalls(PublishCommand).length, 0);
    assert.deepEqual(result.changed, []);
    assert.equal(result.latchWritten, false);
  });

  it("leaves an unreadable latch alone when every rule is already blue (the program treats it as set)", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 100, 0)] });
    for (const value of ["{not json", "{}", JSON.stringify({ ...LATCH, notificationPending: "yes" })]) {
      ssm.reset();
      sns.reset();
      ssm.on(GetParameterCommand).resolves({ Parameter: { Value: value } });
      const result = await rollBack(alarmEvent, deps());
      assert.equal(ssm.commandCalls(PutParameterCommand).length, 0, value);
      assert.equal(sns.commandCalls(PublishCommand).length, 0, value);
      assert.deepEqual([result.latchWritten, result.notified], [false, false], value);
    }
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
    // Pending latch, then the complete one once the notification is out.
    assert.deepEqual(
      ssm.commandCalls(PutParameterCommand).map((c) => JSON.parse(c.args[0].input.Value!)),
      [{ ...LATCH, notificationPending: true }, LATCH],
    );
    const message = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    assert.match(message.Subject!, /INCOMPLETE/);
    assert.match(message.Message!, /FAILED .*web-weighted: rule is locked/);
  });

  it("records the triggering gate alarms in the latch and the notification", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("api", 75, 25)] });
    const result = await rollBack(alarmEvent, deps());
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    assert.deepEqual(
      puts.map((p) => [p.Name, p.Type, p.Overwrite]),
      [
        ["/staged-rollout/production/latch/rollback", "String", true],
        ["/staged-rollout/production/latch/rollback", "String", true],
      ],
    );
    assert.deepEqual(JSON.parse(puts[0]!.Value!), { ...LATCH, notificationPending: true });
    assert.deepEqual(JSON.parse(puts[1]!.Value!), LATCH);
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    assert.equal(published.length, 1);
    assert.equal(published[0]!.TopicArn, "arn:aws:sns:eu-west-1:123456789012:critical");
    assert.equal(
      published[0]!.Subject,
      "[production] automatic rollback: production-errorRate-critical-web and 1 more",
    );
    assert.equal(
      published[0]!.Message,
      [
        "Automatic rollback of stack production at 2026-11-22T10:00:00.000Z",
        `Trigger: ${TRIGGERING} - ${REASON}`,
        `  api: weighted rule -> 100 % blue (${RULE("api-weighted")})`,
        "Every listener rule is on blue.",
        "pulumi up keeps 100 % blue until the latch is acknowledged: npm run rollout -- resume --stack production",
      ].join("\n"),
    );
    assert.deepEqual([result.alarm, result.latchWritten, result.notified], [TRIGGERING, true, true]);
  });

  it("falls back to the composite's name when the event carries no reasonData", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("api", 75, 25)] });
    const bare = {
      source: "aws.cloudwatch",
      alarmData: { alarmName: "production-auto-rollback", state: { value: "ALARM" } },
    } as RollbackEvent;
    const result = await rollBack(bare, deps());
    assert.deepEqual(JSON.parse(ssm.commandCalls(PutParameterCommand)[1]!.args[0].input.Value!), {
      reason: "production-auto-rollback ALARM: no reason given",
      alarm: "production-auto-rollback",
      at: "2026-11-22T10:00:00.000Z",
    });
    assert.equal(result.alarm, "production-auto-rollback");
  });

  it("retries a throttled DescribeRules", async () => {
    elb
      .on(DescribeRulesCommand)
      .rejectsOnce(throttle())
      .rejectsOnce(throttle())
      .resolves({ Rules: [weighted("web", 90, 10)] });
    const result = await rollBack(alarmEvent, deps());
    assert.equal(elb.commandCalls(DescribeRulesCommand).length, 3);
    assert.equal(sleeps.length, 2);
    assert.deepEqual(
      result.changed.map((c) => c.ruleArn),
      [RULE("web-weighted")],
    );
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
      JSON.parse(ssm.commandCalls(PutParameterCommand)[1]!.args[0].input.Value!).reason,
      /^GuardDuty finding severity 8.2: SSH brute force against a node$/,
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

/**
 * One listener, one latch parameter and one topic that keep their state across invocations,
 * so a retry sees what the failed attempt left behind.
 */
function statefulAws() {
  let rules = [cohort("web", 0), weighted("web", 80, 20), weighted("api", 80, 20)];
  const parameters = new Map<string, string>();
  elb.on(DescribeRulesCommand).callsFake(() => ({ Rules: rules }));
  elb.on(ModifyRuleCommand).callsFake((input: { RuleArn: string; Actions: Rule["Actions"] }) => {
    rules = rules.map((r) => (r.RuleArn === input.RuleArn ? { ...r, Actions: input.Actions } : r));
    return {};
  });
  ssm.on(GetParameterCommand).callsFake((input: { Name: string }) => {
    const value = parameters.get(input.Name);
    if (value === undefined) throw notFound();
    return { Parameter: { Name: input.Name, Value: value } };
  });
  ssm.on(PutParameterCommand).callsFake((input: { Name: string; Value: string }) => {
    parameters.set(input.Name, input.Value);
    return { Version: 1 };
  });
  return {
    parameters,
    latch: () => JSON.parse(parameters.get("/staged-rollout/production/latch/rollback")!),
  };
}

describe("rollback Lambda: a retry completes what a failed attempt left undone", () => {
  it("publish failed after the rules moved: the retry notifies and completes the latch", async () => {
    const aws = statefulAws();
    sns.on(PublishCommand).rejectsOnce(new Error("KMS key is disabled")).resolves({ MessageId: "m" });

    await assert.rejects(rollBack(alarmEvent, deps()), /KMS key is disabled/);
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3);
    // The latch already keeps pulumi up on blue, marked as not yet notified.
    assert.deepEqual(aws.latch(), { ...LATCH, notificationPending: true });

    const retry = await rollBack(alarmEvent, { ...deps(), now: () => new Date("2026-11-22T10:01:00.000Z") });
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3, "the retry moves no rule");
    assert.deepEqual(retry.changed, []);
    assert.deepEqual([retry.latchWritten, retry.notified], [true, true]);
    // The latch keeps the first attempt's time: acknowledging it means acknowledging that rollback.
    assert.deepEqual(aws.latch(), LATCH);
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    assert.equal(published.length, 2);
    assert.equal(
      published[1]!.Subject,
      "[production] automatic rollback: production-errorRate-critical-web and 1 more",
    );
    assert.match(published[1]!.Message!, /already on blue \(an earlier attempt moved them\)/);

    const third = await rollBack(alarmEvent, deps());
    assert.deepEqual([third.latchWritten, third.notified], [false, false]);
    assert.equal(sns.commandCalls(PublishCommand).length, 2, "a complete latch means nothing more to send");
  });

  it("latch write failed after the rules moved: the retry writes the latch and notifies", async () => {
    const aws = statefulAws();
    ssm
      .on(PutParameterCommand)
      .rejectsOnce(Object.assign(new Error("access denied"), { name: "AccessDeniedException" }));

    await assert.rejects(rollBack(alarmEvent, deps()), /access denied/);
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3);
    assert.equal(aws.parameters.size, 0);
    assert.equal(sns.commandCalls(PublishCommand).length, 0);

    // The stateful fake answers from here on.
    ssm.on(PutParameterCommand).callsFake((input: { Name: string; Value: string }) => {
      aws.parameters.set(input.Name, input.Value);
      return { Version: 1 };
    });
    const retry = await rollBack(alarmEvent, deps());
    assert.deepEqual(retry.changed, []);
    assert.deepEqual([retry.latchWritten, retry.notified], [true, true]);
    assert.deepEqual(aws.latch(), LATCH);
    assert.equal(sns.commandCalls(PublishCommand).length, 1);
  });
});
