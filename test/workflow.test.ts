import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";

/**
 * The CI users get: preview with the policy pack on every PR, staging on main, production behind
 * an approval; the two deploys one reusable workflow (deploy.yml) called twice; every job with
 * the GITHUB_TOKEN permissions it uses and no more; every action pinned by commit SHA.
 */

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
type Permissions = Record<string, string>;
interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  environment?: string;
  permissions?: Permissions;
  strategy?: { matrix: { stack: string[] } };
  env?: Record<string, string>;
  /** A job that runs steps. */
  steps?: Step[];
  /** A job that calls a reusable workflow. */
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, string> | "inherit";
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Permissions;
  env?: unknown;
  jobs: Record<string, Job>;
}

const WORKFLOW_DIR = path.join(__dirname, "..", ".github", "workflows");
const read = (file: string) => fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
const workflow = yaml.load(read("preview.yml")) as Workflow;
const deploy = yaml.load(read("deploy.yml")) as Workflow & {
  on: {
    workflow_call: {
      inputs: Record<string, { required?: boolean; type?: string }>;
      secrets: Record<string, { required?: boolean }>;
    };
  };
};
/** The reusable deploy's one job. */
const up = deploy.jobs.up!;
const DEPLOY_WORKFLOW = "./.github/workflows/deploy.yml";

type StepJob = Job & { steps: Step[] };
/** Every job that runs steps, in both files, named `file:job`. */
const stepJobs = (): [string, StepJob][] =>
  [
    ...Object.entries(workflow.jobs).map(([name, job]): [string, Job] => [`preview.yml:${name}`, job]),
    ...Object.entries(deploy.jobs).map(([name, job]): [string, Job] => [`deploy.yml:${name}`, job]),
  ].filter((entry): entry is [string, StepJob] => entry[1].steps !== undefined);

const isPulumi = (step: Step) => step.uses?.startsWith("pulumi/actions@") ?? false;
const pulumiStep = (job: Job) => job.steps!.find(isPulumi)!;
const pulumiJobs = () => stepJobs().filter(([, job]) => job.steps.some(isPulumi));
/** What a step's process sees of the workflow's env: the job's, overridden by the step's (there is no workflow-level env). */
const stepEnv = (job: Job, step: Step) => ({ ...job.env, ...step.env });
/** The environment secret of the job's GitHub environment (a repository secret of this name must not exist). */
const ENVIRONMENT_PASSPHRASE = "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}";
/** The callers of the reusable deploy: job name -> stack. */
const DEPLOYS = { "deploy-staging": "staging", "deploy-production": "production" } as const;

/**
 * The releases the workflows pin, each checked against other public workflows pinning the same
 * release to the same commit (preview.yml's header). Majors that run on GitHub's Node 24 action
 * runtime (Node 20 actions are deprecated on GitHub's runners).
 */
const PINNED = {
  "actions/checkout": { sha: "93cb6efe18208431cddfb8368fd83d5badbf9bfd", version: "v5.0.1" },
  "actions/setup-node": { sha: "a0853c24544627f65ddf259abe73b1d18a591444", version: "v5.0.0" },
  "aws-actions/configure-aws-credentials": {
    sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c",
    version: "v6.2.3",
  },
  "pulumi/actions": { sha: "8e5e406f4007fca908480587cb9893c07090f58d", version: "v7.0.0" },
};

describe("GitHub workflow", () => {
  it("runs on pull requests and on main; the deploy only when called", () => {
    assert.deepEqual(Object.keys(workflow.on).sort(), ["pull_request", "push"]);
    assert.deepEqual(Object.keys(deploy.on), ["workflow_call"]);
  });

  it("runs the tests and both offline plans first", () => {
    const runs = workflow.jobs.offline!.steps!.map((s) => s.run).filter(Boolean);
    assert.deepEqual(runs, [
      "npm ci",
      "npm test",
      "npm run plan -- --stack staging",
      "npm run plan -- --stack production",
    ]);
  });

  it("grants nothing at workflow level and each job exactly the permissions it uses", () => {
    // `{}`: every scope none, so a job without its own block (or a new one) starts with nothing.
    assert.deepEqual(workflow.permissions, {});
    assert.deepEqual(deploy.permissions, {});
    const jobs = Object.fromEntries([
      ...Object.entries(workflow.jobs).map(([name, job]) => [name, job.permissions]),
      ...Object.entries(deploy.jobs).map(([name, job]) => [`deploy.yml:${name}`, job.permissions]),
    ]);
    assert.deepEqual(jobs, {
      // checkout
      offline: { contents: "read" },
      // + OIDC for the preview role, + the diff as a PR comment
      preview: { contents: "read", "id-token": "write", "pull-requests": "write" },
      // what deploy.yml's job asks for, and nothing more
      "deploy-staging": { contents: "read", "id-token": "write" },
      "deploy-production": { contents: "read", "id-token": "write" },
      // checkout + OIDC for the deploy role; no PR comment
      "deploy.yml:up": { contents: "read", "id-token": "write" },
    });
    // A called workflow can only lower what its caller grants: a scope it asks for beyond the
    // caller's makes the run fail to start.
    const rank = { none: 0, read: 1, write: 2 } as Record<string, number>;
    for (const name of Object.keys(DEPLOYS)) {
      const granted = workflow.jobs[name]!.permissions!;
      for (const [scope, level] of Object.entries(up.permissions!))
        assert.ok(rank[granted[scope] ?? "none"]! >= rank[level]!, `${name} grants ${scope}: ${level}`);
    }
  });

  it("pins every action by full commit SHA with its release as a comment, the same pin everywhere", () => {
    const pins: { file: string; action: string; sha: string; version: string }[] = [];
    for (const file of ["preview.yml", "deploy.yml"]) {
      for (const line of read(file).split("\n")) {
        const uses = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
        if (!uses) continue;
        const [, ref, rest] = uses;
        if (ref!.startsWith("./")) continue;
        const pin = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40})$/.exec(ref!);
        assert.ok(pin, `${file}: ${ref} is pinned by a 40-hex commit SHA`);
        const version = /^\s+# (v\d+\.\d+\.\d+)$/.exec(rest!);
        assert.ok(version, `${file}: ${ref} says its release ("# vX.Y.Z"), got "${rest}"`);
        pins.push({ file, action: pin[1]!, sha: pin[2]!, version: version[1]! });
      }
    }
    // Every pulumi, AWS, checkout and setup-node step of both files, and nothing else.
    assert.equal(pins.length, 10, "offline 2, preview 4, deploy.yml 4");
    for (const { file, action, sha, version } of pins)
      assert.deepEqual({ action, sha, version }, { action, ...PINNED[action as keyof typeof PINNED] }, file);
    assert.deepEqual([...new Set(pins.map((p) => p.action))].sort(), Object.keys(PINNED).sort());
    // The parsed files agree: every step's `uses` is one of the pins.
    const used = new Set(stepJobs().flatMap(([, job]) => job.steps.flatMap((s) => s.uses ?? [])));
    assert.deepEqual(
      [...used].sort(),
      Object.entries(PINNED)
        .map(([action, { sha }]) => `${action}@${sha}`)
        .sort(),
    );
  });

  it("previews every stack refreshed, with the policy pack and its config on pull requests, commenting the diff", () => {
    const preview = workflow.jobs.preview!;
    assert.equal(preview.if, "github.event_name == 'pull_request'");
    assert.deepEqual(preview.strategy!.matrix.stack, ["staging", "production"]);
    assert.ok(preview.steps!.some((s) => s.run === "npm ci"));
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

  it("installs with npm ci before the pulumi step in every job that runs steps", () => {
    for (const [name, job] of stepJobs()) {
      const install = job.steps.findIndex((s) => s.run === "npm ci");
      assert.ok(install >= 0, `job ${name} runs npm ci`);
      const pulumi = job.steps.findIndex(isPulumi);
      if (pulumi >= 0)
        assert.ok(install < pulumi, `job ${name}: npm ci (step ${install}) before pulumi (step ${pulumi})`);
    }
    // Every job but the offline checks runs pulumi: the preview, and the deploy through deploy.yml.
    assert.deepEqual(
      pulumiJobs().map(([name]) => name),
      ["preview.yml:preview", "deploy.yml:up"],
    );
    assert.deepEqual(
      Object.entries(workflow.jobs)
        .filter(([, job]) => job.uses !== undefined)
        .map(([name, job]) => [name, job.uses]),
      Object.keys(DEPLOYS).map((name) => [name, DEPLOY_WORKFLOW]),
    );
  });

  it("defines the deploy once: `pulumi up` of the called stack, refreshed, with the pack and that stack's config, in its environment", () => {
    assert.deepEqual(Object.keys(deploy.jobs), ["up"]);
    const inputs = deploy.on.workflow_call.inputs;
    assert.deepEqual(Object.keys(inputs), ["stack"]);
    assert.equal(inputs.stack!.required, true);
    assert.equal(inputs.stack!.type, "string");
    // Production's required reviewers gate the job because it runs in the stack's environment.
    assert.equal(up.environment, "${{ inputs.stack }}");
    assert.deepEqual(pulumiStep(up).with, {
      command: "up",
      "stack-name": "${{ inputs.stack }}",
      policyPacks: "policies",
      policyPackConfigs: "policies/config/${{ inputs.stack }}.json",
      // Without a refresh an up after the Lambda's weight change would not notice it.
      refresh: true,
    });
    const aws = up.steps!.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
    assert.deepEqual(aws.with, {
      "role-to-assume": "${{ secrets.AWS_DEPLOY_ROLE_ARN }}",
      "aws-region": "eu-west-1",
    });
  });

  it("calls it for staging from main and for production only after staging, each with its stack and the secrets it declares", () => {
    const declared = deploy.on.workflow_call.secrets;
    assert.deepEqual(Object.fromEntries(Object.entries(declared).map(([name, s]) => [name, s.required])), {
      PULUMI_ACCESS_TOKEN: true,
      AWS_DEPLOY_ROLE_ARN: true,
      PULUMI_CONFIG_PASSPHRASE: false,
    });
    for (const [name, stack] of Object.entries(DEPLOYS)) {
      const job = workflow.jobs[name]!;
      assert.equal(job.uses, DEPLOY_WORKFLOW);
      assert.equal(job.if, "github.event_name == 'push' && github.ref == 'refs/heads/main'");
      assert.deepEqual(job.with, { stack });
      // Each name mapped, never `secrets: inherit` (which would hand the deploy every secret).
      assert.deepEqual(job.secrets, {
        PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        AWS_DEPLOY_ROLE_ARN: "${{ secrets.AWS_DEPLOY_ROLE_ARN }}",
        PULUMI_CONFIG_PASSPHRASE: ENVIRONMENT_PASSPHRASE,
      });
      assert.ok(
        fs.existsSync(path.join(__dirname, "..", "policies", "config", `${stack}.json`)),
        `policy config for ${stack}`,
      );
    }
    assert.equal(workflow.jobs["deploy-staging"]!.needs, "offline");
    assert.equal(workflow.jobs["deploy-production"]!.needs, "deploy-staging");
  });

  it("gives every pulumi step its stack's PULUMI_CONFIG_PASSPHRASE from a secret, and only the pulumi step", () => {
    assert.equal(workflow.env, undefined, "no workflow-level env");
    assert.equal(deploy.env, undefined, "no workflow-level env in deploy.yml");
    for (const [name, job] of pulumiJobs()) {
      const passphrase = stepEnv(job, pulumiStep(job)).PULUMI_CONFIG_PASSPHRASE;
      assert.equal(passphrase, ENVIRONMENT_PASSPHRASE, `job ${name}: the pulumi step has the passphrase`);
    }
    // Only the pulumi step of a job sees a passphrase: not npm ci, not the tests, not other actions.
    for (const [name, job] of stepJobs()) {
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

  it("reads the passphrase only in jobs that run in the stack's GitHub environment", () => {
    // Same name in every environment: which value a job gets is decided by its environment alone.
    for (const [name, job] of stepJobs()) {
      if (!JSON.stringify(job).includes(ENVIRONMENT_PASSPHRASE)) continue;
      assert.ok(job.environment, `job ${name} runs in an environment`);
    }
    assert.equal(up.environment, "${{ inputs.stack }}");
    assert.equal(pulumiStep(up).with!["stack-name"], "${{ inputs.stack }}");
    // A caller job cannot run in an environment; it only maps the name to deploy.yml, whose job
    // runs in one and takes the value from it.
    for (const [name, job] of Object.entries(workflow.jobs)) {
      if (job.steps || !JSON.stringify(job).includes(ENVIRONMENT_PASSPHRASE)) continue;
      assert.equal(job.uses, DEPLOY_WORKFLOW, `job ${name} hands the name to the deploy only`);
    }
  });

  it("previews each stack in a <stack>-preview environment holding that stack's passphrase, never a repository-wide one", () => {
    const preview = workflow.jobs.preview!;
    // A PR job runs the PR's code: production's passphrase only as production-preview's rules allow.
    assert.equal(preview.environment, "${{ matrix.stack }}-preview");
    assert.deepEqual(preview.strategy!.matrix.stack, ["staging", "production"]);
    assert.equal(stepEnv(preview, pulumiStep(preview)).PULUMI_CONFIG_PASSPHRASE, ENVIRONMENT_PASSPHRASE);
    for (const parsed of [workflow, deploy]) {
      assert.ok(
        !JSON.stringify(parsed).includes("PULUMI_CONFIG_PASSPHRASE_"),
        "no per-stack repository secrets",
      );
      // secrets[...] with a computed key makes the runner hand the job every secret of the repository.
      assert.ok(!JSON.stringify(parsed).includes("secrets["), "no computed secret names");
      assert.ok(!JSON.stringify(parsed).includes('"inherit"'), "no secrets: inherit");
    }
  });

  it("runs Node 22 in every job, with actions on GitHub's Node 24 action runtime", () => {
    for (const [name, job] of stepJobs()) {
      const setups = job.steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
      assert.equal(setups.length, 1, `job ${name} sets up Node once`);
      assert.deepEqual(setups[0]!.with, { "node-version": 22, cache: "npm" }, `job ${name}`);
      const setup = job.steps.indexOf(setups[0]!);
      const firstNode = job.steps.findIndex((s) => s.run !== undefined || isPulumi(s));
      assert.ok(
        setup < firstNode,
        `job ${name}: Node is set up (step ${setup}) before it runs (step ${firstNode})`,
      );
      // Nothing pushes: the checkout token stays out of .git/config, where npm ci's scripts could read it.
      const checkout = job.steps.find((s) => s.uses?.startsWith("actions/checkout@"))!;
      assert.deepEqual(checkout.with, { "persist-credentials": false }, `job ${name}`);
    }
    assert.deepEqual(
      Object.values(PINNED).map((p) => p.version.split(".")[0]),
      ["v5", "v5", "v6", "v7"],
    );
  });
});
