import type { RolloutConfig } from "./config";
import { phaseIndex } from "./phases";
import type { Playbook } from "./playbook";

/** Sign-off roles a phase needs in production, and which are still missing. */

export type Signoffs = RolloutConfig["signoffs"];

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
