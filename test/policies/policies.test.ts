import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as policyProxy from "@pulumi/policy/proxy";
import type { ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import { runPoliciesOffline, type OfflineResource } from "../../policies/offline";
import { allPolicies } from "../../policies/rules/all";
import { alarmRuleNames } from "../../policies/rules/gates";
import { TIER_RELAXED_POLICIES } from "../../policies/rules/rollout";
import { httpsTls12 } from "../../policies/rules/network";
import { unknownCheckingProxy, UnknownValueError } from "../../policies/rules/util";
import { alarmMetricInputs, alarmQueries, type AlarmPlace } from "../../rollout/alarmQueries";
import { alarmTargets, autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "../../rollout/alarms";
import { customMetricNamespace } from "../../rollout/names";
import type { Severity } from "../../rollout/playbook";
import { requiredRoles } from "../../rollout/decisions";
import { loadPlaybook } from "../../rollout/loaders";
import { isPerService } from "../../rollout/metricCatalogue";
import type { RolloutState } from "../../rollout/state";

/*
 * Unit tests of every policy: a compliant ("happy") world of resources shaped like the
 * program's, then one field broken per case with the exact message asserted. Policies run
 * through the offline twin, which wraps props in `unknownCheckingProxy` like the engine.
 */

// The engine's sentinel for a string unknown during preview (internal to @pulumi/policy).
const UNKNOWN = (policyProxy as unknown as { unknownStringValue: string }).unknownStringValue;

const tbs = loadPlaybook("tbs-strategy-framework");
const BLUE_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/0123456789abcdef";
const GREEN_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/0123456789abcdef";
const DB_ARN = "arn:aws:rds:eu-west-1:123456789012:db:data-db";
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts-critical";
const ROLLBACK_FN_PREFIX = "arn:aws:lambda:eu-west-1:123456789012:function:";
const BACKUP_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup";
const BACKUP_RESTORES_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores";

type Tier = "production" | "staging";

/**
 * The policies' own levels, with the staging tier allowed to the stack named `staging` only
 * (what policies/config/staging.json says): without it a staging claim is checked as production.
 */
const STAGING_TIER_ALLOWED = Object.fromEntries(
  TIER_RELAXED_POLICIES.map((policy) => [policy, { stagingTierStacks: ["staging"] }]),
);
const packConfigOf = (stack: string) => (stack === "staging" ? STAGING_TIER_ALLOWED : {});

function baseState(tier: Tier): RolloutState {
  return {
    version: 1,
    stack: tier,
    playbook: "tbs-strategy-framework",
    tier,
    phase: "limited-pilot",
    greenWeight: 0,
    rollback: false,
    revision: 0,
    latch: "unknown",
    alarmActionsEnabled: true,
    // limited-pilot is planned for 5-8 power users.
    cohortUsers: 5,
    services: [{ service: "web", blue: 100, green: 0, cohortRules: 1 }],
    decisions: [
      {
        from: "preparation",
        to: "internal",
        decision: "GO",
        at: "2026-10-26T16:00:00Z",
        by: "devops.lead",
        evidence: [],
      },
      {
        from: "internal",
        to: "limited-pilot",
        decision: "GO",
        at: "2026-11-02T16:00:00Z",
        by: "devops.lead",
        evidence: [],
      },
    ],
    signoffs: {
      "limited-pilot": {
        devopsEngineer: { approver: "dana", at: "2026-11-02T15:00:00Z" },
        qaEngineer: { approver: "quinn", at: "2026-11-02T15:05:00Z" },
        productManager: { approver: "pat", at: "2026-11-02T15:20:00Z" },
      },
    },
  };
}

function alarmName(spec: AlarmSpec, stack: string): string {
  return isPerService(spec) ? `${stack}-${spec.key}-web` : `${stack}-${spec.key}`;
}

/** The world's alert topics, per severity (the AlertTopics component's `alerts-<severity>`). */
const TOPICS: Record<Severity, string> = {
  critical: TOPIC,
  warning: "arn:aws:sns:eu-west-1:123456789012:alerts-warning",
  info: "arn:aws:sns:eu-west-1:123456789012:alerts-info",
};

/** An alarm as the QualityGates component builds it from its spec and alarmQueries, for the world's one service. */
function alarmResource(spec: AlarmSpec, stack: string): OfflineResource {
  const target = alarmTargets(spec, ["web"])[0]!;
  const place: AlarmPlace<string> = {
    loadBalancer: "app/router-alb/0123456789abcdef",
    targetGroup: (_service, colour) => (colour === "blue" ? BLUE_TG : GREEN_TG).replace(/^.*:/, ""),
    cluster: { clusterName: "tbs-production", namespace: "tbs" },
    customNamespace: customMetricNamespace(stack),
  };
  // The component's own translation: the world's alarm is the program's, field for field.
  const metric = alarmMetricInputs(alarmQueries(spec, target, place));
  const inputs = {
    name: alarmName(spec, stack),
    comparisonOperator: spec.comparison,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods,
    datapointsToAlarm: spec.datapointsToAlarm,
    treatMissingData: spec.treatMissingData,
    actionsEnabled: true,
    alarmActions: [TOPICS[spec.notify]],
    ...metric,
  };
  return { type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: `gates-${spec.key}-web`, inputs };
}

const rolePolicy = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "ShiftListenerRules",
      Effect: "Allow",
      Action: ["elasticloadbalancing:ModifyRule"],
      Resource: [
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/alb/0123456789abcdef/*",
      ],
    },
    {
      Sid: "DescribeRulesHasNoResourceLevelPermissions",
      Effect: "Allow",
      Action: "elasticloadbalancing:DescribeRules",
      Resource: "*",
    },
    {
      Sid: "XRayHasNoResourceLevelPermissions",
      Effect: "Allow",
      Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
      Resource: "*",
    },
  ],
};

/** A compliant stack, shaped like what the program registers, with one service (web). */
function world(tier: Tier = "production", state: RolloutState = baseState(tier)): OfflineResource[] {
  const stack = state.stack;
  const alarms = playbookAlarms(tbs);
  return [
    {
      type: "aws:ssm/parameter:Parameter",
      name: "rollout-state",
      inputs: { name: `/staged-rollout/${stack}/state`, type: "String", value: JSON.stringify(state) },
    },
    {
      type: "aws:lb/loadBalancer:LoadBalancer",
      name: "router-alb",
      inputs: { loadBalancerType: "application", internal: false, dropInvalidHeaderFields: true },
    },
    {
      type: "aws:lb/listener:Listener",
      name: "router-https",
      inputs: {
        port: 443,
        protocol: "HTTPS",
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        defaultActions: [
          { type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404" } },
        ],
      },
    },
    {
      type: "aws:lb/listener:Listener",
      name: "router-http-redirect",
      inputs: {
        port: 80,
        protocol: "HTTP",
        defaultActions: [
          { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
        ],
      },
    },
    ...(["blue", "green"] as const).map((colour) => ({
      type: "aws:lb/targetGroup:TargetGroup",
      name: `router-web-${colour}-tg`,
      inputs: {
        arn: colour === "blue" ? BLUE_TG : GREEN_TG,
        port: 8000,
        protocol: "HTTP",
        targetType: "ip",
        healthCheck: { enabled: true, path: "/healthz" },
      },
    })),
    {
      type: "aws:lb/listenerRule:ListenerRule",
      name: "router-web-weighted",
      inputs: {
        priority: 1000,
        actions: [
          {
            type: "forward",
            forward: {
              targetGroups: [
                { arn: BLUE_TG, weight: 100 - state.greenWeight },
                { arn: GREEN_TG, weight: state.greenWeight },
              ],
              stickiness: { enabled: true, duration: 3600 },
            },
          },
        ],
        conditions: [{ pathPattern: { values: ["/*"] } }],
      },
    },
    {
      type: "aws:lb/listenerRule:ListenerRule",
      name: "router-web-cohort-0",
      inputs: {
        priority: 10,
        actions: [{ type: "forward", targetGroupArn: GREEN_TG }],
        conditions: [
          { pathPattern: { values: ["/*"] } },
          { httpHeader: { httpHeaderName: "X-Pilot-User", values: ["anna"] } },
        ],
      },
    },
    {
      type: "aws:rds/instance:Instance",
      name: "data-db",
      inputs: {
        engine: "mysql",
        storageEncrypted: true,
        publiclyAccessible: false,
        deletionProtection: true,
        multiAz: true,
        backupRetentionPeriod: 14,
        // What the scanner rules ask of a database (policies/rules/scanner.ts).
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/1234",
        monitoringInterval: 60,
        monitoringRoleArn: "arn:aws:iam::123456789012:role/data-monitoring",
        enabledCloudwatchLogsExports: ["audit", "error", "slowquery"],
        optionGroupName: "data-mysql-options",
      },
    },
    {
      type: "aws:rds/snapshot:Snapshot",
      name: `data-snapshot-${state.phase}`,
      inputs: { dbInstanceIdentifier: "data-db", dbSnapshotIdentifier: `before-${state.phase}-202611021600` },
    },
    {
      type: "aws:backup/vault:Vault",
      name: "data-vault",
      inputs: { kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234" },
    },
    { type: "aws:backup/selection:Selection", name: "data-selection", inputs: { resources: [DB_ARN] } },
    ...alarms.map((spec) => alarmResource(spec, stack)),
    {
      type: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
      name: "gates-auto-rollback",
      inputs: {
        alarmName: `${stack}-auto-rollback`,
        alarmRule: autoRollbackAlarms(tbs)
          .map((spec) => `ALARM("${alarmName(spec, stack)}")`)
          .join(" OR "),
        actionsEnabled: true,
        alarmActions: [`${ROLLBACK_FN_PREFIX}${stack}-auto-rollback`],
      },
    },
    ...(["critical", "warning", "info"] as const).map((severity) => ({
      type: "aws:sns/topic:Topic",
      name: `alerts-${severity}`,
      inputs: { kmsMasterKeyId: "alias/aws/sns" },
    })),
    // Each topic SSL-only (scanner-awssolutions-sns3-sns-ssl-only).
    ...(["critical", "warning", "info"] as const).map((severity) => ({
      type: "aws:sns/topicPolicy:TopicPolicy",
      name: `alerts-${severity}-policy`,
      inputs: {
        arn: `arn:aws:sns:eu-west-1:123456789012:alerts-${severity}`,
        policy: JSON.stringify({
          Statement: [
            {
              Effect: "Deny",
              Principal: "*",
              Action: "sns:Publish",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
    })),
    // The ALB behind a web ACL of the managed rule groups (scanner-ckv2-aws-28-alb-waf).
    {
      type: "aws:wafv2/webAcl:WebAcl",
      name: "router-waf",
      inputs: {
        scope: "REGIONAL",
        visibilityConfig: {
          cloudwatchMetricsEnabled: true,
          metricName: "router-waf",
          sampledRequestsEnabled: true,
        },
        rules: [
          "AWSManagedRulesCommonRuleSet",
          "AWSManagedRulesKnownBadInputsRuleSet",
          "AWSManagedRulesAmazonIpReputationList",
        ].map((name, priority) => ({
          name,
          priority,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: "AWS", name } },
          visibilityConfig: {
            cloudwatchMetricsEnabled: true,
            metricName: name,
            sampledRequestsEnabled: true,
          },
        })),
      },
    },
    {
      type: "aws:wafv2/webAclAssociation:WebAclAssociation",
      name: "router-waf-association",
      inputs: {
        resourceArn:
          "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/router-alb/0123456789abcdef",
        webAclArn: "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/router-waf/1",
      },
    },
    {
      type: "aws:iam/role:Role",
      name: "auto-rollback-role",
      inputs: {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "lambda.amazonaws.com" } },
          ],
        }),
      },
    },
    {
      type: "aws:iam/rolePolicy:RolePolicy",
      name: "auto-rollback-policy",
      inputs: { policy: JSON.stringify(rolePolicy) },
    },
    {
      type: "aws:iam/role:Role",
      name: "data-backup-role",
      inputs: { managedPolicyArns: [BACKUP_SERVICE_POLICY] },
    },
    {
      type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
      name: "data-backup-restores",
      inputs: { role: "data-backup-role", policyArn: BACKUP_RESTORES_POLICY },
    },
    {
      type: "kubernetes:core/v1:Secret",
      name: "green-db-credentials",
      inputs: {
        metadata: { name: "green-db-credentials", namespace: "tbs" },
        stringData: { MYSQL_HOST: "db", HEAVYDB_USER: "tbs_green_ro", HEAVYDB_READ_ONLY: "true" },
      },
    },
    {
      type: "kubernetes:apps/v1:Deployment",
      name: "green-web",
      inputs: {
        metadata: { name: "web-green", namespace: "tbs", labels: { app: "web", colour: "green" } },
        spec: {
          template: {
            spec: {
              securityContext: { runAsNonRoot: true, runAsUser: 10001 },
              containers: [
                {
                  name: "web",
                  image: `web:2@sha256:${"0".repeat(64)}`,
                  resources: { limits: { cpu: "1", memory: "512Mi" } },
                },
              ],
            },
          },
        },
      },
    },
  ];
}

/** The world with one resource changed; `edit` gets a deep copy of its inputs. */
function edit(resources: OfflineResource[], name: string, change: (inputs: Record<string, any>) => void) {
  const copy = structuredClone(resources);
  const resource = copy.find((r) => r.name === name);
  assert.ok(resource, `no resource ${name}`);
  change(resource.inputs);
  return copy;
}

function without(resources: OfflineResource[], name: string) {
  assert.ok(
    resources.some((r) => r.name === name),
    `no resource ${name}`,
  );
  return resources.filter((r) => r.name !== name);
}

/** Messages of one policy over a world (the policies' own levels; the staging tier allowed to `staging` only). */
async function messages(
  policy: string,
  resources: OfflineResource[],
  stack = "production",
): Promise<string[]> {
  const violations = await runPoliciesOffline(resources, { stack, policyConfig: packConfigOf(stack) });
  return violations.filter((v) => v.policy === policy).map((v) => v.message);
}

/** Every sign-off the playbook requires for `phase`, recorded. */
function approvalsFor(phase: string): RolloutState["signoffs"] {
  const roles = requiredRoles(tbs, phase);
  if (roles.length === 0) return {};
  return {
    [phase]: Object.fromEntries(
      roles.map((r) => [r, { approver: `${r}.person`, at: "2026-11-02T15:00:00Z" }]),
    ),
  };
}

function withState(tier: Tier, change: (state: RolloutState) => void): OfflineResource[] {
  const state = baseState(tier);
  change(state);
  return world(tier, state);
}

describe("policy metadata", () => {
  it("names are unique and kebab-case; each has a description, remediation steps and an enforcement level", () => {
    const names = allPolicies.map((p) => p.name);
    assert.equal(new Set(names).size, names.length, `duplicates in ${names.join(", ")}`);
    // + 4 of issue 12: rollout-decisions-in-time-order, rollout-phase-minimum-soak,
    // rollout-signoffs-distinct-approvers, gates-alarms-match-playbook.
    // + 1 of issue 13: rollout-revision-current.
    // + 1 of issue 13: rollout-finish-needs-success (policies/rules/release.ts).
    assert.equal(names.length, 27 + 4 + 11 + 1 + 1);
    // Advisory by nature: a plan may size a pilot differently, on purpose.
    const advisory = new Set(["rollout-cohort-size-matches-phase"]);
    for (const policy of allPolicies) {
      assert.match(policy.name, /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/, policy.name);
      assert.ok(policy.description.length > 20, `${policy.name}: description`);
      assert.ok((policy.remediationSteps ?? "").length > 20, `${policy.name}: remediationSteps`);
      assert.equal(
        policy.enforcementLevel,
        advisory.has(policy.name) ? "advisory" : "mandatory",
        policy.name,
      );
      for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        assert.ok(typeof schema === "object" && "default" in schema, `${policy.name}.${key} has a default`);
      }
    }
  });

  it("every policy belongs to a domain file by its prefix", () => {
    for (const policy of allPolicies)
      assert.match(policy.name, /^(rollout|gates|data|network|runtime|scanner)-/);
  });
});

describe("the happy worlds", () => {
  for (const tier of ["production", "staging"] as const) {
    it(`a compliant ${tier} stack has no violation of any policy`, async () => {
      assert.deepEqual(
        await runPoliciesOffline(world(tier), { stack: tier, policyConfig: packConfigOf(tier) }),
        [],
      );
    });
  }

  it("a compliant stack in every phase of the playbook, at the phase's cap", async () => {
    for (const phase of tbs.phases) {
      const resources = withState("staging", (s) => {
        s.phase = phase.id;
        s.greenWeight = phase.trafficCapPercent;
        s.signoffs = approvalsFor(phase.id);
        // The world's cohort rule carries one user.
        s.cohortUsers = phase.users?.min ?? 1;
      }).filter((r) => phase.cohortRouting || !r.name.includes("-cohort-"));
      assert.deepEqual(
        await runPoliciesOffline(resources, { stack: "staging", policyConfig: STAGING_TIER_ALLOWED }),
        [],
        phase.id,
      );
    }
  });
});

describe("rollout rules", () => {
  it("rollout-state-recorded: the state parameter must exist and parse", async () => {
    const policy = "rollout-state-recorded";
    assert.deepEqual(await messages(policy, without(world(), "rollout-state")), [
      'no rollout state: expected the aws.ssm.Parameter "rollout-state" (/staged-rollout/production/state) holding the JSON RolloutState; ' +
        "index.ts registers it on every deploy, so restore it there: without it no rollout rule can check the phase, weights, decisions or sign-offs",
    ]);
    assert.deepEqual(
      await messages(
        policy,
        edit(world(), "rollout-state", (i) => (i.value = "{not json")),
      ),
      [
        "the rollout-state parameter does not hold a usable RolloutState (its value is not valid JSON); " +
          "it is written by index.ts from the stack config: fix rollout:playbook / rollout:phase or the program, not the parameter",
      ],
    );
    assert.deepEqual(
      await messages(
        policy,
        withState("production", (s) => (s.phase = "canary")),
      ),
      [
        'the rollout-state parameter does not hold a usable RolloutState (unknown phase "canary" in playbook tbs-strategy-framework: ' +
          "expected one of preparation, internal, limited-pilot, broader-pilot, readiness, full); " +
          "it is written by index.ts from the stack config: fix rollout:playbook / rollout:phase or the program, not the parameter",
      ],
    );
  });

  it("rollout-state-recorded: the parameter keeps the name the Lambda and the CLI read", async () => {
    const renamed = edit(world(), "rollout-state", (i) => (i.name = "/staged-rollout/state"));
    assert.deepEqual(await messages("rollout-state-recorded", renamed), [
      "the rollout-state parameter is named /staged-rollout/state, but the rollback Lambda and the CLI read /staged-rollout/production/state; " +
        'name it with stateParameterName("production") as index.ts does',
    ]);
  });

  it("rollout rules report nothing else without a readable state", async () => {
    const violations = await runPoliciesOffline(without(world(), "rollout-state"), {
      stack: "production",
      policyConfig: {},
    });
    assert.deepEqual(
      violations.map((v) => v.policy),
      ["rollout-state-recorded"],
    );
  });

  it("rollout-traffic-within-phase-cap: the configured weight and every weighted rule", async () => {
    const policy = "rollout-traffic-within-phase-cap";
    const over = withState("staging", (s) => {
      s.phase = "broader-pilot";
      s.greenWeight = 25;
    });
    assert.deepEqual(await messages(policy, over, "staging"), [
      "rollout:greenWeight is 25 % but phase broader-pilot of playbook tbs-strategy-framework caps green at 10 % of general traffic; " +
        "run `pulumi config set rollout:greenWeight 10` (or advance to a phase that allows 25 %)",
      "listener rule router-web-weighted sends 25 % of general traffic to green but phase broader-pilot caps it at 10 %; " +
        "run `pulumi config set rollout:greenWeight 10` and redeploy",
    ]);
    const ruleOnly = edit(world(), "router-web-weighted", (i) => {
      i.actions[0].forward.targetGroups[0].weight = 95;
      i.actions[0].forward.targetGroups[1].weight = 5;
    });
    assert.deepEqual(await messages(policy, ruleOnly), [
      "listener rule router-web-weighted sends 5 % of general traffic to green but phase limited-pilot caps it at 0 %; " +
        "run `pulumi config set rollout:greenWeight 0` and redeploy",
    ]);
  });

  it("rollout-traffic-within-phase-cap: green is known by its target group, not by its place in the forward", async () => {
    const policy = "rollout-traffic-within-phase-cap";
    const remedy = "run `pulumi config set rollout:greenWeight 0` and redeploy";
    // Green listed first: still 5 %, not the 95 % of the second entry.
    const swapped = edit(world(), "router-web-weighted", (i) => {
      i.actions[0].forward.targetGroups = [
        { arn: GREEN_TG, weight: 5 },
        { arn: BLUE_TG, weight: 95 },
      ];
    });
    assert.deepEqual(await messages(policy, swapped), [
      `listener rule router-web-weighted sends 5 % of general traffic to green but phase limited-pilot caps it at 0 %; ${remedy}`,
    ]);
    const single = (what: string, name: string) =>
      `${what} ${name} forwards all its traffic to green target group router-web-green-tg but phase limited-pilot caps green at 0 % of general traffic; ` +
      "remove that forward: general traffic reaches green only through the router's weighted rule (rollout:greenWeight)";
    // A plain forward to green from a rule that is not a cohort rule.
    const plainRule = edit(
      world(),
      "router-web-weighted",
      (i) => (i.actions = [{ type: "forward", targetGroupArn: GREEN_TG }]),
    );
    assert.deepEqual(await messages(policy, plainRule), [single("listener rule", "router-web-weighted")]);
    // A forward block with green alone.
    const oneGroup = edit(
      world(),
      "router-web-weighted",
      (i) => (i.actions[0].forward.targetGroups = [{ arn: GREEN_TG, weight: 1 }]),
    );
    assert.deepEqual(await messages(policy, oneGroup), [single("listener rule", "router-web-weighted")]);
    // The listener's default action.
    const byDefault = edit(
      world(),
      "router-https",
      (i) => (i.defaultActions = [{ type: "forward", targetGroupArn: GREEN_TG }]),
    );
    assert.deepEqual(await messages(policy, byDefault), [single("listener", "router-https")]);
    // Known by the colour tag whatever its Pulumi name, and by the name in the ARN when its own ARN is not known.
    const tagged = edit(
      world().map((r) => (r.name === "router-web-green-tg" ? { ...r, name: "router-web-next" } : r)),
      "router-web-next",
      (i) => {
        delete i.arn;
        i.name = "web-green";
        i.tags = { colour: "green" };
      },
    );
    assert.deepEqual(
      await messages(
        policy,
        edit(
          tagged,
          "router-web-weighted",
          (i) => (i.actions = [{ type: "forward", targetGroupArn: GREEN_TG }]),
        ),
      ),
      [
        "listener rule router-web-weighted forwards all its traffic to green target group router-web-next but phase limited-pilot caps green at 0 % of general traffic; " +
          "remove that forward: general traffic reaches green only through the router's weighted rule (rollout:greenWeight)",
      ],
    );
    // Forwards to blue alone, and the cohort rule's forward to green, are not general traffic to green.
    const blueOnly = edit(
      world(),
      "router-https",
      (i) => (i.defaultActions = [{ type: "forward", targetGroupArn: BLUE_TG }]),
    );
    assert.deepEqual(await messages(policy, blueOnly), []);
  });

  it("rollout-traffic-within-phase-cap: a rollback is never blocked by the configured weight", async () => {
    const rollingBack = withState("production", (s) => {
      s.greenWeight = 50;
      s.rollback = true;
    }).map((r) =>
      r.name === "router-web-weighted"
        ? edit([r], r.name, (i) => {
            i.actions[0].forward.targetGroups[0].weight = 100;
            i.actions[0].forward.targetGroups[1].weight = 0;
          })[0]!
        : r,
    );
    assert.deepEqual(await messages("rollout-traffic-within-phase-cap", rollingBack), []);
  });

  it("rollout-cohorts-only-in-pilot-phases: a cohort rule outside a pilot phase", async () => {
    const policy = "rollout-cohorts-only-in-pilot-phases";
    for (const phase of ["preparation", "full"]) {
      const resources = withState("staging", (s) => {
        s.phase = phase;
        s.greenWeight = phase === "full" ? 100 : 0;
      });
      assert.deepEqual(await messages(policy, resources, "staging"), [
        `listener rule router-web-cohort-0 routes the pilot cohort to green in phase ${phase}, where playbook tbs-strategy-framework routes no cohorts; ` +
          "remove the cohort rule, or move to a pilot phase (internal, limited-pilot, broader-pilot, readiness) with `pulumi config set rollout:phase <phase>`",
      ]);
    }
    // A header-matched rule counts whatever its name.
    const renamed = withState("staging", (s) => (s.phase = "preparation")).map((r) =>
      r.name === "router-web-cohort-0" ? { ...r, name: "router-web-pilot" } : r,
    );
    assert.equal((await messages(policy, renamed, "staging")).length, 1);
  });

  it("rollout-go-decisions-recorded: a skipped phase or a NO-GO in production", async () => {
    const policy = "rollout-go-decisions-recorded";
    const skipped = withState("production", (s) => {
      s.phase = "broader-pilot";
      s.signoffs["broader-pilot"] = {};
    });
    assert.deepEqual(await messages(policy, skipped), [
      "phase broader-pilot needs a GO decision for limited-pilot -> broader-pilot, but no decision is recorded; " +
        "evaluate and record it with `npm run rollout -- gates --stack production --record`, or set rollout:phase back to limited-pilot",
    ]);
    const noGo = withState("production", (s) =>
      s.decisions.push({
        from: "internal",
        to: "limited-pilot",
        decision: "NO-GO",
        at: "2026-11-03T09:00:00Z",
        by: "qa.lead",
        evidence: [],
      }),
    );
    assert.deepEqual(await messages(policy, noGo), [
      "phase limited-pilot needs a GO decision for internal -> limited-pilot, but the latest decision is NO-GO (2026-11-03T09:00:00Z); " +
        "evaluate and record it with `npm run rollout -- gates --stack production --record`, or set rollout:phase back to internal",
    ]);
    const staging = withState("staging", (s) => (s.decisions = []));
    assert.deepEqual(await messages(policy, staging, "staging"), [], "production only");
  });

  it("rollout-signoffs-complete: every required role, in production and in staging", async () => {
    const policy = "rollout-signoffs-complete";
    const missing = withState("production", (s) => {
      delete s.signoffs["limited-pilot"]!.qaEngineer;
      delete s.signoffs["limited-pilot"]!.productManager;
    });
    assert.deepEqual(await messages(policy, missing), [
      "phase limited-pilot needs sign-off from qaEngineer, productManager before it takes effect in production; " +
        "each approves with `npm run rollout -- signoff approve --stack production --phase limited-pilot --role <role> --approver <name>`",
    ]);
    // A staging-tier state is checked too; the staging pack config makes it advisory (see the offline twin tests).
    const staging = withState("staging", (s) => (s.signoffs = {}));
    assert.deepEqual(await messages(policy, staging, "staging"), [
      "phase limited-pilot needs sign-off from devopsEngineer, qaEngineer, productManager before it takes effect in staging; " +
        "each approves with `npm run rollout -- signoff approve --stack staging --phase limited-pilot --role <role> --approver <name>`",
    ]);
  });

  it("rollout-cohort-size-matches-phase: the pilot cohort's size within the phase's planned users", async () => {
    const policy = "rollout-cohort-size-matches-phase";
    for (const users of [5, 8]) {
      assert.deepEqual(
        await messages(
          policy,
          withState("production", (s) => (s.cohortUsers = users)),
        ),
        [],
      );
    }
    assert.deepEqual(
      await messages(
        policy,
        withState("production", (s) => (s.cohortUsers = 4)),
      ),
      [
        "the pilot cohort has 4 users, but phase limited-pilot of playbook tbs-strategy-framework is planned for 5-8; " +
          "add users in rollout:cohorts.users (`pulumi config set --path 'rollout:cohorts.users[<i>]' <user>`)",
      ],
    );
    assert.deepEqual(
      await messages(
        policy,
        withState("production", (s) => (s.cohortUsers = 9)),
      ),
      [
        "the pilot cohort has 9 users, but phase limited-pilot of playbook tbs-strategy-framework is planned for 5-8; " +
          "remove users in rollout:cohorts.users (`pulumi config set --path 'rollout:cohorts.users[<i>]' <user>`)",
      ],
    );
    // Phases that route no cohort have no pilot to size.
    const full = withState("production", (s) => {
      s.phase = "full";
      s.cohortUsers = 40;
    });
    assert.deepEqual(await messages(policy, full), []);
    assert.equal(allPolicies.find((p) => p.name === policy)!.enforcementLevel, "advisory");
  });

  it("rollout-state-recorded: the pack config decides the tier; a staging claim it does not allow is refused and checked as production", async () => {
    const policy = "rollout-state-recorded";
    const config = { [policy]: { requiredTier: "production" } };
    // The production stack relabelled staging, with everything the production-only checks would catch.
    const relabelled = withState("production", (s) => {
      s.tier = "staging";
      s.decisions = [];
      s.alarmActionsEnabled = false;
    }).map((r) =>
      r.type === "aws:rds/instance:Instance"
        ? { ...r, inputs: { ...r.inputs, deletionProtection: false, multiAz: false } }
        : r.type.startsWith("aws:cloudwatch/")
          ? { ...r, inputs: { ...r.inputs, actionsEnabled: false } }
          : r,
    );
    const productionChecks = [
      policy,
      "rollout-go-decisions-recorded",
      "gates-alarm-actions-enabled",
      "data-rds-deletion-protection",
      "data-rds-multi-az",
      "data-rds-in-backup-plan",
    ];
    const run = async (policyConfig: Record<string, unknown>) => {
      const violations = await runPoliciesOffline(without(relabelled, "data-selection"), {
        stack: "production",
        policyConfig,
      });
      // The tier decides rollout, gate and data checks; other domains do not look at it.
      const tiered = violations.filter((v) => /^(rollout|gates|data)-/.test(v.policy));
      assert.ok(tiered.every((v) => v.enforcementLevel === "mandatory"));
      assert.deepEqual([...new Set(tiered.map((v) => v.policy))], productionChecks);
      return violations.filter((v) => v.policy === policy).map((v) => v.message);
    };
    assert.deepEqual(await run(config), [
      "the rollout state records tier staging, but this stack's policy pack config requires tier production (rollout-state-recorded.requiredTier), " +
        "and the pack checks GO decisions, RDS deletion protection, RDS Multi-AZ, the backup plan and alarm actions as in production; " +
        "run `pulumi config set rollout:tier production` (without rollout:tier every stack is production)",
    ]);
    // No pack config at all (a stack with no policies/config/<stack>.json): the same, by default.
    const unbacked =
      "the rollout state records tier staging, but stack production's policy pack config does not allow it: " +
      'policies/config/production.json does not list "production" in rollout-state-recorded.stagingTierStacks, ' +
      "so the pack enforces production (GO decisions, RDS deletion protection, RDS Multi-AZ, the backup plan and alarm actions); " +
      "run `pulumi config set rollout:tier production` (without rollout:tier every stack is production), or, for a rehearsal stack, " +
      'list "production" in stagingTierStacks of rollout-state-recorded, rollout-go-decisions-recorded, data-rds-deletion-protection, ' +
      "data-rds-multi-az, data-rds-in-backup-plan, gates-alarm-actions-enabled, scanner-ckv-k8s-43-image-digest in policies/config/production.json and pass that file with --policy-pack-config";
    assert.deepEqual(await run({}), [unbacked]);
    // The staging pack config names the stacks it relaxes: passed to another stack, it relaxes nothing.
    assert.deepEqual(await run(STAGING_TIER_ALLOWED), [unbacked]);
    // Listed for the stack, the claim holds and the production-only checks stand down.
    const allowed = Object.fromEntries(
      TIER_RELAXED_POLICIES.map((p) => [p, { stagingTierStacks: ["production"] }]),
    );
    assert.deepEqual(
      (
        await runPoliciesOffline(without(relabelled, "data-selection"), {
          stack: "production",
          policyConfig: allowed,
        })
      ).filter((v) => /^(rollout|gates|data)-/.test(v.policy)),
      [],
    );
    // A production state under requiredTier production says nothing.
    assert.deepEqual(
      (await runPoliciesOffline(world(), { stack: "production", policyConfig: config }))
        .map((v) => v.policy)
        .filter((p) => p.startsWith("rollout-")),
      [],
    );
  });

  it("rollout-phase-snapshot-present: a snapshot named for the phase", async () => {
    const policy = "rollout-phase-snapshot-present";
    assert.deepEqual(await messages(policy, without(world(), "data-snapshot-limited-pilot")), [
      'phase limited-pilot has no pre-phase database snapshot: expected an aws.rds.Snapshot whose dbSnapshotIdentifier starts with "before-limited-pilot-"; ' +
        "keep DataProtection's data-snapshot-limited-pilot so the listener rules wait for it",
    ]);
    const stale = edit(
      world(),
      "data-snapshot-limited-pilot",
      (i) => (i.dbSnapshotIdentifier = "before-internal-202610261600"),
    );
    assert.deepEqual(await messages(policy, stale), [
      'phase limited-pilot has no pre-phase database snapshot: expected an aws.rds.Snapshot whose dbSnapshotIdentifier starts with "before-limited-pilot-" ' +
        "(found before-internal-202610261600); keep DataProtection's data-snapshot-limited-pilot so the listener rules wait for it",
    ]);
  });
});

describe("gate rules", () => {
  const errorRate = autoRollbackAlarms(tbs).find((a) => a.key === "errorRate-critical")!;
  const rows = autoRollbackAlarms(tbs).find((a) => a.metric.kind === "custom")!;

  it("gates-auto-rollback-alarms-match-playbook: a missing alarm", async () => {
    assert.deepEqual(
      await messages("gates-auto-rollback-alarms-match-playbook", without(world(), `gates-${rows.key}-web`)),
      [
        `auto-rollback alarm production-${rows.key} is missing: expected a CloudWatch MetricAlarm for ${rows.description} ` +
          "(playbook tbs-strategy-framework); the QualityGates component creates it from the playbook's alarm specs",
      ],
    );
  });

  const fields: [string, (i: Record<string, any>) => void, string, string | number][] = [
    ["threshold", (i) => (i.threshold = 10), "10", errorRate.threshold],
    [
      "period",
      (i) => (i.metricQueries[0].metric.period = 300),
      `300/${errorRate.periodSeconds}`,
      errorRate.periodSeconds,
    ],
    ["evaluationPeriods", (i) => (i.evaluationPeriods = 15), "15", errorRate.evaluationPeriods],
    ["datapointsToAlarm", (i) => (i.datapointsToAlarm = 1), "1", errorRate.datapointsToAlarm],
    [
      "comparisonOperator",
      (i) => (i.comparisonOperator = "LessThanThreshold"),
      "LessThanThreshold",
      errorRate.comparison,
    ],
  ];
  for (const [what, change, actual, expected] of fields) {
    it(`gates-auto-rollback-alarms-match-playbook: ${what} differs from the playbook`, async () => {
      assert.deepEqual(
        await messages(
          "gates-auto-rollback-alarms-match-playbook",
          edit(world(), "gates-errorRate-critical-web", change),
        ),
        [
          `alarm production-errorRate-critical-web has ${what} ${actual}, but playbook tbs-strategy-framework requires ${expected} ` +
            `(${errorRate.description}); derive the alarm from the playbook's alarm spec errorRate-critical instead of editing it`,
        ],
      );
    });
  }

  it("gates-auto-rollback-alarms-match-playbook: a missing datapointsToAlarm means every period", async () => {
    const policy = "gates-auto-rollback-alarms-match-playbook";
    // The playbook's spec alarms on every evaluated period, so leaving datapointsToAlarm unset is the same alarm.
    assert.equal(rows.datapointsToAlarm, rows.evaluationPeriods);
    const unset = edit(world(), `gates-${rows.key}-web`, (i) => delete i.datapointsToAlarm);
    assert.deepEqual(await messages(policy, unset), []);
    // Unset with more evaluation periods alarms on 15 of 15: both differ from the playbook.
    const longer = edit(unset, `gates-${rows.key}-web`, (i) => (i.evaluationPeriods = 15));
    const hint = `(${rows.description}); derive the alarm from the playbook's alarm spec ${rows.key} instead of editing it`;
    assert.deepEqual(await messages(policy, longer), [
      `alarm production-${rows.key} has evaluationPeriods 15, but playbook tbs-strategy-framework requires ${rows.evaluationPeriods} ${hint}`,
      `alarm production-${rows.key} has datapointsToAlarm unset, but playbook tbs-strategy-framework requires ${rows.datapointsToAlarm} ${hint}`,
    ]);
  });

  it("gates-composite-covers-auto-rollback: missing, extra and absent", async () => {
    const policy = "gates-composite-covers-auto-rollback";
    const dropFirst = edit(world(), "gates-auto-rollback", (i) => {
      i.alarmRule = alarmRuleNames(i.alarmRule)
        .slice(1)
        .map((n) => `ALARM("${n}")`)
        .join(" OR ");
    });
    const first = alarmName(autoRollbackAlarms(tbs)[0]!, "production");
    assert.deepEqual(await messages(policy, dropFirst), [
      `composite alarm production-auto-rollback does not watch ${first}; its alarmRule must be ALARM("...") OR ... over exactly ` +
        "the auto-rollback alarms of playbook tbs-strategy-framework, or those breaches never roll back",
    ]);
    const extra = edit(
      world(),
      "gates-auto-rollback",
      (i) => (i.alarmRule += ' OR ALARM("production-errorRate-warning-web")'),
    );
    assert.deepEqual(await messages(policy, extra), [
      "composite alarm production-auto-rollback also fires on production-errorRate-warning-web, which are not auto-rollback alarms of playbook tbs-strategy-framework; " +
        "remove them from its alarmRule so only the playbook's auto-rollback gates roll back",
    ]);
    assert.deepEqual(await messages(policy, without(world(), "gates-auto-rollback")), [
      `no composite auto-rollback alarm: expected a CloudWatch CompositeAlarm production-auto-rollback whose rule ORs the ${autoRollbackAlarms(tbs).length} ` +
        "auto-rollback alarms of playbook tbs-strategy-framework, with the rollback Lambda as its action",
    ]);
    // A composite under another name is not the rollback trigger, whatever its rule covers.
    const renamed = edit(world(), "gates-auto-rollback", (i) => (i.alarmName = "production-everything"));
    assert.deepEqual(await messages(policy, renamed), [
      `no composite auto-rollback alarm: expected a CloudWatch CompositeAlarm production-auto-rollback whose rule ORs the ${autoRollbackAlarms(tbs).length} ` +
        "auto-rollback alarms of playbook tbs-strategy-framework, with the rollback Lambda as its action " +
        '(found only production-everything; name it compositeAlarmName("production"))',
    ]);
  });

  it("gates-alarm-actions-enabled: muted or action-less alarms in production only", async () => {
    const policy = "gates-alarm-actions-enabled";
    assert.deepEqual(
      await messages(
        policy,
        edit(world(), "gates-errorRate-critical-web", (i) => (i.actionsEnabled = false)),
      ),
      [
        "alarm production-errorRate-critical-web has actions disabled in production, so a breach neither pages anyone nor rolls back; " +
          "set actionsEnabled: true (the stack's rollout:alarmActionsEnabled is true)",
      ],
    );
    // The stack's switch muting everything is one violation, naming the switch.
    const muted = withState("production", (s) => (s.alarmActionsEnabled = false)).map((r) =>
      r.type.startsWith("aws:cloudwatch/")
        ? { ...r, inputs: { ...r.inputs, actionsEnabled: false, alarmActions: [] } }
        : r,
    );
    const alarms = muted.filter((r) => r.type.startsWith("aws:cloudwatch/")).length;
    assert.deepEqual(await messages(policy, muted), [
      `rollout:alarmActionsEnabled is false in production, so ${alarms} alarms (the composite included) neither page anyone nor roll back; ` +
        "run `pulumi config set rollout:alarmActionsEnabled true`",
    ]);
    assert.deepEqual(
      await messages(
        policy,
        edit(world(), "gates-auto-rollback", (i) => delete i.alarmActions),
      ),
      [
        "alarm production-auto-rollback has no alarm actions in production; add its severity's SNS topic (the composite: the rollback Lambda) to alarmActions",
      ],
    );
    assert.deepEqual(
      await messages(
        policy,
        edit(world(), "gates-errorRate-critical-web", (i) => (i.alarmActions = [])),
      ),
      [
        "alarm production-errorRate-critical-web has no alarm actions in production; add its severity's SNS topic (the composite: the rollback Lambda) to alarmActions",
      ],
    );
    const staging = edit(world("staging"), "gates-errorRate-critical-web", (i) => (i.actionsEnabled = false));
    assert.deepEqual(await messages(policy, staging, "staging"), []);
  });
});

describe("data rules", () => {
  const cases: [string, string, (i: Record<string, any>) => void, string][] = [
    [
      "data-rds-encrypted",
      "data-db",
      (i) => (i.storageEncrypted = false),
      "RDS instance data-db is not encrypted at rest; set storageEncrypted: true with a KMS key",
    ],
    [
      "data-rds-not-public",
      "data-db",
      (i) => (i.publiclyAccessible = true),
      "RDS instance data-db is publicly accessible; set publiclyAccessible: false and reach it from the private subnets",
    ],
    [
      "data-rds-deletion-protection",
      "data-db",
      (i) => (i.deletionProtection = false),
      "RDS instance data-db has no deletion protection in production; run `pulumi config set --path rollout:database.deletionProtection true`",
    ],
    [
      "data-rds-multi-az",
      "data-db",
      (i) => (i.multiAz = false),
      "RDS instance data-db runs in a single Availability Zone (an AZ outage takes blue and green down together) in production; run `pulumi config set --path rollout:database.multiAz true`",
    ],
    [
      "data-rds-multi-az",
      "data-db",
      (i) => delete i.multiAz,
      "RDS instance data-db runs in a single Availability Zone (an AZ outage takes blue and green down together) in production; run `pulumi config set --path rollout:database.multiAz true`",
    ],
    [
      "data-rds-backup-retention",
      "data-db",
      (i) => (i.backupRetentionPeriod = 3),
      "RDS instance data-db keeps automated backups for 3 days, fewer than the required 7; run `pulumi config set --path rollout:database.backupRetentionDays 7`",
    ],
    [
      "data-rds-backup-retention",
      "data-db",
      (i) => delete i.backupRetentionPeriod,
      "RDS instance data-db keeps automated backups for the AWS default of 1 day, fewer than the required 7; run `pulumi config set --path rollout:database.backupRetentionDays 7`",
    ],
    [
      "data-backup-vault-cmk",
      "data-vault",
      (i) => delete i.kmsKeyArn,
      "backup vault data-vault uses the AWS-managed key; set kmsKeyArn to a customer-managed KMS key so access to restores stays under your key policy",
    ],
  ];
  for (const [policy, resource, change, message] of cases) {
    it(`${policy}: ${message.slice(0, 60)}...`, async () => {
      assert.deepEqual(await messages(policy, edit(world(), resource, change)), [message]);
    });
  }

  for (const [policy, setting] of [
    ["data-rds-deletion-protection", "deletionProtection"],
    ["data-rds-multi-az", "multiAz"],
  ] as const) {
    it(`${policy} applies to production only, and passes the compliant production world`, async () => {
      const staging = edit(world("staging"), "data-db", (i) => (i[setting] = false));
      assert.deepEqual(await messages(policy, staging, "staging"), []);
      assert.deepEqual(await messages(policy, world()), []);
    });
  }

  it("data-rds-backup-retention: the minimum is configurable", async () => {
    const violations = await runPoliciesOffline(world(), {
      stack: "production",
      policyConfig: { "data-rds-backup-retention": { minBackupRetentionDays: 21 } },
    });
    assert.deepEqual(
      violations.map((v) => v.message),
      [
        "RDS instance data-db keeps automated backups for 14 days, fewer than the required 21; run `pulumi config set --path rollout:database.backupRetentionDays 21`",
      ],
    );
  });

  it("data-rds-in-backup-plan: no selection, or one that selects another database", async () => {
    const policy = "data-rds-in-backup-plan";
    const message =
      "RDS instance data-db is not in any AWS Backup selection in production; add its ARN to the resources of an aws.backup.Selection of the stack's backup plan";
    assert.deepEqual(await messages(policy, without(world(), "data-selection")), [message]);
    const other = edit(
      edit(world(), "data-db", (i) => (i.arn = DB_ARN)),
      "data-selection",
      (i) => (i.resources = ["arn:aws:rds:eu-west-1:123456789012:db:other"]),
    );
    assert.deepEqual(await messages(policy, other), [message]);
    const same = edit(world(), "data-db", (i) => (i.arn = DB_ARN));
    assert.deepEqual(await messages(policy, same), []);
  });
});

describe("network rules", () => {
  const cases: [string, string, (i: Record<string, any>) => void, string][] = [
    [
      "network-https-tls12",
      "router-https",
      (i) => (i.sslPolicy = "ELBSecurityPolicy-2016-08"),
      "HTTPS listener router-https uses SSL policy ELBSecurityPolicy-2016-08, which is not a TLS 1.2+ policy; set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 or another of allowedSslPolicies",
    ],
    [
      "network-https-tls12",
      "router-https",
      (i) => delete i.sslPolicy,
      "HTTPS listener router-https sets no sslPolicy, so AWS applies ELBSecurityPolicy-2016-08 (TLS 1.0); set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 or another of allowedSslPolicies",
    ],
    [
      "network-http-redirect-only",
      "router-http-redirect",
      (i) => (i.defaultActions = [{ type: "forward", targetGroupArn: BLUE_TG }]),
      "HTTP listener router-http-redirect has a forward default action, so plain HTTP reaches the services; use only a redirect action with protocol HTTPS, port 443 and statusCode HTTP_301",
    ],
    [
      "network-http-redirect-only",
      "router-http-redirect",
      (i) => (i.defaultActions[0].redirect.protocol = "HTTP"),
      "HTTP listener router-http-redirect redirects to protocol HTTP, which keeps plain HTTP; use only a redirect action with protocol HTTPS, port 443 and statusCode HTTP_301",
    ],
    [
      "network-alb-drop-invalid-headers",
      "router-alb",
      (i) => delete i.dropInvalidHeaderFields,
      "load balancer router-alb passes invalid HTTP header fields to the targets; set dropInvalidHeaderFields: true (malformed headers could spoof the cohort header that routes users to green)",
    ],
    [
      "network-target-group-health-check",
      "router-web-green-tg",
      (i) => (i.healthCheck.enabled = false),
      "target group router-web-green-tg has health checks disabled; set healthCheck.enabled to true so failed pods leave the rotation",
    ],
    [
      "network-target-group-health-check",
      "router-web-green-tg",
      (i) => delete i.healthCheck,
      "target group router-web-green-tg has no health check path; set healthCheck.path to the service's healthCheckPath (rollout:services[].healthCheckPath)",
    ],
    [
      "network-weighted-forward-sticky",
      "router-web-weighted",
      (i) => {
        i.actions[0].forward.targetGroups[0].weight = 90;
        i.actions[0].forward.targetGroups[1].weight = 10;
        i.actions[0].forward.stickiness.enabled = false;
      },
      "listener rule router-web-weighted splits traffic across 2 target groups without group stickiness; set forward.stickiness {enabled: true, duration: rollout:stickinessSeconds} so a user stays on one colour",
    ],
    [
      "network-weighted-forward-sticky",
      "router-https",
      (i) =>
        (i.defaultActions = [
          {
            type: "forward",
            forward: {
              targetGroups: [
                { arn: BLUE_TG, weight: 90 },
                { arn: GREEN_TG, weight: 10 },
              ],
            },
          },
        ]),
      "listener router-https splits traffic across 2 target groups without group stickiness; set forward.stickiness {enabled: true, duration: rollout:stickinessSeconds} so a user stays on one colour",
    ],
  ];
  for (const [policy, resource, change, message] of cases) {
    it(`${policy}: ${message.slice(0, 60)}...`, async () => {
      assert.deepEqual(await messages(policy, edit(world(), resource, change)), [message]);
    });
  }

  it("network-weighted-forward-sticky: a forward with all the weight on one group (a rollback) splits nobody", async () => {
    const rollingBack = edit(world(), "router-web-weighted", (i) => {
      i.actions[0].forward.targetGroups[0].weight = 100;
      i.actions[0].forward.targetGroups[1].weight = 0;
      i.actions[0].forward.stickiness.enabled = false;
    });
    assert.deepEqual(await messages("network-weighted-forward-sticky", rollingBack), []);
  });

  it("network-https-tls12: the allow-list is configurable", async () => {
    const violations = await runPoliciesOffline(world(), {
      stack: "production",
      policyConfig: {
        "network-https-tls12": { allowedSslPolicies: ["ELBSecurityPolicy-TLS13-1-3-2021-06"] },
      },
    });
    assert.deepEqual(
      violations.map((v) => [v.policy, v.resource]),
      [["network-https-tls12", "aws:lb/listener:Listener::router-https"]],
    );
  });
});

describe("runtime rules", () => {
  const policyWith = (statements: unknown[]) => (i: Record<string, any>) =>
    (i.policy = JSON.stringify({ Version: "2012-10-17", Statement: statements }));
  const cases: [string, string, (i: Record<string, any>) => void, string[]][] = [
    [
      "runtime-lambda-iam-least-privilege",
      "auto-rollback-policy",
      policyWith([{ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }]),
      [
        "role policy auto-rollback-policy statement Everything allows *; name the actions the function calls instead of a wildcard",
        'role policy auto-rollback-policy statement Everything grants * on Resource "*"; scope it to the ARNs it touches ' +
          '(only elasticloadbalancing:Describe*, xray:PutTraceSegments, xray:PutTelemetryRecords may use "*": AWS has no resource-level permissions for them; cloudwatch:PutMetricData only with a cloudwatch:namespace condition)',
      ],
    ],
    [
      "runtime-lambda-iam-least-privilege",
      "auto-rollback-policy",
      policyWith([
        { Effect: "Allow", Action: ["ssm:*"], Resource: "arn:aws:ssm:eu-west-1:123456789012:parameter/x" },
      ]),
      [
        "role policy auto-rollback-policy statement #0 allows ssm:*; name the actions the function calls instead of a wildcard",
      ],
    ],
    [
      "runtime-lambda-iam-least-privilege",
      "auto-rollback-policy",
      policyWith([
        {
          Sid: "DescribeRulesHasNoResourceLevelPermissions",
          Effect: "Allow",
          Action: ["elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule"],
          Resource: "*",
        },
      ]),
      [
        'role policy auto-rollback-policy statement DescribeRulesHasNoResourceLevelPermissions grants elasticloadbalancing:ModifyRule on Resource "*"; scope it to the ARNs it touches ' +
          '(only elasticloadbalancing:Describe*, xray:PutTraceSegments, xray:PutTelemetryRecords may use "*": AWS has no resource-level permissions for them; cloudwatch:PutMetricData only with a cloudwatch:namespace condition)',
      ],
    ],
    [
      "runtime-lambda-iam-least-privilege",
      "auto-rollback-policy",
      // Service Authorization Reference: PutMetricData has no resource types, cloudwatch:namespace narrows it.
      policyWith([
        { Sid: "AnyNamespace", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*" },
        {
          Sid: "OwnNamespace",
          Effect: "Allow",
          Action: "cloudwatch:PutMetricData",
          Resource: "*",
          Condition: { StringEquals: { "cloudwatch:namespace": "StagedRollout/production" } },
        },
      ]),
      [
        'role policy auto-rollback-policy statement AnyNamespace grants cloudwatch:PutMetricData on Resource "*"; scope it to the ARNs it touches ' +
          '(only elasticloadbalancing:Describe*, xray:PutTraceSegments, xray:PutTelemetryRecords may use "*": AWS has no resource-level permissions for them; cloudwatch:PutMetricData only with a cloudwatch:namespace condition)',
      ],
    ],
    [
      "runtime-lambda-iam-least-privilege",
      "auto-rollback-policy",
      policyWith([{ Sid: "AllBut", Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" }]),
      [
        "role policy auto-rollback-policy statement AllBut uses NotAction, which allows every other action; list the actions it needs in Action instead",
      ],
    ],
    [
      "runtime-sns-encrypted",
      "alerts-critical",
      (i) => delete i.kmsMasterKeyId,
      [
        "SNS topic alerts-critical is not encrypted; set kmsMasterKeyId to a KMS key that allows cloudwatch.amazonaws.com to publish",
      ],
    ],
    [
      "runtime-green-heavydb-read-only",
      "green-db-credentials",
      (i) => (i.stringData.HEAVYDB_READ_ONLY = "false"),
      [
        'secret green-db-credentials sets HEAVYDB_READ_ONLY to "false"; green must open HeavyDB read-only: set it to "true"',
      ],
    ],
    [
      "runtime-green-heavydb-read-only",
      "green-db-credentials",
      (i) => delete i.stringData.HEAVYDB_READ_ONLY,
      [
        'secret green-db-credentials does not set HEAVYDB_READ_ONLY; green must open HeavyDB read-only: set HEAVYDB_READ_ONLY to "true"',
      ],
    ],
    [
      "runtime-containers-non-root-with-limits",
      "green-web",
      (i) => delete i.spec.template.spec.securityContext,
      [
        "deployment green-web container web may run as root; set securityContext.runAsNonRoot: true on the pod or the container",
      ],
    ],
    [
      "runtime-containers-non-root-with-limits",
      "green-web",
      (i) => (i.spec.template.spec.containers[0].securityContext = { runAsNonRoot: false }),
      [
        "deployment green-web container web may run as root; set securityContext.runAsNonRoot: true on the pod or the container",
      ],
    ],
    [
      "runtime-containers-non-root-with-limits",
      "green-web",
      (i) => delete i.spec.template.spec.containers[0].resources.limits.memory,
      [
        "deployment green-web container web has no memory limit; set resources.limits.memory (rollout:services[].resources)",
      ],
    ],
    [
      "runtime-containers-non-root-with-limits",
      "green-web",
      (i) => delete i.spec.template.spec.containers[0].resources,
      [
        "deployment green-web container web has no cpu or memory limit; set resources.limits.cpu and resources.limits.memory (rollout:services[].resources)",
      ],
    ],
  ];
  for (const [policy, resource, change, expected] of cases) {
    it(`${policy}: ${expected[0]!.slice(0, 60)}...`, async () => {
      assert.deepEqual(await messages(policy, edit(world(), resource, change)), expected);
    });
  }

  it("runtime-lambda-iam-least-privilege: a standalone IAM policy, a role's inline policies, managed policies and attachments", async () => {
    const policy = "runtime-lambda-iam-least-privilege";
    const tooBroad = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AllOfSsm",
          Effect: "Allow",
          Action: "ssm:*",
          Resource: "arn:aws:ssm:eu-west-1:123456789012:parameter/x",
        },
      ],
    });
    const standalone = [
      ...world(),
      { type: "aws:iam/policy:Policy", name: "rollback-extra", inputs: { policy: tooBroad } },
    ];
    assert.deepEqual(await messages(policy, standalone), [
      "IAM policy rollback-extra statement AllOfSsm allows ssm:*; name the actions the function calls instead of a wildcard",
    ]);
    const inline = edit(
      world(),
      "auto-rollback-role",
      (i) => (i.inlinePolicies = [{ name: "extra", policy: tooBroad }]),
    );
    assert.deepEqual(await messages(policy, inline), [
      "role auto-rollback-role inline policy extra statement AllOfSsm allows ssm:*; name the actions the function calls instead of a wildcard",
    ]);
    const advice =
      "which grants far more than the role needs; detach it and grant the exact actions in an aws.iam.RolePolicy scoped to the resources it touches";
    const managed = edit(
      world(),
      "auto-rollback-role",
      (i) =>
        (i.managedPolicyArns = [
          "arn:aws:iam::aws:policy/AdministratorAccess",
          "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
          "arn:aws:iam::aws:policy/PowerUserAccess",
        ]),
    );
    assert.deepEqual(await messages(policy, managed), [
      `role auto-rollback-role attaches the managed policy arn:aws:iam::aws:policy/AdministratorAccess (deniedManagedPolicies: arn:*:iam::aws:policy/AdministratorAccess), ${advice}`,
      `role auto-rollback-role attaches the managed policy arn:aws:iam::aws:policy/PowerUserAccess (deniedManagedPolicies: arn:*:iam::aws:policy/PowerUserAccess), ${advice}`,
    ]);
    const attached = edit(
      world(),
      "data-backup-restores",
      (i) => (i.policyArn = "arn:aws:iam::aws:policy/AmazonSSMFullAccess"),
    );
    assert.deepEqual(await messages(policy, attached), [
      `role policy attachment data-backup-restores attaches the managed policy arn:aws:iam::aws:policy/AmazonSSMFullAccess (deniedManagedPolicies: arn:*:iam::aws:policy/*FullAccess), ${advice}`,
    ]);
    // The deny-list is configurable: here the backup role's own service policy is refused too.
    const violations = await runPoliciesOffline(world(), {
      stack: "production",
      policyConfig: {
        [policy]: { deniedManagedPolicies: ["arn:aws:iam::aws:policy/service-role/AWSBackup*"] },
      },
    });
    assert.deepEqual(
      violations.map((v) => v.message),
      [
        `role data-backup-role attaches the managed policy ${BACKUP_SERVICE_POLICY} (deniedManagedPolicies: arn:aws:iam::aws:policy/service-role/AWSBackup*), ${advice}`,
        `role policy attachment data-backup-restores attaches the managed policy ${BACKUP_RESTORES_POLICY} (deniedManagedPolicies: arn:aws:iam::aws:policy/service-role/AWSBackup*), ${advice}`,
      ],
    );
    // Managed policy ARNs unknown at preview are skipped; the known ones are still checked.
    const partlyUnknown = edit(
      world(),
      "auto-rollback-role",
      (i) => (i.managedPolicyArns = [UNKNOWN, "arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
    );
    assert.deepEqual(await messages(policy, partlyUnknown), [
      `role auto-rollback-role attaches the managed policy arn:aws:iam::aws:policy/AmazonS3FullAccess (deniedManagedPolicies: arn:*:iam::aws:policy/*FullAccess), ${advice}`,
    ]);
  });

  it("runtime-green-heavydb-read-only: base64 data, and a blue secret is not green's", async () => {
    const policy = "runtime-green-heavydb-read-only";
    const viaData = edit(world(), "green-db-credentials", (i) => {
      delete i.stringData;
      i.data = { HEAVYDB_READ_ONLY: Buffer.from("true").toString("base64") };
    });
    assert.deepEqual(await messages(policy, viaData), []);
    const blue: OfflineResource = {
      type: "kubernetes:core/v1:Secret",
      name: "blue-db-credentials",
      inputs: { metadata: { name: "blue-db-credentials", namespace: "tbs" }, stringData: {} },
    };
    assert.deepEqual(await messages(policy, [...world(), blue]), []);
  });

  it("runtime-green-heavydb-read-only: green's Secret is known by its Kubernetes name or colour label, never its Pulumi name", async () => {
    const policy = "runtime-green-heavydb-read-only";
    const notSet =
      'does not set HEAVYDB_READ_ONLY; green must open HeavyDB read-only: set HEAVYDB_READ_ONLY to "true"';
    // A Pulumi name that says nothing: still green's by metadata.name.
    const renamed = world().map((r) =>
      r.name === "green-db-credentials"
        ? {
            ...r,
            name: "credentials-1",
            inputs: { ...r.inputs, stringData: { HEAVYDB_USER: "tbs_green_ro" } },
          }
        : r,
    );
    assert.deepEqual(await messages(policy, renamed), [`secret green-db-credentials ${notSet}`]);
    // Another name, labelled green.
    const labelled = edit(world(), "green-db-credentials", (i) => {
      i.metadata = { name: "next-db-credentials", namespace: "tbs", labels: { colour: "green" } };
      i.stringData.HEAVYDB_READ_ONLY = "false";
    });
    assert.deepEqual(await messages(policy, labelled), [
      'secret next-db-credentials sets HEAVYDB_READ_ONLY to "false"; green must open HeavyDB read-only: set it to "true"',
    ]);
    // A Pulumi name starting green- does not make blue's Secret green's, and then green runs without one.
    const blueOnly = edit(world(), "green-db-credentials", (i) => {
      i.metadata.name = "blue-db-credentials";
      i.stringData.HEAVYDB_READ_ONLY = "false";
    });
    const missing =
      "without a green database credentials Secret, so nothing tells green to open HeavyDB read-only; " +
      'create green-db-credentials with HEAVYDB_READ_ONLY: "true" (the Environment component does) and load it with envFrom';
    assert.deepEqual(await messages(policy, blueOnly), [`green deployment web-green runs ${missing}`]);
    const apiGreen = structuredClone(world().find((r) => r.name === "green-web")!);
    apiGreen.name = "green-api";
    apiGreen.inputs.metadata = { name: "api-green", namespace: "tbs", labels: {} };
    (apiGreen.inputs as Record<string, any>).spec.template.metadata = {
      labels: { app: "api", colour: "green" },
    };
    assert.deepEqual(await messages(policy, [...without(world(), "green-db-credentials"), apiGreen]), [
      `green deployments web-green, api-green run ${missing}`,
    ]);
  });

  it("runtime-green-heavydb-read-only: a secret value (as the mock engine records it) is unwrapped like the engine does", async () => {
    const secret = (value: unknown) => ({
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value,
    });
    const wrapped = edit(
      world(),
      "green-db-credentials",
      (i) => (i.stringData = secret({ HEAVYDB_READ_ONLY: "false" })),
    );
    assert.deepEqual(await messages("runtime-green-heavydb-read-only", wrapped), [
      'secret green-db-credentials sets HEAVYDB_READ_ONLY to "false"; green must open HeavyDB read-only: set it to "true"',
    ]);
  });
});

describe("unknown values at preview", () => {
  const cannotRun = (policy: string, path: string) =>
    `can't run policy '${policy}' from policy pack 'staged-rollout@v0.1.0' during preview: string value at .${path} can't be known during preview`;

  it("an unknown sslPolicy is the engine's advisory can't-run note, not a crash and not silence", async () => {
    const resources = edit(world(), "router-https", (i) => (i.sslPolicy = UNKNOWN));
    assert.deepEqual(await runPoliciesOffline(resources, { stack: "production", policyConfig: {} }), [
      {
        policy: "network-https-tls12",
        enforcementLevel: "advisory",
        message: cannotRun("network-https-tls12", "sslPolicy"),
        resource: "aws:lb/listener:Listener::router-https",
      },
    ]);
  });

  it("the policy lets the engine's UnknownValueError escape (the engine reports it as 'can't run during preview')", () => {
    const props = unknownCheckingProxy({ protocol: "HTTPS", port: 443, sslPolicy: UNKNOWN });
    const args = {
      type: "aws:lb/listener:Listener",
      name: "router-https",
      props,
      getConfig: () => ({}),
    } as unknown as ResourceValidationArgs;
    const validate = httpsTls12.validateResource as ResourceValidation;
    assert.throws(
      () => validate(args, () => assert.fail("no violation expected")),
      (error: unknown) => error instanceof UnknownValueError,
    );
  });

  it("an unknown state value makes every rollout rule report nothing", async () => {
    const resources = edit(
      withState("production", (s) => {
        s.greenWeight = 50;
        s.signoffs = {};
      }),
      "rollout-state",
      (i) => (i.value = UNKNOWN),
    );
    assert.deepEqual(await runPoliciesOffline(resources, { stack: "production", policyConfig: {} }), []);
  });

  it("unknown ARNs, weights of an unknown target group list, and an unknown secret value are tolerated", async () => {
    let resources = edit(world(), "router-web-cohort-0", (i) => (i.actions[0].targetGroupArn = UNKNOWN));
    resources = edit(resources, "data-selection", (i) => (i.resources = [UNKNOWN]));
    resources = edit(
      resources,
      "router-web-weighted",
      (i) => (i.actions[0].forward.targetGroups[1].arn = UNKNOWN),
    );
    resources = edit(resources, "green-db-credentials", (i) => (i.stringData.HEAVYDB_READ_ONLY = UNKNOWN));
    resources = edit(resources, "data-vault", (i) => (i.kmsKeyArn = UNKNOWN));
    resources = edit(resources, "gates-auto-rollback", (i) => (i.alarmActions = UNKNOWN));
    resources = edit(resources, "data-snapshot-limited-pilot", (i) => (i.dbSnapshotIdentifier = UNKNOWN));
    assert.deepEqual(await runPoliciesOffline(resources, { stack: "production", policyConfig: {} }), []);
  });

  it("a whole unknown actions list: the policies that need it say they cannot run, the others pass", async () => {
    const resources = edit(world(), "router-web-weighted", (i) => (i.actions = UNKNOWN));
    assert.deepEqual(await runPoliciesOffline(resources, { stack: "production", policyConfig: {} }), [
      {
        policy: "rollout-traffic-within-phase-cap",
        enforcementLevel: "advisory",
        message: cannotRun("rollout-traffic-within-phase-cap", "actions"),
        resource: "stack",
      },
      {
        policy: "network-weighted-forward-sticky",
        enforcementLevel: "advisory",
        message: cannotRun("network-weighted-forward-sticky", "actions"),
        resource: "aws:lb/listenerRule:ListenerRule::router-web-weighted",
      },
    ]);
  });

  it("a listener with unknown actions does not hide a later rule's green share", async () => {
    // The listener comes before the rules in the resource list: its unknown default action is met first.
    let resources = edit(world(), "router-https", (i) => (i.defaultActions = UNKNOWN));
    resources = edit(
      resources,
      "router-web-weighted",
      (i) => (i.actions = [{ type: "forward", targetGroupArn: GREEN_TG }]),
    );
    const violations = await runPoliciesOffline(resources, { stack: "production", policyConfig: {} });
    assert.deepEqual(
      violations
        .filter((v) => v.policy === "rollout-traffic-within-phase-cap")
        .map((v) => [v.enforcementLevel, v.message]),
      [
        [
          "mandatory",
          "listener rule router-web-weighted forwards all its traffic to green target group router-web-green-tg but phase limited-pilot caps green at 0 % of general traffic; " +
            "remove that forward: general traffic reaches green only through the router's weighted rule (rollout:greenWeight)",
        ],
        ["advisory", cannotRun("rollout-traffic-within-phase-cap", "defaultActions")],
      ],
    );
  });

  it("a can't-run note is advisory even where the policy is mandatory, so it never fails a plan", async () => {
    const resources = edit(world(), "router-https", (i) => (i.sslPolicy = UNKNOWN));
    const violations = await runPoliciesOffline(resources, {
      stack: "production",
      policyConfig: { "network-https-tls12": { enforcementLevel: "mandatory" } },
    });
    assert.deepEqual(
      violations.map((v) => [v.policy, v.enforcementLevel]),
      [["network-https-tls12", "advisory"]],
    );
  });
});

describe("the offline twin", () => {
  it("reports resource violations against type::name and stack violations against the state parameter", async () => {
    const resources = withState("production", (s) => (s.greenWeight = 20));
    const violations = await runPoliciesOffline(resources, { stack: "production", policyConfig: {} });
    assert.deepEqual(
      violations.map((v) => [v.policy, v.enforcementLevel, v.resource]),
      [
        ["rollout-traffic-within-phase-cap", "mandatory", "aws:ssm/parameter:Parameter::rollout-state"],
        [
          "rollout-traffic-within-phase-cap",
          "mandatory",
          "aws:lb/listenerRule:ListenerRule::router-web-weighted",
        ],
      ],
    );
    const noState = await runPoliciesOffline(without(world(), "rollout-state"), {
      stack: "production",
      policyConfig: {},
    });
    assert.deepEqual(
      noState.map((v) => v.resource),
      ["stack"],
    );
  });

  it("enforcement levels: a policy's entry, then `all`, then the policy's own; disabled policies do not run", async () => {
    const resources = withState("production", (s) => (s.signoffs = {}));
    const levels = async (policyConfig: Record<string, unknown>) =>
      (await runPoliciesOffline(resources, { stack: "production", policyConfig })).map(
        (v) => `${v.policy}:${v.enforcementLevel}`,
      );
    assert.deepEqual(await levels({}), ["rollout-signoffs-complete:mandatory"]);
    assert.deepEqual(await levels({ "rollout-signoffs-complete": "advisory" }), [
      "rollout-signoffs-complete:advisory",
    ]);
    assert.deepEqual(await levels({ all: "advisory" }), ["rollout-signoffs-complete:advisory"]);
    assert.deepEqual(
      await levels({ all: "advisory", "rollout-signoffs-complete": { enforcementLevel: "mandatory" } }),
      ["rollout-signoffs-complete:mandatory"],
    );
    assert.deepEqual(await levels({ "rollout-signoffs-complete": "disabled" }), []);
  });

  it("reads policies/config/<stack>.json when no config is given", async () => {
    // A staging-tier state with no sign-offs and no decisions: sign-offs are advisory in staging,
    // GO decisions are checked on production-tier states only.
    const staging = withState("staging", (s) => {
      s.signoffs = {};
      s.decisions = [];
    });
    const violations = await runPoliciesOffline(staging, { stack: "staging" });
    assert.deepEqual(
      violations.map((v) => `${v.policy}:${v.enforcementLevel}`),
      ["rollout-signoffs-complete:advisory"],
    );
    const production = await runPoliciesOffline(
      withState("production", (s) => (s.signoffs = {})),
      { stack: "production" },
    );
    assert.deepEqual(
      production.map((v) => `${v.policy}:${v.enforcementLevel}`),
      ["rollout-signoffs-complete:mandatory"],
    );
  });

  it("a policy that throws anything but an unknown value fails the run loudly", async () => {
    const broken = {
      name: "broken-policy",
      description: "throws",
      validateStack: () => {
        throw new TypeError("boom");
      },
    };
    await assert.rejects(
      runPoliciesOffline(world(), { stack: "production", policyConfig: {} }, [broken]),
      /policy broken-policy failed on the stack: boom/,
    );
  });
});
