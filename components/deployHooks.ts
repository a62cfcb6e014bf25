import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AWS_REGION_NAME } from "../rollout/awsLimits";
import type { Colour } from "../rollout/names";

export interface HookedService {
  name: string;
  healthCheckPath: string;
  pathPattern: string;
  blueTargetGroupArn: pulumi.Input<string>;
  greenTargetGroupArn: pulumi.Input<string>;
}

export interface DeployHooksArgs {
  stack: string;
  /**
   * The stack's `aws:region`. Every hook gets it as AWS_REGION and AWS_DEFAULT_REGION, so the AWS
   * CLI asks the stack's region, never whatever the deployer's shell or profile defaults to.
   */
  region: string;
  /** Whether this `up` is a rollback: adds the pre- and post-rollback hooks. */
  rollback: boolean;
  /** Whether the automatic-rollback latch holds traffic on blue. Default: false. */
  latched?: pulumi.Input<boolean>;
  /**
   * Phase, per-service weights and cohort routes, rollback and latch as one string, the hooks'
   * `triggers`: a change replaces the commands, so every hook runs again. See the class comment
   * for the other values that re-run a hook.
   */
  trafficFingerprint: pulumi.Input<string>;
  albDnsName: pulumi.Input<string>;
  /** The HTTPS listener's certificate: the cohort probe verifies TLS against its domain while connecting to this ALB. */
  certificateArn: pulumi.Input<string>;
  listenerArn: pulumi.Input<string>;
  /** The phase's snapshot, which must be available before traffic moves towards green. */
  snapshotIdentifier: pulumi.Input<string>;
  services: HookedService[];
  /** Header and user the cohort probe sends so the request reaches green. Default: none (no probe). */
  cohortHeader?: string;
  cohortProbeUser?: string;
  /**
   * Whether this phase routes the cohort to green (after the latch is applied). Only then does
   * the header reach green, so only then is the probe run. Default: false.
   */
  cohortRoutingActive?: pulumi.Input<boolean>;
  /** What the post-deploy and post-rollback hooks run after (weighted and cohort rules, workloads). Default: none. */
  after?: pulumi.Input<pulumi.Resource>[];
}

/** Directory of the hook scripts, relative to the project root where `pulumi up` runs. */
export const HOOK_DIR = "scripts/hooks";

/**
 * What this `up` does to traffic, as the hooks see it: `deploy` moves traffic as configured;
 * `rollback` (rollout:rollback) and `latched` (the automatic rollback's latch) hold it on
 * blue, so green is neither required healthy nor smoke-tested.
 */
export type HookMode = "deploy" | "rollback" | "latched";

function hookMode(rollback: boolean, latched: boolean): HookMode {
  return rollback ? "rollback" : latched ? "latched" : "deploy";
}

/**
 * Deploy hooks as `@pulumi/command` local commands: pre-deploy (snapshot available, the
 * colours traffic will reach healthy, or not used by the load balancer yet: a first deploy),
 * post-deploy (green's targets all healthy through the ELB API, plus a cohort probe through the
 * ALB when the phase routes the cohort to green), and on rollback the pre- and post-rollback
 * verifications.
 *
 * When a hook runs again: `triggers` carry the traffic fingerprint, so a change of phase,
 * weights, cohort routes, rollback or latch replaces every hook (its `create` runs). A command
 * also runs again (its `update`, the same script) when a value in its own `environment`
 * changes, because each of those changes what the hook verifies: the phase's snapshot id
 * (pre-deploy), a replaced target group's ARN (all four), the ALB's DNS name, the listener's
 * certificate, a health-check path or the cohort header/probe user (post-deploy), the listener
 * ARN (post-rollback). MODE follows rollback and latch, already in the fingerprint; AWS_REGION and
 * AWS_DEFAULT_REGION are the stack's `aws:region`, which does not change between updates (the `up`
 * that first adds them runs each existing hook's `update` once). Nothing else in the stack (alarms,
 * workloads, database settings) re-runs a hook.
 */
export class DeployHooks extends pulumi.ComponentResource {
  readonly preDeploy: command.local.Command;
  readonly postDeploy: command.local.Command;
  readonly preRollback?: command.local.Command;
  readonly postRollback?: command.local.Command;

  constructor(name: string, args: DeployHooksArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before super(): a refused component registers nothing, not even itself.
    validate(args);
    super("staged-rollout:hooks:DeployHooks", name, {}, opts);

    const hook = (
      hookName: string,
      environment: pulumi.Input<Record<string, pulumi.Input<string>>>,
      dependsOn?: pulumi.Input<pulumi.Resource>[],
    ) => {
      const script = `bash ${HOOK_DIR}/${hookName}.sh`;
      // Both names: the AWS CLI v2 prefers AWS_REGION; v1 (botocore's configprovider) reads only AWS_DEFAULT_REGION.
      const withRegion = pulumi
        .output(environment)
        .apply((env) => ({ ...env, AWS_REGION: args.region, AWS_DEFAULT_REGION: args.region }));
      return new command.local.Command(
        `${name}-${hookName}`,
        { create: script, update: script, environment: withRegion, triggers: [args.trafficFingerprint] },
        { parent: this, dependsOn },
      );
    };
    const list = (entries: pulumi.Input<string>[]) => pulumi.all(entries).apply((e) => e.join(" "));
    const mode = pulumi.output(args.latched ?? false).apply((latched) => hookMode(args.rollback, latched));
    const colourGroups = (colour: Colour) =>
      args.services.map(
        (s) =>
          pulumi.interpolate`${s.name}:${colour}:${colour === "blue" ? s.blueTargetGroupArn : s.greenTargetGroupArn}`,
      );

    const rollbackPre = args.rollback
      ? hook("pre-rollback", {
          BLUE_TARGET_GROUPS: list(
            args.services.map((s) => pulumi.interpolate`${s.name}:${s.blueTargetGroupArn}`),
          ),
        })
      : undefined;
    this.preRollback = rollbackPre;

    // Listener rules wait for this hook: while traffic is held on blue it must not depend on
    // green, or a dead green would block the very rollback that routes around it.
    this.preDeploy = hook(
      "pre-deploy",
      pulumi
        .all([mode, args.snapshotIdentifier, list(colourGroups("blue")), list(colourGroups("green"))])
        .apply(([m, snapshot, blue, green]) => ({
          MODE: m,
          SNAPSHOT_ID: snapshot,
          TARGET_GROUPS: m === "deploy" ? `${blue} ${green}` : blue,
        })),
      rollbackPre ? [rollbackPre] : undefined,
    );

    this.postDeploy = hook(
      "post-deploy",
      pulumi
        .all([
          mode,
          pulumi.output(args.cohortRoutingActive ?? false),
          list(colourGroups("green")),
          args.albDnsName,
          args.certificateArn,
        ])
        .apply(([m, cohortActive, green, albDns, certificateArn]) => ({
          MODE: m,
          GREEN_TARGET_GROUPS: green,
          ALB_DNS: albDns,
          CERTIFICATE_ARN: certificateArn,
          CHECKS: args.services.map((s) => `${s.name}:${s.healthCheckPath}`).join(" "),
          ...(args.cohortHeader && cohortActive && m === "deploy"
            ? { COHORT_HEADER: args.cohortHeader, COHORT_USER: args.cohortProbeUser! }
            : {}),
        })),
      [this.preDeploy, ...(args.after ?? [])],
    );

    if (args.rollback) {
      this.postRollback = hook(
        "post-rollback",
        {
          LISTENER_ARN: args.listenerArn,
          GREEN_TARGET_GROUPS: list(args.services.map((s) => s.greenTargetGroupArn)),
        },
        [this.preDeploy, ...(args.after ?? [])],
      );
    }
    this.registerOutputs({});
  }
}

function validate(args: DeployHooksArgs): void {
  if (!AWS_REGION_NAME.test(args.region)) {
    throw new Error(
      `DeployHooks: region ${JSON.stringify(args.region)} is not an AWS region name such as eu-west-1; pass the stack's aws:region`,
    );
  }
  if (args.services.length === 0) throw new Error("DeployHooks: services is empty; expected at least one");
  if (Boolean(args.cohortHeader) !== Boolean(args.cohortProbeUser)) {
    throw new Error("DeployHooks: cohortHeader and cohortProbeUser go together; pass both or neither");
  }
}
