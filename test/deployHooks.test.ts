import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { loadStackFile, type StackFile } from "../rollout/stackFile";
import { planStack, type PlanResult } from "../scripts/plan";

type Inputs = Record<string, any>;
const NOW = new Date("2026-11-20T09:30:00Z");
const LATCH = {
  reason: "production-auto-rollback ALARM: ...",
  alarm: "production-errorRate-critical-web",
  at: "2026-11-20T09:00:00.000Z",
};

function variant(changes: Record<string, string>): StackFile {
  const file = loadStackFile("production");
  const config = { ...file.config };
  for (const [k, v] of Object.entries(changes)) config[`rollout:${k}`] = v;
  return { ...file, config };
}
const hook = (r: PlanResult, name: string) => {
  const found = r.resources.filter((x) => x.name === `hooks-${name}`);
  assert.equal(found.length, 1, name);
  return found[0]!;
};
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
    assert.deepEqual(Object.keys(pre.environment).sort(), ["MODE", "SNAPSHOT_ID", "TARGET_GROUPS"]);
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
        ["web", 0, 7],
        ["api", 0, 7],
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
      BLUE_TARGET_GROUPS: `web:${tgArn(rollback, "web", "blue")} api:${tgArn(rollback, "api", "blue")}`,
    });
    assert.deepEqual(Object.keys(rollbackEnv("post-rollback")).sort(), [
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
});

/** Runs a hook script with fake `aws` and `curl` first on PATH; returns exit code, stderr and the calls made. */
function runHook(
  script: "pre-deploy" | "post-deploy" | "pre-rollback" | "post-rollback",
  env: Record<string, string>,
  fake: {
    states?: Record<string, string>;
    snapshot?: string;
    domain?: string;
    httpCode?: string;
    /** What `aws elbv2 describe-rules` returns (the API's JSON). */
    rules?: unknown;
  },
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hook-"));
  const calls = path.join(dir, "calls");
  for (const [arn, states] of Object.entries(fake.states ?? {}))
    fs.writeFileSync(path.join(dir, `tg-${arn.replace(/[^A-Za-z0-9]/g, "_")}`), states);
  fs.writeFileSync(path.join(dir, "rules.json"), JSON.stringify(fake.rules ?? { Rules: [] }));
  fs.writeFileSync(
    path.join(dir, "aws"),
    `#!/usr/bin/env bash
echo "aws $*" >> "${calls}"
case "$1 $2" in
  "elbv2 describe-target-health")
    arn=""; query=""
    while [ $# -gt 0 ]; do case "$1" in --target-group-arn) arn=$2; shift;; --query) query=$2; shift;; esac; shift; done
    states=$(cat "${dir}/tg-$(tr -c 'A-Za-z0-9\\n' _ <<<"$arn")" 2>/dev/null || true)
    # The JMESPath filter the post-deploy hook asks for.
    if [[ "$query" == *"!='draining'"* ]]; then states=$(tr ' ' '\\n' <<<"$states" | grep -v '^draining$' | tr '\\n' ' ' | sed 's/ *$//'); fi
    # The count the pre-rollback hook asks for.
    if [[ "$query" == "length(TargetHealthDescriptions[?TargetHealth.State=='healthy'])" ]]; then states=$(grep -ow healthy <<<"$states" | wc -l); fi
    echo "$states";;
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
    cwd: path.join(__dirname, ".."),
    env: { PATH: `${dir}:${process.env.PATH}`, ATTEMPTS: "2", ...env },
    encoding: "utf8",
  });
  const made = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: result.status, stderr: result.stderr, calls: made };
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

  it("passes when every service's blue has a healthy target, asking the ELB API for the healthy count", () => {
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
          `aws elbv2 describe-target-health --target-group-arn ${arn} --query length(TargetHealthDescriptions[?TargetHealth.State=='healthy']) --output text`,
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
