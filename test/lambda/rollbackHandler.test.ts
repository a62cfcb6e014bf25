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
import {
  DESCRIBE_RULES_PAGE_SIZE,
  markSnsThrottling,
  notification,
  RollbackIncomplete,
  rollBack,
  type RollbackDeps,
  type RollbackEvent,
  type RollbackResult,
} from "../../lambda/rollback";

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

let logs: Record<string, unknown>[];
function deps(): RollbackDeps {
  logs = [];
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
      COMPOSITE_ALARM_NAME: "production-auto-rollback",
      SECURITY_EVENT_SOURCE: "staged-rollout.production",
    },
    now: () => new Date("2026-11-22T10:00:00.000Z"),
    log: (entry) => void logs.push(entry),
  };
}

/** The result of an event that rolled back (the test fails on an ignored one). */
function rolledBack(result: RollbackResult) {
  assert.equal(result.action, "rolled-back", JSON.stringify(result));
  return result;
}

/** `promise` rejects with RollbackIncomplete; the error, for its fields. */
async function incomplete(promise: Promise<unknown>, message: RegExp): Promise<RollbackIncomplete> {
  const error = await promise.then(
    () => assert.fail("expected the invocation to fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RollbackIncomplete, String(error));
  assert.match(error.message, message);
  return error;
}

const accessDenied = () =>
  Object.assign(new Error("not authorized to perform: ssm:PutParameter"), { name: "AccessDeniedException" });

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
      const result = rolledBack(await rollBack(alarmEvent, deps()));
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
    const result = rolledBack(await rollBack(alarmEvent, deps()));
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
      const result = rolledBack(await rollBack(alarmEvent, deps()));
      assert.equal(ssm.commandCalls(PutParameterCommand).length, 0, value);
      assert.equal(sns.commandCalls(PublishCommand).length, 0, value);
      assert.deepEqual([result.latchWritten, result.notified], [false, false], value);
    }
  });

  it("reads the listener's rules in pages of 400 and starts every ModifyRule before any completes", async () => {
    elb.on(DescribeRulesCommand).resolves({
      Rules: [cohort("web", 0), cohort("web", 1), weighted("web", 90, 10), weighted("api", 90, 10)],
    });
    let inFlight = 0;
    let most = 0;
    elb.on(ModifyRuleCommand).callsFake(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return {};
    });
    const result = rolledBack(await rollBack(alarmEvent, deps()));
    assert.deepEqual(
      elb.commandCalls(DescribeRulesCommand).map((c) => c.args[0].input),
      [{ ListenerArn: "arn:listener", Marker: undefined, PageSize: DESCRIBE_RULES_PAGE_SIZE }],
    );
    assert.equal(most, 4, "all four ModifyRule calls in flight at once");
    // Reported in the listener's order, whatever order the calls finished in.
    assert.deepEqual(
      result.changed.map((c) => c.ruleArn),
      [RULE("web-cohort-0"), RULE("web-cohort-1"), RULE("web-weighted"), RULE("api-weighted")],
    );
  });

  it("goes on past one failing rule, still writes the latch and notifies, then fails the invocation", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 90, 10), weighted("api", 90, 10)] });
    elb
      .on(ModifyRuleCommand, { RuleArn: RULE("web-weighted") })
      .rejects(Object.assign(new Error("rule is locked"), { name: "OperationNotPermitted" }));
    const error = await incomplete(
      rollBack(alarmEvent, deps()),
      /^automatic rollback incomplete: 1 rule\(s\) failed: .*web-weighted \(rule is locked\)$/,
    );
    assert.deepEqual(
      [error.changed.map((c) => c.ruleArn), error.failed, error.notified],
      [[RULE("api-weighted")], [{ ruleArn: RULE("web-weighted"), error: "rule is locked" }], true],
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
    const result = rolledBack(await rollBack(alarmEvent, deps()));
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
    const bare: RollbackEvent = {
      source: "aws.cloudwatch",
      alarmData: { alarmName: "production-auto-rollback", state: { value: "ALARM" } },
    };
    const result = rolledBack(await rollBack(bare, deps()));
    assert.deepEqual(JSON.parse(ssm.commandCalls(PutParameterCommand)[1]!.args[0].input.Value!), {
      reason: "production-auto-rollback ALARM: no reason given",
      alarm: "production-auto-rollback",
      at: "2026-11-22T10:00:00.000Z",
    });
    assert.equal(result.alarm, "production-auto-rollback");
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
    const result = rolledBack(await rollBack(finding, deps()));
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
    const result = rolledBack(await rollBack(alarmEvent, deps()));
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
function statefulAws(initial: Rule[] = [cohort("web", 0), weighted("web", 80, 20), weighted("api", 80, 20)]) {
  let rules = initial;
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

    const error = await incomplete(
      rollBack(alarmEvent, deps()),
      /^automatic rollback incomplete: notification not sent: KMS key is disabled$/,
    );
    assert.equal(error.notified, false);
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3);
    // The latch already keeps pulumi up on blue, marked as not yet notified.
    assert.deepEqual(aws.latch(), { ...LATCH, notificationPending: true });

    const retry = rolledBack(
      await rollBack(alarmEvent, { ...deps(), now: () => new Date("2026-11-22T10:01:00.000Z") }),
    );
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
    assert.match(
      published[1]!.Message!,
      /already on blue \(an earlier attempt moved them, or green carried no traffic\)/,
    );

    const third = rolledBack(await rollBack(alarmEvent, deps()));
    assert.deepEqual([third.latchWritten, third.notified], [false, false]);
    assert.equal(sns.commandCalls(PublishCommand).length, 2, "a complete latch means nothing more to send");
  });

  it("latch write failed after the rules moved: people are told at once, and the retry writes the latch and notifies", async () => {
    const aws = statefulAws();
    ssm.on(PutParameterCommand).rejectsOnce(accessDenied());

    const error = await incomplete(
      rollBack(alarmEvent, deps()),
      /^automatic rollback incomplete: latch not written: not authorized to perform: ssm:PutParameter$/,
    );
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3);
    assert.equal(aws.parameters.size, 0);
    // The notification went out anyway, and says what the missing latch means.
    assert.equal(error.notified, true);
    const first = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    assert.equal(first.length, 1);
    assert.equal(
      first[0]!.Subject,
      "[production] automatic rollback LATCH NOT WRITTEN: production-errorRate-critical-web and 1 more",
    );
    assert.match(
      first[0]!.Message!,
      /\nLATCH NOT WRITTEN: the next pulumi up would restore green; set rollout:rollback true now \(pulumi config set rollout:rollback true -s production\)\. PutParameter failed: not authorized to perform: ssm:PutParameter$/,
    );
    assert.match(first[0]!.Message!, /\nEvery listener rule is on blue\.\n/);
    assert.doesNotMatch(first[0]!.Message!, /pulumi up keeps 100 % blue/);

    // The stateful fake answers from here on.
    ssm.on(PutParameterCommand).callsFake((input: { Name: string; Value: string }) => {
      aws.parameters.set(input.Name, input.Value);
      return { Version: 1 };
    });
    const retry = rolledBack(await rollBack(alarmEvent, deps()));
    assert.deepEqual(retry.changed, []);
    assert.deepEqual([retry.latchWritten, retry.notified], [true, true]);
    assert.deepEqual(aws.latch(), LATCH);
    // At worst twice, never zero times.
    assert.equal(sns.commandCalls(PublishCommand).length, 2);
  });

  it("latch never writable: every attempt moves nothing new but notifies again, each saying LATCH NOT WRITTEN", async () => {
    statefulAws();
    ssm.on(PutParameterCommand).rejects(accessDenied());
    for (let attempt = 1; attempt <= 3; attempt++) {
      await incomplete(rollBack(alarmEvent, deps()), /latch not written/);
    }
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 3, "the rules moved in the first attempt");
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    assert.equal(published.length, 3);
    for (const p of published) assert.match(p.Message!, /LATCH NOT WRITTEN/);
  });

  it("the final latch write failed after the publish: the retry notifies again and completes the latch", async () => {
    const aws = statefulAws();
    ssm
      .on(PutParameterCommand)
      .callsFakeOnce((input: { Name: string; Value: string }) => {
        aws.parameters.set(input.Name, input.Value);
        return { Version: 1 };
      })
      .rejectsOnce(new Error("InternalServerError"));
    const error = await incomplete(
      rollBack(alarmEvent, deps()),
      /^automatic rollback incomplete: latch left pending: InternalServerError$/,
    );
    assert.equal(error.notified, true);
    assert.deepEqual(aws.latch(), { ...LATCH, notificationPending: true });

    ssm.on(PutParameterCommand).callsFake((input: { Name: string; Value: string }) => {
      aws.parameters.set(input.Name, input.Value);
      return { Version: 2 };
    });
    rolledBack(await rollBack(alarmEvent, deps()));
    assert.deepEqual(aws.latch(), LATCH);
    assert.equal(sns.commandCalls(PublishCommand).length, 2);
  });

  it("the listener's rules could not be read: latch and an INCOMPLETE notification, then the invocation fails", async () => {
    const aws = statefulAws();
    elb.on(DescribeRulesCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling" }));
    const error = await incomplete(
      rollBack(alarmEvent, deps()),
      /^automatic rollback incomplete: listener rules could not be read: Rate exceeded$/,
    );
    assert.deepEqual([error.changed, error.failed, error.notified], [[], [], true]);
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 0);
    // The latch is written all the same: the next pulumi up then finishes the rollback.
    assert.deepEqual(aws.latch(), LATCH);
    const message = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    assert.match(message.Subject!, /^\[production\] automatic rollback INCOMPLETE: /);
    assert.match(message.Message!, /FAILED to read the listener's rules \(DescribeRules\): Rate exceeded/);
  });

  it("every rule blue but the latch unreadable for an SSM error: writes the latch and notifies (a second notification at worst)", async () => {
    const aws = statefulAws([cohort("web", 0, "blue"), weighted("web", 100, 0), weighted("api", 100, 0)]);
    ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error("Internal error"), { name: "InternalServerError" }));
    const result = rolledBack(await rollBack(alarmEvent, deps()));
    assert.deepEqual([result.changed, result.latchWritten, result.notified], [[], true, true]);
    assert.deepEqual(aws.latch(), LATCH);
    assert.ok(logs.some((l) => l.msg === "latch could not be read; writing it and notifying"));
  });
});

describe("rollback Lambda: what it acts on", () => {
  const ignoredEvents: [string, unknown, RegExp][] = [
    [
      "the composite back to OK",
      {
        source: "aws.cloudwatch",
        alarmData: { alarmName: "production-auto-rollback", state: { value: "OK" } },
      },
      /^production-auto-rollback is OK: only ALARM rolls back$/,
    ],
    [
      "the composite in INSUFFICIENT_DATA",
      {
        source: "aws.cloudwatch",
        alarmData: { alarmName: "production-auto-rollback", state: { value: "INSUFFICIENT_DATA" } },
      },
      /^production-auto-rollback is INSUFFICIENT_DATA: only ALARM rolls back$/,
    ],
    [
      "another alarm in ALARM",
      {
        source: "aws.cloudwatch",
        alarmData: { alarmName: "staging-auto-rollback", state: { value: "ALARM" } },
      },
      /^alarm staging-auto-rollback is not this stack's composite alarm production-auto-rollback$/,
    ],
    [
      "a source it does not know",
      { source: "aws.s3", detail: {} },
      /^event from aws\.s3, a source this function does not act on$/,
    ],
  ];
  for (const [what, event, why] of ignoredEvents) {
    it(`logs and ignores ${what}: no rule read or touched, nothing written`, async () => {
      const result = await rollBack(event, deps());
      assert.equal(result.action, "ignored");
      assert.match((result as { why: string }).why, why);
      assert.deepEqual([elb.calls().length, ssm.calls().length, sns.calls().length], [0, 0, 0]);
      assert.equal(logs[0]!.msg, "event ignored");
    });
  }

  it("rolls back on the stack's custom security event, named by its detail", async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [weighted("web", 90, 10)] });
    const event = {
      version: "0",
      source: "staged-rollout.production",
      "detail-type": "Security Breach Detected",
      detail: { type: "credential-stuffing", summary: "5000 failed logins from one ASN in 60 s" },
    };
    const result = rolledBack(await rollBack(event, deps()));
    assert.deepEqual(
      [result.alarm, result.reason],
      [
        "security-event:credential-stuffing",
        "Security Breach Detected (staged-rollout.production): 5000 failed logins from one ASN in 60 s",
      ],
    );
    assert.equal(elb.commandCalls(ModifyRuleCommand).length, 1);
  });
});

describe("rollback Lambda: notification and SDK pieces", () => {
  it("keeps the subject under SNS's 100 characters (botocore PublishInput.Subject: 'less than 100'), flags first", () => {
    const { subject } = notification("production", {
      latch: {
        reason: "r",
        alarm: Array.from({ length: 3 }, (_, i) => `${"x".repeat(60)}-${i}`).join(", "),
        at: "t",
      },
      changed: [],
      failed: [{ ruleArn: "arn:r", error: "e" }],
      latchError: "denied",
    });
    assert.equal(subject.length, 99);
    assert.match(subject, /^\[production\] automatic rollback INCOMPLETE, LATCH NOT WRITTEN: x+\.\.\.$/);
  });

  it("strips line breaks and control characters from the subject (SNS refuses them, and would on every retry)", () => {
    const { subject } = notification("production", {
      latch: { reason: "r", alarm: "security-event:SQLi\nexfil\u0007", at: "t" },
      changed: [],
      failed: [],
    });
    assert.equal(subject, "[production] automatic rollback: security-event:SQLi exfil");
  });

  it("markSnsThrottling marks SNS's KMS throttling retryable as throttling, and nothing else", async () => {
    const fail = (name: string) =>
      markSnsThrottling(() => Promise.reject(Object.assign(new Error(name), { name })));
    const kms = await fail("KMSThrottlingException")({}).catch((e: unknown) => e);
    assert.deepEqual((kms as { $retryable?: unknown }).$retryable, { throttling: true });
    const denied = await fail("AuthorizationErrorException")({}).catch((e: unknown) => e);
    assert.equal((denied as { $retryable?: unknown }).$retryable, undefined);
    assert.equal(await markSnsThrottling(async (n: number) => n + 1)(1), 2);
  });
});
