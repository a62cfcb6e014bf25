import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { rollbackCommand, rollbackSubject, SNS_SUBJECT_MAX } from "../../cli/commands/rollback";
import type { memoryHistoryStore } from "../../cli/history";
import { blueActions } from "../../rollout/blueRouting";
import { parseRolloutConfig } from "../../rollout/config";
import { RolloutState, rolloutStateRecord, stateRecordProblems } from "../../rollout/state";
import { planTraffic } from "../../rollout/traffic";
import {
  alb,
  calls,
  CRITICAL_TOPIC,
  describeRulesCalls,
  INFO_TOPIC,
  latch,
  modifyRuleCalls,
  noLatch,
  published,
  resetAwsMocks,
  setup,
  sns,
  ssm,
} from "../support/liveStack";

beforeEach(resetAwsMocks);

/** The staging stack's pairs as the Lambda gets them: what `blueActions` is asked with. */
const PAIRS = ["web", "api"].map((service) => ({
  service,
  blue: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/router-${service}-blue-tg/abc`,
  green: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/router-${service}-green-tg/abc`,
}));

const indexOf = (prefix: string) => calls.findIndex((c) => c.startsWith(prefix));
const lastIndexOf = (prefix: string) => calls.reduce((last, c, i) => (c.startsWith(prefix) ? i : last), -1);

describe("rollout rollback: traffic first, then config and up", () => {
  it("moves every rule with the Lambda's ModifyRule calls before anything else, tells the critical topic, then sets config and runs up", async () => {
    const { ctx, out, backend } = setup("staging");
    const before: Rule[] = structuredClone(alb.rules);
    assert.equal(await rollbackCommand({ reason: "p95 above 300 ms", json: true }, ctx), 0);

    // Exactly what blueActions gives for each rule still on green (the rollback Lambda's own calls).
    const expected = before.flatMap((rule) => {
      const plan = blueActions(rule, PAIRS);
      return plan ? [{ RuleArn: rule.RuleArn, Actions: plan.actions }] : [];
    });
    assert.equal(expected.length, 38); // 18 cohort rules (exact cookies) and the weighted rule, per service
    assert.deepEqual(
      modifyRuleCalls().sort((a, b) => a.RuleArn!.localeCompare(b.RuleArn!)),
      expected.sort((a, b) => a.RuleArn!.localeCompare(b.RuleArn!)),
    );

    // Order: every ModifyRule, then the publish, then config, then the one up, then the rollback
    // event to the info topic (and the release history).
    assert.ok(lastIndexOf("ModifyRule") < indexOf("Publish"), calls.join("\n"));
    assert.ok(indexOf("Publish") < indexOf("set "), calls.join("\n"));
    assert.deepEqual(calls.slice(indexOf("set ")), [
      "set rollback=true,rollbackReason=p95 above 300 ms,revision=1",
      "up broader-pilot/10/true",
      "Publish [staging] rollout rollback",
    ]);
    const event = published().at(-1)!;
    assert.equal(event.TopicArn, INFO_TOPIC);
    assert.deepEqual(event.Message!.split("\n"), [
      "manual rollback of staging: p95 above 300 ms",
      "stack: staging",
      `at: ${(ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events[0]!.at}`,
      "reason: p95 above 300 ms",
      "onBlue: true",
      `timeToBlueSeconds: ${JSON.parse(out.text()).timeToBlueSeconds}`,
      "reconciled: true",
    ]);

    const result = JSON.parse(out.text());
    assert.equal(result.verified, true);
    assert.equal(result.reconciled, true);
    assert.equal(result.limitSeconds, 900);
    assert.equal(result.withinLimit, true);
    assert.ok(result.timeToBlueSeconds > 0);
    assert.ok(result.timeToReconciledSeconds > result.timeToBlueSeconds);
    assert.equal(result.rules.moved.length, 38);
    assert.deepEqual(result.rules.failed, []);
    assert.equal(backend.raw.rollback, "true");
    assert.equal(backend.raw.rollbackReason, "p95 above 300 ms");
  });

  it("time-to-blue is taken before up starts: a slow up counts in time-to-reconciled only", async () => {
    const { ctx, out, backend, advanceClock } = setup("staging");
    let blueBeforeUp: string[] = [];
    backend.onUp = () => {
      blueBeforeUp = [...calls];
      advanceClock(1000_000);
    };
    assert.equal(await rollbackCommand({ reason: "slow up", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.ok(result.timeToBlueSeconds < 60, String(result.timeToBlueSeconds));
    assert.ok(result.timeToReconciledSeconds > 1000);
    assert.equal(result.withinLimit, true);
    // When up started, every rule had already been moved.
    assert.equal(blueBeforeUp.filter((c) => c.startsWith("ModifyRule")).length, 38);
  });

  it("a slow ModifyRule counts: time-to-blue over the playbook's limit is withinLimit false", async () => {
    const { ctx, out, advanceClock } = setup("staging");
    alb.onModify = () => advanceClock(50_000);
    assert.equal(await rollbackCommand({ reason: "slow", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.ok(result.timeToBlueSeconds > 900);
    assert.equal(result.withinLimit, false);
  });

  it("prints progress: each rule moved, time-to-blue against the limit, then the reconcile and both times", async () => {
    const { ctx, out } = setup("staging");
    assert.equal(await rollbackCommand({ reason: "p95" }, ctx), 0);
    const text = out.text();
    assert.match(text, /^\[00:02\] rolling back staging: p95$/m);
    assert.match(text, /\] {3}web: weighted rule -> 100 % blue \(web-weighted\)$/m);
    assert.match(text, /\] {3}api: cohort rule -> 100 % blue \(api-cohort-8\)$/m);
    assert.match(
      text,
      /\] every service is 100 % blue \(verified on the ALB\): time-to-blue \d+ s against the playbook's 15 min limit$/m,
    );
    assert.match(text, /\] told the critical topic: "\[staging\] manual rollback: p95"$/m);
    assert.match(text, /\] pulumi up \(rollback\)$/m);
    assert.match(
      text,
      /\] time-to-blue \d+ s, time-to-reconciled \d+ s; within the playbook's 15 min limit \(judged on time-to-blue\)$/m,
    );
    // Time-to-blue is printed before `up` starts.
    assert.ok(text.indexOf("time-to-blue") < text.indexOf("pulumi up (rollback)"));
  });

  it("--json: the shape", async () => {
    const { ctx, out } = setup("staging");
    assert.equal(await rollbackCommand({ reason: "p95", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.deepEqual(Object.keys(result), [
      "command",
      "reason",
      "verified",
      "problems",
      "rules",
      "timeToBlueSeconds",
      "timeToReconciledSeconds",
      "limitSeconds",
      "withinLimit",
      "notified",
      "notification",
      "reconciled",
      "config",
    ]);
    assert.deepEqual(
      [result.command, result.reason, result.problems, result.notified, result.config],
      ["rollback", "p95", [], true, "rollout:rollback=true and rollout:rollbackReason set"],
    );
    assert.deepEqual(Object.keys(result.rules), ["moved", "failed"]);
    assert.deepEqual(
      result.rules.moved.find((m: { ruleArn: string }) => m.ruleArn === "web-weighted"),
      {
        ruleArn: "web-weighted",
        service: "web",
        kind: "weighted",
      },
    );
    assert.deepEqual(result.notification, {
      topicArn: CRITICAL_TOPIC,
      subject: "[staging] manual rollback: p95",
      messageId: result.notification.messageId,
    });
    assert.equal(typeof result.timeToBlueSeconds, "number");
    assert.equal(typeof result.timeToReconciledSeconds, "number");
  });

  it("rules already on blue are not touched: a repeated rollback moves nothing and still reconciles", async () => {
    const { ctx, out } = setup("staging", { rollback: "true" });
    assert.equal(await rollbackCommand({ reason: "again" }, ctx), 0);
    assert.deepEqual(modifyRuleCalls(), []);
    assert.match(out.text(), /every listener rule of this stack was already on blue/);
    assert.deepEqual(calls.slice(-3), [
      "set rollback=true,rollbackReason=again,revision=1",
      "up broader-pilot/10/true",
      "Publish [staging] rollout rollback",
    ]);
  });

  it("follows DescribeRules' pages (PageSize 400) and moves the rules of every page", async () => {
    const { ctx } = setup("staging");
    alb.pageSize = 7;
    assert.equal(await rollbackCommand({ reason: "paged" }, ctx), 0);
    assert.equal(modifyRuleCalls().length, 38);
    // The move's own reads: every page asked with PageSize 400, following NextMarker.
    const moveReads = describeRulesCalls().filter((input) => input.PageSize === 400);
    // 40 rules (38 to move, 2 defaults) in pages of 7.
    assert.deepEqual(
      moveReads.map((input) => input.Marker),
      [undefined, "7", "14", "21", "28", "35"],
    );
  });
});

describe("rollout rollback: the reason", () => {
  it("goes to the critical topic (subject under 100 characters, the whole reason in the message) and into config", async () => {
    const { ctx, backend } = setup("staging");
    const reason = `INC-4711: p95 above 300 ms on web since 09:40 ${"and more detail ".repeat(8)}`.trim();
    assert.equal(await rollbackCommand({ reason }, ctx), 0);
    const [publish] = published();
    assert.equal(publish!.TopicArn, CRITICAL_TOPIC);
    assert.ok(Array.from(publish!.Subject!).length <= SNS_SUBJECT_MAX, publish!.Subject);
    assert.match(publish!.Subject!, /^\[staging\] manual rollback: INC-4711: p95 above 300 ms .*\.\.\.$/);
    assert.match(publish!.Message!, new RegExp(`^Reason: ${reason}$`, "m"));
    assert.match(
      publish!.Message!,
      /^Every service is 100 % blue on the ALB \(verified \d+ s after the command started\)\.$/m,
    );
    assert.match(publish!.Message!, /rollback --clear --stack staging/);
    assert.equal(backend.raw.rollbackReason, reason);
  });

  it("the state record carries it while rollout:rollback is true (the program writes it on up)", async () => {
    const { ctx, backend } = setup("staging");
    assert.equal(await rollbackCommand({ reason: "p95 above 300 ms" }, ctx), 0);
    const config = parseRolloutConfig(backend.raw, "staging");
    assert.equal(config.rollbackReason, "p95 above 300 ms");
    const record = RolloutState.parse(rolloutStateRecord(config, planTraffic(config), "clear"));
    assert.equal(record.rollbackReason, "p95 above 300 ms");
    const cleared = rolloutStateRecord({ ...config, rollback: false }, planTraffic(config), "clear");
    assert.equal("rollbackReason" in cleared, false);
    assert.deepEqual(stateRecordProblems(config), []);
  });

  it("a reason that reads as JSON (42, true, [1]) stays text in config", () => {
    const { backend } = setup("staging");
    for (const reason of ["42", "true", "[1]"])
      assert.equal(
        parseRolloutConfig({ ...backend.raw, rollbackReason: reason }, "staging").rollbackReason,
        reason,
      );
  });

  it("the subject: control characters become spaces, cut at 99 characters without splitting a character", () => {
    assert.equal(
      rollbackSubject("prod", "line one\nline\ttwo", true),
      "[prod] manual rollback: line one line two",
    );
    const subject = rollbackSubject("prod", "😀".repeat(200), false);
    assert.equal(Array.from(subject).length, SNS_SUBJECT_MAX);
    assert.ok(subject.startsWith("[prod] manual rollback INCOMPLETE: 😀"));
    assert.ok(subject.endsWith("😀..."));
  });

  it("is required, not blank, at most 200 characters: refused before Pulumi or AWS is touched", async () => {
    const { ctx, backend } = setup("staging");
    await assert.rejects(rollbackCommand({}, ctx), /--reason: expected why you are rolling back/);
    await assert.rejects(
      rollbackCommand({ reason: "   " }, ctx),
      /--reason: expected why you are rolling back, got only spaces/,
    );
    await assert.rejects(
      rollbackCommand({ reason: "x".repeat(201) }, ctx),
      /--reason: expected at most 200 characters \(rollout:rollbackReason, kept in the state record\), got 201/,
    );
    assert.deepEqual([calls, backend.ups, backend.sets], [[], [], []]);
  });

  it("a publish that fails does not stop the rollback: said, notified false, exit 0", async () => {
    const { ctx, out, backend } = setup("staging");
    sns
      .on(PublishCommand)
      .rejects(
        Object.assign(new Error("not authorized to kms:GenerateDataKey"), { name: "KMSAccessDenied" }),
      );
    assert.equal(await rollbackCommand({ reason: "p95", json: true }, ctx), 0);
    const result = JSON.parse(out.text());
    assert.equal(result.notified, false);
    assert.match(result.notification.error, /alerts-critical: not authorized to kms:GenerateDataKey/);
    assert.deepEqual(backend.ups, ["broader-pilot/10/true"]);
    assert.match(out.errors.join("\n"), /the critical topic was NOT told: .*tell the on-call yourself/);
  });
});

describe("rollout rollback: when something fails", () => {
  it("a ModifyRule that fails: names the rules on blue and those not, still runs up with rollback=true, exit 1", async () => {
    const { ctx, out, backend } = setup("staging");
    alb.failModify.set("api-weighted", new Error("Rule is being modified by another request"));
    assert.equal(await rollbackCommand({ reason: "p95" }, ctx), 1);
    const text = out.text();
    assert.match(text, /FAILED api: weighted rule api-weighted: Rule is being modified by another request/);
    assert.match(text, /NOT on blue: api: 10 % of general traffic still on green/);
    assert.match(
      text,
      /rules on blue: web cohort \(web-cohort-0\), .*web weighted \(web-weighted\), api cohort \(api-cohort-0\)/,
    );
    assert.match(text, /rules still forwarding to green: api weighted \(api-weighted\)$/m);
    assert.match(text, /the critical topic: "\[staging\] manual rollback INCOMPLETE: p95"/);
    // up still runs, with config saying blue, and finishes the job.
    assert.deepEqual(backend.ups, ["broader-pilot/10/true"]);
    assert.ok(lastIndexOf("ModifyRule") < indexOf("up "));
    assert.match(text, /time-to-blue \d+ s \(by pulumi up: the listener rules did not all move\)/);
    assert.deepEqual(out.errors, ["error: rollback: ModifyRule failed for api-weighted"]);
  });

  it("--json on a partial failure: the failed rule, each rule's state, time-to-blue from up", async () => {
    const { ctx, out } = setup("staging");
    alb.failModify.set("web-cohort-3", new Error("Rule is being modified"));
    assert.equal(await rollbackCommand({ reason: "p95", json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.deepEqual(result.rules.failed, [
      { ruleArn: "web-cohort-3", service: "web", kind: "cohort", error: "Rule is being modified" },
    ]);
    assert.equal(result.rules.moved.length, 37);
    assert.deepEqual(
      result.rules.states.filter((s: { onBlue: boolean }) => !s.onBlue),
      [{ ruleArn: "web-cohort-3", service: "web", kind: "cohort", onBlue: false }],
    );
    assert.equal(result.rules.states.length, 38);
    assert.equal(result.verified, true); // after up
    assert.equal(result.timeToBlueSeconds, result.timeToReconciledSeconds);
    assert.deepEqual([result.failed, result.error], [true, "ModifyRule failed for web-cohort-3"]);
  });

  it("outputs that cannot be read: no rule moved, up with rollback=true moves them, exit 1", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.outputs = async () => {
      throw new Error("no outputs: the stack has never been deployed");
    };
    assert.equal(await rollbackCommand({ reason: "p95", json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.deepEqual(modifyRuleCalls(), []);
    assert.match(result.rules.error, /the stack outputs could not be read: no outputs/);
    assert.deepEqual(backend.ups, ["broader-pilot/10/true"]);
    assert.equal(result.notified, false);
  });

  it("up fails after traffic is blue: says traffic IS blue, config is set, what to retry; exit 1", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.upFails = true;
    assert.equal(await rollbackCommand({ reason: "p95" }, ctx), 1);
    const text = out.text();
    assert.match(text, /rollback's reconcile FAILED: pulumi up failed \(rollback\); see the output above/);
    assert.match(
      text,
      /traffic IS blue: every service 100 % blue on the ALB \(read again now; time-to-blue \d+ s\)/,
    );
    assert.match(
      text,
      /config: rollout:rollback stays true and rollout:rollbackReason set: the next `up` keeps 100 % blue/,
    );
    assert.match(
      text,
      /retry the reconcile: `pulumi up --refresh -s staging` with the policy pack, or this command again/,
    );
    assert.deepEqual([backend.raw.rollback, backend.raw.rollbackReason], ["true", "p95"]);
    assert.deepEqual(out.errors, ["error: rollback: pulumi up failed (rollback); see the output above"]);
  });

  it("up fails, --json: reconciled false, time-to-blue kept and judged, no time-to-reconciled", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.upFails = true;
    assert.equal(await rollbackCommand({ reason: "p95", json: true }, ctx), 1);
    const result = JSON.parse(out.text());
    assert.deepEqual(
      [result.reconciled, result.verified, result.withinLimit, result.timeToReconciledSeconds, result.failed],
      [false, true, true, null, true],
    );
    assert.equal(typeof result.timeToBlueSeconds, "number");
    assert.match(result.config, /rollout:rollback stays true/);
  });

  it("config cannot be set after traffic is blue: says so and what to set before any other up; no up", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.setFails = true;
    assert.equal(await rollbackCommand({ reason: "p95" }, ctx), 1);
    assert.deepEqual(backend.ups, []);
    assert.match(out.text(), /traffic IS blue/);
    assert.match(
      out.text(),
      /config: rollout:rollback could NOT be set: before any other `up`, `pulumi config set rollout:rollback true -s staging`/,
    );
    assert.doesNotMatch(out.text(), /retry the reconcile/);
    assert.deepEqual(out.errors, [
      "error: rollback: pulumi config set failed: pulumi config set: the backend is unreachable",
    ]);
  });

  it("an up that puts green back (a broken deploy) is reported: exit 1", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.albStuckOnGreen = true;
    assert.equal(await rollbackCommand({ reason: "drill" }, ctx), 1);
    assert.match(out.text(), /NOT on blue after pulumi up: web: 50 % of general traffic still on green/);
    assert.deepEqual(out.errors, ["error: rollback: not every service is on blue after pulumi up"]);
  });
});

describe("rollout rollback --clear", () => {
  it("sets rollback false, removes the reason, runs up and verifies the ALB serves the plan again", async () => {
    const { ctx, out, backend } = setup("staging", { rollback: "true", rollbackReason: "p95" });
    assert.equal(await rollbackCommand({ clear: true }, ctx), 0);
    assert.equal(backend.raw.rollback, "false");
    assert.equal(backend.raw.rollbackReason, undefined);
    assert.deepEqual(backend.removed, ["rollbackReason"]);
    assert.deepEqual(backend.ups, ["broader-pilot/10/false"]);
    assert.match(out.text(), /rollback cleared; the ALB serves the plan for broader-pilot at 10 %/);
    // The release history and the info topic hear of it, with the reason it ends.
    const events = (ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.summary, e.details]),
      [
        [
          "rollback",
          "rollback cleared on staging: back to broader-pilot at greenWeight 10 %",
          { cleared: true, phase: "broader-pilot", greenWeight: 10, verified: true, reason: "p95" },
        ],
      ],
    );
    assert.deepEqual(
      published().map((p) => [p.TopicArn, p.Subject]),
      [[INFO_TOPIC, "[staging] rollout rollback"]],
    );
  });

  it("a failed up puts rollback and its reason back", async () => {
    const { ctx, out, backend } = setup("staging", { rollback: "true", rollbackReason: "p95" });
    backend.upFails = true;
    assert.equal(await rollbackCommand({ clear: true }, ctx), 1);
    assert.deepEqual([backend.raw.rollback, backend.raw.rollbackReason], ["true", "p95"]);
    assert.match(out.text(), /config: restored rollout:rollback to true and rollout:rollbackReason/);
    // Nothing ended: no event.
    assert.deepEqual(published(), []);
  });

  it("without a stored reason removes nothing", async () => {
    const { ctx, backend } = setup("staging", { rollback: "true" });
    assert.equal(await rollbackCommand({ clear: true }, ctx), 0);
    assert.deepEqual(backend.removed, []);
  });

  it("refuses while the latch is set, and does nothing when rollback is already false", async () => {
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
