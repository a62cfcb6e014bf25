import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AutoRollback, type AutoRollbackArgs, securityEventPattern } from "../../components/autoRollback";
import { DataProtection, type DataProtectionArgs } from "../../components/dataProtection";
import { DeployHooks, type DeployHooksArgs } from "../../components/deployHooks";
import { Environment, type EnvironmentArgs } from "../../components/environment";
import { TrafficRouter, type TrafficRouterArgs } from "../../components/trafficRouter";
import { autoName } from "../../cli/mockEngine";
import { parseRollbackEnvironment } from "../../rollout/lambdaEnvironment";
import { MAX_COHORT_RULES_PER_SERVICE } from "../../rollout/rulePriorities";
import { ResourceRecorder, type RecordedResource } from "../support/mocks";

/**
 * Each component on its own under the mock engine: its argument checks (exact messages) and
 * a few exact inputs of its children, without the program or a stack file around it.
 */

type Inputs = Record<string, any>;

/** Register what `build` constructs under fresh mocks; the recorded resources. */
async function register(build: () => void): Promise<RecordedResource[]> {
  const recorder = new ResourceRecorder();
  await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
  await pulumi.runtime.runInPulumiStack(async () => {
    build();
  });
  await pulumi.runtime.disconnect();
  return recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
}

/** The one resource named `name`, its inputs. */
function inputsOf(resources: RecordedResource[], name: string): Inputs {
  const found = resources.filter((r) => r.name === name);
  assert.equal(found.length, 1, `${name} among ${resources.map((r) => r.name).join(", ")}`);
  return found[0]!.inputs;
}

/** `build` throws `message` from the component's own checks, having registered nothing. */
async function refuses(build: () => void, message: string): Promise<void> {
  const recorder = new ResourceRecorder();
  await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
  assert.throws(build, { message });
  // Registration is asynchronous: disconnecting waits for whatever the constructor started.
  await pulumi.runtime.disconnect();
  // The Kubernetes provider an Environment is given is the caller's, not the component's.
  assert.deepEqual(
    recorder.resources.filter((r) => !r.type.startsWith("pulumi:providers:")).map((r) => r.name),
    [],
    "nothing registered, not even the component",
  );
}

function routerArgs(change: (a: TrafficRouterArgs) => void = () => {}): TrafficRouterArgs {
  const args: TrafficRouterArgs = {
    stack: "unit",
    vpcId: "vpc-1",
    publicSubnetIds: ["subnet-a", "subnet-b"],
    certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    ingressCidrs: ["0.0.0.0/0"],
    podSecurityGroupId: "sg-pods",
    production: false,
    services: [
      { name: "web", pathPattern: "/*", healthCheckPath: "/healthz", bluePort: 8000, greenPort: 3000 },
    ],
    traffic: [
      {
        service: "web",
        priorityBlock: 499,
        blue: 90,
        green: 10,
        cohortRoutes: [{ match: "header", headerName: "X-Pilot-User", values: ["anna", "ben"] }],
      },
    ],
    stickinessSeconds: 120,
  };
  change(args);
  return args;
}

describe("TrafficRouter arguments", () => {
  const web = routerArgs().services[0]!;
  const cases: [string, (a: TrafficRouterArgs) => void, string][] = [
    [
      "no services",
      (a) => ((a.services = []), (a.traffic = [])),
      "TrafficRouter: services is empty; expected at least one service",
    ],
    [
      "a service twice",
      (a) => ((a.services = [web, web]), (a.traffic = [a.traffic[0]!, a.traffic[0]!])),
      'TrafficRouter: services has "web" twice; service names must be unique',
    ],
    [
      "traffic for another service",
      (a) => (a.traffic[0]!.service = "api"),
      "TrafficRouter: traffic is planned for [api] but services are [web]; plan traffic for exactly the services",
    ],
    [
      "production without access logs",
      (a) => (a.production = true),
      "TrafficRouter: accessLogsBucket is missing; production load balancers keep access logs",
    ],
    [
      "stickiness of a fraction of a second",
      (a) => (a.stickinessSeconds = 0.5),
      "TrafficRouter: stickinessSeconds is 0.5; expected an integer 1-604800",
    ],
    [
      "stickiness over a week",
      (a) => (a.stickinessSeconds = 604801),
      "TrafficRouter: stickinessSeconds is 604801; expected an integer 1-604800",
    ],
    [
      "weights not summing to 100",
      (a) => (a.traffic[0]!.green = 20),
      "TrafficRouter: traffic for web is 90/20; expected two weights 0-100 summing to 100",
    ],
    [
      "a negative weight",
      (a) => ((a.traffic[0]!.blue = 110), (a.traffic[0]!.green = -10)),
      "TrafficRouter: traffic for web is 110/-10; expected two weights 0-100 summing to 100",
    ],
    [
      "more cohort rules than the priority block holds",
      (a) =>
        (a.traffic[0]!.cohortRoutes = Array.from({ length: MAX_COHORT_RULES_PER_SERVICE + 1 }, (_, i) => ({
          match: "header" as const,
          headerName: "X-Pilot-User",
          values: [`u${i}`],
        }))),
      `TrafficRouter: web needs ${MAX_COHORT_RULES_PER_SERVICE + 1} cohort rules; at most ${MAX_COHORT_RULES_PER_SERVICE} fit its priority block`,
    ],
    [
      "a priority block past the last one",
      (a) => (a.traffic[0]!.priorityBlock = 500),
      "TrafficRouter: web's priorityBlock is 500; expected an integer 0-499",
    ],
    [
      "two services in one priority block",
      (a) => {
        a.services.push({ ...a.services[0]!, name: "api", pathPattern: "/api/*" });
        a.traffic.push({ ...a.traffic[0]!, service: "api" });
      },
      "TrafficRouter: priorityBlock 499 is planned for more than one service; each service needs a block of its own",
    ],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}`, async () => {
      await refuses(() => new TrafficRouter("router", routerArgs(change)), message);
    });
  }

  it("registers the weighted forward, the cohort rule and the listeners with exact inputs", async () => {
    const resources = await register(() => new TrafficRouter("router", routerArgs()));
    const weighted = inputsOf(resources, "router-web-weighted");
    assert.deepEqual(
      weighted.actions[0].forward.targetGroups.map((tg: Inputs) => tg.weight),
      [90, 10],
    );
    assert.deepEqual(weighted.actions[0].forward.stickiness, { enabled: true, duration: 120 });
    const cohort = inputsOf(resources, "router-web-cohort-0");
    // Block 499 (the catch-all's): cohort rules from its bottom, the weighted rule at its top.
    assert.equal(cohort.priority, 49901);
    assert.equal(weighted.priority, 49999);
    assert.deepEqual(cohort.conditions.find((c: Inputs) => c.httpHeader).httpHeader, {
      httpHeaderName: "X-Pilot-User",
      values: ["anna", "ben"],
    });
    assert.equal(inputsOf(resources, "router-https").sslPolicy, "ELBSecurityPolicy-TLS13-1-2-Res-2021-06");
    assert.deepEqual(inputsOf(resources, "router-http-redirect").defaultActions[0].redirect, {
      port: "443",
      protocol: "HTTPS",
      statusCode: "HTTP_301",
    });
  });

  it("rollback: the weighted forward is 100/0 and stickiness is off (one colour has all traffic)", async () => {
    const resources = await register(
      () =>
        new TrafficRouter(
          "router",
          routerArgs((a) => {
            a.traffic = [{ service: "web", priorityBlock: 499, blue: 100, green: 0, cohortRoutes: [] }];
          }),
        ),
    );
    const forward = inputsOf(resources, "router-web-weighted").actions[0].forward;
    assert.deepEqual(
      forward.targetGroups.map((tg: Inputs) => tg.weight),
      [100, 0],
    );
    assert.deepEqual(forward.stickiness, { enabled: false, duration: 120 });
    assert.deepEqual(
      resources.filter((r) => r.name.includes("-cohort-")).map((r) => r.name),
      [],
    );
  });
});

function environmentArgs(
  provider: k8s.Provider,
  change: (a: EnvironmentArgs) => void = () => {},
): EnvironmentArgs {
  const args: EnvironmentArgs = {
    colour: "green",
    namespace: "tbs",
    provider,
    services: [
      {
        name: "web",
        image: "registry.example.com/tbs/web-next:14.2.3",
        port: 3000,
        healthCheckPath: "/healthz",
        replicas: 2,
        resources: { cpuRequest: "250m", cpuLimit: "1", memoryRequest: "256Mi", memoryLimit: "512Mi" },
      },
    ],
    targetGroupArns: {
      web: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/unit-web-green/1",
    },
    mysql: {
      host: "db.internal",
      port: 3306,
      database: "tbs",
      username: "tbs_app",
      password: "app-password",
    },
    heavydb: {
      host: "heavydb.internal",
      port: 6274,
      database: "heavyai",
      user: "ro",
      password: "ro-password",
    },
    metricsNamespace: "StagedRollout/unit",
  };
  change(args);
  return args;
}

describe("Environment arguments", () => {
  const provider = () => new k8s.Provider("k8s", { kubeconfig: "{}", namespace: "tbs" });
  const cases: [string, (a: EnvironmentArgs) => void, string][] = [
    ["no services", (a) => (a.services = []), "Environment green: services is empty; expected at least one"],
    [
      "no target group for a service",
      (a) => (a.targetGroupArns = {}),
      "Environment green: targetGroupArns has no entry for service web; pass this colour's target group ARN",
    ],
    [
      "a negative replica count",
      (a) => (a.services[0]!.replicas = -1),
      "Environment green: replicas of web is -1; expected an integer >= 0 (0 idles the service)",
    ],
    [
      "a fractional replica count",
      (a) => (a.services[0]!.replicas = 1.5),
      "Environment green: replicas of web is 1.5; expected an integer >= 0 (0 idles the service)",
    ],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}`, async () => {
      await refuses(() => new Environment("green", environmentArgs(provider(), change)), message);
    });
  }

  it("registers the colour's Deployment and TargetGroupBinding with exact inputs", async () => {
    const resources = await register(() => new Environment("green", environmentArgs(provider())));
    const deployment = resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs as Inputs;
    assert.equal(deployment.metadata.name, "web-green");
    assert.equal(deployment.metadata.namespace, "tbs");
    assert.equal(deployment.spec.replicas, 2);
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.image, "registry.example.com/tbs/web-next:14.2.3");
    assert.deepEqual(container.resources, {
      requests: { cpu: "250m", memory: "256Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
    const env = Object.fromEntries(
      container.env.filter((e: Inputs) => "value" in e).map((e: Inputs) => [e.name, e.value]),
    );
    assert.equal(env.METRICS_NAMESPACE, "StagedRollout/unit");
    const binding = resources.find((r) => r.type === "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")!
      .inputs as Inputs;
    assert.deepEqual(binding.spec.serviceRef, { name: "web-green", port: 3000 });
    assert.equal(
      binding.spec.targetGroupARN,
      "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/unit-web-green/1",
    );
  });

  it("an idle colour (0 replicas) keeps its workloads with no pods, and a budget that asks for none", async () => {
    const resources = await register(
      () =>
        new Environment(
          "green",
          environmentArgs(provider(), (a) => (a.services[0]!.replicas = 0)),
        ),
    );
    const of = (type: string) => resources.find((r) => r.type === type)!.inputs as Inputs;
    assert.equal(of("kubernetes:apps/v1:Deployment").spec.replicas, 0);
    assert.deepEqual(of("kubernetes:policy/v1:PodDisruptionBudget").spec, {
      selector: {
        matchLabels: { app: "web", colour: "green", "app.kubernetes.io/part-of": "staged-rollout" },
      },
      maxUnavailable: 1,
    });
    assert.equal(of("kubernetes:core/v1:Service").metadata.name, "web-green");
    assert.equal(of("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding").spec.serviceRef.name, "web-green");
  });
});

function dataArgs(change: (a: DataProtectionArgs) => void = () => {}): DataProtectionArgs {
  const args: DataProtectionArgs = {
    stack: "unit",
    production: true,
    vpcId: "vpc-1",
    subnetIds: ["subnet-c", "subnet-d"],
    allowedSecurityGroupIds: ["sg-pods"],
    instanceClass: "db.r6g.large",
    engineVersion: "8.0",
    allocatedStorageGb: 100,
    dbName: "tbs",
    username: "tbs_admin",
    password: "master-password",
    backupRetentionDays: 14,
    deletionProtection: true,
    multiAz: true,
    phase: "limited-pilot",
    phaseEntryId: "202611021600",
  };
  change(args);
  return args;
}

describe("DataProtection arguments", () => {
  const cases: [string, (a: DataProtectionArgs) => void, string][] = [
    [
      "backups kept under a week",
      (a) => (a.backupRetentionDays = 6),
      "DataProtection: backupRetentionDays is 6; expected at least 7 days for point-in-time recovery",
    ],
    [
      "a fractional retention",
      (a) => (a.backupRetentionDays = 7.5),
      "DataProtection: backupRetentionDays is 7.5; expected at least 7 days for point-in-time recovery",
    ],
    [
      "a phase entry id that is not yyyymmddhhmm",
      (a) => (a.phaseEntryId = "2026-11-02"),
      'DataProtection: phaseEntryId is "2026-11-02"; expected yyyymmddhhmm (the time the phase was entered)',
    ],
    [
      "a phase id that is not kebab-case",
      (a) => (a.phase = "Limited_Pilot"),
      'DataProtection: phase is "Limited_Pilot"; expected a kebab-case phase id',
    ],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}`, async () => {
      await refuses(() => new DataProtection("data", dataArgs(change)), message);
    });
  }

  it("registers the database and the phase's snapshot with exact inputs", async () => {
    const resources = await register(() => new DataProtection("data", dataArgs()));
    const db = inputsOf(resources, "data-mysql");
    assert.deepEqual(
      [
        db.multiAz,
        db.deletionProtection,
        db.storageEncrypted,
        db.publiclyAccessible,
        db.backupRetentionPeriod,
      ],
      [true, true, true, false, 14],
    );
    assert.equal(db.finalSnapshotIdentifier, "staged-rollout-unit-mysql-final");
    assert.equal(
      inputsOf(resources, "data-snapshot-limited-pilot").dbSnapshotIdentifier,
      "before-limited-pilot-unit-202611021600",
    );
  });
});

function hooksArgs(change: (a: DeployHooksArgs) => void = () => {}): DeployHooksArgs {
  const tg = (colour: string) => `arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-${colour}/1`;
  const args: DeployHooksArgs = {
    stack: "unit",
    region: "eu-west-1",
    rollback: true,
    trafficFingerprint: "fingerprint",
    albDnsName: "alb-1.eu-west-1.elb.amazonaws.com",
    certificateArn: "arn:aws:acm:eu-west-1:1:certificate/c",
    listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/router/1/2",
    snapshotIdentifier: "before-limited-pilot-unit-202611021600",
    services: [
      {
        name: "web",
        healthCheckPath: "/healthz",
        pathPattern: "/*",
        blueTargetGroupArn: tg("blue"),
        greenTargetGroupArn: tg("green"),
      },
    ],
  };
  change(args);
  return args;
}

describe("DeployHooks arguments", () => {
  const cases: [string, (a: DeployHooksArgs) => void, string][] = [
    [
      "an empty region",
      (a) => (a.region = ""),
      'DeployHooks: region "" is not an AWS region name such as eu-west-1; pass the stack\'s aws:region',
    ],
    [
      "an Availability Zone for a region",
      (a) => (a.region = "eu-west-1a"),
      'DeployHooks: region "eu-west-1a" is not an AWS region name such as eu-west-1; pass the stack\'s aws:region',
    ],
    [
      "a display name for a region, checked before the services",
      (a) => ((a.region = "Europe (Ireland)"), (a.services = [])),
      'DeployHooks: region "Europe (Ireland)" is not an AWS region name such as eu-west-1; pass the stack\'s aws:region',
    ],
    ["no services", (a) => (a.services = []), "DeployHooks: services is empty; expected at least one"],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}`, async () => {
      await refuses(() => new DeployHooks("hooks", hooksArgs(change)), message);
    });
  }

  it("hands every hook the region as AWS_REGION and AWS_DEFAULT_REGION, in any partition", async () => {
    const resources = await register(
      () =>
        new DeployHooks(
          "hooks",
          hooksArgs((a) => (a.region = "us-gov-west-1")),
        ),
    );
    const hooks = ["pre-rollback", "pre-deploy", "post-deploy", "post-rollback"];
    assert.deepEqual(
      resources
        .filter((r) => r.type === "command:local:Command")
        .map((r) => r.name)
        .sort(),
      hooks.map((h) => `hooks-${h}`).sort(),
    );
    for (const h of hooks) {
      const env = inputsOf(resources, `hooks-${h}`).environment;
      assert.deepEqual([env.AWS_REGION, env.AWS_DEFAULT_REGION], ["us-gov-west-1", "us-gov-west-1"], h);
    }
    assert.deepEqual(inputsOf(resources, "hooks-pre-rollback").environment, {
      BLUE_TARGET_GROUPS: "web:arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-blue/1",
      AWS_REGION: "us-gov-west-1",
      AWS_DEFAULT_REGION: "us-gov-west-1",
    });
  });
});

function rollbackArgs(change: (a: AutoRollbackArgs) => void = () => {}): AutoRollbackArgs {
  const args: AutoRollbackArgs = {
    stack: "unit",
    listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2",
    targetGroupPairs: [{ service: "web", blue: "arn:blue", green: "arn:green" }],
    criticalTopicArn: "arn:aws:sns:eu-west-1:123456789012:critical",
    criticalTopicKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
  };
  change(args);
  return args;
}

describe("AutoRollback arguments", () => {
  const cases: [string, (a: AutoRollbackArgs) => void, string][] = [
    [
      "a GuardDuty severity beyond GuardDuty's scale",
      (a) => (a.guardDutyMinSeverity = 11),
      "AutoRollback: guardDutyMinSeverity is 11; expected 0-10 (GuardDuty's scale)",
    ],
    [
      "no target group pairs",
      (a) => (a.targetGroupPairs = []),
      "AutoRollback: targetGroupPairs is empty; expected one pair per service",
    ],
    [
      "a blank EKS cluster name for GuardDuty findings",
      (a) => ((a.guardDutyMinSeverity = 7), (a.guardDutyEksClusterName = " ")),
      'AutoRollback: guardDutyEksClusterName is " "; expected an EKS cluster name',
    ],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name}`, async () => {
      await refuses(() => new AutoRollback("auto-rollback", rollbackArgs(change)), message);
    });
  }

  const CRITICAL = "arn:aws:sns:eu-west-1:123456789012:critical";
  const DLQ_NAME = autoName("aws:sqs/queue:Queue", "auto-rollback-dlq");

  it("pages the critical topic on any function error and any dead letter, with exact inputs", async () => {
    const resources = await register(() => new AutoRollback("auto-rollback", rollbackArgs()));
    const common = {
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      period: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: "notBreaching",
      actionsEnabled: true,
      alarmActions: [CRITICAL],
      okActions: [CRITICAL],
    };
    const pick = (inputs: Inputs) =>
      Object.fromEntries(Object.entries(inputs).filter(([k]) => k !== "alarmDescription"));
    assert.deepEqual(pick(inputsOf(resources, "auto-rollback-errors-alarm")), {
      ...common,
      name: "unit-rollback-function-errors",
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: "unit-auto-rollback" },
      statistic: "Sum",
    });
    assert.deepEqual(pick(inputsOf(resources, "auto-rollback-dead-letters-alarm")), {
      ...common,
      name: "unit-rollback-dead-letters",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: DLQ_NAME },
      statistic: "Maximum",
    });
    // Without securityEvents or a GuardDuty severity: no EventBridge path at all (the DLQ's
    // queue policy only refuses plain HTTP).
    assert.deepEqual(
      resources.filter((r) => /eventRule|eventTarget/.test(r.type)).map((r) => r.name),
      [],
    );
  });

  it("gives the handler the composite alarm's name and the security event source it matches", async () => {
    const resources = await register(() => new AutoRollback("auto-rollback", rollbackArgs()));
    const env = parseRollbackEnvironment(inputsOf(resources, "auto-rollback-fn").environment.variables);
    assert.deepEqual(
      [env.COMPOSITE_ALARM_NAME, env.SECURITY_EVENT_SOURCE, env.STACK],
      ["unit-auto-rollback", "staged-rollout.unit", "unit"],
    );
  });

  it("securityEvents: a default-bus rule on the stack's security event invokes the function, with retries, DLQ and a scoped permission", async () => {
    const resources = await register(
      () =>
        new AutoRollback(
          "auto-rollback",
          rollbackArgs((a) => ((a.securityEvents = true), (a.guardDutyMinSeverity = 7))),
        ),
    );
    const rule = inputsOf(resources, "auto-rollback-security-event-rule");
    assert.deepEqual(JSON.parse(rule.eventPattern as string), {
      source: ["staged-rollout.unit"],
      "detail-type": ["Security Breach Detected"],
    });
    assert.deepEqual(JSON.parse(rule.eventPattern as string), securityEventPattern("unit"));
    // No eventBusName: the default bus, where PutEvents without EventBusName puts events.
    assert.deepEqual([rule.eventBusName, rule.state], [undefined, "ENABLED"]);
    assert.equal(
      rule.description,
      "Security Breach Detected events from staged-rollout.unit on the default bus: roll unit back",
    );

    const fnArn = "arn:aws:lambda:eu-west-1:123456789012:function:unit-auto-rollback";
    const dlqArn = `arn:aws:sqs:eu-west-1:123456789012:${DLQ_NAME}`;
    const target = inputsOf(resources, "auto-rollback-security-event-target");
    assert.deepEqual(
      [target.arn, target.retryPolicy, target.deadLetterConfig],
      [fnArn, { maximumRetryAttempts: 4, maximumEventAgeInSeconds: 300 }, { arn: dlqArn }],
    );
    const ruleArn = (n: string) => inputsOf(resources, `auto-rollback-${n}-permission`).sourceArn as string;
    const permission = inputsOf(resources, "auto-rollback-security-event-permission");
    assert.deepEqual(
      [permission.principal, permission.action, permission.function],
      ["events.amazonaws.com", "lambda:InvokeFunction", "unit-auto-rollback"],
    );
    assert.match(ruleArn("security-event"), /auto-rollback-security-event-rule/);
    assert.notEqual(ruleArn("security-event"), ruleArn("guardduty"));

    // One queue policy (a queue has one), a statement per rule, each scoped to its rule.
    const policy = JSON.parse(inputsOf(resources, "auto-rollback-dlq-policy").policy as string) as {
      Statement: { Sid: string; Condition: unknown }[];
    };
    assert.deepEqual(
      policy.Statement.map((s) => [s.Sid, s.Condition]),
      [
        ["SecurityEventRuleDeadLetters", { ArnEquals: { "aws:SourceArn": ruleArn("security-event") } }],
        ["GuardDutyRuleDeadLetters", { ArnEquals: { "aws:SourceArn": ruleArn("guardduty") } }],
        ["OnlyOverTls", { Bool: { "aws:SecureTransport": "false" } }],
      ],
    );
    // The GuardDuty rule stays, a second and slower net.
    assert.equal(inputsOf(resources, "auto-rollback-guardduty-rule").state, "ENABLED");
  });

  it("actionsEnabled false: the function's alarms carry no actions and the EventBridge rules are DISABLED", async () => {
    const resources = await register(
      () =>
        new AutoRollback(
          "auto-rollback",
          rollbackArgs((a) => ((a.securityEvents = true), (a.actionsEnabled = false))),
        ),
    );
    for (const name of ["auto-rollback-errors-alarm", "auto-rollback-dead-letters-alarm"]) {
      const alarm = inputsOf(resources, name);
      assert.deepEqual([alarm.actionsEnabled, alarm.alarmActions, alarm.okActions], [false, [], []], name);
    }
    assert.equal(inputsOf(resources, "auto-rollback-security-event-rule").state, "DISABLED");
  });
});
