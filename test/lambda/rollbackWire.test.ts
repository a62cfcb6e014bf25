import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { isThrottlingError } from "@smithy/core/retry";
import { rollbackBundle } from "../../components/autoRollback";
import {
  REQUEST_TIMEOUT_MS,
  SDK_MAX_ATTEMPTS,
  type RollbackEvent,
  type RollbackResult,
} from "../../lambda/rollback";
import type { RollbackEnvironmentVariables } from "../../rollout/lambdaEnvironment";
import { compositeAlarmName, latchParameterName, securityEventSource } from "../../rollout/names";
import { AwsWire, FAULTS, type WireRule } from "../support/awsWire";

/**
 * The shipped artifact, tested: `rollbackBundle()` (what the function's code asset holds) is
 * written to a directory, `require`d as Lambda's Node.js runtime would load `index.js`, and
 * its `handler` invoked against test/support/awsWire.ts, a local endpoint speaking ELBv2's
 * and SNS's Query protocol and SSM's JSON 1.1. The bundle's own SDK clients are pointed there
 * with AWS_ENDPOINT_URL (the SDK's service-agnostic endpoint variable, read by
 * @smithy/core's getEndpointUrlConfig; the bundle contains it), with fake credentials: the
 * requests are signed, serialized and retried by the bundled SDK exactly as in AWS, and the
 * endpoint records each as AWS receives it.
 */

const STACK = "production";
const ACCOUNT = "123456789012";
const TG = (service: string, colour: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/${service}-${colour}/0123456789abcdef`;
const RULE = (name: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener-rule/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2/${name}`;
const LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const TOPIC = `arn:aws:sns:eu-west-1:${ACCOUNT}:alerts-critical`;
const LATCH = latchParameterName(STACK);

const ENVIRONMENT: RollbackEnvironmentVariables = {
  LISTENER_ARN: LISTENER,
  TARGET_GROUP_PAIRS: JSON.stringify(
    ["web", "api"].map((service) => ({ service, blue: TG(service, "blue"), green: TG(service, "green") })),
  ),
  LATCH_PARAMETER: LATCH,
  TOPIC_ARN: TOPIC,
  STACK,
  COMPOSITE_ALARM_NAME: compositeAlarmName(STACK),
  SECURITY_EVENT_SOURCE: securityEventSource(STACK),
};

/** The SDK's settings as a Lambda container has them (region, credentials), pointed at the wire endpoint. */
function sdkEnvironment(url: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_SESSION_TOKEN: "session",
    // Nothing from the developer's machine: no shared config or credentials, no instance metadata.
    AWS_CONFIG_FILE: path.join(os.tmpdir(), "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(os.tmpdir(), "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    // Lambda runs Node.js 24; the SDK's warning about older Node.js is not about the function.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

const rule = (name: string, actions: Record<string, unknown>[], isDefault = false): WireRule => ({
  RuleArn: RULE(name),
  Priority: isDefault ? "default" : String(10 + name.length),
  IsDefault: isDefault,
  Actions: actions,
});
const weighted = (service: string, blue: number, green: number) =>
  rule(`${service}-weighted`, [
    {
      Type: "forward",
      Order: 1,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: TG(service, "blue"), Weight: blue },
          { TargetGroupArn: TG(service, "green"), Weight: green },
        ],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
      },
    },
  ]);
/** A cohort rule as DescribeRules returns a single-group forward: TargetGroupArn and a one-group ForwardConfig. */
const cohort = (service: string, i: number) =>
  rule(`${service}-cohort-${i}`, [
    {
      Type: "forward",
      Order: 1,
      TargetGroupArn: TG(service, "green"),
      ForwardConfig: {
        TargetGroups: [{ TargetGroupArn: TG(service, "green"), Weight: 1 }],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    },
  ]);
const catchAll = rule(
  "default",
  [{ Type: "fixed-response", Order: 1, FixedResponseConfig: { StatusCode: "404" } }],
  true,
);

/** A listener mid-rollout: a cohort rule and two weighted rules on 75/25, the default rule last. */
const listener = (): WireRule[] => [
  cohort("web", 0),
  weighted("web", 75, 25),
  weighted("api", 75, 25),
  catchAll,
];

const TRIGGERED = "2026-11-22T09:59:41.208+0000";
const alarmEvent: RollbackEvent = {
  source: "aws.cloudwatch",
  alarmArn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:${compositeAlarmName(STACK)}`,
  alarmData: {
    alarmName: compositeAlarmName(STACK),
    state: {
      value: "ALARM",
      reason: "production-errorRate-critical-web transitioned to ALARM",
      reasonData: JSON.stringify({
        triggeringAlarms: [
          {
            arn: `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:production-errorRate-critical-web`,
            state: { value: "ALARM", timestamp: TRIGGERED },
          },
        ],
      }),
      timestamp: TRIGGERED,
    },
  },
};

/** The weights of each weighted rule and the groups of each cohort rule, as the endpoint now holds them. */
function routing(wire: AwsWire): Record<string, string[]> {
  return Object.fromEntries(
    wire.rules
      .filter((r) => !r.IsDefault)
      .map((r) => {
        const forward = r.Actions[0] as {
          ForwardConfig?: { TargetGroups: { TargetGroupArn: string; Weight?: unknown }[] };
        };
        const groups = forward.ForwardConfig?.TargetGroups ?? [];
        return [
          r.RuleArn.slice(r.RuleArn.lastIndexOf("/") + 1),
          groups.map((g) => `${g.TargetGroupArn.split("/")[1]}=${String(g.Weight)}`),
        ];
      }),
  );
}

const ALL_BLUE = {
  "web-cohort-0": ["web-blue=1"],
  "web-weighted": ["web-blue=100", "web-green=0"],
  "api-weighted": ["api-blue=100", "api-green=0"],
};

/** The latch parameter's value as the endpoint holds it. */
function latch(wire: AwsWire): Record<string, unknown> | undefined {
  const found = wire.parameters.get(LATCH);
  return found ? (JSON.parse(found.value) as Record<string, unknown>) : undefined;
}

type Handler = (event: unknown) => Promise<RollbackResult>;

/** An error as the SDK hands its retry strategy one: a name and the HTTP status. */
const sdkError = (name: string, httpStatusCode: number): Parameters<typeof isThrottlingError>[0] => ({
  name,
  message: name,
  $metadata: { httpStatusCode },
});

/**
 * Runs `run` with every `setTimeout` delay divided by `factor`. The SDK's retry backoff is a
 * `setTimeout` (throttling: a random part of 1 s x 2^n), so a throttled call is retried just as
 * the bundle does it, only sooner: which errors are retried, and how often, are unchanged. The
 * adaptive rate limiter measures real time (Date.now) and still waits in real time. Not for
 * tests that set AwsWire delays, which are setTimeouts too.
 */
async function fastTimers<T>(factor: number, run: () => Promise<T>): Promise<T> {
  const real = globalThis.setTimeout;
  const scaled = (handler: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) =>
    real(handler, Math.ceil((delay ?? 0) / factor), ...args);
  globalThis.setTimeout = Object.assign(scaled, real);
  try {
    return await run();
  } finally {
    globalThis.setTimeout = real;
  }
}

describe("the shipped rollback bundle against AWS's wire protocols", () => {
  let dir: string;
  let bundleFile: string;
  let wire: AwsWire;
  let logged: Record<string, unknown>[];
  const saved: Record<string, string | undefined> = {};
  const realLog = console.log;

  /** A fresh Lambda container: the bundle evaluated anew, so its SDK clients are created anew. */
  function container(): Handler {
    delete require.cache[bundleFile];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(bundleFile) as { handler: Handler }).handler;
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollback-bundle-"));
    bundleFile = path.join(dir, "index.js");
    fs.writeFileSync(bundleFile, rollbackBundle());
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    wire = await new AwsWire().start();
    wire.rules = listener();
    const env = { ...ENVIRONMENT, ...sdkEnvironment(wire.url) };
    for (const [key, value] of Object.entries(env)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
    logged = [];
    // The handler logs one JSON object per line (CloudWatch Logs in Lambda): keep them to assert on.
    console.log = (line: unknown) => void logged.push(JSON.parse(String(line)) as Record<string, unknown>);
  });
  afterEach(async () => {
    console.log = realLog;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await wire.close();
  });

  it("ships the SDK's AWS_ENDPOINT_URL support and a handler", () => {
    const code = rollbackBundle();
    assert.ok(code.includes('"AWS_ENDPOINT_URL"'), "the bundled SDK reads AWS_ENDPOINT_URL");
    assert.equal(typeof container(), "function");
  });

  it("moves every rule to blue with the ModifyRule fields AWS receives, then latches and notifies", async () => {
    wire.maxPageSize = 2;
    const result = await container()(alarmEvent);

    // DescribeRules paged with Marker / NextMarker: 4 rules in pages of 2.
    const describes = wire.calls("DescribeRules").map((r) => r.params);
    assert.equal(describes.length, 2);
    assert.deepEqual(describes[0], {
      Action: "DescribeRules",
      Version: "2015-12-01",
      ListenerArn: LISTENER,
      PageSize: "400",
    });
    assert.equal(describes[1]!.Marker, "Mg");

    const modified = Object.fromEntries(wire.calls("ModifyRule").map((r) => [r.params.RuleArn, r.params]));
    assert.deepEqual(modified[RULE("web-weighted")], {
      Action: "ModifyRule",
      Version: "2015-12-01",
      RuleArn: RULE("web-weighted"),
      "Actions.member.1.Type": "forward",
      "Actions.member.1.Order": "1",
      "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": TG("web", "blue"),
      "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight": "100",
      "Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": TG("web", "green"),
      "Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight": "0",
      // Sticky clients must not stay on green after the rollback.
      "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled": "false",
    });
    assert.deepEqual(modified[RULE("web-cohort-0")], {
      Action: "ModifyRule",
      Version: "2015-12-01",
      RuleArn: RULE("web-cohort-0"),
      "Actions.member.1.Type": "forward",
      "Actions.member.1.Order": "1",
      "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": TG("web", "blue"),
      "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight": "1",
      "Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled": "false",
    });
    assert.deepEqual(Object.keys(modified).sort(), [
      RULE("api-weighted"),
      RULE("web-cohort-0"),
      RULE("web-weighted"),
    ]);
    assert.deepEqual(routing(wire), ALL_BLUE);

    // The rules first, then the latch (pending), the notification, the latch (complete).
    const order = wire.requests.map((r) => r.action);
    assert.deepEqual(order.slice(-3), ["PutParameter", "Publish", "PutParameter"]);
    assert.ok(order.lastIndexOf("ModifyRule") < order.indexOf("PutParameter"));

    const expectedLatch = {
      reason: `${compositeAlarmName(STACK)} ALARM: production-errorRate-critical-web transitioned to ALARM`,
      alarm: "production-errorRate-critical-web",
    };
    const puts = wire.calls("PutParameter").map((r) => r.params);
    const at = (JSON.parse(String(puts[0]!.Value)) as { at: string }).at;
    assert.deepEqual(puts, [
      {
        Name: LATCH,
        Type: "String",
        Overwrite: true,
        Value: JSON.stringify({ ...expectedLatch, at, notificationPending: true }),
      },
      { Name: LATCH, Type: "String", Overwrite: true, Value: JSON.stringify({ ...expectedLatch, at }) },
    ]);
    assert.deepEqual(wire.published(), [
      {
        TopicArn: TOPIC,
        Subject: "[production] automatic rollback: production-errorRate-critical-web",
        Message: [
          `Automatic rollback of stack production at ${at}`,
          `Trigger: production-errorRate-critical-web - ${expectedLatch.reason}`,
          `  web: cohort rule -> 100 % blue (${RULE("web-cohort-0")})`,
          `  web: weighted rule -> 100 % blue (${RULE("web-weighted")})`,
          `  api: weighted rule -> 100 % blue (${RULE("api-weighted")})`,
          "Every listener rule is on blue.",
          "pulumi up keeps 100 % blue until the latch is acknowledged: npm run rollout -- resume --stack production",
        ].join("\n"),
      },
    ]);
    assert.deepEqual(result, {
      action: "rolled-back",
      alarm: "production-errorRate-critical-web",
      reason: expectedLatch.reason,
      changed: [
        { ruleArn: RULE("web-cohort-0"), service: "web", kind: "cohort" },
        { ruleArn: RULE("web-weighted"), service: "web", kind: "weighted" },
        { ruleArn: RULE("api-weighted"), service: "api", kind: "weighted" },
      ],
      latchWritten: true,
      notified: true,
    });
  });

  it("has every ModifyRule in flight at once: time to blue is one DescribeRules and one ModifyRule round", async () => {
    wire.delays.set("ModifyRule", 200);
    const handler = container();
    const started = Date.now();
    await handler(alarmEvent);
    assert.equal(wire.maxInFlight.get("ModifyRule"), 3);
    assert.ok(
      Date.now() - started < 3 * 200,
      `took ${Date.now() - started} ms: the three calls did not overlap`,
    );
  });

  it("retries ELB's Throttling (HTTP 400) on DescribeRules and ModifyRule", async () => {
    wire.fail("DescribeRules", FAULTS.elbThrottling, { times: 1 });
    wire.fail("ModifyRule", FAULTS.elbThrottling, {
      times: 2,
      when: (p) => p.RuleArn === RULE("api-weighted"),
    });
    const result = await fastTimers(20, () => container()(alarmEvent));
    assert.deepEqual(
      wire.calls("DescribeRules").map((r) => r.error ?? r.status),
      ["Throttling", 200],
    );
    assert.deepEqual(
      wire
        .calls("ModifyRule")
        .filter((r) => r.params.RuleArn === RULE("api-weighted"))
        .map((r) => r.error ?? r.status),
      ["Throttling", "Throttling", 200],
    );
    assert.deepEqual(routing(wire), ALL_BLUE);
    assert.equal(result.action, "rolled-back");
  });

  for (const status of [429, 400]) {
    const how = status === 429 ? "as AWS models it (HTTP 429)" : "by its name alone (HTTP 400)";
    it(`retries SNS's Throttled ${how}`, async () => {
      // The SDK's classification: ThrottledException is in @smithy/core's THROTTLING_ERROR_CODES.
      assert.equal(isThrottlingError(sdkError("ThrottledException", status)), true);
      wire.fail("Publish", { ...FAULTS.snsThrottled, status }, { times: 1 });
      await fastTimers(20, () => container()(alarmEvent));
      assert.deepEqual(
        wire.calls("Publish").map((r) => `${r.status} ${r.error ?? ""}`.trim()),
        [`${status} Throttled`, "200"],
      );
      assert.equal(wire.published().length, 1);
      assert.equal(latch(wire)?.notificationPending, undefined, "the latch completed");
    });
  }

  it(`abandons a ModifyRule that hangs after REQUEST_TIMEOUT_MS (${REQUEST_TIMEOUT_MS} ms) and retries it`, async () => {
    // Held for 60 s (3 s under fastTimers): the SDK must give up on it long before.
    wire.stall("ModifyRule", 20 * REQUEST_TIMEOUT_MS, { when: (p) => p.RuleArn === RULE("api-weighted") });
    const started = Date.now();
    const result = await fastTimers(20, () => container()(alarmEvent));
    assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms: waited for the hung call`);
    assert.deepEqual(
      wire.received.filter((r) => r.params.RuleArn === RULE("api-weighted")).map((r) => r.status),
      [0, 200],
      "the hung first attempt, still unanswered, and its retry",
    );
    assert.equal(result.action, "rolled-back");
    assert.deepEqual(routing(wire), ALL_BLUE);
  });

  it("retries SNS's KMSThrottling only thanks to markSnsThrottling: a plain SNS client gives up at once", async () => {
    assert.equal(
      isThrottlingError(sdkError("KMSThrottlingException", 400)),
      false,
      "if the SDK starts classifying it, markSnsThrottling can go",
    );
    wire.fail("Publish", FAULTS.snsKmsThrottling, { times: 1 });
    const plain = new SNSClient({ maxAttempts: SDK_MAX_ATTEMPTS, retryMode: "adaptive" });
    await assert.rejects(plain.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" })), {
      name: "KMSThrottlingException",
    });
    assert.equal(wire.calls("Publish").length, 1, "the plain client made one attempt");

    wire.fail("Publish", FAULTS.snsKmsThrottling, { times: 1 });
    await fastTimers(20, () => container()(alarmEvent));
    assert.deepEqual(
      wire
        .calls("Publish")
        .slice(1)
        .map((r) => r.error ?? r.status),
      ["KMSThrottling", 200],
    );
  });

  it("retries a 500 InternalFailure from each of the three services", async () => {
    for (const action of ["DescribeRules", "ModifyRule", "PutParameter", "Publish"]) {
      wire.fail(action, FAULTS.internal, { times: 1 });
    }
    const result = await fastTimers(20, () => container()(alarmEvent));
    assert.equal(result.action, "rolled-back");
    assert.deepEqual(
      ["DescribeRules", "PutParameter", "Publish"].map((a) => wire.calls(a).map((r) => r.status)),
      [
        [500, 200],
        [500, 200, 200],
        [500, 200],
      ],
    );
    assert.equal(wire.calls("ModifyRule").length, 4);
    assert.deepEqual(routing(wire), ALL_BLUE);
  });

  it("one ModifyRule failing for good: the others move, latch and INCOMPLETE notification, then the invocation fails", async () => {
    wire.fail("ModifyRule", FAULTS.elbNotPermitted, { when: (p) => p.RuleArn === RULE("web-weighted") });
    await assert.rejects(container()(alarmEvent), {
      name: "RollbackIncomplete",
      message: `automatic rollback incomplete: 1 rule(s) failed: ${RULE("web-weighted")} (rule is locked)`,
    });
    // A client error: not retried.
    assert.equal(wire.calls("ModifyRule").filter((r) => r.params.RuleArn === RULE("web-weighted")).length, 1);
    assert.deepEqual(routing(wire), { ...ALL_BLUE, "web-weighted": ["web-blue=75", "web-green=25"] });
    assert.equal(latch(wire)?.notificationPending, undefined);
    const [published] = wire.published();
    assert.equal(
      published!.Subject,
      "[production] automatic rollback INCOMPLETE: production-errorRate-critical-web",
    );
    assert.match(
      String(published!.Message),
      new RegExp(`\\n  FAILED ${RULE("web-weighted")}: rule is locked\\n`),
    );
  });

  for (const [what, fault, attempts] of [
    ["always 500", FAULTS.internal, SDK_MAX_ATTEMPTS],
    ["AccessDenied", FAULTS.ssmAccessDenied, 1],
  ] as const) {
    it(`PutParameter ${what}: the rules end blue, the notification still goes out saying LATCH NOT WRITTEN, the invocation fails`, async () => {
      wire.fail("PutParameter", fault);
      await assert.rejects(
        fastTimers(20, () => container()(alarmEvent)),
        {
          name: "RollbackIncomplete",
          message: /latch not written/,
        },
      );
      assert.deepEqual(routing(wire), ALL_BLUE);
      assert.equal(wire.calls("PutParameter").length, attempts, "SDK attempts, and no second write");
      assert.equal(wire.parameters.size, 0);
      const published = wire.published();
      assert.equal(published.length, 1);
      assert.match(String(published[0]!.Subject), /^\[production\] automatic rollback LATCH NOT WRITTEN: /);
      assert.match(
        String(published[0]!.Message),
        /\nLATCH NOT WRITTEN: the next pulumi up would restore green; set rollout:rollback true now/,
      );
      assert.ok(logged.some((l) => l.msg === "LATCH NOT WRITTEN"));
    });
  }

  it("SNS refusing for good: the latch stays pending; the retry, with SNS back, notifies and completes it", async () => {
    wire.fail("Publish", FAULTS.snsAuthorization);
    const handler = container();
    await assert.rejects(handler(alarmEvent), {
      name: "RollbackIncomplete",
      message: /notification not sent: /,
    });
    assert.deepEqual(routing(wire), ALL_BLUE);
    assert.equal(wire.calls("Publish").length, 1, "AuthorizationError (403) is not retried");
    const pending = latch(wire)!;
    assert.equal(pending.notificationPending, true);

    // Lambda retries the same event in the same (warm) container.
    wire.heal();
    const retry = await handler(alarmEvent);
    assert.deepEqual(retry, { ...retry, changed: [], latchWritten: true, notified: true });
    assert.equal(wire.calls("ModifyRule").length, 3, "the retry moved nothing");
    const { notificationPending: _pending, ...complete } = pending;
    assert.deepEqual(latch(wire), complete, "completed, keeping the first attempt's time");
    assert.match(
      String(wire.published()[0]!.Message),
      /already on blue \(an earlier attempt moved them, or green carried no traffic\)/,
    );
  });

  it("SNS failing with 500 every time: five attempts, then the invocation fails with the latch pending", async () => {
    wire.fail("Publish", FAULTS.internal);
    await assert.rejects(
      fastTimers(20, () => container()(alarmEvent)),
      { name: "RollbackIncomplete" },
    );
    assert.equal(wire.calls("Publish").length, SDK_MAX_ATTEMPTS);
    assert.equal(latch(wire)?.notificationPending, true);
  });

  it("the same event twice: the duplicate reads the rules and the latch and writes nothing", async () => {
    const handler = container();
    await handler(alarmEvent);
    const before = wire.requests.length;
    const second = await handler(alarmEvent);
    assert.deepEqual(
      wire.requests.slice(before).map((r) => r.action),
      ["DescribeRules", "GetParameter"],
    );
    assert.deepEqual(second, { ...second, changed: [], latchWritten: false, notified: false });
    assert.equal(wire.published().length, 1);
  });

  it("two invocations at once (two containers): rules end blue, the latch complete, no notification lost", async () => {
    wire.delays.set("ModifyRule", 50);
    const results = await Promise.all([container()(alarmEvent), container()(alarmEvent)]);
    assert.deepEqual(
      results.map((r) => r.action),
      ["rolled-back", "rolled-back"],
    );
    assert.deepEqual(routing(wire), ALL_BLUE);
    assert.equal(latch(wire)?.notificationPending, undefined);
    assert.ok(
      wire.published().length >= 1 && wire.published().length <= 2,
      `${wire.published().length} notifications`,
    );
    assert.ok(wire.requests.every((r) => r.status === 200 || r.error === "ParameterNotFound"));
  });

  it("ignores the composite's OK without a single request", async () => {
    const result = await container()({
      ...alarmEvent,
      alarmData: { ...alarmEvent.alarmData, state: { value: "OK", reason: "recovered" } },
    });
    assert.deepEqual(result, {
      action: "ignored",
      why: "production-auto-rollback is OK: only ALARM rolls back",
    });
    assert.deepEqual(wire.requests, []);
    assert.equal(logged[0]!.msg, "event ignored");
  });

  it("rolls back on an alarm event it cannot parse, and says so in the notification", async () => {
    await container()({ source: "aws.cloudwatch", alarmData: { alarmName: compositeAlarmName(STACK) } });
    assert.deepEqual(routing(wire), ALL_BLUE);
    assert.equal(latch(wire)?.alarm, "unparseable:aws.cloudwatch");
    assert.match(
      String(wire.published()[0]!.Message),
      /^Trigger: unparseable:aws\.cloudwatch - unparseable event from aws\.cloudwatch: rolling back \(alarmData\.state is undefined, not an object\)$/m,
    );
  });
});
