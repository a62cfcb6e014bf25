import { z } from "zod";
import { SSM_PARAMETER_VALUE_MAX_BYTES, type SsmParameterTier } from "./awsLimits";
import { Decision, latestDecisionPerTransition, Signoff, type Signoffs } from "./decisions";
import type { Criterion } from "./playbook";
import { blueRunsGreen, largestFinish, type FinishRecord, type ReleaseMark } from "./release";
import type { CohortConfig, ServiceConfig } from "./serviceConfig";
import { cohortRoutesFor, type ServiceTraffic } from "./traffic";

/**
 * The rollout state record: one SSM parameter per stack, written by the program on every
 * `pulumi up`, read by the policy pack (as the parameter's input), the rollback Lambda and
 * the CLI. Only this parameter, the listener rules and the deploy hooks carry the phase and
 * weights, so a traffic shift touches nothing else.
 */

export const STATE_PARAMETER_TYPE = "aws:ssm/parameter:Parameter";
/**
 * Tier of the state parameter. Intelligent-Tiering stores the value as standard (4 KB) while it
 * fits and as advanced (8 KB) when a long rollout's sign-offs need it; stateRecordProblems
 * checks the record against that limit before anything is deployed.
 */
export const STATE_PARAMETER_TIER: SsmParameterTier = "Intelligent-Tiering";
/** Resource name (Pulumi URN name) of the state parameter. */
export const STATE_RESOURCE_NAME = "rollout-state";

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
    /** `rollout:revision` of the stack file this deploy ran from. */
    revision: z.number().int().nonnegative(),
    /**
     * The revision of the record this deploy found in SSM, only when it is newer than `revision`:
     * the deploy runs an older stack file than the one deployed, and rollout-revision-current
     * refuses it. Absent otherwise, so the record does not change from one deploy to the next.
     */
    deployedRevision: z.number().int().nonnegative().optional(),
    /** Why `rollback` is true (`rollout:rollbackReason`, which `rollout rollback --reason` writes); only while it is. */
    rollbackReason: z.string().optional(),
    latch: z.enum(["unknown", "clear", "set", "acknowledged"]),
    alarmActionsEnabled: z.boolean(),
    cohortUsers: z.number().int().nonnegative(),
    services: z.array(
      z
        .object({
          service: z.string(),
          blue: z.number(),
          green: z.number(),
          cohortRules: z.number().int(),
          /** Blue runs exactly green's version (image and port); absent otherwise. */
          blueRunsGreen: z.literal(true).optional(),
        })
        .strict(),
    ),
    decisions: z.array(Decision),
    signoffs: z.record(z.string(), z.record(z.string(), Signoff)),
    /** `rollout:release` (set by `rollout start`): the release's number and the services it changes. */
    release: z
      .object({ number: z.number().int().positive(), services: z.array(z.string()) })
      .strict()
      .optional(),
    /**
     * `rollout:finish` (set by `rollout finish`): the phase the release finished from and its
     * success evidence, which rollout-finish-needs-success recomputes against the playbook.
     */
    finish: z
      .object({ fromPhase: z.string(), evidence: z.array(z.string()) })
      .strict()
      .optional(),
  })
  .strict();
export type RolloutState = z.infer<typeof RolloutState>;

/** Whether a latch read from SSM still forces blue: set, and not acknowledged by config. */
export function latchStatus(latch: Latch | undefined, acknowledged: string | undefined): LatchStatus {
  if (!latch) return "clear";
  return acknowledged === latch.at ? "acknowledged" : "set";
}

/** What the state record is built from: the validated config (RolloutConfig), or the parts of it the record carries. */
export interface StateSource {
  stack: string;
  tier: RolloutState["tier"];
  phase: string;
  greenWeight: number;
  rollback: boolean;
  rollbackReason?: string;
  revision: number;
  alarmActionsEnabled: boolean;
  cohorts?: CohortConfig;
  decisions: readonly Decision[];
  signoffs: Signoffs;
  /** Each service's colours: the record says where blue runs green's version. */
  services: readonly Pick<ServiceConfig, "name" | "blue" | "green">[];
  release?: Pick<ReleaseMark, "number" | "services">;
  finish?: Pick<FinishRecord, "fromPhase" | "evidence">;
  /** The playbook: its id, and for the worst case the phases and success criteria a finish records. */
  playbookSpec: {
    id: string;
    phases: readonly { id: string }[];
    successCriteria: readonly Pick<Criterion, "id" | "op" | "value">[];
  };
}

/**
 * The revision of a state record as SSM holds it (the parameter's value), read leniently: a record
 * written before revisions existed is revision 0; a value that is not a record at all reads as
 * undefined (nothing to compare: the deploy rewrites it).
 */
function recordRevision(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) return undefined;
  const revision = (record as { revision?: unknown }).revision;
  if (revision === undefined) return 0;
  return Number.isSafeInteger(revision) && (revision as number) >= 0 ? (revision as number) : undefined;
}

/**
 * The revision a stack is at: the larger of its deployed record's and the revision the rollout CLI
 * claimed in SSM for its last write (`claim`: the parameter's value, a whole number, or nothing).
 * A claim that is not a whole number counts for nothing.
 */
export function stackRevision(
  recordValue: string | undefined,
  claim: string | undefined,
): number | undefined {
  const record = recordRevision(recordValue);
  const claimed = claim !== undefined && /^\d{1,15}$/.test(claim.trim()) ? Number(claim.trim()) : undefined;
  if (record === undefined) return claimed;
  return claimed === undefined ? record : Math.max(record, claimed);
}

/** Why a deploy from `revision` must not overwrite a record at `deployed`, or undefined when it may. */
export function staleRevisionProblem(
  stack: string,
  revision: number,
  deployed: number | undefined,
): string | undefined {
  if (deployed === undefined || deployed <= revision) return undefined;
  return (
    `Pulumi.${stack}.yaml is at rollout:revision ${revision}, but stack ${stack} runs revision ${deployed}: ` +
    `the rollout CLI changed its config since this file was written (a shift, an advance, a sign-off, a decision), ` +
    `and deploying this file would undo that. Pull the newer Pulumi.${stack}.yaml (git pull) or merge your change into it, then deploy; see docs/config-revisions.md`
  );
}

/**
 * The state record of a deploy: config, the traffic it applies, the latch it found and the
 * revision of the record it found in SSM (undefined offline or on a first deploy).
 */
export function rolloutStateRecord(
  config: StateSource,
  traffic: readonly Pick<ServiceTraffic, "service" | "blue" | "green" | "cohortRoutes">[],
  latch: LatchStatus,
  deployedRevision?: number,
): RolloutState {
  return {
    version: 1,
    stack: config.stack,
    playbook: config.playbookSpec.id,
    tier: config.tier,
    phase: config.phase,
    greenWeight: config.greenWeight,
    rollback: config.rollback,
    ...(config.rollback && config.rollbackReason !== undefined && { rollbackReason: config.rollbackReason }),
    revision: config.revision,
    ...(deployedRevision !== undefined && deployedRevision > config.revision && { deployedRevision }),
    latch,
    alarmActionsEnabled: config.alarmActionsEnabled,
    cohortUsers: config.cohorts?.users.length ?? 0,
    services: traffic.map((t) => {
      const colours = config.services.find((s) => s.name === t.service);
      return {
        service: t.service,
        blue: t.blue,
        green: t.green,
        cohortRules: t.cohortRoutes.length,
        // Only when true: a record of a rollout under way stays as it was before finish existed.
        ...(colours && blueRunsGreen(colours) && { blueRunsGreen: true as const }),
      };
    }),
    // Compact: readers need only the latest decision per transition, without evidence lines
    // (they stay in stack config), which keeps a whole rollout's record small.
    decisions: latestDecisionPerTransition(config.decisions).map((d) => ({ ...d, evidence: [] })),
    signoffs: config.signoffs,
    ...(config.release && {
      release: { number: config.release.number, services: [...config.release.services] },
    }),
    ...(config.finish && {
      finish: { fromPhase: config.finish.fromPhase, evidence: [...config.finish.evidence] },
    }),
  };
}

/** What the record's worst case is computed from: the state source, with each service's path pattern (its cohort rules). */
export type SizedStateSource = Omit<StateSource, "services"> & {
  services: readonly Pick<ServiceConfig, "name" | "pathPattern" | "blue" | "green">[];
};

/** UTF-8 bytes of the parameter value a record is stored as (its JSON). */
export function stateValueBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * The largest record `config` can produce, whatever the latch and the weights a deploy finds:
 * the longest latch status, weights of 100/0 (no pair of weights summing to 100 takes more
 * digits) and every service's cohort rules, as in a phase that routes the cohort. And whatever
 * the release lifecycle adds before the next sign-off or decision is cleared: blue running
 * green's version in every service, a release changing every service, and the finish record
 * (the configured one, else the largest `rollout finish` writes for the playbook).
 */
export function worstCaseStateRecord(config: SizedStateSource): RolloutState {
  const traffic = config.services.map((s) => ({
    service: s.name,
    blue: 100,
    green: 0,
    cohortRoutes: cohortRoutesFor(config.cohorts, s.pathPattern),
  }));
  // The reason as if `rollback` were true too: setting it must not be what outgrows the parameter.
  return rolloutStateRecord(
    {
      ...config,
      rollback: config.rollback || config.rollbackReason !== undefined,
      services: config.services.map((s) => ({ ...s, green: s.blue })),
      release: { number: Number.MAX_SAFE_INTEGER, services: config.services.map((s) => s.name) },
      finish: config.finish ?? largestFinish(config.playbookSpec),
    },
    traffic,
    "acknowledged",
    Number.MAX_SAFE_INTEGER,
  );
}

/** What to do about a record too big, by the config key that takes most of it. */
const SHRINK_ADVICE = {
  signoffs: "shorten approver names",
  decisions: "shorten the deciders' names in rollout:decisions[].by",
  services: "split the services across stacks",
} as const;

/**
 * Whether the state record can outgrow its SSM parameter (PutParameter refuses a larger value,
 * failing the deploy after other resources changed): one problem naming the config key that
 * takes most of the record, or none.
 */
export function stateRecordProblems(config: SizedStateSource): string[] {
  const record = worstCaseStateRecord(config);
  const bytes = stateValueBytes(record);
  const limit = SSM_PARAMETER_VALUE_MAX_BYTES[STATE_PARAMETER_TIER];
  if (bytes <= limit) return [];
  const parts = (["signoffs", "decisions", "services"] as const).map(
    (key) => [key, stateValueBytes(record[key])] as const,
  );
  const [largest] = [...parts].sort((a, b) => b[1] - a[1])[0]!;
  return [
    `rollout:${largest}: expected sign-offs, decisions and services whose rollout state record fits its SSM parameter (at most ${limit} bytes, PutParameter's limit for the ${STATE_PARAMETER_TIER} tier), got a record of up to ${bytes} bytes (${parts.map(([key, n]) => `${key} ${n}`).join(", ")}); ${SHRINK_ADVICE[largest]}`,
  ];
}
