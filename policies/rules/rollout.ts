import { latestDecision, missingGoDecisions, missingSignoffs } from "../../rollout/decisions";
import { phaseSnapshotPrefix, stateParameterName } from "../../rollout/names";
import { allowsCohortRouting, trafficCap } from "../../rollout/phases";
import type { PolicyConfigSchema } from "@pulumi/policy";
import {
  colourOf,
  configOf,
  field,
  forwards,
  forEachKnown,
  forwardsAnywhere,
  isArnOf,
  known,
  lookupState,
  ofType,
  TYPES,
  withRolloutState,
  type Policy,
  type StackValidationPolicy,
} from "./util";

/**
 * Rollout rules: what the playbook allows in the stack's current phase. They read the
 * `rollout-state` parameter the program writes (phase, weights, tier, decisions, sign-offs)
 * and the listener rules that actually carry traffic, so neither can drift past the plan.
 */

/** Listener rules named `router-<service>-cohort-<i>`, or any rule matching on a request header. */
function isCohortRule(name: string, props: Record<string, unknown>): boolean {
  if (/-cohort-\d+$/.test(name)) return true;
  const conditions = known(() => props.conditions);
  return (
    Array.isArray(conditions) && conditions.some((c) => known(() => field(c, "httpHeader")) !== undefined)
  );
}

export const trafficWithinPhaseCap: StackValidationPolicy = {
  name: "rollout-traffic-within-phase-cap",
  description:
    "Green's share of general traffic stays within the cap the playbook sets for the current phase.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Lower the weight to the phase's cap with `pulumi config set rollout:greenWeight <cap>`, or advance to a phase " +
    "whose cap allows the weight (`npm run rollout -- advance`). Caps are trafficCapPercent in the playbook.",
  validateStack: withRolloutState(({ state, playbook, stateResource }, args, report) => {
    const cap = trafficCap(playbook, state.phase);
    // A rollback sends 0 % to green whatever the configured weight: never block the way back.
    if (!state.rollback && state.greenWeight > cap) {
      report(
        `rollout:greenWeight is ${state.greenWeight} % but phase ${state.phase} of playbook ${playbook.id} caps green at ${cap} % of general traffic; ` +
          `run \`pulumi config set rollout:greenWeight ${cap}\` (or advance to a phase that allows ${state.greenWeight} %)`,
        stateResource.urn,
      );
    }
    // Green is identified by its target groups (colour tag or Pulumi name), never by its
    // position in a forward: a swapped or hand-written forward must not hide green's share.
    const greens = ofType(args.resources, TYPES.targetGroup).filter((tg) => colourOf(tg) === "green");
    const greenGroupOf = (arn: unknown) =>
      typeof arn === "string" ? greens.find((tg) => isArnOf(arn, tg)) : undefined;
    forEachKnown(ofType(args.resources, TYPES.listenerRule, TYPES.listener), (rule) => {
      // Cohort rules carry the pilot cohort, not general traffic: rollout-cohorts-only-in-pilot-phases covers them.
      if (rule.type === TYPES.listenerRule && isCohortRule(rule.name, rule.props)) return;
      const what = rule.type === TYPES.listener ? "listener" : "listener rule";
      const actions = rule.type === TYPES.listener ? rule.props.defaultActions : rule.props.actions;
      for (const forward of forwards(actions)) {
        // A target group ARN unknown at preview cannot be told apart; the configured weight
        // above is still checked, and `pulumi up` sees the ARNs of existing target groups.
        if (forward.targetGroups.some((tg) => tg.arn === undefined)) continue;
        const toGreen = forward.targetGroups.filter((tg) => greenGroupOf(tg.arn) !== undefined);
        if (toGreen.length === 0) continue;
        if (forward.targetGroups.length === 1) {
          if (cap >= 100) continue;
          report(
            `${what} ${rule.name} forwards all its traffic to green target group ${greenGroupOf(toGreen[0]!.arn)!.name} but phase ${state.phase} caps green at ${cap} % of general traffic; ` +
              "remove that forward: general traffic reaches green only through the router's weighted rule (rollout:greenWeight)",
            rule.urn,
          );
          continue;
        }
        // Weights are relative (0-999); the share is what the cap limits.
        const green = toGreen.reduce((sum, tg) => sum + tg.weight, 0);
        const total = forward.targetGroups.reduce((sum, tg) => sum + tg.weight, 0);
        const percent = total > 0 ? Math.round((green / total) * 1000) / 10 : 0;
        if (percent <= cap) continue;
        report(
          `${what} ${rule.name} sends ${percent} % of general traffic to green but phase ${state.phase} caps it at ${cap} %; ` +
            `run \`pulumi config set rollout:greenWeight ${cap}\` and redeploy`,
          rule.urn,
        );
      }
    });
  }),
};

export const cohortsOnlyInPilotPhases: StackValidationPolicy = {
  name: "rollout-cohorts-only-in-pilot-phases",
  description: "Pilot cohorts are routed to green only in phases whose playbook entry sets cohortRouting.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Remove the cohort listener rules (they are built from rollout:cohorts only in pilot phases), or move to a " +
    "pilot phase with `pulumi config set rollout:phase <phase>`.",
  validateStack: withRolloutState(({ state, playbook }, args, report) => {
    if (allowsCohortRouting(playbook, state.phase)) return;
    const pilotPhases = playbook.phases.filter((p) => p.cohortRouting).map((p) => p.id);
    for (const rule of ofType(args.resources, TYPES.listenerRule)) {
      // A cohort rule exists only to send named users to green; any forward from one is green.
      if (!isCohortRule(rule.name, rule.props) || !forwardsAnywhere(rule.props.actions)) continue;
      report(
        `listener rule ${rule.name} routes the pilot cohort to green in phase ${state.phase}, where playbook ${playbook.id} routes no cohorts; ` +
          `remove the cohort rule, or move to a pilot phase (${pilotPhases.join(", ")}) with \`pulumi config set rollout:phase <phase>\``,
        rule.urn,
      );
    }
  }),
};

/*
 * GO decisions are checked on production-tier states only. The issue asks that "every earlier
 * transition of a production phase has a recorded GO decision"; a staging rehearsal moves
 * between phases without the decision ceremony (Pulumi.staging.yaml records none), so checking
 * it there would only print the same advisory notes on every plan. The production pack config
 * pins the tier (rollout-state-recorded.requiredTier), so the production stack cannot opt out.
 */
export const goDecisionsRecorded: StackValidationPolicy = {
  name: "rollout-go-decisions-recorded",
  description:
    "In production, every GO/NO-GO transition before the current phase has a latest recorded decision of GO (a skipped phase has none).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Evaluate the transition's gate with evidence and record the decision: `npm run rollout -- gates --stack <stack> --record`. " +
    "If the decision is NO-GO, set rollout:phase back to the transition's source phase.",
  validateStack: withRolloutState(
    ({ state, playbook, stateResource }, _args, report) => {
      for (const transition of missingGoDecisions(playbook, state.phase, state.decisions)) {
        const latest = latestDecision(state.decisions, transition.from, transition.to);
        const recorded = latest
          ? `the latest decision is ${latest.decision} (${latest.at})`
          : "no decision is recorded";
        report(
          `phase ${state.phase} needs a GO decision for ${transition.from} -> ${transition.to}, but ${recorded}; ` +
            `evaluate and record it with \`npm run rollout -- gates --stack ${state.stack} --record\`, or set rollout:phase back to ${transition.from}`,
          stateResource.urn,
        );
      }
    },
    { productionOnly: true },
  ),
};

export const signoffsComplete: StackValidationPolicy = {
  name: "rollout-signoffs-complete",
  description:
    "Every role the playbook requires for the current phase has approved it (mandatory in production, advisory in staging through the pack config).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Each missing role reviews its checklist (`npm run rollout -- signoff status --stack <stack>`) and approves: " +
    "`npm run rollout -- signoff approve --stack <stack> --phase <phase> --role <role> --approver <name>`.",
  // Every tier: the pack config decides how much it matters (policies/config/<stack>.json).
  validateStack: withRolloutState(({ state, playbook, stateResource }, _args, report) => {
    const missing = missingSignoffs(playbook, state.phase, state.signoffs);
    if (missing.length === 0) return;
    report(
      `phase ${state.phase} needs sign-off from ${missing.join(", ")} before it takes effect in ${state.tier}; ` +
        `each approves with \`npm run rollout -- signoff approve --stack ${state.stack} --phase ${state.phase} --role <role> --approver <name>\``,
      stateResource.urn,
    );
  }),
};

/*
 * The documents size each pilot (TBS: 2-3 internal users, 5-8 power users, 10-20 mixed users).
 * Advisory: a smaller or larger cohort is a deliberate choice someone may make, but it changes
 * what the phase's evidence means, so the pack says so rather than letting it pass unnoticed.
 */
export const cohortSizeMatchesPhase: StackValidationPolicy = {
  name: "rollout-cohort-size-matches-phase",
  description:
    "In a phase that routes a pilot cohort, the cohort's size is within the phase's planned user count.",
  enforcementLevel: "advisory",
  remediationSteps:
    "Add or remove pilot users in rollout:cohorts.users (`pulumi config set --path 'rollout:cohorts.users[<i>]' <user>`) " +
    "so the cohort matches the playbook's user count for the phase.",
  validateStack: withRolloutState(({ state, playbook, stateResource }, _args, report) => {
    const phase = playbook.phases.find((p) => p.id === state.phase);
    if (!phase?.cohortRouting || !phase.users) return;
    const { min, max } = phase.users;
    if (state.cohortUsers >= min && state.cohortUsers <= max) return;
    report(
      `the pilot cohort has ${state.cohortUsers} users, but phase ${state.phase} of playbook ${playbook.id} is planned for ${min}-${max}; ` +
        `${state.cohortUsers < min ? "add" : "remove"} users in rollout:cohorts.users (\`pulumi config set --path 'rollout:cohorts.users[<i>]' <user>\`)`,
      stateResource.urn,
    );
  }),
};

export const phaseSnapshotPresent: StackValidationPolicy = {
  name: "rollout-phase-snapshot-present",
  description:
    "A database snapshot named for the current phase (before-<phase>-...) is taken before the phase takes effect.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Keep the DataProtection component's phase snapshot (aws.rds.Snapshot data-snapshot-<phase>, dbSnapshotIdentifier " +
    "before-<phase>-<id>); the listener rules depend on it so traffic moves only after it exists.",
  validateStack: withRolloutState(({ state }, args, report) => {
    const prefix = phaseSnapshotPrefix(state.phase);
    const snapshots = ofType(args.resources, TYPES.rdsSnapshot);
    // An identifier unknown at preview still belongs to a snapshot the program registered for this phase.
    const found = snapshots.some((s) => {
      const id = known(() => s.props.dbSnapshotIdentifier as unknown);
      return id === undefined ? s.name === `data-snapshot-${state.phase}` : String(id).startsWith(prefix);
    });
    if (found) return;
    const seen = snapshots.map((s) => String(known(() => s.props.dbSnapshotIdentifier as unknown) ?? s.name));
    report(
      `phase ${state.phase} has no pre-phase database snapshot: expected an aws.rds.Snapshot whose dbSnapshotIdentifier starts with "${prefix}"` +
        `${seen.length > 0 ? ` (found ${seen.join(", ")})` : ""}; keep DataProtection's data-snapshot-${state.phase} so the listener rules wait for it`,
    );
  }),
};

/** The production-only checks a state whose tier is not production skips (see withRolloutState). */
const PRODUCTION_TIER_CHECKS =
  "GO decisions, RDS deletion protection, RDS Multi-AZ, the backup plan and alarm actions";

const stateSchema: PolicyConfigSchema = {
  properties: {
    // "any" accepts either tier; the production pack config sets "production".
    requiredTier: { type: "string", enum: ["any", "production", "staging"], default: "any" },
  },
};

export const stateRecorded: StackValidationPolicy = {
  name: "rollout-state-recorded",
  description:
    "The rollout-state SSM parameter exists and holds a RolloutState naming a known playbook and phase, of the tier the pack config requires (requiredTier); every other rollout rule reads it.",
  enforcementLevel: "mandatory",
  configSchema: stateSchema,
  remediationSteps:
    "Keep the aws.ssm.Parameter `rollout-state` that index.ts registers from the stack config; fix rollout:playbook or " +
    "rollout:phase if the state names an unknown one, and rollout:tier if it is not the tier the stack's pack config requires.",
  validateStack: (args, report) => {
    const found = lookupState(args.resources);
    switch (found.status) {
      case "ok": {
        const { requiredTier } = configOf<{ requiredTier: string }>(args, stateSchema);
        if (requiredTier !== "any" && found.state.tier !== requiredTier) {
          report(
            `the rollout state records tier ${found.state.tier}, but this stack's policy pack config requires tier ${requiredTier} ` +
              `(rollout-state-recorded.requiredTier), and with tier ${found.state.tier} the checks of ${PRODUCTION_TIER_CHECKS} do not run; ` +
              `run \`pulumi config set rollout:tier ${requiredTier}\` (without rollout:tier every stack is production)`,
            found.resource.urn,
          );
        }
        // The rollback Lambda and the CLI find the record by its parameter name.
        const expected = stateParameterName(found.state.stack);
        const name = known(() => found.resource.props.name as unknown);
        if (name !== undefined && name !== expected) {
          report(
            `the rollout-state parameter is named ${String(name)}, but the rollback Lambda and the CLI read ${expected}; ` +
              `name it with stateParameterName("${found.state.stack}") as index.ts does`,
            found.resource.urn,
          );
        }
        return;
      }
      // Unknown at preview: the value is checked at `pulumi up`, when it is known.
      case "unknown":
        return;
      case "missing": {
        const stack = /^urn:pulumi:([^:]+)::/.exec(args.resources[0]?.urn ?? "")?.[1] ?? "<stack>";
        report(
          `no rollout state: expected the aws.ssm.Parameter "rollout-state" (${stateParameterName(stack)}) holding the JSON RolloutState; ` +
            `index.ts registers it on every deploy, so restore it there: without it no rollout rule can check the phase, weights, decisions or sign-offs`,
        );
        return;
      }
      case "invalid":
        report(
          `the rollout-state parameter does not hold a usable RolloutState (${found.reason}); ` +
            `it is written by index.ts from the stack config: fix rollout:playbook / rollout:phase or the program, not the parameter`,
          found.resource.urn,
        );
    }
  },
};

export const rolloutPolicies: Policy[] = [
  stateRecorded,
  trafficWithinPhaseCap,
  cohortsOnlyInPilotPhases,
  cohortSizeMatchesPhase,
  goDecisionsRecorded,
  signoffsComplete,
  phaseSnapshotPresent,
];
