import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createHash } from "node:crypto";
import { FLAGS_CHECKSUM_ANNOTATION } from "../../components/environment";
import { loadStackFile } from "../../rollout/loaders";
import type { StackFile } from "../../rollout/stackFile";
import { planStack, type PlanResult } from "../../cli/offlinePlan";

/**
 * Exact resources and inputs of each component, as the real program registers them for the
 * committed stacks under the mock engine.
 */

type Resource = PlanResult["resources"][number];
/** The deploy's clock in every plan here, so staging's snapshot identifier is fixed. */
const NOW = new Date("2026-11-20T09:30:00Z");
const plan = (file: StackFile, mocks = {}, options: { revealSecrets?: boolean } = {}) =>
  planStack(file, mocks, { now: NOW, ...options });
const TG_ARN = (name: string) =>
  `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${name}/0123456789abcdef`;
let staging: PlanResult;
let production: PlanResult;

function named(result: PlanResult, name: string): Resource {
  const found = result.resources.find((r) => r.name === name);
  assert.ok(found, `no resource ${name}`);
  return found;
}
const ofType = (result: PlanResult, type: string) => result.resources.filter((r) => r.type === type);
const inputs = (result: PlanResult, name: string) => named(result, name).inputs as Record<string, any>;
const options = (result: PlanResult, name: string) => named(result, name).options;

function withConfig(stack: string, changes: Record<string, string | object>): StackFile {
  const file = loadStackFile(stack);
  return {
    ...file,
    config: {
      ...file.config,
      ...Object.fromEntries(
        Object.entries(changes).map(([k, v]) => [
          `rollout:${k}`,
          typeof v === "string" ? v : JSON.stringify(v),
        ]),
      ),
    },
  };
}

before(async () => {
  // What a real deploy with no latch reads: the latch path answers, empty. (Without mock
  // latch parameters the program is told it cannot read SSM, as the offline plan is.)
  staging = await plan(loadStackFile("staging"), { latchParameters: [] });
  production = await plan(loadStackFile("production"), { latchParameters: [] });
});

describe("TrafficRouter", () => {
  it("registers the ALB, two listeners, a blue and a green target group and the rules per service", () => {
    assert.equal(ofType(staging, "aws:lb/loadBalancer:LoadBalancer").length, 1);
    assert.deepEqual(
      ofType(staging, "aws:lb/listener:Listener")
        .map((r) => r.name)
        .sort(),
      ["router-http-redirect", "router-https"],
    );
    assert.deepEqual(
      ofType(staging, "aws:lb/targetGroup:TargetGroup")
        .map((r) => [r.name, r.inputs.name])
        .sort(),
      [
        ["router-api-blue-tg", "staging-api-blue-f5336d2"],
        ["router-api-green-tg", "staging-api-green-7203db1"],
        ["router-web-blue-tg", "staging-web-blue-7db9026"],
        ["router-web-green-tg", "staging-web-green-8ab0239"],
      ],
    );
    // Per service: 4 header and 14 cookie rules for the 10 pilot users (4 exact cookie forms each,
    // 3 per rule), and the weighted rule.
    assert.equal(ofType(staging, "aws:lb/listenerRule:ListenerRule").length, 38);
  });

  it("names target groups within AWS's 32 characters for the longest service name config accepts", async () => {
    const longName = "abcdefghijklmnopqrstu"; // 21 characters, the most rollout:services[].name allows
    const services = JSON.parse(loadStackFile("production").config["rollout:services"]!) as {
      name: string;
    }[];
    services[0]!.name = longName;
    const result = await plan(withConfig("production", { services }));
    const names = ofType(result, "aws:lb/targetGroup:TargetGroup")
      .map((r) => r.inputs.name as string)
      .sort();
    assert.deepEqual(names, [
      "production-abcdefghijklm-41a294a",
      "production-abcdefghijklm-83ed375",
      "production-api-blue-26f0f5e",
      "production-api-green-18cbce3",
    ]);
    for (const name of names) assert.ok(name.length <= 32, `${name} is ${name.length} characters`);
    // The load balancer's auto-name (resource name + 8) fits too; the mock engine refuses longer ones.
    assert.equal(inputs(result, "router-alb").name, undefined);
  });

  it("hardens the ALB: invalid headers dropped, defensive desync mitigation; deletion protection and logs in production only", () => {
    const stagingAlb = inputs(staging, "router-alb");
    assert.equal(stagingAlb.dropInvalidHeaderFields, true);
    assert.equal(stagingAlb.desyncMitigationMode, "defensive");
    assert.equal(stagingAlb.enableDeletionProtection, false);
    assert.equal(stagingAlb.accessLogs, undefined);
    const prodAlb = inputs(production, "router-alb");
    assert.equal(prodAlb.enableDeletionProtection, true);
    assert.deepEqual(prodAlb.accessLogs, { bucket: "tbs-production-alb-access-logs", enabled: true });
  });

  it("terminates TLS 1.2+ on 443 and only redirects on 80", () => {
    const https = inputs(staging, "router-https");
    assert.equal(https.protocol, "HTTPS");
    assert.equal(https.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-Res-2021-06");
    assert.equal(
      https.certificateArn,
      "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    );
    assert.deepEqual(inputs(staging, "router-http-redirect").defaultActions, [
      { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
    ]);
  });

  it("health-checks each colour on the service's path so a dead target leaves in ~20 s", () => {
    const tg = inputs(staging, "router-web-green-tg");
    assert.equal(tg.targetType, "ip");
    assert.equal(tg.port, 3000);
    assert.equal(tg.deregistrationDelay, 15);
    assert.deepEqual(tg.healthCheck, {
      enabled: true,
      path: "/healthz",
      protocol: "HTTP",
      matcher: "200-399",
      interval: 10,
      timeout: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    assert.equal(inputs(staging, "router-web-blue-tg").port, 8000);
    assert.equal(inputs(staging, "router-api-blue-tg").healthCheck.path, "/api/health");
  });

  it("forwards by weight, sticky while traffic is split, weights explicit even at 0", () => {
    const rule = inputs(staging, "router-web-weighted");
    assert.deepEqual(rule.conditions, [{ pathPattern: { values: ["/*"] } }]);
    assert.deepEqual(
      rule.actions[0].forward.targetGroups.map((t: { weight: number }) => t.weight),
      [90, 10],
    );
    assert.deepEqual(rule.actions[0].forward.stickiness, { enabled: true, duration: 3600 });
    const prod = inputs(production, "router-api-weighted");
    assert.deepEqual(
      prod.actions[0].forward.targetGroups.map((t: { weight: number }) => t.weight),
      [100, 0],
    );
    assert.deepEqual(
      prod.actions[0].forward.targetGroups.map((t: { arn: string }) => t.arn),
      [TG_ARN("production-api-blue-26f0f5e"), TG_ARN("production-api-green-18cbce3")],
    );
    // Everything on blue: nothing to stick to, and no green cookie may outlive a later rollback.
    assert.deepEqual(prod.actions[0].forward.stickiness, { enabled: false, duration: 3600 });
  });

  it("evaluates cohort rules before the service's weighted rule and the catch-all last", () => {
    const priority = (name: string) => inputs(staging, name).priority as number;
    // The committed stacks pin the blocks they were first deployed with: api 0, web 1.
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => priority(`router-api-cohort-${i}`)),
      [1, 2, 3, 4, 5],
    );
    assert.equal(priority("router-api-weighted"), 99);
    assert.deepEqual(
      [0, 4].map((i) => priority(`router-web-cohort-${i}`)),
      [101, 105],
    );
    assert.equal(priority("router-web-weighted"), 199);
  });

  it("routes cohort users to green by header (3 per rule) and by the exact cookie pair (3 values per rule)", () => {
    const header = inputs(staging, "router-web-cohort-0");
    assert.deepEqual(header.conditions, [
      { pathPattern: { values: ["/*"] } },
      {
        httpHeader: { httpHeaderName: "X-Pilot-User", values: ["devops.lead", "qa.lead", "product.manager"] },
      },
    ]);
    assert.equal(header.actions[0].targetGroupArn, TG_ARN("staging-web-green-8ab0239"));
    const cookie = inputs(staging, "router-web-cohort-4");
    assert.deepEqual(cookie.conditions[1], {
      httpHeader: {
        httpHeaderName: "Cookie",
        values: ["pilot_user=devops.lead", "pilot_user=devops.lead;*", "*; pilot_user=devops.lead"],
      },
    });
    assert.deepEqual(inputs(staging, "router-web-cohort-5").conditions[1].httpHeader.values, [
      "*; pilot_user=devops.lead;*",
      "pilot_user=qa.lead",
      "pilot_user=qa.lead;*",
    ]);
  });

  it("honours the rollback latch: 100 % blue and cohort rules to blue, when config has not acknowledged it", async () => {
    const latch = { reason: "error rate", alarm: "staging-auto-rollback", at: "2026-11-20T10:00:00.000Z" };
    const latched = await plan(loadStackFile("staging"), {
      latchParameters: [{ name: "/staged-rollout/staging/latch/rollback", value: JSON.stringify(latch) }],
    });
    assert.deepEqual(
      inputs(latched, "router-web-weighted").actions[0].forward.targetGroups.map(
        (t: { weight: number }) => t.weight,
      ),
      [100, 0],
    );
    // Sticky clients must not stay on green: the latch turns group stickiness off too.
    assert.deepEqual(inputs(latched, "router-web-weighted").actions[0].forward.stickiness, {
      enabled: false,
      duration: 3600,
    });
    assert.equal(
      inputs(latched, "router-web-cohort-0").actions[0].targetGroupArn,
      TG_ARN("staging-web-blue-7db9026"),
    );
    assert.equal(JSON.parse(inputs(latched, "rollout-state").insecureValue).latch, "set");
    const acknowledged = await plan(withConfig("staging", { rollbackAcknowledged: latch.at }), {
      latchParameters: [{ name: "/staged-rollout/staging/latch/rollback", value: JSON.stringify(latch) }],
    });
    assert.deepEqual(
      inputs(acknowledged, "router-web-weighted").actions[0].forward.targetGroups.map(
        (t: { weight: number }) => t.weight,
      ),
      [90, 10],
    );
    assert.deepEqual(inputs(acknowledged, "router-web-weighted").actions[0].forward.stickiness, {
      enabled: true,
      duration: 3600,
    });
    assert.equal(JSON.parse(inputs(acknowledged, "rollout-state").insecureValue).latch, "acknowledged");
  });

  it("rollback: true turns group stickiness off on every weighted forward, and changes only listener rules there", async () => {
    const rolledBack = await plan(withConfig("staging", { rollback: "true" }));
    for (const service of ["web", "api"]) {
      const forward = inputs(rolledBack, `router-${service}-weighted`).actions[0].forward;
      assert.deepEqual(forward.stickiness, { enabled: false, duration: 3600 });
      assert.deepEqual(
        forward.targetGroups.map((t: { weight: number }) => t.weight),
        [100, 0],
      );
    }
    const routerTypes = (result: PlanResult) =>
      result.resources
        .filter((r) => r.name.startsWith("router-") && r.type !== "aws:lb/listenerRule:ListenerRule")
        .map((r) => JSON.stringify(r));
    assert.deepEqual(routerTypes(rolledBack), routerTypes(staging));
    // The pack accepts a forward without stickiness when all its weight is on one colour.
    assert.deepEqual(
      rolledBack.violations.filter((v) => v.enforcementLevel === "mandatory"),
      [],
    );
  });

  it("refuses a cohort that overflows one service's block of rule priorities as config, before registering anything", async () => {
    const oneService = (users: number) =>
      withConfig("production", {
        services: [JSON.parse(loadStackFile("production").config["rollout:services"]!)[0]],
        cohorts: { header: "X-Pilot-User", users: Array.from({ length: users }, (_, i) => `u${i}`) },
      });
    // 294 users = 98 header rules of 3: the largest cohort one service's block holds. web is
    // pinned to block 1 in the committed stack: priorities 101-198, the weighted rule 199.
    const fits = await plan(oneService(294));
    assert.equal(ofType(fits, "aws:lb/listenerRule:ListenerRule").length, 99);
    assert.equal(inputs(fits, "router-web-cohort-0").priority, 101);
    assert.equal(inputs(fits, "router-web-cohort-97").priority, 198);
    assert.equal(inputs(fits, "router-web-weighted").priority, 199);
    await assert.rejects(plan(oneService(295)), {
      name: "RolloutInputError",
      message:
        /rollout:cohorts: 295 users need 99 cohort rules for service web, expected at most 98 \(one service's block of listener rule priorities\); shrink the cohort$/m,
    });
  });
});

describe("Environment", () => {
  it("registers per colour and service a Deployment, Service, PDB and TargetGroupBinding, plus a Secret and flags", () => {
    const count = (type: string) => ofType(staging, type).length;
    assert.equal(count("kubernetes:apps/v1:Deployment"), 4);
    assert.equal(count("kubernetes:core/v1:Service"), 4);
    assert.equal(count("kubernetes:policy/v1:PodDisruptionBudget"), 4);
    assert.equal(count("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"), 4);
    assert.equal(count("kubernetes:core/v1:Secret"), 2);
    assert.equal(count("kubernetes:core/v1:ConfigMap"), 2);
    assert.equal(count("pulumi:providers:kubernetes"), 1);
    // One ServiceAccount for both colours: PodPermissions'.
    assert.equal(count("kubernetes:core/v1:ServiceAccount"), 1);
  });

  it("runs every Deployment of both colours as the stack's workload ServiceAccount, after its Pod Identity association", () => {
    for (const [result, stack] of [
      [staging, "staging"],
      [production, "production"],
    ] as const) {
      const deployments = ofType(result, "kubernetes:apps/v1:Deployment");
      assert.deepEqual(deployments.map((d) => d.name).sort(), [
        "blue-api",
        "blue-web",
        "green-api",
        "green-web",
      ]);
      for (const deployment of deployments) {
        const pod = (deployment.inputs as Record<string, any>).spec.template.spec;
        assert.equal(pod.serviceAccountName, `${stack}-workload`, `${stack} ${deployment.name}`);
        assert.equal(pod.automountServiceAccountToken, false, `${stack} ${deployment.name}`);
        assert.ok(options(result, deployment.name).dependsOn.includes("pod-permissions-association"));
      }
      assert.equal(inputs(result, "pod-permissions-service-account").metadata.name, `${stack}-workload`);
      assert.equal(inputs(result, "pod-permissions-association").serviceAccount, `${stack}-workload`);
      assert.equal(inputs(result, "pod-permissions-association").clusterName, `tbs-${stack}`);
    }
  });

  it("runs each colour's image with probes on the health path, limits and a non-root context", () => {
    const deployment = inputs(staging, "green-web");
    assert.equal(deployment.metadata.name, "web-green");
    assert.equal(deployment.spec.replicas, 2);
    const pod = deployment.spec.template.spec;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const container = pod.containers[0];
    assert.equal(container.image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tbs/web-next:14.2.3-rc.4");
    assert.deepEqual(container.ports, [{ name: "http", containerPort: 3000 }]);
    assert.deepEqual(container.readinessProbe, {
      httpGet: { path: "/healthz", port: 3000 },
      periodSeconds: 5,
      failureThreshold: 2,
      initialDelaySeconds: 5,
      timeoutSeconds: 3,
    });
    assert.deepEqual(container.livenessProbe, {
      httpGet: { path: "/healthz", port: 3000 },
      periodSeconds: 10,
      failureThreshold: 3,
      initialDelaySeconds: 15,
      timeoutSeconds: 3,
    });
    assert.deepEqual(container.resources, {
      requests: { cpu: "250m", memory: "256Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
    assert.deepEqual(container.securityContext, {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    assert.equal(inputs(staging, "blue-web").spec.template.spec.containers[0].ports[0].containerPort, 8000);
    assert.equal(
      inputs(production, "green-api").spec.template.spec.containers[0].resources.limits.memory,
      "2Gi",
    );
  });

  it("binds each colour's Service to that colour's target group", () => {
    const green = inputs(staging, "green-api-tgb");
    assert.equal(green.apiVersion, "elbv2.k8s.aws/v1beta1");
    assert.equal(green.kind, "TargetGroupBinding");
    assert.deepEqual(green.spec.serviceRef, { name: "api-green", port: 8000 });
    assert.equal(green.spec.targetGroupARN, TG_ARN("staging-api-green-7203db1"));
    assert.equal(green.spec.targetGroupARN, TG_ARN(inputs(staging, "router-api-green-tg").name));
    assert.equal(green.spec.targetType, "ip");
    assert.equal(inputs(staging, "blue-api-tgb").spec.targetGroupARN, TG_ARN("staging-api-blue-f5336d2"));
  });

  it("gives green read-only HeavyDB and both colours the MySQL application user's credentials from secrets", async () => {
    // The engine marks the whole stringData secret; the plan shows it as [secret].
    assert.equal(inputs(staging, "green-db-credentials").stringData, "[secret]");
    const revealed = await plan(loadStackFile("staging"), {}, { revealSecrets: true });
    const green = inputs(revealed, "green-db-credentials").stringData;
    const blue = inputs(revealed, "blue-db-credentials").stringData;
    assert.equal(green.HEAVYDB_READ_ONLY, "true");
    assert.equal(blue.HEAVYDB_READ_ONLY, "false");
    assert.equal(green.HEAVYDB_USER, "tbs_green_ro");
    // Pods connect as the application user, never as RDS's master user (tbs_admin).
    assert.deepEqual([green.MYSQL_USER, blue.MYSQL_USER], ["tbs_app", "tbs_app"]);
    assert.equal(inputs(revealed, "data-mysql").username, "tbs_admin");
    assert.equal(green.MYSQL_PASSWORD, "[secret]");
    assert.equal(green.HEAVYDB_PASSWORD, "[secret]");
    assert.deepEqual(inputs(staging, "green-feature-flags").data, {
      gradualExposure: "true",
      emergencyDisable: "false",
    });
  });

  it("merges rollout:featureFlags over green's defaults and rolls green's pods when a flag changes", async () => {
    const checksum = (data: Record<string, string>) =>
      createHash("sha256").update(JSON.stringify(data)).digest("hex");
    const annotations = (result: PlanResult, name: string) =>
      inputs(result, name).spec.template.metadata.annotations;
    const defaults = { emergencyDisable: "false", gradualExposure: "true" };
    assert.deepEqual(annotations(staging, "green-web"), { [FLAGS_CHECKSUM_ANNOTATION]: checksum(defaults) });
    assert.equal(checksum(defaults), "8adbaab946dc1788e361121e00a718b0f3989dccc8ae2048f918cbce6d321379");

    const disabled = await plan(
      withConfig("staging", { featureFlags: { emergencyDisable: true, newDashboard: false } }),
    );
    const overridden = { emergencyDisable: "true", gradualExposure: "true", newDashboard: "false" };
    assert.deepEqual(inputs(disabled, "green-feature-flags").data, overridden);
    assert.deepEqual(annotations(disabled, "green-web"), {
      [FLAGS_CHECKSUM_ANNOTATION]: checksum(overridden),
    });
    assert.deepEqual(annotations(disabled, "green-api"), {
      [FLAGS_CHECKSUM_ANNOTATION]: checksum(overridden),
    });
    // Overrides are green's: blue keeps its defaults and its pods stay put.
    assert.deepEqual(inputs(disabled, "blue-feature-flags").data, defaults);
    assert.deepEqual(annotations(disabled, "blue-web"), { [FLAGS_CHECKSUM_ANNOTATION]: checksum(defaults) });
  });

  it("builds the Kubernetes provider for the EKS cluster named in rollout:cluster.name, not the ambient context", async () => {
    // Staging gives no kubeconfig secret; production's secret kubeconfig is used as given.
    assert.equal(inputs(production, "k8s").kubeconfig, "[secret]");
    const revealed = await plan(loadStackFile("staging"), {}, { revealSecrets: true });
    const provider = named(revealed, "k8s");
    assert.equal(provider.type, "pulumi:providers:kubernetes");
    assert.equal(provider.inputs.namespace, "tbs");
    const endpoint =
      "https://" +
      createHash("sha256").update("tbs-staging").digest("hex").slice(0, 32).toUpperCase() +
      ".gr7.eu-west-1.eks.amazonaws.com";
    const ca = Buffer.from(
      "-----BEGIN CERTIFICATE-----\nmock CA of tbs-staging\n-----END CERTIFICATE-----\n",
    ).toString("base64");
    assert.deepEqual(JSON.parse(provider.inputs.kubeconfig as string), {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "tbs-staging", cluster: { server: endpoint, "certificate-authority-data": ca } }],
      contexts: [{ name: "tbs-staging", context: { cluster: "tbs-staging", user: "tbs-staging" } }],
      "current-context": "tbs-staging",
      users: [
        {
          name: "tbs-staging",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "aws",
              args: ["eks", "get-token", "--cluster-name", "tbs-staging", "--region", "eu-west-1"],
              interactiveMode: "Never",
            },
          },
        },
      ],
    });
  });

  it("keeps at most one pod of a service down at a time", () => {
    assert.deepEqual(inputs(staging, "green-web-pdb").spec, {
      selector: {
        matchLabels: { app: "web", colour: "green", "app.kubernetes.io/part-of": "staged-rollout" },
      },
      maxUnavailable: 1,
    });
  });
});

describe("DataProtection", () => {
  it("encrypts, keeps private and backs up MySQL; Multi-AZ and deletion protection in production", () => {
    const prod = inputs(production, "data-mysql");
    assert.equal(prod.engine, "mysql");
    assert.equal(prod.storageEncrypted, true);
    assert.equal(prod.publiclyAccessible, false);
    assert.equal(prod.multiAz, true);
    assert.equal(prod.deletionProtection, true);
    assert.equal(prod.backupRetentionPeriod, 14);
    assert.equal(prod.skipFinalSnapshot, false);
    assert.equal(prod.password, "[secret]");
    assert.equal(prod.kmsKeyId, "arn:aws:kms:eu-west-1:123456789012:data-kms");
    assert.equal(prod.dbSubnetGroupName, "data-db-subnets-7eebe46");
    assert.equal(prod.finalSnapshotIdentifier, "staged-rollout-production-mysql-final");
    assert.equal(inputs(staging, "data-mysql").finalSnapshotIdentifier, "staged-rollout-staging-mysql-final");
    const stage = inputs(staging, "data-mysql");
    assert.equal(stage.multiAz, false);
    assert.equal(stage.deletionProtection, false);
    assert.equal(stage.backupRetentionPeriod, 7);
  });

  it("keeps backups in a vault with a customer-managed key, in a plan that selects the database", () => {
    assert.equal(
      inputs(production, "data-backup-vault").kmsKeyArn,
      "arn:aws:kms:eu-west-1:123456789012:data-kms",
    );
    const backupPlan = inputs(production, "data-backup-plan");
    assert.equal(backupPlan.rules[0].targetVaultName, "data-backup-vault-0947f23");
    assert.equal(backupPlan.rules[0].enableContinuousBackup, true);
    assert.equal(backupPlan.rules[0].lifecycle.deleteAfter, 35);
    assert.deepEqual(inputs(production, "data-backup-selection").resources, [
      "arn:aws:rds:eu-west-1:123456789012:db:data-mysql-8d8dc84",
    ]);
  });

  it("protects the database in production and keeps the key and snapshots whatever happens to the stack", () => {
    const opts = (result: PlanResult, name: string) => {
      const { protect, retainOnDelete, ignoreChanges } = options(result, name);
      return { protect, retainOnDelete, ignoreChanges };
    };
    assert.deepEqual(opts(production, "data-mysql"), {
      protect: true,
      retainOnDelete: false,
      ignoreChanges: [],
    });
    assert.deepEqual(opts(staging, "data-mysql"), {
      protect: false,
      retainOnDelete: false,
      ignoreChanges: [],
    });
    assert.deepEqual(opts(production, "data-kms"), {
      protect: true,
      retainOnDelete: true,
      ignoreChanges: [],
    });
    assert.deepEqual(opts(staging, "data-kms"), { protect: false, retainOnDelete: true, ignoreChanges: [] });
    for (const [result, phase] of [
      [production, "limited-pilot"],
      [staging, "broader-pilot"],
    ] as const) {
      assert.deepEqual(opts(result, `data-snapshot-${phase}`), {
        protect: false,
        retainOnDelete: true,
        ignoreChanges: ["dbSnapshotIdentifier"],
      });
    }
  });

  it("makes the phase's traffic rules and green's workloads wait for the phase's snapshot", () => {
    for (const [result, phase] of [
      [production, "limited-pilot"],
      [staging, "broader-pilot"],
    ] as const) {
      const snapshot = `data-snapshot-${phase}`;
      const rules = ofType(result, "aws:lb/listenerRule:ListenerRule");
      assert.ok(rules.length > 0);
      for (const rule of rules) {
        assert.ok(
          options(result, rule.name).dependsOn.includes(snapshot),
          `${rule.name} waits for ${snapshot}`,
        );
        assert.ok(
          options(result, rule.name).dependsOn.includes("hooks-pre-deploy"),
          `${rule.name} waits for the pre-deploy hook`,
        );
      }
      const greenWorkloads = result.resources.filter(
        (r) => r.type.startsWith("kubernetes:") && r.name.startsWith("green-"),
      );
      assert.equal(greenWorkloads.length, 10);
      for (const r of greenWorkloads)
        assert.ok(options(result, r.name).dependsOn.includes(snapshot), `${r.name} waits for ${snapshot}`);
      // Blue is the running version: it does not wait for the rollout's snapshots.
      assert.ok(!options(result, "blue-web").dependsOn.includes(snapshot));
    }
  });

  it("takes one snapshot named for the phase and stack, stamped with the GO decision that opened it or the deploy's time", () => {
    const snapshots = ofType(production, "aws:rds/snapshot:Snapshot");
    assert.deepEqual(
      snapshots.map((s) => s.name),
      ["data-snapshot-limited-pilot"],
    );
    assert.equal(snapshots[0]!.inputs.dbSnapshotIdentifier, "before-limited-pilot-production-202611021600");
    assert.equal(snapshots[0]!.inputs.dbInstanceIdentifier, "data-mysql-8d8dc84");
    // Staging records no GO decision: each entry into the phase is stamped with its deploy's time.
    assert.equal(
      ofType(staging, "aws:rds/snapshot:Snapshot")[0]!.inputs.dbSnapshotIdentifier,
      "before-broader-pilot-staging-202611200930",
    );
  });
});

describe("DeployHooks", () => {
  it("runs pre- and post-deploy hooks keyed on the traffic fingerprint, rollback hooks only on rollback", async () => {
    const hooks = ofType(staging, "command:local:Command");
    assert.deepEqual(hooks.map((h) => h.name).sort(), ["hooks-post-deploy", "hooks-pre-deploy"]);
    const pre = inputs(staging, "hooks-pre-deploy");
    assert.equal(pre.create, "bash scripts/hooks/pre-deploy.sh");
    assert.equal(pre.environment.SNAPSHOT_ID, "before-broader-pilot-staging-202611200930");
    assert.deepEqual(pre.triggers, [
      JSON.stringify({
        phase: "broader-pilot",
        rollback: false,
        latch: "clear",
        traffic: [
          ["web", 10, 18],
          ["api", 10, 18],
        ],
      }),
    ]);
    const post = inputs(staging, "hooks-post-deploy");
    assert.equal(post.environment.CHECKS, "web:/healthz api:/api/health");
    assert.equal(post.environment.COHORT_HEADER, "X-Pilot-User");
    assert.equal(post.environment.COHORT_USER, "devops.lead");
    const rolledBack = await plan(withConfig("staging", { rollback: "true" }));
    assert.deepEqual(
      ofType(rolledBack, "command:local:Command")
        .map((h) => h.name)
        .sort(),
      ["hooks-post-deploy", "hooks-post-rollback", "hooks-pre-deploy", "hooks-pre-rollback"],
    );
  });
});

describe("Listener rule priorities across service changes (plan diffs)", () => {
  type Service = Record<string, unknown> & { name: string; pathPattern: string };
  const committed = JSON.parse(loadStackFile("production").config["rollout:services"]!) as Service[];
  /** The committed services without their pinned blocks: the default allocation decides. */
  const unpinned = committed.map(({ priorityBlock: _pinned, ...service }) => service as Service);
  const admin: Service = {
    ...unpinned.find((s) => s.name === "api")!,
    name: "admin",
    pathPattern: "/admin/*",
  };
  const priorities = async (services: Service[]) => {
    const result = await plan(withConfig("production", { services }));
    return new Map(
      ofType(result, "aws:lb/listenerRule:ListenerRule").map((r) => [
        r.name,
        inputs(result, r.name).priority as number,
      ]),
    );
  };
  let before: Map<string, number>;
  const changes: [string, Service[]][] = [
    ["adding a service first", [admin, ...unpinned]],
    ["adding a service last", [...unpinned, admin]],
    ["removing a service", unpinned.filter((s) => s.name !== "api")],
    ["reordering the services", [...unpinned].reverse()],
  ];

  it("places production's rules by service identity: api in its name's block 408, the catch-all web in the last block", async () => {
    before = await priorities(unpinned);
    // 14 cohort rules per service for the 8 pilot users: 3 by header, 11 by the exact cookie pair.
    const block = (service: string, first: number) => [
      ...Array.from({ length: 14 }, (_, i) => [`router-${service}-cohort-${i}`, first + i] as const),
      [`router-${service}-weighted`, first + 98] as const,
    ];
    assert.deepEqual(
      [...before].sort(([a], [b]) => a.localeCompare(b)),
      [...block("api", 40801), ...block("web", 49901)].sort(([a], [b]) => a.localeCompare(b)),
    );
  });

  for (const [change, services] of changes) {
    it(`${change} moves no kept rule, takes no priority another rule holds, and keeps /* last`, async () => {
      const after = await priorities(services);
      const held = new Set(before.values());
      for (const [rule, priority] of after) {
        if (before.has(rule)) assert.equal(priority, before.get(rule), `${rule} moved`);
        else assert.ok(!held.has(priority), `new rule ${rule} takes ${priority}, which a kept rule holds`);
      }
      assert.equal(new Set(after.values()).size, after.size, "two rules share a priority");
      const catchAll = [...after].filter(([rule]) => rule.startsWith("router-web-")).map(([, p]) => p);
      const others = [...after].filter(([rule]) => !rule.startsWith("router-web-")).map(([, p]) => p);
      assert.ok(Math.min(...catchAll) > Math.max(...others, 0), "the catch-all /* is evaluated last");
    });
  }

  it("refuses, as config, a new service the pinned catch-all would shadow, naming its key", async () => {
    await assert.rejects(plan(withConfig("production", { services: [...committed, admin] })), {
      name: "RolloutInputError",
      message:
        /rollout:services\[2\]\.priorityBlock: admin \("\/admin\/\*", block 342, from its name\) is evaluated after web \("\/\*", block 1\), whose pattern covers it, so it would never be reached; expected a block below 1: no block below 1 is free: move web to a later block first \(docs\/listener-rules\.md\)$/m,
    });
  });

  it("refuses more services than one listener's 100 rules, as config naming rollout:services", async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      ...admin,
      name: `svc${i}`,
      pathPattern: `/svc${i}/*`,
      priorityBlock: i,
    }));
    await assert.rejects(
      plan(withConfig("staging", { services: many, cohorts: { header: "X-Pilot-User", users: [] } })),
      {
        name: "RolloutInputError",
        message:
          /rollout:services: 150 services need 150 listener rules, expected at most 100 \(the ALB limit per listener\); split them across stacks$/m,
      },
    );
  });
});
