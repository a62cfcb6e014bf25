import type {
  PolicyConfigSchema,
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
  statementsOf,
  TYPES,
  wildcardMatch,
  type Policy,
  type ResourceValidationPolicy,
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

const iamSchema: PolicyConfigSchema = {
  properties: {
    resourceWildcardActions: { type: "array", items: { type: "string" }, default: RESOURCE_WILDCARD_ACTIONS },
  },
};

/** Whether a statement's action (itself possibly a wildcard) is covered by an allow-list entry. */
function allowedOnAnyResource(action: string, allowList: readonly string[]): boolean {
  return allowList.some(
    (entry) =>
      entry.toLowerCase() === action.toLowerCase() || (!action.includes("*") && wildcardMatch(entry, action)),
  );
}

function checkDocument(kind: string, args: ResourceValidationArgs, report: ReportViolation): void {
  const { resourceWildcardActions } = configOf<{ resourceWildcardActions: string[] }>(args, iamSchema);
  for (const statement of statementsOf(args.props.policy)) {
    if (statement.effect !== "Allow") continue;
    const where = `${kind} ${args.name} statement ${statement.label}`;
    if (statement.notActions.length > 0) {
      report(
        `${where} uses NotAction, which allows every other action; list the actions it needs in Action instead`,
      );
    }
    for (const action of statement.actions) {
      if (action === "*" || /^[^:]+:\*$/.test(action)) {
        report(`${where} allows ${action}; name the actions the function calls instead of a wildcard`);
      }
    }
    if (!statement.resources.includes("*")) continue;
    const unscoped = statement.actions.filter((a) => !allowedOnAnyResource(a, resourceWildcardActions));
    if (unscoped.length === 0) continue;
    report(
      `${where} grants ${unscoped.join(", ")} on Resource "*"; scope it to the ARNs it touches ` +
        `(only ${resourceWildcardActions.join(", ")} may use "*": AWS has no resource-level permissions for them)`,
    );
  }
}

export const lambdaIamLeastPrivilege: ResourceValidationPolicy = {
  name: "runtime-lambda-iam-least-privilege",
  description:
    'IAM policies grant no "*" or "service:*" actions, and Resource "*" only for actions without resource-level permissions (resourceWildcardActions).',
  enforcementLevel: "mandatory",
  configSchema: iamSchema,
  remediationSteps:
    "List the exact actions the function calls and scope Resource to the listener, rule and parameter ARNs; keep " +
    'Resource "*" for elasticloadbalancing:Describe* and X-Ray uploads only, each in its own documented statement.',
  validateResource: [
    forType(TYPES.iamRolePolicy, (_props, args, report) => checkDocument("role policy", args, report)),
    forType(TYPES.iamPolicy, (_props, args, report) => checkDocument("IAM policy", args, report)),
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

export const greenHeavydbReadOnly: ResourceValidationPolicy = {
  name: "runtime-green-heavydb-read-only",
  description:
    'Green\'s database credentials Secret sets HEAVYDB_READ_ONLY to "true": green never writes HeavyDB during the rollout.',
  enforcementLevel: "mandatory",
  remediationSteps:
    'Set HEAVYDB_READ_ONLY: "true" in the stringData of green\'s db-credentials Secret (the Environment component does).',
  validateResource: forType(TYPES.k8sSecret, (props, args, report) => {
    if (!/^green-.*db-credentials$/.test(args.name)) return;
    const flag = readOnlyFlag(props);
    if (flag === "unknown") return;
    if (flag === undefined) {
      report(
        `secret ${args.name} does not set ${READ_ONLY_KEY}; green must open HeavyDB read-only: set ${READ_ONLY_KEY} to "true"`,
      );
    } else if (flag.value !== "true") {
      report(
        `secret ${args.name} sets ${READ_ONLY_KEY} to ${JSON.stringify(flag.value)}; green must open HeavyDB read-only: set it to "true"`,
      );
    }
  }),
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
