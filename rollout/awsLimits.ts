import * as net from "node:net";
import { describeReceived, RolloutInputError } from "./validation";

/**
 * Limits of the APIs stack config values reach (AWS, and Kubernetes on EKS), written once so
 * the config schema, its tests and the policy pack check the same numbers. Each cites where
 * the limit is stated: an AWS documentation page by title, or a shape of the AWS API model
 * (botocore's `<service>/<version>/service-2.json`, which AWS's SDKs are generated from). A
 * value AWS would refuse at deploy time, half-way through `pulumi up`, is refused as config
 * (exit 2) instead.
 */

// ---------------------------------------------------------------------------------------
// Elastic Load Balancing v2 (elbv2 2015-12-01)

/** PathPatternConditionConfig.Values: "The maximum length of each string is 128 characters." */
export const ALB_PATH_PATTERN_MAX = 128;

/** HttpHeaderConditionConfig.Values: "The maximum length of each string is 128 characters." */
export const ALB_HEADER_VALUE_MAX = 128;

/** HttpHeaderConditionConfig.HttpHeaderName: "The maximum length is 40 characters." */
export const ALB_HTTP_HEADER_NAME_MAX = 40;

/**
 * HttpHeaderConditionConfig.HttpHeaderName: "You can't use an HTTP header condition to specify
 * the host header. Instead, use a host condition." Header names are case-insensitive.
 */
export const ALB_HEADER_CONDITION_FORBIDDEN = "host";

/** CreateTargetGroupInput.HealthCheckPath (shape `Path`): min 1, max 1024. */
export const ALB_HEALTH_CHECK_PATH_MAX = 1024;

/** TargetGroupStickinessConfig.DurationSeconds: "The range is 1-604800 seconds (7 days)." */
export const ALB_STICKINESS_SECONDS = { min: 1, max: 604800 } as const;

// ---------------------------------------------------------------------------------------
// EC2 (ec2 2016-11-15)

/**
 * The canonical form of an IPv4 CIDR (host bits cleared), or undefined when `value` is not an
 * IPv4 CIDR. IpRange.CidrIp: "Amazon Web Services canonicalizes IPv4 and IPv6 CIDRs. For
 * example, if you specify 100.68.0.18/18 for the CIDR block, Amazon Web Services canonicalizes
 * the CIDR block to 100.68.0.0/18", and a second rule for the same canonical block is refused
 * as a duplicate.
 */
export function canonicalIpv4Cidr(value: string): string | undefined {
  const match = /^([^/]+)\/(0|[1-9]\d?)$/.exec(value);
  if (!match || !net.isIPv4(match[1]!)) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const address = match[1]!.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const network = prefix === 0 ? 0 : address - (address % 2 ** (32 - prefix));
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefix}`;
}

/** Whether `value` is an IPv6 address with a prefix length 0-128. */
export function isIpv6Cidr(value: string): boolean {
  const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(value);
  return match !== null && net.isIPv6(match[1]!) && Number(match[2]) <= 128;
}

// ---------------------------------------------------------------------------------------
// ACM (acm 2015-12-08)

/**
 * DescribeCertificateRequest.CertificateArn: "The ARN must have the following form:
 * arn:aws:acm:region:123456789012:certificate/12345678-1234-1234-1234-123456789012". The
 * partition is `aws` or `aws-<name>` (aws-cn, aws-us-gov, aws-iso-b, ...), the account 12
 * digits, the certificate id a UUID.
 */
export const ACM_CERTIFICATE_ARN =
  /^arn:aws(-[a-z]+)*:acm:[a-z]+(-[a-z]+)+-\d+:\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------------------------------
// S3

/** Prefixes and suffixes "General purpose bucket naming rules" (Amazon S3 User Guide) reserve. */
const S3_RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"] as const;
const S3_RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] as const;
export const S3_BUCKET_NAME_LENGTH = { min: 3, max: 63 } as const;

/**
 * The first rule of "General purpose bucket naming rules" (Amazon S3 User Guide) that `name`
 * breaks, worded to follow "expected an S3 bucket name"; undefined for a valid name.
 */
export function s3BucketNameProblem(name: string): string | undefined {
  const { min, max } = S3_BUCKET_NAME_LENGTH;
  if (name.length < min || name.length > max) return `between ${min} and ${max} characters long`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "of only lowercase letters, numbers, periods (.) and hyphens (-)";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return "beginning and ending with a letter or number";
  if (name.includes("..")) return "with no two adjacent periods";
  if (net.isIPv4(name)) return "not formatted as an IP address";
  const prefix = S3_RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `not starting with the reserved prefix ${prefix}`;
  const suffix = S3_RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `not ending with the reserved suffix ${suffix}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// RDS for MySQL (rds 2014-10-31, CreateDBInstanceMessage; "Quotas and constraints for Amazon RDS")

export const RDS_MYSQL = {
  /** MasterUsername: "Must be 1 to 16 letters, numbers, or underscores. First character must be a letter." */
  masterUsername: /^[A-Za-z][A-Za-z0-9_]{0,15}$/,
  /** DBName (RDS for MySQL): "Must contain 1 to 64 letters or numbers. Must begin with a letter. Subsequent characters can be letters, underscores, or digits (0-9)." */
  dbName: /^[A-Za-z][A-Za-z0-9_]{0,63}$/,
  /**
   * MasterUserPassword: "Can include any printable ASCII character except "/", """, or "@"" and
   * "RDS for MySQL - Must contain from 8 to 41 characters". The space is refused too: the RDS
   * console's rule for the same password (and Lightsail's for the same engine, "It cannot contain
   * spaces") leaves it out, and a password that works only through the API is a trap.
   */
  masterPassword: /^[!#-.0-?A-~]{8,41}$/,
  /** BackupRetentionPeriod: "Must be a value from 0 to 35." */
  backupRetentionDaysMax: 35,
  /** AllocatedStorage, RDS for MySQL, "General Purpose (SSD) storage (gp2, gp3): Must be an integer from 20 to 65536." (the program uses gp3). */
  gp3StorageGib: { min: 20, max: 65536 },
  /** "Subnets per DB subnet group: 20", not adjustable ("Quotas and constraints for Amazon RDS"). */
  subnetsPerDbSubnetGroupMax: 20,
} as const;

// ---------------------------------------------------------------------------------------
// EKS (eks 2017-11-01)

/**
 * CreateClusterRequest.name (shape ClusterName): 1-100 characters, pattern
 * `^[0-9A-Za-z][A-Za-z0-9\-_]*`. The program looks the cluster up by it (DescribeCluster).
 */
export const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

// ---------------------------------------------------------------------------------------
// SSM Parameter Store (ssm 2014-11-06)

/**
 * PutParameterRequest.Value: "Standard parameters have a value limit of 4 KB. Advanced
 * parameters have a value limit of 8 KB." (a refused standard value is reported as "a maximum
 * parameter value of 4096 characters"). Intelligent-Tiering stores a value as standard while
 * it fits and as advanced when it needs to, so its limit is the advanced one. Counted in UTF-8
 * bytes, which is never less than characters.
 */
export const SSM_PARAMETER_VALUE_MAX_BYTES = {
  Standard: 4096,
  Advanced: 8192,
  "Intelligent-Tiering": 8192,
} as const;
export type SsmParameterTier = keyof typeof SSM_PARAMETER_VALUE_MAX_BYTES;

// ---------------------------------------------------------------------------------------
// CloudWatch (monitoring 2010-08-01)

/**
 * PutMetricAlarmInput.Period: "An alarm's total current evaluation period can be no longer
 * than seven days, so Period multiplied by EvaluationPeriods can't be more than 604,800
 * seconds. For alarms with a period of less than one hour (3,600 seconds), the total
 * evaluation period can't be longer than one day (86,400 seconds)."
 */
export const CLOUDWATCH_EVALUATION_SECONDS_MAX = 604800;
export const CLOUDWATCH_SUB_HOUR_EVALUATION_SECONDS_MAX = 86400;
export const CLOUDWATCH_LONG_PERIOD_SECONDS = 3600;

/** The longest window (Period x EvaluationPeriods) CloudWatch accepts for alarms of `periodSeconds`. */
export function cloudWatchMaxEvaluationSeconds(periodSeconds: number): number {
  return periodSeconds < CLOUDWATCH_LONG_PERIOD_SECONDS
    ? CLOUDWATCH_SUB_HOUR_EVALUATION_SECONDS_MAX
    : CLOUDWATCH_EVALUATION_SECONDS_MAX;
}

// ---------------------------------------------------------------------------------------
// Kubernetes (EKS runs upstream Kubernetes; its API server validates what the program applies)

/**
 * "The data stored in a ConfigMap cannot exceed 1 MiB" (Kubernetes docs, "ConfigMaps"). The API
 * server adds up the bytes of every key and value of `data`; see configMapDataBytes.
 */
export const K8S_CONFIGMAP_DATA_MAX_BYTES = 1024 * 1024;

/** Bytes a ConfigMap's `data` counts against K8S_CONFIGMAP_DATA_MAX_BYTES: every key and value, UTF-8. */
export function configMapDataBytes(data: Readonly<Record<string, string>>): number {
  return Object.entries(data).reduce(
    (total, [key, value]) => total + Buffer.byteLength(key) + Buffer.byteLength(value),
    0,
  );
}

/**
 * A CPU quantity as whole millicores: `250m` or cores with at most three decimals (`1`, `0.5`,
 * `1.125`); undefined for anything else. "Kubernetes doesn't allow you to specify CPU resources
 * with a precision finer than 1m" ("Resource Management for Pods and Containers").
 */
export function cpuMillicores(quantity: string): number | undefined {
  const millis = /^(\d+)m$/.exec(quantity);
  if (millis) return Number(millis[1]);
  const cores = /^(\d+)(?:\.(\d{1,3}))?$/.exec(quantity);
  if (!cores) return undefined;
  return Number(cores[1]) * 1000 + Number((cores[2] ?? "").padEnd(3, "0"));
}

const BINARY_SUFFIX = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 } as const;

/** A memory quantity with a binary suffix (`512Mi`, `1Gi`, `65536Ki`) in bytes; undefined for anything else. */
export function memoryBytes(quantity: string): number | undefined {
  const match = /^(\d+)(Ki|Mi|Gi)$/.exec(quantity);
  return match ? Number(match[1]) * BINARY_SUFFIX[match[2] as keyof typeof BINARY_SUFFIX] : undefined;
}

/**
 * The shape every AWS partition's region names share (botocore's partitions.json regionRegex:
 * eu-west-1, us-gov-west-1, cn-north-1, eusc-de-east-1), which an Availability Zone such as
 * eu-west-1a or a display name such as "Europe (Ireland)" does not have.
 */
export const AWS_REGION_NAME = /^[a-z]+(-[a-z]+)+-\d+$/;

/**
 * The stack's `aws:region`, checked before anything is registered: the provider and every
 * deploy hook use it, so a missing or malformed one must stop the plan, not the first AWS call.
 */
export function parseAwsRegion(value: unknown): string {
  if (typeof value === "string" && AWS_REGION_NAME.test(value)) return value;
  throw new RolloutInputError(
    `aws:region: expected an AWS region such as eu-west-1 (pulumi config set aws:region eu-west-1), got ${describeReceived(value)}`,
  );
}

/**
 * Inbound rules per security group: 60 by default ("Amazon VPC quotas", Security groups,
 * adjustable; the ALB's group is built with the default in mind).
 */
export const SECURITY_GROUP_INBOUND_RULES_MAX = 60;
