import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  dbCredentialsSecretName,
  featureFlagsConfigMapName,
  workloadName,
  type Colour,
} from "../rollout/names";

export interface EnvironmentService {
  name: string;
  image: string;
  port: number;
  healthCheckPath: string;
  /** Pods of the service. 0 idles it: its Deployment, Service and target group binding stay, with no pods. */
  replicas: number;
  resources: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string };
}

export interface EnvironmentArgs {
  colour: Colour;
  namespace: string;
  /** The one Kubernetes provider of the stack, built from `rollout:cluster`. */
  provider: k8s.Provider;
  services: EnvironmentService[];
  /** This colour's target group ARN per service, bound with a TargetGroupBinding. */
  targetGroupArns: Record<string, pulumi.Input<string>>;
  /** MySQL is shared by both colours. */
  mysql: {
    host: pulumi.Input<string>;
    port: number;
    database: string;
    username: string;
    password: pulumi.Input<string>;
  };
  heavydb: { host: string; port: number; database: string; user: string; password: pulumi.Input<string> };
  /** Green reads HeavyDB read-only during the rollout. Default: true for green, false for blue. */
  heavydbReadOnly?: boolean;
  /**
   * Feature flag overrides of this colour, merged over DEFAULT_FEATURE_FLAGS. Default: none
   * (`{gradualExposure: "true", emergencyDisable: "false"}`).
   */
  featureFlags?: Record<string, string | boolean>;
  /**
   * CloudWatch namespace the application publishes its custom gate metrics to (rowsPerSecond,
   * session success, ...), given to pods as METRICS_NAMESPACE: the namespace the alarms watch.
   */
  metricsNamespace: string;
  /** What this colour's workloads wait for (the phase's snapshot). Default: none. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * The pods' AWS identity (PodPermissions): the ServiceAccount every Deployment runs as, and
   * where and what they publish. Default: none; the pods run as the namespace's `default`
   * ServiceAccount with no AWS identity, and can publish neither gate metrics nor security events.
   */
  awsAccess?: WorkloadAwsAccess;
}

export interface WorkloadAwsAccess {
  /** The ServiceAccount EKS Pod Identity associates with the publish role. */
  serviceAccountName: pulumi.Input<string>;
  /** Region the pods' SDK calls (AWS_REGION, AWS_DEFAULT_REGION): the stack's. */
  region: pulumi.Input<string>;
  /** What a breach event must carry (SECURITY_EVENT_SOURCE, SECURITY_EVENT_DETAIL_TYPE): the only values IAM lets the pods put. */
  securityEventSource: string;
  securityEventDetailType: string;
}

export const DEFAULT_FEATURE_FLAGS = { gradualExposure: "true", emergencyDisable: "false" } as const;

/** Pod template annotation carrying a checksum of the flags ConfigMap's data. */
export const FLAGS_CHECKSUM_ANNOTATION = "staged-rollout/feature-flags-checksum";

/** The flags ConfigMap's data: defaults, then overrides, as strings, keys sorted. */
function featureFlagData(overrides: Record<string, string | boolean> = {}): Record<string, string> {
  const merged: Record<string, string> = { ...DEFAULT_FEATURE_FLAGS };
  for (const [key, value] of Object.entries(overrides)) merged[key] = String(value);
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Kubeconfig for the EKS cluster named in `rollout:cluster.name`, as pulumi-eks builds it:
 * endpoint and CA from the cluster itself, a token from `aws eks get-token` at each use. It
 * pins the provider to that cluster whatever context the deployer's kubeconfig has current.
 */
export function eksKubeconfig(clusterName: string, region: pulumi.Input<string>): pulumi.Output<string> {
  const cluster = aws.eks.getClusterOutput({ name: clusterName });
  return pulumi
    .all([cluster.endpoint, cluster.certificateAuthorities, region])
    .apply(([endpoint, authorities, awsRegion]) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: clusterName,
            cluster: { server: endpoint, "certificate-authority-data": authorities[0]!.data },
          },
        ],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [
          {
            name: clusterName,
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1beta1",
                command: "aws",
                args: ["eks", "get-token", "--cluster-name", clusterName, "--region", awsRegion],
                interactiveMode: "Never",
              },
            },
          },
        ],
      }),
    );
}

/**
 * One colour's workloads: per service a Deployment, a ClusterIP Service, a
 * PodDisruptionBudget and a TargetGroupBinding to the colour's target group; one Secret of
 * database credentials and one ConfigMap of feature flags shared by the colour's services.
 * With `awsAccess`, every Deployment runs as the stack's publishing ServiceAccount.
 */
export class Environment extends pulumi.ComponentResource {
  readonly secret: k8s.core.v1.Secret;
  readonly featureFlags: k8s.core.v1.ConfigMap;
  readonly deployments: Record<string, k8s.apps.v1.Deployment> = {};
  readonly services: Record<string, k8s.core.v1.Service> = {};
  readonly targetGroupBindings: Record<string, k8s.apiextensions.CustomResource> = {};

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before super(): a refused component registers nothing, not even itself.
    validate(args);
    super("staged-rollout:workloads:Environment", name, {}, opts);
    const childOpts = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    const readOnly = args.heavydbReadOnly ?? args.colour === "green";
    const access = args.awsAccess;
    const labels = (service: string) => ({
      app: service,
      colour: args.colour,
      "app.kubernetes.io/part-of": "staged-rollout",
    });

    this.secret = new k8s.core.v1.Secret(
      `${name}-db-credentials`,
      {
        // The colour label is how the policy pack finds green's read-only HeavyDB credentials.
        metadata: {
          name: dbCredentialsSecretName(args.colour),
          namespace: args.namespace,
          labels: { colour: args.colour, "app.kubernetes.io/part-of": "staged-rollout" },
        },
        type: "Opaque",
        stringData: {
          MYSQL_HOST: args.mysql.host,
          MYSQL_PORT: String(args.mysql.port),
          MYSQL_DATABASE: args.mysql.database,
          MYSQL_USER: args.mysql.username,
          MYSQL_PASSWORD: pulumi.secret(args.mysql.password),
          HEAVYDB_HOST: args.heavydb.host,
          HEAVYDB_PORT: String(args.heavydb.port),
          HEAVYDB_DATABASE: args.heavydb.database,
          // Only the read-only HeavyDB user is ever handed to pods; the flag makes the app
          // refuse writes even if that user's grants were too wide.
          HEAVYDB_USER: args.heavydb.user,
          HEAVYDB_PASSWORD: pulumi.secret(args.heavydb.password),
          HEAVYDB_READ_ONLY: readOnly ? "true" : "false",
        },
      },
      childOpts,
    );

    const flags = featureFlagData(args.featureFlags);
    // Pods read the flags through envFrom, only at start: the checksum in the pod template
    // rolls them when a flag changes, so an emergency disable reaches running pods.
    const flagsChecksum = createHash("sha256").update(JSON.stringify(flags)).digest("hex");
    this.featureFlags = new k8s.core.v1.ConfigMap(
      `${name}-feature-flags`,
      {
        metadata: { name: featureFlagsConfigMapName(args.colour), namespace: args.namespace },
        data: flags,
      },
      childOpts,
    );

    for (const service of args.services) {
      const workload = workloadName(service.name, args.colour);
      const probe = (periodSeconds: number, failureThreshold: number, initialDelaySeconds: number) => ({
        httpGet: { path: service.healthCheckPath, port: service.port },
        periodSeconds,
        failureThreshold,
        initialDelaySeconds,
        timeoutSeconds: 3,
      });
      this.deployments[service.name] = new k8s.apps.v1.Deployment(
        `${name}-${service.name}`,
        {
          metadata: { name: workload, namespace: args.namespace, labels: labels(service.name) },
          spec: {
            replicas: service.replicas,
            selector: { matchLabels: labels(service.name) },
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            template: {
              metadata: {
                labels: labels(service.name),
                annotations: { [FLAGS_CHECKSUM_ANNOTATION]: flagsChecksum },
              },
              spec: {
                // Pod Identity brings its own projected token; the Kubernetes API token stays unmounted.
                ...(access ? { serviceAccountName: access.serviceAccountName } : {}),
                automountServiceAccountToken: false,
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 10001,
                  fsGroup: 10001,
                  seccompProfile: { type: "RuntimeDefault" },
                },
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: "topology.kubernetes.io/zone",
                    whenUnsatisfiable: "ScheduleAnyway",
                    labelSelector: { matchLabels: labels(service.name) },
                  },
                ],
                containers: [
                  {
                    name: service.name,
                    image: service.image,
                    ports: [{ name: "http", containerPort: service.port }],
                    envFrom: [
                      { secretRef: { name: this.secret.metadata.name } },
                      { configMapRef: { name: this.featureFlags.metadata.name } },
                    ],
                    env: [
                      { name: "ROLLOUT_COLOUR", value: args.colour },
                      { name: "METRICS_NAMESPACE", value: args.metricsNamespace },
                      ...(access
                        ? [
                            { name: "AWS_REGION", value: access.region },
                            { name: "AWS_DEFAULT_REGION", value: access.region },
                            { name: "SECURITY_EVENT_SOURCE", value: access.securityEventSource },
                            { name: "SECURITY_EVENT_DETAIL_TYPE", value: access.securityEventDetailType },
                          ]
                        : []),
                    ],
                    // Readiness drops a pod from the target group within ~10 s; liveness restarts a hung one.
                    readinessProbe: probe(5, 2, 5),
                    livenessProbe: probe(10, 3, 15),
                    resources: {
                      requests: {
                        cpu: service.resources.cpuRequest,
                        memory: service.resources.memoryRequest,
                      },
                      limits: { cpu: service.resources.cpuLimit, memory: service.resources.memoryLimit },
                    },
                    securityContext: {
                      runAsNonRoot: true,
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      capabilities: { drop: ["ALL"] },
                    },
                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                  },
                ],
                volumes: [{ name: "tmp", emptyDir: {} }],
              },
            },
          },
        },
        childOpts,
      );

      this.services[service.name] = new k8s.core.v1.Service(
        `${name}-${service.name}-svc`,
        {
          metadata: { name: workload, namespace: args.namespace, labels: labels(service.name) },
          spec: {
            type: "ClusterIP",
            selector: labels(service.name),
            ports: [{ name: "http", port: service.port, targetPort: service.port }],
          },
        },
        childOpts,
      );

      // One replica may never be evicted; with more, voluntary disruptions take one at a time. An
      // idle colour (0 replicas) asks for no pod: minAvailable 1 would leave the budget forever
      // short of a pod that is not meant to exist.
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-${service.name}-pdb`,
        {
          metadata: { name: workload, namespace: args.namespace, labels: labels(service.name) },
          spec: {
            selector: { matchLabels: labels(service.name) },
            ...(service.replicas === 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
          },
        },
        childOpts,
      );

      this.targetGroupBindings[service.name] = new k8s.apiextensions.CustomResource(
        `${name}-${service.name}-tgb`,
        {
          apiVersion: "elbv2.k8s.aws/v1beta1",
          kind: "TargetGroupBinding",
          metadata: { name: workload, namespace: args.namespace, labels: labels(service.name) },
          spec: {
            serviceRef: { name: this.services[service.name]!.metadata.name, port: service.port },
            targetGroupARN: args.targetGroupArns[service.name]!,
            targetType: "ip",
          },
        },
        childOpts,
      );
    }

    this.registerOutputs({ deployments: Object.keys(this.deployments) });
  }
}

function validate(args: EnvironmentArgs): void {
  if (args.services.length === 0)
    throw new Error(`Environment ${args.colour}: services is empty; expected at least one`);
  for (const service of args.services) {
    if (!args.targetGroupArns[service.name]) {
      throw new Error(
        `Environment ${args.colour}: targetGroupArns has no entry for service ${service.name}; pass this colour's target group ARN`,
      );
    }
    if (!Number.isInteger(service.replicas) || service.replicas < 0) {
      throw new Error(
        `Environment ${args.colour}: replicas of ${service.name} is ${service.replicas}; expected an integer >= 0 (0 idles the service)`,
      );
    }
  }
}
