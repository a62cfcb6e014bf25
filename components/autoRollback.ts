import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountAdministersKey } from "../rollout/keyPolicy";
import * as esbuild from "esbuild";
import { DEFAULT_LOG_RETENTION_DAYS, LOG_RETENTION_DAYS } from "../rollout/config";
import type { RollbackEnvironmentVariables } from "../rollout/lambdaEnvironment";
import {
  alarmName,
  compositeAlarmName,
  lambdaLogGroupName,
  latchParameterName,
  rollbackFunctionName,
  SECURITY_EVENT_DETAIL_TYPE,
  securityEventSource,
} from "../rollout/names";

export interface AutoRollbackArgs {
  stack: string;
  /** This stack's HTTPS listener: the Lambda reads its rules, and ModifyRule is scoped to them. */
  listenerArn: pulumi.Input<string>;
  targetGroupPairs: { service: string; blue: pulumi.Input<string>; green: pulumi.Input<string> }[];
  criticalTopicArn: pulumi.Input<string>;
  /** The KMS key encrypting the critical topic: publishing to it needs GenerateDataKey and Decrypt on this key. */
  criticalTopicKeyArn: pulumi.Input<string>;
  /**
   * GuardDuty findings at or above this severity roll back (see `guardDutyRollbackSeverity`).
   * Default: none, and then no EventBridge rule exists (the playbook has no automatic security trigger).
   * The rule sees every finding of the account and region, not only this stack's: a finding on
   * any resource there rolls this stack back. See `guardDutyEksClusterName` to narrow it.
   */
  guardDutyMinSeverity?: number;
  /**
   * Only findings about this EKS cluster (`detail.resource.eksClusterDetails.name`) roll back.
   * Findings about anything else (the nodes' EC2 instances, IAM credentials, S3, the database)
   * then never do. Default: none, every finding of the account and region at minSeverity.
   */
  guardDutyEksClusterName?: string;
  /**
   * Route the stack's custom security event to the function: an EventBridge rule on the default
   * bus matching `source` `securityEventSource(stack)` and `detail-type`
   * `SECURITY_EVENT_DETAIL_TYPE`, which the application or a security tool puts the moment it
   * detects a breach (no GuardDuty publication delay). Pass true when the playbook has an
   * automatic trigger fed by such an event; the GuardDuty rule, if any, stays as a second,
   * slower net. Anyone in the account allowed `events:PutEvents` on the default bus can put
   * this event, and so roll the stack back. Default: false, and then no such rule exists.
   */
  securityEvents?: boolean;
  /**
   * When false the EventBridge rules are kept but DISABLED, and the function's own alarms
   * (Errors, dead letters) carry no actions, as the gate alarms then carry none. Default: true.
   */
  actionsEnabled?: boolean;
  /** Days CloudWatch Logs keeps the function's log group: one of LOG_RETENTION_DAYS. Default: 365. */
  logRetentionDays?: number;
}

/** The function's own alarms: its errors and its dead letters page the critical topic. */
export const ROLLBACK_ALARM_KEYS = {
  errors: "rollback-function-errors",
  deadLetters: "rollback-dead-letters",
} as const;

/** The EventBridge pattern of the stack's custom security event: its source and detail-type, on the default bus. */
export function securityEventPattern(stack: string): Record<string, unknown> {
  return { source: [securityEventSource(stack)], "detail-type": [SECURITY_EVENT_DETAIL_TYPE] };
}

/** Statement ids of the only two statements allowed `Resource: "*"`: these actions have no resource-level permissions in IAM. */
export const UNSCOPABLE_STATEMENTS = {
  DescribeRulesHasNoResourceLevelPermissions: ["elasticloadbalancing:DescribeRules"],
  XRayHasNoResourceLevelPermissions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
} as const;

/**
 * The Node.js major the rollback Lambda runs on. The function's runtime and the bundle's
 * esbuild target both derive from it, so the bundle never uses syntax its runtime lacks.
 * Move it before AWS's dates for the runtime come (rollout/deprecations.ts warns in the plan).
 */
export const LAMBDA_NODE_MAJOR = 24;
/** Lambda's runtime identifier, `nodejs24.x`. */
const LAMBDA_RUNTIME = `nodejs${LAMBDA_NODE_MAJOR}.x`;

let bundled: string | undefined;
/** The handler bundled with its three SDK clients; built once per process, offline. */
export function rollbackBundle(): string {
  bundled ??= esbuild.buildSync({
    entryPoints: [path.join(__dirname, "..", "lambda", "rollback.ts")],
    bundle: true,
    platform: "node",
    target: `node${LAMBDA_NODE_MAJOR}`,
    format: "cjs",
    minify: true,
    write: false,
    legalComments: "none",
  }).outputFiles[0]!.text;
  return bundled;
}

/**
 * `arn:...:listener/app/ALB/ID/LISTENER` -> the ARN pattern of that listener's rules only
 * (`arn:...:listener-rule/app/ALB/ID/LISTENER/*`), so the HTTP redirect listener and any
 * other listener of the load balancer stay out of reach.
 */
export function listenerRuleArnPattern(listenerArn: string): string {
  if (!/:listener\/app\//.test(listenerArn)) {
    throw new Error(
      `AutoRollback: listenerArn is ${listenerArn}; expected an application load balancer listener ARN (arn:...:listener/app/...)`,
    );
  }
  return `${listenerArn.replace(":listener/app/", ":listener-rule/app/")}/*`;
}

/**
 * The EventBridge pattern of the GuardDuty rollback rule: findings of severity >= minSeverity.
 * Without `eksClusterName` it matches every finding in the account and region, whatever
 * resource it is about; with it, only findings whose `resource.eksClusterDetails.name` is
 * that cluster.
 */
export function guardDutyEventPattern(minSeverity: number, eksClusterName?: string): Record<string, unknown> {
  if (eksClusterName !== undefined && eksClusterName.trim() === "") {
    throw new Error(
      `AutoRollback: guardDutyEksClusterName is "${eksClusterName}"; expected an EKS cluster name`,
    );
  }
  return {
    source: ["aws.guardduty"],
    "detail-type": ["GuardDuty Finding"],
    detail: {
      severity: [{ numeric: [">=", minSeverity] }],
      ...(eksClusterName === undefined
        ? {}
        : { resource: { eksClusterDetails: { name: [eksClusterName] } } }),
    },
  };
}

function validate(args: AutoRollbackArgs): void {
  const minSeverity = args.guardDutyMinSeverity;
  if (minSeverity !== undefined && !(minSeverity >= 0 && minSeverity <= 10)) {
    throw new Error(
      `AutoRollback: guardDutyMinSeverity is ${minSeverity}; expected 0-10 (GuardDuty's scale)`,
    );
  }
  if (minSeverity !== undefined) guardDutyEventPattern(minSeverity, args.guardDutyEksClusterName);
  if (args.targetGroupPairs.length === 0)
    throw new Error("AutoRollback: targetGroupPairs is empty; expected one pair per service");
  const retention = args.logRetentionDays;
  if (retention !== undefined && !(LOG_RETENTION_DAYS as readonly number[]).includes(retention)) {
    throw new Error(
      `AutoRollback: logRetentionDays is ${retention}; expected one of ${LOG_RETENTION_DAYS.join(", ")} (CloudWatch Logs PutRetentionPolicy)`,
    );
  }
}

/**
 * The rollback Lambda with least-privilege IAM, a dead-letter queue and tracing, invoked by
 * the composite alarm (permission for `lambda.alarms.cloudwatch.amazonaws.com`); when
 * `securityEvents` is true, by an EventBridge rule on the stack's custom security event; and,
 * only when `guardDutyMinSeverity` is given, by an EventBridge rule on GuardDuty findings at or
 * above that severity. That rule matches every finding of the account and region at the
 * severity, not only this stack's resources: a finding anywhere there rolls this stack back.
 * Give the stack its own account (or region), or pass `guardDutyEksClusterName` to match only
 * findings about its EKS cluster. Two alarms watch the function itself and page the critical
 * topic: any invocation error, and any event left in its dead-letter queue.
 *
 * One customer-managed key encrypts the function's log group (CloudWatch Logs may use it for
 * that log group only) and its environment variables (the function's role may decrypt them);
 * the dead-letter queue refuses any request over plain HTTP.
 */
export class AutoRollback extends pulumi.ComponentResource {
  readonly kmsKey: aws.kms.Key;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly deadLetterQueuePolicy: aws.sqs.QueuePolicy;
  readonly role: aws.iam.Role;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly function: aws.lambda.Function;
  readonly functionArn: pulumi.Output<string>;
  /** Only when the playbook has an automatic trigger on a GuardDuty gate. */
  readonly guardDutyRule?: aws.cloudwatch.EventRule;
  /** Only when `securityEvents` is true. */
  readonly securityEventRule?: aws.cloudwatch.EventRule;
  /** Sum of the function's Errors > 0 in a minute: an invocation failed (Lambda retries it). */
  readonly errorsAlarm: aws.cloudwatch.MetricAlarm;
  /** Any message visible in the dead-letter queue: an event the function never handled. */
  readonly deadLetterAlarm: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: AutoRollbackArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before super(): a refused component registers nothing, not even itself.
    validate(args);
    super("staged-rollout:rollback:AutoRollback", name, {}, opts);
    const minSeverity = args.guardDutyMinSeverity;
    const actionsEnabled = args.actionsEnabled ?? true;

    const functionName = rollbackFunctionName(args.stack);
    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this });
    const latchArn = pulumi.interpolate`arn:aws:ssm:${region.region}:${identity.accountId}:parameter${latchParameterName(args.stack)}`;

    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: 1209600 },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      { assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }) },
      { parent: this },
    );
    const logGroupName = lambdaLogGroupName(functionName);
    this.kmsKey = new aws.kms.Key(
      `${name}-kms`,
      {
        description: `staged-rollout ${args.stack} rollback function: its log group and environment`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            accountAdministersKey(pulumi.interpolate`arn:aws:iam::${identity.accountId}:root`),
            // CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS", step
            // 2: the regional logs principal, scoped by the encryption context CloudWatch Logs
            // sends (kms:EncryptionContext:aws:logs:arn, the log group's ARN) to this log group.
            {
              Sid: "CloudWatchLogsEncryptsTheFunctionsLogGroup",
              Effect: "Allow",
              Principal: { Service: pulumi.interpolate`logs.${region.region}.amazonaws.com` },
              Action: [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
              ],
              Resource: "*",
              Condition: {
                ArnLike: {
                  "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:aws:logs:${region.region}:${identity.accountId}:log-group:${logGroupName}`,
                },
              },
            },
            // The function's role may decrypt its variables (CKV_AWS_173's remedy: Lambda User Guide,
            // "Securing Lambda environment variables": with a customer managed key "only users in
            // your account with access to the KMS key can view or manage environment variables").
            {
              Sid: "FunctionRoleDecryptsItsEnvironment",
              Effect: "Allow",
              Principal: { AWS: this.role.arn },
              Action: "kms:Decrypt",
              Resource: "*",
            },
          ],
        }),
      },
      { parent: this },
    );
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: logGroupName,
        retentionInDays: args.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS,
        kmsKeyId: this.kmsKey.arn,
      },
      { parent: this },
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "ModifyThisListenersRules",
              Effect: "Allow",
              Action: ["elasticloadbalancing:ModifyRule"],
              Resource: [pulumi.output(args.listenerArn).apply(listenerRuleArnPattern)],
            },
            {
              Sid: "DescribeRulesHasNoResourceLevelPermissions",
              Effect: "Allow",
              Action: [...UNSCOPABLE_STATEMENTS.DescribeRulesHasNoResourceLevelPermissions],
              Resource: "*",
            },
            // GetParameter: a retry that finds every rule already blue repairs a latch the first attempt failed to write.
            {
              Sid: "ReadWriteLatch",
              Effect: "Allow",
              Action: ["ssm:GetParameter", "ssm:PutParameter"],
              Resource: [latchArn],
            },
            {
              Sid: "NotifyCritical",
              Effect: "Allow",
              Action: ["sns:Publish"],
              Resource: [args.criticalTopicArn],
            },
            // SNS encrypts each published message with a data key from the topic's KMS key, on the publisher's behalf.
            {
              Sid: "EncryptForCriticalTopic",
              Effect: "Allow",
              Action: ["kms:GenerateDataKey", "kms:Decrypt"],
              Resource: [args.criticalTopicKeyArn],
            },
            {
              Sid: "DeadLetters",
              Effect: "Allow",
              Action: ["sqs:SendMessage"],
              Resource: [this.deadLetterQueue.arn],
            },
            {
              Sid: "Logs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: [pulumi.interpolate`${this.logGroup.arn}:*`],
            },
            {
              Sid: "XRayHasNoResourceLevelPermissions",
              Effect: "Allow",
              Action: [...UNSCOPABLE_STATEMENTS.XRayHasNoResourceLevelPermissions],
              Resource: "*",
            },
          ],
        }),
      },
      { parent: this },
    );

    // What the handler parses on each invocation (rollout/lambdaEnvironment.ts).
    const rollbackEnvironment: RollbackEnvironmentVariables<pulumi.Input<string>> = {
      LISTENER_ARN: args.listenerArn,
      TARGET_GROUP_PAIRS: pulumi.jsonStringify(
        args.targetGroupPairs.map((p) => ({ service: p.service, blue: p.blue, green: p.green })),
      ),
      LATCH_PARAMETER: latchParameterName(args.stack),
      TOPIC_ARN: args.criticalTopicArn,
      STACK: args.stack,
      COMPOSITE_ALARM_NAME: compositeAlarmName(args.stack),
      SECURITY_EVENT_SOURCE: securityEventSource(args.stack),
    };
    this.function = new aws.lambda.Function(
      `${name}-fn`,
      {
        name: functionName,
        description: `Automatic rollback of ${args.stack}: every listener rule to 100 % blue`,
        runtime: LAMBDA_RUNTIME,
        architectures: ["arm64"],
        handler: "index.handler",
        code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(rollbackBundle()) }),
        role: this.role.arn,
        timeout: 60,
        // Lambda gives CPU in proportion to memory ("at 1,769 MB, a function has the equivalent
        // of one vCPU", Lambda Developer Guide, configuration-memory.html). Loading the bundle and
        // the first signed requests are CPU-bound (about 0.2 s of one core): at 256 MB a cold
        // start would spend over a second of the 5 s time to blue on them, at 1024 MB about 0.35 s.
        memorySize: 1024,
        // Two rollbacks racing over the same rules would only make noise: one at a time. Within
        // one invocation the ModifyRule calls run in parallel (lambda/rollback.ts, time to blue).
        reservedConcurrentExecutions: 1,
        tracingConfig: { mode: "Active" },
        deadLetterConfig: { targetArn: this.deadLetterQueue.arn },
        environment: { variables: rollbackEnvironment },
        kmsKeyArn: this.kmsKey.arn,
      },
      { parent: this, dependsOn: [this.logGroup, policy] },
    );
    this.functionArn = this.function.arn;

    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-event-invoke`,
      {
        functionName: this.function.name,
        maximumRetryAttempts: 2,
        maximumEventAgeInSeconds: 300,
        // No on-failure destination: the function's own dead-letter queue already receives an
        // event whose retries are spent, and both would put it there twice.
      },
      { parent: this },
    );
    new aws.lambda.Permission(
      `${name}-alarm-permission`,
      {
        function: this.function.name,
        action: "lambda:InvokeFunction",
        principal: "lambda.alarms.cloudwatch.amazonaws.com",
        sourceAccount: identity.accountId,
        sourceArn: pulumi.interpolate`arn:aws:cloudwatch:${region.region}:${identity.accountId}:alarm:${compositeAlarmName(args.stack)}`,
      },
      { parent: this },
    );

    // The custom security event first: it is the fast path; GuardDuty, when there, the slower net.
    const deadLetterStatements: { sid: string; rule: aws.cloudwatch.EventRule }[] = [];
    if (args.securityEvents === true) {
      this.securityEventRule = this.eventPath(
        name,
        "security-event",
        `${SECURITY_EVENT_DETAIL_TYPE} events from ${securityEventSource(args.stack)} on the default bus: roll ${args.stack} back`,
        securityEventPattern(args.stack),
        actionsEnabled,
      );
      deadLetterStatements.push({ sid: "SecurityEventRuleDeadLetters", rule: this.securityEventRule });
    }
    if (minSeverity !== undefined) {
      const cluster = args.guardDutyEksClusterName;
      const pattern = guardDutyEventPattern(minSeverity, cluster);
      // The console shows the description: say how wide the rule reaches.
      const description = `GuardDuty findings of severity >= ${minSeverity} ${
        cluster === undefined ? "on any resource in this account and region" : `on EKS cluster ${cluster}`
      }: roll ${args.stack} back`;
      this.guardDutyRule = this.eventPath(name, "guardduty", description, pattern, actionsEnabled);
      deadLetterStatements.push({ sid: "GuardDutyRuleDeadLetters", rule: this.guardDutyRule });
    }
    // EventBridge delivers to a DLQ as events.amazonaws.com: without an allow here a delivery
    // that exhausts its retries is dropped instead of kept for inspection. A queue has one
    // policy: one statement per rule, each scoped to that rule, and the refusal of any request
    // over plain HTTP (AwsSolutions-SQS4; SQS Developer Guide, "Enforce encryption of data in
    // transit", sqs-security-best-practices.html).
    this.deadLetterQueuePolicy = new aws.sqs.QueuePolicy(
      `${name}-dlq-policy`,
      {
        // A queue's Pulumi id is its URL.
        queueUrl: this.deadLetterQueue.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            ...deadLetterStatements.map(({ sid, rule }) => ({
              Sid: sid,
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: this.deadLetterQueue.arn,
              Condition: { ArnEquals: { "aws:SourceArn": rule.arn } },
            })),
            {
              Sid: "OnlyOverTls",
              Effect: "Deny",
              Principal: "*",
              Action: "sqs:*",
              Resource: this.deadLetterQueue.arn,
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      },
      { parent: this },
    );

    const actions = actionsEnabled ? [args.criticalTopicArn] : [];
    const common = {
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      period: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      actionsEnabled,
      alarmActions: actions,
      okActions: actions,
    };
    // AWS/Lambda Errors: "the number of invocations that result in a function error ... view the
    // Sum of the Errors metric with a period of 1 minute"; the FunctionName dimension gives
    // "aggregate metrics for all versions and aliases of a function" (Lambda Developer Guide,
    // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html and
    // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html). Lambda publishes it
    // only when the function is invoked: a minute without invocations is missing data, which is
    // no error (notBreaching).
    this.errorsAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-errors-alarm`,
      {
        ...common,
        name: alarmName(args.stack, { key: ROLLBACK_ALARM_KEYS.errors }),
        alarmDescription:
          `The automatic rollback of ${args.stack} failed (Lambda retries it twice, then its DLQ keeps the event): ` +
          "check the listener is on blue and read the function's log; the latch may be missing (rollout:rollback true keeps blue).",
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: this.function.name },
        statistic: "Sum",
        treatMissingData: "notBreaching",
      },
      { parent: this },
    );
    // AWS/SQS ApproximateNumberOfMessagesVisible, dimension QueueName, "reported if the queue is
    // active" (SQS Developer Guide, sqs-available-cloudwatch-metrics.html); SQS pushes queue
    // metrics at one-minute intervals, and a queue with messages in it counts as active, so
    // a dead letter is seen within minutes. An empty queue untouched for six hours stops
    // reporting: missing data there means no dead letters (notBreaching).
    this.deadLetterAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-dead-letters-alarm`,
      {
        ...common,
        name: alarmName(args.stack, { key: ROLLBACK_ALARM_KEYS.deadLetters }),
        alarmDescription:
          `An event for the automatic rollback of ${args.stack} was never handled (it is in the dead-letter queue): ` +
          "roll back by hand (npm run rollout -- rollback), read the message for why, then purge the queue (the alarm stays in ALARM while it holds a message).",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: this.deadLetterQueue.name },
        statistic: "Maximum",
        treatMissingData: "notBreaching",
      },
      { parent: this },
    );
    this.registerOutputs({ functionArn: this.functionArn });
  }

  /**
   * An EventBridge rule on the default bus -> the Lambda (retried by EventBridge, then the DLQ),
   * with an invoke permission scoped to that rule. `kind` names the children: `${name}-${kind}-rule`.
   */
  private eventPath(
    name: string,
    kind: string,
    description: string,
    pattern: Record<string, unknown>,
    actionsEnabled: boolean,
  ): aws.cloudwatch.EventRule {
    const rule = new aws.cloudwatch.EventRule(
      `${name}-${kind}-rule`,
      {
        description,
        eventPattern: JSON.stringify(pattern),
        state: actionsEnabled ? "ENABLED" : "DISABLED",
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-${kind}-target`,
      {
        rule: rule.name,
        arn: this.function.arn,
        retryPolicy: { maximumRetryAttempts: 4, maximumEventAgeInSeconds: 300 },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      },
      { parent: this },
    );
    new aws.lambda.Permission(
      `${name}-${kind}-permission`,
      {
        function: this.function.name,
        action: "lambda:InvokeFunction",
        principal: "events.amazonaws.com",
        sourceArn: rule.arn,
      },
      { parent: this },
    );
    return rule;
  }
}
