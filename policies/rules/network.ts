import type { PolicyConfigSchema, ReportViolation, ResourceValidation } from "@pulumi/policy";
import {
  asArray,
  configOf,
  field,
  forType,
  forwards,
  TYPES,
  type Policy,
  type ResourceValidationPolicy,
} from "./util";

/**
 * Network rules: the ALB in front of both colours speaks TLS 1.2+, plain HTTP only
 * redirects, malformed headers (which could spoof cohort routing) are dropped, target groups
 * health-check, and a weighted split keeps each user on one colour.
 */

/** ELB security policies that refuse anything below TLS 1.2. */
export const TLS12_POLICIES = [
  "ELBSecurityPolicy-TLS13-1-2-2021-06",
  "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
  "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
  "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
  "ELBSecurityPolicy-TLS13-1-3-2021-06",
  "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
  "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
  "ELBSecurityPolicy-TLS-1-2-2017-01",
  "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
  "ELBSecurityPolicy-FS-1-2-2019-08",
  "ELBSecurityPolicy-FS-1-2-Res-2019-08",
  "ELBSecurityPolicy-FS-1-2-Res-2020-10",
];

const tlsSchema: PolicyConfigSchema = {
  properties: {
    allowedSslPolicies: { type: "array", items: { type: "string" }, minItems: 1, default: TLS12_POLICIES },
  },
};

export const httpsTls12: ResourceValidationPolicy = {
  name: "network-https-tls12",
  description: "HTTPS listeners use an SSL policy that allows only TLS 1.2 or newer (allowedSslPolicies).",
  enforcementLevel: "mandatory",
  configSchema: tlsSchema,
  remediationSteps: `Set sslPolicy on the HTTPS listener to ${TLS12_POLICIES[0]} or another allowed TLS 1.2+ policy.`,
  validateResource: forType(TYPES.listener, (props, args, report) => {
    if (props.protocol !== "HTTPS" && !(props.protocol === undefined && props.port === 443)) return;
    const { allowedSslPolicies } = configOf<{ allowedSslPolicies: string[] }>(args, tlsSchema);
    const policy = props.sslPolicy;
    if (typeof policy === "string" && allowedSslPolicies.includes(policy)) return;
    const current =
      policy === undefined
        ? "sets no sslPolicy, so AWS applies ELBSecurityPolicy-2016-08 (TLS 1.0)"
        : `uses SSL policy ${String(policy)}, which is not a TLS 1.2+ policy`;
    report(
      `HTTPS listener ${args.name} ${current}; set sslPolicy to ${allowedSslPolicies[0]} or another of allowedSslPolicies`,
    );
  }),
};

export const httpRedirectOnly: ResourceValidationPolicy = {
  name: "network-http-redirect-only",
  description: "Plain HTTP listeners only redirect to HTTPS; they never forward traffic.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Give the HTTP listener a single default action {type: redirect, redirect: {protocol: HTTPS, port: 443, statusCode: HTTP_301}}.",
  validateResource: forType(TYPES.listener, (props, args, report) => {
    if (props.protocol !== "HTTP") return;
    const fix = "use only a redirect action with protocol HTTPS, port 443 and statusCode HTTP_301";
    const actions = asArray(props.defaultActions);
    if (actions.length === 0) report(`HTTP listener ${args.name} has no default action; ${fix}`);
    for (const action of actions) {
      const type = field(action, "type");
      if (type !== "redirect") {
        report(
          `HTTP listener ${args.name} has a ${String(type)} default action, so plain HTTP reaches the services; ${fix}`,
        );
      } else if (field(action, "redirect", "protocol") !== "HTTPS") {
        report(
          `HTTP listener ${args.name} redirects to protocol ${String(field(action, "redirect", "protocol") ?? "#{protocol}")}, which keeps plain HTTP; ${fix}`,
        );
      }
    }
  }),
};

export const albDropInvalidHeaders: ResourceValidationPolicy = {
  name: "network-alb-drop-invalid-headers",
  description: "Application load balancers drop requests with invalid HTTP header fields.",
  enforcementLevel: "mandatory",
  remediationSteps: "Set dropInvalidHeaderFields: true on the aws.lb.LoadBalancer.",
  validateResource: forType(TYPES.loadBalancer, (props, args, report) => {
    const type = props.loadBalancerType ?? "application";
    if (type !== "application" || props.dropInvalidHeaderFields === true) return;
    report(
      `load balancer ${args.name} passes invalid HTTP header fields to the targets; set dropInvalidHeaderFields: true ` +
        "(malformed headers could spoof the cohort header that routes users to green)",
    );
  }),
};

export const targetGroupHealthCheck: ResourceValidationPolicy = {
  name: "network-target-group-health-check",
  description: "Target groups health-check their targets on a path, so the ALB stops routing to failed pods.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set healthCheck {enabled: true, path: <the service's healthCheckPath>} on the target group.",
  validateResource: forType(TYPES.targetGroup, (props, args, report) => {
    const healthCheck = props.healthCheck;
    if (field(healthCheck, "enabled") === false) {
      report(
        `target group ${args.name} has health checks disabled; set healthCheck.enabled to true so failed pods leave the rotation`,
      );
      return;
    }
    const path = field(healthCheck, "path");
    if (typeof path !== "string" || path === "") {
      report(
        `target group ${args.name} has no health check path; set healthCheck.path to the service's healthCheckPath (rollout:services[].healthCheckPath)`,
      );
    }
  }),
};

function checkSticky(kind: string, name: string, actions: unknown, report: ReportViolation): void {
  for (const forward of forwards(actions)) {
    // Only a forward that gives weight to two or more groups splits users. With all the weight on
    // one group (a rollback: green at 0) there is nothing to keep, and the router drops stickiness
    // there on purpose so that clients holding a green cookie come back to blue at once.
    const splitting = forward.targetGroups.filter((tg) => tg.weight > 0).length;
    if (splitting < 2 || field(forward.stickiness, "enabled") === true) continue;
    report(
      `${kind} ${name} splits traffic across ${splitting} target groups without group stickiness; ` +
        "set forward.stickiness {enabled: true, duration: rollout:stickinessSeconds} so a user stays on one colour",
    );
  }
}

const stickyRule: ResourceValidation = forType(TYPES.listenerRule, (props, args, report) =>
  checkSticky("listener rule", args.name, props.actions, report),
);
const stickyListener: ResourceValidation = forType(TYPES.listener, (props, args, report) =>
  checkSticky("listener", args.name, props.defaultActions, report),
);

export const weightedForwardSticky: ResourceValidationPolicy = {
  name: "network-weighted-forward-sticky",
  description: "Weighted forwards (two or more target groups) enable group stickiness.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Set forward.stickiness {enabled: true, duration: <seconds>} on every weighted forward action.",
  validateResource: [stickyRule, stickyListener],
};

export const networkPolicies: Policy[] = [
  httpsTls12,
  httpRedirectOnly,
  albDropInvalidHeaders,
  targetGroupHealthCheck,
  weightedForwardSticky,
];
