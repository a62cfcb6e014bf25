import { evaluateCriterion } from "./gates";
import { getPhase } from "./phases";
import type { Comparator, Playbook } from "./playbook";

/**
 * A phase's rollback triggers (the document's "Rollback Triggers" of each phase) evaluated
 * against the same evidence as the GO/NO-GO decision. A trigger's condition is written the way
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
