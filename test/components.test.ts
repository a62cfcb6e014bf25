import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { loadStackFile, type StackFile } from "../rollout/stackFile";
import { planStack, type PlanResult } from "../scripts/plan";

/**
 * Exact resources and inputs of each component, as the real program registers them for the
 * committed stacks under the mock engine.
 */

type Resource = PlanResult["resources"][number];
let staging: PlanResult;
let production: PlanResult;

function named(result: PlanResult, name: string): Resource {
  const found = result.resources.find((r) => r.name === name);
  assert.ok(found, `no resource ${name}`);
  return found;
}
const ofType = (result: PlanResult, type: string) => result.resources.filter((r) => r.type === type);
const inputs = (result: PlanResult, name: string) => named(result, name).inputs as Record<string, any>;

function withConfig(stack: string, changes: Record<string, string>): StackFile {
  const file = loadStackFile(stack);
  return {
    ...file,
    config: {
      ...file.config,
      ...Object.fromEntries(Object.entries(changes).map(([k, v]) => [`rollout:${k}`, v])),
    },
  };
}

before(async () => {
  staging = await planStack(loadStackFile("staging"));
  production = await planStack(loadStackFile("production"));
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
        .map((r) => r.name)
        .sort(),
      ["router-api-blue-tg", "router-api-green-tg", "router-web-blue-tg", "router-web-green-tg"],
    );
    assert.equal(ofType(staging, "aws:lb/listenerRule:ListenerRule").length, 12);
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
    assert.equal(https.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
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

  it("forwards by weight with group stickiness, weights explicit even at 0", () => {
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
    assert.match(prod.actions[0].forward.targetGroups[0].arn, /targetgroup\/router-api-blue-tg/);
    assert.match(prod.actions[0].forward.targetGroups[1].arn, /targetgroup\/router-api-green-tg/);
  });

  it("evaluates cohort rules before the service's weighted rule and the catch-all last", () => {
    const priority = (name: string) => inputs(staging, name).priority as number;
    // api (/api/*) sorts before web (/*): block 0 is api, block 1 is web.
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

  it("routes cohort users to green by header (3 per rule) and cookie (2 per rule, wildcard budget)", () => {
    const header = inputs(staging, "router-web-cohort-0");
    assert.deepEqual(header.conditions, [
      { pathPattern: { values: ["/*"] } },
      {
        httpHeader: { httpHeaderName: "X-Pilot-User", values: ["devops.lead", "qa.lead", "product.manager"] },
      },
    ]);
    assert.match(header.actions[0].targetGroupArn, /router-web-green-tg/);
    const cookie = inputs(staging, "router-web-cohort-2");
    assert.deepEqual(cookie.conditions[1], {
      httpHeader: { httpHeaderName: "Cookie", values: ["*pilot_user=devops.lead*", "*pilot_user=qa.lead*"] },
    });
  });

  it("honours the rollback latch: 100 % blue and cohort rules to blue, when config has not acknowledged it", async () => {
    const latch = { reason: "error rate", alarm: "staging-auto-rollback", at: "2026-11-20T10:00:00.000Z" };
    const latched = await planStack(loadStackFile("staging"), {
      latchParameters: [{ name: "/staged-rollout/staging/latch/rollback", value: JSON.stringify(latch) }],
    });
    assert.deepEqual(
      inputs(latched, "router-web-weighted").actions[0].forward.targetGroups.map(
        (t: { weight: number }) => t.weight,
      ),
      [100, 0],
    );
    assert.match(inputs(latched, "router-web-cohort-0").actions[0].targetGroupArn, /router-web-blue-tg/);
    assert.equal(JSON.parse(inputs(latched, "rollout-state").insecureValue).latch, "set");
    const acknowledged = await planStack(withConfig("staging", { rollbackAcknowledged: latch.at }), {
      latchParameters: [{ name: "/staged-rollout/staging/latch/rollback", value: JSON.stringify(latch) }],
    });
    assert.deepEqual(
      inputs(acknowledged, "router-web-weighted").actions[0].forward.targetGroups.map(
        (t: { weight: number }) => t.weight,
      ),
      [90, 10],
    );
    assert.equal(JSON.parse(inputs(acknowledged, "rollout-state").insecureValue).latch, "acknowledged");
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
    assert.match(green.spec.targetGroupARN, /targetgroup\/router-api-green-tg\//);
    assert.equal(green.spec.targetType, "ip");
    assert.match(inputs(staging, "blue-api-tgb").spec.targetGroupARN, /targetgroup\/router-api-blue-tg\//);
  });

  it("gives green read-only HeavyDB and both colours MySQL credentials from secrets", async () => {
    // The engine marks the whole stringData secret; the plan shows it as [secret].
    assert.equal(inputs(staging, "green-db-credentials").stringData, "[secret]");
    const revealed = await planStack(loadStackFile("staging"), {}, { revealSecrets: true });
    const green = inputs(revealed, "green-db-credentials").stringData;
    const blue = inputs(revealed, "blue-db-credentials").stringData;
    assert.equal(green.HEAVYDB_READ_ONLY, "true");
    assert.equal(blue.HEAVYDB_READ_ONLY, "false");
    assert.equal(green.HEAVYDB_USER, "tbs_green_ro");
    assert.equal(green.MYSQL_PASSWORD, "[secret]");
    assert.equal(green.HEAVYDB_PASSWORD, "[secret]");
    assert.deepEqual(inputs(staging, "green-feature-flags").data, {
      gradualExposure: "true",
      emergencyDisable: "false",
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
    assert.match(prod.kmsKeyId, /^arn:aws:kms:/);
    const stage = inputs(staging, "data-mysql");
    assert.equal(stage.multiAz, false);
    assert.equal(stage.deletionProtection, false);
    assert.equal(stage.backupRetentionPeriod, 7);
  });

  it("keeps backups in a vault with a customer-managed key, in a plan that selects the database", () => {
    assert.match(inputs(production, "data-backup-vault").kmsKeyArn, /^arn:aws:kms:/);
    const plan = inputs(production, "data-backup-plan");
    assert.equal(plan.rules[0].enableContinuousBackup, true);
    assert.equal(plan.rules[0].lifecycle.deleteAfter, 35);
    assert.deepEqual(inputs(production, "data-backup-selection").resources, [
      inputs(production, "data-mysql").arn ?? "arn:aws:rds:eu-west-1:123456789012:data-mysql",
    ]);
  });

  it("takes one snapshot named for the phase, stamped with the GO decision that opened it", () => {
    const snapshots = ofType(production, "aws:rds/snapshot:Snapshot");
    assert.deepEqual(
      snapshots.map((s) => s.name),
      ["data-snapshot-limited-pilot"],
    );
    assert.equal(snapshots[0]!.inputs.dbSnapshotIdentifier, "before-limited-pilot-202611021600");
    assert.equal(
      ofType(staging, "aws:rds/snapshot:Snapshot")[0]!.inputs.dbSnapshotIdentifier,
      "before-broader-pilot-initial",
    );
  });
});

describe("DeployHooks", () => {
  it("runs pre- and post-deploy hooks keyed on the traffic fingerprint, rollback hooks only on rollback", async () => {
    const hooks = ofType(staging, "command:local:Command");
    assert.deepEqual(hooks.map((h) => h.name).sort(), ["hooks-post-deploy", "hooks-pre-deploy"]);
    const pre = inputs(staging, "hooks-pre-deploy");
    assert.equal(pre.create, "bash scripts/hooks/pre-deploy.sh");
    assert.equal(pre.environment.SNAPSHOT_ID, "before-broader-pilot-initial");
    assert.deepEqual(pre.triggers, [
      JSON.stringify({
        phase: "broader-pilot",
        rollback: false,
        traffic: [
          ["web", 10],
          ["api", 10],
        ],
      }),
    ]);
    const post = inputs(staging, "hooks-post-deploy");
    assert.equal(post.environment.CHECKS, "web:/healthz api:/api/health");
    assert.equal(post.environment.COHORT_HEADER, "X-Pilot-User");
    assert.equal(post.environment.COHORT_USER, "devops.lead");
    const rolledBack = await planStack(withConfig("staging", { rollback: "true" }));
    assert.deepEqual(
      ofType(rolledBack, "command:local:Command")
        .map((h) => h.name)
        .sort(),
      ["hooks-post-deploy", "hooks-post-rollback", "hooks-pre-deploy", "hooks-pre-rollback"],
    );
  });
});
