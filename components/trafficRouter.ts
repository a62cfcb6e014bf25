import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALB_STICKINESS_SECONDS } from "../rollout/awsLimits";
import { WAF_MANAGED_RULE_GROUPS } from "../rollout/config";
import { targetGroupName, type Colour } from "../rollout/names";
import {
  cohortRulePriority,
  MAX_COHORT_RULES_PER_SERVICE,
  PRIORITY_BLOCKS,
  weightedRulePriority,
} from "../rollout/rulePriorities";
import { ALB_LIMITS, type ServiceTraffic } from "../rollout/traffic";

/** One service behind the router: its path and the ports of its two colours. */
export interface RoutedService {
  name: string;
  /** ALB path pattern, e.g. `/api/*`; `/*` is the catch-all and is evaluated last. */
  pathPattern: string;
  healthCheckPath: string;
  bluePort: number;
  greenPort: number;
}

export interface TrafficRouterArgs {
  /** Stack name: part of the target groups' AWS names, so stacks sharing an account never clash. */
  stack: string;
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  /** ACM certificate of the HTTPS listener. */
  certificateArn: pulumi.Input<string>;
  /** CIDRs allowed to reach 443 and 80. */
  ingressCidrs: string[];
  /** Security group of the pods: the ALB may only send to it, on the services' ports. */
  podSecurityGroupId: pulumi.Input<string>;
  /** Production turns on deletion protection and access logs. */
  production: boolean;
  /** Bucket for access logs. Required when `production`. */
  accessLogsBucket?: string;
  services: RoutedService[];
  /**
   * Per-service plan from `planTraffic`, same names as `services`. Each service's rules take the
   * plan's `priorityBlock`: its identity, never its position, so a kept rule never moves.
   */
  traffic: ServiceTraffic[];
  /**
   * The automatic-rollback latch: when it resolves true every forward goes 100 % to blue and
   * cohort rules forward to blue. Default: false.
   */
  forceBlue?: pulumi.Input<boolean>;
  /**
   * Group stickiness of the weighted forward while traffic is split between the colours (it is
   * off whenever one colour has all of it: a rollback, the latch, weight 0 or 100). Default: 3600 s.
   */
  stickinessSeconds?: number;
  /** What listener rules must wait for (the phase's snapshot, the pre-deploy hook). Default: none. */
  ruleDependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * Put a WAFv2 web ACL (REGIONAL) with AWS's managed rule groups (WAF_MANAGED_RULE_GROUPS) in
   * front of the ALB. Default: true.
   */
  waf?: boolean;
}

/**
 * TLS 1.3 with a TLS 1.2 fallback restricted ("Res") to forward-secret AEAD ciphers
 * (ECDHE with AES-GCM); the non-Res policy would still offer CBC and non-ECDHE suites.
 */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/**
 * The ALB of a blue/green rollout: HTTPS listener (TLS 1.2+), an HTTP listener that only
 * redirects, per service a blue and a green target group, a weighted forward with group
 * stickiness and the cohort rules that send pilot users to green.
 */
export class TrafficRouter extends pulumi.ComponentResource {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly httpsListener: aws.lb.Listener;
  readonly httpListener: aws.lb.Listener;
  readonly targetGroups: Record<string, { blue: aws.lb.TargetGroup; green: aws.lb.TargetGroup }> = {};
  readonly weightedRules: Record<string, aws.lb.ListenerRule> = {};
  readonly cohortRules: Record<string, aws.lb.ListenerRule[]> = {};
  readonly dnsName: pulumi.Output<string>;
  readonly albArnSuffix: pulumi.Output<string>;
  /** Only when `waf` is on. */
  readonly webAcl?: aws.wafv2.WebAcl;

  constructor(name: string, args: TrafficRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before super(): a refused component registers nothing, not even itself.
    validate(args);
    super("staged-rollout:traffic:TrafficRouter", name, {}, opts);
    const stickiness = args.stickinessSeconds ?? 3600;
    const forceBlue = pulumi.output(args.forceBlue ?? false);
    const ports = [...new Set(args.services.flatMap((s) => [s.bluePort, s.greenPort]))].sort((a, b) => a - b);

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-alb-sg`,
      {
        vpcId: args.vpcId,
        description: "ALB of the staged rollout: HTTPS in, service ports out to the pods only",
        ingress: [443, 80].map((port) => ({
          protocol: "tcp",
          fromPort: port,
          toPort: port,
          cidrBlocks: args.ingressCidrs,
          description: port === 80 ? "HTTP (redirected to HTTPS)" : "HTTPS",
        })),
        egress: ports.map((port) => ({
          protocol: "tcp",
          fromPort: port,
          toPort: port,
          securityGroups: [args.podSecurityGroupId],
          description: `to pods on ${port}`,
        })),
      },
      { parent: this },
    );
    ports.forEach(
      (port) =>
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-pods-from-alb-${port}`,
          {
            securityGroupId: args.podSecurityGroupId,
            referencedSecurityGroupId: this.securityGroup.id,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            description: `from the rollout ALB on ${port}`,
          },
          { parent: this },
        ),
    );

    this.loadBalancer = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        loadBalancerType: "application",
        internal: false,
        subnets: args.publicSubnetIds,
        securityGroups: [this.securityGroup.id],
        dropInvalidHeaderFields: true,
        desyncMitigationMode: "defensive",
        enableDeletionProtection: args.production,
        idleTimeout: 60,
        accessLogs: args.production ? { bucket: args.accessLogsBucket!, enabled: true } : undefined,
      },
      { parent: this },
    );

    if (args.waf ?? true) {
      // Each managed group keeps its own actions (overrideAction none: its rules block); anything
      // no rule blocks is allowed. Every rule and the ACL publish CloudWatch metrics and keep
      // sampled requests, so a false positive can be found and its rule set to count.
      const visibility = (metricName: string) => ({
        cloudwatchMetricsEnabled: true,
        metricName,
        sampledRequestsEnabled: true,
      });
      this.webAcl = new aws.wafv2.WebAcl(
        `${name}-waf`,
        {
          description: `staged-rollout ${args.stack}: AWS managed rules in front of the rollout ALB`,
          scope: "REGIONAL",
          defaultAction: { allow: {} },
          rules: WAF_MANAGED_RULE_GROUPS.map((group, priority) => ({
            name: group.name,
            priority,
            overrideAction: { none: {} },
            statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group.name } },
            visibilityConfig: visibility(group.name),
          })),
          visibilityConfig: visibility(`${name}-waf`),
        },
        { parent: this },
      );
      new aws.wafv2.WebAclAssociation(
        `${name}-waf-association`,
        { resourceArn: this.loadBalancer.arn, webAclArn: this.webAcl.arn },
        { parent: this },
      );
    }

    this.httpsListener = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 443,
        protocol: "HTTPS",
        sslPolicy: TLS_POLICY,
        certificateArn: args.certificateArn,
        // Requests no service claims get a 404 rather than landing on either colour.
        defaultActions: [
          {
            type: "fixed-response",
            fixedResponse: { contentType: "text/plain", messageBody: "no route", statusCode: "404" },
          },
        ],
      },
      { parent: this },
    );

    this.httpListener = new aws.lb.Listener(
      `${name}-http-redirect`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [
          { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
        ],
      },
      { parent: this },
    );

    const trafficByService = new Map(args.traffic.map((t) => [t.service, t]));
    args.services.forEach((service) => {
      const traffic = trafficByService.get(service.name)!;
      const targetGroup = (colour: Colour, port: number) =>
        new aws.lb.TargetGroup(
          `${name}-${service.name}-${colour}-tg`,
          {
            name: targetGroupName(args.stack, service.name, colour, port),
            vpcId: args.vpcId,
            targetType: "ip",
            protocol: "HTTP",
            port,
            // Short drain: a rollback must not wait minutes for connections to green to close.
            deregistrationDelay: 15,
            // The colour is identity, not rollout state: the policy pack finds green's groups by it.
            tags: { colour },
            // A dead target leaves rotation after 2 failed checks 10 s apart (~20 s).
            healthCheck: {
              enabled: true,
              path: service.healthCheckPath,
              protocol: "HTTP",
              matcher: "200-399",
              interval: 10,
              timeout: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 2,
            },
          },
          { parent: this },
        );
      const blue = targetGroup("blue", service.bluePort);
      const green = targetGroup("green", service.greenPort);
      this.targetGroups[service.name] = { blue, green };

      const ruleOpts = { parent: this, dependsOn: args.ruleDependsOn };
      const pathCondition = { pathPattern: { values: [service.pathPattern] } };
      this.cohortRules[service.name] = traffic.cohortRoutes.map(
        (route, i) =>
          new aws.lb.ListenerRule(
            `${name}-${service.name}-cohort-${i}`,
            {
              listenerArn: this.httpsListener.arn,
              priority: cohortRulePriority(traffic.priorityBlock, i),
              conditions: [
                pathCondition,
                { httpHeader: { httpHeaderName: route.headerName, values: route.values } },
              ],
              actions: [
                {
                  type: "forward",
                  targetGroupArn: pulumi
                    .all([forceBlue, blue.arn, green.arn])
                    .apply(([b, blueArn, greenArn]) => (b ? blueArn : greenArn)),
                },
              ],
            },
            ruleOpts,
          ),
      );

      // Both weights are always explicit numbers: a weight of 0 that is omitted or falsy is
      // read back by the provider as "unset" and the ALB treats it as 1 (a known trap).
      const greenWeight = forceBlue.apply((b) => (b ? 0 : traffic.green));
      const blueWeight = greenWeight.apply((g) => 100 - g);
      this.weightedRules[service.name] = new aws.lb.ListenerRule(
        `${name}-${service.name}-weighted`,
        {
          listenerArn: this.httpsListener.arn,
          priority: weightedRulePriority(traffic.priorityBlock),
          conditions: [pathCondition],
          actions: [
            {
              type: "forward",
              forward: {
                targetGroups: [
                  { arn: blue.arn, weight: blueWeight },
                  { arn: green.arn, weight: greenWeight },
                ],
                // Sticky only while traffic is split. Group stickiness outlives a weight change:
                // a client whose cookie names green would stay on green for its duration even at
                // weight 0, so a rollback (config or latch, both weight 0) must drop it.
                stickiness: {
                  enabled: greenWeight.apply((g) => g > 0 && g < 100),
                  duration: stickiness,
                },
              },
            },
          ],
        },
        ruleOpts,
      );
    });

    this.dnsName = this.loadBalancer.dnsName;
    this.albArnSuffix = this.loadBalancer.arnSuffix;
    this.registerOutputs({ dnsName: this.dnsName, albArnSuffix: this.albArnSuffix });
  }
}

function validate(args: TrafficRouterArgs): void {
  const names = args.services.map((s) => s.name);
  if (names.length === 0) throw new Error("TrafficRouter: services is empty; expected at least one service");
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate)
    throw new Error(`TrafficRouter: services has "${duplicate}" twice; service names must be unique`);
  const planned = args.traffic.map((t) => t.service).sort();
  if (JSON.stringify(planned) !== JSON.stringify([...names].sort())) {
    throw new Error(
      `TrafficRouter: traffic is planned for [${planned.join(", ")}] but services are [${names.join(", ")}]; plan traffic for exactly the services`,
    );
  }
  if (args.production && !args.accessLogsBucket) {
    throw new Error("TrafficRouter: accessLogsBucket is missing; production load balancers keep access logs");
  }
  const stickiness = args.stickinessSeconds ?? 3600;
  const { min, max } = ALB_STICKINESS_SECONDS;
  if (!Number.isInteger(stickiness) || stickiness < min || stickiness > max) {
    throw new Error(`TrafficRouter: stickinessSeconds is ${stickiness}; expected an integer ${min}-${max}`);
  }
  for (const t of args.traffic) {
    if (t.blue + t.green !== 100 || t.green < 0 || t.blue < 0) {
      throw new Error(
        `TrafficRouter: traffic for ${t.service} is ${t.blue}/${t.green}; expected two weights 0-100 summing to 100`,
      );
    }
    if (t.cohortRoutes.length > MAX_COHORT_RULES_PER_SERVICE) {
      throw new Error(
        `TrafficRouter: ${t.service} needs ${t.cohortRoutes.length} cohort rules; at most ${MAX_COHORT_RULES_PER_SERVICE} fit its priority block`,
      );
    }
  }
  const blocks = args.traffic.map((t) => t.priorityBlock);
  for (const t of args.traffic) {
    if (!Number.isInteger(t.priorityBlock) || t.priorityBlock < 0 || t.priorityBlock >= PRIORITY_BLOCKS) {
      throw new Error(
        `TrafficRouter: ${t.service}'s priorityBlock is ${t.priorityBlock}; expected an integer 0-${PRIORITY_BLOCKS - 1}`,
      );
    }
    if (blocks.indexOf(t.priorityBlock) !== blocks.lastIndexOf(t.priorityBlock)) {
      throw new Error(
        `TrafficRouter: priorityBlock ${t.priorityBlock} is planned for more than one service; each service needs a block of its own`,
      );
    }
  }
  const rules = args.traffic.reduce((n, t) => n + 1 + t.cohortRoutes.length, 0);
  if (rules > ALB_LIMITS.rulesPerListener) {
    throw new Error(
      `TrafficRouter: ${rules} listener rules for ${args.services.length} services; the ALB allows ${ALB_LIMITS.rulesPerListener} per listener`,
    );
  }
}
