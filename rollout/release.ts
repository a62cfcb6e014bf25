import { z } from "zod";
import { Decision, Signoff } from "./decisions";
import { isoTime } from "./validation";

/**
 * The release history of a stack (`releases/<stack>.json`, committed with the stack file): the
 * release now rolling out, with every rollout event as it happened, and each finished release
 * archived with its decisions, sign-offs, times and versions. The CLI writes it (events, `finish`,
 * `start`); `rollout history` shows it.
 */

/** What the CLI records, and publishes to the stack's info topic. */
export const RELEASE_EVENT_KINDS = [
  "start",
  "advance",
  "shift",
  "rollback",
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

/** The history of a stack that has none recorded yet. */
export function emptyHistory(stack: string): ReleaseHistory {
  return { version: 1, stack, finished: [] };
}

/** Where a stack's history lives, relative to the project root. */
export function releaseHistoryFile(stack: string): string {
  return `releases/${stack}.json`;
}
