import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { shiftCommand } from "../../cli/commands/shift";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { loadPlaybook } from "../../rollout/loaders";
import {
  minimumShiftIntervalSeconds,
  parsePlaybook,
  slowestAutoRollback,
  type Playbook,
} from "../../rollout/playbook";
import { resetAwsMocks, setup } from "../support/liveStack";

/**
 * `rollout shift`'s defaults: each phase's `shift` in the committed playbooks (values and how they
 * were derived from the documents), the schema's checks on them, and a shift without --step or
 * --interval moving in those steps.
 */

beforeEach(resetAwsMocks);

const TBS = "tbs-strategy-framework";
const TELEGRAM = "telegram-money-bot";

type Doc = Record<string, any>;

/** A plan line without its `[mm:ss] ` clock. */
const untimed = (lines: string[]) => lines.map((l) => l.replace(/^\[\d\d:\d\d\] /, ""));

describe("shift defaults in the committed playbooks", () => {
  it("TBS: 5 points in the pilot phases, 10 in full; 960 s between steps everywhere", () => {
    assert.deepEqual(
      loadPlaybook(TBS).phases.map((p) => [p.id, p.shift.stepPercent, p.shift.intervalSeconds]),
      [
        ["preparation", 5, 960],
        ["internal", 5, 960],
        ["limited-pilot", 5, 960],
        ["broader-pilot", 5, 960],
        ["readiness", 5, 960],
        ["full", 10, 960],
      ],
    );
  });

  it("Telegram: 10 points, 660 s between steps, in every phase", () => {
    assert.deepEqual(
      loadPlaybook(TELEGRAM).phases.map((p) => [p.id, p.shift.stepPercent, p.shift.intervalSeconds]),
      [
        ["preparation", 10, 660],
        ["staging-deployment", 10, 660],
        ["production-deployment", 10, 660],
        ["post-deployment", 10, 660],
      ],
    );
  });

  /**
   * The YAML comments' derivation: the longest window among the alarms that act within minutes
   * (auto-rollback, or an alert to people), the minute CloudWatch takes to evaluate it, and the
   * documents' five-minute alert response ("Response Time: <5 minutes for critical alerts", "Alert
   * Response: <5 minute alert response time"). A gate whose window changes fails here by name.
   */
  const ALERT_RESPONSE_SECONDS = 300;
  function derivedInterval(playbook: Playbook): { seconds: number; longest: number } {
    const windows = playbook.gates.flatMap((g) =>
      [g.critical, g.warning].flatMap((level) =>
        level &&
        (level.action === "auto-rollback" || level.action === "alert") &&
        level.sustainSeconds < 86400
          ? [level.sustainSeconds]
          : [],
      ),
    );
    const longest = Math.max(...windows);
    return { seconds: longest + 60 + ALERT_RESPONSE_SECONDS, longest };
  }

  for (const [id, longest, seconds] of [
    [TBS, 600, 960],
    [TELEGRAM, 300, 660],
  ] as const)
    it(`${id}: the interval is the longest acting window (${longest} s) + 60 s + the 300 s alert response`, () => {
      const playbook = loadPlaybook(id);
      assert.deepEqual(derivedInterval(playbook), { seconds, longest });
      for (const phase of playbook.phases) assert.equal(phase.shift.intervalSeconds, seconds, phase.id);
    });

  it("every phase's interval lets the slowest automatic rollback judge a whole window", () => {
    assert.deepEqual(slowestAutoRollback(loadPlaybook(TBS)), {
      gate: "rowsPerSecond",
      level: "critical",
      sustainSeconds: 600,
    });
    assert.equal(minimumShiftIntervalSeconds(loadPlaybook(TBS)), 660);
    assert.deepEqual(slowestAutoRollback(loadPlaybook(TELEGRAM)), {
      gate: "p95LatencyMs",
      level: "critical",
      sustainSeconds: 180,
    });
    assert.equal(minimumShiftIntervalSeconds(loadPlaybook(TELEGRAM)), 240);
  });

  it("from 0 %, every phase that takes traffic reaches its cap in two steps or more", () => {
    for (const id of [TBS, TELEGRAM])
      for (const phase of loadPlaybook(id).phases.filter((p) => p.trafficCapPercent > 0))
        assert.ok(
          Math.ceil(phase.trafficCapPercent / phase.shift.stepPercent) >= 2,
          `${id} ${phase.id}: ${phase.shift.stepPercent} of ${phase.trafficCapPercent}`,
        );
  });
});

describe("the playbook schema's shift checks", () => {
  const valid = loadPlaybook(TBS);
  const refused = (breakIt: (doc: Doc) => void, line: string) => {
    const doc: Doc = structuredClone(valid);
    breakIt(doc);
    assert.throws(() => parsePlaybook(doc, "playbooks/test.yaml"), {
      name: "RolloutInputError",
      message: `invalid playbook playbooks/test.yaml:\n  ${line}`,
    });
  };

  it("a phase without shift defaults", () =>
    refused((doc) => delete doc.phases[3].shift, "phases[3].shift: expected object, got nothing"));

  it("an interval shorter than the slowest automatic rollback needs", () =>
    refused(
      (doc) => (doc.phases[3].shift.intervalSeconds = 600),
      "phases[3].shift.intervalSeconds: expected at least 660 s: the slowest automatic rollback (rowsPerSecond critical) judges 600 s of data and CloudWatch evaluates it up to 60 s later; a shorter wait steps again before a breach the step caused can fire, got 600",
    ));

  it("accepts exactly the slowest window plus the evaluation minute", () => {
    const doc: Doc = structuredClone(valid);
    doc.phases[3].shift.intervalSeconds = 660;
    assert.equal(parsePlaybook(doc, "test").phases[3]?.shift.intervalSeconds, 660);
  });

  it("the floor follows the gates: a 16-minute rollback window needs 1020 s in every phase", () => {
    const doc: Doc = structuredClone(valid);
    doc.gates[0].critical.sustainSeconds = 900;
    assert.equal(parsePlaybook(doc, "test").phases.length, 6, "a 15-minute window: 960 s is just enough");
    refused(
      (d) => (d.gates[0].critical.sustainSeconds = 960),
      valid.phases
        .map(
          (_, i) =>
            `phases[${i}].shift.intervalSeconds: expected at least 1020 s: the slowest automatic rollback (rowsPerSecond critical) judges 960 s of data and CloudWatch evaluates it up to 60 s later; a shorter wait steps again before a breach the step caused can fire, got 960`,
        )
        .join("\n  "),
    );
  });

  it("an interval under a minute", () =>
    refused(
      (doc) => (doc.phases[0].shift.intervalSeconds = 30),
      [
        "phases[0].shift.intervalSeconds: expected number to be >=60, got 30",
        "  phases[0].shift.intervalSeconds: expected at least 660 s: the slowest automatic rollback (rowsPerSecond critical) judges 600 s of data and CloudWatch evaluates it up to 60 s later; a shorter wait steps again before a breach the step caused can fire, got 30",
      ].join("\n"),
    ));

  it("a step as large as the phase's cap (one jump from 0 %)", () =>
    refused(
      (doc) => (doc.phases[3].shift.stepPercent = 10),
      "phases[3].shift.stepPercent: expected less than the phase's trafficCapPercent (10): from 0 % the cap must take at least two steps, never one jump, got 10",
    ));

  it("a blue-only phase may take any step (a shift there only comes back to 0 %)", () => {
    const doc: Doc = structuredClone(valid);
    doc.phases[0].shift.stepPercent = 100;
    assert.equal(parsePlaybook(doc, "test").phases[0]?.shift.stepPercent, 100);
  });

  it("a step of 0, a fractional step, an unknown key", () => {
    refused(
      (doc) => (doc.phases[5].shift.stepPercent = 0),
      "phases[5].shift.stepPercent: expected number to be >=1, got 0",
    );
    refused(
      (doc) => (doc.phases[5].shift.stepPercent = 2.5),
      "phases[5].shift.stepPercent: expected int, got 2.5",
    );
    refused(
      (doc) => (doc.phases[5].shift.intervalMinutes = 16),
      "phases[5].shift.intervalMinutes: unknown key (a typo?), got 16",
    );
  });
});

describe("rollout shift without --step or --interval: the phase's defaults", () => {
  it("staging (TBS broader-pilot): 0 % -> 5 % -> 10 %, 16 min watched between the steps", async () => {
    const { ctx, backend, sleeps, out } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.deepEqual(sleeps, Array(16).fill(60_000), "960 s, alarms read once a minute");
    assert.equal(
      untimed(out.lines)[0],
      "plan: green 0 % -> 5 % -> 10 % in 2 steps of at most 5 points, 16 min of alarm watching between steps (step and interval from phase broader-pilot's shift defaults in playbook tbs-strategy-framework)",
    );
  });

  it("down too, in the same steps", async () => {
    const { ctx, backend } = setup("staging", { greenWeight: "10" });
    assert.equal(await shiftCommand({ to: "0" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/0/false"]);
  });

  it("Telegram production-deployment: 10-point steps, 11 min apart", async () => {
    const { ctx, backend, sleeps, out } = setup("staging", {
      playbook: TELEGRAM,
      phase: "production-deployment",
      greenWeight: "0",
      signoffs: {},
      decisions: [],
    });
    assert.equal(await shiftCommand({ to: "30", json: true }, ctx), 0);
    assert.deepEqual(backend.ups, [
      "production-deployment/10/false",
      "production-deployment/20/false",
      "production-deployment/30/false",
    ]);
    assert.deepEqual(sleeps, Array(22).fill(60_000));
    const result = JSON.parse(out.text());
    assert.deepEqual([result.applied, result.stepPercent, result.intervalSeconds], [[10, 20, 30], 10, 660]);
  });

  it("--step equal to the distance: one step, as asked for, and no wait", async () => {
    const { ctx, backend, sleeps, out } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10", step: "10" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/10/false"]);
    assert.deepEqual(sleeps, []);
    assert.equal(
      untimed(out.lines)[0],
      "plan: green 0 % -> 10 % in 1 step of at most 10 points, 16 min of alarm watching between steps (from --step; interval from phase broader-pilot's shift defaults in playbook tbs-strategy-framework)",
    );
  });

  it("--step and --interval given: both from the flags", async () => {
    const { ctx, backend, sleeps, out } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10", step: "2", interval: "11m" }, ctx), 0);
    assert.deepEqual(backend.ups.length, 5);
    assert.equal(sleeps.length, 4 * 11);
    assert.equal(
      untimed(out.lines)[0],
      "plan: green 0 % -> 2 % -> 4 % -> 6 % -> 8 % -> 10 % in 5 steps of at most 2 points, 11 min of alarm watching between steps (from --step and --interval)",
    );
    assert.ok(!out.lines.some((l) => l.includes("warning:")), "11 min covers the 660 s the playbook needs");
  });

  it("an --interval shorter than the slowest automatic rollback: said, and the shift goes on", async () => {
    const { ctx, backend, out } = setup("staging", { greenWeight: "0" });
    assert.equal(await shiftCommand({ to: "10", interval: "5m" }, ctx), 0);
    assert.deepEqual(backend.ups, ["broader-pilot/5/false", "broader-pilot/10/false"]);
    assert.equal(
      untimed(out.lines)[1],
      "warning: 5 min between steps is less than the 11 min the slowest automatic rollback needs (rowsPerSecond critical: 600 s of data, evaluated up to 60 s later): a breach one step causes may first fire after the next step",
    );
  });
});

describe("runCli: --interval without its unit exits 2 before the stack is read", () => {
  for (const [value, message] of [
    ["5", 'error: --interval: expected a duration with its unit (s, m or h), such as 90s, 5m or 1h, got "5"'],
    [
      "30s",
      'error: --interval: expected at least 60s (CloudWatch evaluates alarms once a minute: a shorter wait steps again before any alarm has judged the step), got "30s"',
    ],
  ] as const)
    it(`--interval ${value}`, async () => {
      const { ctx, backend } = setup("staging", { greenWeight: "0" });
      let reads = 0;
      const read = backend.getRolloutConfig.bind(backend);
      backend.getRolloutConfig = () => {
        reads += 1;
        return read();
      };
      const out = bufferOutput();
      assert.equal(
        await runCli(["shift", "--stack", "staging", "--to", "10", "--interval", value], out, () => ctx),
        2,
      );
      assert.equal(out.errors[0], message);
      assert.equal(reads, 0);
      assert.deepEqual(backend.ups, []);
    });
});
