import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { readAlbTraffic, type CommandContext, type StackBackend } from "../../cli/backend";
import { planStack } from "../../cli/offlinePlan";
import type { memoryHistoryStore } from "../../cli/history";
import { runCli } from "../../cli/rollout";
import { parseRolloutConfig } from "../../rollout/config";
import { requiredRoles } from "../../rollout/decisions";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { nextPhase, trafficCap } from "../../rollout/phases";
import { ReleaseHistory } from "../../rollout/release";
import { parseStackOutputs } from "../../rollout/stackOutputs";
import { passingValue, writeEvidenceFile } from "../support/evidenceFixtures";
import { alb, cloudwatch, INFO_TOPIC, published, resetAwsMocks, setup } from "../support/liveStack";

/*
 * Issue 13's acceptance: a whole release of the production stack through the CLI and its fakes
 * (Pulumi's backend, the ALB, CloudWatch, SSM, SNS), every command as an operator types it:
 * `start` of release 1 on a stack with no history -> for every phase of the TBS playbook the
 * sign-offs, `gates --evidence FILE --record` (a GO) and `advance`, `shift` to the phase's cap ->
 * full at 100 % -> `finish --evidence FILE` -> `start` of release 2 -> `history`.
 */

beforeEach(() => {
  // Every target healthy too (resetAwsMocks).
  resetAwsMocks();
  // CloudWatch has no data for green yet: the evidence files decide every criterion.
  cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
});

const tbs = loadPlaybook("tbs-strategy-framework");
const ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tbs";
const pinned = (image: string, hex: string) => `${ECR}/${image}@sha256:${hex.repeat(64)}`;
const RELEASE_1 = { web: pinned("web-next:15.0.0", "a"), api: pinned("api:2.1.0", "b") };
const RELEASE_2 = { web: pinned("web-next:15.1.0", "c"), api: pinned("api:2.2.0", "d") };
/** One person per role: production refuses one person signing two roles of a phase. */
const APPROVERS: Record<string, string> = {
  devopsEngineer: "dana.devops",
  qaEngineer: "quinn.qa",
  productManager: "pat.product",
  supportEngineer: "sam.support",
  engineeringManager: "eli.eng",
  seniorDeveloper: "sid.dev",
};
/** The success criteria, each met. */
const SUCCESS = {
  rowsPerSecond: 34120,
  uptimePercent: 99.95,
  errorRate: 1.1,
  rollbackMinutes: 3,
  userSatisfaction: 87,
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-lifecycle-"));
const evidenceFile = (name: string, metrics: Record<string, number>) => writeEvidenceFile(dir, name, metrics);

/** Production at the start of its life: the first phase, nothing decided or signed. */
const FRESH = { phase: "preparation", greenWeight: "0", decisions: [], signoffs: {} };

/** The CLI over one setup() context, as an operator runs it; each run's lines and errors kept apart. */
function operator(ctx: CommandContext) {
  const out = ctx.out as ReturnType<typeof import("../../cli/output").bufferOutput>;
  return async (line: string) => {
    out.lines.length = 0;
    out.errors.length = 0;
    const code = await runCli(line.split(" "), out, () => ctx);
    return { code, text: out.text(), errors: out.errors.join("\n") };
  };
}

/**
 * The stack as the CLI left it, planned offline with the real program and the whole policy pack
 * (what `pulumi up --policy-pack policies` would judge): its mandatory violations.
 */
async function mandatoryViolations(backend: StackBackend): Promise<string[]> {
  const base = loadStackFile("production");
  const raw = await backend.getRolloutConfig();
  const config = Object.fromEntries([
    ...Object.entries(base.config).filter(([key]) => !key.startsWith("rollout:")),
    ...Object.entries(raw).map(([key, value]) => [`rollout:${key}`, value]),
  ]);
  const result = await planStack({ ...base, config });
  return result.violations
    .filter((v) => v.enforcementLevel === "mandatory")
    .map((v) => `${v.policy}: ${v.message}`);
}

const historyOf = (ctx: CommandContext) => (ctx.history as ReturnType<typeof memoryHistoryStore>).history;

describe("a whole release through the CLI (issue 13 acceptance)", () => {
  it("start -> every phase with GO decisions and sign-offs -> full -> finish -> start of the next -> history", async () => {
    const { ctx, backend, advanceClock } = setup("production", FRESH);
    const rollout = operator(ctx);
    const revisions: [string, number][] = [];
    const step = async (line: string) => {
      const run = await rollout(line);
      assert.equal(run.code, 0, `${line}\n${run.text}\n${run.errors}`);
      revisions.push([line.split(" ")[0]!, Number(backend.raw.revision)]);
      return run;
    };
    const committed = parseRolloutConfig(backend.raw, "production").services;

    // Release 1, on a stack with no history: green gets the new images.
    await step(`start --stack production --image web=${RELEASE_1.web} --image api=${RELEASE_1.api}`);
    let config = parseRolloutConfig(backend.raw, "production");
    assert.deepEqual(
      config.services.map((s) => [s.name, s.green.image, s.blue.image]),
      [
        ["web", RELEASE_1.web, committed[0]!.blue.image],
        ["api", RELEASE_1.api, committed[1]!.blue.image],
      ],
    );
    assert.deepEqual(config.release, {
      number: 1,
      startedAt: config.release!.startedAt,
      services: ["web", "api"],
    });
    assert.equal(historyOf(ctx).current!.number, 1);

    // Every phase: sign-offs for the next, the GO recorded on evidence, advance, shift to the cap.
    const shifts: string[] = [];
    for (let phase = "preparation"; phase !== "full";) {
      const next = nextPhase(tbs, phase)!.id;
      for (const role of requiredRoles(tbs, next))
        await step(
          `signoff approve --stack production --phase ${next} --role ${role} --approver ${APPROVERS[role]}`,
        );
      const transition = tbs.transitions.find((t) => t.from === phase)!;
      const file = evidenceFile(
        `${phase}-go`,
        Object.fromEntries(transition.criteria.map((c) => [c.id, passingValue(c)])),
      );
      const gates = await step(`gates --stack production --evidence ${file} --record --approver dana.devops`);
      assert.match(gates.text, new RegExp(`recorded in rollout:decisions \\(${phase} -> ${next} GO\\)`));
      // The phase soaks its minimum before the next decision.
      advanceClock(tbs.phases.find((p) => p.id === phase)!.minimumDays * 86_400_000);
      await step("advance --stack production");
      assert.equal(backend.raw.phase, next);
      const cap = trafficCap(tbs, next);
      const weight = Number(backend.raw.greenWeight);
      if (cap > weight) {
        await step(`shift --stack production --to ${cap} --step ${cap - weight} --interval 1m`);
        shifts.push(`${next} ${weight} -> ${backend.raw.greenWeight}`);
      }
      phase = next;
    }
    assert.deepEqual(shifts, ["broader-pilot 0 -> 10", "full 10 -> 100"]);
    const outputs = parseStackOutputs(await backend.outputs());
    assert.deepEqual(
      (await readAlbTraffic(ctx.aws, outputs)).map((t) => [t.service, t.blue, t.green]),
      [
        ["web", 0, 100],
        ["api", 0, 100],
      ],
    );
    config = parseRolloutConfig(backend.raw, "production");
    const decisions = config.decisions;
    const signoffs = config.signoffs;
    assert.deepEqual(
      decisions.map((d) => `${d.from} -> ${d.to} ${d.decision}`),
      tbs.transitions.map((t) => `${t.from} -> ${t.to} GO`),
    );

    // Finish: blue takes release 1's images, traffic returns to blue, green idles, phase preparation.
    const finished = await step(
      `finish --stack production --evidence ${evidenceFile("success", SUCCESS)} --approver dana.devops`,
    );
    const finishAt = parseRolloutConfig(backend.raw, "production").finish!.at;
    assert.match(finished.text, /release 1 of production finished/);
    assert.match(
      finished.text,
      /traffic is 100 % blue \(verified on the ALB\); green idles at 0 pods per service; phase preparation/,
    );
    config = parseRolloutConfig(backend.raw, "production");
    assert.deepEqual(
      config.services.map((s) => [s.name, s.blue.image, s.blue.port, s.green.image]),
      [
        ["web", RELEASE_1.web, committed[0]!.green.port, RELEASE_1.web],
        ["api", RELEASE_1.api, committed[1]!.green.port, RELEASE_1.api],
      ],
    );
    assert.deepEqual(
      [config.phase, config.greenWeight, config.decisions, config.signoffs],
      ["preparation", 0, [], {}],
    );
    assert.deepEqual(config.finish, {
      at: config.finish!.at,
      by: "dana.devops",
      fromPhase: "full",
      evidence: [
        "rowsPerSecond = 34120 (required >= 33573): pass",
        "uptimePercent = 99.95 (required >= 99.9): pass",
        "errorRate = 1.1 (required < 5): pass",
        "rollbackMinutes = 3 (required < 15): pass",
        "userSatisfaction = 87 (required >= 80): pass",
      ],
    });
    assert.equal(backend.raw.decisions, undefined);
    assert.equal(backend.raw.signoffs, undefined);
    // The fake ALB: every service 100 % blue, no rule forwarding to green.
    assert.deepEqual(
      (await readAlbTraffic(ctx.aws, outputs)).map((t) => [t.service, t.blue, t.green, t.cohortRulesToGreen]),
      [
        ["web", 100, 0, 0],
        ["api", 100, 0, 0],
      ],
    );
    assert.equal(alb.rules.filter((r) => !r.IsDefault).length, 2);
    // Two ups: blue takes green's version in full at 100 %, then the first phase at 0 %.
    assert.deepEqual(backend.ups.slice(-2), ["full/100/false", "preparation/0/false"]);
    // What finish left deploys: the policy pack finds nothing (rollout-finish-needs-success included).
    assert.deepEqual(await mandatoryViolations(backend), []);

    // Release 2: `finish` removed by start, green gets the next images, blue keeps release 1's.
    await step(`start --stack production --image web=${RELEASE_2.web} --image api=${RELEASE_2.api}`);
    config = parseRolloutConfig(backend.raw, "production");
    assert.equal(backend.raw.finish, undefined);
    assert.equal(config.release!.number, 2);
    assert.deepEqual(
      config.services.map((s) => [s.name, s.blue.image, s.green.image]),
      [
        ["web", RELEASE_1.web, RELEASE_2.web],
        ["api", RELEASE_1.api, RELEASE_2.api],
      ],
    );
    assert.deepEqual(await mandatoryViolations(backend), []);

    // Every command wrote config and moved the revision on: by one, finish by two (its two steps).
    revisions.forEach(([command, revision], i) =>
      assert.equal(
        revision - (i === 0 ? 0 : revisions[i - 1]![1]),
        command === "finish" ? 2 : 1,
        revisions.map(([c, r]) => `${c} ${r}`).join(", "),
      ),
    );
    // start 1, 17 sign-offs, 5 GOs, 5 advances, 2 shifts, finish's 2 writes, start 2's 1.
    const signoffCount = tbs.phases.slice(1).reduce((n, p) => n + requiredRoles(tbs, p.id).length, 0);
    assert.equal(signoffCount, 17);
    assert.equal(revisions.at(-1)![1], 1 + signoffCount + 5 + 5 + 2 + 2 + 1);

    // The history: release 1 finished with its versions, decisions, sign-offs, evidence and events.
    const history = ReleaseHistory.parse(historyOf(ctx));
    assert.equal(history.finished.length, 1);
    const release1 = history.finished[0]!;
    assert.equal(release1.number, 1);
    assert.equal(release1.finishedAt, finishAt);
    assert.ok(Date.parse(release1.startedAt!) < Date.parse(release1.finishedAt));
    assert.deepEqual(release1.versions, {
      web: { blue: committed[0]!.blue, green: { image: RELEASE_1.web, port: committed[0]!.green.port } },
      api: { blue: committed[1]!.blue, green: { image: RELEASE_1.api, port: committed[1]!.green.port } },
    });
    assert.deepEqual(release1.decisions, decisions);
    assert.deepEqual(release1.signoffs, signoffs);
    assert.deepEqual(
      Object.keys(release1.signoffs),
      tbs.phases.slice(1).map((p) => p.id),
    );
    assert.deepEqual(release1.successEvidence.length, 5);
    const kinds = release1.events.map((e) => e.kind);
    assert.deepEqual([...new Set(kinds)], ["start", "signoff", "decision", "advance", "shift", "finish"]);
    assert.deepEqual(
      ["start", "signoff", "decision", "advance", "finish"].map((k) => kinds.filter((x) => x === k).length),
      [1, 17, 5, 5, 1],
    );
    assert.equal(kinds.at(-1), "finish");
    assert.equal(history.current!.number, 2);
    assert.deepEqual(
      history.current!.events.map((e) => [e.kind, e.summary]),
      [["start", `release 2 of production started: web ${RELEASE_2.web}, api ${RELEASE_2.api}`]],
    );

    // One info-topic publish per event, in order, each naming its kind.
    const events = [...release1.events, ...history.current!.events];
    const info = published().filter((p) => p.TopicArn === INFO_TOPIC);
    assert.deepEqual(
      info.map((p) => p.Subject),
      events.map((e) => `[production] rollout ${e.kind}`),
    );
    assert.deepEqual(
      info.map((p) => p.Message!.split("\n")[0]),
      events.map((e) => e.summary),
    );

    // `history` shows both, read from the history alone.
    const [ups, sets] = [backend.ups.length, backend.sets.length];
    const shown = await rollout("history --stack production");
    assert.equal(shown.code, 0, shown.errors);
    assert.deepEqual(
      [backend.ups.length, backend.sets.length],
      [ups, sets],
      "history reads the history alone",
    );
    const lines = shown.text.split("\n");
    assert.equal(lines[0], "release history of production (releases/production.json)");
    assert.ok(lines.includes("current: release 2, started " + history.current!.startedAt), shown.text);
    assert.ok(lines.includes(`release 1: ${release1.startedAt} -> ${release1.finishedAt}`), shown.text);
    assert.ok(
      lines.includes(
        `    web: blue ${committed[0]!.blue.image} (port ${committed[0]!.blue.port}) -> green ${RELEASE_1.web} (port ${committed[0]!.green.port})`,
      ),
      shown.text,
    );
    assert.ok(lines.includes("  decisions (5):"), shown.text);
    assert.ok(
      lines.includes(`    readiness -> full: GO by dana.devops at ${decisions.at(-1)!.at}`),
      shown.text,
    );
    assert.ok(lines.includes("  sign-offs (17):"), shown.text);
    assert.ok(lines.includes("    userSatisfaction = 87 (required >= 80): pass"), shown.text);
    assert.ok(lines.includes(`  events: ${release1.events.length}`), shown.text);
    const asJson = await rollout("history --stack production --json");
    assert.equal(asJson.code, 0, asJson.errors);
    assert.deepEqual(JSON.parse(asJson.text), {
      command: "history",
      file: "releases/production.json",
      ...history,
    });
  });
});
