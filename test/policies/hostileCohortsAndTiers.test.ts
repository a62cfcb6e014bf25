import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { hasMandatoryViolation, planStack, type PlanResult, type PlanViolation } from "../../cli/offlinePlan";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import {
  loadPolicyConfig,
  policyConfigFile,
  POLICY_CONFIG_DIR,
  runPoliciesOffline,
} from "../../policies/offline";
import { TIER_RELAXED_POLICIES } from "../../policies/rules/rollout";
import { loadStackFile } from "../../rollout/loaders";
import { clientSentHeaderProblem } from "../../rollout/serviceConfig";
import type { StackFile } from "../../rollout/stackFile";
import { cohortRoutesFor, cookieValues, parseCookieValue } from "../../rollout/traffic";
import { RolloutInputError } from "../../rollout/validation";

/*
 * Issue 12, "Guardrails that cannot be walked around": production configs that used to reach
 * green or switch production's protections off by the letter of the config, each now blocked
 * by the offline twin of `pulumi preview --policy-pack policies` (cli/offlinePlan.ts): as
 * config (RolloutInputError, `npm run plan` exit 2, before any resource is registered) naming
 * the key, or as a named mandatory policy violation (exit 1).
 */

/** The committed production stack, as stack `stack`, with some `rollout:` keys replaced (undefined removes one). */
function production(changes: Record<string, unknown> = {}, stack = "production"): StackFile {
  const base = loadStackFile("production");
  const config = { ...base.config };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[`rollout:${key}`];
    else config[`rollout:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ...base, stack, config };
}

/** A committed production `rollout:` value, decoded. */
function committed<T>(key: string): T {
  return JSON.parse(loadStackFile("production").config[`rollout:${key}`]!) as T;
}

const cohorts = committed<{ header: string; cookie: string; users: string[] }>("cohorts");
const database = committed<Record<string, unknown>>("database");
const network = committed<Record<string, unknown>>("network");

/**
 * The mandatory violations of `result` that `baseline` (the same stack without the hostile
 * change) does not have: what the change itself brought. Other policies that flag the committed
 * stack for reasons of their own then neither hide nor pad a case.
 */
function added(
  result: { violations: PlanViolation[] },
  baseline: { violations: PlanViolation[] },
): PlanViolation[] {
  const key = (v: PlanViolation) => `${v.policy}\u0000${v.resource}\u0000${v.message}`;
  const before = new Set(baseline.violations.map(key));
  return result.violations.filter((v) => v.enforcementLevel === "mandatory" && !before.has(key(v)));
}

/** The offline plan of the production config under stack name `stack`, unchanged: the baseline of each case. */
const baselines = new Map<string, Promise<PlanResult>>();
function baseline(stack: string): Promise<PlanResult> {
  let plan = baselines.get(stack);
  if (!plan) {
    plan = planStack(production({}, stack), {}, { revealSecrets: true });
    baselines.set(stack, plan);
  }
  return plan;
}

function describeViolations(violations: PlanViolation[]): string {
  return violations
    .map((v) => `[${v.enforcementLevel}] ${v.policy} (${v.resource}): ${v.message}`)
    .join("\n");
}

const DEDICATED =
  "expected a dedicated header such as X-Pilot-User that only the pilot users' own tooling sends";
const headerRefused = (header: string, why: string) =>
  `rollout:cohorts.header: ${DEDICATED} (${header} ${why}, so requests from anyone would reach green), got "${header}"`;
const USER_ID =
  "expected a user id of 1-64 letters, digits and ._@+- (no * or ?, which ALB reads as wildcards, and no ;, = or whitespace, which would break cookie matching)";
const BROWSER_SETS = "is a forbidden request-header of the Fetch standard: browsers set it themselves";
const CLIENT_SENDS = "is a standard request header that clients send by themselves";

interface ConfigCase {
  name: string;
  stack: StackFile;
  /** Every issue of the refusal, in order. */
  issues: string[];
}

const configCases: ConfigCase[] = [
  {
    name: "Sec-Fetch-Site with the four values every browser sends",
    stack: production({
      cohorts: { header: "Sec-Fetch-Site", users: ["none", "same-origin", "same-site", "cross-site"] },
    }),
    issues: [
      headerRefused(
        "Sec-Fetch-Site",
        "starts with Sec-, which the Fetch standard reserves for headers browsers set themselves",
      ),
    ],
  },
  {
    name: "Upgrade-Insecure-Requests: 1, sent on every browser navigation",
    stack: production({ cohorts: { header: "Upgrade-Insecure-Requests", users: ["1"] } }),
    issues: [headerRefused("Upgrade-Insecure-Requests", CLIENT_SENDS)],
  },
  {
    name: "X-Forwarded-For with client addresses (the ALB writes it)",
    stack: production({
      cohorts: { header: "X-Forwarded-For", users: ["203.0.113.7", "198.51.100.4"] },
    }),
    issues: [
      headerRefused(
        "X-Forwarded-For",
        "is one of the X-Forwarded-* headers that proxies, CloudFront or the ALB add",
      ),
    ],
  },
  {
    name: "another Sec- header (Sec-GPC: 1)",
    stack: production({ cohorts: { ...cohorts, header: "Sec-GPC", users: ["1"] } }),
    issues: [
      headerRefused(
        "Sec-GPC",
        "starts with Sec-, which the Fetch standard reserves for headers browsers set themselves",
      ),
    ],
  },
  {
    name: "Host",
    stack: production({ cohorts: { header: "Host", users: ["tbs.example.com"] } }),
    issues: [
      'rollout:cohorts.header: expected a header other than Host (an ALB http-header condition cannot match the host header; route by host with a host-header condition), got "Host"',
    ],
  },
  {
    name: "the Cookie header itself as the cohort header",
    stack: production({ cohorts: { header: "Cookie", users: ["trader.anna"] } }),
    issues: [headerRefused("Cookie", BROWSER_SETS)],
  },
  {
    name: "DNT: 1 (a forbidden request-header browsers set)",
    stack: production({ cohorts: { header: "DNT", users: ["1"] } }),
    issues: [headerRefused("DNT", BROWSER_SETS)],
  },
  {
    name: "Accept-Language with common locales",
    stack: production({ cohorts: { header: "Accept-Language", users: ["en-US", "de-DE"] } }),
    issues: [
      headerRefused(
        "Accept-Language",
        "is one of the standard Accept-* request headers that clients send by themselves",
      ),
    ],
  },
  {
    name: "User-Agent",
    stack: production({ cohorts: { header: "User-Agent", users: ["curl"] } }),
    issues: [headerRefused("User-Agent", CLIENT_SENDS)],
  },
  {
    name: "X-Amzn-Trace-Id (the ALB adds it)",
    stack: production({ cohorts: { header: "X-Amzn-Trace-Id", users: ["Root=1"] } }),
    issues: [
      headerRefused(
        "X-Amzn-Trace-Id",
        "is one of the X-Amzn-* headers that proxies, CloudFront or the ALB add",
      ),
      `rollout:cohorts.users[0]: ${USER_ID}, got "Root=1"`,
    ],
  },
  {
    name: "a user listed twice (fools the cohort size check)",
    stack: production({ cohorts: { ...cohorts, users: [...cohorts.users, "trader.anna"] } }),
    issues: [
      `rollout:cohorts.users[8]: expected each user once, compared case-insensitively as the ALB compares them: index 3 lists "trader.anna" already, got "trader.anna"`,
    ],
  },
  {
    name: "a user listed again in other case (the ALB compares values case-insensitively)",
    stack: production({ cohorts: { ...cohorts, users: [...cohorts.users, "Trader.Anna", "QA.LEAD"] } }),
    issues: [
      `rollout:cohorts.users[8]: expected each user once, compared case-insensitively as the ALB compares them: index 3 lists "trader.anna" already, got "Trader.Anna"`,
      `rollout:cohorts.users[9]: expected each user once, compared case-insensitively as the ALB compares them: index 1 lists "qa.lead" already, got "QA.LEAD"`,
    ],
  },
  {
    name: "a user id that is the wildcard *",
    stack: production({ cohorts: { ...cohorts, users: [...cohorts.users.slice(0, 5), "*"] } }),
    issues: [`rollout:cohorts.users[5]: ${USER_ID}, got "*"`],
  },
  {
    name: "user ids with ? and a trailing *",
    stack: production({
      cohorts: { ...cohorts, users: ["trader.?nna", "trader.*", ...cohorts.users.slice(2)] },
    }),
    issues: [
      `rollout:cohorts.users[0]: ${USER_ID}, got "trader.?nna"`,
      `rollout:cohorts.users[1]: ${USER_ID}, got "trader.*"`,
    ],
  },
  {
    name: "a user id smuggling a second cookie pair (`;` and `=`)",
    stack: production({
      cohorts: { ...cohorts, users: [...cohorts.users.slice(0, 5), "x;pilot_user=trader.anna"] },
    }),
    issues: [`rollout:cohorts.users[5]: ${USER_ID}, got "x;pilot_user=trader.anna"`],
  },
];

describe("hostile cohort configs: refused as config, before any resource", () => {
  it("has at least 14 config cases", () => assert.ok(configCases.length >= 14, String(configCases.length)));

  for (const c of configCases) {
    it(`refuses ${c.name}`, async () => {
      // planStack validates the config before setting up the mock engine: a refusal registers nothing.
      const error = await planStack(c.stack).then(
        (result) => assert.fail(`planned instead of refusing:\n${describeViolations(result.violations)}`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RolloutInputError, String(error));
      assert.deepEqual(error.issues, c.issues);
      assert.match(error.message, /^invalid stack config for stack "production":/);
    });
  }

  it("`npm run plan` exits 2 on one, printing the key, the value and what is expected", async () => {
    const file = stackFileCopy("Pulumi.production.yaml", {
      "rollout:cohorts": {
        header: "Sec-Fetch-Site",
        users: ["none", "same-origin", "same-site", "cross-site"],
      },
    });
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file], out), 2);
    assert.match(
      out.errors.join("\n"),
      /rollout:cohorts\.header: expected a dedicated header such as X-Pilot-User .*got "Sec-Fetch-Site"/,
    );
    assert.doesNotMatch(out.text(), /^resources \(/m);
  });
});

/** The committed production YAML with `changes` to its config, written to a fresh directory as `fileName`. */
function stackFileCopy(fileName: string, changes: Record<string, unknown>): string {
  const doc = yaml.load(fs.readFileSync(loadStackFile("production").file, "utf8")) as {
    config: Record<string, unknown>;
  };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete doc.config[key];
    else doc.config[key] = value;
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hostile-")), fileName);
  fs.writeFileSync(file, yaml.dump(doc));
  return file;
}

/*
 * A production stack that calls itself staging. The pack decides the tier: a stack whose own
 * pack config (policies/config/<stack>.json) does not list it in stagingTierStacks is checked as
 * production, and the claim itself is a mandatory violation naming the file and the setting.
 */

const unbacked = (stack: string) =>
  `the rollout state records tier staging, but stack ${stack}'s policy pack config does not allow it: ` +
  `policies/config/${stack}.json does not list "${stack}" in rollout-state-recorded.stagingTierStacks, ` +
  "so the pack enforces production (GO decisions, RDS deletion protection, RDS Multi-AZ, the backup plan and alarm actions); " +
  "run `pulumi config set rollout:tier production` (without rollout:tier every stack is production), or, for a rehearsal stack, " +
  `list "${stack}" in stagingTierStacks of ${TIER_RELAXED_POLICIES.join(", ")} in policies/config/${stack}.json and pass that file with --policy-pack-config`;
const requiredProduction =
  "the rollout state records tier staging, but this stack's policy pack config requires tier production (rollout-state-recorded.requiredTier), " +
  "and the pack checks GO decisions, RDS deletion protection, RDS Multi-AZ, the backup plan and alarm actions as in production; " +
  "run `pulumi config set rollout:tier production` (without rollout:tier every stack is production)";

interface TierCase {
  name: string;
  /** The stack the case plans (its baseline is the unchanged production config under that name). */
  stack: string;
  plan: () => Promise<PlanResult>;
  /** Every mandatory violation, as [policy, message pattern], in the pack's order. */
  expected: [string, RegExp | string][];
}

const STATE = "rollout-state-recorded";
const relabelled = (stack: string, changes: Record<string, unknown> = {}) =>
  // Secrets revealed, as the engine hands them to policies (for a second run over the resources).
  planStack(production({ tier: "staging", ...changes }, stack), {}, { revealSecrets: true });

const tierCases: TierCase[] = [
  {
    name: "stack prod relabelled staging",
    stack: "prod",
    plan: () => relabelled("prod"),
    expected: [[STATE, unbacked("prod")]],
  },
  {
    name: "stack production-eu relabelled staging",
    stack: "production-eu",
    plan: () => relabelled("production-eu"),
    expected: [[STATE, unbacked("production-eu")]],
  },
  {
    name: "the committed production stack relabelled staging (its pack config requires production)",
    stack: "production",
    plan: () => relabelled("production"),
    expected: [[STATE, requiredProduction]],
  },
  {
    name: "prod relabelled staging, with the staging pack config passed to it by mistake",
    stack: "prod",
    plan: async () => {
      const result = await relabelled("prod");
      const policyConfig = loadPolicyConfig("staging")!;
      return {
        ...result,
        violations: await runPoliciesOffline(result.resources, { stack: "prod", policyConfig }),
      };
    },
    expected: [[STATE, unbacked("prod")]],
  },
  {
    name: "prod relabelled staging to drop deletion protection",
    stack: "prod",
    plan: () => relabelled("prod", { database: { ...database, deletionProtection: false } }),
    expected: [
      [STATE, unbacked("prod")],
      ["data-rds-deletion-protection", /^RDS instance data-mysql has no deletion protection in production; /],
    ],
  },
  {
    name: "production-eu relabelled staging to drop Multi-AZ",
    stack: "production-eu",
    plan: () => relabelled("production-eu", { database: { ...database, multiAz: false } }),
    expected: [
      [STATE, unbacked("production-eu")],
      ["data-rds-multi-az", /^RDS instance data-mysql runs in a single Availability Zone .* in production; /],
    ],
  },
  {
    name: "prod relabelled staging to mute alarms",
    stack: "prod",
    plan: () => relabelled("prod", { alarmActionsEnabled: "false" }),
    expected: [
      [STATE, unbacked("prod")],
      ["gates-alarm-actions-enabled", /^rollout:alarmActionsEnabled is false in production, so \d+ alarms /],
    ],
  },
  {
    name: "prod relabelled staging to skip every GO decision",
    stack: "prod",
    plan: () => relabelled("prod", { decisions: [] }),
    expected: [
      [STATE, unbacked("prod")],
      [
        "rollout-go-decisions-recorded",
        /needs a GO decision for preparation -> internal, .*--stack prod --record/,
      ],
      [
        "rollout-go-decisions-recorded",
        /needs a GO decision for internal -> limited-pilot, .*--stack prod --record/,
      ],
    ],
  },
  {
    name: "prod relabelled staging to drop ALB access logs (no bucket needed outside production)",
    stack: "prod",
    plan: () => relabelled("prod", { network: { ...network, accessLogsBucket: undefined } }),
    expected: [[STATE, unbacked("prod")]],
  },
  {
    name: "prod relabelled staging with every relaxation at once",
    stack: "prod",
    plan: () =>
      relabelled("prod", {
        database: { ...database, deletionProtection: false, multiAz: false },
        alarmActionsEnabled: "false",
        decisions: [],
      }),
    expected: [
      [STATE, unbacked("prod")],
      ["rollout-go-decisions-recorded", /preparation -> internal/],
      ["rollout-go-decisions-recorded", /internal -> limited-pilot/],
      ["gates-alarm-actions-enabled", /is false in production/],
      ["data-rds-deletion-protection", /no deletion protection in production/],
      ["data-rds-multi-az", /single Availability Zone/],
    ],
  },
];

describe("a production stack relabelled staging: checked as production, the claim a mandatory violation", () => {
  it("the same production config under the names prod and production-eu passes every rollout, gate and data policy", async () => {
    for (const stack of ["prod", "production-eu"]) {
      const { violations } = await baseline(stack);
      const ours = violations.filter((v) => /^(rollout|gates|data)-/.test(v.policy));
      assert.deepEqual(ours, [], describeViolations(violations));
    }
  });

  for (const c of tierCases) {
    it(`refuses ${c.name}`, async () => {
      const result = await c.plan();
      assert.ok(hasMandatoryViolation(result), describeViolations(result.violations));
      const mandatory = added(result, await baseline(c.stack));
      assert.deepEqual(
        mandatory.map((v) => v.policy),
        c.expected.map(([policy]) => policy),
        describeViolations(result.violations),
      );
      c.expected.forEach(([, pattern], i) => {
        const message = mandatory[i]!.message;
        if (typeof pattern === "string") assert.equal(message, pattern);
        else assert.match(message, pattern);
      });
    });
  }

  it("`npm run plan --config-file Pulumi.prod.yaml` exits 1, naming the pack config file and the setting", async () => {
    const file = stackFileCopy("Pulumi.prod.yaml", { "rollout:tier": "staging" });
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file], out), 1);
    assert.ok(
      out
        .text()
        .includes(
          `[mandatory] rollout-state-recorded (aws:ssm/parameter:Parameter::rollout-state): ${unbacked("prod")}`,
        ),
      out.text(),
    );
  });

  it("finds a stack's pack config by the stack's own name, and none for a name that could be a path", () => {
    assert.equal(policyConfigFile("staging"), path.join(POLICY_CONFIG_DIR, "staging.json"));
    assert.equal(
      policyConfigFile("acme/staged-rollout/staging"),
      path.join(POLICY_CONFIG_DIR, "staging.json"),
    );
    assert.equal(policyConfigFile(".."), undefined);
    assert.equal(policyConfigFile("acme/.."), undefined);
    assert.equal(policyConfigFile("staging\\..\\x"), undefined);
    assert.equal(loadPolicyConfig("prod"), undefined);
    assert.equal(loadPolicyConfig("production-eu"), undefined);
  });

  it("the staging pack config relaxes exactly the tier-dependent policies, for the stack named staging only", () => {
    const staging = loadPolicyConfig("staging")!;
    const relaxing = Object.entries(staging)
      .filter(([, entry]) => typeof entry === "object" && entry !== null && "stagingTierStacks" in entry)
      .map(([policy, entry]) => [policy, (entry as { stagingTierStacks: unknown }).stagingTierStacks]);
    assert.deepEqual(
      relaxing,
      TIER_RELAXED_POLICIES.map((policy) => [policy, ["staging"]]),
    );
    assert.ok(
      Object.values(loadPolicyConfig("production")!).every(
        (entry) => typeof entry !== "object" || entry === null || !("stagingTierStacks" in entry),
      ),
    );
  });
});

/*
 * Cohort rules as the router builds them, and as a hand edit (or a router regression) could
 * leave them: the pack's rollout-cohort-rules-exact checks every listener rule that forwards to
 * green by a header, since the cap policy leaves those rules to it.
 */

let committedPlan: Promise<PlanResult> | undefined;
function productionPlan(): Promise<PlanResult> {
  committedPlan ??= planStack(loadStackFile("production"), {}, { revealSecrets: true });
  return committedPlan;
}

/** The committed production plan with one resource's inputs changed, checked by the pack. */
async function edited(name: string, change: (inputs: Record<string, any>) => void): Promise<PlanViolation[]> {
  const plan = await productionPlan();
  const resources = structuredClone(plan.resources);
  const resource = resources.find((r) => r.name === name);
  assert.ok(resource, `the production plan has no resource ${name}`);
  change(resource.inputs);
  return runPoliciesOffline(resources, { stack: "production" });
}

const EXACT = "rollout-cohort-rules-exact";
const FIX =
  "cohort rules are built only from rollout:cohorts (a dedicated header, an optional cookie, the users); restore the router's rule or fix rollout:cohorts";

const ruleCases: [
  name: string,
  rule: string,
  change: (i: Record<string, any>) => void,
  messages: string[],
][] = [
  [
    "a cohort rule rewritten to Sec-Fetch-Site with the values browsers send",
    "router-web-cohort-0",
    (i) =>
      (i.conditions[1].httpHeader = {
        httpHeaderName: "Sec-Fetch-Site",
        values: ["none", "same-origin", "same-site"],
      }),
    [
      "listener rule router-web-cohort-0 forwards to green by header Sec-Fetch-Site, but Sec-Fetch-Site starts with Sec-, which the Fetch standard reserves for headers browsers set themselves, " +
        "so requests from anyone reach green; set rollout:cohorts.header to a dedicated header such as X-Pilot-User",
    ],
  ],
  [
    "a cookie rule back to substring matching (*pilot_user=<id>* also matches xpilot_user=<id>)",
    "router-web-cohort-3",
    (i) => (i.conditions[1].httpHeader.values = ["*pilot_user=devops.lead*"]),
    [
      'listener rule router-web-cohort-3 forwards to green on Cookie value "*pilot_user=devops.lead*", which is not one of the exact forms ' +
        "<cookie>=<user>, <cookie>=<user>;*, *; <cookie>=<user>, *; <cookie>=<user>;* " +
        `(ALB compares the whole Cookie header, so a looser pattern also matches other cookies that contain the text); ${FIX}`,
    ],
  ],
  [
    "a wildcard-only header value",
    "router-api-cohort-1",
    (i) => (i.conditions[1].httpHeader.values = ["*"]),
    [
      `listener rule router-api-cohort-1 forwards to green on X-Pilot-User value "*", which is not a pilot user id (ALB reads * and ? as wildcards), so it matches more than one user; ${FIX}`,
    ],
  ],
  [
    "an extra user added to a header rule",
    "router-api-cohort-2",
    (i) => i.conditions[1].httpHeader.values.push("mallory"),
    [
      "cohort rules forward 9 distinct users to green (devops.lead, mallory, product.manager, qa.lead, trader.anna, trader.ben, trader.chen, trader.dara, trader.emil), " +
        `but the cohort has 8 (rollout:cohorts.users); ${FIX}`,
    ],
  ],
  [
    "a cookie user no header rule carries",
    "router-api-cohort-3",
    (i) => (i.conditions[1].httpHeader.values = ["pilot_user=mallory"]),
    [
      `listener rule router-api-cohort-3 forwards cookie user mallory to green, but no cohort header rule carries that user: the cookie names the same users as the header; ${FIX}`,
    ],
  ],
  [
    "a cohort rule with its header condition removed",
    "router-web-cohort-1",
    (i) => i.conditions.splice(1, 1),
    [
      `listener rule router-web-cohort-1 forwards to green as a cohort rule but has no http-header condition, so every request to its path reaches green; ${FIX}`,
    ],
  ],
  [
    "a regular expression instead of values",
    "router-web-cohort-2",
    (i) => (i.conditions[1].httpHeader = { httpHeaderName: "X-Pilot-User", regexValues: [".*"] }),
    [
      `listener rule router-web-cohort-2 forwards to green by a regular expression on X-Pilot-User, which can match anyone; ${FIX}`,
    ],
  ],
];

describe("rollout-cohort-rules-exact over the committed production plan", () => {
  it("the committed stacks pass every rollout, gate and data policy (the corpus asserts no violation at all)", async () => {
    for (const stack of ["staging", "production"]) {
      const { violations } = await planStack(loadStackFile(stack));
      const ours = violations.filter((v) => /^(rollout|gates|data)-/.test(v.policy));
      assert.deepEqual(ours, [], describeViolations(violations));
    }
  });

  for (const [name, rule, change, messages] of ruleCases) {
    it(`refuses ${name}`, async () => {
      const violations = await edited(rule, change);
      const mandatory = added({ violations }, { violations: await edited(rule, () => {}) });
      assert.deepEqual(
        mandatory.map((v) => [v.policy, v.message]),
        messages.map((m) => [EXACT, m]),
        describeViolations(violations),
      );
    });
  }

  it("a header rule sending everyone to green is not waved through as general traffic either", async () => {
    // The cap policy skips rules with a header condition; this one forwards all of a path to green.
    const violations = await edited("router-web-cohort-0", (i) => {
      i.conditions[1].httpHeader = { httpHeaderName: "Upgrade-Insecure-Requests", values: ["1"] };
    });
    const unchanged = await edited("router-web-cohort-0", () => {});
    assert.deepEqual(
      added({ violations }, { violations: unchanged }).map((v) => v.policy),
      [EXACT],
    );
  });
});

describe("exact cohort matching, as the router builds it", () => {
  it("matches the pilot's cookie pair exactly, wherever it stands in the Cookie header, and nothing that merely contains it", () => {
    // ALB's value matching: case-insensitive, * any run of characters, ? one character.
    const matches = (pattern: string, header: string) =>
      new RegExp(
        `^${[...pattern].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&"))).join("")}$`,
        "i",
      ).test(header);
    const values = cookieValues("pilot_user", "trader.anna");
    const routed = (header: string) => values.some((v) => matches(v, header));
    for (const header of [
      "pilot_user=trader.anna",
      "pilot_user=trader.anna; theme=dark",
      "theme=dark; pilot_user=trader.anna",
      "a=1; pilot_user=trader.anna; b=2",
    ])
      assert.ok(routed(header), header);
    for (const header of [
      "xpilot_user=trader.anna",
      "note=pilot_user=trader.anna",
      "a=1; note=pilot_user=trader.anna; b=2",
      "pilot_user=trader.annabel",
      "a=1; pilot_user=trader.annabel",
      "pilot_user=trader.anna.b; c=1",
      "pilot_user=xtrader.anna",
    ])
      assert.ok(!routed(header), header);
  });

  it("fits ALB's limits: 3 values per condition, 5 wildcards per rule with the path pattern's, and every value parses back", () => {
    for (const pathPattern of ["/*", "/api/*", "/api/health", "/a*/b*/c*"]) {
      const routes = cohortRoutesFor(
        { ...cohorts, users: [...cohorts.users, "ann", "annabel"] },
        pathPattern,
      );
      const wildcards = (s: string) => (s.match(/[*?]/g) ?? []).length;
      for (const route of routes) {
        assert.ok(route.values.length <= 3);
        assert.ok(wildcards(pathPattern) + route.values.reduce((n, v) => n + wildcards(v), 0) <= 5);
      }
      const cookieUsers = routes
        .filter((r) => r.match === "cookie")
        .flatMap((r) => r.values.map((v) => parseCookieValue(v)!.user));
      // Every user's four forms, ids that prefix each other included (matching is exact now).
      assert.deepEqual([...new Set(cookieUsers)], [...cohorts.users, "ann", "annabel"], pathPattern);
      assert.equal(cookieUsers.length, 4 * (cohorts.users.length + 2));
    }
  });

  it("lists the headers it refuses from the standards, and leaves dedicated ones alone", () => {
    for (const header of [
      "Sec-Fetch-Site",
      "sec-fetch-mode",
      "Proxy-Authorization",
      "Upgrade-Insecure-Requests",
      "Cookie",
      "Origin",
      "Referer",
      "Authorization",
      "Cache-Control",
      "Content-Type",
      "If-None-Match",
      "Pragma",
      "Range",
      "TE",
      "Via",
      "DNT",
      "Priority",
      "X-Forwarded-Proto",
      "X-Amzn-Oidc-Identity",
      "X-HTTP-Method-Override",
    ])
      assert.ok(clientSentHeaderProblem(header), header);
    for (const header of ["X-Pilot-User", "X-Canary-User", "X-Tbs-Pilot"])
      assert.equal(clientSentHeaderProblem(header), undefined, header);
  });
});
