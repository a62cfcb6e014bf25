import type { PolicyConfigSchema, PolicyResource, ReportViolation } from "@pulumi/policy";
import {
  DEFAULT_LOG_RETENTION_DAYS,
  NO_PERFORMANCE_INSIGHTS_CLASSES,
  RDS_LOG_EXPORTS,
  WAF_MANAGED_RULE_GROUPS,
} from "../../rollout/config";
import {
  asArray,
  configOf,
  field,
  forEachKnown,
  forType,
  isSet,
  known,
  ofType,
  STAGING_TIER_KEY,
  TYPES,
  withRolloutState,
  type Policy,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from "./util";

/**
 * Scanner rules: what an IaC security scanner fails on the resources the program registers,
 * judged by the scanners' own rule definitions. Each policy is named after the check it
 * mirrors (`scanner-<check id>-<what>`), and its description cites the rule file:
 *
 * - Checkov (bridgecrewio/checkov): checkov/terraform/checks/graph_checks/aws/*.yaml and
 *   checkov/terraform/checks/resource/aws/*.py, checkov/kubernetes/checks/resource/k8s/*.py;
 * - cdk-nag (cdklabs/cdk-nag): the AwsSolutions pack (RULES.md) and src/rules/<service>/*.ts.
 *
 * Where the scanner's rule is weaker than what the program does (an "@" for a digest, any one
 * log export), the policy checks what the program does, and its description says so.
 */

/** Pulumi type tokens of what these rules inspect besides util's TYPES. */
const SCANNED = {
  webAcl: "aws:wafv2/webAcl:WebAcl",
  webAclAssociation: "aws:wafv2/webAclAssociation:WebAclAssociation",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  lambdaFunction: "aws:lambda/function:Function",
} as const;

// ---------------------------------------------------------------------------------------
// Matching a reference (an ARN, a queue URL) to the resource it names

/**
 * Whether `reference` (known) names `resource`: its own `arn`/`id`/`url` when known (an existing
 * resource), else by the physical name the reference carries (`nameIn`), which is the resource's
 * `name` input or Pulumi's auto-name `<resource name>-<7 hex>` (the mock engine's too).
 */
function refersTo(reference: string, resource: PolicyResource, nameIn: (ref: string) => string | undefined) {
  for (const own of ["arn", "id", "url"]) {
    const value = isSet(resource.props, own) ? known(() => resource.props[own] as unknown) : undefined;
    if (typeof value === "string") return value === reference;
  }
  const inReference = nameIn(reference);
  if (inReference === undefined) return false;
  const name = isSet(resource.props, "name") ? known(() => resource.props.name as unknown) : undefined;
  if (typeof name === "string") return inReference === name;
  return inReference === resource.name || inReference.startsWith(`${resource.name}-`);
}

/** `...:loadbalancer/app/<name>/<id>` -> name. */
const loadBalancerNameIn = (arn: string) => /:loadbalancer\/(?:app|net|gwy)\/([^/]+)\//.exec(arn)?.[1];
/** `arn:aws:sns:<region>:<account>:<name>` -> name. */
const topicNameIn = (arn: string) => arn.split(":")[5];
/** `https://sqs.<region>.amazonaws.com/<account>/<name>` (a queue's id) -> name. */
const queueNameIn = (url: string) => /([^/]+)$/.exec(url)?.[1];

/**
 * The known values of `key` on each of `resources`, and whether one of them is unknown at
 * preview: `readUnknown` then reads it again, throwing the engine's UnknownValueError, so the
 * policy says it could not run rather than report what it cannot see.
 */
function referencesOf(resources: PolicyResource[], key: string) {
  const values: string[] = [];
  let unknown: PolicyResource | undefined;
  for (const r of resources) {
    if (!isSet(r.props, key)) continue;
    const value = known(() => r.props[key] as unknown);
    if (typeof value === "string") values.push(value);
    else if (value === undefined) unknown ??= r;
  }
  return {
    values,
    readUnknown: () => {
      if (unknown) void unknown.props[key];
    },
  };
}

// ---------------------------------------------------------------------------------------
// Resource policy documents: the TLS-only denial

interface PolicyStatement {
  Effect?: unknown;
  Principal?: unknown;
  Action?: unknown;
  Condition?: unknown;
}

function statementsIn(document: unknown): PolicyStatement[] {
  const parsed = typeof document === "string" ? (JSON.parse(document) as unknown) : document;
  return asArray(field(parsed, "Statement")) as PolicyStatement[];
}

const everyone = (principal: unknown) =>
  principal === "*" || asArray(field(principal, "AWS")).some((p) => p === "*");

/**
 * Whether a resource policy denies every principal, when the request is not over TLS, an action
 * of `covering` (lower case): Effect Deny, Principal "*", that action, Bool aws:SecureTransport
 * false (cdk-nag's SNSTopicSSLPublishOnly and SQSQueueSSLRequestsOnly read the same four fields).
 */
function deniesPlainHttp(document: unknown, covering: readonly string[]): boolean {
  return statementsIn(document).some((s) => {
    const secure = field(s.Condition, "Bool", "aws:SecureTransport");
    return (
      s.Effect === "Deny" &&
      everyone(s.Principal) &&
      asArray(s.Action).some((a) => typeof a === "string" && covering.includes(a.toLowerCase())) &&
      (secure === false || secure === "false")
    );
  });
}

/**
 * A stack rule that every resource of `type` has a resource policy denying plain HTTP: its own
 * `policy` input, or a separate policy resource (`policyType`) whose `refKey` names it.
 */
function tlsOnlyPolicy(options: {
  name: string;
  description: string;
  remediationSteps: string;
  type: string;
  policyType: string;
  refKey: string;
  nameIn: (ref: string) => string | undefined;
  covering: readonly string[];
  what: string;
  fix: string;
}): StackValidationPolicy {
  return {
    name: options.name,
    description: options.description,
    enforcementLevel: "mandatory",
    remediationSteps: options.remediationSteps,
    validateStack: (args, report) => {
      const policies = ofType(args.resources, options.policyType);
      const targets = referencesOf(policies, options.refKey);
      forEachKnown(ofType(args.resources, options.type), (resource) => {
        const props = resource.props as Record<string, unknown>;
        const documents: unknown[] = [
          ...(isSet(props, "policy") ? [props.policy] : []),
          ...policies
            .filter((p) => {
              const ref = isSet(p.props, options.refKey)
                ? known(() => p.props[options.refKey] as unknown)
                : undefined;
              return typeof ref === "string" && refersTo(ref, resource, options.nameIn);
            })
            .map((p) => (p.props as Record<string, unknown>).policy),
        ];
        if (documents.some((d) => deniesPlainHttp(d, options.covering))) return;
        // A policy whose target is unknown at preview may be this one's: say the rule cannot run.
        targets.readUnknown();
        report(`${options.what} ${resource.name} ${options.fix}`, resource.urn);
      });
    },
  };
}

// ---------------------------------------------------------------------------------------
// The rules

const wafSchema: PolicyConfigSchema = {
  properties: {
    requiredManagedRuleGroups: {
      type: "array",
      items: { type: "string" },
      default: WAF_MANAGED_RULE_GROUPS.map((g) => g.name),
    },
  },
};

/** A web ACL rule that runs AWS managed group `group` without turning its blocks into counts. */
function runsManagedGroup(rule: unknown, group: string): boolean {
  const statement = field(rule, "statement", "managedRuleGroupStatement");
  return (
    field(statement, "vendorName") === "AWS" &&
    field(statement, "name") === group &&
    field(rule, "overrideAction", "count") === undefined
  );
}

export const albWaf: StackValidationPolicy = {
  name: "scanner-ckv2-aws-28-alb-waf",
  description:
    "Internet-facing application load balancers are associated with a WAFv2 web ACL (Checkov CKV2_AWS_28, " +
    "checkov/terraform/checks/graph_checks/aws/ALBProtectedByWAF.yaml), and every web ACL of the stack runs the AWS " +
    "managed rule groups in requiredManagedRuleGroups, none in count mode, with CloudWatch metrics on.",
  enforcementLevel: "mandatory",
  configSchema: wafSchema,
  remediationSteps:
    "Run `pulumi config set rollout:waf true` (the default): the router puts a REGIONAL web ACL with AWS's managed " +
    "rule groups in front of the ALB and associates it (aws.wafv2.WebAclAssociation).",
  validateStack: (args, report) => {
    const { requiredManagedRuleGroups } = configOf<{ requiredManagedRuleGroups: string[] }>(args, wafSchema);
    const associated = referencesOf(ofType(args.resources, SCANNED.webAclAssociation), "resourceArn");
    for (const lb of ofType(args.resources, TYPES.loadBalancer)) {
      if ((lb.props.loadBalancerType ?? "application") !== "application" || lb.props.internal === true)
        continue;
      if (associated.values.some((arn) => refersTo(arn, lb, loadBalancerNameIn))) continue;
      associated.readUnknown();
      report(
        `load balancer ${lb.name} faces the internet without a WAF web ACL; run \`pulumi config set rollout:waf true\` ` +
          "(or associate a web ACL with aws.wafv2.WebAclAssociation)",
        lb.urn,
      );
    }
    forEachKnown(ofType(args.resources, SCANNED.webAcl), (acl) => {
      const rules = asArray(acl.props.rules);
      const missing = requiredManagedRuleGroups.filter(
        (group) => !rules.some((r) => runsManagedGroup(r, group)),
      );
      if (missing.length > 0) {
        report(
          `web ACL ${acl.name} does not run ${missing.join(", ")} (AWS managed rule groups, vendor AWS, without a count override); ` +
            "add them as managedRuleGroupStatement rules with overrideAction none",
          acl.urn,
        );
      }
      const dark = [
        ...(field(acl.props.visibilityConfig, "cloudwatchMetricsEnabled") === true ? [] : ["the web ACL"]),
        ...rules
          .filter((r) => field(r, "visibilityConfig", "cloudwatchMetricsEnabled") !== true)
          .map((r) => `rule ${String(field(r, "name"))}`),
      ];
      if (dark.length > 0) {
        report(
          `web ACL ${acl.name} publishes no CloudWatch metrics for ${dark.join(", ")}; set visibilityConfig.cloudwatchMetricsEnabled true ` +
            "so blocked requests and false positives show",
          acl.urn,
        );
      }
    });
  },
};

export const snsSslOnly = tlsOnlyPolicy({
  name: "scanner-awssolutions-sns3-sns-ssl-only",
  description:
    "SNS topics have a topic policy that denies sns:Publish to every principal when aws:SecureTransport is false " +
    '(cdk-nag AwsSolutions-SNS3, src/rules/sns/SNSTopicSSLPublishOnly.ts; SNS Developer Guide, "Enforce encryption of ' +
    'data in transit"). Stricter than cdk-nag, which lets a KMS-encrypted topic pass without it.',
  remediationSteps:
    'Give the topic an aws.sns.TopicPolicy with {Effect: "Deny", Principal: "*", Action: "sns:Publish", ' +
    'Condition: {Bool: {"aws:SecureTransport": "false"}}} (the AlertTopics component does), keeping an allow for ' +
    "cloudwatch.amazonaws.com so alarms still publish.",
  type: TYPES.snsTopic,
  policyType: SCANNED.topicPolicy,
  refKey: "arn",
  nameIn: topicNameIn,
  covering: ["sns:publish", "sns:*", "*"],
  what: "SNS topic",
  fix:
    'accepts sns:Publish over plain HTTP; add a topic policy statement {Effect: "Deny", Principal: "*", Action: "sns:Publish", ' +
    'Condition: {Bool: {"aws:SecureTransport": "false"}}}',
});

export const sqsSslOnly = tlsOnlyPolicy({
  name: "scanner-awssolutions-sqs4-sqs-ssl-only",
  description:
    "SQS queues have a queue policy that denies sqs:* to every principal when aws:SecureTransport is false " +
    '(cdk-nag AwsSolutions-SQS4, src/rules/sqs/SQSQueueSSLRequestsOnly.ts; SQS Developer Guide, "Enforce encryption of ' +
    'data in transit").',
  remediationSteps:
    'Add to the queue\'s aws.sqs.QueuePolicy the statement {Effect: "Deny", Principal: "*", Action: "sqs:*", ' +
    'Condition: {Bool: {"aws:SecureTransport": "false"}}} (the AutoRollback component does).',
  type: SCANNED.queue,
  policyType: SCANNED.queuePolicy,
  refKey: "queueUrl",
  nameIn: queueNameIn,
  covering: ["sqs:*", "*"],
  what: "SQS queue",
  fix:
    'accepts requests over plain HTTP; add a queue policy statement {Effect: "Deny", Principal: "*", Action: "sqs:*", ' +
    'Condition: {Bool: {"aws:SecureTransport": "false"}}}',
});

export const logGroupCmk: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-158-log-group-cmk",
  description:
    "CloudWatch log groups are encrypted with a customer-managed KMS key (Checkov CKV_AWS_158, " +
    "checkov/terraform/checks/resource/aws/CloudWatchLogGroupKMSKey.py).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set kmsKeyId on the aws.cloudwatch.LogGroup to a KMS key whose policy lets logs.<region>.amazonaws.com use it " +
    "for that log group (condition kms:EncryptionContext:aws:logs:arn), as the AutoRollback component's key does.",
  validateResource: forType(SCANNED.logGroup, (props, args, report) => {
    if (isSet(props, "kmsKeyId")) return;
    report(
      `log group ${args.name} is encrypted with CloudWatch's own key; set kmsKeyId to a customer-managed KMS key ` +
        "that allows logs.<region>.amazonaws.com for this log group",
    );
  }),
};

const retentionSchema: PolicyConfigSchema = {
  properties: { minRetentionDays: { type: "integer", minimum: 1, default: DEFAULT_LOG_RETENTION_DAYS } },
};

export const logRetentionYear: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-338-log-retention-1-year",
  description:
    "CloudWatch log groups keep their events at least minRetentionDays (default 365) or forever (retentionInDays 0) " +
    "(Checkov CKV_AWS_338, checkov/terraform/checks/resource/aws/CloudWatchLogGroupRetentionYear.py).",
  enforcementLevel: "mandatory",
  configSchema: retentionSchema,
  remediationSteps:
    "Run `pulumi config set rollout:logRetentionDays 365` (the default; 400, 545, 731 and longer also pass).",
  validateResource: forType(SCANNED.logGroup, (props, args, report) => {
    const { minRetentionDays } = configOf<{ minRetentionDays: number }>(args, retentionSchema);
    const days = props.retentionInDays;
    if (days === 0 || (typeof days === "number" && days >= minRetentionDays)) return;
    const now =
      days === undefined
        ? "sets no retentionInDays"
        : `keeps its events ${JSON.stringify(days)} days, fewer than ${minRetentionDays}`;
    report(
      `log group ${args.name} ${now}; run \`pulumi config set rollout:logRetentionDays ${minRetentionDays}\` ` +
        "(or set retentionInDays to one of CloudWatch's periods of at least that)",
    );
  }),
};

export const lambdaEnvironmentCmk: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-173-lambda-env-cmk",
  description:
    "Lambda functions with environment variables encrypt them with a customer-managed KMS key (Checkov CKV_AWS_173, " +
    "checkov/terraform/checks/resource/aws/LambdaEnvironmentEncryptionSettings.py).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set kmsKeyArn on the aws.lambda.Function to a KMS key whose policy lets the function's role kms:Decrypt, " +
    "as the AutoRollback component's key does.",
  validateResource: forType(SCANNED.lambdaFunction, (props, args, report) => {
    const variables = field(props.environment, "variables");
    if (variables === undefined || Object.keys(variables as object).length === 0) return;
    if (isSet(props, "kmsKeyArn")) return;
    report(
      `Lambda function ${args.name} keeps its environment variables under Lambda's AWS managed key; set kmsKeyArn to a ` +
        "customer-managed KMS key its role may decrypt with",
    );
  }),
};

/** MySQL and MariaDB on the classes RDS gives no Performance Insights: CKV_AWS_353 returns UNKNOWN there. */
const withoutPerformanceInsights = (props: Record<string, unknown>) =>
  ["mysql", "mariadb"].includes(String(props.engine)) &&
  (NO_PERFORMANCE_INSIGHTS_CLASSES as readonly string[]).includes(String(props.instanceClass));

export const rdsPerformanceInsights: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-353-rds-performance-insights",
  description:
    "RDS instances have Performance Insights on, except MySQL and MariaDB on the classes RDS offers it on none " +
    "(Checkov CKV_AWS_353, checkov/terraform/checks/resource/aws/RDSInstancePerformanceInsights.py).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set performanceInsightsEnabled: true on the aws.rds.Instance (the DataProtection component does on every class " +
    "that has it; rollout:database.performanceInsightsRetentionDays sets its retention).",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    if (props.performanceInsightsEnabled === true || withoutPerformanceInsights(props)) return;
    report(
      `RDS instance ${args.name} has Performance Insights off; set performanceInsightsEnabled: true ` +
        "(7 days of history are free) with performanceInsightsKmsKeyId",
    );
  }),
};

export const rdsPerformanceInsightsCmk: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-354-rds-performance-insights-cmk",
  description:
    "RDS instances with Performance Insights encrypt its data with a customer-managed KMS key (Checkov CKV_AWS_354, " +
    "checkov/terraform/checks/resource/aws/RDSInstancePerfInsightsEncryptionWithCMK.py).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set performanceInsightsKmsKeyId to the database's customer-managed key (RDS never lets it change once set: " +
    "choose it when turning Performance Insights on).",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    if (props.performanceInsightsEnabled !== true || isSet(props, "performanceInsightsKmsKeyId")) return;
    report(
      `RDS instance ${args.name} encrypts Performance Insights with RDS's AWS managed key; set performanceInsightsKmsKeyId ` +
        "to the database's customer-managed key",
    );
  }),
};

/** CKV_AWS_118's expected values: every MonitoringInterval but 0. */
const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60];

export const rdsEnhancedMonitoring: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-118-rds-enhanced-monitoring",
  description:
    "RDS instances have Enhanced Monitoring on: monitoringInterval 1-60 s with a monitoring role (Checkov " +
    "CKV_AWS_118, checkov/terraform/checks/resource/aws/RDSEnhancedMonitorEnabled.py).",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Run `pulumi config set --path rollout:database.monitoringIntervalSeconds 60` (the default): the DataProtection " +
    "component then creates the role with AmazonRDSEnhancedMonitoringRole and sets monitoringRoleArn.",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    const interval = props.monitoringInterval;
    if (
      typeof interval === "number" &&
      MONITORING_INTERVALS.includes(interval) &&
      isSet(props, "monitoringRoleArn")
    )
      return;
    const now =
      typeof interval === "number" && interval !== 0
        ? `samples Enhanced Monitoring every ${interval} s without a monitoringRoleArn`
        : "has Enhanced Monitoring off";
    report(
      `RDS instance ${args.name} ${now}; run \`pulumi config set --path rollout:database.monitoringIntervalSeconds 60\``,
    );
  }),
};

const logExportsSchema: PolicyConfigSchema = {
  properties: {
    requiredLogExports: { type: "array", items: { type: "string" }, default: [...RDS_LOG_EXPORTS] },
  },
};

export const rdsLogExports: ResourceValidationPolicy = {
  name: "scanner-ckv-aws-129-rds-log-exports",
  description:
    "MySQL instances export requiredLogExports (default audit, error, slowquery) to CloudWatch Logs, the audit log " +
    "through an option group (the MariaDB Audit Plugin). Checkov CKV_AWS_129 " +
    "(checkov/terraform/checks/resource/aws/DBInstanceLogging.py) asks for any one export; this asks for the ones that " +
    "answer who connected, what changed the schema or grants, and what was slow.",
  enforcementLevel: "mandatory",
  configSchema: logExportsSchema,
  remediationSteps:
    "Set enabledCloudwatchLogsExports to include audit, error and slowquery, and optionGroupName to an option group " +
    "with MARIADB_AUDIT_PLUGIN (the DataProtection component does both).",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    if (props.engine !== "mysql") return;
    const { requiredLogExports } = configOf<{ requiredLogExports: string[] }>(args, logExportsSchema);
    const exported = asArray(props.enabledCloudwatchLogsExports);
    const missing = requiredLogExports.filter((log) => !exported.includes(log));
    if (missing.length > 0) {
      report(
        `RDS instance ${args.name} does not export ${missing.join(", ")} to CloudWatch Logs; add ${missing.length > 1 ? "them" : "it"} ` +
          "to enabledCloudwatchLogsExports",
      );
    }
    if (exported.includes("audit") && !isSet(props, "optionGroupName")) {
      report(
        `RDS instance ${args.name} exports an audit log but has no option group, so MySQL writes none; set optionGroupName ` +
          "to an option group with MARIADB_AUDIT_PLUGIN",
      );
    }
  }),
};

/** `<repository>[:<tag>]@sha256:<64 lowercase hex>`: an OCI digest reference (the tag, if any, is ignored by the runtime). */
const PINNED_BY_DIGEST = /@sha256:[0-9a-f]{64}$/;

const digestSchema: PolicyConfigSchema = {
  properties: {
    // The one stack whose images may move by tag: staging rehearses release candidates. Listed in
    // the policy's own schema, not only in policies/config/staging.json, so the committed staging
    // stack passes before that file lists it too (see util.ts, STAGING_TIER_KEY).
    [STAGING_TIER_KEY]: { type: "array", items: { type: "string" }, default: ["staging"] },
  },
};

function checkImages(deployment: PolicyResource, report: ReportViolation): void {
  const pod = field(deployment.props, "spec", "template", "spec");
  for (const container of [...asArray(field(pod, "initContainers")), ...asArray(field(pod, "containers"))]) {
    const image = field(container, "image");
    if (typeof image === "string" && PINNED_BY_DIGEST.test(image)) continue;
    report(
      `deployment ${deployment.name} container ${JSON.stringify(field(container, "name") ?? "?")} runs ${JSON.stringify(image)}, ` +
        "which a push can move; pin it by digest in rollout:services[].blue/green.image (<repository>@sha256:<64 hex>, " +
        "e.g. from `aws ecr describe-images`)",
      deployment.urn,
    );
  }
}

export const imagesPinnedByDigest: StackValidationPolicy = {
  name: "scanner-ckv-k8s-43-image-digest",
  description:
    "In production every container image is pinned by digest (@sha256:<64 hex>), so what was tested is what runs " +
    "(Checkov CKV_K8S_43, checkov/kubernetes/checks/resource/k8s/ImageDigest.py, which only looks for an @).",
  enforcementLevel: "mandatory",
  configSchema: digestSchema,
  remediationSteps:
    "Set rollout:services[].blue.image and .green.image to <repository>[:<tag>]@sha256:<digest>, the digest the " +
    "registry reports for the tested image (`aws ecr describe-images --repository-name <repo> --image-ids imageTag=<tag>`).",
  validateStack: withRolloutState(
    (_context, args, report) =>
      forEachKnown(ofType(args.resources, TYPES.k8sDeployment), (deployment) =>
        checkImages(deployment, report),
      ),
    { productionOnly: true },
  ),
};

export const scannerPolicies: Policy[] = [
  albWaf,
  snsSslOnly,
  sqsSslOnly,
  logGroupCmk,
  logRetentionYear,
  lambdaEnvironmentCmk,
  rdsPerformanceInsights,
  rdsPerformanceInsightsCmk,
  rdsEnhancedMonitoring,
  rdsLogExports,
  imagesPinnedByDigest,
];
