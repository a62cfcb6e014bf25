import { staleRevisionProblem } from "../../rollout/state";
import {
  describeDuration,
  latestDecision,
  missingGoDecisions,
  missingSignoffs,
  phaseExits,
  sharedApprovers,
  soakShortfallMs,
} from "../../rollout/decisions";
import { phaseSnapshotPrefix, stateParameterName } from "../../rollout/names";
import { allowsCohortRouting, phaseIndex, trafficCap } from "../../rollout/phases";
import { clientSentHeaderProblem, COHORT_COOKIE_NAME, COHORT_USER_ID } from "../../rollout/serviceConfig";
import { parseCookieValue } from "../../rollout/traffic";
import type { PolicyConfigSchema, PolicyResource } from "@pulumi/policy";
import {
  asArray,
  colourOf,
  configOf,
  enforcedTier,
  field,
  forwards,
  forEachKnown,
  forwardsAnywhere,
  isArnOf,
  isSet,
  known,
  lookupState,
  ofType,
  STAGING_TIER_KEY,
  stackOfUrn,
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
 * it there would only print the same advisory notes on every plan. The tier is the pack's: only
 * a stack its pack config lists in stagingTierStacks skips them (withRolloutState), so no stack
 * opts out by relabelling itself.
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
 * Decisions and sign-offs are records anyone with config access can write, so the pack judges
 * them against time and the playbook instead of trusting them. The state record carries the
 * latest decision of each transition (with `at`) and every sign-off; when a phase began is the
 * `at` of the GO that entered it. What needs each decision's evidence or full history (a GO the
 * evidence does not give, a NO-GO overridden at once) is refused with the stack config itself
 * (recordedDecisionProblems in rollout/decisions.ts), before anything is planned.
 */
export const decisionsInTimeOrder: StackValidationPolicy = {
  name: "rollout-decisions-in-time-order",
  description:
    "Recorded decisions are in the past, and each GO out of a phase comes after the GO that entered it (GOs in phase order, none at the same instant).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Record decisions with `npm run rollout -- gates --stack <stack> --record`, which stamps the time it decides; " +
    "a GO dated before the phase began, or in the future, is not a decision anyone took: remove it from rollout:decisions and decide again.",
  validateStack: withRolloutState(({ state, playbook, stateResource }, _args, report) => {
    const now = Date.now();
    for (const d of state.decisions.filter((d) => Date.parse(d.at) > now))
      report(
        `the ${d.decision} decision for ${d.from} -> ${d.to} is dated ${d.at}, in the future (now ${new Date(now).toISOString()}); ` +
          "a decision is recorded when it is taken: remove it from rollout:decisions and record it with `npm run rollout -- gates --stack " +
          `${state.stack} --record\``,
        stateResource.urn,
      );
    for (const exit of phaseExits(playbook, state.phase, state.decisions)) {
      if (exit.entered === undefined || exit.elapsedMs! > 0) continue;
      const { transition, go, entered } = exit;
      report(
        `the GO for ${transition.from} -> ${transition.to} (${go.at}) is not after the GO that entered ${transition.from} ` +
          `(${entered.from} -> ${entered.to}, ${entered.at}); GOs follow the phases in time: record ${transition.from} -> ${transition.to} again ` +
          `once ${transition.from} has run (\`npm run rollout -- gates --stack ${state.stack} --record\`), or set rollout:phase back to ${transition.from}`,
        stateResource.urn,
      );
    }
  }),
};

export const phaseMinimumSoak: StackValidationPolicy = {
  name: "rollout-phase-minimum-soak",
  description:
    "Each GO out of a phase comes at least the phase's minimumDays (playbook) after the GO that entered it (mandatory in production, advisory in staging through the pack config).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Let the phase run its minimum soak (minimumDays in the playbook, from the rollout document's timeline), then evaluate and record the " +
    "GO again with `npm run rollout -- gates --stack <stack> --record`; until then set rollout:phase back to the phase.",
  // Every tier: a rehearsal compresses the calendar, so the staging pack config makes it advisory.
  validateStack: withRolloutState(({ state, playbook, stateResource }, _args, report) => {
    for (const exit of phaseExits(playbook, state.phase, state.decisions)) {
      // Not after the entry at all: rollout-decisions-in-time-order reports it.
      if (exit.elapsedMs === undefined || exit.elapsedMs <= 0) continue;
      const short = soakShortfallMs(exit);
      if (short === 0) continue;
      const { transition, go, entered } = exit;
      const earliest = new Date(Date.parse(entered!.at) + exit.minimumDays * 86_400_000).toISOString();
      report(
        `the GO for ${transition.from} -> ${transition.to} (${go.at}) came ${describeDuration(exit.elapsedMs)} after ${transition.from} began ` +
          `(GO ${entered!.from} -> ${entered!.to}, ${entered!.at}), but playbook ${playbook.id} requires ${transition.from} to run at least ${exit.minimumDays} days first (minimumDays); ` +
          `record the GO no earlier than ${earliest} (\`npm run rollout -- gates --stack ${state.stack} --record\`), and until then set rollout:phase back to ${transition.from}`,
        stateResource.urn,
      );
    }
  }),
};

export const signoffsDistinctApprovers: StackValidationPolicy = {
  name: "rollout-signoffs-distinct-approvers",
  description:
    "Each sign-off role of a phase is approved by a different person, for every phase up to the current one (mandatory in production, advisory in staging through the pack config).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Each role's own person reviews its checklist and approves: `npm run rollout -- signoff approve --stack <stack> --phase <phase> " +
    "--role <role> --approver <name>`; revoke an approval given for someone else's role with `signoff revoke`.",
  validateStack: withRolloutState(({ state, playbook, stateResource }, _args, report) => {
    const current = phaseIndex(playbook, state.phase);
    for (const phase of playbook.phases.slice(0, current + 1)) {
      for (const shared of sharedApprovers(state.signoffs[phase.id] ?? {}))
        report(
          `${shared.approver} signed off ${shared.roles.join(", ")} of phase ${phase.id}; each role is a different person's review, ` +
            `so each needs its own approver: \`npm run rollout -- signoff approve --stack ${state.stack} --phase ${phase.id} --role <role> --approver <name>\``,
          stateResource.urn,
        );
    }
  }),
};

/** The green target groups of the stack and a lookup of the one an ARN names. */
function greenGroups(resources: readonly PolicyResource[]): (arn: unknown) => PolicyResource | undefined {
  const greens = ofType(resources, TYPES.targetGroup).filter((tg) => colourOf(tg) === "green");
  return (arn) => (typeof arn === "string" ? greens.find((tg) => isArnOf(arn, tg)) : undefined);
}

/** Whether a rule's actions can send a request to green: a green target group, or one unknown at preview. */
function mayForwardToGreen(actions: unknown, greenOf: (arn: unknown) => PolicyResource | undefined): boolean {
  return forwards(actions).some((forward) =>
    forward.targetGroups.some(
      (tg) => tg.arn === undefined || (greenOf(tg.arn) !== undefined && tg.weight > 0),
    ),
  );
}

const FIX_COHORT_RULES =
  "cohort rules are built only from rollout:cohorts (a dedicated header, an optional cookie, the users); restore the router's rule or fix rollout:cohorts";

/*
 * The cap policy leaves cohort rules (a `-cohort-<i>` name, or any http-header condition) to
 * this one, so a cohort rule must be narrow by construction: a header no browser or proxy sends
 * by itself, values that are user ids (no wildcard), the Cookie header only in the exact forms
 * of rollout/traffic.ts, and no more users than the cohort the state records. The state carries
 * the cohort's size, not its names: a rule that swaps one pilot id for another is beyond it.
 */
export const cohortRulesExact: StackValidationPolicy = {
  name: "rollout-cohort-rules-exact",
  description:
    "Every listener rule that sends a cohort to green matches only pilot user ids: on one dedicated header (never one a browser, client, proxy or the ALB sends by itself), " +
    "with no wildcard values, the Cookie header only as the exact pair <cookie>=<user>, and no more users than rollout:cohorts holds.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set rollout:cohorts.header to a dedicated header such as X-Pilot-User and rollout:cohorts.users to plain ids, and let the TrafficRouter build the cohort rules " +
    "(rollout/traffic.ts cohortRoutesFor); remove hand-made listener rules that forward to green by a header.",
  validateStack: withRolloutState(({ state, stateResource }, args, report) => {
    const greenOf = greenGroups(args.resources);
    const headerNames = new Map<string, string>();
    const cookieNames = new Map<string, string>();
    const headerUsers = new Map<string, string>();
    const cookieUsers = new Map<string, { user: string; rule: PolicyResource }>();
    const rules = ofType(args.resources, TYPES.listenerRule).filter((rule) =>
      isCohortRule(rule.name, rule.props),
    );
    forEachKnown(rules, (rule) => {
      if (!mayForwardToGreen(rule.props.actions, greenOf)) return;
      const say = (problem: string) =>
        report(`listener rule ${rule.name} forwards to green ${problem}`, rule.urn);
      const headers = asArray(rule.props.conditions)
        .map((c) => field(c, "httpHeader"))
        .filter((h) => h !== undefined && h !== null);
      if (headers.length === 0) {
        say(
          `as a cohort rule but has no http-header condition, so every request to its path reaches green; ${FIX_COHORT_RULES}`,
        );
        return;
      }
      for (const header of headers) {
        const name = String(field(header, "httpHeaderName"));
        if (isSet(header, "regexValues")) {
          say(`by a regular expression on ${name}, which can match anyone; ${FIX_COHORT_RULES}`);
          continue;
        }
        const values = asArray(field(header, "values")).map(String);
        if (name.toLowerCase() === "cookie") {
          for (const value of values) {
            const parsed = parseCookieValue(value);
            if (!parsed || !COHORT_COOKIE_NAME.test(parsed.cookie) || !COHORT_USER_ID.test(parsed.user)) {
              say(
                `on Cookie value ${JSON.stringify(value)}, which is not one of the exact forms <cookie>=<user>, <cookie>=<user>;*, *; <cookie>=<user>, *; <cookie>=<user>;* ` +
                  `(ALB compares the whole Cookie header, so a looser pattern also matches other cookies that contain the text); ${FIX_COHORT_RULES}`,
              );
              continue;
            }
            cookieNames.set(parsed.cookie.toLowerCase(), parsed.cookie);
            cookieUsers.set(parsed.user.toLowerCase(), { user: parsed.user, rule });
          }
          continue;
        }
        const problem = clientSentHeaderProblem(name);
        if (problem) {
          say(
            `by header ${name}, but ${problem}, so requests from anyone reach green; ` +
              "set rollout:cohorts.header to a dedicated header such as X-Pilot-User",
          );
          continue;
        }
        headerNames.set(name.toLowerCase(), name);
        for (const value of values) {
          if (COHORT_USER_ID.test(value)) {
            headerUsers.set(value.toLowerCase(), value);
            continue;
          }
          say(
            `on ${name} value ${JSON.stringify(value)}, which is not a pilot user id (ALB reads * and ? as wildcards), so it matches more than one user; ${FIX_COHORT_RULES}`,
          );
        }
      }
    });
    const stateUrn = stateResource.urn;
    for (const [what, names] of [
      ["headers", headerNames],
      ["cookies", cookieNames],
    ] as const) {
      if (names.size <= 1) continue;
      report(
        `cohort rules forward to green by the ${what} ${[...names.values()].join(", ")}, but a cohort has one (rollout:cohorts.${what === "headers" ? "header" : "cookie"}); ${FIX_COHORT_RULES}`,
        stateUrn,
      );
    }
    for (const { user, rule } of cookieUsers.values()) {
      if (headerUsers.has(user.toLowerCase())) continue;
      report(
        `listener rule ${rule.name} forwards cookie user ${user} to green, but no cohort header rule carries that user: the cookie names the same users as the header; ${FIX_COHORT_RULES}`,
        rule.urn,
      );
    }
    if (headerUsers.size > state.cohortUsers) {
      report(
        `cohort rules forward ${headerUsers.size} distinct users to green (${[...headerUsers.values()].sort().join(", ")}), but the cohort has ${state.cohortUsers} (rollout:cohorts.users); ${FIX_COHORT_RULES}`,
        stateUrn,
      );
    }
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

export const revisionCurrent: StackValidationPolicy = {
  name: "rollout-revision-current",
  description:
    "The stack file deployed is not older than the one the stack runs: rollout:revision is at least the revision of the state record found in SSM, " +
    "so a merge of a stale Pulumi.<stack>.yaml cannot undo a shift, an advance, a decision or a sign-off the rollout CLI made.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Pull the newer Pulumi.<stack>.yaml (the rollout CLI printed the commit to make after its change), merge your change into it and deploy again; " +
    "docs/config-revisions.md explains the revision.",
  validateStack: withRolloutState(({ state, stateResource }, _args, report) => {
    const problem = staleRevisionProblem(state.stack, state.revision, state.deployedRevision);
    if (problem) report(problem, stateResource.urn);
  }),
};

/** The production-only checks a stack the pack lets run with the staging tier skips (see withRolloutState). */
const PRODUCTION_TIER_CHECKS =
  "GO decisions, RDS deletion protection, RDS Multi-AZ, the backup plan and alarm actions";

/** The policies whose checks the staging tier relaxes: each lists the stacks allowed it in its own pack config entry. */
export const TIER_RELAXED_POLICIES = [
  "rollout-state-recorded",
  "rollout-go-decisions-recorded",
  "data-rds-deletion-protection",
  "data-rds-multi-az",
  "data-rds-in-backup-plan",
  "gates-alarm-actions-enabled",
  "scanner-ckv-k8s-43-image-digest",
] as const;

const stateSchema: PolicyConfigSchema = {
  properties: {
    // "any" accepts either tier; the production pack config sets "production".
    requiredTier: { type: "string", enum: ["any", "production", "staging"], default: "any" },
    // Stacks allowed the staging tier's relaxations: none unless the stack's own pack config lists it.
    [STAGING_TIER_KEY]: { type: "array", items: { type: "string" }, default: [] },
  },
};

export const stateRecorded: StackValidationPolicy = {
  name: "rollout-state-recorded",
  description:
    "The rollout-state SSM parameter exists and holds a RolloutState naming a known playbook and phase, of a tier the pack config allows " +
    `(requiredTier; tier staging only for stacks listed in ${STAGING_TIER_KEY}); every other rollout rule reads it.`,
  enforcementLevel: "mandatory",
  configSchema: stateSchema,
  remediationSteps:
    "Keep the aws.ssm.Parameter `rollout-state` that index.ts registers from the stack config; fix rollout:playbook or " +
    "rollout:phase if the state names an unknown one, and rollout:tier if it is not a tier the stack's pack config allows " +
    `(a rehearsal stack runs with tier staging only when policies/config/<stack>.json lists it in ${STAGING_TIER_KEY}).`,
  validateStack: (args, report) => {
    const found = lookupState(args.resources);
    switch (found.status) {
      case "ok": {
        const { requiredTier } = configOf<{ requiredTier: string }>(args, stateSchema);
        const stack = stackOfUrn(found.resource.urn) ?? found.state.stack;
        if (requiredTier !== "any" && found.state.tier !== requiredTier) {
          report(
            `the rollout state records tier ${found.state.tier}, but this stack's policy pack config requires tier ${requiredTier} ` +
              `(rollout-state-recorded.requiredTier), and the pack checks ${PRODUCTION_TIER_CHECKS} as in production; ` +
              `run \`pulumi config set rollout:tier ${requiredTier}\` (without rollout:tier every stack is production)`,
            found.resource.urn,
          );
        } else if (
          found.state.tier === "staging" &&
          enforcedTier(found.state, found.resource, args) !== "staging"
        ) {
          report(
            `the rollout state records tier staging, but stack ${stack}'s policy pack config does not allow it: ` +
              `policies/config/${stack}.json does not list "${stack}" in rollout-state-recorded.${STAGING_TIER_KEY}, ` +
              `so the pack enforces production (${PRODUCTION_TIER_CHECKS}); ` +
              `run \`pulumi config set rollout:tier production\` (without rollout:tier every stack is production), or, for a rehearsal stack, ` +
              `list "${stack}" in ${STAGING_TIER_KEY} of ${TIER_RELAXED_POLICIES.join(", ")} in policies/config/${stack}.json and pass that file with --policy-pack-config`,
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
        const stack = stackOfUrn(args.resources[0]?.urn ?? "") ?? "<stack>";
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
  revisionCurrent,
  trafficWithinPhaseCap,
  cohortsOnlyInPilotPhases,
  cohortRulesExact,
  cohortSizeMatchesPhase,
  goDecisionsRecorded,
  decisionsInTimeOrder,
  phaseMinimumSoak,
  signoffsComplete,
  signoffsDistinctApprovers,
  phaseSnapshotPresent,
];
