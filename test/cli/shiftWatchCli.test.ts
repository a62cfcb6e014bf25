import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { readAlbTraffic, readStackOutputs, type CommandContext } from "../../cli/backend";
import { shiftCommand } from "../../cli/commands/shift";
import { EXIT } from "../../cli/output";
import { interruptibleSleep } from "../../cli/rollout";
import type { memoryHistoryStore } from "../../cli/history";
import {
  cloudwatch,
  firing,
  INFO_TOPIC,
  interruptible,
  published,
  resetAwsMocks,
  serveAlarmStates,
  serveAlb,
  setup,
  type AlarmStateValue,
} from "../support/liveStack";

/**
 * `rollout shift` while it runs: a heartbeat at every alarm read between steps, Ctrl-C at a safe
 * point (never inside an `up`) with config and ALB in agreement, and a rollout event per step
 * and per ending, kept in the release history and published to the info topic.
 */

beforeEach(resetAwsMocks);

const untimed = (lines: string[]) => lines.map((l) => l.replace(/^\[\d\d:\d\d\] /, ""));

/** The shift events the memory history store holds, by summary. */
const eventSummaries = (ctx: CommandContext) =>
  ((ctx.history as ReturnType<typeof memoryHistoryStore>).history.current?.events ?? []).map(
    (e) => e.summary,
  );

/** Green's weight per service on the fake ALB, read as the CLI reads it. */
async function albGreen(ctx: CommandContext): Promise<Record<string, number>> {
  const traffic = await readAlbTraffic(ctx.aws, await readStackOutputs(ctx.backend));
  return Object.fromEntries(traffic.map((t) => [t.service, t.green]));
}

/** Publishes: their topic, subject and the message's first line (the event's summary). */
const infoPublishes = () => published().map((p) => [p.TopicArn, p.Subject, p.Message?.split("\n")[0]]);

/** Four of staging's own alarms, and one of another stack with the same prefix (never counted). */
const QUIET: Record<string, AlarmStateValue> = {
  "staging-auto-rollback": "OK",
  "staging-errorRate-critical-api": "OK",
  "staging-errorRate-warning-web": "OK",
  "staging-rowsPerSecond-critical": "INSUFFICIENT_DATA",
  "staging-2-errorRate-critical-api": "ALARM",
};

describe("rollout shift: a heartbeat at every alarm read between steps", () => {
  it("alarm counts by state, green's weight and the time to the next step, every minute", async () => {
    const { ctx, out } = setup("staging", { greenWeight: "0" });
    // DescribeAlarms calls: 1 before the shift, 2-4 after step 1 (0, 60, 120 s), 5 after step 2.
    serveAlarmStates((call) =>
      call === 3 || call === 4 ? { ...QUIET, "staging-errorRate-warning-web": "ALARM" } : QUIET,
    );
    assert.equal(await shiftCommand({ to: "10", interval: "2m" }, ctx), 0);
    // The total time depends on how often the fake clock is read: only its form is asserted.
    assert.match(out.lines.at(-1)!, /\] green at 10 %, verified on the ALB \(2 min \d+ s\)$/);
    assert.deepEqual(untimed(out.lines).slice(0, -1), [
      "plan: green 0 % -> 5 % -> 10 % in 2 steps of at most 5 points, 2 min of alarm watching between steps (from --interval; step from phase broader-pilot's shift defaults in playbook tbs-strategy-framework)",
      "warning: 2 min between steps is less than the 11 min the slowest automatic rollback needs (rowsPerSecond critical: 600 s of data, evaluated up to 60 s later): a breach one step causes may first fire after the next step",
      "step 1/2: greenWeight 5 %",
      "pulumi up (greenWeight 5)",
      "  Updating (fake)",
      "pulumi up succeeded",
      "watching alarms for 2 min before the next step",
      "heartbeat: green at 5 %; alarms 0 ALARM, 3 OK, 1 INSUFFICIENT_DATA; next step (10 %) in 2 min",
      "alarm in ALARM: staging-errorRate-warning-web (warning, playbook action alert): not a rollback trigger; the shift goes on",
      "heartbeat: green at 5 %; alarms 1 ALARM, 2 OK, 1 INSUFFICIENT_DATA; next step (10 %) in 60 s",
      "heartbeat: green at 5 %; alarms 1 ALARM, 2 OK, 1 INSUFFICIENT_DATA; next step (10 %) now",
      "step 2/2: greenWeight 10 %",
      "pulumi up (greenWeight 10)",
      "  Updating (fake)",
      "pulumi up succeeded",
    ]);
  });

  it("with --json the heartbeats go to stderr, stdout is the one JSON document", async () => {
    const { ctx, out } = setup("staging", { greenWeight: "0" });
    serveAlarmStates(() => QUIET);
    assert.equal(await shiftCommand({ to: "10", interval: "1m", json: true }, ctx), 0);
    assert.equal(JSON.parse(out.text()).completed, true);
    assert.deepEqual(
      untimed(out.errors).filter((l) => l.startsWith("heartbeat:")),
      [
        "heartbeat: green at 5 %; alarms 0 ALARM, 3 OK, 1 INSUFFICIENT_DATA; next step (10 %) in 60 s",
        "heartbeat: green at 5 %; alarms 0 ALARM, 3 OK, 1 INSUFFICIENT_DATA; next step (10 %) now",
      ],
    );
  });

  it("no heartbeat for a one-step shift: nothing to wait for", async () => {
    const { ctx, out, sleeps } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "5" }, ctx), 0);
    assert.deepEqual(sleeps, []);
    assert.ok(!out.lines.some((l) => l.includes("heartbeat")));
  });
});

describe("rollout shift: Ctrl-C stops at a safe point and says where traffic stands", () => {
  it("mid-wait: stops before the next step, config and ALB agree at the step reached, exit 130", async () => {
    const { ctx, out, backend, sleeps } = setup("staging", { greenWeight: "0" });
    interruptible(ctx, 2); // during the second minute of the wait after step 1
    assert.equal(await shiftCommand({ to: "10" }, ctx), EXIT.interrupted);
    assert.equal(EXIT.interrupted, 130);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false"]);
    assert.deepEqual(sleeps, [60_000], "the interrupted sleep returned at once");
    assert.equal(
      cloudwatch.commandCalls(DescribeAlarmsCommand).length,
      4,
      "before the shift; after step 1 at 0 and 60 s; once more after Ctrl-C (a rollback alarm still wins)",
    );
    assert.equal(backend.raw.greenWeight, "5");
    assert.deepEqual(await albGreen(ctx), { web: 5, api: 5 });
    assert.deepEqual(untimed(out.lines).slice(-5), [
      "heartbeat: green at 5 %; alarms 0 ALARM, 0 OK, 0 INSUFFICIENT_DATA; next step (10 %) in 16 min",
      "heartbeat: green at 5 %; alarms 0 ALARM, 0 OK, 0 INSUFFICIENT_DATA; next step (10 %) in 15 min",
      "interrupted (Ctrl-C): the shift stopped with 1 of 2 steps done",
      "green at 5 % on the ALB and in rollout:greenWeight, which agree",
      "to go on to 10 %: npm run rollout -- shift --stack staging --to 10",
    ]);
  });

  it("mid-wait with --json: one JSON document with interrupted: true and the weight", async () => {
    const { ctx, out } = setup("staging", { greenWeight: "0" });
    interruptible(ctx, 1);
    assert.equal(await shiftCommand({ to: "10", json: true }, ctx), 130);
    const { seconds, ...result } = JSON.parse(out.text());
    assert.ok(typeof seconds === "number" && seconds > 0);
    assert.deepEqual(result, {
      command: "shift",
      completed: false,
      interrupted: true,
      from: 0,
      to: 10,
      applied: [5],
      weight: 5,
      configWeight: 5,
      alb: { web: 5, api: 5 },
      problems: [],
      agree: true,
    });
  });

  it("during an up: that up finishes and is verified, then the shift stops before waiting", async () => {
    const { ctx, out, backend, sleeps } = setup("staging", { greenWeight: "0" });
    const controller = interruptible(ctx);
    backend.onUp = () => controller.abort(); // Ctrl-C while `pulumi up` runs
    assert.equal(await shiftCommand({ to: "10" }, ctx), 130);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false"]);
    assert.deepEqual(sleeps, []);
    assert.equal(backend.raw.greenWeight, "5");
    assert.deepEqual(await albGreen(ctx), { web: 5, api: 5 });
    assert.equal(
      cloudwatch.commandCalls(DescribeAlarmsCommand).length,
      2,
      "before the shift, and once after the step: a rollback alarm still wins",
    );
    const lines = untimed(out.lines);
    assert.ok(
      lines.indexOf("pulumi up succeeded") <
        lines.indexOf("interrupted (Ctrl-C): the shift stopped with 1 of 2 steps done"),
    );
    assert.equal(lines.at(-2), "green at 5 % on the ALB and in rollout:greenWeight, which agree");
  });

  it("during the last up: the shift has reached its target, exit 0", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "0" });
    const controller = interruptible(ctx);
    backend.onUp = () => {
      if (backend.ups.length === 2) controller.abort();
    };
    assert.equal(await shiftCommand({ to: "10", interval: "1m" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.match(out.lines.at(-1)!, /green at 10 %, verified on the ALB/);
  });

  it("before the first step: nothing moved, green where it was", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "0" });
    const controller = interruptible(ctx);
    // Ctrl-C while the shift reads the alarms before it starts.
    cloudwatch.on(DescribeAlarmsCommand).callsFake(() => {
      controller.abort();
      return { MetricAlarms: [], CompositeAlarms: [] };
    });
    assert.equal(await shiftCommand({ to: "10" }, ctx), 130);
    assert.deepEqual(backend.ups, []);
    assert.deepEqual(untimed(out.lines).slice(-3), [
      "interrupted (Ctrl-C): the shift stopped with 0 of 2 steps done",
      "green at 0 % on the ALB and in rollout:greenWeight, which agree",
      "to go on to 10 %: npm run rollout -- shift --stack staging --to 10",
    ]);
  });

  it("a rollback alarm read after the interrupted up still rolls back (exit 1, not 130)", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "0" });
    const controller = interruptible(ctx);
    backend.onUp = () => controller.abort();
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-errorRate-critical-api"));
    assert.equal(await shiftCommand({ to: "10", json: true }, ctx), 1);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/5/true"]);
    assert.equal(JSON.parse(out.text()).rolledBack, true);
  });
});

describe("rollout shift: each step and each ending is a rollout event", () => {
  const info = (summary: string) => [INFO_TOPIC, "[staging] rollout shift", summary];

  it("each step: kept in the release history and published to the info topic", async () => {
    const { ctx } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10", interval: "1m" }, ctx), 0);
    const summaries = [
      "shift staging: green 0 % -> 5 % (step 1 of 2)",
      "shift staging: green 5 % -> 10 % (step 2 of 2)",
    ];
    assert.deepEqual(eventSummaries(ctx), summaries);
    assert.deepEqual(infoPublishes(), summaries.map(info));
    const events = (ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.details]),
      [
        ["shift", { from: 0, to: 5, step: 1, steps: 2, target: 10 }],
        ["shift", { from: 5, to: 10, step: 2, steps: 2, target: 10 }],
      ],
    );
  });

  it("Ctrl-C: the step done, then the stop", async () => {
    const { ctx } = setup("staging", { greenWeight: "0" });
    interruptible(ctx, 1);
    assert.equal(await shiftCommand({ to: "10" }, ctx), 130);
    assert.deepEqual(eventSummaries(ctx), [
      "shift staging: green 0 % -> 5 % (step 1 of 2)",
      "shift staging: stopped by Ctrl-C at green 5 % (1 of 2 steps done; target 10 %)",
    ]);
    assert.equal(published().length, 2);
    assert.ok(published().every((p) => p.TopicArn === INFO_TOPIC));
    assert.match(
      published()[1]!.Message!,
      /^shift staging: stopped by Ctrl-C at green 5 %.*\nstack: staging\n/,
    );
  });

  it("a rollback mid-shift: the step, then the rollback", async () => {
    const { ctx } = setup("staging", { greenWeight: "0" });
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [] })
      .resolves(firing("staging-errorRate-critical-api"));
    assert.equal(await shiftCommand({ to: "10", interval: "1m" }, ctx), 1);
    assert.deepEqual(eventSummaries(ctx), [
      "shift staging: green 0 % -> 5 % (step 1 of 2)",
      "shift staging: rolled back at green 5 % (staging-errorRate-critical-api); every service 100 % blue, verified on the ALB",
    ]);
    assert.deepEqual(
      published().map((p) => p.TopicArn),
      [INFO_TOPIC, INFO_TOPIC],
    );
  });

  it("a failed up: the step before, then the failure and what became of the config", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "0" });
    backend.failingUps = [2];
    assert.equal(await shiftCommand({ to: "10", interval: "1m" }, ctx), 1);
    assert.deepEqual(eventSummaries(ctx), [
      "shift staging: green 0 % -> 5 % (step 1 of 2)",
      "shift staging: pulumi up failed at step 2 of 2 (green 5 % -> 10 %); config: restored rollout:greenWeight to 5 %",
    ]);
  });

  it("the config written to the weight the ALB already served: said as such", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "10" });
    serveAlb({ ...backend.raw, greenWeight: "5" }, "staging");
    assert.equal(await shiftCommand({ to: "5" }, ctx), 0);
    assert.deepEqual(eventSummaries(ctx), [
      "shift staging: rollout:greenWeight 10 % -> 5 %, the weight the ALB already served (step 1 of 1)",
    ]);
  });
});

describe("interruptibleSleep (the live context's wait)", () => {
  it("ends at once when Ctrl-C came before it, and early when Ctrl-C comes during it", async () => {
    const done = new AbortController();
    done.abort();
    const started = Date.now();
    await interruptibleSleep(60_000, done.signal);
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 20);
    await interruptibleSleep(60_000, interrupt.signal);
    assert.ok(Date.now() - started < 5_000, "a 60 s wait was not cut short");
  });
});
