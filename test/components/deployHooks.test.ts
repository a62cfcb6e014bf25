import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { loadStackFile } from "../../rollout/loaders";
import type { StackFile } from "../../rollout/stackFile";
import { planStack, type PlanResult } from "../../cli/offlinePlan";

type Inputs = Record<string, any>;
const NOW = new Date("2026-11-20T09:30:00Z");
const LATCH = {
  reason: "production-auto-rollback ALARM: ...",
  alarm: "production-errorRate-critical-web",
  at: "2026-11-20T09:00:00.000Z",
};

/** What DeployHooks adds to every hook's environment for the committed stacks (aws:region eu-west-1). */
const STACK_REGION = { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-1" };

function variant(changes: Record<string, string>, file: StackFile = loadStackFile("production")): StackFile {
  const config = { ...file.config };
  for (const [k, v] of Object.entries(changes)) config[`rollout:${k}`] = v;
  return { ...file, config };
}
/** The same stack file in another `aws:region`. */
const inRegion = (file: StackFile, region: string): StackFile => ({
  ...file,
  config: { ...file.config, "aws:region": region },
});
const hook = (r: PlanResult, name: string) => {
  const found = r.resources.filter((x) => x.name === `hooks-${name}`);
  assert.equal(found.length, 1, name);
  return found[0]!;
};
/** Every hook command, by name, with the region variables of its environment. */
const hookRegions = (r: PlanResult) =>
  r.resources
    .filter((x) => x.type === "command:local:Command")
    .map((c) => {
      const env = (c.inputs as Inputs).environment;
      return [c.name, env.AWS_REGION, env.AWS_DEFAULT_REGION];
    })
    .sort(([a], [b]) => String(a).localeCompare(String(b)));
const tgArn = (r: PlanResult, service: string, colour: string) => {
  const tg = r.resources.filter(
    (x) =>
      x.type === "aws:lb/targetGroup:TargetGroup" &&
      String(x.inputs.name).startsWith(`production-${service}-${colour}-`),
  );
  assert.equal(tg.length, 1);
  return `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${String(tg[0]!.inputs.name).slice(0, 32)}/0123456789abcdef`;
};

describe("deploy hooks in the program", () => {
  let deploy: PlanResult;
  let rollback: PlanResult;
  let latched: PlanResult;
  before(async () => {
    // A readable, empty latch path: what a real deploy with no latch sees.
    deploy = await planStack(loadStackFile("production"), { latchParameters: [] }, { now: NOW });
    rollback = await planStack(variant({ rollback: "true" }), { latchParameters: [] }, { now: NOW });
    latched = await planStack(
      loadStackFile("production"),
      {
        latchParameters: [
          { name: "/staged-rollout/production/latch/rollback", value: JSON.stringify(LATCH) },
        ],
      },
      { now: NOW },
    );
  });

  it("deploy: pre-deploy checks both colours, post-deploy checks green and probes as a cohort user", () => {
    const pre = hook(deploy, "pre-deploy").inputs as Inputs;
    assert.equal(pre.create, "bash scripts/hooks/pre-deploy.sh");
    assert.deepEqual(Object.keys(pre.environment).sort(), [
      "AWS_DEFAULT_REGION",
      "AWS_REGION",
      "MODE",
      "SNAPSHOT_ID",
      "TARGET_GROUPS",
    ]);
    assert.equal(pre.environment.MODE, "deploy");
    assert.equal(
      pre.environment.TARGET_GROUPS,
      [
        `web:blue:${tgArn(deploy, "web", "blue")}`,
        `api:blue:${tgArn(deploy, "api", "blue")}`,
        `web:green:${tgArn(deploy, "web", "green")}`,
        `api:green:${tgArn(deploy, "api", "green")}`,
      ].join(" "),
    );
    const post = hook(deploy, "post-deploy").inputs as Inputs;
    assert.equal(post.create, "bash scripts/hooks/post-deploy.sh");
    assert.deepEqual(post.environment, {
      ...STACK_REGION,
      MODE: "deploy",
      GREEN_TARGET_GROUPS: `web:green:${tgArn(deploy, "web", "green")} api:green:${tgArn(deploy, "api", "green")}`,
      ALB_DNS: post.environment.ALB_DNS,
      CERTIFICATE_ARN: "arn:aws:acm:eu-west-1:123456789012:certificate/7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d",
      CHECKS: "web:/healthz api:/api/health",
      COHORT_HEADER: "X-Pilot-User",
      COHORT_USER: "devops.lead",
    });
    assert.match(
      post.environment.ALB_DNS,
      /^router-alb-[0-9a-f]{7}-1234567890\.eu-west-1\.elb\.amazonaws\.com$/,
    );
    assert.deepEqual(JSON.parse(pre.triggers[0]), {
      phase: "limited-pilot",
      rollback: false,
      latch: "clear",
      traffic: [
        ["web", 0, 14],
        ["api", 0, 14],
      ],
    });
  });

  it("each hook runs its script on create and on update, with the traffic fingerprint as its only trigger", () => {
    for (const [plan, names] of [
      [deploy, ["pre-deploy", "post-deploy"]],
      [rollback, ["pre-rollback", "pre-deploy", "post-deploy", "post-rollback"]],
    ] as const) {
      const fingerprint = (hook(plan, "pre-deploy").inputs as Inputs).triggers[0];
      for (const name of names) {
        const inputs = hook(plan, name).inputs as Inputs;
        assert.equal(inputs.create, `bash scripts/hooks/${name}.sh`);
        assert.equal(inputs.update, `bash scripts/hooks/${name}.sh`);
        assert.deepEqual(inputs.triggers, [fingerprint], name);
      }
    }
    const rollbackEnv = (name: string) => (hook(rollback, name).inputs as Inputs).environment;
    assert.deepEqual(rollbackEnv("pre-rollback"), {
      ...STACK_REGION,
      BLUE_TARGET_GROUPS: `web:${tgArn(rollback, "web", "blue")} api:${tgArn(rollback, "api", "blue")}`,
    });
    assert.deepEqual(Object.keys(rollbackEnv("post-rollback")).sort(), [
      "AWS_DEFAULT_REGION",
      "AWS_REGION",
      "GREEN_TARGET_GROUPS",
      "LISTENER_ARN",
    ]);
    assert.equal(
      rollbackEnv("post-rollback").GREEN_TARGET_GROUPS,
      `${tgArn(rollback, "web", "green")} ${tgArn(rollback, "api", "green")}`,
    );
  });

  it("a change outside traffic and the hooks' environment (alarm actions) leaves every hook's inputs as they are: no re-run", async () => {
    const muted = await planStack(
      variant({ alarmActionsEnabled: "false" }),
      { latchParameters: [] },
      { now: NOW },
    );
    for (const name of ["pre-deploy", "post-deploy"])
      assert.deepEqual(hook(muted, name).inputs, hook(deploy, name).inputs, name);
    // The variant did change the stack: its alarms are muted.
    const actionsEnabled = (r: PlanResult) =>
      r.resources.filter((x) => x.type === "aws:cloudwatch/metricAlarm:MetricAlarm")[0]!.inputs
        .actionsEnabled;
    assert.deepEqual([actionsEnabled(deploy), actionsEnabled(muted)], [true, false]);
  });

  it("post-deploy waits for the weighted and the cohort rules and both colours' workloads", () => {
    const after = new Set(hook(deploy, "post-deploy").options.dependsOn);
    const rules = deploy.resources
      .filter((r) => r.type === "aws:lb/listenerRule:ListenerRule")
      .map((r) => r.name);
    assert.ok(rules.length > 2, "weighted and cohort rules exist");
    for (const rule of rules) assert.ok(after.has(rule), `post-deploy waits for ${rule}`);
    // A component dependency reaches the engine as its children: each colour's Deployments.
    for (const r of ["hooks-pre-deploy", "blue-web", "blue-api", "green-web", "green-api"])
      assert.ok(after.has(r), r);
  });

  it("rollback: only blue is checked before the rules move, and green is not smoke-tested", () => {
    const pre = hook(rollback, "pre-deploy").inputs as Inputs;
    assert.deepEqual(pre.environment, {
      ...STACK_REGION,
      MODE: "rollback",
      SNAPSHOT_ID: pre.environment.SNAPSHOT_ID,
      TARGET_GROUPS: `web:blue:${tgArn(rollback, "web", "blue")} api:blue:${tgArn(rollback, "api", "blue")}`,
    });
    const post = hook(rollback, "post-deploy").inputs as Inputs;
    assert.equal(post.environment.MODE, "rollback");
    assert.equal(post.environment.COHORT_HEADER, undefined);
    const postRollback = hook(rollback, "post-rollback");
    for (const rule of rollback.resources.filter((r) => r.type === "aws:lb/listenerRule:ListenerRule"))
      assert.ok(postRollback.options.dependsOn.includes(rule.name), rule.name);
  });

  it("latched: the same blue-only checks, and the latch is in the fingerprint", () => {
    const pre = hook(latched, "pre-deploy").inputs as Inputs;
    assert.equal(pre.environment.MODE, "latched");
    assert.equal(
      pre.environment.TARGET_GROUPS,
      `web:blue:${tgArn(latched, "web", "blue")} api:blue:${tgArn(latched, "api", "blue")}`,
    );
    const post = hook(latched, "post-deploy").inputs as Inputs;
    assert.deepEqual([post.environment.MODE, post.environment.COHORT_HEADER], ["latched", undefined]);
    // Cohort routes are off while latched: a cohort-only phase still changes the fingerprint.
    assert.deepEqual(JSON.parse(pre.triggers[0]), {
      phase: "limited-pilot",
      rollback: false,
      latch: "set",
      traffic: [
        ["web", 0, 0],
        ["api", 0, 0],
      ],
    });
  });

  it("every hook command gets its stack's aws:region as AWS_REGION and AWS_DEFAULT_REGION, in both committed stacks", async () => {
    for (const stack of ["staging", "production"]) {
      const file = loadStackFile(stack);
      assert.equal(file.config["aws:region"], "eu-west-1", stack);
      const plans = [
        [await planStack(file, { latchParameters: [] }, { now: NOW }), ["post-deploy", "pre-deploy"]],
        [
          await planStack(variant({ rollback: "true" }, file), { latchParameters: [] }, { now: NOW }),
          ["post-deploy", "post-rollback", "pre-deploy", "pre-rollback"],
        ],
      ] as const;
      for (const [plan, names] of plans)
        assert.deepEqual(
          hookRegions(plan),
          names.map((n) => [`hooks-${n}`, "eu-west-1", "eu-west-1"]),
          stack,
        );
    }
  });
});

/** The ARN of a load balancer, as DescribeTargetGroups lists it in a group's LoadBalancerArns. */
const ALB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/router/1";
const fileFor = (arn: string) => arn.replace(/[^A-Za-z0-9]/g, "_");

/**
 * Runs a hook script with fake `aws` and `curl` first on PATH; returns exit code, stderr, the
 * calls made and the region variables each `aws` call saw. The env starts from PATH alone plus
 * a region (an `undefined` value leaves a variable unset), so nothing leaks from this shell.
 */
function runHook(
  script: "pre-deploy" | "post-deploy" | "pre-rollback" | "post-rollback",
  env: Record<string, string | undefined>,
  fake: {
    /**
     * Per target group ARN, its registered targets as DescribeTargetHealth reports them, space
     * separated: the state, then "/" and the reason when there is one ("healthy",
     * "unhealthy/Target.Timeout", "unused/Target.NotInUse"). No entry: no target registered.
     */
    states?: Record<string, string>;
    /** Target groups a load balancer routes to (DescribeTargetGroups' LoadBalancerArns). Default: none. */
    inUse?: string[];
    /** Target groups DescribeTargetGroups fails for (as without elasticloadbalancing:DescribeTargetGroups). */
    undescribable?: string[];
    snapshot?: string;
    domain?: string;
    httpCode?: string;
    /** What `aws elbv2 describe-rules` returns (the API's JSON). */
    rules?: unknown;
  },
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hook-"));
  const calls = path.join(dir, "calls");
  const regions = path.join(dir, "regions");
  for (const [arn, states] of Object.entries(fake.states ?? {}))
    fs.writeFileSync(path.join(dir, `tg-${fileFor(arn)}`), states);
  for (const arn of fake.inUse ?? []) fs.writeFileSync(path.join(dir, `lb-${fileFor(arn)}`), ALB_ARN);
  for (const arn of fake.undescribable ?? []) fs.writeFileSync(path.join(dir, `denied-${fileFor(arn)}`), "");
  fs.writeFileSync(path.join(dir, "rules.json"), JSON.stringify(fake.rules ?? { Rules: [] }));
  fs.writeFileSync(
    path.join(dir, "aws"),
    `#!/usr/bin/env bash
echo "aws $*" >> "${calls}"
echo "AWS_REGION=\${AWS_REGION-unset} AWS_DEFAULT_REGION=\${AWS_DEFAULT_REGION-unset}" >> "${regions}"
arn=""; query=""
for ((i = 1; i <= $#; i++)); do
  case "\${!i}" in
    --target-group-arn|--target-group-arns) j=$((i + 1)); arn=\${!j};;
    --query) j=$((i + 1)); query=\${!j};;
  esac
done
case "$1 $2" in
  "elbv2 describe-target-health")
    # Only the query the hooks share (lib.sh); what the CLI's text output makes of it.
    if [ "$query" != "TargetHealthDescriptions[].[TargetHealth.State,TargetHealth.Reason]" ]; then echo "fake aws: unexpected query $query" >&2; exit 2; fi
    for target in $(cat "${dir}/tg-$(tr -c 'A-Za-z0-9\\n' _ <<<"$arn")" 2>/dev/null); do
      # The CLI prints a missing Reason (a healthy target's) as None.
      if [[ "$target" == */* ]]; then printf '%s\\t%s\\n' "\${target%%/*}" "\${target#*/}"; else printf '%s\\tNone\\n' "$target"; fi
    done;;
  "elbv2 describe-target-groups")
    if [ "$query" != "TargetGroups[0].LoadBalancerArns" ]; then echo "fake aws: unexpected query $query" >&2; exit 2; fi
    if [ -e "${dir}/denied-$(tr -c 'A-Za-z0-9\\n' _ <<<"$arn")" ]; then echo "An error occurred (AccessDenied)" >&2; exit 254; fi
    # An empty LoadBalancerArns prints nothing.
    cat "${dir}/lb-$(tr -c 'A-Za-z0-9\\n' _ <<<"$arn")" 2>/dev/null || true;;
  "elbv2 describe-rules") cat "${dir}/rules.json";;
  "rds describe-db-snapshots")
    if [ "${fake.snapshot ?? "available"}" = "DBSnapshotNotFound" ]; then echo "An error occurred (DBSnapshotNotFound)" >&2; exit 254; fi
    echo "${fake.snapshot ?? "available"}";;
  "acm describe-certificate") echo "${fake.domain ?? "rollout.example.com"}";;
  *) echo "unexpected aws $*" >&2; exit 2;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(dir, "curl"),
    `#!/usr/bin/env bash
echo "curl $*" >> "${calls}"
printf '%s' "${fake.httpCode ?? "200"}"
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, "sleep"), "#!/usr/bin/env bash\n", { mode: 0o755 });
  const result = spawnSync("bash", [`scripts/hooks/${script}.sh`], {
    cwd: path.join(__dirname, "..", ".."),
    env: { PATH: `${dir}:${process.env.PATH}`, ATTEMPTS: "2", ...STACK_REGION, ...env },
    encoding: "utf8",
  });
  const lines = (file: string) =>
    fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
  const made = { calls: lines(calls), regions: lines(regions) };
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: result.status, stderr: result.stderr, ...made };
}

const GREEN = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-green/1";
const BLUE = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-blue/1";
const POST = {
  MODE: "deploy",
  GREEN_TARGET_GROUPS: `web:green:${GREEN}`,
  ALB_DNS: "alb-1.eu-west-1.elb.amazonaws.com",
  CERTIFICATE_ARN: "arn:aws:acm:eu-west-1:1:certificate/c",
  CHECKS: "web:/healthz",
};

describe("post-deploy hook script", () => {
  it("passes when every registered green target is healthy (draining ones aside)", () => {
    const run = runHook("post-deploy", POST, { states: { [GREEN]: "healthy healthy draining" } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /web\/green: 2\/2 targets healthy/);
    assert.equal(
      run.calls.filter((c) => c.startsWith("curl")).length,
      0,
      "no cohort probe outside cohort phases",
    );
  });

  it("fails pulumi up when one green target is unhealthy, or none is registered", () => {
    const unhealthy = runHook("post-deploy", POST, { states: { [GREEN]: "healthy unhealthy" } });
    assert.equal(unhealthy.status, 1);
    assert.match(
      unhealthy.stderr,
      /web\/green: 1 of 2 registered targets healthy after 2 checks \(states: healthy unhealthy\): green is unhealthy/,
    );
    const empty = runHook("post-deploy", POST, { states: {} });
    assert.equal(empty.status, 1);
    assert.match(
      empty.stderr,
      /web\/green: 0 of 0 registered targets healthy after 2 checks \(states: none\)/,
    );
  });

  it("probes as a cohort user with TLS verified against the certificate's domain, connected to this ALB", () => {
    const run = runHook(
      "post-deploy",
      { ...POST, COHORT_HEADER: "X-Pilot-User", COHORT_USER: "devops.lead" },
      { states: { [GREEN]: "healthy" }, domain: "*.tbs.example.com" },
    );
    assert.equal(run.status, 0, run.stderr);
    const curl = run.calls.filter((c) => c.startsWith("curl"));
    assert.deepEqual(curl, [
      "curl -sS -o /dev/null -w %{http_code} --max-time 10 --connect-to rollout-smoke-test.tbs.example.com:443:alb-1.eu-west-1.elb.amazonaws.com:443 -H X-Pilot-User: devops.lead https://rollout-smoke-test.tbs.example.com/healthz",
    ]);
    assert.ok(!curl[0]!.includes(" -k") && !curl[0]!.includes("--insecure"));
    const down = runHook(
      "post-deploy",
      { ...POST, COHORT_HEADER: "X-Pilot-User", COHORT_USER: "devops.lead" },
      { states: { [GREEN]: "healthy" }, httpCode: "503" },
    );
    assert.equal(down.status, 1);
    assert.match(down.stderr, /web \/healthz as cohort user -> 503 after 2 attempts: green is unhealthy/);
  });

  it("does not look at green while traffic is held on blue", () => {
    for (const mode of ["rollback", "latched"]) {
      const run = runHook("post-deploy", { ...POST, MODE: mode }, { states: { [GREEN]: "unhealthy" } });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(run.calls, []);
    }
  });
});

describe("pre-deploy hook script", () => {
  const PRE = { SNAPSHOT_ID: "before-limited-pilot-production-202611021600" };

  it("deploy: refuses while the snapshot is not available, or a colour has no healthy target", () => {
    const creating = runHook(
      "pre-deploy",
      { ...PRE, MODE: "deploy", TARGET_GROUPS: `web:blue:${BLUE} web:green:${GREEN}` },
      { snapshot: "creating", states: { [BLUE]: "healthy", [GREEN]: "healthy" } },
    );
    assert.equal(creating.status, 1);
    assert.match(
      creating.stderr,
      /snapshot before-limited-pilot-production-202611021600 is 'creating', expected 'available'/,
    );
    const missing = runHook(
      "pre-deploy",
      { ...PRE, MODE: "deploy", TARGET_GROUPS: `web:blue:${BLUE}` },
      { snapshot: "DBSnapshotNotFound", states: { [BLUE]: "healthy" } },
    );
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /An error occurred \(DBSnapshotNotFound\)\n\[pre-deploy\] snapshot \S+ is 'unreadable', expected 'available'/,
    );
    const deadGreen = runHook(
      "pre-deploy",
      { ...PRE, MODE: "deploy", TARGET_GROUPS: `web:blue:${BLUE} web:green:${GREEN}` },
      { states: { [BLUE]: "healthy", [GREEN]: "unhealthy" } },
    );
    assert.equal(deadGreen.status, 1);
    assert.match(deadGreen.stderr, /web\/green has no healthy target \(states: unhealthy\)/);
  });

  it("rollback and latched: a dead green and a pending snapshot do not block 100 % blue; an empty blue does", () => {
    for (const mode of ["rollback", "latched"]) {
      const run = runHook(
        "pre-deploy",
        { ...PRE, MODE: mode, TARGET_GROUPS: `web:blue:${BLUE}` },
        { snapshot: "creating", states: { [BLUE]: "healthy", [GREEN]: "unhealthy" } },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`is 'creating' \\(${mode}: not required to send traffic to blue\\)`),
      );
      assert.ok(!run.calls.some((c) => c.includes(GREEN)), "green is not asked about");
    }
    const emptyBlue = runHook(
      "pre-deploy",
      { ...PRE, MODE: "rollback", TARGET_GROUPS: `web:blue:${BLUE}` },
      {},
    );
    assert.equal(emptyBlue.status, 1);
    assert.match(
      emptyBlue.stderr,
      /web\/blue has no registered target: rollback would send all traffic to it/,
    );
  });
});

describe("pre-rollback hook script", () => {
  const API_BLUE = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-blue/1";
  const ENV = { BLUE_TARGET_GROUPS: `web:${BLUE} api:${API_BLUE}` };

  it("passes when every service's blue has a healthy target, asking the ELB API for each target's state and reason", () => {
    const run = runHook("pre-rollback", ENV, {
      states: { [BLUE]: "healthy healthy unhealthy", [API_BLUE]: "healthy draining" },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stderr,
      "[pre-rollback] web: blue has 2 healthy targets\n[pre-rollback] api: blue has 1 healthy targets\n",
    );
    assert.deepEqual(
      run.calls,
      [BLUE, API_BLUE].map(
        (arn) =>
          `aws elbv2 describe-target-health --target-group-arn ${arn} --query TargetHealthDescriptions[].[TargetHealth.State,TargetHealth.Reason] --output text`,
      ),
    );
  });

  it("refuses the rollback when a service's blue has no healthy target, registered or not", () => {
    for (const states of ["unhealthy draining", ""]) {
      const run = runHook("pre-rollback", ENV, { states: { [BLUE]: "healthy", [API_BLUE]: states } });
      assert.equal(run.status, 1, `api blue states '${states}'`);
      assert.equal(
        run.stderr,
        "[pre-rollback] web: blue has 1 healthy targets\n" +
          "[pre-rollback] api: blue has no healthy target; rolling back to it would drop traffic - scale blue up first\n",
      );
    }
  });
});

describe("post-rollback hook script", () => {
  const LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/router/1/2";
  const API_GREEN = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-green/1";
  const ENV = { LISTENER_ARN: LISTENER, GREEN_TARGET_GROUPS: `${GREEN} ${API_GREEN}` };
  const weighted = (greenWeight: number) => ({
    Type: "forward",
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: BLUE, Weight: 100 - greenWeight },
        { TargetGroupArn: GREEN, Weight: greenWeight },
      ],
    },
  });
  const fixedResponse = { Type: "fixed-response", FixedResponseConfig: { StatusCode: "404" } };

  it("passes when no listener rule forwards any weight to a green target group", () => {
    const run = runHook("post-rollback", ENV, {
      rules: { Rules: [{ Actions: [weighted(0)] }, { Actions: [fixedResponse] }] },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, "[post-rollback] every service is 100 % blue\n");
    assert.deepEqual(run.calls, [`aws elbv2 describe-rules --listener-arn ${LISTENER} --output json`]);
  });

  it("fails pulumi up when a weighted rule still sends green a share, or a plain forward targets green", () => {
    const weightedGreen = runHook("post-rollback", ENV, {
      rules: { Rules: [{ Actions: [weighted(7)] }, { Actions: [fixedResponse] }] },
    });
    assert.equal(weightedGreen.status, 1);
    assert.equal(
      weightedGreen.stderr,
      `[post-rollback] green target group ${GREEN} still receives weight 7\n`,
    );
    // A forward without ForwardConfig (a cohort rule) sends everything it matches: weight 1.
    const cohortToGreen = runHook("post-rollback", ENV, {
      rules: {
        Rules: [{ Actions: [weighted(0)] }, { Actions: [{ Type: "forward", TargetGroupArn: API_GREEN }] }],
      },
    });
    assert.equal(cohortToGreen.status, 1);
    assert.equal(
      cohortToGreen.stderr,
      `[post-rollback] green target group ${API_GREEN} still receives weight 1\n`,
    );
  });
});

/**
 * AWS's own words (ELB user guide, "Health check reason codes",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):
 * Target.NotInUse is "Target group is not configured to receive traffic from the load balancer"
 * or "Target is in an Availability Zone that is not enabled for the load balancer". Only the first
 * is a first deploy; the group's LoadBalancerArns tells them apart.
 */
describe("target groups no load balancer uses yet: a first deploy, not a failure", () => {
  const PRE = { SNAPSHOT_ID: "before-limited-pilot-production-202611021600" };
  const BOTH = { ...PRE, MODE: "deploy", TARGET_GROUPS: `web:blue:${BLUE} web:green:${GREEN}` };
  const NOT_IN_USE = "unused/Target.NotInUse unused/Target.NotInUse";
  const firstDeploy = (label: string) =>
    `[pre-deploy] ${label}: first deploy: no load balancer uses this target group yet, so AWS reports its 2 registered targets 'unused' (Target.NotInUse) and has no health for them until the listener rules forward to it\n`;

  it('pre-deploy passes when every target is "unused" with Target.NotInUse ("Target group is not configured to receive traffic from the load balancer") and no load balancer uses the group, and says so', () => {
    const run = runHook("pre-deploy", BOTH, { states: { [BLUE]: NOT_IN_USE, [GREEN]: NOT_IN_USE } });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stderr,
      "[pre-deploy] snapshot before-limited-pilot-production-202611021600 available\n" +
        firstDeploy("web/blue") +
        firstDeploy("web/green"),
    );
    // It asked whether a load balancer uses each group before calling it a first deploy.
    assert.deepEqual(
      run.calls.filter((c) => c.includes("describe-target-groups")),
      [BLUE, GREEN].map(
        (arn) =>
          `aws elbv2 describe-target-groups --target-group-arns ${arn} --query TargetGroups[0].LoadBalancerArns --output text`,
      ),
    );
  });

  it("pre-deploy passes when no target is registered at all (an empty TargetHealthDescriptions), and says so", () => {
    const run = runHook("pre-deploy", BOTH, {});
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stderr,
      "[pre-deploy] snapshot before-limited-pilot-production-202611021600 available\n" +
        "[pre-deploy] web/blue: first deploy: no targets registered yet\n" +
        "[pre-deploy] web/green: first deploy: no targets registered yet\n",
    );
  });

  it("pre-deploy fails a group the load balancer routes to that has no target at all: an outage, not a first deploy", () => {
    const run = runHook("pre-deploy", BOTH, { inUse: [BLUE] });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      "[pre-deploy] snapshot before-limited-pilot-production-202611021600 available\n" +
        "[pre-deploy] web/blue has no registered target although the load balancer routes to it: scale it up before moving traffic\n",
    );
  });

  it("a stack whose first up already holds traffic on blue (rollback, or a latch left by an earlier stack of that name) is not deadlocked either", () => {
    for (const mode of ["rollback", "latched"]) {
      const run = runHook(
        "pre-deploy",
        { ...PRE, MODE: mode, TARGET_GROUPS: `web:blue:${BLUE}` },
        { states: { [BLUE]: NOT_IN_USE } },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.ok(run.stderr.endsWith(firstDeploy("web/blue")), run.stderr);
    }
    const preRollback = runHook(
      "pre-rollback",
      { BLUE_TARGET_GROUPS: `web:${BLUE}` },
      { states: { [BLUE]: NOT_IN_USE } },
    );
    assert.equal(preRollback.status, 0, preRollback.stderr);
    assert.equal(preRollback.stderr, firstDeploy("web/blue").replace("[pre-deploy]", "[pre-rollback]"));
  });

  it('Target.NotInUse on a group a load balancer does use ("Target is in an Availability Zone that is not enabled for the load balancer") still fails', () => {
    const run = runHook("pre-deploy", BOTH, {
      states: { [BLUE]: "healthy", [GREEN]: NOT_IN_USE },
      inUse: [BLUE, GREEN],
    });
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /\[pre-deploy\] web\/green has no healthy target \(states: unused\/Target\.NotInUse unused\/Target\.NotInUse\): fix it before moving traffic\n$/,
    );
    // A group whose load balancers cannot be read is not assumed unused either.
    const undescribable = runHook("pre-deploy", BOTH, {
      states: { [BLUE]: "healthy", [GREEN]: NOT_IN_USE },
      undescribable: [GREEN],
    });
    assert.equal(undescribable.status, 1);
    assert.match(
      undescribable.stderr,
      /An error occurred \(AccessDenied\)\n\[pre-deploy\] web\/green has no healthy target \(states: unused\/Target\.NotInUse unused\/Target\.NotInUse\)/,
    );
    const preRollback = runHook(
      "pre-rollback",
      { BLUE_TARGET_GROUPS: `web:${BLUE}` },
      { states: { [BLUE]: NOT_IN_USE }, inUse: [BLUE] },
    );
    assert.equal(preRollback.status, 1);
    assert.equal(
      preRollback.stderr,
      "[pre-rollback] web: blue has no healthy target; rolling back to it would drop traffic - scale blue up first\n",
    );
  });

  it("every other state still fails as before: unhealthy, timed out, draining only, or not-in-use mixed with another reason", () => {
    for (const green of [
      "unhealthy",
      "unhealthy/Target.Timeout initial/Elb.InitialHealthChecking",
      "draining/Target.DeregistrationInProgress",
      "unused/Target.NotInUse unused/Target.InvalidState",
    ]) {
      const run = runHook("pre-deploy", BOTH, { states: { [BLUE]: "healthy", [GREEN]: green } });
      assert.equal(run.status, 1, green);
      assert.ok(
        run.stderr.endsWith(
          `[pre-deploy] web/green has no healthy target (states: ${green}): fix it before moving traffic\n`,
        ),
        run.stderr,
      );
      assert.ok(
        !run.calls.some((c) => c.includes("describe-target-groups")),
        "only an all-Target.NotInUse group is asked about",
      );
    }
  });

  it("post-deploy: green unused with Target.NotInUse after the rules exist fails, because the weighted rule forwards to green even at weight 0", () => {
    const run = runHook("post-deploy", POST, { states: { [GREEN]: "unused/Target.NotInUse healthy" } });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      "[post-deploy] web/green: 1 of 2 registered targets healthy after 2 checks (states: unused/Target.NotInUse healthy): green is unhealthy" +
        " (Target.NotInUse although the weighted rule forwards to this group: a target's Availability Zone is not enabled for the ALB)\n",
    );
    assert.ok(
      !run.calls.some((c) => c.includes("describe-target-groups")),
      "post-deploy never treats green as not in use",
    );
  });
});

describe("the hooks ask AWS in the stack's region", () => {
  it("each planned hook, run with its planned environment, hands the stack's aws:region (not the engine's) to every AWS CLI call", async () => {
    const file = inRegion(loadStackFile("production"), "ap-southeast-2");
    const deploy = await planStack(file, { latchParameters: [] }, { now: NOW });
    const rollback = await planStack(
      variant({ rollback: "true" }, file),
      { latchParameters: [] },
      { now: NOW },
    );
    // Read from aws:region, not from the mock engine (which answers eu-west-1).
    assert.deepEqual(
      hookRegions(rollback),
      ["post-deploy", "post-rollback", "pre-deploy", "pre-rollback"].map((n) => [
        `hooks-${n}`,
        "ap-southeast-2",
        "ap-southeast-2",
      ]),
    );
    for (const [plan, script] of [
      [deploy, "pre-deploy"],
      [deploy, "post-deploy"],
      [rollback, "pre-rollback"],
      [rollback, "post-rollback"],
    ] as const) {
      const healthy = Object.fromEntries(
        ["web", "api"].flatMap((s) => ["blue", "green"].map((c) => [tgArn(plan, s, c), "healthy"])),
      );
      const run = runHook(script, (hook(plan, script).inputs as Inputs).environment, { states: healthy });
      assert.equal(run.status, 0, `${script}: ${run.stderr}`);
      assert.ok(run.regions.length > 0, `${script} calls the AWS CLI`);
      for (const seen of run.regions)
        assert.equal(seen, "AWS_REGION=ap-southeast-2 AWS_DEFAULT_REGION=ap-southeast-2", script);
    }
  });

  it("without AWS_REGION and AWS_DEFAULT_REGION every hook fails before asking AWS anything; either one alone is enough", () => {
    const unset = { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
    for (const script of ["pre-deploy", "post-deploy", "pre-rollback", "post-rollback"] as const) {
      const run = runHook(script, { ...POST, ...unset }, {});
      assert.equal(run.status, 1, script);
      assert.equal(
        run.stderr,
        `[${script}] neither AWS_REGION nor AWS_DEFAULT_REGION is set: refusing to ask AWS in whatever region this shell defaults to (pulumi up sets both to the stack's aws:region)\n`,
      );
      assert.deepEqual(run.calls, [], script);
    }
    for (const only of [{ AWS_REGION: "eu-west-1" }, { AWS_DEFAULT_REGION: "eu-west-1" }]) {
      const run = runHook(
        "pre-rollback",
        { ...unset, ...only, BLUE_TARGET_GROUPS: `web:${BLUE}` },
        { states: { [BLUE]: "healthy" } },
      );
      assert.equal(run.status, 0, run.stderr);
    }
  });
});
