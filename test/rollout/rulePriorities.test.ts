import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CATCH_ALL_PRIORITY_BLOCK,
  cohortRulePriority,
  defaultPriorityBlock,
  priorityBlockProblems,
  weightedRulePriority,
} from "../../rollout/rulePriorities";

describe("rule priority blocks", () => {
  it("gives the catch-all the last block and any other service the block of its name, whatever its path", () => {
    assert.equal(CATCH_ALL_PRIORITY_BLOCK, 499);
    assert.equal(defaultPriorityBlock({ name: "web", pathPattern: "/*" }), 499);
    // Literal blocks: a change to the allocation would move every deployed rule, so it must fail here.
    assert.equal(defaultPriorityBlock({ name: "api", pathPattern: "/api/*" }), 408);
    assert.equal(defaultPriorityBlock({ name: "api", pathPattern: "/v2/*" }), 408);
    assert.equal(defaultPriorityBlock({ name: "admin", pathPattern: "/admin/*" }), 342);
    assert.equal(defaultPriorityBlock({ name: "web", pathPattern: "/web/*" }), 118);
  });

  it("numbers a block's rules within ELB's 1-50000: cohort rules from its bottom, the weighted rule at its top", () => {
    assert.deepEqual(
      [cohortRulePriority(0, 0), cohortRulePriority(0, 97), weightedRulePriority(0)],
      [1, 98, 99],
    );
    assert.deepEqual([cohortRulePriority(499, 0), weightedRulePriority(499)], [49901, 49999]);
  });

  const problems: [string, Parameters<typeof priorityBlockProblems>[0], string[]][] = [
    [
      "a pinned block and a catch-all default apart",
      [
        { name: "web", pathPattern: "/*" },
        { name: "api", pathPattern: "/api/*", priorityBlock: 3 },
      ],
      [],
    ],
    [
      "two services pinned to one block",
      [
        { name: "api", pathPattern: "/api/*", priorityBlock: 7 },
        { name: "admin", pathPattern: "/admin/*", priorityBlock: 7 },
      ],
      [
        "rollout:services[1].priorityBlock: services api (pinned) and admin (pinned) both take listener rule priority block 7; expected a block of its own: pin a free block 0-499 on one of them",
      ],
    ],
    [
      "two names that hash to one block",
      [
        { name: "svc13", pathPattern: "/a/*" },
        { name: "svc15", pathPattern: "/b/*" },
      ],
      [
        "rollout:services[1].priorityBlock: services svc13 (from its name) and svc15 (from its name) both take listener rule priority block 412; expected a block of its own: pin a free block 0-499 on one of them",
      ],
    ],
    [
      "a pin on the catch-all's block",
      [
        { name: "web", pathPattern: "/*" },
        { name: "api", pathPattern: "/api/*", priorityBlock: 499 },
      ],
      [
        "rollout:services[1].priorityBlock: services web (the catch-all's block) and api (pinned) both take listener rule priority block 499; expected a block of its own: pin a free block 0-499 on one of them",
      ],
    ],
    [
      "a narrower path evaluated after the broader one",
      [
        { name: "api", pathPattern: "/api/*", priorityBlock: 10 },
        { name: "admin", pathPattern: "/api/admin/*", priorityBlock: 20 },
      ],
      [
        'rollout:services[1].priorityBlock: admin ("/api/admin/*", block 20, pinned) is evaluated after api ("/api/*", block 10), whose pattern covers it, so it would never be reached; expected a block below 10: pin one',
      ],
    ],
    [
      "a narrower path evaluated first",
      [
        { name: "api", pathPattern: "/api/*", priorityBlock: 20 },
        { name: "admin", pathPattern: "/api/admin/*", priorityBlock: 10 },
      ],
      [],
    ],
    [
      "a `?` that stands for one character, not for the other pattern's wildcard",
      [
        { name: "short", pathPattern: "/a?", priorityBlock: 1 },
        { name: "long", pathPattern: "/a*", priorityBlock: 2 },
      ],
      [],
    ],
    [
      "a `?` in both patterns: /v?/admin/* under /v?/*",
      [
        { name: "versions", pathPattern: "/v?/*", priorityBlock: 1 },
        { name: "admin", pathPattern: "/v?/admin/*", priorityBlock: 2 },
      ],
      [
        'rollout:services[1].priorityBlock: admin ("/v?/admin/*", block 2, pinned) is evaluated after versions ("/v?/*", block 1), whose pattern covers it, so it would never be reached; expected a block below 1: pin one',
      ],
    ],
    [
      "/a? under /a?*",
      [
        { name: "wide", pathPattern: "/a?*", priorityBlock: 5 },
        { name: "narrow", pathPattern: "/a?", priorityBlock: 6 },
      ],
      [
        'rollout:services[1].priorityBlock: narrow ("/a?", block 6, pinned) is evaluated after wide ("/a?*", block 5), whose pattern covers it, so it would never be reached; expected a block below 5: pin one',
      ],
    ],
    [
      "a covered path with no free block below the covering one",
      [
        { name: "api", pathPattern: "/api/*", priorityBlock: 0 },
        { name: "web", pathPattern: "/*", priorityBlock: 1 },
        { name: "admin", pathPattern: "/admin/*", priorityBlock: 2 },
      ],
      [
        'rollout:services[2].priorityBlock: admin ("/admin/*", block 2, pinned) is evaluated after web ("/*", block 1), whose pattern covers it, so it would never be reached; expected a block below 1: no block below 1 is free: move web to a later block first (docs/listener-rules.md)',
      ],
    ],
    [
      "two services on one path",
      [
        { name: "api", pathPattern: "/api/*", priorityBlock: 1 },
        { name: "api2", pathPattern: "/api/*", priorityBlock: 2 },
      ],
      [
        'rollout:services[1].pathPattern: expected a path no other service routes, got "/api/*", which api routes too',
      ],
    ],
  ];
  for (const [name, services, expected] of problems) {
    it(`problems: ${name}`, () => assert.deepEqual(priorityBlockProblems(services), expected));
  }
});
