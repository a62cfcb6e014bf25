import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as policyProxy from "@pulumi/policy/proxy";
import {
  enforcementLevelOf,
  loadPolicyConfig,
  runPoliciesOffline,
  type OfflineResource,
} from "../../policies/offline";
import { allPolicies } from "../../policies/rules/all";
import { albWaf, imagesPinnedByDigest, scannerPolicies } from "../../policies/rules/scanner";
import { loadStackFile } from "../../rollout/loaders";
import type { StackFile } from "../../rollout/stackFile";
import { planStack, type PlanResult, type PlanViolation } from "../../cli/offlinePlan";

/*
 * The scanner rules (policies/rules/scanner.ts): each one a Checkov or cdk-nag check, judged
 * over what the real program registers. The committed stacks pass; production configs a
 * scanner would fail are refused by the policy named after that check, with the exact message;
 * settings no config can reach (a topic policy, a key) are broken in the committed plan's
 * resources, standing for a program edited by hand.
 */

// The engine's sentinel for a string unknown during preview (internal to @pulumi/policy).
const UNKNOWN = (policyProxy as unknown as { unknownStringValue: string }).unknownStringValue;

type Finding = [policy: string, level: string, resource: string, message: string];
const findings = (violations: PlanViolation[]): Finding[] =>
  violations
    .filter((v) => v.policy.startsWith("scanner-"))
    .map((v) => [v.policy, v.enforcementLevel, v.resource, v.message]);

const plans = new Map<string, Promise<PlanResult>>();
/** The committed stack's plan, run once per stack. */
function committed(stack: string): Promise<PlanResult> {
  let plan = plans.get(stack);
  if (!plan) {
    plan = planStack(loadStackFile(stack));
    plans.set(stack, plan);
  }
  return plan;
}

/** The committed stack file with some `rollout:` keys replaced. */
function variant(stack: string, changes: Record<string, unknown>): StackFile {
  const base = loadStackFile(stack);
  const config = { ...base.config };
  for (const [key, value] of Object.entries(changes))
    config[`rollout:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  return { ...base, config };
}

type Service = { name: string; blue: { image: string }; green: { image: string } };
/** Production's services with one colour's image of one service replaced. */
function withImage(service: string, colour: "blue" | "green", image: string): Record<string, unknown> {
  const services = JSON.parse(loadStackFile("production").config["rollout:services"]!) as Service[];
  services.find((s) => s.name === service)![colour].image = image;
  return { services };
}

const DIGEST = "0b51d7ca6649eedd89eb355495fefdefbc7ffa8fd9f62d60a90b41a65a32f4e1";
const REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tbs";

/** The committed production plan's resources, one changed (or removed), through the scanner rules only. */
async function edited(
  name: string,
  change: ((inputs: Record<string, any>) => void) | "remove",
  stack = "production",
): Promise<Finding[]> {
  const plan = await committed(stack);
  let resources: OfflineResource[] = structuredClone(plan.resources);
  assert.ok(
    resources.some((r) => r.name === name),
    `the ${stack} plan has no resource ${name}`,
  );
  if (change === "remove") resources = resources.filter((r) => r.name !== name);
  else change(resources.find((r) => r.name === name)!.inputs);
  return scan(resources, stack);
}

async function scan(
  resources: OfflineResource[],
  stack = "production",
  policyConfig = {},
): Promise<Finding[]> {
  return findings(await runPoliciesOffline(resources, { stack, policyConfig }, scannerPolicies));
}

const R = {
  alb: "aws:lb/loadBalancer:LoadBalancer::router-alb",
  acl: "aws:wafv2/webAcl:WebAcl::router-waf",
  logs: "aws:cloudwatch/logGroup:LogGroup::auto-rollback-logs",
  fn: "aws:lambda/function:Function::auto-rollback-fn",
  db: "aws:rds/instance:Instance::data-mysql",
  dlq: "aws:sqs/queue:Queue::auto-rollback-dlq",
  topic: (severity: string) => `aws:sns/topic:Topic::alerts-${severity}`,
  deployment: (name: string) => `kubernetes:apps/v1:Deployment::${name}`,
};
const WAF = "scanner-ckv2-aws-28-alb-waf";
const SNS3 = "scanner-awssolutions-sns3-sns-ssl-only";
const SQS4 = "scanner-awssolutions-sqs4-sqs-ssl-only";
const LOG_CMK = "scanner-ckv-aws-158-log-group-cmk";
const LOG_YEAR = "scanner-ckv-aws-338-log-retention-1-year";
const LAMBDA_CMK = "scanner-ckv-aws-173-lambda-env-cmk";
const PI = "scanner-ckv-aws-353-rds-performance-insights";
const PI_CMK = "scanner-ckv-aws-354-rds-performance-insights-cmk";
const MONITORING = "scanner-ckv-aws-118-rds-enhanced-monitoring";
const EXPORTS = "scanner-ckv-aws-129-rds-log-exports";
const DIGEST_POLICY = "scanner-ckv-k8s-43-image-digest";

const NO_WAF =
  "load balancer router-alb faces the internet without a WAF web ACL; run `pulumi config set rollout:waf true` " +
  "(or associate a web ACL with aws.wafv2.WebAclAssociation)";
const retention = (days: number) =>
  `log group auto-rollback-logs keeps its events ${days} days, fewer than 365; run \`pulumi config set rollout:logRetentionDays 365\` ` +
  "(or set retentionInDays to one of CloudWatch's periods of at least that)";
const unpinned = (deployment: string, container: string, image: string) =>
  `deployment ${deployment} container "${container}" runs "${image}", which a push can move; pin it by digest in ` +
  "rollout:services[].blue/green.image (<repository>@sha256:<64 hex>, e.g. from `aws ecr describe-images`)";
const SNS_FIX =
  'accepts sns:Publish over plain HTTP; add a topic policy statement {Effect: "Deny", Principal: "*", Action: "sns:Publish", ' +
  'Condition: {Bool: {"aws:SecureTransport": "false"}}}';

describe("scanner policies: names, citations, levels", () => {
  it("eleven policies, each named after the Checkov or cdk-nag check it mirrors and citing its rule file", () => {
    assert.deepEqual(
      scannerPolicies.map((p) => p.name),
      [WAF, SNS3, SQS4, LOG_CMK, LOG_YEAR, LAMBDA_CMK, PI, PI_CMK, MONITORING, EXPORTS, DIGEST_POLICY],
    );
    for (const policy of scannerPolicies) {
      assert.ok(allPolicies.includes(policy), `${policy.name} is in the pack`);
      const check = /^scanner-(ckv2?-aws-\d+|ckv-k8s-\d+|awssolutions-[a-z]+\d+)-[a-z0-9-]+$/.exec(
        policy.name,
      );
      assert.ok(check, policy.name);
      // The check's own id, as the scanner spells it, and the file that defines it.
      const id = check[1]!.startsWith("awssolutions-")
        ? check[1]!
            .replace("awssolutions-", "AwsSolutions-")
            .replace(/-([a-z]+)(\d+)$/, (_, s: string, n) => `-${s.toUpperCase()}${n}`)
        : check[1]!.toUpperCase().replace(/-/g, "_");
      assert.ok(policy.description.includes(id), `${policy.name} names ${id}`);
      assert.match(
        policy.description,
        /(checkov\/[a-z/_0-9]+\/[A-Za-z0-9]+\.(py|yaml)|src\/rules\/[a-z]+\/[A-Za-z]+\.ts)/,
      );
      assert.equal(policy.enforcementLevel, "mandatory", policy.name);
      assert.ok((policy.remediationSteps ?? "").length > 40, `${policy.name}: remediation`);
      for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {}))
        assert.ok(typeof schema === "object" && "default" in schema, `${policy.name}.${key} has a default`);
    }
  });
});

describe("the committed stacks pass every scanner policy", () => {
  for (const stack of ["staging", "production"]) {
    it(`Pulumi.${stack}.yaml`, async () => {
      assert.deepEqual(findings((await committed(stack)).violations), []);
    });
  }

  it("staging's images by tag are no finding: digests are production's rule", async () => {
    const staging = await committed("staging");
    const images = staging.resources
      .filter((r) => r.type === "kubernetes:apps/v1:Deployment")
      .map((r) => (r.inputs as any).spec.template.spec.containers[0].image as string);
    assert.ok(images.some((image) => !image.includes("@sha256:")));
    assert.deepEqual(findings(staging.violations), []);
  });
});

describe("hostile production configs: refused by the check a scanner would fail", () => {
  const cases: [string, Record<string, unknown>, Finding[]][] = [
    ["rollout:waf false", { waf: "false" }, [[WAF, "mandatory", R.alb, NO_WAF]]],
    ["logs kept 14 days", { logRetentionDays: "14" }, [[LOG_YEAR, "mandatory", R.logs, retention(14)]]],
    ["logs kept 180 days", { logRetentionDays: "180" }, [[LOG_YEAR, "mandatory", R.logs, retention(180)]]],
    [
      "rollout:waf false and logs kept 30 days",
      { waf: "false", logRetentionDays: "30" },
      [
        [WAF, "mandatory", R.alb, NO_WAF],
        [LOG_YEAR, "mandatory", R.logs, retention(30)],
      ],
    ],
    [
      "Enhanced Monitoring off",
      {
        database: {
          ...(JSON.parse(loadStackFile("production").config["rollout:database"]!) as object),
          monitoringIntervalSeconds: 0,
        },
      },
      [
        [
          MONITORING,
          "mandatory",
          R.db,
          "RDS instance data-mysql has Enhanced Monitoring off; run `pulumi config set --path rollout:database.monitoringIntervalSeconds 60`",
        ],
      ],
    ],
    [
      "green web by tag",
      withImage("web", "green", `${REPO}/web-next:14.2.3`),
      [
        [
          DIGEST_POLICY,
          "mandatory",
          R.deployment("green-web"),
          unpinned("green-web", "web", `${REPO}/web-next:14.2.3`),
        ],
      ],
    ],
    [
      "blue api on latest",
      withImage("api", "blue", `${REPO}/api:latest`),
      [
        [
          DIGEST_POLICY,
          "mandatory",
          R.deployment("blue-api"),
          unpinned("blue-api", "api", `${REPO}/api:latest`),
        ],
      ],
    ],
    [
      "a digest one hex digit short",
      withImage("api", "green", `${REPO}/api@sha256:${DIGEST.slice(1)}`),
      [
        [
          DIGEST_POLICY,
          "mandatory",
          R.deployment("green-api"),
          unpinned("green-api", "api", `${REPO}/api@sha256:${DIGEST.slice(1)}`),
        ],
      ],
    ],
    [
      "a digest in upper case",
      withImage("web", "blue", `${REPO}/web-legacy@sha256:${DIGEST.toUpperCase()}`),
      [
        [
          DIGEST_POLICY,
          "mandatory",
          R.deployment("blue-web"),
          unpinned("blue-web", "web", `${REPO}/web-legacy@sha256:${DIGEST.toUpperCase()}`),
        ],
      ],
    ],
    [
      "a tag that only looks like a digest",
      withImage("web", "green", `${REPO}/web-next:sha256-${DIGEST}`),
      [
        [
          DIGEST_POLICY,
          "mandatory",
          R.deployment("green-web"),
          unpinned("green-web", "web", `${REPO}/web-next:sha256-${DIGEST}`),
        ],
      ],
    ],
  ];
  for (const [name, changes, expected] of cases) {
    it(name, async () => {
      const plan = await planStack(variant("production", changes));
      assert.deepEqual(findings(plan.violations), expected);
    });
  }

  it("a digest with the tag kept for people passes, as does a longer retention", async () => {
    const plan = await planStack(
      variant("production", {
        ...withImage("web", "green", `${REPO}/web-next:14.2.4@sha256:${DIGEST}`),
        logRetentionDays: "731",
      }),
    );
    assert.deepEqual(findings(plan.violations), []);
  });

  it("in staging, rollout:waf false is reported at the level policies/config/staging.json gives the check", async () => {
    const plan = await planStack(variant("staging", { waf: "false" }));
    const level = enforcementLevelOf(albWaf, loadPolicyConfig("staging") ?? {});
    assert.deepEqual(findings(plan.violations), [[WAF, level, R.alb, NO_WAF]]);
  });
});

describe("the program edited by hand: settings no config reaches", () => {
  it("AwsSolutions-SNS3: a topic without its policy, or whose policy allows plain HTTP", async () => {
    assert.deepEqual(await edited("alerts-critical-policy", "remove"), [
      [SNS3, "mandatory", R.topic("critical"), `SNS topic alerts-critical ${SNS_FIX}`],
    ]);
    assert.deepEqual(
      await edited("alerts-warning-policy", (i) => {
        const doc = JSON.parse(i.policy as string);
        doc.Statement[1].Effect = "Allow";
        i.policy = JSON.stringify(doc);
      }),
      [[SNS3, "mandatory", R.topic("warning"), `SNS topic alerts-warning ${SNS_FIX}`]],
    );
  });

  it("AwsSolutions-SQS4: the dead-letter queue's policy without its TLS denial", async () => {
    assert.deepEqual(
      await edited("auto-rollback-dlq-policy", (i) => {
        const doc = JSON.parse(i.policy as string);
        doc.Statement = doc.Statement.filter((s: { Sid: string }) => s.Sid !== "OnlyOverTls");
        i.policy = JSON.stringify(doc);
      }),
      [
        [
          SQS4,
          "mandatory",
          R.dlq,
          'SQS queue auto-rollback-dlq accepts requests over plain HTTP; add a queue policy statement {Effect: "Deny", Principal: "*", ' +
            'Action: "sqs:*", Condition: {Bool: {"aws:SecureTransport": "false"}}}',
        ],
      ],
    );
  });

  it("CKV_AWS_158 and CKV_AWS_338: a log group on CloudWatch's own key, and one with no retention", async () => {
    assert.deepEqual(await edited("auto-rollback-logs", (i) => delete i.kmsKeyId), [
      [
        LOG_CMK,
        "mandatory",
        R.logs,
        "log group auto-rollback-logs is encrypted with CloudWatch's own key; set kmsKeyId to a customer-managed KMS key " +
          "that allows logs.<region>.amazonaws.com for this log group",
      ],
    ]);
    assert.deepEqual(await edited("auto-rollback-logs", (i) => delete i.retentionInDays), [
      [
        LOG_YEAR,
        "mandatory",
        R.logs,
        "log group auto-rollback-logs sets no retentionInDays; run `pulumi config set rollout:logRetentionDays 365` " +
          "(or set retentionInDays to one of CloudWatch's periods of at least that)",
      ],
    ]);
    // Kept forever (0) is at least a year.
    assert.deepEqual(await edited("auto-rollback-logs", (i) => (i.retentionInDays = 0)), []);
  });

  it("CKV_AWS_173: the function's environment under Lambda's own key", async () => {
    assert.deepEqual(await edited("auto-rollback-fn", (i) => delete i.kmsKeyArn), [
      [
        LAMBDA_CMK,
        "mandatory",
        R.fn,
        "Lambda function auto-rollback-fn keeps its environment variables under Lambda's AWS managed key; set kmsKeyArn to a " +
          "customer-managed KMS key its role may decrypt with",
      ],
    ]);
    // No environment, nothing to encrypt.
    assert.deepEqual(
      await edited("auto-rollback-fn", (i) => {
        delete i.kmsKeyArn;
        delete i.environment;
      }),
      [],
    );
  });

  it("CKV_AWS_353 and CKV_AWS_354: Performance Insights off, or on RDS's own key", async () => {
    assert.deepEqual(
      await edited("data-mysql", (i) => {
        i.performanceInsightsEnabled = false;
        delete i.performanceInsightsKmsKeyId;
      }),
      [
        [
          PI,
          "mandatory",
          R.db,
          "RDS instance data-mysql has Performance Insights off; set performanceInsightsEnabled: true (7 days of history are free) " +
            "with performanceInsightsKmsKeyId",
        ],
      ],
    );
    assert.deepEqual(await edited("data-mysql", (i) => delete i.performanceInsightsKmsKeyId), [
      [
        PI_CMK,
        "mandatory",
        R.db,
        "RDS instance data-mysql encrypts Performance Insights with RDS's AWS managed key; set performanceInsightsKmsKeyId " +
          "to the database's customer-managed key",
      ],
    ]);
    // A class RDS gives no Performance Insights for MySQL: CKV_AWS_353 does not judge it.
    assert.deepEqual(
      await edited("data-mysql", (i) => {
        i.instanceClass = "db.t4g.small";
        i.performanceInsightsEnabled = false;
      }),
      [],
    );
  });

  it("CKV_AWS_118: a monitoring interval without its role", async () => {
    assert.deepEqual(await edited("data-mysql", (i) => delete i.monitoringRoleArn), [
      [
        MONITORING,
        "mandatory",
        R.db,
        "RDS instance data-mysql samples Enhanced Monitoring every 60 s without a monitoringRoleArn; run " +
          "`pulumi config set --path rollout:database.monitoringIntervalSeconds 60`",
      ],
    ]);
  });

  it("CKV_AWS_129: exports missing, or an audit log no option group writes", async () => {
    assert.deepEqual(await edited("data-mysql", (i) => (i.enabledCloudwatchLogsExports = ["error"])), [
      [
        EXPORTS,
        "mandatory",
        R.db,
        "RDS instance data-mysql does not export audit, slowquery to CloudWatch Logs; add them to enabledCloudwatchLogsExports",
      ],
    ]);
    assert.deepEqual(await edited("data-mysql", (i) => delete i.optionGroupName), [
      [
        EXPORTS,
        "mandatory",
        R.db,
        "RDS instance data-mysql exports an audit log but has no option group, so MySQL writes none; set optionGroupName " +
          "to an option group with MARIADB_AUDIT_PLUGIN",
      ],
    ]);
  });

  it("CKV2_AWS_28: the association gone, a managed group missing or counting, metrics off", async () => {
    assert.deepEqual(await edited("router-waf-association", "remove"), [[WAF, "mandatory", R.alb, NO_WAF]]);
    assert.deepEqual(
      await edited("router-waf", (i) => {
        i.rules = i.rules.filter((r: { name: string }) => r.name !== "AWSManagedRulesAmazonIpReputationList");
        i.rules[0].overrideAction = { count: {} };
      }),
      [
        [
          WAF,
          "mandatory",
          R.acl,
          "web ACL router-waf does not run AWSManagedRulesCommonRuleSet, AWSManagedRulesAmazonIpReputationList (AWS managed rule groups, " +
            "vendor AWS, without a count override); add them as managedRuleGroupStatement rules with overrideAction none",
        ],
      ],
    );
    assert.deepEqual(
      await edited("router-waf", (i) => {
        i.visibilityConfig.cloudwatchMetricsEnabled = false;
        i.rules[1].visibilityConfig.cloudwatchMetricsEnabled = false;
      }),
      [
        [
          WAF,
          "mandatory",
          R.acl,
          "web ACL router-waf publishes no CloudWatch metrics for the web ACL, rule AWSManagedRulesKnownBadInputsRuleSet; set " +
            "visibilityConfig.cloudwatchMetricsEnabled true so blocked requests and false positives show",
        ],
      ],
    );
  });
});

describe("scanner policies over hand-made resources: scope, preview, configuration", () => {
  const alb = (inputs: Record<string, unknown>): OfflineResource => ({
    type: "aws:lb/loadBalancer:LoadBalancer",
    name: "edge",
    inputs,
  });

  it("CKV2_AWS_28 judges internet-facing ALBs only, as Checkov's graph check does", async () => {
    assert.deepEqual(
      await scan([
        alb({ loadBalancerType: "application", internal: true }),
        { ...alb({ loadBalancerType: "network" }), name: "nlb" },
      ]),
      [],
    );
    assert.deepEqual(await scan([alb({})]), [
      [WAF, "mandatory", "aws:lb/loadBalancer:LoadBalancer::edge", NO_WAF.replace("router-alb", "edge")],
    ]);
  });

  it("finds the association of an existing ALB by its ARN, and of a new one by its auto-name", async () => {
    const arn = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/edge-1a2b3c4/50dc6c495c0c9188";
    const association = (resourceArn: string): OfflineResource => ({
      type: "aws:wafv2/webAclAssociation:WebAclAssociation",
      name: "edge-waf",
      inputs: { resourceArn, webAclArn: "arn:aws:wafv2:eu-west-1:1:regional/webacl/x/y" },
    });
    assert.deepEqual(await scan([alb({ arn }), association(arn)]), []);
    assert.deepEqual(await scan([alb({}), association(arn)]), []);
    // Another ALB's association does not count.
    assert.deepEqual(await scan([alb({ arn: `${arn}0` }), association(arn)]), [
      [WAF, "mandatory", "aws:lb/loadBalancer:LoadBalancer::edge", NO_WAF.replace("router-alb", "edge")],
    ]);
  });

  it("an association whose ALB is unknown at preview: the engine's can't-run note, never a false finding", async () => {
    const violations = await runPoliciesOffline(
      [
        alb({}),
        {
          type: "aws:wafv2/webAclAssociation:WebAclAssociation",
          name: "edge-waf",
          inputs: { resourceArn: UNKNOWN, webAclArn: UNKNOWN },
        },
      ],
      { stack: "production", policyConfig: {} },
      scannerPolicies,
    );
    assert.deepEqual(
      violations.map((v) => [v.policy, v.enforcementLevel, v.resource]),
      [[WAF, "advisory", "stack"]],
    );
    assert.match(violations[0]!.message, /^can't run policy 'scanner-ckv2-aws-28-alb-waf' .* during preview/);
  });

  it("a topic policy whose topic is unknown at preview: the can't-run note, not a finding", async () => {
    const violations = await runPoliciesOffline(
      [
        { type: "aws:sns/topic:Topic", name: "t", inputs: {} },
        {
          type: "aws:sns/topicPolicy:TopicPolicy",
          name: "t-policy",
          inputs: { arn: UNKNOWN, policy: UNKNOWN },
        },
      ],
      { stack: "production", policyConfig: {} },
      scannerPolicies,
    );
    assert.deepEqual(
      violations.map((v) => [v.policy, v.enforcementLevel, v.resource]),
      [[SNS3, "advisory", "stack"]],
    );
  });

  it('a topic\'s inline policy counts, and so does Principal {AWS: "*"} with Action "*"', async () => {
    const tlsOnly = {
      Statement: [
        {
          Effect: "Deny",
          Principal: { AWS: ["*"] },
          Action: "*",
          Condition: { Bool: { "aws:SecureTransport": false } },
        },
      ],
    };
    assert.deepEqual(
      await scan([
        { type: "aws:sns/topic:Topic", name: "t", inputs: { policy: JSON.stringify(tlsOnly) } },
        { type: "aws:sqs/queue:Queue", name: "q", inputs: { policy: JSON.stringify(tlsOnly) } },
      ]),
      [],
    );
    // A denial of another action, or to one account only, is not the TLS rule.
    const partial = structuredClone(tlsOnly);
    partial.Statement[0]!.Action = "sns:Subscribe";
    assert.deepEqual(
      await scan([{ type: "aws:sns/topic:Topic", name: "t", inputs: { policy: JSON.stringify(partial) } }]),
      [[SNS3, "mandatory", "aws:sns/topic:Topic::t", `SNS topic t ${SNS_FIX}`]],
    );
  });

  it("configuration: a longer minimum retention, fewer required exports and groups", async () => {
    const plan = await committed("production");
    const config = {
      [LOG_YEAR]: { minRetentionDays: 731 },
      [EXPORTS]: { requiredLogExports: ["error"] },
      [WAF]: { requiredManagedRuleGroups: ["AWSManagedRulesCommonRuleSet"] },
    };
    assert.deepEqual(await scan(plan.resources, "production", config), [
      [
        LOG_YEAR,
        "mandatory",
        R.logs,
        "log group auto-rollback-logs keeps its events 365 days, fewer than 731; run `pulumi config set rollout:logRetentionDays 731` " +
          "(or set retentionInDays to one of CloudWatch's periods of at least that)",
      ],
    ]);
  });

  it("the digest rule is production's: staging's tag images pass in the staging stack, not where the pack treats the stack as production", async () => {
    assert.equal(imagesPinnedByDigest.enforcementLevel, "mandatory");
    const staging = await committed("staging");
    const state = staging.resources.find((r) => r.name === "rollout-state")!;
    const deployments = staging.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
    // Staging's own resources judged as the production stack: the tag images are findings there.
    const asProduction = await scan([state, ...deployments], "production");
    assert.deepEqual(
      asProduction.map(([policy, , resource]) => [policy, resource]),
      deployments.map((d) => [DIGEST_POLICY, `kubernetes:apps/v1:Deployment::${d.name}`]),
    );
    assert.deepEqual(await scan([state, ...deployments], "staging"), []);
  });
});
