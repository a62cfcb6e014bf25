import { suggest } from "../help";
import {
  clearsTransition,
  decide,
  describeCondition,
  evaluatePhaseTriggers,
  triggerGates,
  unknownEvidence,
  type CriterionResult,
  type DecisionResult,
  type TriggerResult,
} from "../../rollout/decisions";
import { loadEvidence, loadPlaybook } from "../../rollout/loaders";
import type { Playbook } from "../../rollout/playbook";
import { phaseIds, transitionFrom } from "../../rollout/phases";
import {
  evaluateSuccessCriteria,
  unknownSuccessEvidence,
  type SuccessReport,
  type SuccessTally,
} from "../../rollout/success";
import { RolloutInputError } from "../../rollout/validation";
import { EXIT, requireFlag, table, type Output } from "../output";

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
  const gates = triggerGates(playbook, from);
  const unknown = unknownEvidence(transition, evidence, gates);
  if (unknown.length > 0) {
    const criteria = transition.criteria.map((c) => c.id);
    const triggerOnly = gates.filter((g) => !criteria.includes(g));
    const triggers =
      triggerOnly.length > 0 ? ` or ${triggerOnly.join(", ")} (gates of ${from}'s rollback triggers)` : "";
    throw new RolloutInputError(
      `--evidence: unknown criterion id${unknown.length > 1 ? "s" : ""} ${unknownIds(unknown, [...criteria, ...triggerOnly])} for ${from} -> ${transition.to}; expected ${criteria.join(", ")}${triggers}`,
    );
  }
  return decide(transition, evidence);
}

const TRIGGER_STATUS: Record<TriggerResult["status"], string> = {
  breached: "BREACHED",
  clear: "clear",
  "not-measured": "not measured",
  manual: "manual (a person judges it)",
};

/** The command that rolls back, with the trigger as its reason (`stack` unknown offline). */
function rollbackCommand(phase: string, trigger: TriggerResult, stack: string | undefined): string {
  const reason = JSON.stringify(`rollback trigger of ${phase}: ${trigger.description}`);
  return `npm run rollout -- rollback --stack ${stack ?? "STACK"} --reason ${reason}`;
}

/** One criterion as a table row: id, value, required, result, why. */
function criterionRow(r: CriterionResult, result: string): string[] {
  return [
    r.id,
    r.value === undefined ? "(missing)" : String(r.value),
    `${r.op} ${r.threshold}${r.unit ? ` ${r.unit}` : ""}`,
    result,
    r.pass ? "" : r.reason,
  ];
}

const CRITERION_HEADERS = ["criterion", "value", "required", "result", "why"];

/**
 * The decision, the FROM phase's rollback triggers above the decision line, and each breached
 * trigger after it with the rollback command: a breach is the last thing the operator reads.
 */
export function printDecision(
  result: DecisionResult,
  triggers: readonly TriggerResult[],
  out: Output,
  stack?: string,
): void {
  out.log(`${result.from} -> ${result.to}: rule ${result.rule}`);
  const rows = result.results.map((r) => criterionRow(r, r.pass ? "pass" : "FAIL"));
  for (const line of table(CRITERION_HEADERS, rows)) out.log(line);
  out.log("");
  if (triggers.length === 0) out.log(`rollback triggers of ${result.from}: none in the playbook`);
  else {
    out.log(`rollback triggers of ${result.from}:`);
    const triggerRows = triggers.map((t) => [
      t.description,
      describeCondition(t),
      t.observed === undefined ? (t.status === "manual" ? "-" : "(missing)") : String(t.observed),
      TRIGGER_STATUS[t.status],
    ]);
    for (const line of table(["trigger", "breaches when", "observed", "status"], triggerRows)) out.log(line);
  }
  out.log("");
  out.log(
    `decision: ${result.decision} (${result.passed} of ${result.total} passed, ${result.required} required)`,
  );
  const breached = triggers.filter((t) => t.status === "breached");
  for (const t of breached)
    out.log(
      `ROLLBACK TRIGGER BREACHED: ${t.description} (${t.gate} = ${t.observed}, breaches when ${describeCondition(t)}) — roll back: ${rollbackCommand(result.from, t, stack)}`,
    );
  if (breached.length > 0)
    out.log(`exit 1: a GO must not be recorded while a rollback trigger of ${result.from} is breached`);
}

/** Exit code of a decision: 0 only for a GO with no rollback trigger of the phase breached. */
export function decisionExit(result: DecisionResult, triggers: readonly TriggerResult[]): number {
  return clearsTransition(result, triggers) ? EXIT.ok : EXIT.refused;
}

/**
 * Why a decision exits 1 (undefined when it exits 0): a NO-GO, and/or the FROM phase's breached
 * rollback triggers, which fail even a GO. Carried in --json as `exitReason`, beside `exitCode`.
 */
export function decisionExitReason(
  result: DecisionResult,
  triggers: readonly TriggerResult[],
): string | undefined {
  if (clearsTransition(result, triggers)) return undefined;
  const breached = triggers
    .filter((t) => t.status === "breached")
    .map((t) => `${t.description} (${t.gate} = ${t.observed})`);
  const reasons = [
    ...(result.decision === "GO" ? [] : [`decision ${result.decision}`]),
    ...(breached.length > 0
      ? [
          `rollback trigger${breached.length > 1 ? "s" : ""} of ${result.from} breached: ${breached.join(", ")}${result.decision === "GO" ? " (a GO must not be recorded while one is)" : ""}`,
        ]
      : []),
  ];
  return reasons.join("; ");
}

/** `exitCode`, and `exitReason` when it is 1, for a decision's JSON document. */
export function decisionExitFields(
  result: DecisionResult,
  triggers: readonly TriggerResult[],
): { exitCode: number; exitReason?: string } {
  const exitReason = decisionExitReason(result, triggers);
  return { exitCode: decisionExit(result, triggers), ...(exitReason !== undefined && { exitReason }) };
}

/**
 * `rollout gates --playbook ID (--from PHASE | --success) --evidence FILE [--json]`: offline.
 * The router has refused the flags a form does not take (--from with --success, --stack, --record).
 */
export function gatesOffline(values: Record<string, unknown>, out: Output): number {
  const playbook = loadPlaybook(
    requireFlag(values, "playbook", "a playbook id such as tbs-strategy-framework"),
  );
  if (values.success) return successOffline(values, playbook, out);
  const from = requireFlag(values, "from", `a phase of ${playbook.id}`);
  const evidence = loadEvidence(requireFlag(values, "evidence", "a YAML or JSON evidence file"));
  const result = decideTransition(playbook, from, evidence.metrics);
  const triggers = evaluatePhaseTriggers(playbook, from, evidence.metrics);
  if (values.json)
    out.log(
      JSON.stringify(
        {
          playbook: playbook.id,
          ...result,
          rollbackTriggers: triggers,
          ...decisionExitFields(result, triggers),
        },
        null,
        2,
      ),
    );
  else printDecision(result, triggers, out);
  return decisionExit(result, triggers);
}

const VERDICT: Record<SuccessTally["verdict"], string> = {
  pass: "PASS",
  fail: "FAIL",
  incomplete: "INCOMPLETE",
};

const SUCCESS_STATUS = { pass: "pass", fail: "FAIL", "not-measured": "not measured" } as const;

function describeTally(t: SuccessTally): string {
  return `${VERDICT[t.verdict]} (${t.passed} of ${t.total} passed, ${t.failed} failed, ${t.notMeasured} not measured)`;
}

function printSuccess(playbook: Playbook, report: SuccessReport, out: Output): void {
  out.log(`success criteria of ${playbook.id}:`);
  for (const c of report.categories) {
    out.log("");
    out.log(`${c.category}: ${describeTally(c)}`);
    const rows = c.results.map((r) => criterionRow(r, SUCCESS_STATUS[r.status]));
    for (const line of table(CRITERION_HEADERS, rows)) out.log(`  ${line}`);
  }
  out.log("");
  out.log(`success: ${describeTally(report)}`);
}

/** `"errorRat" (did you mean errorRate?), "x"`: each unknown evidence id with the id it most likely meant. */
function unknownIds(unknown: readonly string[], known: readonly string[]): string {
  return unknown
    .map((id) => {
      const near = suggest(id, known);
      return `"${id}"${near === undefined ? "" : ` (did you mean ${near}?)`}`;
    })
    .join(", ");
}

/** Why success is not shown: the failing criteria, else the ones without evidence. */
function successExitReason(report: SuccessReport): string {
  const ids = (status: "fail" | "not-measured") =>
    report.categories.flatMap((c) => c.results.filter((r) => r.status === status).map((r) => r.id));
  return report.verdict === "fail"
    ? `success criteria failed: ${ids("fail").join(", ")}`
    : `success criteria without evidence: ${ids("not-measured").join(", ")}`;
}

/** `--success`: exit 0 only when every success criterion is measured and passes. */
function successOffline(values: Record<string, unknown>, playbook: Playbook, out: Output): number {
  const file = requireFlag(values, "evidence", "a YAML or JSON evidence file");
  const evidence = loadEvidence(file);
  if (playbook.successCriteria.length === 0)
    throw new RolloutInputError(`--success: playbook ${playbook.id} has no successCriteria`);
  const unknown = unknownSuccessEvidence(playbook, evidence.metrics);
  if (unknown.length > 0)
    throw new RolloutInputError(
      `--evidence: unknown success criterion id${unknown.length > 1 ? "s" : ""} ${unknownIds(
        unknown,
        playbook.successCriteria.map((c) => c.id),
      )} in ${file}; expected ${playbook.successCriteria.map((c) => c.id).join(", ")}`,
    );
  const report = evaluateSuccessCriteria(playbook, evidence.metrics);
  const exitCode = report.verdict === "pass" ? EXIT.ok : EXIT.refused;
  if (values.json)
    out.log(
      JSON.stringify(
        {
          playbook: playbook.id,
          ...report,
          exitCode,
          ...(exitCode !== EXIT.ok && { exitReason: successExitReason(report) }),
        },
        null,
        2,
      ),
    );
  else printSuccess(playbook, report, out);
  return exitCode;
}
