import { z } from "zod";
import { getPhase, phaseIndex, transitionsBefore } from "./phases";
import type { Comparator, Criterion, Playbook, Transition } from "./playbook";
import { isoTime } from "./validation";

/**
 * GO/NO-GO decisions and sign-offs: their records (as config holds them and the state record
 * carries them), the evidence they are decided on, the rules that decide them (ALL or N of M
 * criteria; no GO while a rollback trigger of the phase is breached) and the roles a phase
 * needs. The program, the policy pack and the CLI all decide through these functions.
 */

// ---------------------------------------------------------------------------------------
// Records

/**
 * Longest approver (sign-off) or decider (decision) name. Both are stored in the state
 * parameter, whose whole value SSM bounds; 64 characters hold a handle or an email address.
 */
export const RECORDED_NAME_MAX = 64;
const RECORDED_NAME = `expected a name of 1-${RECORDED_NAME_MAX} characters such as dana.devops (it is stored in the rollout state parameter)`;
const recordedName = z
  .string({ message: RECORDED_NAME })
  .min(1, { message: RECORDED_NAME })
  .max(RECORDED_NAME_MAX, { message: RECORDED_NAME })
  // SSM PutParameter refuses a value containing `{{` `}}` (PutParameterRequest.Value: "Parameter
  // values can't include ... {{}}"): the state record these names go into would be refused.
  .refine((name) => !/\{\{|\}\}/.test(name), {
    message: `${RECORDED_NAME.replace(/\)$/, "")}; SSM refuses values containing {{ or }})`,
  });

/** A GO/NO-GO record (`rollout:decisions[]`), as config holds it and the state record carries it. */
export const Decision = z
  .object({
    from: z.string().min(1),
    to: z.string().min(1),
    decision: z.enum(["GO", "NO-GO"]),
    at: isoTime,
    by: recordedName,
    /** One line per criterion, written by `rollout gates --record`. */
    evidence: z.array(z.string()).default([]),
  })
  .strict();
export type Decision = z.infer<typeof Decision>;

/** One role's approval of a phase (`rollout:signoffs.<phase>.<role>`). */
export const Signoff = z.object({ approver: recordedName, at: isoTime }).strict();
export type Signoff = z.infer<typeof Signoff>;

/** `{<phase>: {<roleId>: Signoff}}`, as `rollout:signoffs` and the state record hold them. */
export type Signoffs = Record<string, Record<string, Signoff>>;

/** Evidence for a GO/NO-GO decision: `metrics: {<criterionId>: number}`, in YAML or JSON. */
export const EvidenceFile = z
  .object(
    {
      metrics: z.record(z.string(), z.number({ message: "expected a number" }), {
        message: "expected an object of criterion id -> number",
      }),
      /** Free text kept with a recorded decision. */
      notes: z.string({ message: "expected text" }).optional(),
    },
    { message: "expected an object with metrics: {<criterionId>: number}" },
  )
  .strict();
export type EvidenceFile = z.infer<typeof EvidenceFile>;

// ---------------------------------------------------------------------------------------
// Recorded decisions

/** The latest of `decisions` by time; of equal times, the one recorded last. */
function latest(decisions: readonly Decision[]): Decision | undefined {
  return decisions.reduce<Decision | undefined>(
    (found, d) => (!found || Date.parse(d.at) >= Date.parse(found.at) ? d : found),
    undefined,
  );
}

/** The latest decision recorded for a transition, if any. */
export function latestDecision(
  decisions: readonly Decision[],
  from: string,
  to: string,
): Decision | undefined {
  return latest(decisions.filter((d) => d.from === from && d.to === to));
}

/** The latest decision of each transition, in the order transitions were first decided. */
export function latestDecisionPerTransition(decisions: readonly Decision[]): Decision[] {
  const transitions = new Map(decisions.map((d) => [`${d.from}->${d.to}`, d]));
  return [...transitions.values()].map((first) => latestDecision(decisions, first.from, first.to)!);
}

/** The latest GO decision into `phaseId` (from whichever phase), if any: when the phase was entered. */
export function latestGoInto(decisions: readonly Decision[], phaseId: string): Decision | undefined {
  return latest(decisions.filter((d) => d.to === phaseId && d.decision === "GO"));
}

/** Transitions before `phaseId` whose latest recorded decision is not GO. */
export function missingGoDecisions(
  playbook: Playbook,
  phaseId: string,
  decisions: readonly Decision[],
): Transition[] {
  return transitionsBefore(playbook, phaseId).filter(
    (t) => latestDecision(decisions, t.from, t.to)?.decision !== "GO",
  );
}

// ---------------------------------------------------------------------------------------
// GO / NO-GO over evidence

export interface CriterionResult {
  id: string;
  description: string;
  op: Comparator;
  threshold: number;
  unit?: string;
  value: number | undefined;
  pass: boolean;
  /** Why it failed, or "ok". */
  reason: string;
}

export interface DecisionResult {
  from: string;
  to: string;
  decision: "GO" | "NO-GO";
  rule: string;
  passed: number;
  required: number;
  total: number;
  results: CriterionResult[];
}

export function compare(value: number, op: Comparator, threshold: number): boolean {
  switch (op) {
    case ">=":
      return value >= threshold;
    case ">":
      return value > threshold;
    case "<=":
      return value <= threshold;
    case "<":
      return value < threshold;
    case "=":
      return value === threshold;
  }
}

export function evaluateCriterion(criterion: Criterion, value: number | undefined): CriterionResult {
  const base = {
    id: criterion.id,
    description: criterion.description,
    op: criterion.op,
    threshold: criterion.value,
    unit: criterion.unit,
    value,
  };
  if (value === undefined) return { ...base, pass: false, reason: `no evidence for ${criterion.id}` };
  const pass = compare(value, criterion.op, criterion.value);
  return {
    ...base,
    pass,
    reason: pass ? "ok" : `${value} is not ${criterion.op} ${criterion.value}`,
  };
}

export function describeRule(transition: Transition): string {
  return transition.rule.type === "all"
    ? `ALL ${transition.criteria.length}`
    : `${transition.rule.count} of ${transition.criteria.length}`;
}

/** Evidence -> per-criterion pass/fail -> GO/NO-GO under the transition's rule. */
export function decide(transition: Transition, evidence: Readonly<Record<string, number>>): DecisionResult {
  const results = transition.criteria.map((c) => evaluateCriterion(c, evidence[c.id]));
  const passed = results.filter((r) => r.pass).length;
  const required = transition.rule.type === "all" ? transition.criteria.length : transition.rule.count;
  return {
    from: transition.from,
    to: transition.to,
    decision: passed >= required ? "GO" : "NO-GO",
    rule: describeRule(transition),
    passed,
    required,
    total: transition.criteria.length,
    results,
  };
}

/** Evidence keys outside `known`: a typo must not pass silently. */
export function evidenceOutside(
  evidence: Readonly<Record<string, number>>,
  known: readonly string[],
): string[] {
  const ids = new Set(known);
  return Object.keys(evidence).filter((k) => !ids.has(k));
}

/**
 * Evidence keys no criterion of the transition knows. `alsoKnown` adds ids read by something
 * else from the same evidence (the phase's rollback triggers' gates).
 */
export function unknownEvidence(
  transition: Transition,
  evidence: Readonly<Record<string, number>>,
  alsoKnown: readonly string[] = [],
): string[] {
  return evidenceOutside(evidence, [...transition.criteria.map((c) => c.id), ...alsoKnown]);
}

// ---------------------------------------------------------------------------------------
// A phase's rollback triggers over the same evidence

/*
 * The document's "Rollback Triggers" of each phase. A trigger's condition is written the way
 * the document writes it ("rowsPerSecond < 33573"), so it is a criterion whose passing means
 * the trigger fires: the comparison is `evaluateCriterion`'s, the one `decide` uses.
 */

export type TriggerStatus = "breached" | "clear" | "not-measured" | "manual";

export interface TriggerResult {
  description: string;
  /** The gate whose evidence the condition reads; absent for a trigger a person judges. */
  gate?: string;
  op?: Comparator;
  value?: number;
  /** The gate's unit. */
  unit?: string;
  /** The evidence for the gate; absent when none was given. */
  observed?: number;
  /**
   * `breached`: the condition holds on the evidence. `clear`: it does not. `not-measured`: the
   * trigger has a condition but the evidence has no value for its gate. `manual`: the document
   * gives no number (gate, op and value are not all set), so a person judges it.
   */
  status: TriggerStatus;
}

/** Every rollback trigger of `phaseId`, in playbook order, against the evidence. */
export function evaluatePhaseTriggers(
  playbook: Playbook,
  phaseId: string,
  evidence: Readonly<Record<string, number>>,
): TriggerResult[] {
  const units = new Map(playbook.gates.map((g) => [g.id, g.unit]));
  return getPhase(playbook, phaseId).rollbackTriggers.map((trigger): TriggerResult => {
    const { description, gate, op, value } = trigger;
    if (gate === undefined || op === undefined || value === undefined)
      return { description, ...(gate !== undefined && { gate }), status: "manual" };
    const unit = units.get(gate);
    const condition = evaluateCriterion({ id: gate, op, value, unit, description }, evidence[gate]);
    const common = { description, gate, op, value, ...(unit !== undefined && { unit }) };
    if (condition.value === undefined) return { ...common, status: "not-measured" };
    return { ...common, observed: condition.value, status: condition.pass ? "breached" : "clear" };
  });
}

/** Gate ids the phase's triggers read: evidence for them is expected, not a typo. */
export function triggerGates(playbook: Playbook, phaseId: string): string[] {
  const gates = getPhase(playbook, phaseId).rollbackTriggers.flatMap((t) => (t.gate ? [t.gate] : []));
  return [...new Set(gates)];
}

/** The condition as the operator reads it: `rowsPerSecond < 33573 rows/s`. */
export function describeCondition(trigger: Pick<TriggerResult, "gate" | "op" | "value" | "unit">): string {
  if (trigger.op === undefined || trigger.value === undefined) return "-";
  return `${trigger.gate} ${trigger.op} ${trigger.value}${trigger.unit ? ` ${trigger.unit}` : ""}`;
}

/**
 * The breached rollback triggers that forbid recording this decision: a GO must not be
 * recorded while a trigger of the phase is breached; a NO-GO may be, whatever they say.
 */
export function goRecordBlockers(
  result: Pick<DecisionResult, "decision">,
  triggers: readonly TriggerResult[],
): TriggerResult[] {
  return result.decision === "GO" ? triggers.filter((t) => t.status === "breached") : [];
}

/** Whether the decision lets the rollout move on: a GO with no rollback trigger of the phase breached. */
export function clearsTransition(
  result: Pick<DecisionResult, "decision">,
  triggers: readonly TriggerResult[],
): boolean {
  return result.decision === "GO" && !triggers.some((t) => t.status === "breached");
}

// ---------------------------------------------------------------------------------------
// Sign-offs a phase needs in production

/**
 * The roles `phaseId` needs. Throws for a phase the playbook does not list (the schema makes
 * every phase a key), so an unknown phase never passes as "no sign-off needed".
 */
export function requiredRoles(playbook: Playbook, phaseId: string): string[] {
  const roles = playbook.signoff.requiredByPhase[phaseId];
  if (roles === undefined) {
    phaseIndex(playbook, phaseId);
    throw new Error(`playbook ${playbook.id} has no signoff.requiredByPhase.${phaseId}`);
  }
  return roles;
}

export function missingSignoffs(playbook: Playbook, phaseId: string, signoffs: Signoffs): string[] {
  const approved = signoffs[phaseId] ?? {};
  return requiredRoles(playbook, phaseId).filter((role) => !approved[role]);
}

export function signoffsComplete(playbook: Playbook, phaseId: string, signoffs: Signoffs): boolean {
  return missingSignoffs(playbook, phaseId, signoffs).length === 0;
}

/** A role's display name and checklist, for `rollout signoff status`. */
export function roleChecklist(
  playbook: Playbook,
  roleId: string,
): { name: string; checklist: string[] } | undefined {
  const role = playbook.signoff.roles.find((r) => r.id === roleId);
  return role && { name: role.name, checklist: role.checklist };
}
