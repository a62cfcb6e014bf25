import { z } from "zod";
import {
  ACM_CERTIFICATE_ARN,
  SECURITY_GROUP_INBOUND_RULES_MAX,
  ALB_STICKINESS_SECONDS,
  canonicalIpv4Cidr,
  configMapDataBytes,
  EKS_CLUSTER_NAME,
  isIpv6Cidr,
  K8S_CONFIGMAP_DATA_MAX_BYTES,
  RDS_MYSQL,
  s3BucketNameProblem,
} from "./awsLimits";
import { Decision, recordedDecisionProblems, Signoff } from "./decisions";
import { listPlaybooks, loadPlaybook } from "./loaders";
import { FinishRecord, IDLE_GREEN_REPLICAS_MAX, ReleaseMark } from "./release";
import type { Playbook } from "./playbook";
import { CohortConfig, resourceProblems, ServiceConfig } from "./serviceConfig";
import { alarmNames, autoRollbackAlarms, COMPOSITE_ALARM_CHILDREN_MAX } from "./alarms";
import { stateRecordProblems } from "./state";
import { listenerRuleProblems } from "./traffic";
import {
  closest,
  describeReceived,
  describeZodError,
  integerIn,
  isoTime,
  nonEmpty,
  portNumber,
  RolloutInputError,
} from "./validation";

/**
 * The stack config (`rollout:*` in Pulumi.<stack>.yaml) and the one function that turns raw
 * config into a typed RolloutConfig. Shape only: whether a weight is allowed in a phase, a
 * phase was skipped or sign-offs are complete is the policy pack's call, so that a bad
 * deploy is refused with the pack's remediation text rather than half-validated here.
 */

const IPV4_CIDR = "expected an IPv4 CIDR such as 203.0.113.0/24";
/**
 * An ALB ingress range. The ALB's security group takes these as IPv4 `cidrBlocks` (EC2
 * IpPermission.IpRanges: "The IPv4 address ranges") and the load balancer is `ipv4` (ELBv2
 * IpAddressType), so an IPv6 range can neither be written there nor reach it. EC2 canonicalizes
 * a range with host bits set (IpRange.CidrIp), so one is refused with its network address.
 */
const ingressCidr = z.string({ message: IPV4_CIDR }).superRefine((value, ctx) => {
  const canonical = canonicalIpv4Cidr(value);
  if (canonical === value) return;
  const message = canonical
    ? `expected the range's network address: did you mean ${canonical}? (EC2 stores a CIDR with host bits set as its network address)`
    : isIpv6Cidr(value)
      ? `${IPV4_CIDR}: the load balancer is IPv4-only, so an IPv6 range cannot reach it`
      : IPV4_CIDR;
  ctx.addIssue({ code: "custom", message });
});

/** An array of `what`s, none repeating one before it (`why` AWS refuses that); each repeat is reported at its own index. */
const listedOnce = <T extends z.ZodType>(items: z.ZodArray<T>, what: string, why: string) =>
  items.superRefine((values, ctx) =>
    values.forEach((value, i) => {
      const first = values.indexOf(value);
      if (first !== i)
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `expected ${what} not listed before, index ${first} lists it already (${why})`,
        });
    }),
  );

const SUBNET_ID = z.string().regex(/^subnet-[0-9a-f]+$/, { message: "expected a subnet id" });
const CERTIFICATE_ARN =
  "expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const EKS_NAME =
  "expected the EKS cluster name: 1-100 letters, digits, - and _, starting with a letter or digit";
const STICKINESS = `expected an integer ${ALB_STICKINESS_SECONDS.min}-${ALB_STICKINESS_SECONDS.max} (seconds of ALB target group stickiness)`;

const DATABASE_NAME =
  "expected a MySQL database name such as tbs (a letter, then letters, digits or _, at most 64)";
const SECRET_PASSWORD = "expected a secret of at least 8 characters";
const MASTER_PASSWORD =
  'expected a secret of 8-41 printable ASCII characters other than /, ", @ and space (RDS for MySQL master password)';
const STORAGE = `expected an integer ${RDS_MYSQL.gp3StorageGib.min}-${RDS_MYSQL.gp3StorageGib.max} (GiB of gp3 storage, RDS for MySQL)`;
const DATABASE_USER =
  "expected a MySQL user name such as tbs_admin (a letter, then letters, digits or _, at most 16)";
const FLAG_NAME = /^[a-z][A-Za-z0-9]{0,62}$/;

const ENGINE_VERSION =
  "expected an RDS for MySQL version of the 8.0 or 8.4 major, such as 8.4 or 8.4.3 (the majors RDS offers in standard or extended support; see rollout/deprecations.ts)";

/**
 * The retention periods CloudWatch Logs accepts (logs PutRetentionPolicy.retentionInDays:
 * "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
 * 2192, 2557, 2922, 3288, and 3653", botocore's logs model, test/fixtures/aws-models/logs.json).
 */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
/** `rollout:logRetentionDays` when the stack says nothing: one year, what CKV_AWS_338 asks of a log group. */
export const DEFAULT_LOG_RETENTION_DAYS = 365;

/**
 * Performance Insights retention (rds CreateDBInstanceMessage.PerformanceInsightsRetentionPeriod:
 * "Valid Values: 7, month * 31, where month is a number of months from 1-23, 731"). 7 is the free tier.
 */
export const PERFORMANCE_INSIGHTS_RETENTION_DAYS = [
  7,
  ...Array.from({ length: 23 }, (_, i) => 31 * (i + 1)),
  731,
] as const;

/** Enhanced Monitoring interval (CreateDBInstanceMessage.MonitoringInterval: "Valid Values: 0 | 1 | 5 | 10 | 15 | 30 | 60"); 0 turns it off. */
export const MONITORING_INTERVAL_SECONDS = [0, 1, 5, 10, 15, 30, 60] as const;

/**
 * The AWS managed rule groups of the ALB's web ACL (`rollout:waf`), with their capacity in WCUs
 * (AWS WAF Developer Guide, "Baseline rule groups" and "IP reputation rule groups"): the core
 * rule set (OWASP Top 10 classes), known bad inputs (Log4j, Java deserialization, localhost
 * Host headers) and Amazon's IP reputation list. 925 WCUs in all, under the 1,500 a web ACL
 * gets at its base price.
 */
export const WAF_MANAGED_RULE_GROUPS = [
  { name: "AWSManagedRulesCommonRuleSet", capacity: 700 },
  { name: "AWSManagedRulesKnownBadInputsRuleSet", capacity: 200 },
  { name: "AWSManagedRulesAmazonIpReputationList", capacity: 25 },
] as const;

/**
 * Instance classes on which RDS offers no Performance Insights for MySQL (RDS User Guide,
 * "Amazon RDS DB engine, Region, and instance class support for Performance Insights",
 * USER_PerfInsights.Overview.Engines.html); CKV_AWS_353 skips them too.
 */
export const NO_PERFORMANCE_INSIGHTS_CLASSES = [
  "db.t2.micro",
  "db.t2.small",
  "db.t3.micro",
  "db.t3.small",
  "db.t4g.micro",
  "db.t4g.small",
] as const;

/**
 * The logs the database exports to CloudWatch Logs, and what the policy pack requires by default
 * (RDS for MySQL offers audit | error | general | slowquery | iam-db-auth-error). Audit comes from
 * the MariaDB Audit Plugin (the option group); general is left out: it records every statement
 * every client sends, which the audit log's connections, DDL and grants cover for a security
 * review at a fraction of the volume. The slow-query log carries entries only once a DB parameter
 * group sets slow_query_log (off in RDS's default group); attaching one takes a reboot of the
 * database both colours share, so it is left to a maintenance window (docs/guardrails.md, "Security settings a scanner checks").
 */
export const RDS_LOG_EXPORTS = ["audit", "error", "slowquery"] as const;

/** `<what>: one of <values>`, the message of a value that must be one of a fixed list. */
const oneOf = <T extends number>(values: readonly T[], what: string) => {
  const message = `expected one of ${values.join(", ")} (${what})`;
  return z.number({ message }).refine((n) => (values as readonly number[]).includes(n), { message });
};

/**
 * The longest `rollout:rollbackReason` (characters): a sentence and an incident id. It bounds
 * what the reason adds to the state record (see `stateRecordProblems`).
 */
export const ROLLBACK_REASON_MAX = 200;
const ROLLBACK_REASON_MESSAGE = `expected why traffic was rolled back: 1-${ROLLBACK_REASON_MAX} characters`;

export const RolloutConfigSchema = z
  .object({
    playbook: nonEmpty("a playbook id such as tbs-strategy-framework"),
    /** `production` or `staging`: decides protections and which policies are mandatory. Default: `production` (a staging stack says `rollout:tier: staging` explicitly). */
    tier: z.enum(["production", "staging"]),
    phase: nonEmpty("a phase id of the playbook"),
    greenWeight: integerIn(0, 100).default(0),
    rollback: z.boolean({ message: "expected true or false" }).default(false),
    /**
     * The stack file's revision: the rollout CLI adds one on every config write, the state record
     * carries it, and a deploy from a file older than the deployed record is refused (policy
     * rollout-revision-current), so a merge of a stale Pulumi.<stack>.yaml cannot undo a shift or
     * a sign-off. Hand edits keep it (docs/config-revisions.md). Default: 0.
     */
    revision: integerIn(0, Number.MAX_SAFE_INTEGER).default(0),
    /** Acknowledges an automatic rollback's latch (the ISO-8601 time it was written); see `rollout resume`. */
    rollbackAcknowledged: isoTime.optional(),
    /**
     * Why `rollback` is true, as `rollout rollback --reason` writes it; the state record carries
     * it while `rollback` is true. Pulumi hands every value over as a string and a reason such as
     * `42` or `[1]` decodes as JSON: it is turned back into text, so no reason can make the
     * config invalid.
     */
    rollbackReason: z
      .preprocess(
        (value) => (value === undefined || typeof value === "string" ? value : JSON.stringify(value)),
        z
          .string({ message: ROLLBACK_REASON_MESSAGE })
          .trim()
          .min(1, { message: ROLLBACK_REASON_MESSAGE })
          .max(ROLLBACK_REASON_MAX, { message: ROLLBACK_REASON_MESSAGE }),
      )
      .optional(),
    cohorts: CohortConfig.optional(),
    /** Group stickiness of the weighted forward. Default: 3600 s. */
    stickinessSeconds: integerIn(ALB_STICKINESS_SECONDS.min, ALB_STICKINESS_SECONDS.max, STICKINESS).default(
      3600,
    ),
    services: z.array(ServiceConfig).min(1, { message: "expected at least one service" }),
    network: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, { message: "expected a VPC id such as vpc-0abc123" }),
        /** The ALB's subnets. ELBv2 CreateLoadBalancer Subnets: "You can specify only one subnet per Availability Zone" and, for an ALB, "subnets from at least two Availability Zones". */
        publicSubnetIds: listedOnce(
          z.array(SUBNET_ID).min(2),
          "a subnet id",
          "an ALB takes one subnet per Availability Zone",
        ),
        /** The database's subnets (its DB subnet group): at most 20 ("Subnets per DB subnet group", RDS quotas, not adjustable). */
        privateSubnetIds: listedOnce(
          z
            .array(SUBNET_ID)
            .min(2)
            .max(RDS_MYSQL.subnetsPerDbSubnetGroupMax, {
              message: `expected at most ${RDS_MYSQL.subnetsPerDbSubnetGroupMax} subnets (RDS: subnets per DB subnet group)`,
            }),
          "a subnet id",
          "a DB subnet group holds each subnet once",
        ),
        certificateArn: z
          .string({ message: CERTIFICATE_ARN })
          .regex(ACM_CERTIFICATE_ARN, { message: CERTIFICATE_ARN }),
        /** IPv4 CIDRs allowed to reach the ALB (it is IPv4-only). Default: the internet. */
        ingressCidrs: listedOnce(
          // Each CIDR opens 443 and 80: two inbound rules of the ALB's security group, whose VPC
          // default quota is 60 ("Amazon VPC quotas": inbound rules per security group).
          z.array(ingressCidr).max(SECURITY_GROUP_INBOUND_RULES_MAX / 2, {
            message: `expected at most ${SECURITY_GROUP_INBOUND_RULES_MAX / 2} CIDRs (each opens 443 and 80: two of the ${SECURITY_GROUP_INBOUND_RULES_MAX} inbound rules a security group holds by default)`,
          }),
          "a CIDR",
          "EC2 refuses a duplicate security group rule",
        ).default(["0.0.0.0/0"]),
        /** Bucket for ALB access logs; required in production. */
        accessLogsBucket: z
          .string({ message: "expected an S3 bucket name" })
          .superRefine((name, ctx) => {
            const rule = s3BucketNameProblem(name);
            if (rule) ctx.addIssue({ code: "custom", message: `expected an S3 bucket name ${rule}` });
          })
          .optional(),
      })
      .strict(),
    cluster: z
      .object({
        /** EKS cluster name (eks CreateClusterRequest.name: 1-100 characters, `^[0-9A-Za-z][A-Za-z0-9\-_]*`). */
        name: z.string({ message: EKS_NAME }).regex(EKS_CLUSTER_NAME, { message: EKS_NAME }),
        namespace: z
          .string({ message: "expected a Kubernetes namespace such as staged-rollout" })
          .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
            message:
              "expected a Kubernetes namespace such as staged-rollout (lowercase letters, digits and -, at most 63)",
          })
          .default("staged-rollout"),
        /**
         * Kubeconfig (secret). Default: one built for the EKS cluster named by `name`, never the
         * ambient kubeconfig of whoever runs pulumi: its current context could point at any cluster.
         */
        kubeconfig: z.string().optional(),
        /** Security group of the pods, allowed from the ALB. */
        podSecurityGroupId: z.string().regex(/^sg-[0-9a-f]+$/, { message: "expected a security group id" }),
      })
      .strict(),
    database: z
      .object({
        instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, {
          message: "expected an instance class such as db.r6g.large",
        }),
        /** RDS for MySQL: a major (`8.4`, RDS applies its minors) or a minor (`8.4.3`) of 8.0 or 8.4. */
        engineVersion: z
          .string({ message: ENGINE_VERSION })
          .regex(/^8\.(0|4)(\.\d{1,3})?$/, { message: ENGINE_VERSION })
          .default("8.4"),
        /** GiB of gp3 storage (rds CreateDBInstanceMessage.AllocatedStorage, RDS for MySQL gp2/gp3: 20-65536). */
        allocatedStorageGb: integerIn(
          RDS_MYSQL.gp3StorageGib.min,
          RDS_MYSQL.gp3StorageGib.max,
          STORAGE,
        ).default(100),
        name: z
          .string({ message: DATABASE_NAME })
          .regex(RDS_MYSQL.dbName, { message: DATABASE_NAME })
          .default("tbs"),
        username: z
          .string({ message: DATABASE_USER })
          .regex(RDS_MYSQL.masterUsername, { message: DATABASE_USER })
          .default("tbs_admin"),
        /** Secret. The master user's password: used by RDS only, never given to pods. */
        password: z
          .string({ message: MASTER_PASSWORD })
          .regex(RDS_MYSQL.masterPassword, { message: MASTER_PASSWORD }),
        /**
         * The application's MySQL user, which both colours' pods connect as (least privilege:
         * never the master user). Create it once with only the grants the app needs, e.g.
         * `GRANT SELECT, INSERT, UPDATE, DELETE ON tbs.* TO 'tbs_app'@'%'`. Default: tbs_app.
         */
        appUsername: z
          .string({ message: DATABASE_USER })
          // The master user's rule: a subset of MySQL's, so one message fits both users.
          .regex(RDS_MYSQL.masterUsername, { message: DATABASE_USER })
          .default("tbs_app"),
        /** Secret. The application user's password. */
        appPassword: z.string({ message: SECRET_PASSWORD }).min(8, { message: SECRET_PASSWORD }),
        backupRetentionDays: z
          .number()
          .int()
          .min(7, { message: "expected at least 7 days (point-in-time recovery across a phase)" })
          .max(RDS_MYSQL.backupRetentionDaysMax, {
            message: `expected at most ${RDS_MYSQL.backupRetentionDaysMax} days (RDS BackupRetentionPeriod: 0-35)`,
          })
          .default(14),
        /**
         * Days of Performance Insights history, encrypted with the database's key. Default: 7 (the
         * free tier); longer retention is billed per vCPU-month.
         */
        performanceInsightsRetentionDays: oneOf(
          PERFORMANCE_INSIGHTS_RETENTION_DAYS,
          "days of Performance Insights retention: 7, a multiple of 31 up to 713, or 731",
        ).default(7),
        /**
         * Seconds between Enhanced Monitoring samples (the OS metrics RDS publishes to CloudWatch
         * Logs). Default: 60. 0 turns it off, which the policy pack refuses in production.
         */
        monitoringIntervalSeconds: oneOf(
          MONITORING_INTERVAL_SECONDS,
          "seconds between Enhanced Monitoring samples; 0 is off",
        ).default(60),
        /** Default: true in production. Turning it off in production is refused by the policy pack. */
        deletionProtection: z.boolean().optional(),
        /** Default: true in production. */
        multiAz: z.boolean().optional(),
      })
      .strict(),
    heavydb: z
      .object({
        host: nonEmpty("the HeavyDB host"),
        port: portNumber.default(6274),
        database: z.string().default("heavyai"),
        readOnlyUser: nonEmpty("the read-only HeavyDB user green uses"),
        /** Secret. */
        readOnlyPassword: z.string().min(1),
      })
      .strict(),
    alerts: z
      .object({
        emails: z.array(z.email({ message: "expected an email address" })).default([]),
        /** HTTPS endpoints (Slack, PagerDuty) subscribed per severity. */
        https: z
          .array(
            z
              .object({
                url: z.url({ protocol: /^https$/, message: "expected an https:// URL" }),
                severities: z.array(z.enum(["critical", "warning", "info"])).min(1),
                /**
                 * Whether the endpoint confirms SNS subscriptions by itself (PagerDuty's SNS
                 * integration does; a Slack incoming webhook cannot). Default: true only for
                 * events.pagerduty.com.
                 */
                autoConfirms: z.boolean({ message: "expected true or false" }).optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({ emails: [], https: [] }),
    /** `{<phase>: {<roleId>: {approver, at}}}`. */
    signoffs: z.record(z.string(), z.record(z.string(), Signoff)).default({}),
    decisions: z.array(Decision).default([]),
    /**
     * Which GuardDuty findings trigger the automatic rollback (playbooks with a GuardDuty gate):
     * `account` (any finding at the gate's severity in this account and region, the safe side)
     * or `cluster` (only findings about the EKS cluster in `rollout:cluster.name`). Default: account.
     */
    guardDutyScope: z
      .enum(["account", "cluster"], { message: "expected one of account, cluster" })
      .default("account"),
    /** Default: true. False mutes every alarm (refused in production by the policy pack). */
    alarmActionsEnabled: z.boolean({ message: "expected true or false" }).default(true),
    /**
     * Per-flag overrides of green's feature-flag ConfigMap (gradual exposure, emergency
     * disable): `{<flagName>: true|false}`. Default: none.
     */
    featureFlags: z
      .record(
        z.string().regex(FLAG_NAME, {
          message: "expected a camelCase flag name such as newDashboard (at most 63 characters)",
        }),
        z.boolean({ message: "expected true or false" }),
        { message: "expected an object of flag name -> true or false" },
      )
      .default({}),
    /**
     * A WAFv2 web ACL with AWS's managed rule groups (WAF_MANAGED_RULE_GROUPS) in front of the ALB.
     * Default: true on every tier. Staging too: it rehearses what production runs, and a managed
     * rule that blocks a legitimate request (the core rule set's 8 KB body limit, say) must show up
     * there, not in the pilot. False (a WAF elsewhere, such as CloudFront's) is refused in
     * production by the policy pack (scanner-ckv2-aws-28-alb-waf).
     */
    waf: z.boolean({ message: "expected true or false" }).default(true),
    /**
     * Days CloudWatch Logs keeps the stack's log groups (the rollback function's). Default: 365;
     * fewer is refused in production by the policy pack (scanner-ckv-aws-338-log-retention-1-year).
     */
    logRetentionDays: oneOf(LOG_RETENTION_DAYS, "days CloudWatch Logs retains a log group").default(
      DEFAULT_LOG_RETENTION_DAYS,
    ),
    /**
     * The release rolling out (`rollout start` writes it): its number, when it started and the
     * services it gives a new green version. Default: none (a stack whose releases the CLI has not
     * started: every service counts as part of the release).
     */
    release: ReleaseMark.optional(),
    /**
     * The finished release (`rollout finish` writes it, `rollout start` removes it): who, when,
     * from which phase, and its success evidence. While set, blue may run green's version, and in
     * the first phase green idles. Default: none.
     */
    finish: FinishRecord.optional(),
    /**
     * Pods per service green keeps between releases: in the first phase with rollout:finish set,
     * green's Deployments run this many replicas instead of rollout:services[].replicas. Default: 0
     * (green idles: its Deployments, Services and target group bindings stay, with no pods).
     */
    idleGreenReplicas: integerIn(
      0,
      IDLE_GREEN_REPLICAS_MAX,
      `expected an integer 0-${IDLE_GREEN_REPLICAS_MAX} (green's pods per service between releases)`,
    ).default(0),
  })
  .strict();

export type RolloutConfigInput = z.input<typeof RolloutConfigSchema>;
type ParsedConfig = z.infer<typeof RolloutConfigSchema>;

/** Validated stack config, with the playbook resolved and production defaults filled in. */
export interface RolloutConfig extends ParsedConfig {
  stack: string;
  isProduction: boolean;
  playbookSpec: Playbook;
  database: ParsedConfig["database"] & { deletionProtection: boolean; multiAz: boolean };
}

/** Config keys whose values are Pulumi secrets (plain or nested `secure:` values). */
export const SECRET_PATHS = [
  "database.password",
  "database.appPassword",
  "heavydb.readOnlyPassword",
  "cluster.kubeconfig",
] as const;

/** Keys of the `rollout` namespace; anything else in the namespace is refused as a typo. */
export const CONFIG_KEYS = Object.keys(RolloutConfigSchema.shape) as (keyof ParsedConfig)[];

/**
 * Values as Pulumi hands them over: strings, with objects, arrays, numbers and booleans
 * JSON-encoded. Returns the decoded value, or the string itself when it is not JSON.
 */
function decodeConfigValue(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  const trimmed = raw.trim();
  if (/^[[{]/.test(trimmed) || /^-?\d+(\.\d+)?$/.test(trimmed) || trimmed === "true" || trimmed === "false") {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** The value at a SECRET_PATHS path (`database.password`) of decoded config, if any. */
function valueAtPath(decoded: Record<string, unknown>, path: string): unknown {
  let value: unknown = decoded;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * Whether the value at a SECRET_PATHS path (`database.password`, no namespace) came from
 * Pulumi as a secret. The caller answers as precisely as it can: the offline plan sees the
 * YAML and knows each `secure:` path; a real deploy only knows whether the top-level key
 * (`rollout:database`) is secret, since one nested secure value makes Pulumi treat the whole
 * key as secret.
 */
export type IsConfigSecret = (path: (typeof SECRET_PATHS)[number]) => boolean;

/** `rollout:<path>: expected a Pulumi secret (...), got a plain value` for each plain secret. */
function plainSecretProblems(decoded: Record<string, unknown>, isSecret: IsConfigSecret): string[] {
  return SECRET_PATHS.filter((path) => valueAtPath(decoded, path) !== undefined && !isSecret(path)).map(
    (path) =>
      `rollout:${path}: expected a Pulumi secret (pulumi config set --secret --path 'rollout:${path}' <value>), got a plain value`,
  );
}

/**
 * Room kept in green's flags ConfigMap for the defaults the Environment component merges under
 * these overrides (DEFAULT_FEATURE_FLAGS in components/environment.ts, 40 bytes today): rollout/
 * imports no component, so a fixed allowance stands in for them.
 */
const FLAG_DEFAULTS_ALLOWANCE_BYTES = 1024;

/** The overrides become ConfigMap data (`<flag>: "true"|"false"`), which Kubernetes caps at 1 MiB. */
/**
 * The composite rollback alarm ORs every auto-rollback alarm, per service where the gate is; CloudWatch
 * takes at most COMPOSITE_ALARM_CHILDREN_MAX children in one AlarmRule: past it the deploy fails.
 */
export function compositeAlarmProblems(playbook: Playbook, services: readonly string[]): string[] {
  const children = alarmNames("stack", autoRollbackAlarms(playbook), services).length;
  if (children <= COMPOSITE_ALARM_CHILDREN_MAX) return [];
  return [
    `rollout:services: ${services.length} services give the composite rollback alarm ${children} auto-rollback alarms of playbook ${playbook.id}; expected at most ${COMPOSITE_ALARM_CHILDREN_MAX} (CloudWatch PutCompositeAlarm: an AlarmRule names at most ${COMPOSITE_ALARM_CHILDREN_MAX} children): split the services over stacks`,
  ];
}

function featureFlagProblems(flags: Readonly<Record<string, boolean>>): string[] {
  const limit = K8S_CONFIGMAP_DATA_MAX_BYTES - FLAG_DEFAULTS_ALLOWANCE_BYTES;
  const data = Object.fromEntries(Object.entries(flags).map(([flag, on]) => [flag, String(on)]));
  const bytes = configMapDataBytes(data);
  if (bytes <= limit) return [];
  return [
    `rollout:featureFlags: expected flags whose ConfigMap data takes at most ${limit} bytes (Kubernetes: "The data stored in a ConfigMap cannot exceed 1 MiB", less ${FLAG_DEFAULTS_ALLOWANCE_BYTES} for the default flags), got ${Object.keys(flags).length} flags of ${bytes} bytes`,
  ];
}

/**
 * The one place raw config becomes a RolloutConfig. `raw` maps keys without the namespace
 * (`phase`, `services`) to Pulumi's string values or to already-decoded values. Throws a
 * RolloutInputError naming `rollout:<key path>`, the value and what is expected.
 * `isSecret`, when given, says which SECRET_PATHS values arrived as Pulumi secrets; a plain
 * one is refused (its value is never printed). Without it (tests of decoded config) secrecy
 * is not checked: the function stays pure, and the program and the offline plan pass it.
 */
export function parseRolloutConfig(
  raw: Record<string, unknown>,
  stack: string,
  isSecret?: IsConfigSecret,
): RolloutConfig {
  const context = `invalid stack config for stack "${stack}"`;
  function refuse(problems: string[]): never {
    throw new RolloutInputError(`${context}:\n  ${problems.join("\n  ")}`, problems);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    refuse([`rollout: expected an object of rollout:* keys, got ${describeReceived(raw)}`]);

  const decoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) decoded[key] = decodeConfigValue(value);
  // Safe by default: every stack gets production's protections (deletion protection, Multi-AZ,
  // mandatory policies) unless its config says `rollout:tier: staging` explicitly; a stack
  // named "prod" or "production-eu" must not lose them because of its name.
  if (decoded.tier === undefined) decoded.tier = "production";

  // A misspelt key or a plain secret is reported together with every other problem, not instead of them.
  const unparsedProblems: string[] = [];
  const known: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(decoded)) {
    if ((CONFIG_KEYS as string[]).includes(key)) {
      known[key] = value;
      continue;
    }
    const suggestion = closest(key, CONFIG_KEYS);
    unparsedProblems.push(
      `rollout:${key}: unknown config key${suggestion ? `; did you mean rollout:${suggestion}?` : `; expected one of ${CONFIG_KEYS.join(", ")}`}`,
    );
  }
  // Checked before the schema: a plain password that is also too short must say "not a secret".
  unparsedProblems.push(...(isSecret ? plainSecretProblems(known, isSecret) : []));
  const result = RolloutConfigSchema.safeParse(known);
  if (!result.success)
    refuse([...unparsedProblems, ...describeZodError(result.error, known, "rollout:", SECRET_PATHS)]);
  if (unparsedProblems.length > 0) refuse(unparsedProblems);
  const parsed = result.data;

  let playbookSpec: Playbook;
  try {
    playbookSpec = loadPlaybook(parsed.playbook);
  } catch (error) {
    if (error instanceof RolloutInputError) throw new RolloutInputError(`rollout:playbook: ${error.message}`);
    throw error;
  }
  const problems: string[] = [];
  // Production runs a committed playbook, by id: a path could be any copy (same id, other alarms).
  if (parsed.tier === "production" && /[\\/]|\.ya?ml$/i.test(parsed.playbook))
    problems.push(
      `rollout:playbook: expected the id of a committed playbook in production (${listPlaybooks().join(", ")}), got the path ${JSON.stringify(parsed.playbook)}; a path may be run in staging only`,
    );
  const phaseIds = playbookSpec.phases.map((p) => p.id);
  const roleIds = playbookSpec.signoff.roles.map((r) => r.id);
  /** `<key>: expected one of <ids> (<what> of playbook <id>), got "<typo>"; did you mean <id>?` */
  const unknownId = (key: string, what: string, ids: string[], got: string) => {
    const suggestion = closest(got, ids);
    return `${key}: expected one of ${ids.join(", ")} (${what} of playbook ${playbookSpec.id}), got ${JSON.stringify(got)}${suggestion ? `; did you mean ${suggestion}?` : ""}`;
  };
  if (!phaseIds.includes(parsed.phase))
    problems.push(unknownId("rollout:phase", "phase ids", phaseIds, parsed.phase));
  const names = parsed.services.map((s) => s.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i)
      problems.push(
        `rollout:services[${i}].name: expected a unique service name, got ${JSON.stringify(name)}`,
      );
  });
  for (const [phase, approvals] of Object.entries(parsed.signoffs)) {
    if (!phaseIds.includes(phase))
      problems.push(unknownId(`rollout:signoffs.${phase}`, "phase ids", phaseIds, phase));
    for (const role of Object.keys(approvals)) {
      if (!roleIds.includes(role))
        problems.push(unknownId(`rollout:signoffs.${phase}.${role}`, "sign-off roles", roleIds, role));
    }
  }
  parsed.decisions.forEach((d, i) => {
    for (const key of ["from", "to"] as const) {
      if (!phaseIds.includes(d[key]))
        problems.push(unknownId(`rollout:decisions[${i}].${key}`, "phase ids", phaseIds, d[key]));
    }
  });
  if (parsed.finish && !phaseIds.includes(parsed.finish.fromPhase))
    problems.push(unknownId("rollout:finish.fromPhase", "phase ids", phaseIds, parsed.finish.fromPhase));
  parsed.release?.services.forEach((service, i) => {
    const key = `rollout:release.services[${i}]`;
    if (!names.includes(service)) {
      const suggestion = closest(service, names);
      problems.push(
        `${key}: expected a service of rollout:services (${names.join(", ")}), got ${JSON.stringify(service)}${suggestion ? `; did you mean ${suggestion}?` : ""}`,
      );
    } else if (parsed.release!.services.indexOf(service) !== i)
      problems.push(`${key}: expected each service once, got ${JSON.stringify(service)} again`);
  });
  problems.push(...listenerRuleProblems(parsed.cohorts, parsed.services));
  if (parsed.database.appUsername === parsed.database.username) {
    problems.push(
      `rollout:database.appUsername: expected an application user other than the master user, got ${JSON.stringify(parsed.database.appUsername)} (pods must not hold the master credentials)`,
    );
  }
  const isProduction = parsed.tier === "production";
  if (isProduction && !parsed.network.accessLogsBucket) {
    problems.push(
      `rollout:network.accessLogsBucket: expected a bucket name for ALB access logs in production, got nothing`,
    );
  }
  problems.push(...resourceProblems(parsed.services));
  problems.push(
    ...compositeAlarmProblems(
      playbookSpec,
      parsed.services.map((s) => s.name),
    ),
  );
  problems.push(...featureFlagProblems(parsed.featureFlags));
  problems.push(...stateRecordProblems({ ...parsed, stack, playbookSpec }));
  if (parsed.decisions.every((d) => phaseIds.includes(d.from) && phaseIds.includes(d.to)))
    problems.push(...recordedDecisionProblems(playbookSpec, parsed.decisions, isProduction));
  if (problems.length > 0) refuse(problems);

  return {
    ...parsed,
    stack,
    isProduction,
    playbookSpec,
    database: {
      ...parsed.database,
      deletionProtection: parsed.database.deletionProtection ?? isProduction,
      multiAz: parsed.database.multiAz ?? isProduction,
    },
  };
}
