import { z } from "zod";
import { Decision, evaluateCriterion, parseEvidenceLine, Signoff, type CriterionResult } from "./decisions";
import type { Criterion, Playbook } from "./playbook";
import { evaluateSuccessCriteria, type SuccessReport } from "./success";
import { isoTime, RolloutInputError } from "./validation";

/**
 * A stack's releases. The release history (`releases/<stack>.json`, committed with the stack
 * file): the release now rolling out, with every rollout event as it happened, and each finished
 * release archived with its decisions, sign-offs, times and versions. The CLI writes it (events,
 * `finish`, `start`); `rollout history` shows it. And the lifecycle's stack config, which the
 * program, the policy pack and the CLI share: `rollout:release` (start), `rollout:finish`
 * (finish) and the rules a finish is judged by (`finishRecordProblems`).
 */

/** What the CLI records, and publishes to the stack's info topic. */
export const RELEASE_EVENT_KINDS = [
  "start",
  "advance",
  "shift",
  "rollback",
  "resume",
  "restore",
  "decision",
  "signoff",
  "finish",
] as const;
export type ReleaseEventKind = (typeof RELEASE_EVENT_KINDS)[number];

export const ReleaseEvent = z
  .object({
    at: isoTime,
    kind: z.enum(RELEASE_EVENT_KINDS),
    /** One line, as the info topic's message says it. */
    summary: z.string().min(1).max(1000),
    /** The stack config revision the event was written at (rollout:revision), when it wrote config. */
    revision: z.number().int().nonnegative().optional(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  })
  .strict();
export type ReleaseEvent = z.infer<typeof ReleaseEvent>;

/** One colour's version of a service: what blue and green run. */
export const ServiceVersion = z.object({ image: z.string().min(1), port: z.number().int() }).strict();
export type ServiceVersion = z.infer<typeof ServiceVersion>;

export const ReleaseRecord = z
  .object({
    /** 1 for the stack's first recorded release, then one more per `start`. */
    number: z.number().int().positive(),
    startedAt: isoTime.optional(),
    finishedAt: isoTime.optional(),
    /** Per service: the version blue ran and the version green brought (green became blue on finish). */
    versions: z.record(z.string(), z.object({ blue: ServiceVersion, green: ServiceVersion }).strict()),
    decisions: z.array(Decision).default([]),
    signoffs: z.record(z.string(), z.record(z.string(), Signoff)).default({}),
    /** `metric=value` lines of the success criteria `finish` was decided on. */
    successEvidence: z.array(z.string()).default([]),
    events: z.array(ReleaseEvent).default([]),
  })
  .strict();
export type ReleaseRecord = z.infer<typeof ReleaseRecord>;

export const ReleaseHistory = z
  .object({
    version: z.literal(1),
    stack: z.string().min(1),
    /** The release rolling out now (events are appended to it); absent between `finish` and `start`. */
    current: ReleaseRecord.optional(),
    /** Finished releases, oldest first. */
    finished: z.array(ReleaseRecord).default([]),
  })
  .strict();
export type ReleaseHistory = z.infer<typeof ReleaseHistory>;

/**
 * The number of the release under way, else the next one's: one past the last finished release
 * (not a count: the oldest may have moved to files of their own, `rotateHistory`).
 */
export function releaseNumber(history: ReleaseHistory): number {
  return history.current?.number ?? (history.finished.at(-1)?.number ?? 0) + 1;
}

/** The release under way, or an empty record for the next one (a first event, a finish or a start opens it). */
export function currentRelease(history: ReleaseHistory): ReleaseRecord {
  return (
    history.current ?? {
      number: releaseNumber(history),
      versions: {},
      decisions: [],
      signoffs: {},
      successEvidence: [],
      events: [],
    }
  );
}

/** The history of a stack that has none recorded yet. */
export function emptyHistory(stack: string): ReleaseHistory {
  return { version: 1, stack, finished: [] };
}

/** Where a stack's history lives, relative to the project root. */
export function releaseHistoryFile(stack: string): string {
  return `releases/${stack}.json`;
}

// ---------------------------------------------------------------------------------------
// The release lifecycle in stack config: `rollout:release` (start) and `rollout:finish` (finish)

/** Most evidence lines a finish records (one per success criterion: Telegram has 17), and the longest. */
export const FINISH_EVIDENCE_LINES_MAX = 100;
export const FINISH_EVIDENCE_LINE_MAX = 300;

/**
 * `rollout:finish`, written by `rollout finish` when blue takes green's version: who finished the
 * release, when, from which phase, and the success criteria's evidence, one `gates --record`-style
 * line per criterion. It stays set between `finish` and the next `start`: while it does, green
 * idles (`rollout:idleGreenReplicas`) and blue may run green's version (the policy pack's
 * rollout-finish-needs-success checks the record against the playbook).
 */
export const FinishRecord = z
  .object({
    at: isoTime,
    by: Decision.shape.by,
    fromPhase: z.string({ message: "expected a phase id" }).min(1, { message: "expected a phase id" }),
    evidence: z
      .array(
        z
          .string({ message: "expected an evidence line" })
          .min(1, { message: "expected an evidence line" })
          .max(FINISH_EVIDENCE_LINE_MAX, {
            message: `expected an evidence line of at most ${FINISH_EVIDENCE_LINE_MAX} characters`,
          }),
      )
      .max(FINISH_EVIDENCE_LINES_MAX, {
        message: `expected at most ${FINISH_EVIDENCE_LINES_MAX} evidence lines (one per success criterion)`,
      }),
  })
  .strict();
export type FinishRecord = z.infer<typeof FinishRecord>;

/**
 * `rollout:release`, written by `rollout start`: the release's number (as in the history), when it
 * started and the services it gives a new green version. A service it does not name keeps blue's
 * version on green, so blue and green running one version there is no promotion.
 */
export const ReleaseMark = z
  .object({
    number: z
      .number({ message: "expected a release number of at least 1" })
      .int({ message: "expected a release number of at least 1" })
      .min(1, { message: "expected a release number of at least 1" }),
    startedAt: isoTime,
    services: z
      .array(z.string({ message: "expected a service name" }))
      .min(1, { message: "expected at least one service the release changes" }),
  })
  .strict();
export type ReleaseMark = z.infer<typeof ReleaseMark>;

/** Most pods per service a finished release leaves on green (`rollout:idleGreenReplicas`): the most a service runs (`replicas` is at most 50 too). */
export const IDLE_GREEN_REPLICAS_MAX = 50;

/** One colour's image and port, as `rollout:services[].blue` and `.green` hold them. */
interface Colours {
  blue: ServiceVersion;
  green: ServiceVersion;
}

/**
 * What an image reference runs: `repository@digest` when it names a digest (a tag beside a digest
 * is ignored by the runtime: the digest is what is pulled), else `repository:tag` (`latest` when
 * none). So `web:1.2@sha256:ab` and `web@sha256:ab` are the same version; `web` and `web:latest` too.
 */
export function imageIdentity(image: string): string {
  const at = image.indexOf("@");
  const name = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? undefined : image.slice(at + 1).toLowerCase();
  // A tag follows the last colon after the last slash (a colon before it is a registry's port).
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const repository = colon > slash ? name.slice(0, colon) : name;
  const tag = colon > slash ? name.slice(colon + 1) : "latest";
  return digest ? `${repository}@${digest}` : `${repository}:${tag}`;
}

/** Whether blue runs green's version: the same image (however spelled) and the same port. */
export function blueRunsGreen(service: Colours): boolean {
  return (
    imageIdentity(service.blue.image) === imageIdentity(service.green.image) &&
    service.blue.port === service.green.port
  );
}

/** A success criterion's result as `rollout finish` records it (the `gates --record` line, without a source). */
export function evidenceLine(result: CriterionResult): string {
  return `${result.id} = ${result.value ?? "missing"} (required ${result.op} ${result.threshold}): ${result.pass ? "pass" : "FAIL"}`;
}

/** The success criteria over evidence, one line per criterion in the playbook's order. */
export function successEvidenceLines(
  playbook: Pick<Playbook, "successCriteria">,
  evidence: Readonly<Record<string, number>>,
): string[] {
  return playbook.successCriteria.map((c) => evidenceLine(evaluateCriterion(c, evidence[c.id])));
}

/** What the playbook's last phase is: the only one a release finishes from. */
export function lastPhase(playbook: { phases: readonly { id: string }[] }): string {
  return playbook.phases.at(-1)!.id;
}

const EVIDENCE_LINE_FORMAT = "<criterion> = <value> (required <op> <threshold>): pass|FAIL";

/**
 * What is wrong with a finish record against the playbook, each problem naming its key: it must
 * name the last phase, and its evidence lines, recomputed with `evaluateSuccessCriteria` (what a
 * line says of itself counts for nothing), must measure every success criterion and pass each.
 */
export function finishRecordProblems(
  playbook: Playbook,
  finish: Pick<FinishRecord, "fromPhase" | "evidence">,
): string[] {
  const problems: string[] = [];
  const last = lastPhase(playbook);
  if (finish.fromPhase !== last)
    problems.push(
      `rollout:finish.fromPhase: the release finished from phase ${finish.fromPhase}, but playbook ${playbook.id} ends with ${last}: a release finishes from its last phase`,
    );
  const ids = playbook.successCriteria.map((c) => c.id);
  const values: Record<string, number> = {};
  const seen = new Set<string>();
  finish.evidence.forEach((text, j) => {
    const key = `rollout:finish.evidence[${j}]`;
    const line = parseEvidenceLine(text);
    if (!line) {
      problems.push(`${key}: expected "${EVIDENCE_LINE_FORMAT}", got ${JSON.stringify(text)}`);
      return;
    }
    if (!ids.includes(line.id)) {
      problems.push(
        `${key}: ${line.id} is no success criterion of playbook ${playbook.id}; expected one of ${ids.join(", ")}`,
      );
      return;
    }
    if (seen.has(line.id))
      problems.push(`${key}: ${line.id} is recorded twice; expected one line per criterion`);
    seen.add(line.id);
    if (line.value !== undefined) values[line.id] = line.value;
  });
  let report: SuccessReport;
  try {
    report = evaluateSuccessCriteria(playbook, values);
  } catch (error) {
    if (!(error instanceof RolloutInputError)) throw error;
    return [...problems, ...error.issues.map((p) => `rollout:finish.evidence: ${p}`)];
  }
  for (const r of report.categories.flatMap((c) => c.results)) {
    if (r.status === "fail")
      problems.push(`rollout:finish.evidence: success criterion ${r.id} fails: ${r.reason}`);
    if (r.status === "not-measured")
      problems.push(
        `rollout:finish.evidence: success criterion ${r.id} is not measured; every success criterion needs its evidence`,
      );
  }
  return problems;
}

/** The longest text a finite, non-negative evidence value prints as (`0.0000012345678901234567`). */
const NUMBER_TEXT_MAX = 24;

/**
 * The largest finish record `rollout finish` can write for this playbook: one line per success
 * criterion with the longest value a number prints as. The state record's worst case counts it
 * before the finish exists, so finishing can never be what outgrows the SSM parameter.
 */
export function largestFinish(playbook: {
  phases: readonly { id: string }[];
  successCriteria: readonly Pick<Criterion, "id" | "op" | "value">[];
}): Pick<FinishRecord, "fromPhase" | "evidence"> {
  return {
    fromPhase: lastPhase(playbook),
    evidence: playbook.successCriteria.map(
      (c) => `${c.id} = ${"9".repeat(NUMBER_TEXT_MAX)} (required ${c.op} ${c.value}): FAIL`,
    ),
  };
}

/** The JSON text a history is stored as. */
export function historyText(history: ReleaseHistory): string {
  return `${JSON.stringify(history, null, 2)}\n`;
}

/**
 * A history that fits `maxBytes` (the size every input file may have: the CLI must be able to
 * read back what it wrote): the oldest finished releases move out, each to a file of its own
 * (`releases/<stack>-release-<n>.json`), until the rest fits. Throws when the release under way
 * alone is too big: its events cannot be dropped.
 */
export function rotateHistory(
  history: ReleaseHistory,
  maxBytes: number,
): { kept: ReleaseHistory; archived: ReleaseRecord[] } {
  const kept = { ...history, finished: [...history.finished] };
  const archived: ReleaseRecord[] = [];
  while (Buffer.byteLength(historyText(kept)) > maxBytes) {
    const oldest = kept.finished.shift();
    if (!oldest)
      throw new Error(
        `${releaseHistoryFile(history.stack)}: release ${history.current?.number ?? "?"} alone takes more than ${maxBytes} bytes of events, the most an input file may be; move its events to a file of their own before the next change`,
      );
    archived.push(oldest);
  }
  return { kept, archived };
}

/** Where a finished release moved out of the history lives. */
export function archivedReleaseFile(stack: string, number: number): string {
  return `releases/${stack}-release-${number}.json`;
}
