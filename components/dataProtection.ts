import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  MONITORING_INTERVAL_SECONDS,
  NO_PERFORMANCE_INSIGHTS_CLASSES,
  PERFORMANCE_INSIGHTS_RETENTION_DAYS,
  RDS_LOG_EXPORTS,
} from "../rollout/config";
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
  /**
   * Days of Performance Insights history (encrypted with the database's key): one of
   * PERFORMANCE_INSIGHTS_RETENTION_DAYS. Default: 7, the free tier.
   */
  performanceInsightsRetentionDays?: number;
  /**
   * Seconds between Enhanced Monitoring samples: one of MONITORING_INTERVAL_SECONDS; 0 turns it
   * off and then no monitoring role exists. Default: 60.
   */
  monitoringIntervalSeconds?: number;
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

/** The AWS managed policy of the Enhanced Monitoring role (RDS User Guide, "Setting up and enabling Enhanced Monitoring"). */
export const ENHANCED_MONITORING_POLICY_ARN =
  "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole";

/**
 * What the MariaDB Audit Plugin records (RDS User Guide, "MariaDB Audit Plugin support for
 * MySQL", SERVER_AUDIT_EVENTS): connections (successful, failed, disconnections), schema changes
 * and grants. Not QUERY or QUERY_DML: every statement of a trading database would make the
 * audit log the largest log of the stack and cost what the general log costs.
 */
export const AUDIT_EVENTS = "CONNECT,QUERY_DDL,QUERY_DCL";

/** `8.4` of `8.4` or `8.4.3`: the major an option group is made for. */
export const majorVersionOf = (engineVersion: string) => engineVersion.split(".").slice(0, 2).join(".");

/**
 * The shared MySQL and its protection: encrypted with a customer-managed key, private,
 * point-in-time recovery, AWS Backup, deletion protection and `protect` in production, and a
 * snapshot named for each phase that the phase's traffic changes wait for. It is watched from
 * inside: Performance Insights (with the same key), Enhanced Monitoring, and the audit, error
 * and slow-query logs exported to CloudWatch Logs, the audit log from the MariaDB Audit Plugin.
 */
export class DataProtection extends pulumi.ComponentResource {
  readonly kmsKey: aws.kms.Key;
  readonly optionGroup: aws.rds.OptionGroup;
  /** Only when `monitoringIntervalSeconds` is not 0. */
  readonly monitoringRole?: aws.iam.Role;
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

    // The audit log: RDS for MySQL writes one only through this plugin ("MariaDB Audit Plugin
    // support for MySQL"); once the option group is active auditing starts, no restart. The
    // group is made for one major version: docs/mysql-upgrade.md's major upgrade takes a new one.
    this.optionGroup = new aws.rds.OptionGroup(
      `${name}-mysql-options`,
      {
        engineName: "mysql",
        majorEngineVersion: majorVersionOf(args.engineVersion),
        optionGroupDescription: "staged-rollout MySQL: MariaDB Audit Plugin",
        options: [
          {
            optionName: "MARIADB_AUDIT_PLUGIN",
            optionSettings: [
              { name: "SERVER_AUDIT_EVENTS", value: AUDIT_EVENTS },
              // RDS's own health checks: "The rdsadmin user queries the database every second".
              { name: "SERVER_AUDIT_EXCL_USERS", value: "rdsadmin" },
            ],
          },
        ],
      },
      { parent: this },
    );

    const monitoringInterval = args.monitoringIntervalSeconds ?? 60;
    if (monitoringInterval > 0) {
      const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
      this.monitoringRole = new aws.iam.Role(
        `${name}-monitoring-role`,
        {
          description: "RDS Enhanced Monitoring of the staged-rollout MySQL",
          // Confused deputy: only RDS acting for this account may assume it.
          assumeRolePolicy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "monitoring.rds.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": account } },
              },
            ],
          }),
          managedPolicyArns: [ENHANCED_MONITORING_POLICY_ARN],
        },
        { parent: this },
      );
    }
    const performanceInsights = !(NO_PERFORMANCE_INSIGHTS_CLASSES as readonly string[]).includes(
      args.instanceClass,
    );
    if (!performanceInsights) {
      void pulumi.log.warn(
        `data: RDS offers no Performance Insights for MySQL on ${args.instanceClass}; it stays off (a db.t4g.medium or larger has it)`,
        this,
      );
    }

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
        // An option group's Pulumi id is its name.
        optionGroupName: this.optionGroup.id,
        enabledCloudwatchLogsExports: [...RDS_LOG_EXPORTS],
        // The key the data is encrypted with; once set, RDS never lets it change.
        performanceInsightsEnabled: performanceInsights,
        performanceInsightsKmsKeyId: performanceInsights ? this.kmsKey.arn : undefined,
        performanceInsightsRetentionPeriod: performanceInsights
          ? (args.performanceInsightsRetentionDays ?? 7)
          : undefined,
        monitoringInterval,
        monitoringRoleArn: this.monitoringRole?.arn,
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
  const piDays = args.performanceInsightsRetentionDays;
  if (piDays !== undefined && !(PERFORMANCE_INSIGHTS_RETENTION_DAYS as readonly number[]).includes(piDays)) {
    throw new Error(
      `DataProtection: performanceInsightsRetentionDays is ${piDays}; expected 7, a multiple of 31 up to 713, or 731 (RDS PerformanceInsightsRetentionPeriod)`,
    );
  }
  const interval = args.monitoringIntervalSeconds;
  if (interval !== undefined && !(MONITORING_INTERVAL_SECONDS as readonly number[]).includes(interval)) {
    throw new Error(
      `DataProtection: monitoringIntervalSeconds is ${interval}; expected one of ${MONITORING_INTERVAL_SECONDS.join(", ")} (RDS MonitoringInterval, 0 is off)`,
    );
  }
  if (!/^[a-z][a-z0-9-]*$/.test(args.phase)) {
    throw new Error(`DataProtection: phase is ${JSON.stringify(args.phase)}; expected a kebab-case phase id`);
  }
}
