import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AlertTopics } from "./components/alerts";
import { AutoRollback } from "./components/autoRollback";
import { DataProtection } from "./components/dataProtection";
import { DeployHooks } from "./components/deployHooks";
import { eksKubeconfig, Environment } from "./components/environment";
import { PodPermissions } from "./components/podPermissions";
import { QualityGates } from "./components/qualityGates";
import { TrafficRouter } from "./components/trafficRouter";
import { guardDutyRollbackSeverity, securityEventRollback } from "./rollout/alarms";
import { parseAwsRegion } from "./rollout/awsLimits";
import { parseRolloutConfig, type RolloutConfig } from "./rollout/config";
import { latestGoInto } from "./rollout/decisions";
import {
  customMetricNamespace,
  latchPath,
  revisionClaimParameterName,
  stackParameterPath,
  stateParameterName,
} from "./rollout/names";
import { rolloutKeys } from "./rollout/stackFile";
import {
  latchStatus,
  parseLatch,
  rolloutStateRecord,
  stackRevision,
  staleRevisionProblem,
  STATE_PARAMETER_TIER,
  STATE_RESOURCE_NAME,
  type Latch,
  type LatchStatus,
  type RolloutState,
} from "./rollout/state";
import { planTraffic, type ServiceTraffic } from "./rollout/traffic";

/**
 * Composition root: read the stack config once, validate it before any resource exists,
 * build the components, export what operators and the CLI read.
 *
 * Exported as a function so Pulumi runs it as the program (its result becomes the stack
 * outputs) and `plan` can run exactly the same code under the mock engine.
 */

/**
 * The automatic-rollback latch lives outside Pulumi's state: the Lambda writes it, `rollout
 * resume` deletes it. GetParametersByPath answers an empty list when nothing is there, so a
 * first deploy (no latch, maybe no parameter path yet) reads "clear" instead of failing;
 * any other error (no permission, throttling) fails the deploy rather than guessing.
 */
function readLatch(config: RolloutConfig): pulumi.Output<{ status: LatchStatus; latch?: Latch }> {
  const found = aws.ssm.getParametersByPathOutput({ path: latchPath(config.stack), withDecryption: true });
  // The provider marks parameter values secret; the latch ({reason, alarm, at}) is not, and
  // keeping it secret would hide the whole rollout state record from the policy pack.
  return pulumi.unsecret(found.values).apply((values) => {
    const rawLatch = values[0];
    if (rawLatch === undefined) return { status: "clear" as const };
    const latch = parseLatch(rawLatch);
    const status = latchStatus(latch, config.rollbackAcknowledged);
    if (status === "set") {
      void pulumi.log.warn(
        `automatic rollback latch set by ${latch.alarm} at ${latch.at} (${latch.reason}): keeping 100 % blue. ` +
          `Fix green, then run \`npm run rollout -- resume --stack ${config.stack}\` to acknowledge it.`,
      );
    }
    return { status, latch };
  });
}

/**
 * The revision the stack is at, read before this deploy replaces its record: the deployed state
 * record's and the rollout CLI's claim (cli/revision.ts), both directly under the stack's SSM
 * hierarchy. GetParametersByPath retrieves "parameters under a specified level in a hierarchy"
 * and only with Recursive "all parameters within a hierarchy" (SSM API reference; the provider's
 * `recursive` defaults to false): the latch, a level deeper, is not read here. A first deploy
 * finds neither (undefined). rollout-revision-current refuses a deploy whose stack file is older.
 */
function readDeployedRevision(config: RolloutConfig): pulumi.Output<number | undefined> {
  const found = aws.ssm.getParametersByPathOutput({
    path: stackParameterPath(config.stack),
    recursive: false,
  });
  return pulumi.all([found.names, pulumi.unsecret(found.values)]).apply(([names, values]) => {
    const valueOf = (name: string) => {
      const index = names.indexOf(name);
      return index < 0 ? undefined : values[index];
    };
    // The deployed record's revision, or the CLI's later claim (a change not yet deployed).
    const deployed = stackRevision(
      valueOf(stateParameterName(config.stack)),
      valueOf(revisionClaimParameterName(config.stack)),
    );
    const problem = staleRevisionProblem(config.stack, config.revision, deployed);
    // A warning: the policy pack refuses the deploy (mandatory) before any change; an error logged
    // here would fail the update only after it had applied.
    if (problem) void pulumi.log.warn(problem);
    return deployed;
  });
}

/** `yyyymmddhhmm` in UTC: the entry stamp of a phase's snapshot. */
const minuteStamp = (time: Date) =>
  time
    .toISOString()
    .replace(/[^0-9]/g, "")
    .slice(0, 12);

interface ProgramOptions {
  /** The deploy's time (a fixed clock makes offline plans reproducible). Default: the wall clock. */
  now?: Date;
  /**
   * Whether the latch in SSM can be read. The offline plan has no AWS account, so it records
   * the latch as `unknown` (and the policy pack sees that) instead of pretending it is clear.
   * Default: true.
   */
  readLatch?: boolean;
}

function main(options: ProgramOptions = {}) {
  // A deploy only knows secrecy per top-level key (a nested `secure:` value makes the whole of
  // `rollout:database` secret), so it checks the key holding each secret path. The SDK exports
  // isConfigSecret at runtime without typing it; without it no plain secret could be refused.
  const { isConfigSecret } = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof isConfigSecret !== "function")
    throw new Error("@pulumi/pulumi no longer exports runtime.isConfigSecret: cannot verify secret config");
  const config = parseRolloutConfig(rolloutKeys(pulumi.runtime.allConfig()), pulumi.getStack(), (path) =>
    isConfigSecret(`rollout:${path.split(".")[0]}`),
  );
  const { playbookSpec: playbook, isProduction } = config;
  // The hooks' AWS CLI must ask the stack's region. Not aws.config.region: it falls back to the
  // deployer's AWS_REGION, the very ambient value the hooks must not inherit.
  const awsRegion = parseAwsRegion(new pulumi.Config("aws").get("region"));
  const secret = <T>(value: T) => pulumi.secret(value);

  const latch =
    options.readLatch === false
      ? pulumi.output({ status: "unknown" as LatchStatus, latch: undefined as Latch | undefined })
      : readLatch(config);
  const deployedRevision =
    options.readLatch === false
      ? pulumi.output(undefined as number | undefined)
      : readDeployedRevision(config);
  const forceBlue = latch.apply((l) => l.status === "set");
  const plannedTraffic = planTraffic(config);
  const inFirstPhase = config.phase === playbook.phases[0]!.id;
  // Between releases (`rollout finish` ran, the phase is back to the first) green idles.
  const greenIdles = inFirstPhase && config.finish !== undefined;
  /*
   * A stack whose releases the CLI runs (rollout:release or rollout:finish set), in the first
   * phase, with nothing planned for green: green is out of the traffic path. It idles after a
   * finish and scales up again after a start, while the hooks would otherwise require it healthy
   * (pre-deploy) or smoke-test it (post-deploy) in that very `up`. The hooks then check what they
   * check while traffic is held on blue (the mode they call `latched`); the first advance out of
   * the phase moves traffic and runs them on green again.
   */
  const greenOutOfPath =
    inFirstPhase &&
    (config.finish !== undefined || config.release !== undefined) &&
    plannedTraffic.every((t) => t.green === 0 && t.cohortRoutes.length === 0);
  const effectiveTraffic: pulumi.Output<ServiceTraffic[]> = forceBlue.apply((blueOnly) =>
    blueOnly ? plannedTraffic.map((t) => ({ ...t, blue: 100, green: 0, cohortRoutes: [] })) : plannedTraffic,
  );

  const provider = new k8s.Provider("k8s", {
    // Never the ambient kubeconfig: its current context could be any cluster.
    kubeconfig: config.cluster.kubeconfig
      ? secret(config.cluster.kubeconfig)
      : eksKubeconfig(config.cluster.name, aws.getRegionOutput().region),
    namespace: config.cluster.namespace,
  });

  const alerts = new AlertTopics("alerts", {
    stack: config.stack,
    emails: config.alerts.emails,
    https: config.alerts.https,
  });

  // The phase's snapshot is taken before anything that moves traffic: rules depend on it.
  const decisionIntoPhase = latestGoInto(config.decisions, config.phase);
  const data = new DataProtection("data", {
    stack: config.stack,
    production: isProduction,
    vpcId: config.network.vpcId,
    subnetIds: config.network.privateSubnetIds,
    allowedSecurityGroupIds: [config.cluster.podSecurityGroupId],
    instanceClass: config.database.instanceClass,
    engineVersion: config.database.engineVersion,
    allocatedStorageGb: config.database.allocatedStorageGb,
    dbName: config.database.name,
    username: config.database.username,
    password: secret(config.database.password),
    backupRetentionDays: config.database.backupRetentionDays,
    performanceInsightsRetentionDays: config.database.performanceInsightsRetentionDays,
    monitoringIntervalSeconds: config.database.monitoringIntervalSeconds,
    deletionProtection: config.database.deletionProtection,
    multiAz: config.database.multiAz,
    phase: config.phase,
    // The GO decision's time when one opened the phase; otherwise (staging rehearsals record
    // none) this deploy's time, which the snapshot keeps once created.
    phaseEntryId: minuteStamp(
      decisionIntoPhase ? new Date(decisionIntoPhase.at) : (options.now ?? new Date()),
    ),
  });

  // Listener rules wait for the pre-deploy hook, which needs the target groups the router
  // creates: a deferred dependency keeps the resource graph acyclic.
  let releasePreDeploy: (hook: pulumi.Resource) => void = () => undefined;
  const preDeployDone = new Promise<pulumi.Resource>((resolve) => (releasePreDeploy = resolve));

  const router = new TrafficRouter("router", {
    stack: config.stack,
    vpcId: config.network.vpcId,
    publicSubnetIds: config.network.publicSubnetIds,
    certificateArn: config.network.certificateArn,
    ingressCidrs: config.network.ingressCidrs,
    podSecurityGroupId: config.cluster.podSecurityGroupId,
    production: isProduction,
    accessLogsBucket: config.network.accessLogsBucket,
    services: config.services.map((s) => ({
      name: s.name,
      pathPattern: s.pathPattern,
      healthCheckPath: s.healthCheckPath,
      bluePort: s.blue.port,
      greenPort: s.green.port,
    })),
    traffic: plannedTraffic,
    forceBlue,
    stickinessSeconds: config.stickinessSeconds,
    waf: config.waf,
    ruleDependsOn: [data.phaseSnapshot, pulumi.output(preDeployDone)],
  });

  // One AWS identity for the pods of both colours (EKS Pod Identity): gate metrics and security events.
  const podPermissions = new PodPermissions("pod-permissions", {
    stack: config.stack,
    clusterName: config.cluster.name,
    namespace: config.cluster.namespace,
    provider,
  });

  const environments = (["blue", "green"] as const).map(
    (colour) =>
      new Environment(colour, {
        colour,
        namespace: config.cluster.namespace,
        provider,
        // Green's workloads are the phase's other change: they wait for its snapshot too.
        dependsOn: colour === "green" ? [data.phaseSnapshot] : undefined,
        featureFlags: colour === "green" ? config.featureFlags : undefined,
        metricsNamespace: customMetricNamespace(config.stack),
        awsAccess: {
          serviceAccountName: podPermissions.serviceAccountName,
          region: podPermissions.region,
          securityEventSource: podPermissions.securityEventSource,
          securityEventDetailType: podPermissions.securityEventDetailType,
        },
        services: config.services.map((s) => ({
          name: s.name,
          image: s[colour].image,
          port: s[colour].port,
          healthCheckPath: s.healthCheckPath,
          replicas: colour === "green" && greenIdles ? config.idleGreenReplicas : s.replicas,
          resources: s.resources,
        })),
        targetGroupArns: Object.fromEntries(
          config.services.map((s) => [s.name, router.targetGroups[s.name]![colour].arn]),
        ),
        mysql: {
          host: data.address,
          port: 3306,
          database: config.database.name,
          // The application user, never the master user (least privilege).
          username: config.database.appUsername,
          password: secret(config.database.appPassword),
        },
        heavydb: {
          host: config.heavydb.host,
          port: config.heavydb.port,
          database: config.heavydb.database,
          user: config.heavydb.readOnlyUser,
          password: secret(config.heavydb.readOnlyPassword),
        },
      }),
  );

  // The hooks' triggers: phase, rollback, the latch, and per service green's weight and cohort
  // routes (a cohort-only phase moves no weight). A hook also re-runs when a value in its own
  // environment changes (snapshot id, target group ARNs, ALB DNS, certificate): see DeployHooks.
  const trafficFingerprint = pulumi.all([effectiveTraffic, latch]).apply(([traffic, l]) =>
    JSON.stringify({
      phase: config.phase,
      rollback: config.rollback,
      latch: l.status,
      traffic: traffic.map((t) => [t.service, t.green, t.cohortRoutes.length]),
    }),
  );
  const hooks = new DeployHooks("hooks", {
    stack: config.stack,
    region: awsRegion,
    rollback: config.rollback,
    latched: greenOutOfPath ? true : forceBlue,
    trafficFingerprint,
    albDnsName: router.dnsName,
    certificateArn: config.network.certificateArn,
    listenerArn: router.httpsListener.arn,
    snapshotIdentifier: data.phaseSnapshot.dbSnapshotIdentifier,
    services: config.services.map((s) => ({
      name: s.name,
      healthCheckPath: s.healthCheckPath,
      pathPattern: s.pathPattern,
      blueTargetGroupArn: router.targetGroups[s.name]!.blue.arn,
      greenTargetGroupArn: router.targetGroups[s.name]!.green.arn,
    })),
    cohortHeader: config.cohorts?.header,
    cohortProbeUser: config.cohorts?.users[0],
    cohortRoutingActive: effectiveTraffic.apply((traffic) => traffic.some((t) => t.cohortRoutes.length > 0)),
    after: [
      ...Object.values(router.weightedRules),
      ...Object.values(router.cohortRules).flat(),
      ...environments,
    ],
  });
  releasePreDeploy(hooks.preDeploy);

  const rollbackFn = new AutoRollback("auto-rollback", {
    stack: config.stack,
    listenerArn: router.httpsListener.arn,
    targetGroupPairs: config.services.map((s) => ({
      service: s.name,
      blue: router.targetGroups[s.name]!.blue.arn,
      green: router.targetGroups[s.name]!.green.arn,
    })),
    criticalTopicArn: alerts.topics.critical.arn,
    criticalTopicKeyArn: alerts.kmsKey.arn,
    guardDutyMinSeverity: guardDutyRollbackSeverity(playbook),
    guardDutyEksClusterName: config.guardDutyScope === "cluster" ? config.cluster.name : undefined,
    // The rule on the application's own security event, when an automatic trigger is fed by it.
    securityEvents: securityEventRollback(playbook),
    actionsEnabled: config.alarmActionsEnabled,
    logRetentionDays: config.logRetentionDays,
  });

  const gates = new QualityGates("gates", {
    stack: config.stack,
    playbook,
    alarmActionsEnabled: config.alarmActionsEnabled,
    topicArns: {
      critical: alerts.topics.critical.arn,
      warning: alerts.topics.warning.arn,
      info: alerts.topics.info.arn,
    },
    rollbackFunctionArn: rollbackFn.functionArn,
    // The rollback function's own alarms on the same status board: a silent failure there is an outage of the safety net.
    otherAlarmArns: [rollbackFn.errorsAlarm.arn, rollbackFn.deadLetterAlarm.arn],
    albArnSuffix: router.albArnSuffix,
    services: config.services.map((s) => ({
      name: s.name,
      blueTargetGroupArnSuffix: router.targetGroups[s.name]!.blue.arnSuffix,
      greenTargetGroupArnSuffix: router.targetGroups[s.name]!.green.arnSuffix,
    })),
    clusterName: config.cluster.name,
    namespace: config.cluster.namespace,
  });

  // The record the policy pack, the rollback Lambda and the CLI read.
  const state: pulumi.Output<RolloutState> = pulumi
    .all([effectiveTraffic, latch, deployedRevision])
    .apply(([traffic, l, deployed]) => rolloutStateRecord(config, traffic, l.status, deployed));
  new aws.ssm.Parameter(STATE_RESOURCE_NAME, {
    name: stateParameterName(config.stack),
    type: "String",
    // Standard holds 4 KB; a long rollout's sign-offs can pass it. Intelligent-Tiering moves
    // to Advanced (8 KB) only when the value needs it.
    tier: STATE_PARAMETER_TIER,
    description: `staged-rollout state of stack ${config.stack}`,
    // Not a secret: phase, weights, decisions and sign-offs are what reviewers must see in diffs.
    insecureValue: state.apply((s) => JSON.stringify(s)),
  });

  return {
    playbook: playbook.id,
    phase: config.phase,
    rollback: config.rollback,
    latch: latch.apply((l) => l.status),
    traffic: effectiveTraffic,
    albDnsName: router.dnsName,
    albArnSuffix: router.albArnSuffix,
    targetGroupArns: Object.fromEntries(
      config.services.map((s) => [
        s.name,
        { blue: router.targetGroups[s.name]!.blue.arn, green: router.targetGroups[s.name]!.green.arn },
      ]),
    ),
    httpsListenerArn: router.httpsListener.arn,
    databaseEndpoint: data.endpoint,
    snapshotIds: { [config.phase]: data.phaseSnapshot.dbSnapshotIdentifier },
    stateParameter: stateParameterName(config.stack),
    rollbackFunction: rollbackFn.function.name,
    compositeAlarm: gates.compositeAlarm?.alarmName,
    dashboard: gates.dashboard.dashboardName,
    alertTopics: {
      critical: alerts.topics.critical.arn,
      warning: alerts.topics.warning.arn,
      info: alerts.topics.info.arn,
    },
  };
}

export = main;
