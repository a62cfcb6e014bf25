import type {
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
} from "@pulumi/policy";
import {
  asArray,
  configOf,
  field,
  forType,
  isSet,
  isUnknownValueError,
  known,
  ofType,
  statementsOf,
  TYPES,
  wildcardMatch,
  type Policy,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from "./util";

/**
 * Runtime rules: the rollback Lambda's IAM stays least-privilege, alert topics are
 * encrypted, green reads HeavyDB read-only, and every pod runs as non-root with limits.
 */

/**
 * Actions for which AWS offers no resource-level permissions, so `Resource: "*"` is the only
 * way to grant them (Service Authorization Reference, "Resource types" column empty):
 * ELB's Describe* calls and X-Ray's trace upload.
 */
export const RESOURCE_WILDCARD_ACTIONS = [
  "elasticloadbalancing:Describe*",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
];

/**
 * AWS managed policies too broad for any role of the stack: full administrator and power-user
 * access, and every service's `*FullAccess`. Patterns match the policy ARN (IAM wildcards, any
 * partition and path).
 */
export const DENIED_MANAGED_POLICIES = [
  "arn:*:iam::aws:policy/AdministratorAccess",
  "arn:*:iam::aws:policy/PowerUserAccess",
  "arn:*:iam::aws:policy/*FullAccess",
];

/**
 * Actions without resource-level permissions that a condition key narrows instead: allowed on
 * `Resource: "*"` only in a statement that tests that key. `cloudwatch:PutMetricData` has no
 * resource types; its `cloudwatch:namespace` key limits the namespaces a principal may publish to
 * (Service Authorization Reference, "Actions, resources, and condition keys for Amazon CloudWatch").
 */
export const CONDITIONED_WILDCARD_ACTIONS: Readonly<Record<string, string>> = {
  "cloudwatch:PutMetricData": "cloudwatch:namespace",
};

const iamSchema: PolicyConfigSchema = {
  properties: {
    resourceWildcardActions: { type: "array", items: { type: "string" }, default: RESOURCE_WILDCARD_ACTIONS },
    deniedManagedPolicies: { type: "array", items: { type: "string" }, default: DENIED_MANAGED_POLICIES },
  },
};

interface IamConfig {
  resourceWildcardActions: string[];
  deniedManagedPolicies: string[];
}

/** Whether a statement's action (itself possibly a wildcard) is covered by an allow-list entry. */
function allowedOnAnyResource(action: string, allowList: readonly string[]): boolean {
  return allowList.some(
    (entry) =>
      entry.toLowerCase() === action.toLowerCase() || (!action.includes("*") && wildcardMatch(entry, action)),
  );
}

/** Report the over-broad statements of one policy document; `where` names it in the messages. */
function checkDocument(where: string, document: unknown, config: IamConfig, report: ReportViolation): void {
  const { resourceWildcardActions } = config;
  for (const statement of statementsOf(document)) {
    if (statement.effect !== "Allow") continue;
    const at = `${where} statement ${statement.label}`;
    if (statement.notActions.length > 0) {
      report(
        `${at} uses NotAction, which allows every other action; list the actions it needs in Action instead`,
      );
    }
    for (const action of statement.actions) {
      if (action === "*" || /^[^:]+:\*$/.test(action)) {
        report(`${at} allows ${action}; name the actions the function calls instead of a wildcard`);
      }
    }
    if (!statement.resources.includes("*")) continue;
    const unscoped = statement.actions.filter(
      (a) =>
        !allowedOnAnyResource(a, resourceWildcardActions) &&
        !statement.conditionKeys.includes(CONDITIONED_WILDCARD_ACTIONS[a] ?? "\0"),
    );
    if (unscoped.length === 0) continue;
    report(
      `${at} grants ${unscoped.join(", ")} on Resource "*"; scope it to the ARNs it touches ` +
        `(only ${resourceWildcardActions.join(", ")} may use "*": AWS has no resource-level permissions for them; ` +
        `${Object.entries(CONDITIONED_WILDCARD_ACTIONS)
          .map(([action, key]) => `${action} only with a ${key} condition`)
          .join(", ")})`,
    );
  }
}

/** Report a managed policy ARN that matches the deny-list; ARNs unknown at preview are skipped. */
function checkManagedPolicy(where: string, arn: unknown, config: IamConfig, report: ReportViolation): void {
  if (typeof arn !== "string") return;
  const denied = config.deniedManagedPolicies.find((pattern) => wildcardMatch(pattern, arn));
  if (denied === undefined) return;
  report(
    `${where} attaches the managed policy ${arn} (deniedManagedPolicies: ${denied}), which grants far more than the role needs; ` +
      "detach it and grant the exact actions in an aws.iam.RolePolicy scoped to the resources it touches",
  );
}

/** Entries of a list prop, each read on its own so that one unknown entry does not hide the others. */
function knownEntries(props: Record<string, unknown>, key: string): unknown[] {
  if (!isSet(props, key)) return [];
  const list = known(() => props[key]);
  if (!Array.isArray(list)) return [];
  // Index by index: Array methods would read every element through the proxy and throw on the first unknown.
  const entries: unknown[] = [];
  for (let i = 0; i < list.length; i++) entries.push(known(() => list[i] as unknown));
  return entries;
}

const iamConfig = (args: ResourceValidationArgs) => configOf<IamConfig>(args, iamSchema);

export const lambdaIamLeastPrivilege: ResourceValidationPolicy = {
  name: "runtime-lambda-iam-least-privilege",
  description:
    'IAM policies, role inline policies and attached managed policies grant no "*" or "service:*" actions, Resource "*" only for actions without resource-level permissions (resourceWildcardActions), and no broad AWS managed policy (deniedManagedPolicies).',
  enforcementLevel: "mandatory",
  configSchema: iamSchema,
  remediationSteps:
    "List the exact actions the function calls and scope Resource to the listener, rule and parameter ARNs; keep " +
    'Resource "*" for elasticloadbalancing:Describe* and X-Ray uploads only, each in its own documented statement. ' +
    "Attach no AdministratorAccess, PowerUserAccess or *FullAccess managed policy.",
  validateResource: [
    forType(TYPES.iamRolePolicy, (props, args, report) =>
      checkDocument(`role policy ${args.name}`, props.policy, iamConfig(args), report),
    ),
    forType(TYPES.iamPolicy, (props, args, report) =>
      checkDocument(`IAM policy ${args.name}`, props.policy, iamConfig(args), report),
    ),
    // A role's own inline policies and managed policy ARNs: two validations, so that an inline
    // document unknown at preview does not hide the managed policies.
    forType(TYPES.iamRole, (props, args, report) => {
      for (const inline of asArray(props.inlinePolicies)) {
        const name = String(known(() => field(inline, "name")) ?? "?");
        checkDocument(
          `role ${args.name} inline policy ${name}`,
          field(inline, "policy"),
          iamConfig(args),
          report,
        );
      }
    }),
    forType(TYPES.iamRole, (props, args, report) => {
      for (const arn of knownEntries(props, "managedPolicyArns")) {
        checkManagedPolicy(`role ${args.name}`, arn, iamConfig(args), report);
      }
    }),
    forType(TYPES.iamRolePolicyAttachment, (props, args, report) => {
      const arn = isSet(props, "policyArn") ? known(() => props.policyArn) : undefined;
      checkManagedPolicy(`role policy attachment ${args.name}`, arn, iamConfig(args), report);
    }),
  ] satisfies ResourceValidation[],
};

export const snsEncrypted: ResourceValidationPolicy = {
  name: "runtime-sns-encrypted",
  description: "SNS topics encrypt messages at rest.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set kmsMasterKeyId on the topic to a KMS key whose policy lets cloudwatch.amazonaws.com use it (alarms publish to it).",
  validateResource: forType(TYPES.snsTopic, (props, args, report) => {
    if (isSet(props, "kmsMasterKeyId")) return;
    report(
      `SNS topic ${args.name} is not encrypted; set kmsMasterKeyId to a KMS key that allows cloudwatch.amazonaws.com to publish`,
    );
  }),
};

const READ_ONLY_KEY = "HEAVYDB_READ_ONLY";

/**
 * HEAVYDB_READ_ONLY from `stringData` or base64 `data`: its value, `"unknown"` when the key
 * is present but its value is unknown at preview (presence is what can be checked then), or
 * undefined when absent.
 */
function readOnlyFlag(props: Record<string, unknown>): { value: string } | "unknown" | undefined {
  for (const [key, decode] of [
    ["stringData", (v: string) => v],
    ["data", (v: string) => Buffer.from(v, "base64").toString("utf8")],
  ] as const) {
    try {
      const bag = isSet(props, key) ? props[key] : undefined;
      if (!isSet(bag, READ_ONLY_KEY)) continue;
      return { value: decode(String((bag as Record<string, unknown>)[READ_ONLY_KEY])) };
    } catch (error) {
      if (isUnknownValueError(error)) return "unknown";
      throw error;
    }
  }
  return undefined;
}

/** A string at `path` of a resource's props, or undefined when absent or unknown at preview. */
function knownString(props: Record<string, unknown>, ...path: string[]): string | undefined {
  const value = known(() => field(props, ...path));
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The Kubernetes name of a resource (metadata.name), or its Pulumi name when that is not known. */
function k8sName(resource: PolicyResource): string {
  return knownString(resource.props, "metadata", "name") ?? resource.name;
}

/**
 * Green's database credentials: a Secret named `<...>db-credentials` (metadata.name, as the
 * Environment component names it `green-db-credentials`) that is green's by its `colour`
 * label or its name. The Pulumi resource name plays no part: it is not what pods mount.
 */
function isGreenDbSecret(secret: PolicyResource): boolean {
  const name = k8sName(secret);
  if (!/db-credentials$/.test(name)) return false;
  return knownString(secret.props, "metadata", "labels", "colour") === "green" || /^green-/.test(name);
}

/** A Deployment of green: its own or its pod template's `colour` label says so. */
function isGreenDeployment(deployment: PolicyResource): boolean {
  return (
    knownString(deployment.props, "metadata", "labels", "colour") === "green" ||
    knownString(deployment.props, "spec", "template", "metadata", "labels", "colour") === "green"
  );
}

export const greenHeavydbReadOnly: StackValidationPolicy = {
  name: "runtime-green-heavydb-read-only",
  description:
    "Green's database credentials Secret (green-db-credentials) sets HEAVYDB_READ_ONLY to \"true\", and green's Deployments do not run without it: green never writes HeavyDB during the rollout.",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Set HEAVYDB_READ_ONLY: "true" in the stringData of green\'s db-credentials Secret (the Environment component does), ' +
    "and keep that Secret wherever green's Deployments run.",
  validateStack: (args, report) => {
    const secrets = ofType(args.resources, TYPES.k8sSecret).filter(isGreenDbSecret);
    for (const secret of secrets) {
      const name = k8sName(secret);
      const flag = readOnlyFlag(secret.props);
      if (flag === "unknown") continue;
      if (flag === undefined) {
        report(
          `secret ${name} does not set ${READ_ONLY_KEY}; green must open HeavyDB read-only: set ${READ_ONLY_KEY} to "true"`,
          secret.urn,
        );
      } else if (flag.value !== "true") {
        report(
          `secret ${name} sets ${READ_ONLY_KEY} to ${JSON.stringify(flag.value)}; green must open HeavyDB read-only: set it to "true"`,
          secret.urn,
        );
      }
    }
    if (secrets.length > 0) return;
    const deployments = ofType(args.resources, TYPES.k8sDeployment).filter(isGreenDeployment);
    if (deployments.length === 0) return;
    report(
      `green deployment${deployments.length > 1 ? "s" : ""} ${deployments.map(k8sName).join(", ")} run${deployments.length > 1 ? "" : "s"} ` +
        `without a green database credentials Secret, so nothing tells green to open HeavyDB read-only; ` +
        `create green-db-credentials with ${READ_ONLY_KEY}: "true" (the Environment component does) and load it with envFrom`,
      deployments[0]!.urn,
    );
  },
};

export const containersNonRootWithLimits: ResourceValidationPolicy = {
  name: "runtime-containers-non-root-with-limits",
  description: "Every Deployment's containers run as non-root and set CPU and memory limits.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set securityContext.runAsNonRoot: true on the pod (or each container) and resources.limits.cpu / .memory on every " +
    "container (rollout:services[].resources).",
  validateResource: forType(TYPES.k8sDeployment, (props, args, report) => {
    const pod = field(props, "spec", "template", "spec");
    const podNonRoot = field(pod, "securityContext", "runAsNonRoot") === true;
    const containers = [...asArray(field(pod, "initContainers")), ...asArray(field(pod, "containers"))];
    for (const container of containers) {
      const name = String(field(container, "name") ?? "?");
      const own = field(container, "securityContext", "runAsNonRoot");
      // A container's own setting overrides the pod's.
      if (own === false || (own === undefined && !podNonRoot)) {
        report(
          `deployment ${args.name} container ${name} may run as root; set securityContext.runAsNonRoot: true on the pod or the container`,
        );
      }
      const limits = field(container, "resources", "limits");
      const missing = ["cpu", "memory"].filter((k) => !isSet(limits, k));
      if (missing.length > 0) {
        report(
          `deployment ${args.name} container ${name} has no ${missing.join(" or ")} limit; set resources.limits.${missing.join(" and resources.limits.")} (rollout:services[].resources)`,
        );
      }
    }
  }),
};

export const runtimePolicies: Policy[] = [
  lambdaIamLeastPrivilege,
  snsEncrypted,
  greenHeavydbReadOnly,
  containersNonRootWithLimits,
];
