import { createHash } from "node:crypto";

/**
 * Every physical name the rollout gives something in AWS or Kubernetes, built from our own
 * identifiers (stack, service, colour, phase). The program, the policy pack, the rollback
 * Lambda and the CLI all name or find resources through these functions, so a name is written
 * once, and one place knows what AWS accepts in it (characters, length limits).
 */

/** The two environments of a rollout: blue is current production, green the new version. */
export type Colour = "blue" | "green";

// ---------------------------------------------------------------------------------------
// AWS naming rules

/**
 * AWS limit on target group names (and load balancer names). ELBv2 CreateTargetGroupInput.Name:
 * "can have a maximum of 32 characters, must contain only alphanumeric characters or hyphens,
 * and must not begin or end with a hyphen" (CreateLoadBalancerInput.Name: the same).
 */
export const TARGET_GROUP_NAME_MAX = 32;

/**
 * AWS limit on RDS DB snapshot identifiers. RDS CreateDBSnapshotMessage.DBSnapshotIdentifier:
 * "Must contain from 1 to 255 letters, numbers, or hyphens ... Can't end with a hyphen or
 * contain two consecutive hyphens".
 */
export const RDS_SNAPSHOT_IDENTIFIER_MAX = 255;

/**
 * `parts` joined with hyphens, as AWS names allow them: lowercase letters, digits and single
 * hyphens, none at either end, cut to `maxLength`.
 */
export function awsName(parts: readonly string[], maxLength: number): string {
  return parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+/, "")
    .slice(0, maxLength)
    .replace(/-+$/, "");
}

// ---------------------------------------------------------------------------------------
// Load balancer

/**
 * The AWS name of a service's target group: `<stack>-<service>-<colour>` cut to fit 32
 * characters, then a 7-character hash. The hash covers the whole identity and the port, so
 * a truncated name stays unique, and a port change (which replaces the target group) gets a
 * new name that lets Pulumi create the replacement before deleting the old one.
 */
export function targetGroupName(stack: string, service: string, colour: Colour, port: number): string {
  const hash = createHash("sha256")
    .update(JSON.stringify([stack, service, colour, port]))
    .digest("hex")
    .slice(0, 7);
  const readable = awsName([stack, service, colour], TARGET_GROUP_NAME_MAX - hash.length - 1);
  return `${readable}-${hash}`;
}

// ---------------------------------------------------------------------------------------
// Database snapshots

/** What every pre-phase snapshot identifier of `phase` starts with: how the policy pack finds it. */
export function phaseSnapshotPrefix(phase: string): string {
  return `before-${phase}-`;
}

/**
 * The snapshot taken before a phase: `before-<phase>-<stack>-<entry>`. Snapshot identifiers are
 * letters, digits and single hyphens, not ending with a hyphen, at most 255 characters; each
 * starts with a literal word, so with a letter whatever the stack is called.
 */
export function snapshotIdentifier(stack: string, phase: string, entryId: string): string {
  return awsName(["before", phase, stack, entryId], RDS_SNAPSHOT_IDENTIFIER_MAX);
}

/** The snapshot RDS takes when the database is deleted: `staged-rollout-<stack>-mysql-final`. */
export function finalSnapshotIdentifier(stack: string): string {
  return awsName(["staged-rollout", stack, "mysql-final"], RDS_SNAPSHOT_IDENTIFIER_MAX);
}

// ---------------------------------------------------------------------------------------
// CloudWatch

/** CloudWatch alarm name of a gate level (`spec.key` is `<gate>-<level>`): `<stack>-<gate>-<level>[-<service>]`. */
export function alarmName(stack: string, spec: { key: string }, service?: string): string {
  return `${alarmNamePrefix(stack)}${service ? `${spec.key}-${service}` : spec.key}`;
}

/** What every alarm of the stack's name starts with (DescribeAlarms' AlarmNamePrefix). */
export function alarmNamePrefix(stack: string): string {
  return `${stack}-`;
}

/** Name of the composite alarm that ORs the auto-rollback alarms and invokes the rollback Lambda. */
export function compositeAlarmName(stack: string): string {
  return `${stack}-auto-rollback`;
}

/** CloudWatch namespace of the application's custom metrics (dimension `Colour` = blue | green). */
export function customMetricNamespace(stack: string): string {
  return `StagedRollout/${stack}`;
}

/** Name of the stack's CloudWatch dashboard. */
export function dashboardName(stack: string): string {
  return `${stack}-rollout`;
}

// ---------------------------------------------------------------------------------------
// The rollback Lambda and the SSM parameters it shares with the program

/** Name of the rollback Lambda function. */
export function rollbackFunctionName(stack: string): string {
  return `${stack}-auto-rollback`;
}

/** The log group Lambda writes a function's logs to (Lambda's own naming: `/aws/lambda/<function>`). */
export function lambdaLogGroupName(functionName: string): string {
  return `/aws/lambda/${functionName}`;
}

/** The SSM hierarchy of a stack's parameters: the state record lies directly under it, the latch a level deeper. */
export function stackParameterPath(stack: string): string {
  return `/staged-rollout/${stack}`;
}

/**
 * The revision the rollout CLI last wrote to the stack file (cli/revision.ts), claimed in SSM as
 * the write happens, so another working copy sees it before anything is deployed. Directly under
 * the stack's hierarchy, beside the state record: the program reads both in one call.
 */
export function revisionClaimParameterName(stack: string): string {
  return `${stackParameterPath(stack)}/revision`;
}

/** Name of the SSM parameter holding the stack's rollout state record. */
export function stateParameterName(stack: string): string {
  return `${stackParameterPath(stack)}/state`;
}

/** Path under which the rollback Lambda writes its latch; read with GetParametersByPath, so a missing latch is an empty list. */
export function latchPath(stack: string): string {
  return `/staged-rollout/${stack}/latch`;
}

export function latchParameterName(stack: string): string {
  return `${latchPath(stack)}/rollback`;
}

// ---------------------------------------------------------------------------------------
// Kubernetes

/** Name of a colour's Kubernetes workload (Deployment and Service) of a service: Container Insights' `Service` dimension. */
export function workloadName(service: string, colour: Colour): string {
  return `${service}-${colour}`;
}

/** Name of a colour's Secret of database credentials, shared by its services. */
export function dbCredentialsSecretName(colour: Colour): string {
  return `${colour}-db-credentials`;
}

/** Name of a colour's ConfigMap of feature flags, shared by its services. */
export function featureFlagsConfigMapName(colour: Colour): string {
  return `${colour}-feature-flags`;
}

/**
 * The EventBridge `source` of the stack's custom security events: what the application (or a
 * security tool) puts on the default event bus when it detects a breach, and what the rollback
 * rule matches. Custom sources must not begin with `aws.` (EventBridge reserves it).
 */
export function securityEventSource(stack: string): string {
  return `staged-rollout.${stack}`;
}

/** The `detail-type` of a security breach event (with `securityEventSource`). */
export const SECURITY_EVENT_DETAIL_TYPE = "Security Breach Detected";

/** The Kubernetes ServiceAccount the workloads of both colours run as (EKS Pod Identity gives it the publish role). */
export function workloadServiceAccountName(stack: string): string {
  return awsName([stack, "workload"], 63);
}
