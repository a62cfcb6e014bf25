import { assertEvidenceInRange, evaluateCriterion, evidenceOutside, type CriterionResult } from "./decisions";
import type { Playbook } from "./playbook";

/**
 * The playbook's success criteria (TBS "Deployment Success Metrics", Telegram's technical,
 * business and operational criteria) over evidence, grouped by category. Each criterion is
 * compared by `evaluateCriterion`, the function GO/NO-GO decisions use.
 */

export type SuccessCategory = Playbook["successCriteria"][number]["category"];

export type SuccessStatus = "pass" | "fail" | "not-measured";

/**
 * `pass`: every criterion measured and passing. `fail`: at least one measured criterion fails.
 * `incomplete`: none fails but at least one has no evidence, so success is not shown.
 */
export type SuccessVerdict = "pass" | "fail" | "incomplete";

export interface SuccessCriterionResult extends CriterionResult {
  category: SuccessCategory;
  status: SuccessStatus;
}

export interface SuccessTally {
  verdict: SuccessVerdict;
  passed: number;
  failed: number;
  notMeasured: number;
  total: number;
}

export interface SuccessCategoryReport extends SuccessTally {
  category: SuccessCategory;
  results: SuccessCriterionResult[];
}

export interface SuccessReport extends SuccessTally {
  /** Categories in the order the playbook first names them. */
  categories: SuccessCategoryReport[];
}

function tally(results: readonly SuccessCriterionResult[]): SuccessTally {
  const count = (status: SuccessStatus) => results.filter((r) => r.status === status).length;
  const passed = count("pass");
  const failed = count("fail");
  const notMeasured = count("not-measured");
  const verdict = failed > 0 ? "fail" : notMeasured > 0 ? "incomplete" : "pass";
  return { verdict, passed, failed, notMeasured, total: results.length };
}

/**
 * The success report over evidence. Throws a RolloutInputError (exit 2) for a value its
 * criterion's unit (or its gate's, where a gate has the same id) cannot take.
 */
export function evaluateSuccessCriteria(
  playbook: Playbook,
  evidence: Readonly<Record<string, number>>,
): SuccessReport {
  assertEvidenceInRange(evidence, [...playbook.successCriteria, ...playbook.gates]);
  const results = playbook.successCriteria.map((criterion): SuccessCriterionResult => {
    const result = evaluateCriterion(criterion, evidence[criterion.id]);
    const status = result.value === undefined ? "not-measured" : result.pass ? "pass" : "fail";
    return { ...result, category: criterion.category, status };
  });
  const categories = [...new Set(results.map((r) => r.category))].map((category) => {
    const inCategory = results.filter((r) => r.category === category);
    return { category, ...tally(inCategory), results: inCategory };
  });
  return { ...tally(results), categories };
}

/** Evidence keys that are no success criterion of the playbook. */
export function unknownSuccessEvidence(
  playbook: Playbook,
  evidence: Readonly<Record<string, number>>,
): string[] {
  return evidenceOutside(
    evidence,
    playbook.successCriteria.map((c) => c.id),
  );
}
