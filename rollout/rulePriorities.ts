import { createHash } from "node:crypto";

/**
 * Listener rule priorities that survive adding, removing and reordering services.
 *
 * ELB evaluates a listener's rules "in priority order, from the lowest value to the highest
 * value", priorities run 1-50000, and "a listener can't have multiple rules with the same
 * priority" (Elastic Load Balancing API Reference, CreateRule / SetRulePriorities; ALB guide,
 * "Listener rules for your Application Load Balancer"). A priority that depended on a service's
 * position would move every later service's rules when one is added, and the new rules would be
 * created at priorities the old ones still hold: ELB refuses with PriorityInUse. So every
 * service owns a block of 100 priorities chosen from its own identity, never its position:
 *
 * - the catch-all `/*` takes the last block, so it is evaluated after every other service;
 * - any other service takes the block its name hashes to (stable whatever else changes), or
 *   the `priorityBlock` its config pins (the committed stacks pin the blocks they were first
 *   deployed with, so no rule moves mid-rollout).
 *
 * Block b holds priorities b*100+1 .. b*100+99: cohort rules from the bottom, the weighted
 * rule at b*100+99.
 */

/** Highest listener rule priority ELB accepts (CreateRule Priority: 1-50000). */
export const ALB_MAX_RULE_PRIORITY = 50000;
/** Priorities per service block. */
export const SERVICE_PRIORITY_BLOCK = 100;
/** Blocks 0 .. PRIORITY_BLOCKS-1 fit under ALB_MAX_RULE_PRIORITY. */
export const PRIORITY_BLOCKS = ALB_MAX_RULE_PRIORITY / SERVICE_PRIORITY_BLOCK;
/** The catch-all's block: the last one, so `/*` is evaluated after every other service. */
export const CATCH_ALL_PRIORITY_BLOCK = PRIORITY_BLOCKS - 1;
/** Cohort rules one service can hold: its block minus the weighted rule and the unused slot 0. */
export const MAX_COHORT_RULES_PER_SERVICE = SERVICE_PRIORITY_BLOCK - 2;

const CATCH_ALL = "/*";

export interface PrioritisedService {
  name: string;
  pathPattern: string;
  /** Pinned block 0-499; default: from the name (the catch-all: the last block). */
  priorityBlock?: number;
}

/** The block a service takes when config does not pin one: a function of its name alone. */
export function defaultPriorityBlock(service: Pick<PrioritisedService, "name" | "pathPattern">): number {
  if (service.pathPattern === CATCH_ALL) return CATCH_ALL_PRIORITY_BLOCK;
  const digest = createHash("sha256").update(service.name).digest();
  // Any block but the catch-all's.
  return digest.readUInt32BE(0) % CATCH_ALL_PRIORITY_BLOCK;
}

export function priorityBlockOf(service: PrioritisedService): number {
  return service.priorityBlock ?? defaultPriorityBlock(service);
}

/** The priority of a service's cohort rule `index` (0-based). */
export function cohortRulePriority(block: number, index: number): number {
  return block * SERVICE_PRIORITY_BLOCK + 1 + index;
}

/** The priority of a service's weighted rule: the last of its block. */
export function weightedRulePriority(block: number): number {
  return block * SERVICE_PRIORITY_BLOCK + SERVICE_PRIORITY_BLOCK - 1;
}

/** ALB path-pattern matching: `*` is 0 or more characters, `?` exactly one, case-sensitive. */
function pathPatternRegExp(pattern: string): RegExp {
  const body = [...pattern]
    // A `?` stands for one character: a literal one, or the other pattern's `?`, never its `*`.
    .map((c) => (c === "*" ? ".*" : c === "?" ? "[^*]" : c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "s");
}

/**
 * True when every path `narrow` can match, `broad` matches too, judged by matching `narrow`'s
 * text against `broad` (sound for the patterns ALB accepts: a wildcard in `broad` absorbs the
 * wildcards of `narrow`). Such a `narrow` service must be evaluated first or it is never reached.
 */
function shadows(broad: string, narrow: string): boolean {
  return pathPatternRegExp(broad).test(narrow);
}

/**
 * Problems with the services' priority blocks, each naming the config key: two services in one
 * block, or a service whose path another service's pattern covers but that would be evaluated
 * after it (never reached).
 */
export function priorityBlockProblems(services: readonly PrioritisedService[]): string[] {
  const problems: string[] = [];
  const blocks = services.map(priorityBlockOf);
  const origin = (i: number) =>
    services[i]!.priorityBlock === undefined
      ? services[i]!.pathPattern === CATCH_ALL
        ? "the catch-all's block"
        : "from its name"
      : "pinned";
  services.forEach((service, i) => {
    const first = blocks.indexOf(blocks[i]!);
    if (first !== i) {
      problems.push(
        `rollout:services[${i}].priorityBlock: services ${services[first]!.name} (${origin(first)}) and ${service.name} (${origin(i)}) both take listener rule priority block ${blocks[i]}; expected a block of its own: pin a free block 0-${PRIORITY_BLOCKS - 1} on one of them`,
      );
    }
  });
  services.forEach((narrow, i) => {
    services.forEach((broad, j) => {
      if (i === j || !shadows(broad.pathPattern, narrow.pathPattern)) return;
      if (narrow.pathPattern === broad.pathPattern && j < i) {
        problems.push(
          `rollout:services[${i}].pathPattern: expected a path no other service routes, got ${JSON.stringify(narrow.pathPattern)}, which ${broad.name} routes too`,
        );
      } else if (narrow.pathPattern !== broad.pathPattern && blocks[i]! > blocks[j]!) {
        problems.push(
          `rollout:services[${i}].priorityBlock: ${narrow.name} (${JSON.stringify(narrow.pathPattern)}, block ${blocks[i]}, ${origin(i)}) is evaluated after ${broad.name} (${JSON.stringify(broad.pathPattern)}, block ${blocks[j]}), whose pattern covers it, so it would never be reached; expected a block below ${blocks[j]}: ${
            blocks.filter((b) => b < blocks[j]!).length < blocks[j]!
              ? "pin one"
              : `no block below ${blocks[j]} is free: move ${broad.name} to a later block first (docs/listener-rules.md)`
          }`,
        );
      }
    });
  });
  return problems;
}
