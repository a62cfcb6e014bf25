import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadStackFile } from "../rollout/loaders";
import type { StackFile } from "../rollout/stackFile";
import { isUnreadableLatch, parseLatch } from "../rollout/state";
import { planStack, type PlanResult } from "../cli/offlinePlan";

/** What `pulumi up` does with the automatic-rollback latch it reads from SSM (index.ts readLatch). */

const NOW = new Date("2026-11-20T09:30:00Z");
const LATCH_PATH = "/staged-rollout/production/latch/rollback";
const LATCH = {
  reason: "production-auto-rollback ALARM: production-errorRate-critical-web",
  alarm: "production-errorRate-critical-web",
  at: "2026-11-20T09:00:00.000Z",
};
const RESUME = "Fix green, then run `npm run rollout -- resume --stack production` to acknowledge it.";

function withConfig(changes: Record<string, string>): StackFile {
  const file = loadStackFile("production");
  return { ...file, config: { ...file.config, ...changes } };
}
const planWithLatch = (value: string | undefined, file = loadStackFile("production")) =>
  planStack(
    file,
    { latchParameters: value === undefined ? [] : [{ name: LATCH_PATH, value }] },
    { now: NOW },
  );
/** The hooks' traffic fingerprint: what the program decided about the latch and the weights. */
const fingerprint = (r: PlanResult) => {
  const hook = r.resources.filter((x) => x.name === "hooks-pre-deploy");
  assert.equal(hook.length, 1);
  const { latch, traffic } = JSON.parse((hook[0]!.inputs.triggers as string[])[0]!);
  return { latch, traffic };
};
const BLUE = {
  traffic: [
    ["web", 0, 0],
    ["api", 0, 0],
  ],
};

describe("automatic rollback latch in the program", () => {
  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    mock.method(pulumi.log, "warn", async (message: string) => {
      warnings.push(message);
    });
  });
  afterEach(() => mock.restoreAll());

  it("a set latch keeps 100 % blue and the warning says who set it, when, why, and how to resume", async () => {
    const plan = await planWithLatch(JSON.stringify(LATCH));
    assert.deepEqual(fingerprint(plan), { latch: "set", ...BLUE });
    assert.deepEqual(warnings, [
      "automatic rollback latch set by production-errorRate-critical-web at 2026-11-20T09:00:00.000Z " +
        "(production-auto-rollback ALARM: production-errorRate-critical-web): keeping 100 % blue. " +
        RESUME,
    ]);
  });

  it("an unreadable latch (not JSON, or JSON without reason/alarm/at) is still a latch: 100 % blue, and the warning says it is unreadable", async () => {
    for (const value of ["{not json", JSON.stringify({ reason: "no alarm or time" })]) {
      warnings = [];
      const plan = await planWithLatch(value);
      assert.deepEqual(fingerprint(plan), { latch: "set", ...BLUE }, value);
      assert.deepEqual(
        warnings,
        [
          "automatic rollback latch set by unknown at unknown (unreadable latch parameter): keeping 100 % blue. " +
            RESUME,
        ],
        value,
      );
    }
  });

  it("no latch, or one acknowledged at its time: the configured weights, and no warning", async () => {
    const clear = await planWithLatch(undefined);
    const acknowledged = await planWithLatch(
      JSON.stringify(LATCH),
      withConfig({ "rollout:rollbackAcknowledged": LATCH.at }),
    );
    const configured = {
      traffic: [
        ["web", 0, 14],
        ["api", 0, 14],
      ],
    };
    assert.deepEqual(fingerprint(clear), { latch: "clear", ...configured });
    assert.deepEqual(fingerprint(acknowledged), { latch: "acknowledged", ...configured });
    assert.deepEqual(warnings, []);
  });
});

describe("parseLatch: the latch parameter's value, as the program and the Lambda read it", () => {
  const UNREADABLE = { reason: "unreadable latch parameter", alarm: "unknown", at: "unknown" };
  const cases: [string, string, ReturnType<typeof parseLatch>][] = [
    ["a complete latch", JSON.stringify(LATCH), LATCH],
    [
      "a latch whose notification is pending",
      JSON.stringify({ ...LATCH, notificationPending: true }),
      { ...LATCH, notificationPending: true },
    ],
    ["not JSON", "{not json", UNREADABLE],
    ["empty", "", UNREADABLE],
    ["JSON without alarm or time", JSON.stringify({ reason: "no alarm or time" }), UNREADABLE],
    ["a field no latch has", JSON.stringify({ ...LATCH, by: "someone" }), UNREADABLE],
    [
      "notificationPending that is not a boolean",
      JSON.stringify({ ...LATCH, notificationPending: "yes" }),
      UNREADABLE,
    ],
  ];
  for (const [what, raw, expected] of cases) {
    it(`${what} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseLatch(raw), expected);
      // Only the unreadable stand-in has no time to acknowledge (resume then just deletes it).
      assert.equal(isUnreadableLatch(parseLatch(raw)), expected === UNREADABLE);
    });
  }
});
