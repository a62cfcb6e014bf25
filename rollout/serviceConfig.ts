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

export const CohortConfig = z
  .object({
    /** Request header naming the user, e.g. `X-Pilot-User`. */
    header: z
      .string({ message: COHORT_HEADER })
      // elbv2 HttpHeaderConditionConfig.HttpHeaderName: at most 40 characters, RFC 7230 token
      // characters (this takes letters, digits and -, a subset that is also safe in the hooks' shell).
      .regex(new RegExp(`^[A-Za-z0-9-]{1,${ALB_HTTP_HEADER_NAME_MAX}}$`), {
        message: COHORT_HEADER,
        abort: true,
      })
      // Same shape: "You can't use an HTTP header condition to specify the host header."
      .refine((h) => h.toLowerCase() !== ALB_HEADER_CONDITION_FORBIDDEN, {
        message:
          "expected a header other than Host (an ALB http-header condition cannot match the host header; route by host with a host-header condition)",
      }),
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
