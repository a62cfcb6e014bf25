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
  /** `header`: the cohort header equals one of the values; `cookie`: the Cookie header matches. */
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

/**
 * Cookie values are matched as `*<cookie>=<user>*` against the Cookie header, which needs
 * two wildcards per value; the path pattern's wildcards count against the same rule.
 */
function cookieValuesPerRule(pathPattern: string): number {
  const budget = ALB_LIMITS.wildcardsPerRule - wildcards(pathPattern);
  return Math.max(
    0,
    Math.min(ALB_LIMITS.valuesPerCondition, ALB_LIMITS.valuesPerRule - 1, Math.floor(budget / 2)),
  );
}

/** The cohort rules a service needs, whatever the phase (used for routing and for limits). */
export function cohortRoutesFor(cohorts: CohortConfig | undefined, pathPattern: string): CohortRoute[] {
  if (!cohorts || cohorts.users.length === 0) return [];
  const headerValues = Math.min(ALB_LIMITS.valuesPerCondition, ALB_LIMITS.valuesPerRule - 1);
  const routes: CohortRoute[] = chunk(cohorts.users, headerValues).map((values) => ({
    match: "header",
    headerName: cohorts.header,
    values,
  }));
  if (cohorts.cookie) {
    const cookie = cohorts.cookie;
    const perRule = cookieValuesPerRule(pathPattern);
    for (const values of chunk(cohorts.users, Math.max(perRule, 1))) {
      routes.push({
        match: "cookie",
        headerName: "Cookie",
        values: values.map((user) => `*${cookie}=${user}*`),
      });
    }
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
      if (cookieValuesPerRule(service.pathPattern) < 1) {
        problems.push(
          `rollout:cohorts.cookie: service ${service.name}'s path pattern ${JSON.stringify(service.pathPattern)} leaves no wildcard budget for cookie matching (ALB allows ${ALB_LIMITS.wildcardsPerRule} per rule); drop the cookie or use fewer wildcards`,
        );
      }
    }
    const users = cohorts.users;
    for (const user of users) {
      const clash = users.find((other) => other !== user && other.startsWith(user));
      if (clash) {
        problems.push(
          `rollout:cohorts.users: expected no user id to be a prefix of another when a cookie is matched (*${cohorts.cookie}=${user}* also matches ${clash}), got ${JSON.stringify(user)} and ${JSON.stringify(clash)}`,
        );
        break;
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
