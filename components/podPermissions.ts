import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  customMetricNamespace,
  SECURITY_EVENT_DETAIL_TYPE,
  securityEventSource,
  workloadServiceAccountName,
} from "../rollout/names";

export interface PodPermissionsArgs {
  stack: string;
  /**
   * The EKS cluster the workloads run on (`rollout:cluster.name`). The program does not own it:
   * the EKS Pod Identity Agent add-on must already run there (docs/pod-permissions.md).
   */
  clusterName: string;
  /** The application namespace (`rollout:cluster.namespace`): the ServiceAccount lives there. */
  namespace: string;
  /** The one Kubernetes provider of the stack, built from `rollout:cluster`. */
  provider: k8s.Provider;
}

/** The service principal EKS Pod Identity assumes roles as ("Create IAM role with trust policy required by EKS Pod Identity"). */
const POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com";

/**
 * The AWS identity of the application pods of both colours, by EKS Pod Identity: one IAM role
 * for the stack, a ServiceAccount `workloadServiceAccountName(stack)` in the app namespace, and
 * the association between them. The role may do exactly two things, each pinned by a condition:
 * put metrics into the stack's custom namespace (the quality gates' alarms read them), and put
 * the stack's security event on the default event bus (the rollback rule matches it).
 *
 * Colours share the role and tell their data apart by the `Colour` dimension, which IAM cannot
 * check: a pod of one colour could publish under the other's (docs/pod-permissions.md).
 */
export class PodPermissions extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly policy: aws.iam.RolePolicy;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly association: aws.eks.PodIdentityAssociation;
  /**
   * The ServiceAccount's name, resolved only once the association exists: EKS injects the
   * credentials when it admits a pod, so a Deployment must not start pods before it (pods
   * created earlier never get them). Pass this, not the plain name, as `serviceAccountName`.
   */
  readonly serviceAccountName: pulumi.Output<string>;
  /** Region the pods must call: the stack's, where the alarms and the default bus's rollback rule are. */
  readonly region: pulumi.Output<string>;
  /** What the pods may publish: the metric namespace and the security event's source and detail-type. */
  readonly metricNamespace: string;
  readonly securityEventSource: string;
  readonly securityEventDetailType: string;

  constructor(name: string, args: PodPermissionsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before super(): a refused component registers nothing, not even itself.
    validate(args);
    super("staged-rollout:workloads:PodPermissions", name, {}, opts);
    const serviceAccountName = workloadServiceAccountName(args.stack);
    this.metricNamespace = customMetricNamespace(args.stack);
    this.securityEventSource = securityEventSource(args.stack);
    this.securityEventDetailType = SECURITY_EVENT_DETAIL_TYPE;

    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this });
    this.region = aws.getRegionOutput({}, { parent: this }).region;
    // EKS's own format for a cluster ARN ("Cross-service confused deputy prevention in Amazon EKS").
    const clusterArn = pulumi.interpolate`arn:${partition.partition}:eks:${this.region}:${identity.accountId}:cluster/${args.clusterName}`;
    const defaultBusArn = pulumi.interpolate`arn:${partition.partition}:events:${this.region}:${identity.accountId}:event-bus/default`;

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `staged-rollout ${args.stack}: application pods publish gate metrics and security events (EKS Pod Identity)`,
        assumeRolePolicy: pulumi.jsonStringify(
          podIdentityTrustPolicy(clusterArn, args.namespace, serviceAccountName),
        ),
      },
      { parent: this },
    );
    this.policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi.jsonStringify(
          publishPolicy(
            this.metricNamespace,
            defaultBusArn,
            this.securityEventSource,
            SECURITY_EVENT_DETAIL_TYPE,
          ),
        ),
      },
      { parent: this },
    );

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      {
        metadata: {
          name: serviceAccountName,
          namespace: args.namespace,
          labels: { "app.kubernetes.io/part-of": "staged-rollout" },
        },
        // Pod Identity projects its own token (audience pods.eks.amazonaws.com) into the pod; the
        // Kubernetes API token is a separate volume the application never needs.
        automountServiceAccountToken: false,
      },
      { parent: this, provider: args.provider },
    );

    this.association = new aws.eks.PodIdentityAssociation(
      `${name}-association`,
      {
        clusterName: args.clusterName,
        namespace: args.namespace,
        serviceAccount: this.serviceAccount.metadata.name,
        roleArn: this.role.arn,
        // The trust policy matches EKS's session tags: without them no pod could assume the role.
        disableSessionTags: false,
      },
      // Credentials handed out must already carry the permissions.
      { parent: this, dependsOn: [this.policy] },
    );

    this.serviceAccountName = pulumi
      .all([this.serviceAccount.metadata.name, this.association.associationId])
      .apply(([serviceAccount]) => serviceAccount);

    this.registerOutputs({ serviceAccountName: this.serviceAccountName, roleArn: this.role.arn });
  }
}

/**
 * The role's trust policy: EKS Pod Identity (`sts:AssumeRole` and `sts:TagSession`), only for
 * this cluster, namespace and ServiceAccount. Those three are session tags EKS adds when it
 * assumes the role ("Create IAM role with trust policy required by EKS Pod Identity", "Enable
 * or disable session tags"). No `aws:SourceAccount`/`aws:SourceArn`: AWS documents them for
 * the cluster role (eks.amazonaws.com), not for pods.eks.amazonaws.com, and a condition on a
 * key the request does not carry would refuse every pod.
 */
function podIdentityTrustPolicy<T>(clusterArn: T, namespace: string, serviceAccount: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowEksAuthToAssumeRoleForPodIdentity",
        Effect: "Allow",
        Principal: { Service: POD_IDENTITY_PRINCIPAL },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: {
          StringEquals: {
            "aws:RequestTag/eks-cluster-arn": clusterArn,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": serviceAccount,
          },
        },
      },
    ],
  };
}

/**
 * Everything the pods may do, and nothing else:
 * - `cloudwatch:PutMetricData` has no resource-level permissions, so Resource is `*`, held to
 *   the stack's namespace by `cloudwatch:namespace` ("Using condition keys to limit access to
 *   CloudWatch namespaces").
 * - `events:PutEvents` on the account's default bus, only with the stack's source and
 *   detail-type. One PutEvents call carries up to 10 entries, so AWS's own example checks both
 *   keys with ForAllValues (every entry); ForAllValues also holds when a key is absent, hence
 *   the Null checks ("Using IAM policy conditions in Amazon EventBridge", example policies;
 *   IAM "Multivalued context keys").
 */
function publishPolicy<T>(
  metricNamespace: string,
  defaultBusArn: T,
  eventSource: string,
  eventDetailType: string,
) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PutGateMetricsInStackNamespace",
        Effect: "Allow",
        Action: ["cloudwatch:PutMetricData"],
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": metricNamespace } },
      },
      {
        Sid: "PutStackSecurityEventsOnDefaultBus",
        Effect: "Allow",
        Action: ["events:PutEvents"],
        Resource: [defaultBusArn],
        Condition: {
          "ForAllValues:StringEquals": {
            "events:source": [eventSource],
            "events:detail-type": [eventDetailType],
          },
          Null: { "events:source": "false", "events:detail-type": "false" },
        },
      },
    ],
  };
}

function validate(args: PodPermissionsArgs): void {
  if (args.clusterName.trim() === "")
    throw new Error("PodPermissions: clusterName is empty; pass rollout:cluster.name");
  if (args.namespace.trim() === "")
    throw new Error("PodPermissions: namespace is empty; pass rollout:cluster.namespace");
}
