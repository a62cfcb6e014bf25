import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRolloutConfig, SECRET_PATHS, type IsConfigSecret } from "../rollout/config";
import { decide } from "../rollout/gates";
import { loadStackFile, parseStackFile, rolloutKeys } from "../rollout/stackFile";
import { RolloutInputError } from "../rollout/validation";

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
        lines.map((m) => m![1]),
        transition.criteria.map((c) => c.id),
        `${recorded.from} -> ${recorded.to}: one evidence line per criterion, in order`,
      );
      const evidence = Object.fromEntries(lines.map((m) => [m![1]!, Number(m![2])]));
      const result = decide(transition, evidence);
      assert.equal(result.decision, recorded.decision, `${recorded.from} -> ${recorded.to}`);
      assert.deepEqual(
        lines.map((m) => m![3]),
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
      'rollout:network.ingressCidrs[1]: expected an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32, got "10.0.0.0/33"',
    ],
    [
      "ingress CIDR without a prefix",
      (c) => (c.network.ingressCidrs = ["10.0.0.1"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32, got "10.0.0.1"',
    ],
    [
      "ingress CIDR prefix too long for IPv6",
      (c) => (c.network.ingressCidrs = ["2001:db8::/129"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32, got "2001:db8::/129"',
    ],
    [
      "ingress CIDR that is a host name",
      (c) => (c.network.ingressCidrs = ["office.example.com/24"]),
      'rollout:network.ingressCidrs[0]: expected an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32, got "office.example.com/24"',
    ],
    [
      "rollbackAcknowledged not a time",
      (c) => (c.rollbackAcknowledged = "yesterday"),
      'rollout:rollbackAcknowledged: expected an ISO-8601 time such as 2026-11-02T15:00:00Z, got "yesterday"',
    ],
    [
      "rollbackAcknowledged in an RFC 2822 date (parseable, not ISO-8601)",
      (c) => (c.rollbackAcknowledged = "Fri, 20 Nov 2026 10:00:00 GMT"),
      'rollout:rollbackAcknowledged: expected an ISO-8601 time such as 2026-11-02T15:00:00Z, got "Fri, 20 Nov 2026 10:00:00 GMT"',
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
      'rollout:services[0].name: expected a DNS label of at most 21 characters such as web (it prefixes AWS target group names), got "Web_App"',
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
      'rollout:services[1].pathPattern: expected a path pattern such as /api/*, got "api/*"',
    ],
    [
      "bad replicas",
      (c) => (c.services[0].replicas = 0),
      "rollout:services[0].replicas: expected number to be >=1, got 0",
    ],
    [
      "bad cpu quantity",
      (c) => (c.services[0].resources = { cpuRequest: "lots" }),
      'rollout:services[0].resources.cpuRequest: expected a CPU quantity such as 250m, got "lots"',
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
      "rollout:network.certificateArn: expected an acm ARN",
    ],
    [
      "bad cohort header",
      (c) => (c.cohorts.header = "X Pilot"),
      'rollout:cohorts.header: expected an HTTP header name such as X-Pilot-User, got "X Pilot"',
    ],
    [
      "bad cohort user",
      (c) => (c.cohorts.users[2] = "anna smith"),
      'rollout:cohorts.users[2]: expected a user id of letters, digits and ._@+-, got "anna smith"',
    ],
    [
      "short db password",
      (c) => (c.database.password = "short"),
      "rollout:database.password: expected a secret of at least 8 characters, got [secret]",
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
      'rollout:signoffs.internal.qaEngineer.at: expected an ISO-8601 time such as 2026-11-02T15:00:00Z, got "yesterday"',
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
      "cohort users prefix each other with cookie",
      (c) => (c.cohorts.users = ["ann", "anna"]),
      "rollout:cohorts.users: expected no user id to be a prefix of another",
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
        "playbook, tier, phase, greenWeight, rollback, rollbackAcknowledged, cohorts, stickinessSeconds, services, " +
        "network, cluster, database, heavydb, alerts, signoffs, decisions, guardDutyScope, alarmActionsEnabled, featureFlags",
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

  it("accepts IPv4 and IPv6 ingress CIDRs, ISO-8601 acknowledgements and feature flags", () => {
    const config = stagingConfig();
    const parsed = parseRolloutConfig(
      {
        ...config,
        network: {
          ...(config.network as object),
          ingressCidrs: ["203.0.113.0/24", "2001:db8::/32", "0.0.0.0/0"],
        },
        rollbackAcknowledged: "2026-11-20T10:00:00Z",
        featureFlags: JSON.stringify({ newDashboard: true, legacyExport: false }),
      },
      "staging",
    );
    assert.deepEqual(parsed.network.ingressCidrs, ["203.0.113.0/24", "2001:db8::/32", "0.0.0.0/0"]);
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
      "rollout:database.password: expected a secret of at least 8 characters, got [secret]",
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
