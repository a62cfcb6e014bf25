import { allowsCohortRouting } from "./phases";
import type { Playbook } from "./playbook";
import { MAX_COHORT_RULES_PER_SERVICE, priorityBlockOf, priorityBlockProblems } from "./rulePriorities";
import type { CohortConfig, ServiceConfig } from "./serviceConfig";

/**
 * (phase, weights, cohorts, rollback) -> per-service traffic plan. The plan is what the
 * listener rules are built from, what `plan` prints and what the policy pack checks.
 */

/** ALB limits (Application Load Balancer guide, "Listener rules" and quotas). */
export const ALB_LIMITS = {
  valuesPerCondition: 3,
  valuesPerRule: 5,
  wildcardsPerRule: 5,
  rulesPerListener: 100,
} as const;

/** One listener rule that sends matching users to green. */
export interface CohortRoute {
  /** `header`: the cohort header equals one of the values; `cookie`: the Cookie header holds the pair `<cookie>=<user>` (`cookieValues`). */
  match: "header" | "cookie";
  /** Header the condition reads (`X-Pilot-User`, or `Cookie`). */
  headerName: string;
  values: string[];
}

export interface ServiceTraffic {
  service: string;
  /** The service's block of listener rule priorities (rollout/rulePriorities.ts). */
  priorityBlock: number;
  /** Share of general traffic, 0-100; blue + green = 100. */
  blue: number;
  green: number;
  cohortRoutes: CohortRoute[];
}

/** What the plan reads; a RolloutConfig is one (named as it names its playbook). */
export interface TrafficInput {
  playbookSpec: Playbook;
  phase: string;
  greenWeight: number;
  cohorts?: CohortConfig;
  /** Rollback requested in config, or an automatic rollback's latch that is not acknowledged. */
  rollback: boolean;
  services: readonly Pick<ServiceConfig, "name" | "pathPattern" | "priorityBlock">[];
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

const wildcards = (s: string) => (s.match(/[*?]/g) ?? []).length;

/*
 * A Cookie request header is `a=1; b=2` (RFC 6265 section 5.4: pairs joined by "; "), and an
 * ALB http-header condition compares each value pattern with the whole header, case-insensitively,
 * `*` matching any run of characters ("Listener rules for your Application Load Balancer",
 * HTTP header conditions). `*<cookie>=<id>*` also matched `xpilot_user=<id>`, `note=pilot_user=<id>`
 * and `pilot_user=<id>x`. The exact forms below match the pair `<cookie>=<id>` only, as the whole
 * header, the first, the last or a middle pair: a cookie value holds no `;` (RFC 6265
 * cookie-octet), so the `; ` before and the `;` after bound the pair. Four values per user, at
 * most 3 per condition (so per rule) and 4 wildcards: a user's forms may span two rules.
 */

/** The exact Cookie header patterns that match the pair `<cookie>=<user>` and nothing else. */
export function cookieValues(cookie: string, user: string): string[] {
  const pair = `${cookie}=${user}`;
  return [pair, `${pair};*`, `*; ${pair}`, `*; ${pair};*`];
}

/** The cookie name and user id of an exact cookie pattern (`cookieValues`), or undefined for any other value. */
export function parseCookieValue(value: string): { cookie: string; user: string } | undefined {
  const match = /^(\*; )?([^=;*?\s]+)=([^=;*?\s]+)(;\*)?$/.exec(value);
  if (!match) return undefined;
  return { cookie: match[2]!, user: match[3]! };
}

/** The most wildcards one cookie value takes (`*; <cookie>=<user>;*`). */
const COOKIE_VALUE_WILDCARDS_MAX = 2;

/** Wildcards left for cookie values in a rule that also holds the service's path pattern. */
function cookieWildcardBudget(pathPattern: string): number {
  return ALB_LIMITS.wildcardsPerRule - wildcards(pathPattern);
}

/** Values of one http-header condition beside the path pattern: 3 per condition, 5 match evaluations per rule. */
const VALUES_PER_COHORT_RULE = Math.min(ALB_LIMITS.valuesPerCondition, ALB_LIMITS.valuesPerRule - 1);

/** Pack values into rules in order: at most VALUES_PER_COHORT_RULE each, and within `budget` wildcards. */
function packByWildcards(values: readonly string[], budget: number): string[][] {
  const rules: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const value of values) {
    const cost = wildcards(value);
    if (current.length === VALUES_PER_COHORT_RULE || used + cost > budget) {
      rules.push(current);
      current = [];
      used = 0;
    }
    current.push(value);
    used += cost;
  }
  if (current.length > 0) rules.push(current);
  return rules;
}

/** The cohort rules a service needs, whatever the phase (used for routing and for limits). */
export function cohortRoutesFor(cohorts: CohortConfig | undefined, pathPattern: string): CohortRoute[] {
  if (!cohorts || cohorts.users.length === 0) return [];
  const routes: CohortRoute[] = chunk(cohorts.users, VALUES_PER_COHORT_RULE).map((values) => ({
    match: "header",
    headerName: cohorts.header,
    values,
  }));
  const cookie = cohorts.cookie;
  const budget = cookieWildcardBudget(pathPattern);
  // No budget for `*; <cookie>=<user>;*`: listenerRuleProblems refuses the config.
  if (cookie && budget >= COOKIE_VALUE_WILDCARDS_MAX) {
    const values = cohorts.users.flatMap((user) => cookieValues(cookie, user));
    for (const rule of packByWildcards(values, budget))
      routes.push({ match: "cookie", headerName: "Cookie", values: rule });
  }
  return routes;
}

/**
 * Problems that make the services' listener rules impossible on one listener, each naming its
 * config key: priority blocks that clash or would leave a service unreachable, a cohort that
 * cannot be matched or does not fit a service's block, and more rules than the ALB allows.
 * Checked for every phase (cohort rules counted whether or not the phase routes them), so a
 * config that works in `internal` does not fail when the rollout reaches a later phase.
 */
export function listenerRuleProblems(
  cohorts: CohortConfig | undefined,
  services: readonly Pick<ServiceConfig, "name" | "pathPattern" | "priorityBlock">[],
): string[] {
  const problems = priorityBlockProblems(services);
  if (cohorts?.cookie) {
    for (const service of services) {
      if (cookieWildcardBudget(service.pathPattern) < COOKIE_VALUE_WILDCARDS_MAX) {
        problems.push(
          `rollout:cohorts.cookie: service ${service.name}'s path pattern ${JSON.stringify(service.pathPattern)} leaves fewer than ${COOKIE_VALUE_WILDCARDS_MAX} wildcards for exact cookie matching (\`*; ${cohorts.cookie}=<user>;*\`; ALB allows ${ALB_LIMITS.wildcardsPerRule} per rule); drop the cookie or use fewer wildcards`,
        );
      }
    }
  }
  const routesPerService = services.map((s) => cohortRoutesFor(cohorts, s.pathPattern).length);
  const shrink = `shrink the cohort${cohorts?.cookie ? " or drop cookie matching" : ""}`;
  services.forEach((service, i) => {
    if (routesPerService[i]! > MAX_COHORT_RULES_PER_SERVICE) {
      problems.push(
        `rollout:cohorts: ${cohorts!.users.length} users need ${routesPerService[i]} cohort rules for service ${service.name}, expected at most ${MAX_COHORT_RULES_PER_SERVICE} (one service's block of listener rule priorities); ${shrink}`,
      );
    }
  });
  const rules = routesPerService.reduce((total, n) => total + 1 + n, 0);
  if (rules > ALB_LIMITS.rulesPerListener) {
    const cohortRules = rules - services.length;
    problems.push(
      cohortRules === 0
        ? `rollout:services: ${services.length} services need ${rules} listener rules, expected at most ${ALB_LIMITS.rulesPerListener} (the ALB limit per listener); split them across stacks`
        : `rollout:cohorts: ${cohorts!.users.length} users across ${services.length} services need ${rules} listener rules, expected at most ${ALB_LIMITS.rulesPerListener} (the ALB limit per listener); ${shrink}`,
    );
  }
  return problems;
}

/**
 * Per-service traffic. Rollback always gives 100/0 and no cohort routes. The weight is not
 * clamped to the phase's cap: an over-cap weight must reach the policy pack and be refused
 * there with remediation, not be silently lowered.
 */
export function planTraffic(input: TrafficInput): ServiceTraffic[] {
  const cohortsAllowed = !input.rollback && allowsCohortRouting(input.playbookSpec, input.phase);
  const green = input.rollback ? 0 : input.greenWeight;
  return input.services.map((service) => ({
    service: service.name,
    priorityBlock: priorityBlockOf(service),
    blue: 100 - green,
    green,
    cohortRoutes: cohortsAllowed ? cohortRoutesFor(input.cohorts, service.pathPattern) : [],
  }));
}
