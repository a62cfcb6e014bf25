import { z } from "zod";
import { CLOUDWATCH_SUB_HOUR_EVALUATION_SECONDS_MAX, cloudWatchMaxEvaluationSeconds } from "./awsLimits";
import {
  alarmPeriod,
  alarmWindow,
  GateMetric,
  gateMetricPeriod,
  isCloudWatchPeriod,
} from "./metricCatalogue";
import { parseOrThrow } from "./validation";

/**
 * A playbook is the rollout plan of one product, transcribed from its rollout document:
 * phases, quality gates, rollback triggers, GO/NO-GO rules and sign-off roles. Everything
 * the program, the policy pack and the CLI decide comes from here, so a threshold is
 * written exactly once.
 */

const camelCaseId = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9]*$/, { message: "expected a camelCase id such as errorRate" });
const kebabCaseId = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, { message: "expected a kebab-case id such as limited-pilot" });

/** Comparison as the document writes it: `errorRate < 1` passes when the value is below 1. */
export const Comparator = z.enum([">=", ">", "<=", "<", "="]);
export type Comparator = z.infer<typeof Comparator>;

export const GateAction = z.enum(["auto-rollback", "alert", "scale", "phase-hold", "review"]);
export type GateAction = z.infer<typeof GateAction>;

export const Severity = z.enum(["critical", "warning", "info"]);
export type Severity = z.infer<typeof Severity>;

/** CloudWatch's TreatMissingData, chosen per gate on purpose. */
export const MissingData = z.enum(["missing", "notBreaching", "breaching", "ignore"]);
export type MissingData = z.infer<typeof MissingData>;

/**
 * Windows of 10 s or 30 s datapoints are kept to an hour. Not an API limit (PutMetricAlarm
 * allows a day for any period under an hour, see cloudWatchMaxEvaluationSeconds): CloudWatch
 * keeps sub-minute datapoints only 3 hours, and a long high-resolution window is a slow alarm.
 */
const MAX_HIGH_RESOLUTION_WINDOW_SECONDS = 3600;

/** One alarm level of a gate. */
const GateLevel = z
  .object({
    threshold: z.number(),
    /** How long the breach must last: "sustained for 10 minutes" is 600. */
    sustainSeconds: z.number().int().positive(),
    action: GateAction,
    /** Which SNS topic is told. Default: the level's own name (critical or warning). */
    notify: Severity.optional(),
    /** Datapoints within the window that must breach (M of N). Default: all of them. */
    datapointsToAlarm: z.number().int().positive().optional(),
    note: z.string().optional(),
  })
  .strict();

const GateShape = z
  .object({
    id: camelCaseId,
    name: z.string().min(1),
    category: z.enum([
      "performance",
      "reliability",
      "user-experience",
      "resource",
      "data-integrity",
      "security",
      "business",
    ]),
    unit: z.string().min(1),
    metric: GateMetric,
    /** A breach is a value above (error rate) or below (throughput) the threshold. */
    breachWhen: z.enum(["above", "below"]),
    baseline: z.number().optional(),
    warning: GateLevel.optional(),
    critical: GateLevel.optional(),
    missingData: MissingData,
    /**
     * For a custom metric the application stops publishing when it dies (throughput, session
     * success): the value a period without data reads as while the colour carries traffic
     * (requests to its target groups). The alarm is then metric math that judges silence while
     * serving as this value and is neutral while the colour serves nothing, so it cannot fire on
     * an idle colour. `missingData` then only applies when CloudWatch has no data at all.
     */
    silenceWhileServing: z.number().optional(),
    description: z.string().optional(),
  })
  .strict();
export const Gate = GateShape.superRefine((gate, ctx) => checkGateLevels(gate, ctx));
export type Gate = z.infer<typeof Gate>;

/**
 * A gate needs a level; its warning must come before its critical level in the direction of
 * the breach; and every alarmed level's sustain window must be one CloudWatch can evaluate
 * with the period metricCatalogue.ts derives from it (a window it cannot express would be silently
 * rounded, or refused by AWS at deploy time).
 */
function checkGateLevels(gate: z.infer<typeof GateShape>, ctx: z.RefinementCtx): void {
  if (gate.warning === undefined && gate.critical === undefined) {
    ctx.addIssue({ code: "custom", path: [], message: "expected a warning or a critical level" });
    return;
  }
  if (gate.warning && gate.critical) {
    const worse =
      gate.breachWhen === "above"
        ? gate.warning.threshold > gate.critical.threshold
        : gate.warning.threshold < gate.critical.threshold;
    if (worse)
      ctx.addIssue({
        code: "custom",
        path: ["warning", "threshold"],
        message: `expected a warning threshold ${gate.breachWhen === "above" ? "at most" : "at least"} the critical threshold (${gate.critical.threshold}): the gate breaches ${gate.breachWhen} it, so the warning must fire first`,
      });
  }
  const metricPeriod = gateMetricPeriod(gate);
  if (metricPeriod === undefined) return;
  const windowOk = { warning: true, critical: true };
  for (const level of ["warning", "critical"] as const) {
    const sustain = gate[level]?.sustainSeconds;
    if (sustain === undefined) continue;
    const problem = sustainProblem(metricPeriod, sustain);
    windowOk[level] = problem === undefined;
    if (problem) ctx.addIssue({ code: "custom", path: [level, "sustainSeconds"], message: problem });
  }
  // An M-of-N alarm: CloudWatch PutMetricAlarm takes DatapointsToAlarm (M) and EvaluationPeriods
  // (N), both at least 1, and evaluates M breaching datapoints among the last N, so M cannot
  // exceed N. N is the one the alarm specs derive, checked only where the window itself is valid.
  for (const level of ["critical", "warning"] as const) {
    const spec = gate[level];
    if (!spec || !windowOk[level]) continue;
    const window = alarmWindow(metricPeriod, spec);
    if (window.datapointsToAlarm <= window.evaluationPeriods) continue;
    ctx.addIssue({
      code: "custom",
      path: [level, "datapointsToAlarm"],
      message: `expected at most ${window.evaluationPeriods}, the alarm's evaluation periods (${spec.sustainSeconds} s of ${window.periodSeconds} s periods): CloudWatch alarms on M breaching datapoints out of N periods, M <= N`,
    });
  }
}

/** Why CloudWatch cannot evaluate `sustainSeconds` over a metric of `metricPeriod`, or undefined. */
export function sustainProblem(metricPeriod: number, sustainSeconds: number): string | undefined {
  if (sustainSeconds < metricPeriod)
    return `expected at least ${metricPeriod} s, the metric's own period: a shorter window has no datapoint of its own`;
  const period = alarmPeriod(metricPeriod, sustainSeconds);
  if (!isCloudWatchPeriod(period))
    return `expected a window CloudWatch can alarm on: 10, 30 or a multiple of 60 seconds (this one would need a ${period} s period)`;
  if (sustainSeconds % period !== 0)
    return `expected a multiple of the alarm period (${period} s), or the alarm would wait ${Math.ceil(sustainSeconds / period) * period} s`;
  if (period < 60 && sustainSeconds > MAX_HIGH_RESOLUTION_WINDOW_SECONDS)
    return `expected at most ${MAX_HIGH_RESOLUTION_WINDOW_SECONDS} s: CloudWatch evaluates at most an hour of ${period} s datapoints`;
  // The window is EvaluationPeriods x Period, since sustainSeconds is a whole number of periods.
  const limit = cloudWatchMaxEvaluationSeconds(period);
  if (sustainSeconds > limit)
    return `expected at most ${limit} s: CloudWatch evaluates at most ${limit === CLOUDWATCH_SUB_HOUR_EVALUATION_SECONDS_MAX ? "one day" : "seven days"}`;
  return undefined;
}

export const Criterion = z
  .object({
    id: camelCaseId,
    op: Comparator,
    value: z.number(),
    unit: z.string().optional(),
    description: z.string().min(1),
  })
  .strict();
export type Criterion = z.infer<typeof Criterion>;

const DecisionRule = z.discriminatedUnion("type", [
  z.object({ type: z.literal("all") }).strict(),
  z.object({ type: z.literal("atLeast"), count: z.number().int().positive() }).strict(),
]);

export const Transition = z
  .object({
    from: kebabCaseId,
    to: kebabCaseId,
    rule: DecisionRule,
    criteria: z.array(Criterion).min(1),
    failActions: z.array(z.string()).default([]),
  })
  .strict()
  .refine((t) => t.rule.type === "all" || t.rule.count <= t.criteria.length, {
    message: "expected rule.count to be at most the number of criteria",
    path: ["rule", "count"],
  });
export type Transition = z.infer<typeof Transition>;

/**
 * The shortest wait between two shift steps, and the minute a window's last datapoint waits to be
 * judged: CloudWatch evaluates standard-resolution alarms once a minute (high-resolution ones,
 * of 10 or 30 s periods, every 10 s: CloudWatch User Guide, "High-resolution alarms", as
 * `evaluationCadenceSeconds` in latency.ts reads it). A shorter wait steps again before any
 * minute alarm has judged the step.
 */
export const SHIFT_INTERVAL_MIN_SECONDS = 60;

/**
 * How `rollout shift` moves general traffic in a phase when the operator names no `--step` or
 * `--interval`. Required on every phase, as minimumDays is: a forgotten default is an error,
 * never a single jump.
 */
export const ShiftDefaults = z
  .object({
    /** Percentage points of general traffic per step, up or down. */
    stepPercent: z.number().int().min(1).max(100),
    /** The observation window after each step: alarms are watched this long before the next one. */
    intervalSeconds: z.number().int().min(SHIFT_INTERVAL_MIN_SECONDS),
  })
  .strict();
export type ShiftDefaults = z.infer<typeof ShiftDefaults>;

/** A gate level whose action is auto-rollback, with its window: what a shift step waits for. */
export interface AutoRollbackWindow {
  gate: string;
  level: "critical" | "warning";
  sustainSeconds: number;
}

/** The automatic-rollback alarm level with the longest window (the first of equals), if any. */
export function slowestAutoRollback(playbook: { gates: readonly Gate[] }): AutoRollbackWindow | undefined {
  let slowest: AutoRollbackWindow | undefined;
  for (const gate of playbook.gates)
    for (const level of ["critical", "warning"] as const) {
      const spec = gate[level];
      if (spec?.action === "auto-rollback" && spec.sustainSeconds > (slowest?.sustainSeconds ?? -1))
        slowest = { gate: gate.id, level, sustainSeconds: spec.sustainSeconds };
    }
  return slowest;
}

/**
 * The least wait between shift steps that lets every automatic-rollback alarm judge a whole
 * window at the new weight: the slowest window, plus the minute CloudWatch may take to evaluate
 * its last datapoint. A shorter wait can step again before a breach the step caused has fired.
 */
export function minimumShiftIntervalSeconds(playbook: { gates: readonly Gate[] }): number {
  return (slowestAutoRollback(playbook)?.sustainSeconds ?? 0) + SHIFT_INTERVAL_MIN_SECONDS;
}

const Range = z
  .object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() })
  .strict()
  .superRefine((range, ctx) => {
    if (range.min > range.max)
      ctx.addIssue({ code: "custom", path: ["max"], message: `expected at least min (${range.min})` });
  });

export const Phase = z
  .object({
    id: kebabCaseId,
    name: z.string().min(1),
    objective: z.string().optional(),
    durationDays: z.number().positive(),
    /**
     * Minimum soak: the least time, in days from the GO that entered the phase, before a GO may
     * take the rollout out of it (the policy pack's rollout-phase-minimum-soak). Required on every
     * phase, so a forgotten soak is an error rather than none; at most durationDays.
     */
    minimumDays: z.number().nonnegative(),
    /** Day numbers of the whole plan, when the document gives them. */
    days: Range.optional(),
    users: Range.optional(),
    /** Highest share of general traffic (0-100) green may take in this phase. */
    trafficCapPercent: z.number().min(0).max(100),
    /** Whether named pilot users (the cohort) are routed to green in this phase. */
    cohortRouting: z.boolean(),
    /** `rollout shift`'s step and interval in this phase when the operator gives none. */
    shift: ShiftDefaults,
    userProfiles: z.array(z.string()).default([]),
    activities: z.array(z.string()).default([]),
    milestones: z.array(z.object({ day: z.number().int(), name: z.string() }).strict()).default([]),
    staffing: z.array(z.object({ role: z.string(), allocationPercent: z.number() }).strict()).default([]),
    rollbackTriggers: z
      .array(
        z
          .object({
            description: z.string(),
            gate: camelCaseId.optional(),
            op: Comparator.optional(),
            value: z.number().optional(),
          })
          .strict(),
      )
      .default([]),
    checklist: z.array(z.string()).default([]),
  })
  .strict();
export type Phase = z.infer<typeof Phase>;

export const Trigger = z
  .object({
    id: camelCaseId,
    name: z.string().min(1),
    kind: z.enum(["automatic", "manual"]),
    /** Gates whose critical alarm fires this trigger (automatic triggers fed by CloudWatch). */
    gates: z.array(camelCaseId).default([]),
    /**
     * Second, slower nets for the same failure (GuardDuty behind an application's own security
     * event): they also roll back, and the trigger table reports their worst case, but the
     * trigger's limit is judged on `gates`, its own path.
     */
    backupGates: z.array(camelCaseId).default([]),
    /** Breach-to-blue limit the document promises. Default: the playbook's rollback limit. */
    limitSeconds: z.number().int().positive().optional(),
    description: z.string().min(1),
  })
  .strict();
export type Trigger = z.infer<typeof Trigger>;

const Threshold = z.object({ op: Comparator, value: z.number(), unit: z.string().optional() }).strict();

export const Playbook = z
  .object(
    {
      id: kebabCaseId,
      name: z.string().min(1),
      source: z.string().min(1),
      product: z.string().optional(),
      /** Phase order is the order of this list. */
      phases: z.array(Phase).min(2),
      gates: z.array(Gate).min(1),
      transitions: z.array(Transition).default([]),
      rollback: z
        .object({
          limitSeconds: z.number().int().positive(),
          triggers: z.array(Trigger).min(1),
          procedure: z
            .array(
              z
                .object({
                  name: z.string(),
                  fromMinute: z.number().nonnegative().optional(),
                  toMinute: z.number().nonnegative().optional(),
                  steps: z.array(z.string()).min(1),
                })
                .strict(),
            )
            .default([]),
        })
        .strict(),
      responseMatrix: z
        .array(
          z
            .object({
              metric: z.string(),
              gates: z.array(camelCaseId).min(1),
              warning: Threshold,
              critical: Threshold,
              action: z.string(),
            })
            .strict(),
        )
        .default([]),
      successCriteria: z
        .array(
          Criterion.extend({
            category: z.enum(["deployment", "technical", "business", "operational"]),
          }).strict(),
        )
        .default([]),
      signoff: z
        .object({
          roles: z
            .array(
              z.object({ id: camelCaseId, name: z.string(), checklist: z.array(z.string()).min(1) }).strict(),
            )
            .min(1),
          /**
           * Roles whose approval a phase needs before it takes effect in production. Every phase
           * is a key (`[]` where none is needed), so a forgotten phase is an error, not a free pass.
           */
          requiredByPhase: z.record(kebabCaseId, z.array(camelCaseId)),
        })
        .strict(),
      /** Everything else the document specifies that people act on: on-call, escalation, reviews. */
      operations: z
        .array(
          z
            .object({
              name: z.string(),
              items: z.array(
                z
                  .object({
                    description: z.string(),
                    withinMinutes: z.number().positive().optional(),
                  })
                  .strict(),
              ),
            })
            .strict(),
        )
        .default([]),
    },
    { message: "expected a playbook: an object with id, name, source, phases, gates, rollback and signoff" },
  )
  .strict()
  .superRefine((playbook, ctx) => checkReferences(playbook, ctx));
export type Playbook = z.infer<typeof Playbook>;

/** Cross-references zod cannot express per field: unknown ids, duplicates, limits between sections. */
function checkReferences(playbook: z.infer<typeof Playbook>, ctx: z.RefinementCtx): void {
  const phaseIds = playbook.phases.map((p) => p.id);
  const gateIds = playbook.gates.map((g) => g.id);
  const roleIds = playbook.signoff.roles.map((r) => r.id);
  const report = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  const gateList = `(${gateIds.join(", ")})`;
  const limit = playbook.rollback.limitSeconds;

  /** Reports the second and later occurrences of an id at `path(index)`. */
  const unique = (ids: string[], what: string, path: (index: number) => (string | number)[]) =>
    ids.forEach((id, i) => {
      const first = ids.indexOf(id);
      if (first !== i) report(path(i), `expected unique ${what}, "${id}" repeats (first at index ${first})`);
    });

  unique(phaseIds, "phase ids", (i) => ["phases", i, "id"]);
  unique(gateIds, "gate ids", (i) => ["gates", i, "id"]);
  unique(roleIds, "role ids", (i) => ["signoff", "roles", i, "id"]);
  unique(
    playbook.rollback.triggers.map((t) => t.id),
    "trigger ids",
    (i) => ["rollback", "triggers", i, "id"],
  );
  unique(
    playbook.successCriteria.map((c) => c.id),
    "success criterion ids",
    (i) => ["successCriteria", i, "id"],
  );

  playbook.phases.forEach((phase, i) =>
    phase.rollbackTriggers.forEach((trigger, j) => {
      if (trigger.gate !== undefined && !gateIds.includes(trigger.gate))
        report(["phases", i, "rollbackTriggers", j, "gate"], `expected a gate id ${gateList}`);
    }),
  );

  unique(
    playbook.transitions.map((t) => t.from),
    "transition sources (one transition out of each phase)",
    (i) => ["transitions", i, "from"],
  );
  playbook.transitions.forEach((t, i) => {
    const from = phaseIds.indexOf(t.from);
    if (from < 0) report(["transitions", i, "from"], `expected one of ${phaseIds.join(", ")}`);
    else if (phaseIds[from + 1] !== t.to)
      report(
        ["transitions", i, "to"],
        `expected the phase after ${t.from} (${phaseIds[from + 1] ?? "none"})`,
      );
    unique(
      t.criteria.map((c) => c.id),
      "criterion ids within a transition",
      (j) => ["transitions", i, "criteria", j, "id"],
    );
  });

  playbook.rollback.triggers.forEach((trigger, i) => {
    trigger.gates.forEach((gate, j) => {
      if (!gateIds.includes(gate))
        report(["rollback", "triggers", i, "gates", j], `expected a gate id ${gateList}`);
    });
    trigger.backupGates.forEach((gate, j) => {
      if (!gateIds.includes(gate))
        report(["rollback", "triggers", i, "backupGates", j], `expected a gate id ${gateList}`);
    });
    if (trigger.limitSeconds !== undefined && trigger.limitSeconds > limit)
      report(
        ["rollback", "triggers", i, "limitSeconds"],
        `expected at most rollback.limitSeconds (${limit}): a trigger cannot promise a slower rollback than the playbook`,
      );
  });
  playbook.rollback.procedure.forEach((block, i) => {
    if (block.fromMinute !== undefined && block.toMinute !== undefined && block.fromMinute > block.toMinute)
      report(["rollback", "procedure", i, "toMinute"], `expected at least fromMinute (${block.fromMinute})`);
    if (block.toMinute !== undefined && block.toMinute * 60 > limit)
      report(
        ["rollback", "procedure", i, "toMinute"],
        `expected at most ${limit / 60} (rollback.limitSeconds ${limit})`,
      );
  });
  playbook.responseMatrix.forEach((row, i) =>
    row.gates.forEach((gate, j) => {
      if (!gateIds.includes(gate))
        report(["responseMatrix", i, "gates", j], `expected a gate id ${gateList}`);
    }),
  );

  const required = playbook.signoff.requiredByPhase;
  for (const phase of phaseIds.filter((id) => !(id in required)))
    report(
      ["signoff", "requiredByPhase", phase],
      `expected the list of role ids phase ${phase} needs (write [] when it needs none)`,
    );
  for (const [phase, roles] of Object.entries(required)) {
    if (!phaseIds.includes(phase))
      report(["signoff", "requiredByPhase", phase], `expected a phase id (${phaseIds.join(", ")})`);
    roles.forEach((role, j) => {
      if (!roleIds.includes(role))
        report(["signoff", "requiredByPhase", phase, j], `expected a role id (${roleIds.join(", ")})`);
    });
  }
  playbook.gates.forEach((gate, i) => {
    if (gate.silenceWhileServing !== undefined && gate.metric.source !== "custom")
      report(
        ["gates", i, "silenceWhileServing"],
        `expected only on a custom metric gate (this one is ${gate.metric.source}): ALB and Container Insights metrics are published by AWS, not by the application`,
      );
  });
  // A green that cannot answer at all (crashed pods, failed health checks) never shows in its
  // targets' own 5xx: every playbook must roll back on the ALB's view of it.
  for (const name of ["healthyHostCount", "albGeneratedErrorRate"] as const) {
    const watched = playbook.gates.some(
      (g) => g.metric.source === "alb" && g.metric.name === name && g.critical?.action === "auto-rollback",
    );
    if (!watched)
      report(
        ["gates"],
        `expected a gate on { source: alb, name: ${name} } whose critical level is auto-rollback: without it a green that cannot answer (crashed or unhealthy targets) is invisible to the automatic rollback`,
      );
  }
  const slowest = slowestAutoRollback(playbook);
  const minimumInterval = minimumShiftIntervalSeconds(playbook);
  playbook.phases.forEach((phase, i) => {
    if (slowest && phase.shift.intervalSeconds < minimumInterval)
      report(
        ["phases", i, "shift", "intervalSeconds"],
        `expected at least ${minimumInterval} s: the slowest automatic rollback (${slowest.gate} ${slowest.level}) judges ${slowest.sustainSeconds} s of data and CloudWatch evaluates it up to ${SHIFT_INTERVAL_MIN_SECONDS} s later; a shorter wait steps again before a breach the step caused can fire`,
      );
    if (phase.trafficCapPercent > 0 && phase.shift.stepPercent >= phase.trafficCapPercent)
      report(
        ["phases", i, "shift", "stepPercent"],
        `expected less than the phase's trafficCapPercent (${phase.trafficCapPercent}): from 0 % the cap must take at least two steps, never one jump`,
      );
  });
  playbook.phases.forEach((phase, i) => {
    if (phase.minimumDays > phase.durationDays)
      report(
        ["phases", i, "minimumDays"],
        `expected at most durationDays (${phase.durationDays}): a phase cannot have to soak longer than it is planned to last`,
      );
  });
  if (playbook.phases[0]?.trafficCapPercent !== 0)
    report(["phases", 0, "trafficCapPercent"], "expected 0: the first phase is blue-only");
}

/** Validate an already-parsed playbook document. `origin` names it in errors. */
export function parsePlaybook(document: unknown, origin: string): Playbook {
  return parseOrThrow(Playbook, document, "", `invalid playbook ${origin}`);
}
