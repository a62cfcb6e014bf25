import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";

/** The CI users get: preview with the policy pack on every PR, staging on main, production behind an approval. */

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  environment?: string;
  strategy?: { matrix: { stack: string[] } };
  steps: Step[];
}
const workflow = yaml.load(
  fs.readFileSync(path.join(__dirname, "..", ".github", "workflows", "preview.yml"), "utf8"),
) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
};
const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;

describe("GitHub workflow", () => {
  it("runs on pull requests and on main", () => {
    assert.deepEqual(Object.keys(workflow.on).sort(), ["pull_request", "push"]);
    assert.equal(workflow.permissions["pull-requests"], "write");
  });

  it("runs the tests and both offline plans first", () => {
    const runs = workflow.jobs.offline!.steps.map((s) => s.run).filter(Boolean);
    assert.deepEqual(runs, [
      "npm ci",
      "npm test",
      "npm run plan -- --stack staging",
      "npm run plan -- --stack production",
    ]);
  });

  it("previews every stack refreshed, with the policy pack and its config on pull requests, commenting the diff", () => {
    const preview = workflow.jobs.preview!;
    assert.equal(preview.if, "github.event_name == 'pull_request'");
    assert.deepEqual(preview.strategy!.matrix.stack, ["staging", "production"]);
    assert.ok(preview.steps.some((s) => s.run === "npm ci"));
    assert.deepEqual(pulumiStep(preview).with, {
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      policyPacks: "policies",
      policyPackConfigs: "policies/config/${{ matrix.stack }}.json",
      // The rollback Lambda moves listener weights outside Pulumi: a refresh makes the preview show that drift.
      refresh: true,
      "comment-on-pr": true,
      diff: true,
    });
    for (const stack of preview.strategy!.matrix.stack) {
      assert.ok(
        fs.existsSync(path.join(__dirname, "..", "policies", "config", `${stack}.json`)),
        `policy config for ${stack}`,
      );
    }
  });

  it("installs with npm ci before the pulumi step in every job", () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const install = job.steps.findIndex((s) => s.run === "npm ci");
      assert.ok(install >= 0, `job ${name} runs npm ci`);
      const pulumi = job.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
      if (pulumi >= 0)
        assert.ok(install < pulumi, `job ${name}: npm ci (step ${install}) before pulumi (step ${pulumi})`);
    }
    // Every job but the offline checks runs pulumi.
    assert.deepEqual(
      Object.entries(workflow.jobs)
        .filter(([, job]) => job.steps.some((s) => s.uses?.startsWith("pulumi/actions@")))
        .map(([name]) => name),
      ["preview", "deploy-staging", "deploy-production"],
    );
  });

  it("deploys staging from main and production only after staging, each refreshed, with the pack, its config and its environment", () => {
    const staging = workflow.jobs["deploy-staging"]!;
    const production = workflow.jobs["deploy-production"]!;
    assert.equal(staging.if, "github.event_name == 'push' && github.ref == 'refs/heads/main'");
    assert.equal(production.if, "github.event_name == 'push' && github.ref == 'refs/heads/main'");
    assert.equal(staging.needs, "offline");
    assert.equal(production.needs, "deploy-staging");
    // Required reviewers on the production environment are the production approval.
    assert.equal(staging.environment, "staging");
    assert.equal(production.environment, "production");
    for (const [stack, job] of [
      ["staging", staging],
      ["production", production],
    ] as const) {
      assert.deepEqual(pulumiStep(job).with, {
        command: "up",
        "stack-name": stack,
        policyPacks: "policies",
        policyPackConfigs: `policies/config/${stack}.json`,
        // Without a refresh an up after the Lambda's weight change would not notice it.
        refresh: true,
      });
    }
  });
});
