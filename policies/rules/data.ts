import type { PolicyConfigSchema, PolicyResource } from "@pulumi/policy";
import {
  configOf,
  forType,
  isSet,
  known,
  ofType,
  TYPES,
  withRolloutState,
  type Policy,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from "./util";

/**
 * Data rules: the shared MySQL database survives a bad rollout. It is encrypted, private,
 * protected from deletion and Multi-AZ in production, keeps automated backups long enough, and sits in
 * an AWS Backup plan whose vault uses a customer-managed key.
 */

export const rdsEncrypted: ResourceValidationPolicy = {
  name: "data-rds-encrypted",
  description: "RDS instances encrypt their storage at rest.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set storageEncrypted: true (with kmsKeyId). Encryption is fixed at creation: for an existing database, restore " +
    "an encrypted copy of a snapshot and switch over.",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    if (props.storageEncrypted !== true) {
      report(`RDS instance ${args.name} is not encrypted at rest; set storageEncrypted: true with a KMS key`);
    }
  }),
};

export const rdsNotPublic: ResourceValidationPolicy = {
  name: "data-rds-not-public",
  description: "RDS instances are not reachable from the internet.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set publiclyAccessible: false and reach the database from the cluster's private subnets.",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    if (props.publiclyAccessible === true) {
      report(
        `RDS instance ${args.name} is publicly accessible; set publiclyAccessible: false and reach it from the private subnets`,
      );
    }
  }),
};

/**
 * A production-only rule that a boolean setting of every RDS instance is on. Both settings
 * come from `rollout:database.<setting>` (on by default in production), so the remediation
 * is the same command for each.
 */
function productionRdsSetting(options: {
  name: string;
  description: string;
  setting: "deletionProtection" | "multiAz";
  /** What is wrong when it is off, as in "RDS instance data-db <problem> in production". */
  problem: string;
}): StackValidationPolicy {
  const command = `pulumi config set --path rollout:database.${options.setting} true`;
  return {
    name: options.name,
    description: options.description,
    enforcementLevel: "mandatory",
    remediationSteps: `Run \`${command}\` (the production default).`,
    validateStack: withRolloutState(
      (_context, args, report) => {
        for (const db of ofType(args.resources, TYPES.rdsInstance)) {
          if (db.props[options.setting] === true) continue;
          report(`RDS instance ${db.name} ${options.problem} in production; run \`${command}\``, db.urn);
        }
      },
      { productionOnly: true },
    ),
  };
}

export const rdsDeletionProtection = productionRdsSetting({
  name: "data-rds-deletion-protection",
  description: "In production, RDS instances have deletion protection on.",
  setting: "deletionProtection",
  problem: "has no deletion protection",
});

export const rdsMultiAz = productionRdsSetting({
  name: "data-rds-multi-az",
  description:
    "In production, RDS instances are Multi-AZ: the shared database survives the loss of one Availability Zone.",
  setting: "multiAz",
  problem: "runs in a single Availability Zone (an AZ outage takes blue and green down together)",
});

const retentionSchema: PolicyConfigSchema = {
  properties: { minBackupRetentionDays: { type: "integer", minimum: 1, maximum: 35, default: 7 } },
};

export const rdsBackupRetention: ResourceValidationPolicy = {
  name: "data-rds-backup-retention",
  description:
    "RDS instances keep automated backups (point-in-time recovery) for at least minBackupRetentionDays (default 7).",
  enforcementLevel: "mandatory",
  configSchema: retentionSchema,
  remediationSteps:
    "Raise rollout:database.backupRetentionDays (`pulumi config set --path rollout:database.backupRetentionDays 14`).",
  validateResource: forType(TYPES.rdsInstance, (props, args, report) => {
    const { minBackupRetentionDays } = configOf<{ minBackupRetentionDays: number }>(args, retentionSchema);
    const days = props.backupRetentionPeriod;
    if (typeof days === "number" && days >= minBackupRetentionDays) return;
    report(
      `RDS instance ${args.name} keeps automated backups for ${days === undefined ? "the AWS default of 1 day" : `${String(days)} days`}, ` +
        `fewer than the required ${minBackupRetentionDays}; run \`pulumi config set --path rollout:database.backupRetentionDays ${minBackupRetentionDays}\``,
    );
  }),
};

/** Known entries of a selection's `resources` (entries unknown at preview are skipped). */
function selectedArns(selection: PolicyResource): string[] {
  if (!isSet(selection.props, "resources")) return [];
  const list = known(() => selection.props.resources as unknown);
  if (!Array.isArray(list)) return [];
  const arns: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const arn = known(() => list[i] as unknown);
    if (typeof arn === "string") arns.push(arn);
  }
  return arns;
}

export const rdsInBackupPlan: StackValidationPolicy = {
  name: "data-rds-in-backup-plan",
  description: "In production, every RDS instance is selected by an AWS Backup plan.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Add the instance's ARN to the resources of an aws.backup.Selection of the stack's backup plan.",
  validateStack: withRolloutState(
    (_context, args, report) => {
      const selections = ofType(args.resources, TYPES.backupSelection);
      const arns = selections.flatMap(selectedArns);
      for (const db of ofType(args.resources, TYPES.rdsInstance)) {
        const arn = isSet(db.props, "arn") ? known(() => db.props.arn as unknown) : undefined;
        // Without a known ARN (preview, or inputs only) a selection must at least exist.
        const covered =
          typeof arn === "string" && arns.length > 0 ? arns.includes(arn) : selections.length > 0;
        if (covered) continue;
        report(
          `RDS instance ${db.name} is not in any AWS Backup selection in production; ` +
            "add its ARN to the resources of an aws.backup.Selection of the stack's backup plan",
          db.urn,
        );
      }
    },
    { productionOnly: true },
  ),
};

export const backupVaultCmk: ResourceValidationPolicy = {
  name: "data-backup-vault-cmk",
  description: "AWS Backup vaults encrypt recovery points with a customer-managed KMS key.",
  enforcementLevel: "mandatory",
  remediationSteps: "Set kmsKeyArn on the aws.backup.Vault to a customer-managed KMS key.",
  validateResource: forType(TYPES.backupVault, (props, args, report) => {
    if (isSet(props, "kmsKeyArn")) return;
    report(
      `backup vault ${args.name} uses the AWS-managed key; set kmsKeyArn to a customer-managed KMS key so access to restores stays under your key policy`,
    );
  }),
};

export const dataPolicies: Policy[] = [
  rdsEncrypted,
  rdsNotPublic,
  rdsDeletionProtection,
  rdsMultiAz,
  rdsBackupRetention,
  rdsInBackupPlan,
  backupVaultCmk,
];
