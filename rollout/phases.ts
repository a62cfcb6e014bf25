import type { Phase, Playbook, Transition } from "./playbook";

/** Phase order, legal moves and traffic caps, all read from the playbook. */

export function phaseIds(playbook: Playbook): string[] {
  return playbook.phases.map((p) => p.id);
}

export function phaseIndex(playbook: Playbook, phaseId: string): number {
  const index = playbook.phases.findIndex((p) => p.id === phaseId);
  if (index < 0) {
    throw new Error(
      `unknown phase "${phaseId}" in playbook ${playbook.id}: expected one of ${phaseIds(playbook).join(", ")}`,
    );
  }
  return index;
}

export function getPhase(playbook: Playbook, phaseId: string): Phase {
  return playbook.phases[phaseIndex(playbook, phaseId)]!;
}

/** The phase after `phaseId`, or undefined for the last one. */
export function nextPhase(playbook: Playbook, phaseId: string): Phase | undefined {
  return playbook.phases[phaseIndex(playbook, phaseId) + 1];
}

/** Highest share of general traffic (0-100) green may take in the phase. */
export function trafficCap(playbook: Playbook, phaseId: string): number {
  return getPhase(playbook, phaseId).trafficCapPercent;
}

export function allowsCohortRouting(playbook: Playbook, phaseId: string): boolean {
  return getPhase(playbook, phaseId).cohortRouting;
}

/** The GO/NO-GO transition that leaves `phaseId`, if the playbook defines one. */
export function transitionFrom(playbook: Playbook, phaseId: string): Transition | undefined {
  return playbook.transitions.find((t) => t.from === phaseId);
}

export type MoveKind = "stay" | "advance" | "skip" | "back";

/**
 * How a phase change moves through the plan. Forward by one is an advance; forward by more
 * is a skip (refused); any move backwards is a retreat, always allowed: going back is safe.
 */
export function classifyMove(playbook: Playbook, from: string, to: string): MoveKind {
  const delta = phaseIndex(playbook, to) - phaseIndex(playbook, from);
  if (delta === 0) return "stay";
  if (delta === 1) return "advance";
  return delta > 1 ? "skip" : "back";
}

/**
 * Transitions a stack in `phaseId` has gone through: every playbook transition out of an
 * earlier phase. In production each needs a recorded GO decision.
 */
export function transitionsBefore(playbook: Playbook, phaseId: string): Transition[] {
  const index = phaseIndex(playbook, phaseId);
  return playbook.transitions.filter((t) => phaseIndex(playbook, t.from) < index);
}
