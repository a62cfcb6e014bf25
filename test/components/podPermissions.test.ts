import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Environment, type EnvironmentArgs } from "../../components/environment";
import { PodPermissions, type PodPermissionsArgs } from "../../components/podPermissions";
import { loadPlaybook } from "../../rollout/loaders";
import { autoName } from "../../cli/mockEngine";
import { ResourceRecorder, type RecordedResource } from "../support/mocks";

/**
 * PodPermissions on its own under the mock engine: exactly which resources it registers and
 * their exact inputs (trust policy, permissions, association, ServiceAccount), then with the
 * Environments that use it. The mock account is 123456789012, the region eu-west-1.
 */

type Inputs = Record<string, any>;
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const ROLE_NAME = autoName("aws:iam/role:Role", "pod-permissions-role");

const args = (change: (a: PodPermissionsArgs) => void = () => {}): PodPermissionsArgs => {
  const a: PodPermissionsArgs = {
    stack: "unit",
    clusterName: "tbs-unit",
    namespace: "tbs",
    provider: new k8s.Provider("k8s", { kubeconfig: "{}", namespace: "tbs" }),
  };
  change(a);
  return a;
};

/** Register what `build` constructs under fresh mocks, options captured; the recorded resources. */
async function register(build: () => void): Promise<RecordedResource[]> {
  const recorder = new ResourceRecorder();
  await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
  recorder.captureOptions();
  await pulumi.runtime.runInPulumiStack(async () => {
    build();
  });
  await pulumi.runtime.disconnect();
  return recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
}

function one(resources: RecordedResource[], name: string): RecordedResource {
  const found = resources.filter((r) => r.name === name);
  assert.equal(found.length, 1, `${name} among ${resources.map((r) => r.name).join(", ")}`);
  return found[0]!;
}
const inputsOf = (resources: RecordedResource[], name: string) => one(resources, name).inputs as Inputs;
const json = (value: unknown) => JSON.parse(value as string) as Inputs;

describe("PodPermissions", () => {
  it("registers exactly a role, its policy, the ServiceAccount and the Pod Identity association", async () => {
    const resources = await register(() => new PodPermissions("pod-permissions", args()));
    assert.deepEqual(resources.map((r) => [r.type, r.name]).sort(), [
      ["aws:eks/podIdentityAssociation:PodIdentityAssociation", "pod-permissions-association"],
      ["aws:iam/role:Role", "pod-permissions-role"],
      ["aws:iam/rolePolicy:RolePolicy", "pod-permissions-policy"],
      ["kubernetes:core/v1:ServiceAccount", "pod-permissions-service-account"],
      ["pulumi:providers:kubernetes", "k8s"],
      ["staged-rollout:workloads:PodPermissions", "pod-permissions"],
    ]);
  });

  it("lets only EKS Pod Identity assume the role, for this cluster, namespace and ServiceAccount", async () => {
    const resources = await register(() => new PodPermissions("pod-permissions", args()));
    const role = inputsOf(resources, "pod-permissions-role");
    assert.deepEqual(json(role.assumeRolePolicy), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AllowEksAuthToAssumeRoleForPodIdentity",
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: {
            StringEquals: {
              "aws:RequestTag/eks-cluster-arn": `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/tbs-unit`,
              "aws:RequestTag/kubernetes-namespace": "tbs",
              "aws:RequestTag/kubernetes-service-account": "unit-workload",
            },
          },
        },
      ],
    });
    assert.equal(
      role.description,
      "staged-rollout unit: application pods publish gate metrics and security events (EKS Pod Identity)",
    );
    // Nothing attached besides the one inline RolePolicy.
    assert.equal(role.managedPolicyArns, undefined);
    assert.equal(role.inlinePolicies, undefined);
  });

  it("grants PutMetricData in the stack's namespace and PutEvents of the stack's security event on the default bus, nothing else", async () => {
    const resources = await register(() => new PodPermissions("pod-permissions", args()));
    const policy = inputsOf(resources, "pod-permissions-policy");
    assert.equal(policy.role, "pod-permissions-role-id");
    const document = json(policy.policy);
    assert.deepEqual(document, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "PutGateMetricsInStackNamespace",
          Effect: "Allow",
          Action: ["cloudwatch:PutMetricData"],
          Resource: "*",
          Condition: { StringEquals: { "cloudwatch:namespace": "StagedRollout/unit" } },
        },
        {
          Sid: "PutStackSecurityEventsOnDefaultBus",
          Effect: "Allow",
          Action: ["events:PutEvents"],
          Resource: [`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`],
          Condition: {
            "ForAllValues:StringEquals": {
              "events:source": ["staged-rollout.unit"],
              "events:detail-type": ["Security Breach Detected"],
            },
            Null: { "events:source": "false", "events:detail-type": "false" },
          },
        },
      ],
    });
    // The exact statement list: two Allow statements, two actions, no Deny/NotAction tricks.
    const statements = document.Statement as Inputs[];
    assert.deepEqual(
      statements.map((s) => [s.Effect, s.Action, Object.keys(s).sort()]),
      [
        ["Allow", ["cloudwatch:PutMetricData"], ["Action", "Condition", "Effect", "Resource", "Sid"]],
        ["Allow", ["events:PutEvents"], ["Action", "Condition", "Effect", "Resource", "Sid"]],
      ],
    );
  });

  it("creates the ServiceAccount in the app namespace without a Kubernetes API token", async () => {
    const resources = await register(() => new PodPermissions("pod-permissions", args()));
    const serviceAccount = one(resources, "pod-permissions-service-account");
    assert.deepEqual(serviceAccount.inputs, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "unit-workload",
        namespace: "tbs",
        labels: { "app.kubernetes.io/part-of": "staged-rollout" },
      },
      automountServiceAccountToken: false,
    });
    assert.match(serviceAccount.provider ?? "", /::k8s::/);
  });

  it("associates that ServiceAccount with the role on the named cluster, once the policy exists", async () => {
    const resources = await register(() => new PodPermissions("pod-permissions", args()));
    const association = one(resources, "pod-permissions-association");
    assert.deepEqual(association.inputs, {
      clusterName: "tbs-unit",
      namespace: "tbs",
      serviceAccount: "unit-workload",
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`,
      disableSessionTags: false,
    });
    assert.ok(
      association.options!.dependsOn.includes("pod-permissions-policy"),
      association.options!.dependsOn.join(),
    );
  });

  for (const [what, change, message] of [
    [
      "an empty cluster name",
      (a: PodPermissionsArgs) => (a.clusterName = ""),
      "PodPermissions: clusterName is empty; pass rollout:cluster.name",
    ],
    [
      "an empty namespace",
      (a: PodPermissionsArgs) => (a.namespace = " "),
      "PodPermissions: namespace is empty; pass rollout:cluster.namespace",
    ],
  ] as const) {
    it(`refuses ${what}, registering nothing`, async () => {
      const recorder = new ResourceRecorder();
      await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
      assert.throws(() => new PodPermissions("pod-permissions", args(change)), { message });
      await pulumi.runtime.disconnect();
      assert.deepEqual(
        recorder.resources.filter((r) => !r.type.startsWith("pulumi:providers:")).map((r) => r.name),
        [],
      );
    });
  }
});

describe("PodPermissions with the Environments", () => {
  const environment = (
    colour: "blue" | "green",
    provider: k8s.Provider,
    pods: PodPermissions,
  ): EnvironmentArgs => ({
    colour,
    namespace: "tbs",
    provider,
    services: ["web", "api"].map((name) => ({
      name,
      image: `registry.example.com/tbs/${name}:${colour}`,
      port: 8000,
      healthCheckPath: "/healthz",
      replicas: 2,
      resources: { cpuRequest: "250m", cpuLimit: "1", memoryRequest: "256Mi", memoryLimit: "512Mi" },
    })),
    targetGroupArns: { web: `tg-web-${colour}`, api: `tg-api-${colour}` },
    mysql: { host: "db", port: 3306, database: "tbs", username: "tbs_app", password: "pw" },
    heavydb: { host: "heavydb", port: 6274, database: "heavyai", user: "ro", password: "pw" },
    metricsNamespace: pods.metricNamespace,
    awsAccess: {
      serviceAccountName: pods.serviceAccountName,
      region: pods.region,
      securityEventSource: pods.securityEventSource,
      securityEventDetailType: pods.securityEventDetailType,
    },
  });

  it("runs every Deployment of both colours as the ServiceAccount, after the association, with what it may publish", async () => {
    const resources = await register(() => {
      const a = args();
      const pods = new PodPermissions("pod-permissions", a);
      for (const colour of ["blue", "green"] as const)
        new Environment(colour, environment(colour, a.provider, pods));
    });
    const deployments = resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
    assert.deepEqual(deployments.map((d) => d.name).sort(), [
      "blue-api",
      "blue-web",
      "green-api",
      "green-web",
    ]);
    for (const deployment of deployments) {
      const pod = (deployment.inputs as Inputs).spec.template.spec;
      assert.equal(pod.serviceAccountName, "unit-workload", deployment.name);
      // Pod Identity projects its own token; the Kubernetes API token stays unmounted.
      assert.equal(pod.automountServiceAccountToken, false, deployment.name);
      assert.deepEqual(pod.volumes, [{ name: "tmp", emptyDir: {} }], deployment.name);
      const env = Object.fromEntries((pod.containers[0].env as Inputs[]).map((e) => [e.name, e.value]));
      assert.deepEqual(env, {
        ROLLOUT_COLOUR: deployment.name.split("-")[0],
        METRICS_NAMESPACE: "StagedRollout/unit",
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        SECURITY_EVENT_SOURCE: "staged-rollout.unit",
        SECURITY_EVENT_DETAIL_TYPE: "Security Breach Detected",
      });
      // Pods admitted before the association would never get credentials.
      const dependsOn = deployment.options!.dependsOn;
      assert.ok(dependsOn.includes("pod-permissions-association"), `${deployment.name}: ${dependsOn.join()}`);
      assert.ok(
        dependsOn.includes("pod-permissions-service-account"),
        `${deployment.name}: ${dependsOn.join()}`,
      );
    }
  });

  it("without awsAccess, Deployments name no ServiceAccount and get no AWS settings (no identity)", async () => {
    const resources = await register(() => {
      const a = args();
      const pods = new PodPermissions("pod-permissions", a);
      const { awsAccess: _, ...rest } = environment("green", a.provider, pods);
      new Environment("green", rest);
    });
    const pod = (one(resources, "green-web").inputs as Inputs).spec.template.spec;
    assert.equal(pod.serviceAccountName, undefined);
    assert.deepEqual(
      (pod.containers[0].env as Inputs[]).map((e) => e.name),
      ["ROLLOUT_COLOUR", "METRICS_NAMESPACE"],
    );
  });
});

describe("docs/pod-permissions.md", () => {
  const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "pod-permissions.md"), "utf8");

  /** The rows of the metric table under `### \`<playbook>\``. */
  function documented(playbook: string): string[][] {
    const start = doc.indexOf(`### \`${playbook}\``);
    assert.ok(start >= 0, `no section for ${playbook}`);
    const rest = doc.slice(start + 1);
    const section = rest.slice(0, rest.search(/\n#/));
    return section
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) =>
        line
          .split("|")
          .slice(1, -1)
          .map((cell) => cell.trim().replace(/`/g, "")),
      );
  }

  for (const id of ["tbs-strategy-framework", "telegram-money-bot"]) {
    it(`lists exactly ${id}'s custom gates: metric, unit, statistic, period, storage resolution, missing data`, () => {
      const expected = loadPlaybook(id).gates.flatMap((gate) => {
        const metric = gate.metric;
        if (metric.source !== "custom") return [];
        const period = metric.periodSeconds ?? 60;
        return [
          [
            metric.name,
            gate.id,
            gate.unit,
            metric.statistic,
            String(period),
            period < 60 ? "1" : "60",
            String(gate.missingData),
          ],
        ];
      });
      assert.ok(expected.length > 0);
      assert.deepEqual(documented(id), expected);
    });
  }
});
