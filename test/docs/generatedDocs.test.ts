import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allPolicies } from "../../policies/rules/all";
import { cliReference, REFERENCE_FILE, REFERENCE_SCRIPT } from "../../scripts/cli-reference";
import { readRegion } from "../../scripts/docRegions";
import {
  CATALOGUE_FILE,
  CATALOGUE_SCRIPT,
  policyCatalogue,
  type PolicyMeta,
} from "../../scripts/policy-catalogue";
import { COMMAND_FORMS } from "../../cli/rollout";

/**
 * The reference parts of docs/ are generated from the code's own metadata and committed; these
 * tests fail when the committed text is not what the code generates now (a policy added,
 * renamed, re-levelled or re-described; a command's help changed), naming the script to run.
 */

describe("docs/policies.md: the catalogue is what the pack declares", () => {
  it("equals what npm run docs:policies generates from the pack, now", () => {
    assert.equal(
      readRegion(CATALOGUE_FILE, CATALOGUE_SCRIPT),
      policyCatalogue(),
      `${CATALOGUE_FILE} is stale: run npm run ${CATALOGUE_SCRIPT}`,
    );
  });

  it("lists every policy of the pack once, with its enforcement level", () => {
    const text = readRegion(CATALOGUE_FILE, CATALOGUE_SCRIPT);
    for (const policy of allPolicies) {
      assert.equal(text.split(`\n#### ${policy.name}\n`).length, 2, `${policy.name} has one section`);
      assert.ok(
        text.includes(`| [\`${policy.name}\`](#${policy.name}) | ${policy.enforcementLevel} |`),
        `${policy.name}: its row with level ${policy.enforcementLevel}`,
      );
    }
  });

  it("a policy added to the pack appears in the generated text (so the comparison above can fail)", () => {
    const added: PolicyMeta = {
      name: "rollout-example-added",
      description: "An example policy that checks Pulumi.<stack>.yaml.",
      enforcementLevel: "advisory",
      remediationSteps: "Run `pulumi config set rollout:phase full`.",
      configSchema: { properties: { limit: { type: "integer", minimum: 1, default: 3 } } },
    };
    const text = policyCatalogue([...allPolicies, added]);
    assert.notEqual(text, policyCatalogue());
    assert.ok(text.includes("| [`rollout-example-added`](#rollout-example-added) | advisory | — | — |"));
    assert.ok(text.includes("An example policy that checks Pulumi.&lt;stack>.yaml."));
    assert.ok(text.includes("Settings: `limit` (integer, ≥ 1; default `3`)."));
    assert.ok(text.includes("Fix: Run `pulumi config set rollout:phase full`."));
  });
});

describe("docs/cli.md: the reference is what the CLI prints", () => {
  it("equals what npm run docs:cli generates from the CLI's help, now", async () => {
    assert.equal(
      readRegion(REFERENCE_FILE, REFERENCE_SCRIPT),
      await cliReference(),
      `${REFERENCE_FILE} is stale: run npm run ${REFERENCE_SCRIPT}`,
    );
  });

  it("has a section per command the CLI registers", () => {
    const text = readRegion(REFERENCE_FILE, REFERENCE_SCRIPT);
    for (const command of Object.keys(COMMAND_FORMS))
      assert.ok(
        text.includes(`\n### ${command}\n\n\`\`\`text\nusage: npm run rollout -- ${command}`),
        command,
      );
  });
});
