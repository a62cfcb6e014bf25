import { decide, unknownEvidence, type DecisionResult } from "../../rollout/gates";
import { loadEvidence } from "../../rollout/evidence";
import { phaseIds, transitionFrom } from "../../rollout/phases";
import { loadPlaybook, type Playbook } from "../../rollout/playbook";
import { RolloutInputError } from "../../rollout/validation";
import { EXIT, requireFlag, table, type Output } from "../cli";

/** GO/NO-GO for the transition out of `from`, over evidence. Throws RolloutInputError on bad input. */
export function decideTransition(
  playbook: Playbook,
  from: string,
  evidence: Record<string, number>,
): DecisionResult {
  if (!phaseIds(playbook).includes(from)) {
    throw new RolloutInputError(
      `--from: unknown phase "${from}"; expected one of ${phaseIds(playbook).join(", ")}`,
    );
  }
  const transition = transitionFrom(playbook, from);
  if (!transition) {
    const withTransitions = playbook.transitions.map((t) => t.from).join(", ");
    throw new RolloutInputError(
      `--from: phase "${from}" has no GO/NO-GO transition in ${playbook.id}; expected one of ${withTransitions}`,
    );
  }
  const unknown = unknownEvidence(transition, evidence);
  if (unknown.length > 0) {
    throw new RolloutInputError(
      `--evidence: unknown criterion id${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")} for ${from} -> ${transition.to}; expected ${transition.criteria.map((c) => c.id).join(", ")}`,
    );
  }
  return decide(transition, evidence);
}

export function printDecision(result: DecisionResult, out: Output): void {
  out.log(`${result.from} -> ${result.to}: rule ${result.rule}`);
  const rows = result.results.map((r) => [
    r.id,
    r.value === undefined ? "(missing)" : String(r.value),
    `${r.op} ${r.threshold}${r.unit ? ` ${r.unit}` : ""}`,
    r.pass ? "pass" : "FAIL",
    r.pass ? "" : r.reason,
  ]);
  for (const line of table(["criterion", "value", "required", "result", "why"], rows)) out.log(line);
  out.log("");
  out.log(
    `decision: ${result.decision} (${result.passed} of ${result.total} passed, ${result.required} required)`,
  );
}

/** `rollout gates --playbook ID --from PHASE --evidence FILE [--json]`: offline decision. */
export function gatesOffline(values: Record<string, unknown>, out: Output): number {
  const playbook = loadPlaybook(
    requireFlag(values, "playbook", "a playbook id such as tbs-strategy-framework"),
  );
  const from = requireFlag(values, "from", `a phase of ${playbook.id}`);
  const evidence = loadEvidence(requireFlag(values, "evidence", "a YAML or JSON evidence file"));
  const result = decideTransition(playbook, from, evidence.metrics);
  if (values.json) out.log(JSON.stringify({ playbook: playbook.id, ...result }, null, 2));
  else printDecision(result, out);
  return result.decision === "GO" ? EXIT.ok : EXIT.refused;
}
