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
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  environment?: string;
  strategy?: { matrix: { stack: string[] } };
  env?: Record<string, string>;
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
const isPulumi = (step: Step) => step.uses?.startsWith("pulumi/actions@") ?? false;
const pulumiJobs = () => Object.entries(workflow.jobs).filter(([, job]) => job.steps.some(isPulumi));
/** What a step's process sees of the workflow's env: the job's, overridden by the step's (there is no workflow-level env). */
const stepEnv = (job: Job, step: Step) => ({ ...job.env, ...step.env });
/** The environment secret of the job's GitHub environment (a repository secret of this name must not exist). */
const ENVIRONMENT_PASSPHRASE = "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}";

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

  it("gives every pulumi step its stack's PULUMI_CONFIG_PASSPHRASE from a secret, and only the pulumi step", () => {
    assert.equal((workflow as { env?: unknown }).env, undefined, "no workflow-level env");
    const jobs = pulumiJobs();
    assert.deepEqual(
      jobs.map(([name]) => name),
      ["preview", "deploy-staging", "deploy-production"],
    );
    for (const [name, job] of jobs) {
      const passphrase = stepEnv(job, pulumiStep(job)).PULUMI_CONFIG_PASSPHRASE;
      assert.ok(passphrase, `job ${name}: the pulumi step has PULUMI_CONFIG_PASSPHRASE`);
      assert.match(
        passphrase,
        /^\$\{\{ .*\bsecrets\.PULUMI_CONFIG_PASSPHRASE\w* .*\}\}$/,
        `job ${name}: from secrets.`,
      );
    }
    // Only the pulumi step of a job sees a passphrase: not npm ci, not the tests, not other actions.
    for (const [name, job] of Object.entries(workflow.jobs)) {
      assert.equal(job.env?.PULUMI_CONFIG_PASSPHRASE, undefined, `job ${name}: not in the job's env`);
      for (const step of job.steps.filter((s) => !isPulumi(s))) {
        assert.ok(
          !JSON.stringify(step).includes("PULUMI_CONFIG_PASSPHRASE"),
          `job ${name}: ${step.uses ?? step.run} does not see the passphrase`,
        );
      }
    }
    // Which provider reads that variable: the passphrase one, as the committed stack files say.
    for (const stack of ["staging", "production"]) {
      const file = `Pulumi.${stack}.yaml`;
      const settings = yaml.load(fs.readFileSync(path.join(__dirname, "..", file), "utf8")) as Record<
        string,
        unknown
      >;
      assert.ok(settings.encryptionsalt, `${file} uses the passphrase provider`);
      assert.equal(settings.secretsprovider, undefined, `${file}: no other secrets provider`);
    }
  });

  it("deploys each stack with the passphrase of its own GitHub environment", () => {
    for (const [name, environment] of [
      ["deploy-staging", "staging"],
      ["deploy-production", "production"],
    ] as const) {
      const job = workflow.jobs[name]!;
      assert.equal(job.environment, environment);
      assert.equal(pulumiStep(job).with!["stack-name"], environment);
      // Same name in both environments: which value a job gets is decided by its environment alone.
      assert.equal(stepEnv(job, pulumiStep(job)).PULUMI_CONFIG_PASSPHRASE, ENVIRONMENT_PASSPHRASE);
    }
    // The environment-only name is read nowhere without an environment, so it can only ever be an
    // environment's secret, released to the production job after its approval.
    for (const [name, job] of Object.entries(workflow.jobs)) {
      if (!job.environment)
        assert.ok(
          !JSON.stringify(job).includes("secrets.PULUMI_CONFIG_PASSPHRASE }}"),
          `job ${name} has no environment`,
        );
    }
  });

  it("previews each stack in a <stack>-preview environment holding that stack's passphrase, never a repository-wide one", () => {
    const preview = workflow.jobs.preview!;
    // A PR job runs the PR's code: production's passphrase only as production-preview's rules allow.
    assert.equal(preview.environment, "${{ matrix.stack }}-preview");
    assert.deepEqual(preview.strategy!.matrix.stack, ["staging", "production"]);
    assert.equal(
      stepEnv(preview, pulumiStep(preview)).PULUMI_CONFIG_PASSPHRASE,
      "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    );
    assert.ok(
      !JSON.stringify(workflow).includes("PULUMI_CONFIG_PASSPHRASE_"),
      "no per-stack repository secrets",
    );
    // secrets[...] with a computed key makes the runner hand the job every secret of the repository.
    assert.ok(!JSON.stringify(workflow).includes("secrets["), "no computed secret names");
  });

  it("runs Node 22 in every job, with actions on GitHub's Node 24 action runtime", () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const setups = job.steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
      assert.equal(setups.length, 1, `job ${name} sets up Node once`);
      assert.deepEqual(setups[0]!.with, { "node-version": 22, cache: "npm" }, `job ${name}`);
      const setup = job.steps.indexOf(setups[0]!);
      const firstNode = job.steps.findIndex((s) => s.run !== undefined || isPulumi(s));
      assert.ok(
        setup < firstNode,
        `job ${name}: Node is set up (step ${setup}) before it runs (step ${firstNode})`,
      );
    }
    const used = new Set(
      Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((s) => s.uses ?? [])),
    );
    assert.deepEqual([...used].sort(), [
      "actions/checkout@v5",
      "actions/setup-node@v5",
      "aws-actions/configure-aws-credentials@v6",
      "pulumi/actions@v7",
    ]);
  });
});
