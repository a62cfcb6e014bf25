import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { finalSnapshotIdentifier, snapshotIdentifier } from "../rollout/names";

export interface DataProtectionArgs {
  /** Stack name: part of the snapshot identifiers, so stacks sharing an account never clash. */
  stack: string;
  /** Production adds Multi-AZ defaults, longer backup lifecycles and Pulumi `protect`. */
  production: boolean;
  vpcId: pulumi.Input<string>;
  /** Private subnets of the database. */
  subnetIds: pulumi.Input<string>[];
  /** Security groups allowed to reach MySQL on 3306 (the pods). */
  allowedSecurityGroupIds: pulumi.Input<string>[];
  instanceClass: string;
  /**
   * RDS for MySQL version: a major (`8.4`), whose minors RDS then applies itself
   * (autoMinorVersionUpgrade), or a minor (`8.4.3`). Moving to another major is refused here:
   * docs/mysql-upgrade.md.
   */
  engineVersion: string;
  allocatedStorageGb: number;
  dbName: string;
  username: string;
  password: pulumi.Input<string>;
  /** Automated backup retention; at least 7 days. */
  backupRetentionDays: number;
  deletionProtection: boolean;
  multiAz: boolean;
  /** The phase about to take effect: a snapshot named for it is taken first. */
  phase: string;
  /**
   * Distinguishes entries into the phase, as `yyyymmddhhmm`: the time of the GO decision that
   * opened it, or (no decision recorded, as in staging rehearsals) the time of the deploy
   * that entered it. Kept as the snapshot was created: later deploys do not rename it.
   */
  phaseEntryId: string;
}

/** The minimum the rollout documents' point-in-time recovery needs. */
export const MIN_BACKUP_RETENTION_DAYS = 7;

/**
 * The shared MySQL and its protection: encrypted with a customer-managed key, private,
 * point-in-time recovery, AWS Backup, deletion protection and `protect` in production, and a
 * snapshot named for each phase that the phase's traffic changes wait for.
 */
export class DataProtection extends pulumi.ComponentResource {
  readonly kmsKey: aws.kms.Key;
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly instance: aws.rds.Instance;
  readonly vault: aws.backup.Vault;
  readonly backupPlan: aws.backup.Plan;
  readonly phaseSnapshot: aws.rds.Snapshot;
  readonly endpoint: pulumi.Output<string>;
  readonly address: pulumi.Output<string>;

  constructor(name: string, args: DataProtectionArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before super(): a refused component registers nothing, not even itself.
    validate(args);
    super("staged-rollout:data:DataProtection", name, {}, opts);

    this.kmsKey = new aws.kms.Key(
      `${name}-kms`,
      {
        description: "staged-rollout database and backups",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      // Retained snapshots and backups are encrypted with this key: deleting it (even with the
      // stack) would leave them unrestorable, so it outlives the stack and production protects it.
      { parent: this, retainOnDelete: true, protect: args.production },
    );
    new aws.kms.Alias(
      `${name}-kms-alias`,
      { namePrefix: "alias/staged-rollout-data-", targetKeyId: this.kmsKey.keyId },
      { parent: this },
    );

    const subnets = new aws.rds.SubnetGroup(
      `${name}-db-subnets`,
      { subnetIds: args.subnetIds },
      { parent: this },
    );
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-db-sg`,
      {
        vpcId: args.vpcId,
        description: "MySQL of the staged rollout: 3306 from the pods only",
        ingress: [
          {
            protocol: "tcp",
            fromPort: 3306,
            toPort: 3306,
            securityGroups: args.allowedSecurityGroupIds,
            description: "MySQL from pods",
          },
        ],
      },
      { parent: this },
    );

    // Replacing the database would lose it: in production Pulumi refuses to delete it
    // (`protect`), AWS refuses too (deletion protection), and a final snapshot is kept.
    this.instance = new aws.rds.Instance(
      `${name}-mysql`,
      {
        engine: "mysql",
        engineVersion: args.engineVersion,
        // A major upgrade is a deliberate step taken after a manual snapshot, never the side
        // effect of a config edit: without this flag AWS refuses it, the deploy fails and the
        // database stays as it is. docs/mysql-upgrade.md has the procedure.
        allowMajorVersionUpgrade: false,
        instanceClass: args.instanceClass,
        allocatedStorage: args.allocatedStorageGb,
        storageType: "gp3",
        dbName: args.dbName,
        username: args.username,
        password: pulumi.secret(args.password),
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [this.securityGroup.id],
        storageEncrypted: true,
        kmsKeyId: this.kmsKey.arn,
        publiclyAccessible: false,
        multiAz: args.multiAz,
        deletionProtection: args.deletionProtection,
        backupRetentionPeriod: args.backupRetentionDays,
        backupWindow: "02:00-03:00",
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: finalSnapshotIdentifier(args.stack),
        copyTagsToSnapshot: true,
        autoMinorVersionUpgrade: true,
        iamDatabaseAuthenticationEnabled: true,
        caCertIdentifier: "rds-ca-rsa2048-g1",
        enabledCloudwatchLogsExports: ["error", "slowquery"],
      },
      { parent: this, protect: args.production },
    );

    this.vault = new aws.backup.Vault(
      `${name}-backup-vault`,
      { kmsKeyArn: this.kmsKey.arn },
      { parent: this },
    );
    this.backupPlan = new aws.backup.Plan(
      `${name}-backup-plan`,
      {
        rules: [
          {
            ruleName: "daily",
            targetVaultName: this.vault.name,
            schedule: "cron(0 3 * * ? *)",
            // Continuous backup gives point-in-time recovery to any moment during a phase.
            enableContinuousBackup: true,
            lifecycle: { deleteAfter: args.production ? 35 : 14 },
          },
        ],
      },
      { parent: this },
    );
    const backupRole = new aws.iam.Role(
      `${name}-backup-role`,
      {
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "backup.amazonaws.com" }),
        managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"],
      },
      { parent: this },
    );
    new aws.backup.Selection(
      `${name}-backup-selection`,
      { planId: this.backupPlan.id, iamRoleArn: backupRole.arn, resources: [this.instance.arn] },
      { parent: this },
    );

    // Named for the phase so moving to the next phase takes a new one; retained on delete so
    // leaving a phase never deletes its restore point. The identifier carries the entry into
    // the phase because the retained snapshot of an earlier entry (a staging rehearsal run
    // again) still holds its identifier; ignoreChanges keeps it once created, so an entry
    // stamped with the deploy's time is not renamed (replaced) by every later deploy.
    this.phaseSnapshot = new aws.rds.Snapshot(
      `${name}-snapshot-${args.phase}`,
      {
        dbInstanceIdentifier: this.instance.identifier,
        dbSnapshotIdentifier: snapshotIdentifier(args.stack, args.phase, args.phaseEntryId),
      },
      { parent: this, retainOnDelete: true, ignoreChanges: ["dbSnapshotIdentifier"] },
    );

    this.endpoint = this.instance.endpoint;
    this.address = this.instance.address;
    this.registerOutputs({ endpoint: this.endpoint, snapshot: this.phaseSnapshot.dbSnapshotIdentifier });
  }
}

function validate(args: DataProtectionArgs): void {
  if (!Number.isInteger(args.backupRetentionDays) || args.backupRetentionDays < MIN_BACKUP_RETENTION_DAYS) {
    throw new Error(
      `DataProtection: backupRetentionDays is ${args.backupRetentionDays}; expected at least ${MIN_BACKUP_RETENTION_DAYS} days for point-in-time recovery`,
    );
  }
  if (!/^[0-9]{12}$/.test(args.phaseEntryId)) {
    throw new Error(
      `DataProtection: phaseEntryId is ${JSON.stringify(args.phaseEntryId)}; expected yyyymmddhhmm (the time the phase was entered)`,
    );
  }
  if (!/^[a-z][a-z0-9-]*$/.test(args.phase)) {
    throw new Error(`DataProtection: phase is ${JSON.stringify(args.phase)}; expected a kebab-case phase id`);
  }
}
