import { z } from "zod";
import {
  ALB_HEADER_CONDITION_FORBIDDEN,
  ALB_HEALTH_CHECK_PATH_MAX,
  ALB_HTTP_HEADER_NAME_MAX,
  ALB_PATH_PATTERN_MAX,
  cpuMillicores,
  memoryBytes,
} from "./awsLimits";
import { PRIORITY_BLOCKS } from "./rulePriorities";
import { integerIn, nonEmpty, portNumber } from "./validation";

/**
 * What the load balancer routes and the cluster runs (`rollout:services`, `rollout:cohorts`):
 * each service with its two colours, and the pilot cohort routed to green. Part of the stack
 * config, here on its own because traffic planning and the state record read these shapes too.
 */

const ColourSpec = z
  .object({
    image: nonEmpty("a container image such as ghcr.io/acme/web:1.4.2"),
    port: portNumber,
  })
  .strict();

const CPU_QUANTITY =
  "expected a CPU quantity such as 250m or 1.5 (Kubernetes allows no precision finer than 1m)";
const cpuQuantity = z
  .string({ message: CPU_QUANTITY })
  .refine((q) => cpuMillicores(q) !== undefined, { message: CPU_QUANTITY });
const MEMORY_QUANTITY = "expected a memory quantity such as 512Mi (a whole number of Ki, Mi or Gi)";
const memoryQuantity = z
  .string({ message: MEMORY_QUANTITY })
  .refine((q) => memoryBytes(q) !== undefined, { message: MEMORY_QUANTITY });

/**
 * Target group names start with it, and ELBv2 CreateTargetGroup's Name "must not begin or end
 * with a hyphen"; Kubernetes names (`<name>-<colour>`) and labels are built from it too.
 */
const SERVICE_NAME =
  "expected a DNS label of at most 21 characters such as web: lowercase letters, digits and -, starting with a letter and not ending with - (it prefixes AWS target group and Kubernetes names)";
const PATH_PATTERN = `expected a path pattern such as /api/*: a / then letters, digits and _-./*?, at most ${ALB_PATH_PATTERN_MAX} characters (ALB path-pattern condition)`;
const HEALTH_CHECK_PATH = `expected a path such as /healthz: a / then letters, digits and _-./, at most ${ALB_HEALTH_CHECK_PATH_MAX} characters (target group health check path)`;

export const ServiceConfig = z
  .object({
    name: z
      .string({ message: SERVICE_NAME })
      .regex(/^[a-z]([a-z0-9-]{0,19}[a-z0-9])?$/, { message: SERVICE_NAME }),
    /** ALB path pattern, e.g. `/api/*`; `/*` for the catch-all service. */
    pathPattern: z
      .string({ message: PATH_PATTERN })
      .regex(/^\/[A-Za-z0-9_\-./*?]*$/, { message: PATH_PATTERN, abort: true })
      // elbv2 PathPatternConditionConfig.Values: "The maximum length of each string is 128 characters."
      .max(ALB_PATH_PATTERN_MAX, { message: PATH_PATTERN }),
    healthCheckPath: z
      .string({ message: HEALTH_CHECK_PATH })
      .regex(/^\/[A-Za-z0-9_\-./]*$/, { message: HEALTH_CHECK_PATH, abort: true })
      // elbv2 CreateTargetGroupInput.HealthCheckPath (shape Path): 1-1024 characters.
      .max(ALB_HEALTH_CHECK_PATH_MAX, { message: HEALTH_CHECK_PATH }),
    /**
     * Block of listener rule priorities (block b: b*100+1 .. b*100+99). Default: the catch-all
     * `/*` takes the last block (499), any other service the block its name hashes to, so adding,
     * removing or reordering services never moves a kept rule (rollout/rulePriorities.ts).
     */
    priorityBlock: integerIn(0, PRIORITY_BLOCKS - 1).optional(),
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

const COHORT_HEADER = `expected an HTTP header name of at most ${ALB_HTTP_HEADER_NAME_MAX} letters, digits and - such as X-Pilot-User`;

/*
 * Request headers a client sends by itself, or a proxy or the load balancer adds. A cohort
 * header among them sends strangers to green: every browser navigation carries
 * `Sec-Fetch-Site` (none, same-origin, same-site or cross-site) and `Upgrade-Insecure-Requests: 1`,
 * so "users" equal to those values are everyone. Header names are case-insensitive
 * (RFC 9110 section 5.1), and so are the ALB's header conditions.
 */

/**
 * The Fetch standard's forbidden request-header names: the user agent alone sets them
 * (https://fetch.spec.whatwg.org/#forbidden-request-header). X-HTTP-Method, X-HTTP-Method-Override
 * and X-Method-Override are forbidden there when they carry CONNECT, TRACE or TRACK; as
 * method-override headers that clients and libraries send, none of them is a cohort header.
 * Names in lowercase; prefixes below as the standards spell them (both compared case-insensitively).
 */
export const FETCH_FORBIDDEN_REQUEST_HEADERS = [
  "accept-charset",
  "accept-encoding",
  "access-control-request-headers",
  "access-control-request-method",
  "connection",
  "content-length",
  "cookie",
  "cookie2",
  "date",
  "dnt",
  "expect",
  "host",
  "keep-alive",
  "origin",
  "referer",
  "set-cookie",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "via",
  "x-http-method",
  "x-http-method-override",
  "x-method-override",
] as const;

/** Same section: a name that starts with `Proxy-` or `Sec-` is a forbidden request-header name. */
export const FETCH_FORBIDDEN_REQUEST_HEADER_PREFIXES = ["Proxy-", "Sec-"] as const;

/**
 * Request header fields of HTTP itself (RFC 9110 "HTTP Semantics", RFC 9111 caching, RFC 9218
 * Priority, RFC 7239 Forwarded, RFC 8470 Early-Data, RFC 9113 HTTP2-Settings, RFC 7838 Alt-Used)
 * and those the IANA "Hypertext Transfer Protocol (HTTP) Field Name Registry"
 * (https://www.iana.org/assignments/http-fields/) lists that browsers send unasked:
 * Upgrade-Insecure-Requests (W3C Upgrade Insecure Requests), client hints without the Sec- prefix
 * (Save-Data, Device-Memory, DPR, Viewport-Width, Width, Downlink, ECT, RTT), prefetch and service
 * worker headers (Purpose, Service-Worker, Service-Worker-Navigation-Preload), and compression
 * dictionaries (Available-Dictionary, Dictionary-ID, RFC 9842). Also X-Requested-With, which
 * JavaScript libraries add, and X-Real-IP, which reverse proxies add.
 */
export const STANDARD_REQUEST_HEADERS = [
  "a-im",
  "accept",
  "alt-used",
  "authorization",
  "available-dictionary",
  "cache-control",
  "device-memory",
  "dictionary-id",
  "downlink",
  "dpr",
  "early-data",
  "ect",
  "forwarded",
  "from",
  "http2-settings",
  "max-forwards",
  "pragma",
  "prefer",
  "priority",
  "purpose",
  "range",
  "rtt",
  "save-data",
  "service-worker",
  "service-worker-navigation-preload",
  "upgrade-insecure-requests",
  "user-agent",
  "viewport-width",
  "warning",
  "width",
  "x-real-ip",
  "x-requested-with",
] as const;

/** Whole families of standard request fields: Accept-*, Content-*, If-* (conditional requests), Access-Control-* (CORS). */
export const STANDARD_REQUEST_HEADER_PREFIXES = ["Accept-", "Access-Control-", "Content-", "If-"] as const;

/**
 * Added on the way: X-Forwarded-For/-Proto/-Port by the ALB and other proxies, X-Amzn-Trace-Id,
 * X-Amzn-Oidc-* and X-Amzn-Mtls-* by the ALB (ELB guide, "HTTP headers and Application Load
 * Balancers"), X-Amz-* by AWS signing clients and CloudFront, CloudFront-* by CloudFront.
 */
export const PROXY_HEADER_PREFIXES = ["X-Forwarded-", "X-Amzn-", "X-Amz-", "CloudFront-"] as const;

/**
 * Why `name` cannot be the cohort header (a header something other than the pilot user's own
 * client tooling sends), or undefined for a dedicated header such as X-Pilot-User.
 */
export function clientSentHeaderProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  const startsWith = (prefixes: readonly string[]) =>
    prefixes.find((prefix) => lower.startsWith(prefix.toLowerCase()));
  if ((FETCH_FORBIDDEN_REQUEST_HEADERS as readonly string[]).includes(lower))
    return `${name} is a forbidden request-header of the Fetch standard: browsers set it themselves`;
  const fetchPrefix = startsWith(FETCH_FORBIDDEN_REQUEST_HEADER_PREFIXES);
  if (fetchPrefix)
    return `${name} starts with ${fetchPrefix}, which the Fetch standard reserves for headers browsers set themselves`;
  if ((STANDARD_REQUEST_HEADERS as readonly string[]).includes(lower))
    return `${name} is a standard request header that clients send by themselves`;
  const standardPrefix = startsWith(STANDARD_REQUEST_HEADER_PREFIXES);
  if (standardPrefix)
    return `${name} is one of the standard ${standardPrefix}* request headers that clients send by themselves`;
  const proxyPrefix = startsWith(PROXY_HEADER_PREFIXES);
  if (proxyPrefix)
    return `${name} is one of the ${proxyPrefix}* headers that proxies, CloudFront or the ALB add`;
  return undefined;
}

/**
 * A pilot user id. ALB header condition values are case-insensitive patterns in which `*` and
 * `?` are wildcards, and the cookie is matched as `<cookie>=<id>` between `; ` separators, so
 * an id holds neither wildcards nor `;`, `=` or whitespace.
 */
export const COHORT_USER_ID = /^[A-Za-z0-9._@+-]{1,64}$/;
const COHORT_USER =
  "expected a user id of 1-64 letters, digits and ._@+- (no * or ?, which ALB reads as wildcards, and no ;, = or whitespace, which would break cookie matching)";

/** A cookie name (RFC 6265 token characters, a subset without wildcards). */
/**
 * A dedicated cookie, named `pilot_...`: a cookie browsers or sites already set (`lang`, `locale`,
 * `consent`, `_ga`...) with common values as "users" would route the public to green.
 */
export const COHORT_COOKIE_NAME = /^pilot_[A-Za-z0-9_-]{1,34}$/;

export const CohortConfig = z
  .object({
    /** Request header naming the user, e.g. `X-Pilot-User`: a dedicated one, never one a client sends by itself. */
    header: z
      .string({ message: COHORT_HEADER })
      // elbv2 HttpHeaderConditionConfig.HttpHeaderName: at most 40 characters, RFC 7230 token
      // characters (this takes letters, digits and -, a subset that is also safe in the hooks' shell).
      .regex(new RegExp(`^[A-Za-z0-9-]{1,${ALB_HTTP_HEADER_NAME_MAX}}$`), {
        message: COHORT_HEADER,
        abort: true,
      })
      .superRefine((header, ctx) => {
        // Same shape: "You can't use an HTTP header condition to specify the host header."
        if (header.toLowerCase() === ALB_HEADER_CONDITION_FORBIDDEN) {
          ctx.addIssue({
            code: "custom",
            message:
              "expected a header other than Host (an ALB http-header condition cannot match the host header; route by host with a host-header condition)",
          });
          return;
        }
        const problem = clientSentHeaderProblem(header);
        if (problem)
          ctx.addIssue({
            code: "custom",
            message: `expected a dedicated header such as X-Pilot-User that only the pilot users' own tooling sends (${problem}, so requests from anyone would reach green)`,
          });
      }),
    /** Optional cookie name carrying the same user id (browsers that cannot set headers). */
    cookie: z
      .string()
      .regex(COHORT_COOKIE_NAME, {
        message:
          "expected a dedicated cookie name starting pilot_, such as pilot_user (a cookie browsers or sites set, such as lang, would route the public to green)",
      })
      .optional(),
    users: z
      .array(z.string({ message: COHORT_USER }).regex(COHORT_USER_ID, { message: COHORT_USER }))
      .superRefine((users, ctx) =>
        users.forEach((user, i) => {
          // The ALB compares header values case-insensitively: Anna and anna are one user to it.
          const first = users.findIndex((other) => other.toLowerCase() === user.toLowerCase());
          if (first !== i)
            ctx.addIssue({
              code: "custom",
              path: [i],
              message: `expected each user once, compared case-insensitively as the ALB compares them: index ${first} lists ${JSON.stringify(users[first])} already`,
            });
        }),
      )
      .default([]),
  })
  .strict();
export type CohortConfig = z.infer<typeof CohortConfig>;

/**
 * Requests and limits the Kubernetes API server refuses (EKS applies them unchanged): a limit of
 * 0, within which no container can run, and a request above its limit ("must be less than or
 * equal to cpu limit"; "Resource Management for Pods and Containers"). Quantities are compared
 * as numbers: `1` CPU is 1000m, `1Gi` is 1024Mi.
 */
export function resourceProblems(services: readonly ServiceConfig[]): string[] {
  const kinds = [
    { what: "CPU", amount: cpuMillicores, request: "cpuRequest", limit: "cpuLimit" },
    { what: "memory", amount: memoryBytes, request: "memoryRequest", limit: "memoryLimit" },
  ] as const;
  return services.flatMap((service, i) =>
    kinds.flatMap(({ what, amount, request, limit }) => {
      const key = `rollout:services[${i}].resources`;
      const { [request]: requested, [limit]: limited } = service.resources;
      // Both parse: the schema refused any other quantity.
      const [requestAmount, limitAmount] = [amount(requested)!, amount(limited)!];
      if (limitAmount === 0)
        return [
          `${key}.${limit}: expected a ${what} limit above 0 (no container runs within none), got ${JSON.stringify(limited)}`,
        ];
      if (requestAmount > limitAmount)
        return [
          `${key}.${request}: expected at most the ${what} limit ${limited} (Kubernetes refuses a request above its limit), got ${JSON.stringify(requested)}`,
        ];
      return [];
    }),
  );
}
