import * as fs from "node:fs";
import { unitRange, type Decision } from "../../rollout/decisions";
import { transitionsBefore } from "../../rollout/phases";
import type { Criterion, Playbook } from "../../rollout/playbook";

/** Evidence shared by the success-criteria tests of the domain and of the gates CLI, and recorded decisions that pass the pack. */

/** Telegram's 17 success criteria, each exactly on its passing side of the boundary. */
export const TELEGRAM_PASSING = {
  uptimePercent: 99.91,
  p95LatencyMs: 199.9,
  errorRate: 0.99,
  cpuUtilization: 79.9,
  memoryUtilization: 84.9,
  diskUtilization: 89.9,
  dbQueryMs: 49.9,
  winRate: 80,
  riskRewardRatio: 3,
  maxDrawdown: 4.99,
  profitFactor: 2.0,
  sharpeRatio: 1.5,
  deploymentSuccess: 100,
  rollbackSeconds: 299,
  monitoringCoverage: 100,
  alertResponseMinutes: 4.9,
  documentationCoverage: 100,
};

/** A value on the passing side of `criterion`, inside its unit's range (a percentage stays within 0-100). */
export function passingValue(criterion: Criterion): number {
  const max = unitRange(criterion.unit).max;
  switch (criterion.op) {
    case ">":
      return max === undefined ? criterion.value + 1 : (criterion.value + max) / 2;
    case "<":
      return criterion.value / 2;
    default:
      return criterion.value;
  }
}

/** One passing line per criterion of the transition out of `from`, as `rollout gates --record` writes them. */
export function passingEvidence(playbook: Playbook, from: string): string[] {
  const transition = playbook.transitions.find((t) => t.from === from);
  if (!transition) throw new Error(`playbook ${playbook.id} has no transition out of ${from}`);
  return transition.criteria.map((c) => `${c.id} = ${passingValue(c)} (required ${c.op} ${c.value}): pass`);
}

/**
 * A GO for every transition before `phase`, with passing evidence, the first at `start` and each
 * later one its source phase's minimum soak after the one before: a rollout the pack lets through.
 */
export function approvedDecisions(
  playbook: Playbook,
  phase: string,
  start = Date.UTC(2026, 8, 1, 16),
  by = "devops.lead",
): Decision[] {
  let at = start;
  return transitionsBefore(playbook, phase).map((t, i) => {
    if (i > 0) at += playbook.phases.find((p) => p.id === t.from)!.minimumDays * 86_400_000;
    return {
      from: t.from,
      to: t.to,
      decision: "GO" as const,
      at: new Date(at).toISOString(),
      by,
      evidence: passingEvidence(playbook, t.from),
    };
  });
}

/** An evidence file (`metrics: {<id>: value}`) written under `dir`, as `gates` and `finish` read one. */
export function writeEvidenceFile(dir: string, name: string, metrics: Record<string, number>): string {
  const file = `${dir}/${name}.yaml`;
  fs.writeFileSync(
    file,
    `metrics:\n${Object.entries(metrics)
      .map(([k, v]) => `  ${k}: ${v}\n`)
      .join("")}`,
  );
  return file;
}
