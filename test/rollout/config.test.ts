import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRolloutConfig, SECRET_PATHS, type IsConfigSecret } from "../../rollout/config";
import { decide } from "../../rollout/decisions";
import { loadStackFile } from "../../rollout/loaders";
import { parseStackFile, rolloutKeys } from "../../rollout/stackFile";
import { ALB_HEADER_VALUE_MAX } from "../../rollout/awsLimits";
import { cohortRoutesFor } from "../../rollout/traffic";
import { describeReceived, RolloutInputError } from "../../rollout/validation";

/** Expectations stated once, as the schema words them (tests below assert whole lines). */
const SERVICE_NAME =
  "expected a DNS label of at most 21 characters such as web: lowercase letters, digits and -, starting with a letter and not ending with - (it prefixes AWS target group and Kubernetes names)";
const PATH_PATTERN =
  "expected a path pattern such as /api/*: a / then letters, digits and _-./*?, at most 128 characters (ALB path-pattern condition)";
const HEALTH_CHECK_PATH =
  "expected a path such as /healthz: a / then letters, digits and _-./, at most 1024 characters (target group health check path)";
const CERTIFICATE_ARN =
  "expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const COHORT_HEADER = "expected an HTTP header name of at most 40 letters, digits and - such as X-Pilot-User";
const MASTER_PASSWORD =
  'expected a secret of 8-41 printable ASCII characters other than /, ", @ and space (RDS for MySQL master password)';
const TBS_PHASES = "preparation, internal, limited-pilot, broader-pilot, readiness, full";
const TBS_ROLES =
  "devopsEngineer, qaEngineer, productManager, supportEngineer, engineeringManager, seniorDeveloper";

/** The committed staging stack as decoded objects, to derive malformed variants from. */
function stagingConfig(): Record<string, unknown> {
  const raw = rolloutKeys(loadStackFile("staging").config);
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => {
      try {
        return [k, JSON.parse(v)];
      } catch {
        return [k, v];
      }
    }),
  );
}

function refusal(mutate: (c: Record<string, any>) => void, stack = "staging"): string {
  const config = structuredClone(stagingConfig());
  mutate(config);
  try {
    parseRolloutConfig(config, stack);
  } catch (error) {
    assert.ok(error instanceof RolloutInputError, `expected RolloutInputError, got ${String(error)}`);
    return error.message;
  }
  assert.fail("config was accepted");
}

describe("stack config", () => {
  it("accepts both committed stacks and fills defaults", () => {
    const staging = parseRolloutConfig(rolloutKeys(loadStackFile("staging").config), "staging");
    assert.equal(staging.tier, "staging");
    assert.equal(staging.isProduction, false);
    assert.equal(staging.greenWeight, 10);
    assert.equal(staging.database.deletionProtection, false);
    assert.equal(staging.database.multiAz, false);
    assert.equal(staging.alarmActionsEnabled, true);
    assert.deepEqual(
      staging.services.map((s) => s.name),
      ["web", "api"],
    );
    assert.deepEqual(staging.services[0]!.resources, {
      cpuRequest: "250m",
      cpuLimit: "1",
      memoryRequest: "256Mi",
      memoryLimit: "512Mi",
    });
    const production = parseRolloutConfig(rolloutKeys(loadStackFile("production").config), "production");
    assert.equal(production.tier, "production");
    assert.equal(production.database.deletionProtection, true);
    assert.equal(production.database.multiAz, true);
    assert.equal(production.phase, "limited-pilot");
    assert.equal(production.database.password, "[secret]");
  });

  it("production's recorded decisions give evidence for every criterion, and the evidence gives the decision", () => {
    const production = parseRolloutConfig(rolloutKeys(loadStackFile("production").config), "production");
    const transitions = production.playbookSpec.transitions;
    assert.deepEqual(
      production.decisions.map((d) => [d.from, d.to, d.decision]),
      [
        ["preparation", "internal", "GO"],
        ["internal", "limited-pilot", "GO"],
      ],
    );
    for (const recorded of production.decisions) {
      const transition = transitions.find((t) => t.from === recorded.from && t.to === recorded.to)!;
      // `<criterion id> = <value> (required <op> <threshold>): pass|FAIL`, as `rollout gates --record` writes.
      const lines = recorded.evidence.map((line) =>
        /^(\w+) = (-?[\d.]+) \(required \S+ -?[\d.]+\): (pass|FAIL)$/.exec(line),
      );
      assert.ok(
        lines.every((m) => m !== null),
        recorded.evidence.join("\n"),
      );
      assert.deepEqual(
        lines.map((m) => m[1]),
        transition.criteria.map((c) => c.id),
        `${recorded.from} -> ${recorded.to}: one evidence line per criterion, in order`,
      );
      const evidence = Object.fromEntries(lines.map((m) => [m[1]!, Number(m[2])]));
      const result = decide(transition, evidence);
      assert.equal(result.decision, recorded.decision, `${recorded.from} -> ${recorded.to}`);
      assert.deepEqual(
        lines.map((m) => m[3]),
        result.results.map((r) => (r.pass ? "pass" : "FAIL")),
      );
    }
  });

  it("decodes Pulumi's string values (numbers, booleans, JSON)", () => {
    const config = stagingConfig();
    const raw = Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    const parsed = parseRolloutConfig({ ...raw, greenWeight: "25", rollback: "true" }, "staging");
    assert.equal(parsed.greenWeight, 25);
    assert.equal(parsed.rollback, true);
  });

  it("does not clamp or refuse a weight above the phase cap (the policy pack's job)", () => {
    const config = stagingConfig();
    const parsed = parseRolloutConfig({ ...config, greenWeight: 80 }, "staging");
    assert.equal(parsed.greenWeight, 80);
  });

  const malformed: [string, (c: Record<string, any>) => void, string][] = [
    [
      "bad cluster namespace",
      (c) => (c.cluster.namespace = "Bad_NS"),
      'rollout:cluster.namespace: expected a Kubernetes namespace such as staged-rollout (lowercase letters, digits and -, at most 63), got "Bad_NS"',
    ],
    [
      "namespace ending in a dash",
      (c) => (c.cluster.namespace = "tbs-"),
      'rollout:cluster.namespace: expected a Kubernetes namespace such as staged-rollout (lowercase letters, digits and -, at most 63), got "tbs-"',
    ],
    [
      "bad database name",
      (c) => (c.database.name = "1tbs"),
      'rollout:database.name: expected a MySQL database name such as tbs (a letter, then letters, digits or _, at most 64), got "1tbs"',
    ],
    [
      "bad database user name",
      (c) => (c.database.username = "tbs-admin"),
      'rollout:database.username: expected a MySQL user name such as tbs_admin (a letter, then letters, digits or _, at most 16), got "tbs-admin"',
    ],
    [
      "database user name not a string",
      (c) => (c.database.username = 7),
      "rollout:database.username: expected a MySQL user name such as tbs_admin (a letter, then letters, digits or _, at most 16), got 7",
    ],
    ["weight NaN", (c) => (c.greenWeight = NaN), "rollout:greenWeight: expected an integer 0-100, got NaN"],
    [
      "unknown tier",
      (c) => (c.tier = "prod"),
      'rollout:tier: expected one of production, staging, got "prod"',
    ],
    [
      "unknown alert severity",
      (c) => (c.alerts.https[0].severities = ["page"]),
      'rollout:alerts.https[0].severities[0]: expected one of critical, warning, info, got "page"',
    ],
    [
      "a non-string HeavyDB password (value not printed)",
      (c) => (c.heavydb.readOnlyPassword = 12345678),
      "rollout:heavydb.readOnlyPassword: expected string, got [secret]",
    ],
    [
      "a kubeconfig object (value not printed)",
      (c) => (c.cluster.kubeconfig = { secure: "apiVersion: v1" }),
      "rollout:cluster.kubeconfig: expected string, got [secret]",
    ],
    [
      "ingress CIDR prefix too long for IPv4",
      (c) => (c.network.ingressCidrs = ["203.0.113.0/24", "10.0.0.0/33"]),
      'rollout:network.ingressCidrs[1]: expected an IPv4 CIDR such as 203.0.113.0/24, got "10.0.0.0/33"',
    ],
    [
      "ingress CIDR without a prefix",
      (c) => (c.network.ingressCidrs = ["10.0.0.1"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 CIDR such as 203.0.113.0/24, got "10.0.0.1"',
    ],
    [
      "ingress CIDR prefix too long for IPv6",
      (c) => (c.network.ingressCidrs = ["2001:db8::/129"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 CIDR such as 203.0.113.0/24, got "2001:db8::/129"',
    ],
    [
      "ingress CIDR that is a host name",
      (c) => (c.network.ingressCidrs = ["office.example.com/24"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 CIDR such as 203.0.113.0/24, got "office.example.com/24"',
    ],
    [
      "rollbackAcknowledged not a time",
      (c) => (c.rollbackAcknowledged = "yesterday"),
      'rollout:rollbackAcknowledged: expected an ISO-8601 time with its zone, such as 2026-11-02T15:00:00Z, got "yesterday"',
    ],
    [
      "rollbackAcknowledged in an RFC 2822 date (parseable, not ISO-8601)",
      (c) => (c.rollbackAcknowledged = "Fri, 20 Nov 2026 10:00:00 GMT"),
      'rollout:rollbackAcknowledged: expected an ISO-8601 time with its zone, such as 2026-11-02T15:00:00Z, got "Fri, 20 Nov 2026 10:00:00 GMT"',
    ],
    [
      "feature flag name not camelCase",
      (c) => (c.featureFlags = { "new-dashboard": true }),
      'rollout:featureFlags.new-dashboard: expected a camelCase flag name such as newDashboard (at most 63 characters), got the key "new-dashboard"',
    ],
    [
      "feature flag name of 64 characters",
      (c) => (c.featureFlags = { [`f${"x".repeat(63)}`]: true }),
      `rollout:featureFlags.f${"x".repeat(63)}: expected a camelCase flag name such as newDashboard (at most 63 characters), got the key "f${"x".repeat(63)}"`,
    ],
    [
      "feature flag value not boolean",
      (c) => (c.featureFlags = { newDashboard: "yes" }),
      'rollout:featureFlags.newDashboard: expected true or false, got "yes"',
    ],
    [
      "feature flags as a list",
      (c) => (c.featureFlags = ["newDashboard"]),
      'rollout:featureFlags: expected an object of flag name -> true or false, got ["newDashboard"]',
    ],
    [
      "non-numeric green port",
      (c) => (c.services[1].green.port = "three"),
      'rollout:services[1].green.port: expected an integer 1-65535, got "three"',
    ],
    [
      "port out of range",
      (c) => (c.services[0].blue.port = 70000),
      "rollout:services[0].blue.port: expected an integer 1-65535, got 70000",
    ],
    ["weight 150", (c) => (c.greenWeight = 150), "rollout:greenWeight: expected an integer 0-100, got 150"],
    [
      "negative weight",
      (c) => (c.greenWeight = -5),
      "rollout:greenWeight: expected an integer 0-100, got -5",
    ],
    [
      "fractional weight",
      (c) => (c.greenWeight = 12.5),
      "rollout:greenWeight: expected an integer 0-100, got 12.5",
    ],
    [
      "rollback not boolean",
      (c) => (c.rollback = "yes"),
      'rollout:rollback: expected true or false, got "yes"',
    ],
    [
      "unknown phase",
      (c) => (c.phase = "canary"),
      `rollout:phase: expected one of ${TBS_PHASES} (phase ids of playbook tbs-strategy-framework), got "canary"`,
    ],
    [
      "misspelt phase, with the closest phase",
      (c) => (c.phase = "limited-pilto"),
      `rollout:phase: expected one of ${TBS_PHASES} (phase ids of playbook tbs-strategy-framework), got "limited-pilto"; did you mean limited-pilot?`,
    ],
    ["unknown playbook", (c) => (c.playbook = "nope"), 'rollout:playbook: unknown playbook "nope"'],
    [
      "missing image",
      (c) => delete c.services[0].green.image,
      "rollout:services[0].green.image: expected a container image such as ghcr.io/acme/web:1.4.2, got nothing",
    ],
    [
      "empty image",
      (c) => (c.services[1].blue.image = ""),
      'rollout:services[1].blue.image: expected a container image such as ghcr.io/acme/web:1.4.2, got ""',
    ],
    [
      "bad service name",
      (c) => (c.services[0].name = "Web_App"),
      `rollout:services[0].name: ${SERVICE_NAME}, got "Web_App"`,
    ],
    [
      "duplicate service",
      (c) => (c.services[1].name = "web"),
      'rollout:services[1].name: expected a unique service name, got "web"',
    ],
    ["no services", (c) => (c.services = []), "rollout:services: expected at least one service, got []"],
    [
      "bad path pattern",
      (c) => (c.services[1].pathPattern = "api/*"),
      `rollout:services[1].pathPattern: ${PATH_PATTERN}, got "api/*"`,
    ],
    [
      "bad replicas",
      (c) => (c.services[0].replicas = 0),
      "rollout:services[0].replicas: expected number to be >=1, got 0",
    ],
    [
      "bad cpu quantity",
      (c) => (c.services[0].resources = { cpuRequest: "lots" }),
      'rollout:services[0].resources.cpuRequest: expected a CPU quantity such as 250m or 1.5 (Kubernetes allows no precision finer than 1m), got "lots"',
    ],
    [
      "bad vpc id",
      (c) => (c.network.vpcId = "vpc-XYZ"),
      'rollout:network.vpcId: expected a VPC id such as vpc-0abc123, got "vpc-XYZ"',
    ],
    [
      "one public subnet",
      (c) => (c.network.publicSubnetIds = ["subnet-0a1"]),
      "rollout:network.publicSubnetIds: expected array to have >=2 items",
    ],
    [
      "bad certificate",
      (c) => (c.network.certificateArn = "arn:aws:iam::1:server-certificate/x"),
      `rollout:network.certificateArn: ${CERTIFICATE_ARN}, got "arn:aws:iam::1:server-certificate/x"`,
    ],
    [
      "bad cohort header",
      (c) => (c.cohorts.header = "X Pilot"),
      `rollout:cohorts.header: ${COHORT_HEADER}, got "X Pilot"`,
    ],
    [
      "bad cohort user",
      (c) => (c.cohorts.users[2] = "anna smith"),
      'rollout:cohorts.users[2]: expected a user id of 1-64 letters, digits and ._@+- (no * or ?, which ALB reads as wildcards, and no ;, = or whitespace, which would break cookie matching), got "anna smith"',
    ],
    [
      "short db password",
      (c) => (c.database.password = "short"),
      `rollout:database.password: ${MASTER_PASSWORD}, got [secret]`,
    ],
    [
      "bad instance class",
      (c) => (c.database.instanceClass = "large"),
      'rollout:database.instanceClass: expected an instance class such as db.r6g.large, got "large"',
    ],
    [
      "bad alert email",
      (c) => (c.alerts.emails = ["oncall"]),
      'rollout:alerts.emails[0]: expected an email address, got "oncall"',
    ],
    [
      "http alert endpoint",
      (c) => (c.alerts.https[0].url = "http://hooks.example.com/x"),
      "rollout:alerts.https[0].url: expected an https:// URL",
    ],
    [
      "pods given the master user",
      (c) => (c.database.appUsername = c.database.username),
      'rollout:database.appUsername: expected an application user other than the master user, got "tbs_admin" (pods must not hold the master credentials)',
    ],
    [
      "application password missing",
      (c) => delete c.database.appPassword,
      "rollout:database.appPassword: expected a secret of at least 8 characters, got nothing",
    ],
    [
      "unknown GuardDuty scope",
      (c) => (c.guardDutyScope = "organization"),
      'rollout:guardDutyScope: expected one of account, cluster, got "organization"',
    ],
    [
      "alert endpoint autoConfirms not a boolean",
      (c) => (c.alerts.https[0].autoConfirms = "yes"),
      'rollout:alerts.https[0].autoConfirms: expected true or false, got "yes"',
    ],
    [
      "unknown key (typo)",
      (c) => (c.greenWieght = 10),
      "rollout:greenWieght: unknown config key; did you mean rollout:greenWeight?",
    ],
    [
      "unknown nested key",
      (c) => (c.database.pasword = "x"),
      "rollout:database.pasword: unknown key (a typo?), got [secret]",
    ],
    [
      "decision for unknown phase",
      (c) =>
        (c.decisions = [
          { from: "internal", to: "pilot", decision: "GO", at: "2026-01-01T00:00:00Z", by: "x" },
        ]),
      `rollout:decisions[0].to: expected one of ${TBS_PHASES} (phase ids of playbook tbs-strategy-framework), got "pilot"`,
    ],
    [
      "decision bad verdict",
      (c) =>
        (c.decisions = [
          { from: "internal", to: "limited-pilot", decision: "MAYBE", at: "2026-01-01T00:00:00Z", by: "x" },
        ]),
      'rollout:decisions[0].decision: expected one of GO, NO-GO, got "MAYBE"',
    ],
    [
      "signoff for unknown phase",
      (c) => (c.signoffs = { pilot: { qaEngineer: { approver: "q", at: "2026-01-01T00:00:00Z" } } }),
      `rollout:signoffs.pilot: expected one of ${TBS_PHASES} (phase ids of playbook tbs-strategy-framework), got "pilot"`,
    ],
    [
      "signoff for a misspelt phase, with the closest phase",
      (c) => (c.signoffs = { internl: { qaEngineer: { approver: "q", at: "2026-01-01T00:00:00Z" } } }),
      `rollout:signoffs.internl: expected one of ${TBS_PHASES} (phase ids of playbook tbs-strategy-framework), got "internl"; did you mean internal?`,
    ],
    [
      "signoff by a misspelt role, with the closest role",
      (c) => (c.signoffs = { internal: { qaEnginer: { approver: "q", at: "2026-01-01T00:00:00Z" } } }),
      `rollout:signoffs.internal.qaEnginer: expected one of ${TBS_ROLES} (sign-off roles of playbook tbs-strategy-framework), got "qaEnginer"; did you mean qaEngineer?`,
    ],
    [
      "signoff by a role the playbook does not have",
      (c) => (c.signoffs = { internal: { cto: { approver: "c", at: "2026-01-01T00:00:00Z" } } }),
      `rollout:signoffs.internal.cto: expected one of ${TBS_ROLES} (sign-off roles of playbook tbs-strategy-framework), got "cto"`,
    ],
    [
      "signoff bad time",
      (c) => (c.signoffs = { internal: { qaEngineer: { approver: "q", at: "yesterday" } } }),
      'rollout:signoffs.internal.qaEngineer.at: expected an ISO-8601 time with its zone, such as 2026-11-02T15:00:00Z, got "yesterday"',
    ],
    [
      "alarmActionsEnabled not boolean",
      (c) => (c.alarmActionsEnabled = "off"),
      'rollout:alarmActionsEnabled: expected true or false, got "off"',
    ],
    [
      "cohort cannot fit one listener",
      (c) => (c.cohorts.users = Array.from({ length: 200 }, (_, i) => `user${String(i).padStart(3, "0")}`)),
      "rollout:cohorts: 200 users across 2 services need",
    ],
    [
      "cohort users that differ only in case (the ALB compares values case-insensitively)",
      (c) => (c.cohorts.users = ["anna", "ben", "Anna"]),
      'rollout:cohorts.users[2]: expected each user once, compared case-insensitively as the ALB compares them: index 0 lists "anna" already, got "Anna"',
    ],
    [
      "a cohort header browsers send by themselves",
      (c) => (c.cohorts.header = "Sec-Fetch-Site"),
      "rollout:cohorts.header: expected a dedicated header such as X-Pilot-User that only the pilot users' own tooling sends " +
        '(Sec-Fetch-Site starts with Sec-, which the Fetch standard reserves for headers browsers set themselves, so requests from anyone would reach green), got "Sec-Fetch-Site"',
    ],
  ];

  for (const [name, mutate, expected] of malformed) {
    it(`refuses ${name}`, () => {
      const message = refusal(mutate);
      assert.ok(message.includes(expected), `message:\n${message}\nexpected to include:\n${expected}`);
      assert.match(message, /^invalid stack config for stack "staging"|^rollout:playbook/);
    });
  }

  it("requires access logs in production", () => {
    const message = refusal((c) => {
      c.tier = "production";
      delete c.network.accessLogsBucket;
    }, "production");
    assert.ok(
      message.includes(
        "rollout:network.accessLogsBucket: expected a bucket name for ALB access logs in production",
      ),
    );
  });

  it("gives every stack production's protections unless its tier is staging, whatever the stack's name", () => {
    const config = stagingConfig();
    delete config.tier;
    const parsed = parseRolloutConfig(
      { ...config, network: { ...(config.network as object), accessLogsBucket: "acme-alb-logs" } },
      "prod",
    );
    assert.deepEqual(
      [parsed.tier, parsed.isProduction, parsed.database.deletionProtection, parsed.database.multiAz],
      ["production", true, true, true],
    );
    const staging = parseRolloutConfig(stagingConfig(), "prod");
    assert.deepEqual([staging.tier, staging.isProduction], ["staging", false]);
  });

  it("lists every problem at once", () => {
    const error = (() => {
      try {
        parseRolloutConfig({ ...stagingConfig(), greenWeight: 150, rollback: "yes" }, "staging");
      } catch (e) {
        return e as RolloutInputError;
      }
      return undefined;
    })();
    assert.ok(error);
    assert.equal(error.issues.length, 2);
  });

  it("reports a misspelt top-level key together with every other problem", () => {
    const message = refusal((c) => {
      c.greenWieght = 10;
      c.rollback = "yes";
      c.services[0].blue.port = 0;
    });
    assert.equal(
      message,
      [
        'invalid stack config for stack "staging":',
        "  rollout:greenWieght: unknown config key; did you mean rollout:greenWeight?",
        '  rollout:rollback: expected true or false, got "yes"',
        "  rollout:services[0].blue.port: expected an integer 1-65535, got 0",
      ].join("\n"),
    );
  });

  it("lists every key when an unknown one is not close to any", () => {
    assert.equal(
      refusal((c) => (c.canaryPercent = 5)),
      'invalid stack config for stack "staging":\n  rollout:canaryPercent: unknown config key; expected one of ' +
        "playbook, tier, phase, greenWeight, rollback, revision, rollbackAcknowledged, rollbackReason, cohorts, stickinessSeconds, services, " +
        "network, cluster, database, heavydb, alerts, signoffs, decisions, guardDutyScope, alarmActionsEnabled, featureFlags, waf, logRetentionDays, release, finish, idleGreenReplicas",
    );
  });

  it("still refuses a misspelt key when everything else is valid", () => {
    assert.equal(
      refusal((c) => (c.stickinesSeconds = 60)),
      'invalid stack config for stack "staging":\n  rollout:stickinesSeconds: unknown config key; did you mean rollout:stickinessSeconds?',
    );
  });

  for (const [name, raw, got] of [
    ["null", null, "null"],
    ["a list", ["phase"], '["phase"]'],
    ["a string", "phase: internal", '"phase: internal"'],
  ] as const) {
    it(`refuses a config that is ${name}, at the document root`, () => {
      assert.throws(
        () => parseRolloutConfig(raw as unknown as Record<string, unknown>, "staging"),
        (error: unknown) =>
          error instanceof RolloutInputError &&
          error.message ===
            `invalid stack config for stack "staging":\n  rollout: expected an object of rollout:* keys, got ${got}`,
      );
    });
  }

  it("never prints a secret value, whatever is wrong with it", () => {
    for (const [mutate, where] of [
      [(c: Record<string, any>) => (c.database.password = "hunter2"), "rollout:database.password"],
      [
        (c: Record<string, any>) => (c.database.password = { secure: "hunter2" }),
        "rollout:database.password",
      ],
      [(c: Record<string, any>) => (c.heavydb.readOnlyPassword = ""), "rollout:heavydb.readOnlyPassword"],
      [(c: Record<string, any>) => (c.database.passwrd = "hunter2"), "rollout:database.passwrd"],
    ] as const) {
      const message = refusal(mutate);
      assert.ok(message.includes(`${where}: `), message);
      assert.ok(message.includes("got [secret]"), message);
      assert.ok(!message.includes("hunter2"), message);
    }
  });

  it("accepts IPv4 ingress CIDRs, ISO-8601 acknowledgements and feature flags", () => {
    const config = stagingConfig();
    const parsed = parseRolloutConfig(
      {
        ...config,
        network: {
          ...(config.network as object),
          ingressCidrs: ["203.0.113.0/24", "198.51.100.7/32", "0.0.0.0/0"],
        },
        rollbackAcknowledged: "2026-11-20T10:00:00Z",
        featureFlags: JSON.stringify({ newDashboard: true, legacyExport: false }),
      },
      "staging",
    );
    assert.deepEqual(parsed.network.ingressCidrs, ["203.0.113.0/24", "198.51.100.7/32", "0.0.0.0/0"]);
    assert.equal(parsed.rollbackAcknowledged, "2026-11-20T10:00:00Z");
    assert.deepEqual(parsed.featureFlags, { newDashboard: true, legacyExport: false });
  });

  it("defaults featureFlags to no overrides", () => {
    const { featureFlags: _, ...config } = stagingConfig();
    assert.deepEqual(parseRolloutConfig(config, "staging").featureFlags, {});
  });

  it("suggests nothing when no role is close to the typo", () => {
    const message = refusal(
      (c) => (c.signoffs = { internal: { cto: { approver: "c", at: "2026-01-01T00:00:00Z" } } }),
    );
    assert.ok(message.endsWith(`(sign-off roles of playbook tbs-strategy-framework), got "cto"`), message);
  });

  it("accepts sign-offs by the playbook's roles for its phases", () => {
    const at = "2026-11-02T15:00:00Z";
    const parsed = parseRolloutConfig(
      {
        ...stagingConfig(),
        signoffs: { internal: { devopsEngineer: { approver: "d", at }, qaEngineer: { approver: "q", at } } },
      },
      "staging",
    );
    assert.deepEqual(Object.keys(parsed.signoffs.internal ?? {}), ["devopsEngineer", "qaEngineer"]);
  });
});

describe("values AWS and Kubernetes would refuse at deploy time", () => {
  /** Every problem of a staging config changed by `mutate` (the config must be refused). */
  function issuesOf(mutate: (c: Record<string, any>) => void): readonly string[] {
    const config = structuredClone(stagingConfig());
    mutate(config);
    try {
      parseRolloutConfig(config, "staging");
    } catch (error) {
      assert.ok(error instanceof RolloutInputError, String(error));
      return error.issues;
    }
    assert.fail("config was accepted");
  }
  const at = "2026-11-02T15:00:00Z";
  const subnet = (n: number) => `subnet-${String(n).padStart(17, "0")}`;
  const bucket = (name: string, rule: string) =>
    [
      name,
      (c: Record<string, any>) => (c.network.accessLogsBucket = name),
      `rollout:network.accessLogsBucket: expected an S3 bucket name ${rule}, got "${name}"`,
    ] as const;
  const TBS_PHASE_IDS = TBS_PHASES.split(", ");
  /** A 64-character name (the longest allowed) that says whose it is. */
  const longName = (who: string) => `${who}.`.padEnd(64, "x");

  const cases: (readonly [name: string, mutate: (c: Record<string, any>) => void, issue: string])[] = [
    [
      "an IPv6 ingress CIDR (the ALB and its security group rules are IPv4)",
      (c) => (c.network.ingressCidrs = ["2001:db8::/32"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 CIDR such as 203.0.113.0/24: the load balancer is IPv4-only, so an IPv6 range cannot reach it, got "2001:db8::/32"',
    ],
    [
      "an ingress CIDR with host bits set",
      (c) => (c.network.ingressCidrs = ["203.0.113.5/24"]),
      'rollout:network.ingressCidrs[0]: expected the range\'s network address: did you mean 203.0.113.0/24? (EC2 stores a CIDR with host bits set as its network address), got "203.0.113.5/24"',
    ],
    [
      "an ingress CIDR listed twice",
      (c) => (c.network.ingressCidrs = ["203.0.113.0/24", "198.51.100.0/24", "203.0.113.0/24"]),
      'rollout:network.ingressCidrs[2]: expected a CIDR not listed before, index 0 lists it already (EC2 refuses a duplicate security group rule), got "203.0.113.0/24"',
    ],
    [
      "a path pattern of 129 characters",
      (c) => (c.services[1].pathPattern = `/api/${"v".repeat(122)}/*`),
      `rollout:services[1].pathPattern: ${PATH_PATTERN}, got "/api/${"v".repeat(122)}/*"`,
    ],
    [
      "a health check path of 1025 characters",
      (c) => (c.services[0].healthCheckPath = `/${"h".repeat(1024)}`),
      `rollout:services[0].healthCheckPath: ${HEALTH_CHECK_PATH}, got "/${"h".repeat(39)}"... (1025 characters)`,
    ],
    [
      "the Host header as the cohort header",
      (c) => (c.cohorts.header = "Host"),
      'rollout:cohorts.header: expected a header other than Host (an ALB http-header condition cannot match the host header; route by host with a host-header condition), got "Host"',
    ],
    [
      "a cohort header of 41 characters",
      (c) => (c.cohorts.header = `X-${"P".repeat(39)}`),
      `rollout:cohorts.header: ${COHORT_HEADER}, got "X-${"P".repeat(39)}"`,
    ],
    [
      "a service name ending in a hyphen",
      (c) => (c.services[1].name = "api-"),
      `rollout:services[1].name: ${SERVICE_NAME}, got "api-"`,
    ],
    [
      "a CPU limit of 0",
      (c) => (c.services[0].resources = { cpuLimit: "0" }),
      'rollout:services[0].resources.cpuLimit: expected a CPU limit above 0 (no container runs within none), got "0"',
    ],
    [
      "a memory limit of 0",
      (c) => (c.services[1].resources = { memoryLimit: "0Mi" }),
      'rollout:services[1].resources.memoryLimit: expected a memory limit above 0 (no container runs within none), got "0Mi"',
    ],
    [
      "a CPU request above its limit, in other units",
      (c) => (c.services[0].resources = { cpuRequest: "1500m", cpuLimit: "1" }),
      'rollout:services[0].resources.cpuRequest: expected at most the CPU limit 1 (Kubernetes refuses a request above its limit), got "1500m"',
    ],
    [
      "a memory request above its limit, in other units",
      (c) => (c.services[0].resources = { memoryRequest: "1Gi", memoryLimit: "1000Mi" }),
      'rollout:services[0].resources.memoryRequest: expected at most the memory limit 1000Mi (Kubernetes refuses a request above its limit), got "1Gi"',
    ],
    [
      "the default CPU request above a lower limit",
      (c) => (c.services[1].resources = { cpuLimit: "0.2" }),
      'rollout:services[1].resources.cpuRequest: expected at most the CPU limit 0.2 (Kubernetes refuses a request above its limit), got "250m"',
    ],
    [
      "a CPU quantity finer than 1m",
      (c) => (c.services[0].resources = { cpuRequest: "0.0005" }),
      'rollout:services[0].resources.cpuRequest: expected a CPU quantity such as 250m or 1.5 (Kubernetes allows no precision finer than 1m), got "0.0005"',
    ],
    [
      "a public subnet listed twice",
      (c) => (c.network.publicSubnetIds = [subnet(1), subnet(1)]),
      `rollout:network.publicSubnetIds[1]: expected a subnet id not listed before, index 0 lists it already (an ALB takes one subnet per Availability Zone), got "${subnet(1)}"`,
    ],
    [
      "a private subnet listed twice",
      (c) => (c.network.privateSubnetIds = [subnet(1), subnet(2), subnet(2)]),
      `rollout:network.privateSubnetIds[2]: expected a subnet id not listed before, index 1 lists it already (a DB subnet group holds each subnet once), got "${subnet(2)}"`,
    ],
    [
      "21 private subnets (the DB subnet group takes 20)",
      (c) => (c.network.privateSubnetIds = Array.from({ length: 21 }, (_, i) => subnet(i))),
      `rollout:network.privateSubnetIds: expected at most 20 subnets (RDS: subnets per DB subnet group), got ${describeReceived(Array.from({ length: 21 }, (_, i) => subnet(i)))}`,
    ],
    [
      "an ACM certificate ARN whose account is not 12 digits",
      (c) =>
        (c.network.certificateArn =
          "arn:aws:acm:eu-west-1:12345:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
      `rollout:network.certificateArn: ${CERTIFICATE_ARN}, got "arn:aws:acm:eu-west-1:12345:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"`,
    ],
    [
      "an ACM certificate ARN without a region",
      (c) =>
        (c.network.certificateArn =
          "arn:aws:acm::123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
      `rollout:network.certificateArn: ${CERTIFICATE_ARN}, got "arn:aws:acm::123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"`,
    ],
    [
      "an ACM ARN of something other than a certificate",
      (c) => (c.network.certificateArn = "arn:aws:acm:eu-west-1:123456789012:listener/x"),
      `rollout:network.certificateArn: ${CERTIFICATE_ARN}, got "arn:aws:acm:eu-west-1:123456789012:listener/x"`,
    ],
    bucket("ab", "between 3 and 63 characters long"),
    bucket("TBS_Alb_Logs", "of only lowercase letters, numbers, periods (.) and hyphens (-)"),
    bucket("-tbs-alb-logs", "beginning and ending with a letter or number"),
    bucket("tbs..alb-logs", "with no two adjacent periods"),
    bucket("192.168.5.4", "not formatted as an IP address"),
    bucket("xn--tbs-alb-logs", "not starting with the reserved prefix xn--"),
    bucket("tbs-alb-logs-s3alias", "not ending with the reserved suffix -s3alias"),
    bucket("tbs-alb-logs--ol-s3", "not ending with the reserved suffix --ol-s3"),
    [
      "a 10,000-character approver",
      (c) => (c.signoffs.internal.qaEngineer.approver = "q".repeat(10000)),
      `rollout:signoffs.internal.qaEngineer.approver: expected a name of 1-64 ASCII letters, digits and . _ @ + - such as dana.devops (it is stored in the rollout state parameter, and one person must not pass for two), got "${"q".repeat(40)}"... (10000 characters)`,
    ],
    [
      "a 10,000-character decider",
      (c) =>
        (c.decisions = [
          { from: "internal", to: "limited-pilot", decision: "GO", at, by: "d".repeat(10000) },
        ]),
      `rollout:decisions[0].by: expected a name of 1-64 ASCII letters, digits and . _ @ + - such as dana.devops (it is stored in the rollout state parameter, and one person must not pass for two), got "${"d".repeat(40)}"... (10000 characters)`,
    ],
    [
      "sign-offs and decisions whose state record outgrows its SSM parameter",
      (c) => {
        c.signoffs = Object.fromEntries(
          TBS_PHASE_IDS.map((phase) => [
            phase,
            Object.fromEntries(
              TBS_ROLES.split(", ").map((role) => [role, { approver: longName(`${role}.${phase}`), at }]),
            ),
          ]),
        );
        // Every (from, to) pair of phases, each a transition of its own in the state record.
        c.decisions = TBS_PHASE_IDS.flatMap((from) =>
          TBS_PHASE_IDS.map((to) => ({ from, to, decision: "NO-GO", at, by: longName(`${from}.${to}`) })),
        );
      },
      // Issue 13 adds the release lifecycle's worst case, 481 bytes: blue on green's version in
      // both services (2 x 21, in services), a release of both (63) and TBS's largest finish (376).
      "rollout:decisions: expected sign-offs, decisions and services whose rollout state record fits its SSM parameter (at most 8192 bytes, PutParameter's limit for the Intelligent-Tiering tier), got a record of up to 11695 bytes (signoffs 4601, decisions 6205, services 155); shorten the deciders' names in rollout:decisions[].by",
    ],
    [
      "20,000 feature flags (their ConfigMap outgrows 1 MiB)",
      (c) =>
        (c.featureFlags = Object.fromEntries(
          Array.from({ length: 20000 }, (_, i) => [
            `experimentalFeature${String(i).padStart(5, "0")}ForTheNewTradingDashboard`,
            i % 2 === 0,
          ]),
        )),
      'rollout:featureFlags: expected flags whose ConfigMap data takes at most 1047552 bytes (Kubernetes: "The data stored in a ConfigMap cannot exceed 1 MiB", less 1024 for the default flags), got 20000 flags of 1070000 bytes',
    ],
    [
      "an EKS cluster name with a space",
      (c) => (c.cluster.name = "tbs staging"),
      'rollout:cluster.name: expected the EKS cluster name: 1-100 letters, digits, - and _, starting with a letter or digit, got "tbs staging"',
    ],
    [
      "a master password with an @ (value not printed)",
      (c) => (c.database.password = "hunter2@tbs-prod"),
      `rollout:database.password: ${MASTER_PASSWORD}, got [secret]`,
    ],
    [
      "a master password of 42 characters (value not printed)",
      (c) => (c.database.password = "p".repeat(42)),
      `rollout:database.password: ${MASTER_PASSWORD}, got [secret]`,
    ],
    [
      "a master password with a space (value not printed)",
      (c) => (c.database.password = "correct horse battery"),
      `rollout:database.password: ${MASTER_PASSWORD}, got [secret]`,
    ],
    [
      "stickiness longer than 7 days",
      (c) => (c.stickinessSeconds = 604801),
      "rollout:stickinessSeconds: expected an integer 1-604800 (seconds of ALB target group stickiness), got 604801",
    ],
    [
      "gp3 storage below 20 GiB",
      (c) => (c.database.allocatedStorageGb = 10),
      "rollout:database.allocatedStorageGb: expected an integer 20-65536 (GiB of gp3 storage, RDS for MySQL), got 10",
    ],
    [
      "backups kept longer than 35 days",
      (c) => (c.database.backupRetentionDays = 36),
      "rollout:database.backupRetentionDays: expected at most 35 days (RDS BackupRetentionPeriod: 0-35), got 36",
    ],
  ];

  for (const [name, mutate, issue] of cases) {
    it(`refuses ${name}`, () => assert.deepEqual(issuesOf(mutate), [issue]));
  }

  it("accepts the limits themselves: 128-character patterns, 1024-character paths, equal requests and limits, 20 private subnets, other partitions", () => {
    const config = structuredClone(stagingConfig()) as Record<string, any>;
    config.services[1].pathPattern = `/api/${"v".repeat(121)}/*`;
    config.services[0].healthCheckPath = `/${"h".repeat(1023)}`;
    config.services[0].resources = {
      cpuRequest: "1",
      cpuLimit: "1000m",
      memoryRequest: "1Gi",
      memoryLimit: "1024Mi",
    };
    config.network.privateSubnetIds = Array.from({ length: 20 }, (_, i) => subnet(i));
    config.network.certificateArn =
      "arn:aws-cn:acm:cn-north-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    config.network.accessLogsBucket = "tbs.alb-logs.eu-west-1";
    config.database.password = "!#$%&'()*+,-.:;<=>?[\\]^_`{|}~0aZ";
    config.stickinessSeconds = 604800;
    const parsed = parseRolloutConfig(config, "staging");
    assert.equal(parsed.services[1]!.pathPattern.length, 128);
    assert.equal(parsed.services[0]!.healthCheckPath.length, 1024);
  });

  it("accepts 20,000 feature flags whose ConfigMap stays under 1 MiB: the bound is bytes, not flags", () => {
    const flags = Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [`flag${i}`, true]));
    const parsed = parseRolloutConfig({ ...stagingConfig(), featureFlags: flags }, "staging");
    assert.equal(Object.keys(parsed.featureFlags).length, 20000);
  });

  it("keeps the longest cookie and user id within an ALB header condition value (128 characters)", () => {
    const config = structuredClone(stagingConfig()) as Record<string, any>;
    config.cohorts = { header: "X-Pilot-User", cookie: `pilot_${"c".repeat(34)}`, users: ["u".repeat(64)] };
    const parsed = parseRolloutConfig(config, "staging");
    const values = parsed.services.flatMap((s) =>
      cohortRoutesFor(parsed.cohorts, s.pathPattern).flatMap((r) => r.values),
    );
    assert.ok(values.length > 0);
    assert.ok(
      values.every((v) => v.length <= ALB_HEADER_VALUE_MAX),
      values.map((v) => v.length).join(", "),
    );
  });
});

describe("secret config values", () => {
  const plainSecret = (path: string) =>
    `rollout:${path}: expected a Pulumi secret (pulumi config set --secret --path 'rollout:${path}' <value>), got a plain value`;
  /** The committed production stack, decoded; it sets every one of SECRET_PATHS. */
  function productionConfig(): Record<string, any> {
    const raw = rolloutKeys(loadStackFile("production").config);
    return Object.fromEntries(
      Object.entries(raw).map(([k, v]) => {
        try {
          return [k, JSON.parse(v)];
        } catch {
          return [k, v];
        }
      }),
    );
  }
  function issues(config: Record<string, unknown>, isSecret: IsConfigSecret): readonly string[] {
    try {
      parseRolloutConfig(config, "production", isSecret);
    } catch (error) {
      assert.ok(error instanceof RolloutInputError, String(error));
      return error.issues;
    }
    assert.fail("config was accepted");
  }

  it("the stack file records each secure path, and the top-level keys Pulumi marks secret", () => {
    const file = parseStackFile(
      [
        "config:",
        "  rollout:database:",
        "    password: supersecret123",
        "    appPassword:",
        "      secure: v1:abc",
        "  rollout:alerts:",
        "    https:",
        "      - url: { secure: v1:def }",
        "  rollout:phase: internal",
        "  rollout:token:",
        "    secure: v1:ghi",
      ].join("\n"),
      "test",
      "Pulumi.test.yaml",
    );
    assert.deepEqual(file.secretKeys, ["rollout:database", "rollout:alerts", "rollout:token"]);
    assert.deepEqual(file.secretPaths, [
      "rollout:database.appPassword",
      "rollout:alerts.https[0].url",
      "rollout:token",
    ]);
    assert.equal(file.config["rollout:database"], '{"password":"supersecret123","appPassword":"[secret]"}');
    assert.deepEqual(loadStackFile("production").secretPaths, [
      "rollout:cluster.kubeconfig",
      "rollout:database.password",
      "rollout:database.appPassword",
      "rollout:heavydb.readOnlyPassword",
    ]);
  });

  it("accepts the committed stacks when each secure path is a secret", () => {
    for (const stack of ["staging", "production"]) {
      const file = loadStackFile(stack);
      const parsed = parseRolloutConfig(rolloutKeys(file.config), stack, (path) =>
        file.secretPaths.includes(`rollout:${path}`),
      );
      assert.equal(parsed.stack, stack);
    }
  });

  for (const path of SECRET_PATHS) {
    it(`refuses a plain ${path}, without printing it`, () => {
      const config = productionConfig();
      const [section, key] = path.split(".") as [string, string];
      config[section][key] = "supersecret123";
      const found = issues(config, (p) => p !== path);
      assert.deepEqual(found, [plainSecret(path)]);
    });
  }

  it("lists every plain secret at once, before what else is wrong with them", () => {
    const config = productionConfig();
    config.database.password = "short";
    const found = issues(config, () => false);
    assert.deepEqual(found, [
      plainSecret("database.password"),
      plainSecret("database.appPassword"),
      plainSecret("heavydb.readOnlyPassword"),
      plainSecret("cluster.kubeconfig"),
      `rollout:database.password: ${MASTER_PASSWORD}, got [secret]`,
    ]);
    assert.ok(!found.join("\n").includes("short"));
  });

  it("with only per-key knowledge (a real deploy), checks the top-level key holding each path", () => {
    const secretKeys = new Set(["database", "heavydb"]);
    const perKey: IsConfigSecret = (path) => secretKeys.has(path.split(".")[0]!);
    assert.deepEqual(issues(productionConfig(), perKey), [plainSecret("cluster.kubeconfig")]);
  });

  it("does not ask about secret paths the config leaves unset", () => {
    const asked: string[] = [];
    const config = stagingConfig();
    assert.equal((config.cluster as Record<string, unknown>).kubeconfig, undefined);
    parseRolloutConfig(config, "staging", (path) => {
      asked.push(path);
      return true;
    });
    assert.deepEqual(asked, ["database.password", "database.appPassword", "heavydb.readOnlyPassword"]);
  });
});

describe("values AWS would refuse (issue 9 review)", () => {
  const accepts = (mutate: (c: Record<string, any>) => void) => {
    const config = structuredClone(stagingConfig());
    mutate(config);
    parseRolloutConfig(config, "staging");
  };

  it("refuses an engine version RDS for MySQL does not offer, naming rollout:database.engineVersion", () => {
    for (const engineVersion of ["8.4; DROP", "", "5.7", "9"]) {
      assert.match(
        refusal((c) => (c.database.engineVersion = engineVersion)),
        /rollout:database\.engineVersion: expected an RDS for MySQL version of the 8\.0 or 8\.4 major/,
        engineVersion,
      );
    }
    accepts((c) => (c.database.engineVersion = "8.4.3"));
    accepts((c) => (c.database.engineVersion = "8.0"));
  });

  it("refuses lookalike names (one person signing twice as Cyrillic or fullwidth letters, or with a zero-width space)", () => {
    for (const approver of ["d\u0430na.devops", "dana.devops\u200b", "\uff44\uff41\uff4e\uff41.devops"]) {
      assert.match(
        refusal(
          (c) =>
            (c.signoffs = {
              internal: { devopsEngineer: { approver, at: "2026-10-26T15:00:00Z" } },
            }),
        ),
        /rollout:signoffs\.internal\.devopsEngineer\.approver: expected a name of 1-64 ASCII letters/,
        approver,
      );
    }
  });

  it("refuses a time without its zone (read as the machine's local time) and a date that does not exist", () => {
    for (const at of ["2026-11-02T09:00:00", "2026-02-30T16:00:00Z"]) {
      assert.match(
        refusal((c) => (c.rollbackAcknowledged = at)),
        /rollout:rollbackAcknowledged: expected an ISO-8601 time with its zone/,
        at,
      );
    }
  });

  it("refuses a cohort cookie that is not a dedicated pilot_ cookie (lang=en would route the public to green)", () => {
    assert.match(
      refusal((c) => (c.cohorts = { header: "X-Pilot-User", cookie: "lang", users: ["en", "de"] })),
      /rollout:cohorts\.cookie: expected a dedicated cookie name starting pilot_/,
    );
  });

  it("refuses {{ in a recorded name: SSM refuses parameter values containing {{ }}", () => {
    assert.match(
      refusal(
        (c) =>
          (c.signoffs = {
            internal: { devopsEngineer: { approver: "{{ssm:x}}", at: "2026-10-26T15:00:00Z" } },
          }),
      ),
      /rollout:signoffs\.internal\.devopsEngineer\.approver: expected a name of 1-64 ASCII letters, digits and \. _ @ \+ - .*got "\{\{ssm:x\}\}"/,
    );
  });

  it("refuses more ingress CIDRs than the ALB's security group holds rules for (60 by default, two per CIDR)", () => {
    const cidrs = Array.from({ length: 31 }, (_, i) => `198.51.${i}.0/24`);
    assert.match(
      refusal((c) => (c.network.ingressCidrs = cidrs)),
      /rollout:network\.ingressCidrs: expected at most 30 CIDRs/,
    );
    accepts((c) => (c.network.ingressCidrs = cidrs.slice(0, 30)));
  });

  it("refuses a time with more than nanoseconds", () => {
    assert.match(
      refusal(
        (c) =>
          (c.signoffs = {
            internal: { devopsEngineer: { approver: "dana", at: `2026-10-26T15:00:00.${"1".repeat(10)}Z` } },
          }),
      ),
      /rollout:signoffs\.internal\.devopsEngineer\.at: expected an ISO-8601 time/,
    );
  });
});

describe("the release lifecycle's keys (issue 13)", () => {
  const finish = {
    at: "2026-12-01T10:00:00Z",
    by: "dana.devops",
    fromPhase: "full",
    evidence: ["rowsPerSecond = 34000 (required >= 33573): pass"],
  };
  const release = { number: 2, startedAt: "2026-12-02T10:00:00Z", services: ["web"] };

  it("accepts a finish, a release and idle replicas, and defaults green to idle at 0 pods", () => {
    const config = parseRolloutConfig(
      { ...stagingConfig(), finish, release, idleGreenReplicas: 1 },
      "staging",
    );
    assert.deepEqual([config.finish, config.release, config.idleGreenReplicas], [finish, release, 1]);
    assert.equal(parseRolloutConfig(stagingConfig(), "staging").idleGreenReplicas, 0);
    // As Pulumi hands them over: JSON strings.
    const raw = rolloutKeys(loadStackFile("staging").config);
    const decoded = parseRolloutConfig(
      { ...raw, finish: JSON.stringify(finish), release: JSON.stringify(release), idleGreenReplicas: "2" },
      "staging",
    );
    assert.deepEqual([decoded.finish, decoded.release, decoded.idleGreenReplicas], [finish, release, 2]);
  });

  const cases: [string, (c: Record<string, any>) => void, string][] = [
    [
      "a finish from a phase the playbook lacks",
      (c) => (c.finish = { ...finish, fromPhase: "fulll" }),
      `rollout:finish.fromPhase: expected one of ${TBS_PHASES} (phase ids of playbook tbs-strategy-framework), got "fulll"; did you mean full?`,
    ],
    [
      "a finish by a lookalike name",
      (c) => (c.finish = { ...finish, by: "dаna" }),
      'rollout:finish.by: expected a name of 1-64 ASCII letters, digits and . _ @ + - such as dana.devops (it is stored in the rollout state parameter, and one person must not pass for two), got "d\u0430na"',
    ],
    [
      "a finish with an unknown key",
      (c) => (c.finish = { ...finish, approvedBy: "x" }),
      'rollout:finish.approvedBy: unknown key (a typo?), got "x"',
    ],
    [
      "a finish without its time",
      (c) => (c.finish = { by: "dana", fromPhase: "full", evidence: [] }),
      "rollout:finish.at: expected an ISO-8601 time with its zone, such as 2026-11-02T15:00:00Z, got nothing",
    ],
    [
      "a release naming a service the stack lacks",
      (c) => (c.release = { ...release, services: ["wbe"] }),
      'rollout:release.services[0]: expected a service of rollout:services (web, api), got "wbe"; did you mean web?',
    ],
    [
      "a release naming a service twice",
      (c) => (c.release = { ...release, services: ["web", "web"] }),
      'rollout:release.services[1]: expected each service once, got "web" again',
    ],
    [
      "a release of no service",
      (c) => (c.release = { ...release, services: [] }),
      "rollout:release.services: expected at least one service the release changes, got []",
    ],
    [
      "a release numbered 0",
      (c) => (c.release = { ...release, number: 0 }),
      "rollout:release.number: expected a release number of at least 1, got 0",
    ],
    [
      "more idle green pods than a service may have",
      (c) => (c.idleGreenReplicas = 51),
      "rollout:idleGreenReplicas: expected an integer 0-50 (green's pods per service between releases), got 51",
    ],
  ];
  for (const [name, mutate, issue] of cases)
    it(`refuses ${name}`, () => {
      const config = structuredClone(stagingConfig());
      mutate(config);
      try {
        parseRolloutConfig(config, "staging");
      } catch (error) {
        assert.ok(error instanceof RolloutInputError, String(error));
        assert.deepEqual(error.issues, [issue]);
        return;
      }
      assert.fail("config was accepted");
    });
});
