import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { startCommand, startDryRun } from "../../cli/commands/start";
import { historyCommand } from "../../cli/commands/history";
import type { memoryHistoryStore } from "../../cli/history";
import type { CommandContext } from "../../cli/backend";
import { runCli } from "../../cli/rollout";
import { parseRolloutConfig } from "../../rollout/config";
import { emptyHistory, type ReleaseHistory } from "../../rollout/release";
import {
  calls,
  fakeTargetGroupArn,
  INFO_TOPIC,
  published,
  resetAwsMocks,
  serveTargetHealth,
  setup,
  targetHealthCalls,
} from "../support/liveStack";

// resetAwsMocks also makes every target healthy.
beforeEach(resetAwsMocks);

const ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tbs";
const pinned = (image: string, hex: string) => `${ECR}/${image}@sha256:${hex.repeat(64)}`;
const WEB_2 = pinned("web-next:15.1.0", "c");
const API_2 = pinned("api:2.2.0", "d");

const FINISH = {
  at: "2026-11-20T10:00:00Z",
  by: "dana.devops",
  fromPhase: "full",
  evidence: [
    "rowsPerSecond = 34120 (required >= 33573): pass",
    "uptimePercent = 99.95 (required >= 99.9): pass",
    "errorRate = 1.1 (required < 5): pass",
    "rollbackMinutes = 3 (required < 15): pass",
    "userSatisfaction = 87 (required >= 80): pass",
  ],
};

/** The committed production services with blue on green's version: what finish leaves. */
function promotedServices(): {
  name: string;
  blue: { image: string; port: number };
  green: { image: string; port: number };
}[] {
  const { backend } = setup("production");
  return (JSON.parse(backend.raw.services!) as ReturnType<typeof promotedServices>).map((s) => ({
    ...s,
    blue: s.green,
  }));
}

/** Production right after finish of release 1, with that release archived. */
function afterFinish(changes: Record<string, unknown> = {}) {
  const services = promotedServices();
  const stack = setup("production", {
    phase: "preparation",
    greenWeight: "0",
    decisions: undefined,
    signoffs: undefined,
    services,
    finish: FINISH,
    ...changes,
  });
  delete stack.backend.raw.decisions;
  delete stack.backend.raw.signoffs;
  const store = stack.ctx.history as ReturnType<typeof memoryHistoryStore>;
  store.history = {
    ...emptyHistory("production"),
    finished: [
      {
        number: 1,
        startedAt: "2026-09-01T10:00:00Z",
        finishedAt: FINISH.at,
        versions: {},
        decisions: [],
        signoffs: {},
        successEvidence: FINISH.evidence,
        events: [],
      },
    ],
  };
  return { ...stack, services, store };
}

const historyOf = (ctx: CommandContext): ReleaseHistory =>
  (ctx.history as ReturnType<typeof memoryHistoryStore>).history;

describe("rollout start: the images", () => {
  const cases: [string, string[], string][] = [
    [
      "no --image",
      [],
      "--image: expected SERVICE=IMAGE (green's new image for a service; repeat per service), got nothing",
    ],
    [
      "no service",
      ["--image", WEB_2],
      `--image: expected SERVICE=IMAGE such as web=ghcr.io/acme/web:1.4.2, got "${WEB_2}"`,
    ],
    [
      "a service twice",
      ["--image", `web=${WEB_2}`, "--image", `web=${API_2}`],
      `--image: service web is named twice (web=${WEB_2}, web=${API_2}); expected one image per service`,
    ],
    [
      "a misspelt service",
      ["--image", `wbe=${WEB_2}`],
      `--image wbe=${WEB_2}: unknown service "wbe"; did you mean web?; expected one of web, api (rollout:services)`,
    ],
    [
      "a tag in production",
      ["--image", `web=${ECR}/web-next:15.1.0`],
      `--image web=${ECR}/web-next:15.1.0: expected an image pinned by digest in production (<repository>[:<tag>]@sha256:<64 hex>, e.g. from \`aws ecr describe-images\`), as the policy pack requires (scanner-ckv-k8s-43-image-digest): a push can move a tag`,
    ],
  ];
  for (const [name, flags, message] of cases)
    it(`exit 2 for ${name}, nothing written`, async () => {
      const { ctx, out, backend } = afterFinish();
      const code = await runCli(["start", "--stack", "production", ...flags], out, () => ctx);
      assert.deepEqual([code, out.errors], [2, [`error: ${message}`]]);
      assert.deepEqual([backend.sets, backend.ups], [[], []]);
    });

  it("exit 2 for blue's own image: nothing to release", async () => {
    const { ctx, out, services } = afterFinish();
    const code = await runCli(
      ["start", "--stack", "production", "--image", `api=${services[1]!.blue.image}`],
      out,
      () => ctx,
    );
    assert.deepEqual(
      [code, out.errors],
      [
        2,
        [
          `error: --image api=${services[1]!.blue.image}: blue already runs ${services[1]!.blue.image}: nothing to release for api; name only the services whose green gets a new image`,
        ],
      ],
    );
  });
});

describe("rollout start: when a release may start", () => {
  const start = async (ctx: CommandContext) => startCommand({ image: [`web=${WEB_2}`], json: true }, ctx);

  it("not in the middle of a rollout with no history: green serves the pilot", async () => {
    const { ctx, out, backend } = setup("production");
    assert.equal(await start(ctx), 1);
    assert.deepEqual(JSON.parse(out.text()).reasons, [
      "production has no release history, and is in phase limited-pilot at greenWeight 0 %: a first release starts in the first phase, preparation, with green carrying no traffic (new images on a green that serves would skip every gate)",
    ]);
    assert.deepEqual(backend.sets, []);
  });

  it("not while a release is under way, nor before a finish completed, nor on a history whose finish config lost", async () => {
    const underWay = setup("production", {
      release: { number: 3, startedAt: "2026-11-01T10:00:00Z", services: ["web"] },
    });
    assert.equal(await start(underWay.ctx), 1);
    assert.deepEqual(JSON.parse(underWay.out.text()).reasons, [
      "release 3 (started 2026-11-01T10:00:00Z) is under way in phase limited-pilot: a release starts after the last one finished (`npm run rollout -- finish --stack production --evidence FILE` from full)",
    ]);
    const midFinish = afterFinish({ phase: "full", greenWeight: "100" });
    assert.equal(await start(midFinish.ctx), 1);
    assert.deepEqual(JSON.parse(midFinish.out.text()).reasons, [
      "the finish recorded at 2026-11-20T10:00:00Z is not complete (phase full, greenWeight 100 %): complete it with `npm run rollout -- finish --stack production`",
    ]);
    const lost = afterFinish();
    delete lost.backend.raw.finish;
    assert.equal(await start(lost.ctx), 1);
    assert.deepEqual(JSON.parse(lost.out.text()).reasons, [
      "production's release history (releases/production.json) records releases, but rollout:finish is not set: a release starts after the last one finished (`npm run rollout -- finish --stack production --evidence FILE`)",
    ]);
    for (const stack of [underWay, midFinish, lost]) assert.deepEqual(stack.backend.sets, []);
  });
});

describe("rollout start: opening the release", () => {
  it("after finish: green gets the named image, other services keep blue's version, finish goes, release 2 opens", async () => {
    const { ctx, out, backend, services } = afterFinish();
    assert.equal(await startCommand({ image: [`web=${WEB_2}`] }, ctx), 0);
    const config = parseRolloutConfig(backend.raw, "production");
    assert.equal(config.finish, undefined);
    assert.deepEqual(config.release, { number: 2, startedAt: "2026-11-22T10:00:04.000Z", services: ["web"] });
    assert.deepEqual(
      config.services.map((s) => [s.name, s.blue, s.green]),
      [
        ["web", services[0]!.blue, { image: WEB_2, port: services[0]!.green.port }],
        ["api", services[1]!.blue, services[1]!.blue],
      ],
    );
    // One write (revision 1) and finish removed, then the up that brings green's pods back.
    assert.deepEqual(
      calls
        .filter((c) => c.startsWith("set ") || c.startsWith("up "))
        .map((c) => c.replace(/=.*?(,revision)/, "=...$1")),
      ["set services=...,revision=1", "up preparation/0/false"],
    );
    assert.deepEqual(backend.removed, ["finish"]);
    assert.deepEqual(
      targetHealthCalls().map((c) => c.TargetGroupArn),
      [fakeTargetGroupArn("web", "green"), fakeTargetGroupArn("api", "green")],
    );
    const history = historyOf(ctx);
    assert.deepEqual(
      [history.current!.number, history.current!.startedAt, history.finished.length],
      [2, "2026-11-22T10:00:04.000Z", 1],
    );
    assert.deepEqual(history.current!.versions, {
      web: { blue: services[0]!.blue, green: { image: WEB_2, port: services[0]!.green.port } },
      api: { blue: services[1]!.blue, green: services[1]!.blue },
    });
    assert.deepEqual(
      history.current!.events.map((e) => [e.kind, e.summary, e.details]),
      [["start", `release 2 of production started: web ${WEB_2}`, { release: 2, images: `web=${WEB_2}` }]],
    );
    assert.deepEqual(
      published().map((p) => [p.TopicArn, p.Subject]),
      [[INFO_TOPIC, "[production] rollout start"]],
    );
    assert.match(
      out.text(),
      /release 2 of production started \(\d+ s\): green is healthy, traffic as phase preparation plans \(verified on the ALB\)/,
    );
    assert.match(
      out.text(),
      /next: `npm run rollout -- gates --stack production --evidence FILE --record` \(preparation -> internal\), then `advance`/,
    );
  });

  it("again while the release is in its first phase with nothing decided: the same number, its images replaced", async () => {
    const { ctx, backend, services } = afterFinish();
    assert.equal(await startCommand({ image: [`web=${WEB_2}`] }, ctx), 0);
    assert.equal(await startCommand({ image: [`api=${API_2}`] }, ctx), 0);
    const config = parseRolloutConfig(backend.raw, "production");
    assert.deepEqual(config.release!.number, 2);
    assert.deepEqual(config.release!.services, ["api"]);
    // web is no longer part of the release: its green runs blue's version again.
    assert.deepEqual(
      config.services.map((s) => [s.name, s.green.image]),
      [
        ["web", services[0]!.blue.image],
        ["api", API_2],
      ],
    );
    const history = historyOf(ctx);
    assert.deepEqual(
      [history.current!.number, history.current!.events.map((e) => e.details?.restarted ?? false)],
      [2, [false, true]],
    );
  });

  it("again after sign-offs of the first phase: they approved the replaced images, so they are removed and said so", async () => {
    const { ctx, backend, out } = afterFinish();
    assert.equal(await startCommand({ image: [`web=${WEB_2}`] }, ctx), 0);
    backend.raw.signoffs = JSON.stringify({
      internal: { devopsEngineer: { approver: "dana.devops", at: "2026-11-22T11:00:00Z" } },
    });
    out.lines.length = 0;
    assert.equal(await startCommand({ image: [`api=${API_2}`] }, ctx), 0);
    assert.equal(backend.raw.signoffs, undefined);
    assert.match(
      out.text(),
      /the sign-offs recorded for release 2's previous images are removed: its new images need their own/,
    );
  });

  it("green unhealthy after up: exit 1, it carries no traffic, the release stays open to start again", async () => {
    const { ctx, out } = afterFinish();
    const greenWeb = fakeTargetGroupArn("web", "green");
    serveTargetHealth((arn) => (arn === greenWeb ? ["unhealthy"] : ["healthy"]));
    assert.equal(await startCommand({ image: [`web=${WEB_2}`] }, ctx), 1);
    assert.match(
      out.text(),
      /green's targets are not all healthy after 10 min \d+ s: it carries no traffic; fix the image and run `npm run rollout -- start` again/,
    );
    assert.equal(historyOf(ctx).current!.number, 2);
  });

  it("the first release of a stack with no history, in its first phase", async () => {
    const { ctx, backend } = setup("production", { phase: "preparation", decisions: [], signoffs: {} });
    assert.equal(await startCommand({ image: [`web=${WEB_2}`, `api=${API_2}`] }, ctx), 0);
    assert.equal(parseRolloutConfig(backend.raw, "production").release!.number, 1);
    assert.equal(historyOf(ctx).current!.number, 1);
  });
});

describe("rollout start --dry-run", () => {
  it("prints the config change from the stack file and the history, asking neither Pulumi nor AWS", async () => {
    const { ctx, out, backend, services } = afterFinish();
    const config = parseRolloutConfig(backend.raw, "production");
    backend.getRolloutConfig = () => assert.fail("the dry run asked Pulumi");
    assert.equal(await startDryRun({ image: [`web=${WEB_2}`] }, ctx, { config }), 0);
    assert.deepEqual(out.lines, [
      "start --dry-run on production, from Pulumi.production.yaml (nothing is changed):",
      `  rollout:services[0].green.image: ${services[0]!.green.image} -> ${WEB_2}`,
      `  rollout:release: (unset) -> {"number":2,"startedAt":"2026-11-22T10:00:02.000Z","services":["web"]}`,
      `  rollout:finish: ${JSON.stringify(FINISH)} -> (removed)`,
      "  rollout:revision: 0 -> 1  (one per config write, more if the deployed record is newer)",
      "  green's Deployments: 0 -> rollout:services[].replicas pods per service",
      "  releases/production.json: release 2 opened, with a start event",
      "  green's targets must be healthy; traffic stays as the first phase plans",
      "not checked offline: alarms, the rollback latch, what the ALB serves, target health",
    ]);
    assert.deepEqual([calls, backend.sets, published()], [[], [], []]);
  });

  it("through the CLI on the committed stack (limited-pilot, no history): the refusal, exit 1", async () => {
    const { ctx, out } = setup("production");
    const code = await runCli(
      ["start", "--stack", "production", "--image", `web=${WEB_2}`, "--dry-run"],
      out,
      () => ctx,
    );
    assert.equal(code, 1);
    assert.deepEqual(out.lines, [
      "start refused:",
      "  - production has no release history, and is in phase limited-pilot at greenWeight 0 %: a first release starts in the first phase, preparation, with green carrying no traffic (new images on a green that serves would skip every gate)",
    ]);
    assert.deepEqual(calls, []);
  });
});

describe("rollout history", () => {
  it("an empty history says so, and never asks Pulumi", async () => {
    const { ctx, out, backend } = setup("staging");
    backend.getRolloutConfig = () => assert.fail("history asked Pulumi");
    assert.equal(await historyCommand({}, ctx), 0);
    assert.deepEqual(out.lines, [
      "release history of staging (releases/staging.json)",
      "  no release recorded yet: `npm run rollout -- start` opens one, and every rollout event is kept here",
    ]);
  });

  it("events recorded before any start: the current release, its start not recorded", async () => {
    const { ctx, out } = setup("staging");
    const store = ctx.history as ReturnType<typeof memoryHistoryStore>;
    store.history = {
      ...emptyHistory("staging"),
      current: {
        number: 1,
        versions: {},
        decisions: [],
        signoffs: {},
        successEvidence: [],
        events: [
          { at: "2026-11-22T10:00:00.000Z", kind: "shift", summary: "shift staging: green 5 % -> 10 %" },
        ],
      },
    };
    assert.equal(await historyCommand({}, ctx), 0);
    assert.deepEqual(out.lines, [
      "release history of staging (releases/staging.json)",
      "",
      "current: release 1, started (before `rollout start` recorded it)",
      "  versions: not recorded",
      "  events (1):",
      "    2026-11-22T10:00:00.000Z  shift     shift staging: green 5 % -> 10 %",
    ]);
  });
});
