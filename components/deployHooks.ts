import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface HookedService {
  name: string;
  healthCheckPath: string;
  pathPattern: string;
  blueTargetGroupArn: pulumi.Input<string>;
  greenTargetGroupArn: pulumi.Input<string>;
}

export interface DeployHooksArgs {
  stack: string;
  /** Whether this `up` is a rollback: adds the pre- and post-rollback hooks. */
  rollback: boolean;
  /** Phase, per-service weights and rollback as one string: hooks re-run only when it changes. */
  trafficFingerprint: pulumi.Input<string>;
  albDnsName: pulumi.Input<string>;
  listenerArn: pulumi.Input<string>;
  /** The phase's snapshot, which must be available before traffic moves. */
  snapshotIdentifier: pulumi.Input<string>;
  services: HookedService[];
  /** Header and user the smoke test sends so the request reaches green. Default: none (general traffic). */
  cohortHeader?: string;
  cohortProbeUser?: string;
  /** What the post-deploy and post-rollback hooks run after (listener rules, workloads). Default: none. */
  after?: pulumi.Input<pulumi.Resource>[];
}

/** Directory of the hook scripts, relative to the project root where `pulumi up` runs. */
export const HOOK_DIR = "scripts/hooks";

/**
 * Deploy hooks as `@pulumi/command` local commands: pre-deploy (snapshot available, both
 * colours healthy), post-deploy smoke test through the cohort header, and on rollback the
 * pre- and post-rollback verifications. `triggers` carry only the traffic fingerprint, so a
 * change elsewhere in the stack does not re-run them.
 */
export class DeployHooks extends pulumi.ComponentResource {
  readonly preDeploy: command.local.Command;
  readonly postDeploy: command.local.Command;
  readonly preRollback?: command.local.Command;
  readonly postRollback?: command.local.Command;

  constructor(name: string, args: DeployHooksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("staged-rollout:hooks:DeployHooks", name, {}, opts);
    if (args.services.length === 0) throw new Error("DeployHooks: services is empty; expected at least one");
    if (Boolean(args.cohortHeader) !== Boolean(args.cohortProbeUser)) {
      throw new Error("DeployHooks: cohortHeader and cohortProbeUser go together; pass both or neither");
    }

    const hook = (
      hookName: string,
      environment: Record<string, pulumi.Input<string>>,
      dependsOn?: pulumi.Input<pulumi.Resource>[],
    ) => {
      const script = `bash ${HOOK_DIR}/${hookName}.sh`;
      return new command.local.Command(
        `${name}-${hookName}`,
        { create: script, update: script, environment, triggers: [args.trafficFingerprint] },
        { parent: this, dependsOn },
      );
    };
    const list = (entries: pulumi.Input<string>[]) => pulumi.all(entries).apply((e) => e.join(" "));

    const rollbackPre = args.rollback
      ? hook("pre-rollback", {
          BLUE_TARGET_GROUPS: list(
            args.services.map((s) => pulumi.interpolate`${s.name}:${s.blueTargetGroupArn}`),
          ),
        })
      : undefined;
    this.preRollback = rollbackPre;

    this.preDeploy = hook(
      "pre-deploy",
      {
        SNAPSHOT_ID: args.snapshotIdentifier,
        TARGET_GROUPS: list(
          args.services.flatMap((s) => [
            pulumi.interpolate`${s.name}:blue:${s.blueTargetGroupArn}`,
            pulumi.interpolate`${s.name}:green:${s.greenTargetGroupArn}`,
          ]),
        ),
      },
      rollbackPre ? [rollbackPre] : undefined,
    );

    // During a rollback there is no green to smoke-test: the post-rollback check replaces it.
    const smokeEnvironment: Record<string, pulumi.Input<string>> = {
      ALB_DNS: args.albDnsName,
      CHECKS: args.services.map((s) => `${s.name}:${s.healthCheckPath}`).join(" "),
      ...(args.cohortHeader && !args.rollback
        ? { COHORT_HEADER: args.cohortHeader, COHORT_USER: args.cohortProbeUser! }
        : {}),
    };
    this.postDeploy = hook("post-deploy", smokeEnvironment, [this.preDeploy, ...(args.after ?? [])]);

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
