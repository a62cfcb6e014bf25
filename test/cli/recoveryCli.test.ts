import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DeleteParameterCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { fileHistoryStore } from "../../cli/history";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { moveRulesToBlue } from "../../rollout/blueRouting";
import { latchParameterName } from "../../rollout/names";
import { alb, cloudwatch, firing, published, resetAwsMocks, setup, ssm } from "../support/liveStack";

/*
 * Issue 13, acceptance: "automatic rollback in limited-pilot -> acknowledge -> restore -> cohort
 * rules back on green, verified on the (fake) ALB". In limited-pilot (cap 0 %) the pilot users
 * reach green only through the cohort rules; the rollback function points those at blue.
 */

beforeEach(resetAwsMocks);

const STACK = "production";
const TG = (service: string, colour: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/router-${service}-${colour}-tg/abc`;
const PAIRS = ["web", "api"].map((service) => ({
  service,
  blue: TG(service, "blue"),
  green: TG(service, "green"),
}));
const LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/https";
const LATCH = {
  reason: "errorRate-critical-web in ALARM",
  alarm: "production-auto-rollback",
  at: "2026-11-22T09:00:00.000Z",
};

/** Rules forwarding to green on the fake ALB, per kind. */
function rulesToGreen(): { cohort: number; weighted: number } {
  const greens = new Set(PAIRS.map((p) => p.green));
  let cohort = 0;
  let weighted = 0;
  for (const rule of alb.rules)
    for (const action of rule.Actions ?? []) {
      if (action.TargetGroupArn && greens.has(action.TargetGroupArn)) cohort += 1;
      for (const tg of action.ForwardConfig?.TargetGroups ?? [])
        if (greens.has(tg.TargetGroupArn!) && (tg.Weight ?? 0) > 0) weighted += 1;
    }
  return { cohort, weighted };
}

async function cli(ctx: ReturnType<typeof setup>["ctx"], ...argv: string[]) {
  const out = bufferOutput();
  const code = await runCli(argv, out, () => ({ ...ctx, out }));
  return { code, out };
}

describe("recovery after an automatic rollback in limited-pilot", () => {
  it("rollback function -> status flags the difference -> resume -> restore: the cohort rules forward to green again", async () => {
    const { ctx, backend } = setup(STACK);
    // limited-pilot: 0 % general traffic, the pilot cohort's rules (7 users x 4 patterns... as planned) to green.
    const planned = rulesToGreen();
    assert.equal(planned.weighted, 0);
    assert.ok(planned.cohort > 0, "limited-pilot routes its cohort to green");

    // The rollback function fires: the same moveRulesToBlue it runs, against the fake ALB, and its latch.
    const moved = await moveRulesToBlue(ctx.aws.elb, LISTENER, PAIRS);
    assert.equal(moved.moves.length, planned.cohort);
    assert.deepEqual(rulesToGreen(), { cohort: 0, weighted: 0 });
    let latchSet = true;
    ssm.on(GetParameterCommand, { Name: latchParameterName(STACK) }).callsFake(() => {
      if (!latchSet) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
      return { Parameter: { Value: JSON.stringify(LATCH) } };
    });
    ssm.on(DeleteParameterCommand).callsFake(() => {
      latchSet = false;
      return {};
    });

    // status flags live routing that differs from the config.
    const status = await cli(ctx, "status", "--stack", STACK, "--json");
    const report = JSON.parse(status.out.lines.join("\n")) as { routingDiffers: string[] };
    assert.deepEqual(report.routingDiffers, [
      `web: 0 cohort rules to green, expected ${planned.cohort / 2}`,
      `api: 0 cohort rules to green, expected ${planned.cohort / 2}`,
    ]);

    // restore before the acknowledgement: refused, naming resume.
    const early = await cli(ctx, "restore", "--stack", STACK);
    assert.equal(early.code, 1);
    assert.match(
      early.out.text(),
      /restore refused:\n {2}- the automatic rollback latch is set \(by production-auto-rollback at 2026-11-22T09:00:00\.000Z: errorRate-critical-web in ALARM\): acknowledge it first with `npm run rollout -- resume --stack production`/,
    );
    assert.deepEqual(backend.ups, []);

    // resume acknowledges; its next step is restore.
    const resume = await cli(ctx, "resume", "--stack", STACK);
    assert.equal(resume.code, 0, resume.out.text());
    assert.match(
      resume.out.text(),
      /Traffic moves only with: `npm run rollout -- restore --stack production`/,
    );
    assert.equal(backend.raw.rollbackAcknowledged, LATCH.at);

    // A rollback alarm still in ALARM: refused.
    cloudwatch.on(DescribeAlarmsCommand).resolves(firing("production-auto-rollback"));
    const alarmed = await cli(ctx, "restore", "--stack", STACK);
    assert.equal(alarmed.code, 1);
    assert.match(
      alarmed.out.text(),
      /rollback alarms in ALARM: production-auto-rollback \(rollback\): green would be rolled back again; fix it first/,
    );
    assert.deepEqual(backend.ups, []);

    // Green fixed, alarms OK: restore runs up --refresh and verifies the ALB.
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
    const restore = await cli(ctx, "restore", "--stack", STACK, "--json");
    assert.equal(restore.code, 0, restore.out.text() + restore.out.errors.join("\n"));
    const restored = JSON.parse(restore.out.lines.join("\n")) as { restored: boolean; problems: string[] };
    assert.equal(restored.restored, true);
    assert.deepEqual(restored.problems, []);
    assert.deepEqual(backend.ups, ["limited-pilot/0/false"]);
    assert.deepEqual(rulesToGreen(), planned);
    // The restore writes no config (its revision stays the acknowledgement's).
    assert.equal(backend.raw.revision, "1");
    // ...and is told to the info topic.
    assert.deepEqual(
      published()
        .filter((p) => p.TopicArn!.endsWith("alerts-info"))
        .map((p) => [p.Subject, p.Message!.split("\n")[0]]),
      [
        [
          "[production] rollout resume",
          "resume production: the automatic rollback by production-auto-rollback at 2026-11-22T09:00:00.000Z acknowledged (errorRate-critical-web in ALARM); traffic stays on blue until restore",
        ],
        [
          "[production] rollout restore",
          `restore production: configured routing back (phase limited-pilot, green 0 %, ${planned.cohort} cohort rules to green)`,
        ],
      ],
    );

    // status now agrees.
    const after = await cli(ctx, "status", "--stack", STACK, "--json");
    assert.deepEqual(
      (JSON.parse(after.out.lines.join("\n")) as { routingDiffers: string[] }).routingDiffers,
      [],
    );
    // restore again: nothing to do.
    const again = await cli(ctx, "restore", "--stack", STACK);
    assert.equal(again.code, 0);
    assert.match(again.out.text(), /already serves production's configured routing/);
  });

  it("rollout:rollback true: restore refuses and names rollback --clear", async () => {
    const { ctx } = setup(STACK, { rollback: true });
    const refused = await cli(ctx, "restore", "--stack", STACK);
    assert.equal(refused.code, 1);
    assert.match(
      refused.out.text(),
      /rollout:rollback is true: once green is fixed, `npm run rollout -- rollback --clear --stack production`/,
    );
  });
});

describe("status --watch", () => {
  it("reads again every --interval until Ctrl-C, one JSON document per line with --json", async () => {
    const { ctx, sleeps } = setup("staging");
    const interrupt = new AbortController();
    const out = bufferOutput();
    // Ctrl-C during the second wait.
    const watching = {
      ...ctx,
      out,
      signal: interrupt.signal,
      sleep: async (ms: number) => {
        await ctx.sleep(ms);
        if (sleeps.length === 2) interrupt.abort();
      },
    };
    const code = await runCli(
      ["status", "--stack", "staging", "--watch", "--interval", "1m", "--json"],
      out,
      () => watching,
    );
    assert.equal(code, 0);
    assert.deepEqual(sleeps, [60_000, 60_000]);
    assert.equal(out.lines.length, 2);
    for (const line of out.lines) {
      const read = JSON.parse(line) as { stack: string; routingDiffers: string[]; at: string };
      assert.equal(read.stack, "staging");
      assert.deepEqual(read.routingDiffers, []);
    }
  });

  it("human output says each read and the stop; the default interval is 30 s", async () => {
    const { ctx, sleeps } = setup("staging");
    const interrupt = new AbortController();
    const out = bufferOutput();
    const watching = {
      ...ctx,
      out,
      signal: interrupt.signal,
      sleep: async (ms: number) => (await ctx.sleep(ms), interrupt.abort()),
    };
    assert.equal(await runCli(["status", "--stack", "staging", "--watch"], out, () => watching), 0);
    assert.deepEqual(sleeps, [30_000]);
    assert.ok(out.lines.includes("-- read 1; next in 30 s (Ctrl-C stops) --"), out.text());
    assert.equal(out.lines.at(-1), "status --watch stopped");
    assert.ok(out.lines.includes("routing: the ALB serves what the config plans"));
  });

  it("--interval without --watch, or without a unit, is bad input naming --interval", async () => {
    const { ctx } = setup("staging");
    const out = bufferOutput();
    assert.equal(
      await runCli(["status", "--stack", "staging", "--interval", "30s"], out, () => ({ ...ctx, out })),
      2,
    );
    assert.deepEqual(out.errors, [
      'error: --interval: only with --watch (how often status reads the stack again), got "30s" without it',
    ]);
  });
});

describe("status --watch --interval bounds", () => {
  it("takes 10s to 1h; 5s is refused naming --interval", async () => {
    const { ctx } = setup("staging");
    const out = bufferOutput();
    assert.equal(
      await runCli(["status", "--stack", "staging", "--watch", "--interval", "5s"], out, () => ({
        ...ctx,
        out,
      })),
      2,
    );
    assert.deepEqual(out.errors, [
      'error: --interval: expected at least 10s (the fastest alarms evaluate every 10 s: reading more often shows nothing new), got "5s"',
    ]);
  });
});

describe("resume while a rollback alarm fires", () => {
  it("is refused and the latch stays: acknowledging would hand green back with the composite already in ALARM (CloudWatch acts only on state transitions)", async () => {
    const { ctx, backend } = setup(STACK);
    ssm.on(GetParameterCommand, { Name: latchParameterName(STACK) }).resolves({
      Parameter: { Value: JSON.stringify(LATCH) },
    });
    cloudwatch.on(DescribeAlarmsCommand).resolves(firing("production-auto-rollback"));
    const run = await cli(ctx, "resume", "--stack", STACK);
    assert.equal(run.code, 1);
    assert.deepEqual(run.out.lines, [
      "resume refused:",
      "  - rollback alarms in ALARM: production-auto-rollback (rollback): the latch keeps blue until green is fixed and they are OK",
    ]);
    assert.equal(backend.raw.rollbackAcknowledged, undefined);
    assert.equal(ssm.commandCalls(DeleteParameterCommand).length, 0);
  });
});

describe("the release history file stays readable", () => {
  it("past the input limit the oldest finished releases move to files of their own; the history reads back", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "history-"));
    const store = fileHistoryStore("staging", root, 4000);
    const release = (number: number, events = 8) => ({
      number,
      versions: {},
      decisions: [],
      signoffs: {},
      successEvidence: [],
      events: Array.from({ length: events }, (_, i) => ({
        at: "2026-11-22T10:00:00Z",
        kind: "shift" as const,
        summary: `release ${number}: step ${i} ${"x".repeat(60)}`,
      })),
    });
    const written = await store.write({
      version: 1,
      stack: "staging",
      finished: [1, 2, 3, 4].map((n) => release(n)),
    });
    assert.deepEqual(written, [
      "releases/staging-release-1.json",
      "releases/staging-release-2.json",
      "releases/staging.json",
    ]);
    const back = await store.read();
    assert.deepEqual(
      back.finished.map((r) => r.number),
      [3, 4],
    );
    assert.ok(fs.statSync(path.join(root, "releases", "staging.json")).size <= 4000);
    assert.equal(
      (
        JSON.parse(fs.readFileSync(path.join(root, "releases", "staging-release-1.json"), "utf8")) as {
          number: number;
        }
      ).number,
      1,
    );
    // A release under way too big on its own: refused, naming the file, nothing written over.
    await assert.rejects(
      store.write({ version: 1, stack: "staging", current: release(5, 40), finished: [] }),
      /^Error: releases\/staging\.json: release 5 alone takes more than 4000 bytes of events/,
    );
  });
});

describe("status --watch through failures", () => {
  it("a failed read is a warning and the watch goes on; three in a row end it, exit 1", async () => {
    const { ctx, sleeps } = setup("staging");
    const interrupt = new AbortController();
    const out = bufferOutput();
    // DescribeAlarms throttled on the 2nd read only: the watch survives it; Ctrl-C after the 3rd read.
    let reads = 0;
    cloudwatch.on(DescribeAlarmsCommand).callsFake(() => {
      reads += 1;
      if (reads === 2) throw Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
      return { MetricAlarms: [], CompositeAlarms: [] };
    });
    const watching = {
      ...ctx,
      out,
      signal: interrupt.signal,
      sleep: async (ms: number) => {
        await ctx.sleep(ms);
        if (sleeps.length === 3) interrupt.abort();
      },
    };
    assert.equal(await runCli(["status", "--stack", "staging", "--watch"], out, () => watching), 0);
    assert.deepEqual(out.errors, ["warning: read 2 failed (1 of 3 in a row stop the watch): Rate exceeded"]);
    // Always failing: the third failure in a row ends the watch with exit 1.
    cloudwatch
      .on(DescribeAlarmsCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling" }));
    const failing = bufferOutput();
    const code = await runCli(["status", "--stack", "staging", "--watch"], failing, () => ({
      ...ctx,
      out: failing,
      signal: new AbortController().signal,
    }));
    assert.equal(code, 1);
    assert.deepEqual(failing.errors, [
      "warning: read 1 failed (1 of 3 in a row stop the watch): Rate exceeded",
      "warning: read 2 failed (2 of 3 in a row stop the watch): Rate exceeded",
      "error: Rate exceeded",
    ]);
  });
});
