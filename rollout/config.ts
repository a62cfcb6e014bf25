import * as net from "node:net";
import { z } from "zod";
import { loadPlaybook, type Playbook } from "./playbook";
import { cohortLimitProblems } from "./traffic";
import { closest, describeReceived, describeZodError, RolloutInputError } from "./validation";

/**
 * The stack config (`rollout:*` in Pulumi.<stack>.yaml) and the one function that turns raw
 * config into a typed RolloutConfig. Shape only: whether a weight is allowed in a phase, a
 * phase was skipped or sign-offs are complete is the policy pack's call, so that a bad
 * deploy is refused with the pack's remediation text rather than half-validated here.
 */

const port = z
  .number({ message: "expected an integer 1-65535" })
  .int({ message: "expected an integer 1-65535" })
  .min(1, { message: "expected an integer 1-65535" })
  .max(65535, { message: "expected an integer 1-65535" });

const nonEmpty = (what: string) =>
  z.string({ message: `expected ${what}` }).min(1, { message: `expected ${what}` });

const ColourSpec = z
  .object({
    image: nonEmpty("a container image such as ghcr.io/acme/web:1.4.2"),
    port,
  })
  .strict();

const cpuQuantity = z.string().regex(/^\d+(\.\d+)?m?$/, { message: "expected a CPU quantity such as 250m" });
const memoryQuantity = z
  .string()
  .regex(/^\d+(Ki|Mi|Gi)$/, { message: "expected a memory quantity such as 512Mi" });

export const ServiceConfig = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,20}$/, {
      message:
        "expected a DNS label of at most 21 characters such as web (it prefixes AWS target group names)",
    }),
    /** ALB path pattern, e.g. `/api/*`; `/*` for the catch-all service. */
    pathPattern: z
      .string()
      .regex(/^\/[A-Za-z0-9_\-./*?]*$/, { message: "expected a path pattern such as /api/*" }),
    healthCheckPath: z
      .string()
      .regex(/^\/[A-Za-z0-9_\-./]*$/, { message: "expected a path such as /healthz" }),
    blue: ColourSpec,
    green: ColourSpec,
    /** Pods per colour. Default: 2. */
    replicas: z.number().int().min(1).max(50).default(2),
    resources: z
      .object({
        cpuRequest: cpuQuantity.default("250m"),
        cpuLimit: cpuQuantity.default("1"),
        memoryRequest: memoryQuantity.default("256Mi"),
        memoryLimit: memoryQuantity.default("512Mi"),
      })
      .strict()
      .default({ cpuRequest: "250m", cpuLimit: "1", memoryRequest: "256Mi", memoryLimit: "512Mi" }),
  })
  .strict();
export type ServiceConfig = z.infer<typeof ServiceConfig>;

export const CohortConfig = z
  .object({
    /** Request header naming the user, e.g. `X-Pilot-User`. */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,40}$/, { message: "expected an HTTP header name such as X-Pilot-User" }),
    /** Optional cookie name carrying the same user id (browsers that cannot set headers). */
    cookie: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,40}$/, { message: "expected a cookie name such as pilot_user" })
      .optional(),
    users: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9._@+-]{1,64}$/, { message: "expected a user id of letters, digits and ._@+-" }),
      )
      .default([]),
  })
  .strict();
export type CohortConfig = z.infer<typeof CohortConfig>;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const ISO_TIME_MESSAGE = "expected an ISO-8601 time such as 2026-11-02T15:00:00Z";
const isoTime = z
  .string({ message: ISO_TIME_MESSAGE })
  .refine((s) => ISO_8601.test(s) && !Number.isNaN(Date.parse(s)), { message: ISO_TIME_MESSAGE });

/** `203.0.113.0/24` or `2001:db8::/32`: an address and a prefix length that fits it. */
function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const prefix = Number(match[2]);
  if (net.isIPv4(match[1]!)) return prefix <= 32;
  if (net.isIPv6(match[1]!)) return prefix <= 128;
  return false;
}

export const Decision = z
  .object({
    from: z.string().min(1),
    to: z.string().min(1),
    decision: z.enum(["GO", "NO-GO"]),
    at: isoTime,
    by: z.string().min(1),
    /** One line per criterion, written by `rollout gates --record`. */
    evidence: z.array(z.string()).default([]),
  })
  .strict();
export type Decision = z.infer<typeof Decision>;

export const Signoff = z.object({ approver: z.string().min(1), at: isoTime }).strict();
export type Signoff = z.infer<typeof Signoff>;

const DATABASE_NAME =
  "expected a MySQL database name such as tbs (a letter, then letters, digits or _, at most 64)";
const SECRET_PASSWORD = "expected a secret of at least 8 characters";
const DATABASE_USER =
  "expected a MySQL user name such as tbs_admin (a letter, then letters, digits or _, at most 16)";
const FLAG_NAME = /^[a-z][A-Za-z0-9]{0,62}$/;

const CIDR_MESSAGE = "expected an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32";

const arn = (service: string) =>
  z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), { message: `expected an ${service} ARN` });

export const RolloutConfigSchema = z
  .object({
    playbook: nonEmpty("a playbook id such as tbs-strategy-framework"),
    /** `production` or `staging`: decides protections and which policies are mandatory. Default: `production` (a staging stack says `rollout:tier: staging` explicitly). */
    tier: z.enum(["production", "staging"]),
    phase: nonEmpty("a phase id of the playbook"),
    greenWeight: z
      .number({ message: "expected an integer 0-100" })
      .int({ message: "expected an integer 0-100" })
      .min(0, { message: "expected an integer 0-100" })
      .max(100, { message: "expected an integer 0-100" })
      .default(0),
    rollback: z.boolean({ message: "expected true or false" }).default(false),
    /** Acknowledges an automatic rollback's latch (the ISO-8601 time it was written); see `rollout resume`. */
    rollbackAcknowledged: isoTime.optional(),
    cohorts: CohortConfig.optional(),
    /** Group stickiness of the weighted forward. Default: 3600 s. */
    stickinessSeconds: z.number().int().min(1).max(604800).default(3600),
    services: z.array(ServiceConfig).min(1, { message: "expected at least one service" }),
    network: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, { message: "expected a VPC id such as vpc-0abc123" }),
        publicSubnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]+$/, { message: "expected a subnet id" }))
          .min(2),
        privateSubnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]+$/, { message: "expected a subnet id" }))
          .min(2),
        certificateArn: arn("acm"),
        /** IPv4 or IPv6 CIDRs allowed to reach the ALB. Default: the internet. */
        ingressCidrs: z
          .array(z.string({ message: CIDR_MESSAGE }).refine(isCidr, { message: CIDR_MESSAGE }))
          .default(["0.0.0.0/0"]),
        /** Bucket for ALB access logs; required in production. */
        accessLogsBucket: z.string().optional(),
      })
      .strict(),
    cluster: z
      .object({
        name: nonEmpty("the EKS cluster name"),
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
        engineVersion: z.string().default("8.0"),
        allocatedStorageGb: z.number().int().min(20).max(65536).default(100),
        name: z
          .string({ message: DATABASE_NAME })
          .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { message: DATABASE_NAME })
          .default("tbs"),
        username: z
          .string({ message: DATABASE_USER })
          .regex(/^[A-Za-z][A-Za-z0-9_]{0,15}$/, { message: DATABASE_USER })
          .default("tbs_admin"),
        /** Secret. The master user's password: used by RDS only, never given to pods. */
        password: z.string({ message: SECRET_PASSWORD }).min(8, { message: SECRET_PASSWORD }),
        /**
         * The application's MySQL user, which both colours' pods connect as (least privilege:
         * never the master user). Create it once with only the grants the app needs, e.g.
         * `GRANT SELECT, INSERT, UPDATE, DELETE ON tbs.* TO 'tbs_app'@'%'`. Default: tbs_app.
         */
        appUsername: z
          .string({ message: DATABASE_USER })
          .regex(/^[A-Za-z][A-Za-z0-9_]{0,15}$/, { message: DATABASE_USER })
          .default("tbs_app"),
        /** Secret. The application user's password. */
        appPassword: z.string({ message: SECRET_PASSWORD }).min(8, { message: SECRET_PASSWORD }),
        backupRetentionDays: z
          .number()
          .int()
          .min(7, { message: "expected at least 7 days (point-in-time recovery across a phase)" })
          .max(35)
          .default(14),
        /** Default: true in production. Turning it off in production is refused by the policy pack. */
        deletionProtection: z.boolean().optional(),
        /** Default: true in production. */
        multiAz: z.boolean().optional(),
      })
      .strict(),
    heavydb: z
      .object({
        host: nonEmpty("the HeavyDB host"),
        port: port.default(6274),
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
  problems.push(...cohortLimitProblems(parsed.cohorts, parsed.services));
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
