import { finishRecordProblems, lastPhase } from "../../rollout/release";
import { withRolloutState, type Policy, type StackValidationPolicy } from "./util";

/**
 * Release rules: how a release ends. `rollout finish` lets blue take green's version only from the
 * playbook's last phase with every success criterion met, and records that in `rollout:finish`;
 * the state record carries the finish, the services the release changes (`rollout:release`) and,
 * per service, whether blue runs exactly green's version. A finish written by hand, or blue given
 * green's image without one, is refused here before it is deployed.
 */

/*
 * Mandatory on every tier, staging included (it is not in TIER_RELAXED_POLICIES): `rollout finish`
 * refuses a finish without the success criteria on every tier, so this rule only ever stops a
 * hand edit, and a staging rehearsal that promotes blue by hand rehearses the one step production
 * must never take.
 */
export const finishNeedsSuccess: StackValidationPolicy = {
  name: "rollout-finish-needs-success",
  description:
    "Blue runs green's version only after a finish: rollout:finish names the playbook's last phase and its evidence, recomputed against the playbook, " +
    "measures every success criterion and passes each; without such a record no service the release changes has blue on green's image and port.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Finish the release with `npm run rollout -- finish --stack <stack> --evidence FILE` from the playbook's last phase, with evidence that meets every " +
    "success criterion (`npm run rollout -- gates --playbook <id> --success --evidence FILE` checks it first). Do not write rollout:finish or " +
    "blue's image by hand; to undo a hand promotion, set rollout:services[].blue back to the version blue ran.",
  validateStack: withRolloutState(({ state, playbook, stateResource }, _args, report) => {
    const finishCommand = `\`npm run rollout -- finish --stack ${state.stack} --evidence FILE\``;
    const problems = state.finish ? finishRecordProblems(playbook, state.finish) : [];
    // A finish holds in two places only: the last phase (blue taking green's version while green
    // serves everything) and the first phase at 0 % (after it, green idle). Anywhere else it is a
    // record copied or written by hand to let blue take an unproven version.
    const first = playbook.phases[0]!.id;
    if (
      state.finish &&
      state.phase !== lastPhase(playbook) &&
      !(state.phase === first && state.greenWeight === 0)
    )
      problems.push(
        `rollout:finish is set in phase ${state.phase} at greenWeight ${state.greenWeight} %: a finish holds only in ${lastPhase(playbook)} (while blue takes green's version) or in ${first} at 0 % (after it)`,
      );
    for (const problem of problems)
      report(
        `${problem}; a release finishes with ${finishCommand} from phase ${lastPhase(playbook)}, every success criterion met ` +
          `(\`npm run rollout -- gates --playbook ${playbook.id} --success --evidence FILE\` checks the evidence)`,
        stateResource.urn,
      );
    if (state.finish && problems.length === 0) return;
    // A service the release leaves alone keeps blue's version on green (`rollout start`): no promotion.
    const released = (service: string) => !state.release || state.release.services.includes(service);
    for (const s of state.services.filter((s) => s.blueRunsGreen && released(s.service)))
      report(
        `service ${s.service}: blue took green's version without a finish: run ${finishCommand}` +
          `${state.finish ? " (the recorded rollout:finish is refused above)" : ""}, or set rollout:services[].blue back to the version blue ran`,
        stateResource.urn,
      );
  }),
};

export const releasePolicies: Policy[] = [finishNeedsSuccess];
