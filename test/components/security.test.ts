import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { AlertTopics } from "../../components/alerts";
import { AutoRollback, type AutoRollbackArgs } from "../../components/autoRollback";
import {
  AUDIT_EVENTS,
  DataProtection,
  ENHANCED_MONITORING_POLICY_ARN,
  majorVersionOf,
  type DataProtectionArgs,
} from "../../components/dataProtection";
import { TrafficRouter, type TrafficRouterArgs } from "../../components/trafficRouter";
import { autoName } from "../../cli/mockEngine";
import {
  LOG_RETENTION_DAYS,
  MONITORING_INTERVAL_SECONDS,
  parseRolloutConfig,
  PERFORMANCE_INSIGHTS_RETENTION_DAYS,
  WAF_MANAGED_RULE_GROUPS,
} from "../../rollout/config";
import { loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import { RolloutInputError } from "../../rollout/validation";
import { loadModels } from "../support/awsModel";
import { ResourceRecorder, type RecordedResource } from "../support/mocks";

/**
 * The security settings of issue 12, component by component under the mock engine: the ALB's
 * WAF, the SSL-only topic and queue policies, the rollback function's key (log group and
 * environment), and the database's Performance Insights, Enhanced Monitoring and log exports.
 * Exact inputs, from each component's args alone; the scanner policies that judge them are
 * test/policies/scannerRules.test.ts.
 */

type Inputs = Record<string, any>;
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

async function register(build: () => void): Promise<RecordedResource[]> {
  const recorder = new ResourceRecorder();
  await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
  await pulumi.runtime.runInPulumiStack(async () => {
    build();
  });
  await pulumi.runtime.disconnect();
  return recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
}

async function refuses(build: () => void, message: string): Promise<void> {
  const recorder = new ResourceRecorder();
  await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
  assert.throws(build, { message });
  await pulumi.runtime.disconnect();
  assert.deepEqual(
    recorder.resources.map((r) => r.name),
    [],
    "nothing registered, not even the component",
  );
}

function inputsOf(resources: RecordedResource[], name: string): Inputs {
  const found = resources.filter((r) => r.name === name);
  assert.equal(found.length, 1, `${name} among ${resources.map((r) => r.name).join(", ")}`);
  return found[0]!.inputs;
}

const namesOf = (resources: RecordedResource[], type: string) =>
  resources.filter((r) => r.type === type).map((r) => r.name);

/** The ARN the mock engine gives an auto-named resource (`<name>-<7 hex>`). */
const autoArn = (service: string, type: string, name: string, path = "") =>
  `arn:aws:${service}:${REGION}:${ACCOUNT}:${path}${autoName(type, name)}`;
const ROLE_ARN = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${autoName("aws:iam/role:Role", name)}`;

// ---------------------------------------------------------------------------------------

function routerArgs(change: (a: TrafficRouterArgs) => void = () => {}): TrafficRouterArgs {
  const args: TrafficRouterArgs = {
    stack: "unit",
    vpcId: "vpc-1",
    publicSubnetIds: ["subnet-a", "subnet-b"],
    certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    ingressCidrs: ["0.0.0.0/0"],
    podSecurityGroupId: "sg-pods",
    production: false,
    services: [
      { name: "web", pathPattern: "/*", healthCheckPath: "/healthz", bluePort: 8000, greenPort: 3000 },
    ],
    traffic: [{ service: "web", priorityBlock: 499, blue: 100, green: 0, cohortRoutes: [] }],
  };
  change(args);
  return args;
}

describe("TrafficRouter: WAF in front of the ALB", () => {
  const visibility = (metricName: string) => ({
    cloudwatchMetricsEnabled: true,
    metricName,
    sampledRequestsEnabled: true,
  });

  it("by default: a REGIONAL web ACL of AWS's three managed rule groups, associated with the ALB", async () => {
    const resources = await register(() => new TrafficRouter("router", routerArgs()));
    assert.deepEqual(inputsOf(resources, "router-waf"), {
      description: "staged-rollout unit: AWS managed rules in front of the rollout ALB",
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      rules: [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
      ].map((group, priority) => ({
        name: group,
        priority,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group } },
        visibilityConfig: visibility(group),
      })),
      visibilityConfig: visibility("router-waf"),
    });
    assert.deepEqual(inputsOf(resources, "router-waf-association"), {
      resourceArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/${autoName("aws:lb/loadBalancer:LoadBalancer", "router-alb")}/0123456789abcdef`,
      webAclArn: `arn:aws:wafv2:${REGION}:${ACCOUNT}:router-waf`,
    });
  });

  it("the managed groups fit the 1,500 WCUs a web ACL gets at its base price", () => {
    assert.equal(
      WAF_MANAGED_RULE_GROUPS.reduce((n, g) => n + g.capacity, 0),
      925,
    );
  });

  it("waf: false registers neither the web ACL nor its association", async () => {
    const resources = await register(
      () =>
        new TrafficRouter(
          "router",
          routerArgs((a) => (a.waf = false)),
        ),
    );
    assert.deepEqual(namesOf(resources, "aws:wafv2/webAcl:WebAcl"), []);
    assert.deepEqual(namesOf(resources, "aws:wafv2/webAclAssociation:WebAclAssociation"), []);
    assert.equal(namesOf(resources, "aws:lb/loadBalancer:LoadBalancer").length, 1);
  });
});

// ---------------------------------------------------------------------------------------

describe("AlertTopics: SSL-only topic policies", () => {
  it("each severity's topic denies sns:Publish without TLS and lets only this account's alarms publish", async () => {
    const resources = await register(
      () => new AlertTopics("alerts", { stack: "unit", emails: [], https: [] }),
    );
    assert.deepEqual(namesOf(resources, "aws:sns/topicPolicy:TopicPolicy"), [
      "alerts-critical-policy",
      "alerts-warning-policy",
      "alerts-info-policy",
    ]);
    for (const severity of ["critical", "warning", "info"]) {
      const topicArn = autoArn("sns", "aws:sns/topic:Topic", `alerts-${severity}`);
      const policy = inputsOf(resources, `alerts-${severity}-policy`);
      assert.equal(policy.arn, topicArn);
      assert.deepEqual(JSON.parse(policy.policy as string), {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AlarmsOfThisAccountPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topicArn,
            Condition: { ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:*` } },
          },
          {
            Sid: "PublishOnlyOverTls",
            Effect: "Deny",
            Principal: "*",
            Action: "sns:Publish",
            Resource: topicArn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      });
    }
  });
});

// ---------------------------------------------------------------------------------------

function rollbackArgs(change: (a: AutoRollbackArgs) => void = () => {}): AutoRollbackArgs {
  const args: AutoRollbackArgs = {
    stack: "unit",
    listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2",
    targetGroupPairs: [{ service: "web", blue: "arn:blue", green: "arn:green" }],
    criticalTopicArn: "arn:aws:sns:eu-west-1:123456789012:critical",
    criticalTopicKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
  };
  change(args);
  return args;
}

describe("AutoRollback: a customer-managed key for the log group and the environment, an SSL-only DLQ", () => {
  const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:auto-rollback-kms`;
  const LOG_GROUP = "/aws/lambda/unit-auto-rollback";
  const DLQ_ARN = autoArn("sqs", "aws:sqs/queue:Queue", "auto-rollback-dlq");
  const tlsOnly = {
    Sid: "OnlyOverTls",
    Effect: "Deny",
    Principal: "*",
    Action: "sqs:*",
    Resource: DLQ_ARN,
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };

  it("the key lets CloudWatch Logs use it for the function's log group only, and the function's role decrypt", async () => {
    const resources = await register(() => new AutoRollback("auto-rollback", rollbackArgs()));
    const key = inputsOf(resources, "auto-rollback-kms");
    assert.deepEqual(
      [key.description, key.enableKeyRotation, key.deletionWindowInDays],
      ["staged-rollout unit rollback function: its log group and environment", true, 30],
    );
    assert.deepEqual(JSON.parse(key.policy as string), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AccountAdministers",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          Sid: "CloudWatchLogsEncryptsTheFunctionsLogGroup",
          Effect: "Allow",
          Principal: { Service: `logs.${REGION}.amazonaws.com` },
          Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          Resource: "*",
          Condition: {
            ArnLike: {
              "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP}`,
            },
          },
        },
        {
          Sid: "FunctionRoleDecryptsItsEnvironment",
          Effect: "Allow",
          Principal: { AWS: ROLE_ARN("auto-rollback-role") },
          Action: "kms:Decrypt",
          Resource: "*",
        },
      ],
    });
  });

  it("the log group: that key and 365 days by default; the function's environment: that key", async () => {
    const resources = await register(() => new AutoRollback("auto-rollback", rollbackArgs()));
    assert.deepEqual(inputsOf(resources, "auto-rollback-logs"), {
      name: LOG_GROUP,
      retentionInDays: 365,
      kmsKeyId: KEY_ARN,
    });
    assert.equal(inputsOf(resources, "auto-rollback-fn").kmsKeyArn, KEY_ARN);
  });

  it("logRetentionDays sets the log group's retention", async () => {
    const resources = await register(
      () =>
        new AutoRollback(
          "auto-rollback",
          rollbackArgs((a) => (a.logRetentionDays = 731)),
        ),
    );
    assert.equal(inputsOf(resources, "auto-rollback-logs").retentionInDays, 731);
  });

  for (const days of [0, 10, 366]) {
    it(`refuses a retention CloudWatch does not offer: ${days} days`, async () => {
      await refuses(
        () =>
          new AutoRollback(
            "auto-rollback",
            rollbackArgs((a) => (a.logRetentionDays = days)),
          ),
        `AutoRollback: logRetentionDays is ${days}; expected one of ${LOG_RETENTION_DAYS.join(", ")} (CloudWatch Logs PutRetentionPolicy)`,
      );
    });
  }

  it("the DLQ always has a policy refusing plain HTTP, even with no EventBridge rule to allow", async () => {
    const resources = await register(() => new AutoRollback("auto-rollback", rollbackArgs()));
    const policy = inputsOf(resources, "auto-rollback-dlq-policy");
    assert.equal(policy.queueUrl, "auto-rollback-dlq-id");
    assert.deepEqual(JSON.parse(policy.policy as string), { Version: "2012-10-17", Statement: [tlsOnly] });
  });

  it("with EventBridge rules, their dead-letter statements come first and the TLS denial last", async () => {
    const resources = await register(
      () =>
        new AutoRollback(
          "auto-rollback",
          rollbackArgs((a) => (a.securityEvents = true)),
        ),
    );
    const statements = JSON.parse(inputsOf(resources, "auto-rollback-dlq-policy").policy as string)
      .Statement as Inputs[];
    assert.deepEqual(
      statements.map((s) => [s.Sid, s.Effect]),
      [
        ["SecurityEventRuleDeadLetters", "Allow"],
        ["OnlyOverTls", "Deny"],
      ],
    );
    assert.deepEqual(statements[1], tlsOnly);
  });
});

// ---------------------------------------------------------------------------------------

function dataArgs(change: (a: DataProtectionArgs) => void = () => {}): DataProtectionArgs {
  const args: DataProtectionArgs = {
    stack: "unit",
    production: true,
    vpcId: "vpc-1",
    subnetIds: ["subnet-c", "subnet-d"],
    allowedSecurityGroupIds: ["sg-pods"],
    instanceClass: "db.r6g.large",
    engineVersion: "8.4.3",
    allocatedStorageGb: 100,
    dbName: "tbs",
    username: "tbs_admin",
    password: "master-password",
    backupRetentionDays: 14,
    deletionProtection: true,
    multiAz: true,
    phase: "limited-pilot",
    phaseEntryId: "202611021600",
  };
  change(args);
  return args;
}

describe("DataProtection: Performance Insights, Enhanced Monitoring, audit and log exports", () => {
  const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:data-kms`;
  const watched = (db: Inputs) => ({
    performanceInsightsEnabled: db.performanceInsightsEnabled,
    performanceInsightsKmsKeyId: db.performanceInsightsKmsKeyId,
    performanceInsightsRetentionPeriod: db.performanceInsightsRetentionPeriod,
    monitoringInterval: db.monitoringInterval,
    monitoringRoleArn: db.monitoringRoleArn,
    enabledCloudwatchLogsExports: db.enabledCloudwatchLogsExports,
    optionGroupName: db.optionGroupName,
  });

  it("by default: Performance Insights with the database's key for 7 days, monitoring every 60 s, audit, error and slow-query logs", async () => {
    const resources = await register(() => new DataProtection("data", dataArgs()));
    assert.deepEqual(watched(inputsOf(resources, "data-mysql")), {
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: KEY_ARN,
      performanceInsightsRetentionPeriod: 7,
      monitoringInterval: 60,
      monitoringRoleArn: ROLE_ARN("data-monitoring-role"),
      enabledCloudwatchLogsExports: ["audit", "error", "slowquery"],
      optionGroupName: "data-mysql-options-id",
    });
  });

  it("the option group runs the MariaDB Audit Plugin for the engine's major: connections, DDL and grants, not RDS's own checks", async () => {
    const resources = await register(() => new DataProtection("data", dataArgs()));
    assert.deepEqual(inputsOf(resources, "data-mysql-options"), {
      engineName: "mysql",
      majorEngineVersion: "8.4",
      optionGroupDescription: "staged-rollout MySQL: MariaDB Audit Plugin",
      options: [
        {
          optionName: "MARIADB_AUDIT_PLUGIN",
          optionSettings: [
            { name: "SERVER_AUDIT_EVENTS", value: "CONNECT,QUERY_DDL,QUERY_DCL" },
            { name: "SERVER_AUDIT_EXCL_USERS", value: "rdsadmin" },
          ],
        },
      ],
    });
    assert.equal(AUDIT_EVENTS, "CONNECT,QUERY_DDL,QUERY_DCL");
    assert.deepEqual(["8.0", "8.4", "8.4.3", "8.0.36"].map(majorVersionOf), ["8.0", "8.4", "8.4", "8.0"]);
  });

  it("the monitoring role: RDS monitoring for this account only, with AWS's AmazonRDSEnhancedMonitoringRole", async () => {
    const resources = await register(() => new DataProtection("data", dataArgs()));
    const role = inputsOf(resources, "data-monitoring-role");
    assert.deepEqual(role.managedPolicyArns, [ENHANCED_MONITORING_POLICY_ARN]);
    assert.equal(
      ENHANCED_MONITORING_POLICY_ARN,
      "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    );
    assert.deepEqual(JSON.parse(role.assumeRolePolicy as string), {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "monitoring.rds.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
        },
      ],
    });
  });

  it("monitoringIntervalSeconds 0: no monitoring role, Enhanced Monitoring off", async () => {
    const resources = await register(
      () =>
        new DataProtection(
          "data",
          dataArgs((a) => (a.monitoringIntervalSeconds = 0)),
        ),
    );
    assert.deepEqual(namesOf(resources, "aws:iam/role:Role"), ["data-backup-role"]);
    const db = inputsOf(resources, "data-mysql");
    assert.deepEqual([db.monitoringInterval, db.monitoringRoleArn], [0, undefined]);
  });

  it("performanceInsightsRetentionDays and monitoringIntervalSeconds reach the instance", async () => {
    const resources = await register(
      () =>
        new DataProtection(
          "data",
          dataArgs((a) => ((a.performanceInsightsRetentionDays = 93), (a.monitoringIntervalSeconds = 15))),
        ),
    );
    const db = inputsOf(resources, "data-mysql");
    assert.deepEqual([db.performanceInsightsRetentionPeriod, db.monitoringInterval], [93, 15]);
  });

  it("leaves Performance Insights off on a class RDS offers it on none (db.t4g.small)", async () => {
    const resources = await register(
      () =>
        new DataProtection(
          "data",
          dataArgs((a) => (a.instanceClass = "db.t4g.small")),
        ),
    );
    const db = watched(inputsOf(resources, "data-mysql"));
    assert.deepEqual(
      [db.performanceInsightsEnabled, db.performanceInsightsKmsKeyId, db.performanceInsightsRetentionPeriod],
      [false, undefined, undefined],
    );
  });

  const refusals: [string, (a: DataProtectionArgs) => void, string][] = [
    [
      "30 days of Performance Insights",
      (a) => (a.performanceInsightsRetentionDays = 30),
      "DataProtection: performanceInsightsRetentionDays is 30; expected 7, a multiple of 31 up to 713, or 731 (RDS PerformanceInsightsRetentionPeriod)",
    ],
    [
      "Enhanced Monitoring every 20 s",
      (a) => (a.monitoringIntervalSeconds = 20),
      "DataProtection: monitoringIntervalSeconds is 20; expected one of 0, 1, 5, 10, 15, 30, 60 (RDS MonitoringInterval, 0 is off)",
    ],
  ];
  for (const [name, change, message] of refusals) {
    it(`refuses ${name}`, async () => {
      await refuses(() => new DataProtection("data", dataArgs(change)), message);
    });
  }
});

// ---------------------------------------------------------------------------------------

describe("the new config keys: AWS's own value lists, defaults, refusals", () => {
  const models = loadModels();
  const docEnum = (service: string, shape: string, member: string) =>
    models.get(service)!.shapes[shape]!.members![member]!.doc!.find((d) => d.enum)!.enum;

  it("the value lists are the ones botocore's models document", () => {
    assert.deepEqual(
      [...LOG_RETENTION_DAYS],
      docEnum("logs", "PutRetentionPolicyRequest", "retentionInDays"),
    );
    assert.deepEqual(
      [...PERFORMANCE_INSIGHTS_RETENTION_DAYS],
      docEnum("rds", "CreateDBInstanceMessage", "PerformanceInsightsRetentionPeriod"),
    );
    assert.deepEqual(
      [...MONITORING_INTERVAL_SECONDS],
      docEnum("rds", "CreateDBInstanceMessage", "MonitoringInterval"),
    );
  });

  const parse = (stack: string, changes: Record<string, unknown>) => {
    const raw = rolloutKeys(loadStackFile(stack).config);
    return parseRolloutConfig({ ...raw, ...changes }, stack);
  };

  it("defaults: WAF on and a year of logs on both tiers; Performance Insights 7 days, monitoring every 60 s", () => {
    for (const stack of ["staging", "production"]) {
      const config = parse(stack, {});
      assert.deepEqual(
        [
          config.waf,
          config.logRetentionDays,
          config.database.performanceInsightsRetentionDays,
          config.database.monitoringIntervalSeconds,
        ],
        [true, 365, 7, 60],
        stack,
      );
    }
    const set = parse("production", { waf: "false", logRetentionDays: "731" });
    assert.deepEqual([set.waf, set.logRetentionDays], [false, 731]);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    [
      "a retention CloudWatch does not offer",
      { logRetentionDays: "10" },
      `rollout:logRetentionDays: expected one of ${LOG_RETENTION_DAYS.join(", ")} (days CloudWatch Logs retains a log group), got 10`,
    ],
    ["waf as a word", { waf: "yes" }, 'rollout:waf: expected true or false, got "yes"'],
  ];
  for (const [name, changes, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parse("production", changes),
        (error: unknown) => error instanceof RolloutInputError && error.issues.includes(message),
      );
    });
  }

  it("refuses database settings RDS does not take, naming the key", () => {
    const database = JSON.parse(loadStackFile("production").config["rollout:database"] as string) as Inputs;
    assert.throws(
      () =>
        parse("production", {
          database: { ...database, performanceInsightsRetentionDays: 30, monitoringIntervalSeconds: 20 },
        }),
      (error: unknown) =>
        error instanceof RolloutInputError &&
        error.issues.includes(
          `rollout:database.performanceInsightsRetentionDays: expected one of ${PERFORMANCE_INSIGHTS_RETENTION_DAYS.join(", ")} (days of Performance Insights retention: 7, a multiple of 31 up to 713, or 731), got 30`,
        ) &&
        error.issues.includes(
          "rollout:database.monitoringIntervalSeconds: expected one of 0, 1, 5, 10, 15, 30, 60 (seconds between Enhanced Monitoring samples; 0 is off), got 20",
        ),
    );
  });
});
