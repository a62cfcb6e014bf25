import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRolloutConfig } from "../rollout/config";
import { loadStackFile, rolloutKeys } from "../rollout/stackFile";
import { RolloutInputError } from "../rollout/validation";

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
      'rollout:phase: expected one of preparation, internal, limited-pilot, broader-pilot, readiness, full (playbook tbs-strategy-framework), got "canary"',
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
      'rollout:database.password: expected a secret of at least 8 characters, got "short"',
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
      "unknown key (typo)",
      (c) => (c.greenWieght = 10),
      "rollout:greenWieght: unknown config key; did you mean rollout:greenWeight?",
    ],
    [
      "unknown nested key",
      (c) => (c.database.pasword = "x"),
      'rollout:database.pasword: unknown key (a typo?), got "x"',
    ],
    [
      "decision for unknown phase",
      (c) =>
        (c.decisions = [
          { from: "internal", to: "pilot", decision: "GO", at: "2026-01-01T00:00:00Z", by: "x" },
        ]),
      'rollout:decisions[0].to: expected a phase id (preparation, internal, limited-pilot, broader-pilot, readiness, full), got "pilot"',
    ],
    [
      "decision bad verdict",
      (c) =>
        (c.decisions = [
          { from: "internal", to: "limited-pilot", decision: "MAYBE", at: "2026-01-01T00:00:00Z", by: "x" },
        ]),
      "rollout:decisions[0].decision",
    ],
    [
      "signoff for unknown phase",
      (c) => (c.signoffs = { pilot: { qaEngineer: { approver: "q", at: "2026-01-01T00:00:00Z" } } }),
      "rollout:signoffs.pilot: expected a phase id",
    ],
    [
      "signoff bad time",
      (c) => (c.signoffs = { internal: { qaEngineer: { approver: "q", at: "yesterday" } } }),
      'rollout:signoffs.internal.qaEngineer.at: expected an ISO-8601 time, got "yesterday"',
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
    const message = refusal((c) => delete c.network.accessLogsBucket, "production");
    assert.ok(
      message.includes(
        "rollout:network.accessLogsBucket: expected a bucket name for ALB access logs in production",
      ),
    );
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
});
