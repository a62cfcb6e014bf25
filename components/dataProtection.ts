import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface DataProtectionArgs {
  /** Production adds Multi-AZ defaults, longer backup lifecycles and Pulumi `protect`. */
  production: boolean;
  vpcId: pulumi.Input<string>;
  /** Private subnets of the database. */
  subnetIds: pulumi.Input<string>[];
  /** Security groups allowed to reach MySQL on 3306 (the pods). */
  allowedSecurityGroupIds: pulumi.Input<string>[];
  instanceClass: string;
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
  /** Distinguishes re-entries of a phase (the time of the GO decision that opened it). Default: "initial". */
  phaseEntryId?: string;
}

/** The minimum the rollout documents' point-in-time recovery needs. */
export const MIN_BACKUP_RETENTION_DAYS = 7;

/** RDS snapshot identifiers: letters, digits, single hyphens, starting with a letter, at most 255. */
export function snapshotIdentifier(phase: string, entryId: string): string {
  return `before-${phase}-${entryId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/-$/, "")
    .slice(0, 255);
}

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
    super("staged-rollout:data:DataProtection", name, {}, opts);
    if (!Number.isInteger(args.backupRetentionDays) || args.backupRetentionDays < MIN_BACKUP_RETENTION_DAYS) {
      throw new Error(
        `DataProtection: backupRetentionDays is ${args.backupRetentionDays}; expected at least ${MIN_BACKUP_RETENTION_DAYS} days for point-in-time recovery`,
      );
    }
    if (!/^[a-z][a-z0-9-]*$/.test(args.phase)) {
      throw new Error(
        `DataProtection: phase is ${JSON.stringify(args.phase)}; expected a kebab-case phase id`,
      );
    }

    this.kmsKey = new aws.kms.Key(
      `${name}-kms`,
      {
        description: "staged-rollout database and backups",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      { parent: this },
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
        finalSnapshotIdentifier: "staged-rollout-mysql-final",
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
    // leaving a phase never deletes its restore point.
    this.phaseSnapshot = new aws.rds.Snapshot(
      `${name}-snapshot-${args.phase}`,
      {
        dbInstanceIdentifier: this.instance.identifier,
        dbSnapshotIdentifier: snapshotIdentifier(args.phase, args.phaseEntryId ?? "initial"),
      },
      { parent: this, retainOnDelete: true },
    );

    this.endpoint = this.instance.endpoint;
    this.address = this.instance.address;
    this.registerOutputs({ endpoint: this.endpoint, snapshot: this.phaseSnapshot.dbSnapshotIdentifier });
  }
}
