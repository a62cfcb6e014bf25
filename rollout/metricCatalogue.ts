import { z } from "zod";
import { workloadName, type Colour } from "./names";

/**
 * The metric catalogue: which measurements a gate can name, the CloudWatch metric behind each
 * (namespace, name, dimensions, statistic), its native period, and the alarm period and window
 * a sustain time becomes. A leaf of the model: the playbook schema validates gates against it
 * and the alarm specs, the dashboard and the CLI's evidence query through it.
 */

/** CloudWatch accepts alarm periods of 10 or 30 s (high resolution) or whole minutes up to a day. */
const CLOUDWATCH_PERIOD = "expected 10, 30 or a multiple of 60 up to 86400 (seconds)";
export function isCloudWatchPeriod(seconds: number): boolean {
  return seconds === 10 || seconds === 30 || (seconds > 0 && seconds <= 86400 && seconds % 60 === 0);
}

/** Where a gate's measurement comes from; decides the CloudWatch metric (see `gateCloudWatchMetric`). */
export const GateMetric = z.discriminatedUnion("source", [
  z
    .object({
      /**
       * ALB metrics of a colour's target group, published every 60 s. `healthyHostCount` and
       * `albGeneratedErrorRate` see a green that cannot answer at all (crashed pods, failed health
       * checks), which the targets' own 5xx never show: see ALB_AVAILABILITY.
       */
      source: z.literal("alb"),
      name: z.enum([
        "errorRate",
        "p95ResponseMs",
        "averageResponseMs",
        "requestCount",
        "healthyHostCount",
        "albGeneratedErrorRate",
      ]),
    })
    .strict(),
  z
    .object({
      /** Container Insights for EKS, per service (ClusterName, Namespace, Service). */
      source: z.literal("container-insights"),
      name: z.enum(["pod_cpu_utilization", "pod_memory_utilization", "node_filesystem_utilization"]),
    })
    .strict(),
  z
    .object({
      /** Published by the application into the stack's namespace. */
      source: z.literal("custom"),
      name: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9]*$/, { message: "expected a metric name such as RowsPerSecond" }),
      statistic: z.enum(["Average", "Sum", "Maximum", "Minimum", "SampleCount", "p95", "p99"]),
      /** 10 or 30 for high-resolution metrics (needed for limits under a minute), else a multiple of 60. Default: 60. */
      periodSeconds: z
        .number({ message: CLOUDWATCH_PERIOD })
        .refine(isCloudWatchPeriod, { message: CLOUDWATCH_PERIOD })
        .optional(),
    })
    .strict(),
  z
    .object({
      /** Collected by people (surveys, bug triage) and supplied as decision evidence. No alarm. */
      source: z.literal("manual"),
    })
    .strict(),
  z
    .object({
      /** GuardDuty findings through EventBridge; no CloudWatch alarm. */
      source: z.literal("guardduty"),
      minSeverity: z.number().min(0).max(10),
    })
    .strict(),
  z
    .object({
      /**
       * The stack's custom security event (`securityEventSource(stack)`, detail-type
       * `SECURITY_EVENT_DETAIL_TYPE`), put on the default event bus by the application or a
       * security tool the moment it detects a breach; an EventBridge rule invokes the rollback
       * function. No CloudWatch alarm, and no GuardDuty publication delay.
       */
      source: z.literal("security-event"),
    })
    .strict(),
]);
export type GateMetric = z.infer<typeof GateMetric>;

/** The CloudWatch measurement behind an alarm. */
export type AlarmMetric =
  | { kind: "alb-error-rate" }
  | {
      kind: "alb";
      metricName: string;
      statistic?: string;
      extendedStatistic?: string;
      /** Published per load balancer only (no TargetGroup dimension), such as HTTPCode_ELB_5XX_Count. */
      loadBalancerOnly?: true;
    }
  | {
      kind: "container-insights";
      metricName: string;
      statistic: string;
      /** `service`: per Kubernetes Service (ClusterName, Namespace, Service); `cluster`: node metrics over the cluster (ClusterName). */
      scope: "service" | "cluster";
    }
  | { kind: "custom"; metricName: string; statistic?: string; extendedStatistic?: string }
  /** Healthy targets of the colour's group while the colour carries traffic (metric math, see ALB_AVAILABILITY). */
  | { kind: "alb-healthy-hosts" }
  /** Connections the ALB could not make to the colour's targets, as % of its requests (metric math). */
  | { kind: "alb-generated-error-rate" };

const DEFAULT_PERIOD_SECONDS = 60;

/** The ALB publishes TargetResponseTime in seconds; the playbook's response-time gates are in ms. */
const TARGET_RESPONSE_TIME_UNIT = { scale: 0.001, metricUnit: "s" };

/**
 * The Container Insights (EKS) metric behind each playbook resource gate. Pod CPU and memory
 * are measured against the pod's limit: exhaustion is about the limit the pod is throttled
 * or OOM-killed at, while `pod_cpu_utilization` is a share of the whole node. The
 * filesystem metric exists only per node (ClusterName, NodeName, InstanceId) and for the
 * cluster (ClusterName): no Service dimension, so the gate watches the fullest node.
 */
const CONTAINER_INSIGHTS_METRICS: Record<
  Extract<GateMetric, { source: "container-insights" }>["name"],
  { metricName: string; statistic: string; scope: "service" | "cluster" }
> = {
  pod_cpu_utilization: {
    metricName: "pod_cpu_utilization_over_pod_limit",
    statistic: "Average",
    scope: "service",
  },
  pod_memory_utilization: {
    metricName: "pod_memory_utilization_over_pod_limit",
    statistic: "Average",
    scope: "service",
  },
  node_filesystem_utilization: {
    metricName: "node_filesystem_utilization",
    statistic: "Maximum",
    scope: "cluster",
  },
};

/** A gate's entry in the catalogue: its CloudWatch metric, its native period and the unit conversion. */
export interface CatalogueEntry {
  metric: AlarmMetric;
  /** A value in the gate's unit times this is in the metric's unit (0.001 for ms -> s, else 1). */
  scale: number;
  /** The CloudWatch metric's unit, only where it differs from the gate's. */
  metricUnit?: string;
  /** The metric's own period (s). */
  period: number;
}

/**
 * The CloudWatch metric behind a gate, its own period, and how the gate's unit converts to the
 * metric's (`metricUnit` only where they differ). Undefined for gates CloudWatch does not watch.
 */
export function gateCloudWatchMetric(m: GateMetric): CatalogueEntry | undefined {
  switch (m.source) {
    case "alb":
      switch (m.name) {
        case "errorRate":
          return { metric: { kind: "alb-error-rate" }, scale: 1, period: DEFAULT_PERIOD_SECONDS };
        case "p95ResponseMs":
          return {
            metric: { kind: "alb", metricName: "TargetResponseTime", extendedStatistic: "p95" },
            ...TARGET_RESPONSE_TIME_UNIT,
            period: DEFAULT_PERIOD_SECONDS,
          };
        case "averageResponseMs":
          return {
            metric: { kind: "alb", metricName: "TargetResponseTime", statistic: "Average" },
            ...TARGET_RESPONSE_TIME_UNIT,
            period: DEFAULT_PERIOD_SECONDS,
          };
        case "requestCount":
          return {
            metric: { kind: "alb", metricName: "RequestCount", statistic: "Sum" },
            scale: 1,
            period: DEFAULT_PERIOD_SECONDS,
          };
        case "healthyHostCount":
          return { metric: { kind: "alb-healthy-hosts" }, scale: 1, period: DEFAULT_PERIOD_SECONDS };
        case "albGeneratedErrorRate":
          return { metric: { kind: "alb-generated-error-rate" }, scale: 1, period: DEFAULT_PERIOD_SECONDS };
      }
      break;
    case "container-insights":
      return {
        metric: { kind: "container-insights", ...CONTAINER_INSIGHTS_METRICS[m.name] },
        scale: 1,
        period: DEFAULT_PERIOD_SECONDS,
      };
    case "custom": {
      const percentile = /^p\d+$/.test(m.statistic);
      return {
        metric: percentile
          ? { kind: "custom", metricName: m.name, extendedStatistic: m.statistic }
          : { kind: "custom", metricName: m.name, statistic: m.statistic },
        scale: 1,
        period: m.periodSeconds ?? DEFAULT_PERIOD_SECONDS,
      };
    }
    case "manual":
    case "guardduty":
    case "security-event":
      return undefined;
  }
  return undefined;
}

/** The metric's own period as the gate's alarms use it; undefined for gates without a CloudWatch alarm. */
export function gateMetricPeriod(gate: { metric: GateMetric }): number | undefined {
  return gateCloudWatchMetric(gate.metric)?.period;
}

/**
 * Sustain windows of at least this long are one period: the figure over the whole window
 * ("99.9 % uptime over 24 h", a day's win rate), a rolling value CloudWatch recomputes at every
 * evaluation. As N periods that must all breach, one bad hour in a day would never alarm.
 */
export const ROLLING_WINDOW_MIN_SECONDS = 6 * 3600;

/**
 * The alarm period for a sustain window. Short windows keep the metric's own period; windows
 * from an hour use 5-minute periods; windows of ROLLING_WINDOW_MIN_SECONDS up to a day (whole
 * minutes) are a single period of their own length; longer ones hourly periods (CloudWatch
 * evaluates up to seven days of hourly periods, see cloudWatchMaxEvaluationSeconds).
 */
export function alarmPeriod(metricPeriod: number, sustainSeconds: number): number {
  if (sustainSeconds >= ROLLING_WINDOW_MIN_SECONDS) {
    if (sustainSeconds <= 86400 && sustainSeconds % 60 === 0) return sustainSeconds;
    if (sustainSeconds % 3600 === 0) return 3600;
  }
  if (sustainSeconds >= 3600 && sustainSeconds % 300 === 0) return 300;
  return Math.min(metricPeriod, sustainSeconds);
}

/** An alarm's evaluation window: Period, EvaluationPeriods (N) and DatapointsToAlarm (M). */
export interface AlarmWindow {
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
}

/**
 * The window of a gate level over a metric of `metricPeriod`: the alarm period its sustain time
 * takes, as many periods as cover it, and M of N (default: all of them).
 */
export function alarmWindow(
  metricPeriod: number,
  level: { sustainSeconds: number; datapointsToAlarm?: number },
): AlarmWindow {
  const periodSeconds = alarmPeriod(metricPeriod, level.sustainSeconds);
  const evaluationPeriods = Math.max(1, Math.ceil(level.sustainSeconds / periodSeconds));
  return {
    periodSeconds,
    evaluationPeriods,
    datapointsToAlarm: level.datapointsToAlarm ?? evaluationPeriods,
  };
}

/** Whether an alarm watches each service's green target group or pods (else one alarm for the app or cluster). */
export function isPerService(spec: { metric: AlarmMetric }): boolean {
  const m = spec.metric;
  return isAlbTargetGroupMetric(m) || (m.kind === "container-insights" && m.scope === "service");
}

/** Whether a metric is the ALB's, per target group (and so has a blue twin, see `blueAlarmSpecs`). */
export function isAlbTargetGroupMetric(m: AlarmMetric): boolean {
  return (
    m.kind === "alb" ||
    m.kind === "alb-error-rate" ||
    m.kind === "alb-healthy-hosts" ||
    m.kind === "alb-generated-error-rate"
  );
}

// ---------------------------------------------------------------------------------------
// Metric identity: what the alarms, the dashboard and the CLI's evidence all query

/**
 * Container Insights dimensions of a gate's metric: one colour's workload of a service
 * (ClusterName, Namespace, Service) or, for node metrics, the cluster (ClusterName).
 */
export function containerInsightsDimensions(
  metric: Extract<AlarmMetric, { kind: "container-insights" }>,
  cluster: { clusterName: string; namespace: string },
  service: string | undefined,
  colour: Colour,
): Record<string, string> {
  if (metric.scope === "cluster") return { ClusterName: cluster.clusterName };
  if (service === undefined) {
    throw new Error(`${metric.metricName} is published per Service: expected a service name`);
  }
  return {
    ClusterName: cluster.clusterName,
    Namespace: cluster.namespace,
    Service: workloadName(service, colour),
  };
}

/** The two sums an ALB error rate is computed from (5xx responses / requests * 100), as metrics of their own. */
export const ALB_ERROR_RATE_PARTS = {
  errors: { kind: "alb", metricName: "HTTPCode_Target_5XX_Count", statistic: "Sum" },
  requests: { kind: "alb", metricName: "RequestCount", statistic: "Sum" },
} as const satisfies Record<string, AlarmMetric>;

/**
 * The ALB metrics that see a colour that cannot answer. AWS, Elastic Load Balancing User Guide,
 * "CloudWatch metrics for your Application Load Balancer":
 * - `HealthyHostCount`: "The number of targets that are considered healthy", reported if health
 *   checks are enabled; dimensions TargetGroup, LoadBalancer. Published whether or not requests flow.
 * - `RequestCount`: "only incremented for requests where the load balancer node was able to choose
 *   a target"; dimensions include TargetGroup, LoadBalancer. A group with no healthy targets still
 *   gets requests (the ALB fails open to unhealthy targets); a group with no registered targets does not.
 * - `TargetConnectionErrorCount`: "connections that were not successfully established between the
 *   load balancer and target", reported when nonzero; dimensions include TargetGroup, LoadBalancer.
 * - `HTTPCode_ELB_5XX_Count`: 5xx "that originate from the load balancer"; dimensions LoadBalancer
 *   (and AvailabilityZone) only, never TargetGroup, so it cannot be told apart per colour: it
 *   pages on its own (`loadBalancerErrorQueries`) and never rolls back, nor makes a colour "serve".
 * "Elastic Load Balancing reports metrics to CloudWatch only when requests are flowing through
 * the load balancer": silence of the request metrics means no traffic, not an outage.
 */
export const ALB_AVAILABILITY = {
  healthyHosts: { kind: "alb", metricName: "HealthyHostCount", statistic: "Minimum" },
  requests: { kind: "alb", metricName: "RequestCount", statistic: "Sum" },
  connectionErrors: { kind: "alb", metricName: "TargetConnectionErrorCount", statistic: "Sum" },
  /** Load balancer level only (see above). */
  elbErrors: { kind: "alb", metricName: "HTTPCode_ELB_5XX_Count", statistic: "Sum", loadBalancerOnly: true },
} as const satisfies Record<string, AlarmMetric>;

/** Where a metric is published: what the alarms, the dashboard and the CLI's evidence all query. */
export interface MetricLocation<V> {
  /** The load balancer's ARN suffix and, per service, the target group's of the colour queried ("" without a service). */
  alb: { loadBalancer: V; targetGroup: V };
  cluster: { clusterName: string; namespace: string };
  /** Namespace of the application's custom metrics: `customMetricNamespace(stack)`. */
  customNamespace: string;
}

/** One CloudWatch metric: namespace, name, dimensions (in CloudWatch's order) and statistic (exactly one of the two is set). */
export interface MetricIdentity<V> {
  namespace: string;
  metricName: string;
  dimensions: Record<string, V | string>;
  statistic?: string;
  extendedStatistic?: string;
}

/**
 * The CloudWatch identity of a gate's metric for one colour (of one service, where the metric
 * is per service). The ALB error rate is metric math over two metrics: ask for each of
 * `ALB_ERROR_RATE_PARTS` instead. `V` is the type of the ALB dimension values (strings, or
 * Pulumi inputs in the program).
 */
export function metricIdentity<V>(
  metric: Extract<AlarmMetric, { kind: "alb" | "container-insights" | "custom" }>,
  where: MetricLocation<V>,
  service: string | undefined,
  colour: Colour,
): MetricIdentity<V> {
  const statistic = (m: { statistic?: string; extendedStatistic?: string }) =>
    m.extendedStatistic ? { extendedStatistic: m.extendedStatistic } : { statistic: m.statistic };
  switch (metric.kind) {
    case "alb":
      return {
        namespace: "AWS/ApplicationELB",
        metricName: metric.metricName,
        dimensions: metric.loadBalancerOnly
          ? { LoadBalancer: where.alb.loadBalancer }
          : { LoadBalancer: where.alb.loadBalancer, TargetGroup: where.alb.targetGroup },
        ...statistic(metric),
      };
    case "container-insights":
      return {
        namespace: "ContainerInsights",
        metricName: metric.metricName,
        dimensions: containerInsightsDimensions(metric, where.cluster, service, colour),
        statistic: metric.statistic,
      };
    case "custom":
      return {
        namespace: where.customNamespace,
        metricName: metric.metricName,
        dimensions: { Colour: colour },
        ...statistic(metric),
      };
  }
}
