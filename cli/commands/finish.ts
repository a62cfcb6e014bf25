import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { parseRolloutConfig, type RolloutConfig } from "../../rollout/config";
import { Decision, latestDecision } from "../../rollout/decisions";
import { errorMessage } from "../../rollout/errors";
import { loadEvidence, loadStackFile } from "../../rollout/loaders";
import { allowsCohortRouting, trafficCap } from "../../rollout/phases";
import {
  blueRunsGreen,
  lastPhase,
  successEvidenceLines,
  type FinishRecord,
  type ReleaseHistory,
  currentRelease,
  releaseNumber,
} from "../../rollout/release";
import { rolloutKeys } from "../../rollout/stackFile";
import type { StackOutputs } from "../../rollout/stackOutputs";
import { evaluateSuccessCriteria, unknownSuccessEvidence } from "../../rollout/success";
import { RolloutInputError } from "../../rollout/validation";
import {
  loadLiveConfig,
  progress,
  readAlbTraffic,
  readStackOutputs,
  stackAlarms,
  type CommandContext,
} from "../backend";
import { deployChange, deployFailed, stackFileName } from "../deployChange";
import { recordEvent, saveHistory } from "../events";
import { EXIT, formatSeconds, oneLine, requireFlag } from "../output";
import {
  blueProblems,
  elapsedSeconds,
  emit,
  refuse,
  rollbackSetReason,
  unhealthyReasons,
  type Flags,
} from "./shared";

/**
 * `rollout finish --stack S --evidence FILE [--approver A] [--dry-run]`: the end of a release.
 * From the playbook's last phase, green serving everything and every success criterion met:
 *   1. `rollout:finish` is recorded and blue takes green's version (image and port) while it carries
 *      no traffic; `up`; blue's targets must all be healthy (ELBv2 DescribeTargetHealth);
 *   2. traffic returns to blue: the first phase at greenWeight 0, the release's decisions and
 *      sign-offs leave the config (they are archived first), green idles
 *      (`rollout:idleGreenReplicas`); `up`; the ALB must serve 100 % blue;
 *   3. the finish event is recorded and the release moves to the history's finished releases.
 * Each step is a `deployChange`. The config says which steps are done, so a finish that stopped
 * (a failed `up`, an unhealthy blue, Ctrl-C) is resumed by running the command again.
 */

/**
 * How long blue's (or green's) new targets may take to be healthy: the default progress deadline of
 * a Kubernetes Deployment (`progressDeadlineSeconds`, 600 s), after which Kubernetes itself reports
 * the rollout as failed.
 */
export const TARGET_HEALTH_TIMEOUT_MS = 600_000;
/**
 * Between two reads of target health: the target groups' health check interval (10 s,
 * components/trafficRouter.ts), so each read can see a new check.
 */
export const TARGET_HEALTH_POLL_MS = 10_000;

/** Who records the finish: --approver, else $USER, else operator (as `gates --record`), under the deciders' name rule. */
export function recorderName(flags: Flags): string {
  const fromFlag = typeof flags.approver === "string";
  const by = fromFlag ? (flags.approver as string) : (process.env.USER ?? "operator");
  const parsed = Decision.shape.by.safeParse(by);
  if (!parsed.success)
    throw new RolloutInputError(
      `--approver: ${parsed.error.issues[0]!.message}, got ${JSON.stringify(by)}${fromFlag ? "" : " (from $USER: pass --approver)"}`,
    );
  return by;
}

/** `--evidence FILE`, loaded (exit 2 for a file that is missing or malformed), or undefined when not given. */
function evidenceFlag(flags: Flags): { file: string; metrics: Record<string, number> } | undefined {
  return typeof flags.evidence === "string"
    ? { file: flags.evidence, metrics: loadEvidence(flags.evidence).metrics }
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// Where a finish stands

/**
 * What is left of a finish, read from the config and the history: `begin` (nothing done), `blue`
 * (step 1's config is written: its `up` and blue's health are left), `traffic` (step 2's config is
 * written: its `up`, the ALB and the archive are left), `done`.
 */
export type FinishStage =
  | { stage: "begin" }
  | { stage: "blue" | "traffic" | "done"; finish: FinishRecord }
  | { stage: "refused"; reasons: string[] };

export function finishStage(config: RolloutConfig, history: ReleaseHistory): FinishStage {
  const playbook = config.playbookSpec;
  const [first, last] = [playbook.phases[0]!.id, lastPhase(playbook)];
  const finish = config.finish;
  if (!finish) {
    if (config.phase === last) return { stage: "begin" };
    return {
      stage: "refused",
      reasons: [
        `phase ${config.phase}: a release finishes from the last phase of ${playbook.id}, ${last}; advance there first (\`npm run rollout -- advance --stack ${config.stack}\`)`,
      ],
    };
  }
  if (config.phase === last) return { stage: "blue", finish };
  if (config.phase === first && history.finished.at(-1)?.finishedAt === finish.at)
    return { stage: "done", finish };
  if (config.phase === first) return { stage: "traffic", finish };
  return {
    stage: "refused",
    reasons: [
      `rollout:finish is set (the release finished at ${finish.at}) but the phase is ${config.phase}, neither ${last} (a finish under way) nor ${first} (finished): ` +
        `set rollout:phase back to ${first}, or remove rollout:finish if the release did not finish`,
    ],
  };
}

/** The evidence file as success criteria: exit 2 for a file that does not load or names an unknown criterion. */
function successReport(config: RolloutConfig, file: string, metrics: Record<string, number>) {
  const playbook = config.playbookSpec;
  const unknown = unknownSuccessEvidence(playbook, metrics);
  if (unknown.length > 0)
    throw new RolloutInputError(
      `--evidence: unknown success criterion id${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")} in ${file}; expected ${playbook.successCriteria.map((c) => c.id).join(", ")}`,
    );
  return evaluateSuccessCriteria(playbook, metrics);
}

/** Why the release cannot finish now, from the config and the evidence alone (the dry run's checks too). */
function finishRefusals(
  config: RolloutConfig,
  evidence: { file: string; metrics: Record<string, number> },
): string[] {
  const playbook = config.playbookSpec;
  const first = playbook.phases[0]!.id;
  const reasons: string[] = [];
  if (config.greenWeight !== 100)
    reasons.push(
      `green has greenWeight ${config.greenWeight} % in ${config.phase}: blue takes green's version only while it carries no traffic; shift green to 100 first (\`npm run rollout -- shift --stack ${config.stack} --to 100\`)`,
    );
  if (config.rollback) reasons.push(rollbackSetReason(config));
  const into = playbook.transitions.find((t) => t.to === config.phase);
  if (config.isProduction && into && latestDecision(config.decisions, into.from, into.to)?.decision !== "GO")
    reasons.push(
      `no GO decision recorded for ${into.from} -> ${into.to}: production finishes a release that entered ${config.phase} on a recorded GO (\`npm run rollout -- gates --stack ${config.stack} --evidence FILE --record\` in ${into.from})`,
    );
  if (trafficCap(playbook, first) > 0 || allowsCohortRouting(playbook, first))
    reasons.push(
      `the first phase of ${playbook.id}, ${first}, sends traffic to green (cap ${trafficCap(playbook, first)} %${allowsCohortRouting(playbook, first) ? ", cohort routing" : ""}): after a finish green idles there, so it must carry none`,
    );
  if (playbook.successCriteria.length === 0)
    reasons.push(`playbook ${playbook.id} has no successCriteria: nothing shows the release succeeded`);
  for (const r of successReport(config, evidence.file, evidence.metrics).categories.flatMap(
    (c) => c.results,
  )) {
    if (r.status === "fail") reasons.push(`success criterion ${r.id} fails: ${r.reason} (${evidence.file})`);
    if (r.status === "not-measured")
      reasons.push(`success criterion ${r.id} is not measured: ${evidence.file} has no value for it`);
  }
  return reasons;
}

// ---------------------------------------------------------------------------------------------
// Target health

export interface TargetsReport {
  healthy: boolean;
  /** Ctrl-C stopped the wait. */
  interrupted: boolean;
  seconds: number;
  /** One line per service, as the last read found it. */
  lines: string[];
}

/** One service's targets of one colour, as DescribeTargetHealth answers. */
async function targetLine(
  ctx: CommandContext,
  arn: string,
  name: string,
): Promise<{ healthy: boolean; line: string }> {
  let descriptions;
  try {
    descriptions =
      (await ctx.aws.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })))
        .TargetHealthDescriptions ?? [];
  } catch (error) {
    return { healthy: false, line: `${name}: DescribeTargetHealth failed: ${oneLine(errorMessage(error))}` };
  }
  // `draining` targets are leaving on purpose (the old pods of a rolling update), as the
  // post-deploy hook counts them (scripts/hooks/post-deploy.sh).
  const serving = descriptions.filter((d) => d.TargetHealth?.State !== "draining");
  const healthy = serving.filter((d) => d.TargetHealth?.State === "healthy").length;
  if (serving.length === 0) return { healthy: false, line: `${name}: no target registered` };
  const states = serving.map((d) =>
    [d.TargetHealth?.State ?? "unknown", d.TargetHealth?.Reason].filter(Boolean).join(" "),
  );
  return healthy === serving.length
    ? { healthy: true, line: `${name}: ${healthy} of ${serving.length} targets healthy` }
    : {
        healthy: false,
        line: `${name}: ${healthy} of ${serving.length} targets healthy (${states.join(", ")})`,
      };
}

/**
 * Waits until every service's `colour` target group has targets, all `healthy` (ELBv2
 * TargetHealthStateEnum, AWS API model: initial | healthy | unhealthy | unhealthy.draining |
 * unused | draining | unavailable), reading every TARGET_HEALTH_POLL_MS; gives up after
 * TARGET_HEALTH_TIMEOUT_MS, or at Ctrl-C. A line per service at every read is the heartbeat.
 */
export async function waitForHealthyTargets(
  ctx: CommandContext,
  outputs: StackOutputs,
  colour: "blue" | "green",
  say: (line: string) => void,
): Promise<TargetsReport> {
  const started = ctx.now();
  const deadline = started.getTime() + TARGET_HEALTH_TIMEOUT_MS;
  say(
    `waiting for ${colour}'s targets to be healthy (DescribeTargetHealth, at most ${formatSeconds(TARGET_HEALTH_TIMEOUT_MS / 1000)})`,
  );
  for (;;) {
    const reads = await Promise.all(
      Object.entries(outputs.targetGroupArns).map(([service, arns]) =>
        targetLine(ctx, arns[colour], `${service}/${colour}`),
      ),
    );
    const lines = reads.map((r) => r.line);
    for (const line of lines) say(`  ${line}`);
    const seconds = elapsedSeconds(ctx, started);
    if (reads.every((r) => r.healthy)) return { healthy: true, interrupted: false, seconds, lines };
    if (ctx.signal?.aborted || ctx.now().getTime() >= deadline)
      return { healthy: false, interrupted: Boolean(ctx.signal?.aborted), seconds, lines };
    await ctx.sleep(TARGET_HEALTH_POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Config values

/** `rollout:services` as Pulumi holds it (each service's keys as written, defaults not filled in). */
export function rawServices(raw: Record<string, string>): Record<string, unknown>[] {
  return JSON.parse(raw.services ?? "[]") as Record<string, unknown>[];
}

/** One config change, for the dry runs: `before` absent means unset, `after` absent means removed. */
export interface ConfigEdit {
  key: string;
  before?: unknown;
  after?: unknown;
  /** How the text output shows `before` when its value is too long to print (decisions, sign-offs). */
  beforeSummary?: string;
  note?: string;
}

function shown(value: unknown, absent: string): string {
  if (value === undefined) return absent;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return String(value);
  return JSON.stringify(value);
}

/** A dry run's result: the config change, key by key, and what was not checked offline. */
export function printDryRun(
  ctx: CommandContext,
  flags: Flags,
  command: string,
  edits: ConfigEdit[],
  effects: string[],
  extra: Record<string, unknown>,
): number {
  const stack = ctx.backend.stackName;
  const notChecked = ["alarms", "the rollback latch", "what the ALB serves", "target health"];
  emit(
    ctx,
    flags,
    {
      command,
      dryRun: true,
      stack,
      file: stackFileName(stack),
      ...extra,
      changes: edits.map((e) => ({
        key: e.key,
        before: e.before ?? null,
        after: e.after ?? null,
        ...(e.note !== undefined && { note: e.note }),
      })),
      effects,
      notChecked,
    },
    () => {
      ctx.out.log(`${command} --dry-run on ${stack}, from ${stackFileName(stack)} (nothing is changed):`);
      if (edits.length === 0) ctx.out.log("  no config change");
      for (const e of edits)
        ctx.out.log(
          `  ${e.key}: ${e.beforeSummary ?? shown(e.before, "(unset)")} -> ${shown(e.after, "(removed)")}${e.note ? `  (${e.note})` : ""}`,
        );
      for (const effect of effects) ctx.out.log(`  ${effect}`);
      ctx.out.log(`not checked offline: ${notChecked.join(", ")}`);
    },
  );
  return EXIT.ok;
}

/**
 * The stack file's config, parsed as the program parses it (no Pulumi, no AWS): the context's
 * reader of Pulumi.<stack>.yaml (the Automation API context reads the project's file; a test's
 * fake stack gives its own config), else the project's file.
 */
export function stackFileConfig(ctx: Pick<CommandContext, "backend" | "readStackFile">): {
  raw: Record<string, string>;
  config: RolloutConfig;
} {
  const stack = ctx.backend.stackName;
  const raw = ctx.readStackFile?.() ?? rolloutKeys(loadStackFile(stack).config);
  return { raw, config: parseRolloutConfig(raw, stack) };
}

/** The revision after `writes` config writes: at least this (a newer deployed record moves it further). */
function revisionEdit(config: RolloutConfig, writes: number): ConfigEdit {
  return {
    key: "rollout:revision",
    before: config.revision,
    after: config.revision + writes,
    note: `one per config write, more if the deployed record is newer`,
  };
}

/** Blue takes green's version: the keys that change, per service (`rollout:services[i].blue.image` ...). */
function promotionEdits(config: RolloutConfig): ConfigEdit[] {
  return config.services.flatMap((s, i) =>
    (["image", "port"] as const).flatMap((field) =>
      s.blue[field] === s.green[field]
        ? []
        : [{ key: `rollout:services[${i}].blue.${field}`, before: s.blue[field], after: s.green[field] }],
    ),
  );
}

/** Step 2's keys: the first phase at 0 %, decisions and sign-offs out of config (into the history). */
function returnEdits(config: RolloutConfig, raw: Record<string, string>, file: string): ConfigEdit[] {
  const first = config.playbookSpec.phases[0]!.id;
  return [
    { key: "rollout:phase", before: config.phase, after: first },
    { key: "rollout:greenWeight", before: config.greenWeight, after: 0 },
    ...(raw.decisions === undefined
      ? []
      : [
          {
            key: "rollout:decisions",
            before: config.decisions,
            beforeSummary: `${config.decisions.length} decisions`,
            note: `archived in ${file}`,
          },
        ]),
    ...(raw.signoffs === undefined
      ? []
      : [
          {
            key: "rollout:signoffs",
            before: config.signoffs,
            beforeSummary: `${Object.values(config.signoffs).reduce((n, roles) => n + Object.keys(roles).length, 0)} sign-offs (${Object.keys(config.signoffs).join(", ")})`,
            note: `archived in ${file}`,
          },
        ]),
  ];
}

// ---------------------------------------------------------------------------------------------
// The command

export async function finishCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  // Flags and the local file first: a typo never reaches Pulumi or AWS.
  const by = recorderName(flags);
  const evidence = evidenceFlag(flags);
  if (flags["dry-run"]) return finishDryRun(flags, ctx);

  const start = ctx.now();
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  const config = await loadLiveConfig(ctx.backend);
  const history = await ctx.history.read();
  const where = finishStage(config, history);
  if (where.stage === "refused") return refuse(ctx, flags, "finish", where.reasons);
  if (where.stage === "done") {
    const release = history.finished.at(-1)!;
    emit(ctx, flags, { command: "finish", stack: config.stack, release: release.number, done: true }, () =>
      ctx.out.log(
        `release ${release.number} of ${config.stack} finished at ${where.finish.at}: nothing left to do; open the next with \`npm run rollout -- start --stack ${config.stack} --image SERVICE=IMAGE\``,
      ),
    );
    return EXIT.ok;
  }
  let finish: FinishRecord;
  if (where.stage === "begin") {
    const given = evidence ?? {
      file: requireFlag(flags, "evidence", "the success criteria's evidence (metrics: {<criterion>: value})"),
      metrics: {},
    };
    const reasons = finishRefusals(config, given);
    reasons.push(...(await unhealthyReasons(ctx, config, stackAlarms(config))));
    // Blue must carry no traffic while it takes green's version: green serves everything, on the ALB.
    const outputs = await readStackOutputs(ctx.backend);
    for (const t of await readAlbTraffic(ctx.aws, outputs))
      if (t.green !== 100)
        reasons.push(
          `the ALB sends ${t.green} % of ${t.service}'s general traffic to green, not 100 %: blue takes green's version only while it carries no traffic (\`npm run rollout -- status --stack ${config.stack}\`)`,
        );
    if (reasons.length > 0) return refuse(ctx, flags, "finish", reasons);
    finish = {
      at: ctx.now().toISOString(),
      by,
      fromPhase: config.phase,
      evidence: successEvidenceLines(config.playbookSpec, given.metrics),
    };
    await keepRelease(ctx, history, config, finish);
  } else {
    finish = where.finish;
    // A resume is a new decision to go on: what refuses a finish now refuses its resume too (a
    // rollback set since it stopped, the latch, an alarm in ALARM).
    const reasons = [
      ...(config.rollback ? [rollbackSetReason(config)] : []),
      ...(await unhealthyReasons(ctx, config, stackAlarms(config))),
    ];
    if (reasons.length > 0) return refuse(ctx, flags, "finish (resume)", reasons);
    say(
      `resuming the finish of ${config.stack} recorded at ${finish.at} by ${finish.by} (${where.stage === "blue" ? "step 1 of 3: blue's health" : "step 2 of 3: traffic back on blue"})`,
    );
    if (evidence)
      say(
        `--evidence ${evidence.file} is not used: rollout:finish keeps the evidence the finish was decided on`,
      );
  }
  const number = releaseNumber(await ctx.history.read());

  if (where.stage !== "traffic") {
    const stopped = await promoteBlue(flags, ctx, config, finish, where.stage === "begin", start);
    if (stopped !== undefined) return stopped;
    // Ctrl-C during step 1: stop at this safe point, blue healthy and green still serving.
    if (ctx.signal?.aborted)
      return stop(
        ctx,
        flags,
        start,
        2,
        "interrupted before traffic returned to blue",
        [
          "blue runs green's version and is healthy; green still serves 100 % of the traffic",
          `rollout:finish is set and blue's config has green's version (${stackFileName(config.stack)})`,
        ],
        resumeHint(config.stack),
      );
  }
  const stopped = await returnTraffic(flags, ctx, config, where.stage !== "traffic", start);
  if (stopped !== undefined) return stopped;
  const archived = await archiveRelease(ctx, config, finish, say);

  const seconds = elapsedSeconds(ctx, start);
  const blue = Object.fromEntries(config.services.map((s) => [s.name, s.green]));
  emit(
    ctx,
    flags,
    {
      command: "finish",
      stack: config.stack,
      release: number,
      finishedAt: finish.at,
      by: finish.by,
      fromPhase: finish.fromPhase,
      blue,
      traffic: "100 % blue",
      phase: config.playbookSpec.phases[0]!.id,
      idleGreenReplicas: config.idleGreenReplicas,
      successEvidence: finish.evidence,
      archived: archived ? ctx.history.file : null,
      seconds,
    },
    () => {
      say(
        `release ${number} of ${config.stack} finished (${formatSeconds(seconds)}): blue runs ${Object.entries(
          blue,
        )
          .map(([service, v]) => `${service} ${v.image} (port ${v.port})`)
          .join(", ")}`,
      );
      say(
        `traffic is 100 % blue (verified on the ALB); green idles at ${config.idleGreenReplicas} pod${config.idleGreenReplicas === 1 ? "" : "s"} per service; phase ${config.playbookSpec.phases[0]!.id}`,
      );
      say(`next: \`npm run rollout -- start --stack ${config.stack} --image SERVICE=IMAGE\``);
    },
  );
  return archived ? EXIT.ok : EXIT.refused;
}

/**
 * Before any config changes: the release's record in the history gets what the config is about
 * to lose (its decisions and sign-offs), its versions and its success evidence, so a finish that
 * stops anywhere after this has already archived them.
 */
async function keepRelease(
  ctx: CommandContext,
  history: ReleaseHistory,
  config: RolloutConfig,
  finish: FinishRecord,
): Promise<void> {
  const current = currentRelease(history);
  await saveHistory(ctx, {
    ...history,
    current: {
      ...current,
      versions: Object.fromEntries(config.services.map((s) => [s.name, { blue: s.blue, green: s.green }])),
      decisions: config.decisions,
      signoffs: config.signoffs,
      successEvidence: finish.evidence,
    },
  });
}

/** The command's own stop: what happened, where things stand, how to resume. Exit 1. */
function stop(
  ctx: CommandContext,
  flags: Flags,
  start: Date,
  step: number,
  what: string,
  stands: string[],
  resume: string,
): number {
  const say = progress(ctx, start, Boolean(flags.json));
  emit(ctx, flags, { command: "finish", stopped: true, step, error: what, stands, resume }, () => {
    say(`finish stopped at step ${step} of 3: ${what}`);
    for (const line of stands) say(`  ${line}`);
    say(`to resume: ${resume}`);
  });
  ctx.out.error(`error: finish: ${what}`);
  return EXIT.refused;
}

const resumeHint = (stack: string) =>
  `\`npm run rollout -- finish --stack ${stack}\` (it reads from the config what is done and goes on from there)`;

/** Step 1: blue takes green's version (written only when `write`), `up`, blue's targets healthy. */
async function promoteBlue(
  flags: Flags,
  ctx: CommandContext,
  config: RolloutConfig,
  finish: FinishRecord,
  write: boolean,
  start: Date,
): Promise<number | undefined> {
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  const stack = config.stack;
  const changed = config.services.filter((s) => !blueRunsGreen(s));
  if (write) {
    say(
      `finishing ${stack} from ${config.phase}: step 1 of 3, blue takes green's version while green serves 100 %` +
        (changed.length > 0
          ? ` (${changed.map((s) => `${s.name}: ${s.blue.image} -> ${s.green.image}`).join(", ")})`
          : ""),
    );
  }
  const raw = await ctx.backend.getRolloutConfig();
  const kept =
    `rollout:finish is set and blue has green's version; blue carries no traffic (green serves 100 %). ` +
    `Run ${resumeHint(stack)} once the cause is fixed`;
  const deployed = await deployChange(ctx, {
    ...(write && {
      set: {
        finish: JSON.stringify(finish),
        services: JSON.stringify(rawServices(raw).map((s) => ({ ...s, blue: structuredClone(s.green) }))),
      },
    }),
    up: "finish 1/3: blue takes green's version",
    start,
    json,
    restore: { kept },
    verify: (outputs) => waitForHealthyTargets(ctx, outputs, "blue", say),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "finish", start, deployed);
  const health = deployed.verified;
  if (health.healthy) {
    say(`blue is healthy on green's version (${formatSeconds(health.seconds)})`);
    return undefined;
  }
  return stop(
    ctx,
    flags,
    start,
    1,
    health.interrupted
      ? "interrupted while waiting for blue's targets"
      : `blue's targets are not all healthy after ${formatSeconds(health.seconds)}`,
    [
      ...health.lines,
      "green still serves 100 % of the traffic; blue carries none",
      `rollout:finish is set and blue's config has green's version (${stackFileName(stack)})`,
    ],
    `once blue's pods are healthy (check them: \`kubectl -n ${config.cluster.namespace} get pods -l colour=blue\`), ${resumeHint(stack)}`,
  );
}

/** Step 2: the first phase at 0 % (written only when `write`), decisions and sign-offs out, `up`, the ALB 100 % blue. */
async function returnTraffic(
  flags: Flags,
  ctx: CommandContext,
  config: RolloutConfig,
  write: boolean,
  start: Date,
): Promise<number | undefined> {
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  const first = config.playbookSpec.phases[0]!.id;
  const stack = config.stack;
  say(
    `step 2 of 3: traffic back on blue (phase ${first}, greenWeight 0), green idles at ${config.idleGreenReplicas} pod${config.idleGreenReplicas === 1 ? "" : "s"} per service`,
  );
  const raw = await ctx.backend.getRolloutConfig();
  const remove = ["decisions", "signoffs"].filter((key) => raw[key] !== undefined);
  const deployed = await deployChange(ctx, {
    ...(write && { set: { phase: first, greenWeight: "0" }, ...(remove.length > 0 && { remove }) }),
    up: `finish 2/3: phase ${first}, traffic back on blue`,
    start,
    json,
    restore: {
      kept: `rollout:phase is ${first} at greenWeight 0 and the release's decisions and sign-offs are archived in ${ctx.history.file}; run ${resumeHint(stack)} once the cause is fixed`,
    },
    verify: (outputs) => blueProblems(ctx, outputs),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "finish", start, deployed);
  if (deployed.verified.length === 0) return undefined;
  return stop(
    ctx,
    flags,
    start,
    2,
    "the ALB does not serve 100 % blue after pulumi up",
    [
      ...deployed.verified,
      `the config says phase ${first} at greenWeight 0; blue runs green's version (healthy at step 1)`,
    ],
    resumeHint(stack),
  );
}

/**
 * Step 3: the finish event (so the archive holds it), then the release moves from the history's
 * current to its finished releases. False when the history could not be written (said on stderr).
 */
async function archiveRelease(
  ctx: CommandContext,
  config: RolloutConfig,
  finish: FinishRecord,
  say: (line: string) => void,
): Promise<boolean> {
  const before = await ctx.history.read();
  const number = releaseNumber(before);
  say(`step 3 of 3: the finish event, and release ${number} archived in ${ctx.history.file}`);
  // A resumed step 3 does not tell the finish twice.
  const told = before.current?.events.some((e) => e.kind === "finish" && e.details?.finishAt === finish.at);
  if (!told)
    await recordEvent(ctx, {
      kind: "finish",
      summary: `release ${number} of ${config.stack} finished from ${finish.fromPhase} by ${finish.by}: blue runs green's version, traffic is on blue, green idles`,
      details: {
        release: number,
        finishAt: finish.at,
        by: finish.by,
        fromPhase: finish.fromPhase,
        idleGreenReplicas: config.idleGreenReplicas,
      },
    });
  try {
    const history = await ctx.history.read();
    const current = history.current!;
    await saveHistory(ctx, {
      ...history,
      current: undefined,
      finished: [
        ...history.finished,
        { ...current, finishedAt: finish.at, successEvidence: finish.evidence },
      ],
    });
    return true;
  } catch (error) {
    ctx.out.error(
      `error: finish: release ${number} could not be archived in ${ctx.history.file}: ${oneLine(errorMessage(error))}; run ${resumeHint(config.stack)} again`,
    );
    return false;
  }
}

/**
 * `--dry-run`: what the finish would change, from Pulumi.<stack>.yaml (`source`, which tests give
 * directly) and the history; neither Pulumi nor AWS is asked anything.
 */
export async function finishDryRun(
  flags: Flags,
  ctx: CommandContext,
  source: { raw: Record<string, string>; config: RolloutConfig } = stackFileConfig(ctx),
): Promise<number> {
  const { raw, config } = source;
  const by = recorderName(flags);
  const evidence = evidenceFlag(flags);
  const history = await ctx.history.read();
  const where = finishStage(config, history);
  if (where.stage === "refused") return refuse(ctx, flags, "finish", where.reasons);
  const file = ctx.history.file;
  const number = releaseNumber(history);
  const idle = `green's Deployments: ${config.idleGreenReplicas} pod${config.idleGreenReplicas === 1 ? "" : "s"} per service (rollout:idleGreenReplicas)`;
  const archive = `${file}: release ${number} archived with its versions, decisions, sign-offs, success evidence and events`;
  switch (where.stage) {
    case "done":
      return printDryRun(
        ctx,
        flags,
        "finish",
        [],
        [`release ${history.finished.at(-1)!.number} is finished: nothing to do`],
        {
          stage: where.stage,
        },
      );
    case "traffic":
      return printDryRun(ctx, flags, "finish", [], ["pulumi up (step 2 again): traffic on blue", archive], {
        stage: where.stage,
        release: number,
      });
    case "blue":
      return printDryRun(
        ctx,
        flags,
        "finish",
        [...returnEdits(config, raw, file), revisionEdit(config, 1)],
        ["pulumi up (step 1 again), blue's targets healthy", idle, archive],
        { stage: where.stage, release: number },
      );
  }
  const given = evidence ?? {
    file: requireFlag(flags, "evidence", "the success criteria's evidence (metrics: {<criterion>: value})"),
    metrics: {},
  };
  const reasons = finishRefusals(config, given);
  if (reasons.length > 0) return refuse(ctx, flags, "finish", reasons);
  const finish: FinishRecord = {
    at: ctx.now().toISOString(),
    by,
    fromPhase: config.phase,
    evidence: successEvidenceLines(config.playbookSpec, given.metrics),
  };
  return printDryRun(
    ctx,
    flags,
    "finish",
    [
      { key: "rollout:finish", before: config.finish, after: finish },
      ...promotionEdits(config),
      ...returnEdits(config, raw, file),
      revisionEdit(config, 2),
    ],
    ["blue's targets must be healthy before traffic moves", idle, archive],
    { stage: where.stage, release: number },
  );
}
