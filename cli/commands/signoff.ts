import { nextPhase } from "../../rollout/phases";
import { requiredRoles, roleChecklist } from "../../rollout/decisions";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import type { Playbook } from "../../rollout/playbook";
import { RolloutInputError } from "../../rollout/validation";
import { loadLiveConfig, type CommandContext } from "../backend";
import { deployChange } from "../deployChange";
import { recordEvent } from "../events";
import { didYouMean } from "../help";
import { EXIT, requireFlag } from "../output";
import { emit, type Flags } from "./shared";

/**
 * The playbook `rollout:playbook` names in Pulumi.<stack>.yaml: the one source --role and
 * --phase are checked against, read before Pulumi is touched. (The Automation API reads the
 * stack's config from this same file.)
 */
function stackFilePlaybook(stack: string): { playbook: Playbook; file: string } {
  const { config, file } = loadStackFile(stack);
  const id = config["rollout:playbook"];
  if (id === undefined)
    throw new RolloutInputError(
      `rollout:playbook: expected a playbook id such as tbs-strategy-framework in ${file}, got nothing`,
    );
  return { playbook: loadPlaybook(id), file };
}

/** --phase (when given) is a phase of the playbook and --role (when given) one of its sign-off roles. */
function checkSignoffFlags(playbook: Playbook, role: string | undefined, phase: string | undefined): void {
  const phases = playbook.phases.map((p) => p.id);
  if (phase !== undefined && !phases.includes(phase))
    throw new RolloutInputError(`--phase: unknown phase "${phase}"; expected one of ${phases.join(", ")}`);
  const roles = playbook.signoff.roles.map((r) => r.id);
  if (role !== undefined && !roles.includes(role))
    throw new RolloutInputError(`--role: unknown role "${role}"; expected one of ${roles.join(", ")}`);
}

export type SignoffAction = "approve" | "revoke" | "status";

const SIGNOFF_ACTIONS: readonly SignoffAction[] = ["approve", "revoke", "status"];

/** The action word of `signoff`, or a RolloutInputError saying it is missing or unknown. */
export function signoffAction(positionals: string[]): SignoffAction {
  const action = positionals[0];
  if (action !== "approve" && action !== "revoke" && action !== "status") {
    throw new RolloutInputError(
      `signoff: expected approve, revoke or status, got ${action === undefined ? "nothing" : `${JSON.stringify(action)}${didYouMean(action, SIGNOFF_ACTIONS)}`}`,
    );
  }
  return action;
}

/** `signoff <action>`: the router reads the action (signoffAction) before it makes the context. */
export async function signoffCommand(
  flags: Flags,
  action: SignoffAction,
  ctx: CommandContext,
): Promise<number> {
  // Flags first: a typo never reaches Pulumi.
  const roleFlag =
    action === "status" ? undefined : requireFlag(flags, "role", "a role id such as qaEngineer");
  const approver =
    action === "approve" ? requireFlag(flags, "approver", "the name of the person approving") : undefined;
  const phaseFlag = typeof flags.phase === "string" ? flags.phase : undefined;
  const checked = stackFilePlaybook(ctx.backend.stackName);
  checkSignoffFlags(checked.playbook, roleFlag, phaseFlag);
  const config = await loadLiveConfig(ctx.backend);
  const playbook = config.playbookSpec;
  // Only a config changed outside the file (not through it) can differ: the flags were checked
  // against the file's playbook, so stop rather than write a role this playbook may not have.
  if (playbook.id !== checked.playbook.id)
    throw new Error(
      `rollout:playbook is "${playbook.id}" on stack ${config.stack} but "${checked.playbook.id}" in ${checked.file}: make the two agree before signing off`,
    );
  // The default, the next phase (or the last), is a phase of the playbook: parseRolloutConfig checked config.phase.
  const phase = phaseFlag ?? nextPhase(playbook, config.phase)?.id ?? config.phase;
  const key = (role: string) => `signoffs["${phase}"]["${role}"]`;
  if (action === "status") {
    const roles = requiredRoles(playbook, phase);
    const approvals = config.signoffs[phase] ?? {};
    const rows = roles.map((role) => ({
      role,
      approval: approvals[role] ?? null,
      checklist: roleChecklist(playbook, role)?.checklist ?? [],
    }));
    emit(ctx, flags, { phase, required: roles, complete: rows.every((r) => r.approval), roles: rows }, () => {
      ctx.out.log(
        `sign-offs for ${phase} (${config.tier}${config.isProduction ? ", required" : ", advisory"}):`,
      );
      if (rows.length === 0) ctx.out.log("  none required");
      for (const r of rows) {
        ctx.out.log(
          `  ${r.role}: ${r.approval ? `approved by ${r.approval.approver} at ${r.approval.at}` : "MISSING"}`,
        );
        for (const item of r.checklist) ctx.out.log(`    [ ] ${item}`);
      }
    });
    return EXIT.ok;
  }
  const role = roleFlag!;
  if (action === "approve") {
    const at = ctx.now().toISOString();
    await deployChange(ctx, {
      set: { [`${key(role)}.approver`]: approver!, [`${key(role)}.at`]: at },
      path: true,
    });
    await recordEvent(ctx, {
      kind: "signoff",
      summary: `${role} approved ${phase} on ${config.stack} (${approver})`,
      details: { action, phase, role, approver: approver! },
    });
    const checklist = roleChecklist(playbook, role)?.checklist ?? [];
    emit(ctx, flags, { command: "signoff", action, phase, role, approver, at, checklist }, () => {
      ctx.out.log(`${role} approved ${phase} (${approver}, ${at}), attesting:`);
      for (const item of checklist) ctx.out.log(`  [x] ${item}`);
    });
  } else {
    if (!config.signoffs[phase]?.[role]) {
      emit(ctx, flags, { command: "signoff", action, phase, role, changed: false }, () =>
        ctx.out.log(`${role} had not approved ${phase}: nothing to revoke`),
      );
      return EXIT.ok;
    }
    await deployChange(ctx, { remove: [key(role)], path: true });
    await recordEvent(ctx, {
      kind: "signoff",
      summary: `${role}'s approval of ${phase} on ${config.stack} revoked`,
      details: { action, phase, role },
    });
    emit(ctx, flags, { command: "signoff", action, phase, role, changed: true }, () =>
      ctx.out.log(`${role}'s approval of ${phase} revoked`),
    );
  }
  return EXIT.ok;
}
