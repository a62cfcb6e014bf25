import { z } from "zod";
import { Decision, Signoff } from "./config";

/**
 * The rollout state record: one SSM parameter per stack, written by the program on every
 * `pulumi up`, read by the policy pack (as the parameter's input), the rollback Lambda and
 * the CLI. Only this parameter, the listener rules and the deploy hooks carry the phase and
 * weights, so a traffic shift touches nothing else.
 */

export const STATE_PARAMETER_TYPE = "aws:ssm/parameter:Parameter";
/** Resource name (Pulumi URN name) of the state parameter. */
export const STATE_RESOURCE_NAME = "rollout-state";

export function stateParameterName(stack: string): string {
  return `/staged-rollout/${stack}/state`;
}

/** Path under which the rollback Lambda writes its latch; read with GetParametersByPath, so a missing latch is an empty list. */
export function latchPath(stack: string): string {
  return `/staged-rollout/${stack}/latch`;
}

export function latchParameterName(stack: string): string {
  return `${latchPath(stack)}/rollback`;
}

export const Latch = z
  .object({
    reason: z.string(),
    alarm: z.string(),
    /** ISO time the Lambda wrote the latch; `rollout:rollbackAcknowledged` must equal it to resume. */
    at: z.string(),
    /**
     * True while the Lambda has written the latch but not yet told the critical topic: a retried
     * invocation that finds it sends the notification. Absent once it has been sent.
     */
    notificationPending: z.boolean().optional(),
  })
  .strict();
export type Latch = z.infer<typeof Latch>;

/** What an unreadable latch parameter reads as: still a latch, so traffic stays on blue until someone looks at it. */
const UNREADABLE_LATCH: Latch = { reason: "unreadable latch parameter", alarm: "unknown", at: "unknown" };

/** Whether a latch is the stand-in for an unreadable parameter (it has no time to acknowledge). */
export function isUnreadableLatch(latch: Latch): boolean {
  return latch.reason === UNREADABLE_LATCH.reason && latch.at === UNREADABLE_LATCH.at;
}

/**
 * The latch parameter's value as a `Latch`. Not JSON, or JSON that is not a latch, reads as
 * the unreadable latch rather than an error: the program keeps 100 % blue, and the Lambda
 * does not overwrite it.
 */
export function parseLatch(raw: string): Latch {
  try {
    return Latch.parse(JSON.parse(raw));
  } catch {
    return { ...UNREADABLE_LATCH };
  }
}

/** `unknown` offline (plan cannot read AWS), `clear`, `acknowledged` or `set` (keeps 100 % blue). */
export type LatchStatus = "unknown" | "clear" | "set" | "acknowledged";

export const RolloutState = z
  .object({
    version: z.literal(1),
    stack: z.string(),
    playbook: z.string(),
    tier: z.enum(["production", "staging"]),
    phase: z.string(),
    greenWeight: z.number(),
    rollback: z.boolean(),
    latch: z.enum(["unknown", "clear", "set", "acknowledged"]),
    alarmActionsEnabled: z.boolean(),
    cohortUsers: z.number().int().nonnegative(),
    services: z.array(
      z
        .object({ service: z.string(), blue: z.number(), green: z.number(), cohortRules: z.number().int() })
        .strict(),
    ),
    decisions: z.array(Decision),
    signoffs: z.record(z.string(), z.record(z.string(), Signoff)),
  })
  .strict();
export type RolloutState = z.infer<typeof RolloutState>;

/** Whether a latch read from SSM still forces blue: set, and not acknowledged by config. */
export function latchStatus(latch: Latch | undefined, acknowledged: string | undefined): LatchStatus {
  if (!latch) return "clear";
  return acknowledged === latch.at ? "acknowledged" : "set";
}
