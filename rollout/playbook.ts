import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { z } from "zod";
import { parseOrThrow, RolloutInputError } from "./validation";

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

/** Where a gate's measurement comes from; decides the CloudWatch metric (see gates.ts). */
export const GateMetric = z.discriminatedUnion("source", [
  z
    .object({
      /** ALB metrics of green's target group, published every 60 s. */
      source: z.literal("alb"),
      name: z.enum(["errorRate", "p95ResponseMs", "averageResponseMs", "requestCount"]),
    })
    .strict(),
  z
    .object({
      /** Container Insights for EKS, per service (ClusterName, Namespace, Service). */
      source: z.literal("container-insights"),
      name: z.enum(["pod_cpu_utilization", "pod_memory_utilization", "node_filesystem_utilization"]),
    })
    .strict(),
  z
    .object({
      /** Published by the application into the stack's namespace. */
      source: z.literal("custom"),
      name: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9]*$/, { message: "expected a metric name such as RowsPerSecond" }),
      statistic: z.enum(["Average", "Sum", "Maximum", "Minimum", "SampleCount", "p95", "p99"]),
      /** 10 or 30 for high-resolution metrics (needed for limits under a minute). Default: 60. */
      periodSeconds: z
        .union([z.literal(10), z.literal(30), z.literal(60)], { message: "expected 10, 30 or 60 (seconds)" })
        .optional(),
    })
    .strict(),
  z
    .object({
      /** Collected by people (surveys, bug triage) and supplied as decision evidence. No alarm. */
      source: z.literal("manual"),
    })
    .strict(),
  z
    .object({
      /** GuardDuty findings through EventBridge; no CloudWatch alarm. */
      source: z.literal("guardduty"),
      minSeverity: z.number().min(0).max(10),
    })
    .strict(),
]);
export type GateMetric = z.infer<typeof GateMetric>;

/** One alarm level of a gate. */
export const GateLevel = z
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
export type GateLevel = z.infer<typeof GateLevel>;

export const Gate = z
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
    description: z.string().optional(),
  })
  .strict()
  .refine((gate) => gate.warning !== undefined || gate.critical !== undefined, {
    message: "expected a warning or a critical level",
  });
export type Gate = z.infer<typeof Gate>;

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

export const DecisionRule = z.discriminatedUnion("type", [
  z.object({ type: z.literal("all") }).strict(),
  z.object({ type: z.literal("atLeast"), count: z.number().int().positive() }).strict(),
]);
export type DecisionRule = z.infer<typeof DecisionRule>;

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

const Range = z.object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() }).strict();

export const Phase = z
  .object({
    id: kebabCaseId,
    name: z.string().min(1),
    objective: z.string().optional(),
    durationDays: z.number().positive(),
    /** Day numbers of the whole plan, when the document gives them. */
    days: Range.optional(),
    users: Range.optional(),
    /** Highest share of general traffic (0-100) green may take in this phase. */
    trafficCapPercent: z.number().min(0).max(100),
    /** Whether named pilot users (the cohort) are routed to green in this phase. */
    cohortRouting: z.boolean(),
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
    /** Breach-to-blue limit the document promises. Default: the playbook's rollback limit. */
    limitSeconds: z.number().int().positive().optional(),
    description: z.string().min(1),
  })
  .strict();
export type Trigger = z.infer<typeof Trigger>;

const Threshold = z.object({ op: Comparator, value: z.number(), unit: z.string().optional() }).strict();

export const Playbook = z
  .object({
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
        /** Roles whose approval a phase needs before it takes effect in production. */
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
  })
  .strict()
  .superRefine((playbook, ctx) => checkReferences(playbook, ctx));
export type Playbook = z.infer<typeof Playbook>;

/** Cross-references zod cannot express per field: unknown gate ids, unknown phases, duplicates. */
function checkReferences(playbook: z.infer<typeof Playbook>, ctx: z.RefinementCtx): void {
  const phaseIds = playbook.phases.map((p) => p.id);
  const gateIds = playbook.gates.map((g) => g.id);
  const roleIds = playbook.signoff.roles.map((r) => r.id);
  const report = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });

  const duplicates = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  for (const id of duplicates(phaseIds)) report(["phases"], `expected unique phase ids, "${id}" repeats`);
  for (const id of duplicates(gateIds)) report(["gates"], `expected unique gate ids, "${id}" repeats`);

  playbook.transitions.forEach((t, i) => {
    const from = phaseIds.indexOf(t.from);
    if (from < 0) report(["transitions", i, "from"], `expected one of ${phaseIds.join(", ")}`);
    else if (phaseIds[from + 1] !== t.to)
      report(
        ["transitions", i, "to"],
        `expected the phase after ${t.from} (${phaseIds[from + 1] ?? "none"})`,
      );
  });
  playbook.rollback.triggers.forEach((trigger, i) =>
    trigger.gates.forEach((gate, j) => {
      if (!gateIds.includes(gate))
        report(["rollback", "triggers", i, "gates", j], `expected a gate id (${gateIds.join(", ")})`);
    }),
  );
  playbook.responseMatrix.forEach((row, i) =>
    row.gates.forEach((gate, j) => {
      if (!gateIds.includes(gate)) report(["responseMatrix", i, "gates", j], `expected a gate id`);
    }),
  );
  for (const [phase, roles] of Object.entries(playbook.signoff.requiredByPhase)) {
    if (!phaseIds.includes(phase))
      report(["signoff", "requiredByPhase", phase], `expected a phase id (${phaseIds.join(", ")})`);
    roles.forEach((role, j) => {
      if (!roleIds.includes(role))
        report(["signoff", "requiredByPhase", phase, j], `expected a role id (${roleIds.join(", ")})`);
    });
  }
  if (playbook.phases[0]?.trafficCapPercent !== 0)
    report(["phases", 0, "trafficCapPercent"], "expected 0: the first phase is blue-only");
}

/** Directory holding the committed playbooks, resolved from this file so it works from any cwd. */
export const PLAYBOOK_DIR = path.resolve(__dirname, "..", "playbooks");

/** Validate an already-parsed playbook document. `origin` names it in errors. */
export function parsePlaybook(document: unknown, origin: string): Playbook {
  return parseOrThrow(Playbook, document, "", `invalid playbook ${origin}`);
}

/** Ids of the committed playbooks (file names without `.yaml`). */
export function listPlaybooks(dir: string = PLAYBOOK_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.replace(/\.yaml$/, ""))
    .sort();
}

const cache = new Map<string, Playbook>();

/**
 * Load a playbook by id (`tbs-strategy-framework`) or by path to a YAML file. Loaded once
 * per process: the program, the pack and the CLI all ask for it repeatedly.
 */
export function loadPlaybook(idOrPath: string, dir: string = PLAYBOOK_DIR): Playbook {
  const file =
    idOrPath.endsWith(".yaml") || idOrPath.endsWith(".yml")
      ? path.resolve(idOrPath)
      : path.join(dir, `${idOrPath}.yaml`);
  const cached = cache.get(file);
  if (cached) return cached;
  if (!fs.existsSync(file)) {
    throw new RolloutInputError(
      `unknown playbook "${idOrPath}": expected one of ${listPlaybooks(dir).join(", ")} or a path to a playbook YAML file`,
    );
  }
  let document: unknown;
  try {
    document = yaml.load(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new RolloutInputError(`playbook ${file} is not valid YAML: ${(error as Error).message}`);
  }
  const playbook = parsePlaybook(document, file);
  const expectedId = path.basename(file).replace(/\.ya?ml$/, "");
  if (!idOrPath.includes("/") && playbook.id !== expectedId) {
    throw new RolloutInputError(
      `playbook ${file}: id "${playbook.id}" must match its file name "${expectedId}"`,
    );
  }
  cache.set(file, playbook);
  return playbook;
}
