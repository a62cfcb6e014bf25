import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { awsName, RDS_SNAPSHOT_IDENTIFIER_MAX, TARGET_GROUP_NAME_MAX } from "../../rollout/names";

describe("awsName", () => {
  const cases: [string, string[], number, string][] = [
    ["joins with hyphens, lowercased", ["Staging", "web", "green"], 32, "staging-web-green"],
    [
      "replaces what AWS refuses and collapses hyphens",
      ["prod_eu", "api--v2", "blue"],
      32,
      "prod-eu-api-v2-blue",
    ],
    ["no hyphen at either end", ["-edge-", "web", "x-"], 32, "edge-web-x"],
    ["cut to the limit without a trailing hyphen", ["abcdefghij", "klmnopqrst"], 11, "abcdefghij"],
    [
      "an exact fit is kept whole",
      ["before", "full", "staging", "202611200930"],
      32,
      "before-full-staging-202611200930",
    ],
  ];
  for (const [name, parts, max, expected] of cases) {
    it(name, () => assert.equal(awsName(parts, max), expected));
  }

  it("states AWS's limits once", () => {
    assert.deepEqual([TARGET_GROUP_NAME_MAX, RDS_SNAPSHOT_IDENTIFIER_MAX], [32, 255]);
  });
});
