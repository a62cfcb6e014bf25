import type {
  Comparator,
  Criterion,
  Gate,
  GateAction,
  GateMetric,
  MissingData,
  Playbook,
  Severity,
  Transition,
  Trigger,
} from "./playbook";

/**
 * Gates as CloudWatch alarms, the worst-case time from a breach to 100 % blue, and the
 * GO/NO-GO decision over evidence. Pure: the qualityGates component, the policy pack, the
 * drill simulator and `plan` all use these, so an alarm's numbers are derived in one place.
 */

export type AlarmLevel = "warning" | "critical";

/** The CloudWatch measurement behind an alarm. */
export type AlarmMetric =
  | { kind: "alb-error-rate" }
  | { kind: "alb"; metricName: string; statistic?: string; extendedStatistic?: string }
  | {
      kind: "container-insights";
      metricName: string;
      statistic: string;
      /** `service`: per Kubernetes Service (ClusterName, Namespace, Service); `cluster`: node metrics over the cluster (ClusterName). */
      scope: "service" | "cluster";
    }
  | { kind: "custom"; metricName: string; statistic?: string; extendedStatistic?: string };

export interface AlarmSpec {
  gateId: string;
  level: AlarmLevel;
  /** Stable suffix of the alarm's resource name: `<gate>-<level>`. */
  key: string;
  metric: AlarmMetric;
  comparison: "GreaterThanThreshold" | "LessThanThreshold";
  /** In the metric's own unit, `metricUnit` (ALB response time is seconds; the gate says ms). */
  threshold: number;
  /** The gate's threshold in the playbook's unit, for dashboards and messages. */
  playbookThreshold: number;
  /** The gate's (playbook's) unit. */
  unit: string;
  /** The CloudWatch metric's unit, which `threshold` is in: `unit` except for ALB response time (s). */
  metricUnit: string;
  /** A value in the playbook's unit times this is in the metric's unit (0.001 for ms -> s, else 1). */
  metricScale: number;
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: MissingData;
  action: GateAction;
  notify: Severity;
  autoRollback: boolean;
  description: string;
}

const DEFAULT_PERIOD_SECONDS = 60;

/** The ALB publishes TargetResponseTime in seconds; the playbook's response-time gates are in ms. */
const TARGET_RESPONSE_TIME_UNIT = { scale: 0.001, metricUnit: "s" };

/** Time the rollback Lambda takes from invocation to every listener rule at 100 % blue (cold start + API calls). */
export const ROLLBACK_LAMBDA_SECONDS = 10;
/** GuardDuty publishes a new finding to EventBridge within about 5 minutes of detecting it. */
export const GUARDDUTY_PUBLICATION_SECONDS = 300;

/**
 * The Container Insights (EKS) metric behind each playbook resource gate. Pod CPU and memory
 * are measured against the pod's limit: exhaustion is about the limit the pod is throttled
 * or OOM-killed at, while `pod_cpu_utilization` is a share of the whole node. The
 * filesystem metric exists only per node (ClusterName, NodeName, InstanceId) and for the
 * cluster (ClusterName): no Service dimension, so the gate watches the fullest node.
 */
const CONTAINER_INSIGHTS_METRICS: Record<
  Extract<Gate["metric"], { source: "container-insights" }>["name"],
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

/**
 * The CloudWatch metric behind a gate, its own period, and how the gate's unit converts to the
 * metric's (`metricUnit` only where they differ). Undefined for gates CloudWatch does not watch.
 */
function alarmMetric(
  m: GateMetric,
): { metric: AlarmMetric; scale: number; metricUnit?: string; period: number } | undefined {
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
      return undefined;
  }
  return undefined;
}

/** The metric's own period as the gate's alarms use it; undefined for gates without a CloudWatch alarm. */
export function gateMetricPeriod(gate: Pick<Gate, "metric">): number | undefined {
  return alarmMetric(gate.metric)?.period;
}

/**
 * The alarm period for a sustain window. Short windows keep the metric's own period; day-long
 * windows (24 h uptime) use hourly periods so the alarm stays within CloudWatch's limit of
 * one day of evaluation and a sane number of datapoints.
 */
export function alarmPeriod(metricPeriod: number, sustainSeconds: number): number {
  if (sustainSeconds >= 6 * 3600 && sustainSeconds % 3600 === 0) return 3600;
  if (sustainSeconds >= 3600 && sustainSeconds % 300 === 0) return 300;
  return Math.min(metricPeriod, sustainSeconds);
}

/** Whether a gate is watched by CloudWatch alarms (manual evidence and GuardDuty are not). */
export function hasAlarms(gate: Gate): boolean {
  return alarmMetric(gate.metric) !== undefined;
}

/** The alarms a gate needs: one per level it defines (critical, and warning where it has one). */
export function alarmSpecs(gate: Gate): AlarmSpec[] {
  const source = alarmMetric(gate.metric);
  if (!source) return [];
  const specs: AlarmSpec[] = [];
  for (const level of ["critical", "warning"] as const) {
    const spec = gate[level];
    if (!spec) continue;
    const periodSeconds = alarmPeriod(source.period, spec.sustainSeconds);
    const evaluationPeriods = Math.max(1, Math.ceil(spec.sustainSeconds / periodSeconds));
    const op = gate.breachWhen === "above" ? ">" : "<";
    specs.push({
      gateId: gate.id,
      level,
      key: `${gate.id}-${level}`,
      metric: source.metric,
      comparison: gate.breachWhen === "above" ? "GreaterThanThreshold" : "LessThanThreshold",
      threshold: roundTo(spec.threshold * source.scale, 6),
      playbookThreshold: spec.threshold,
      unit: gate.unit,
      metricUnit: source.metricUnit ?? gate.unit,
      metricScale: source.scale,
      periodSeconds,
      evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm ?? evaluationPeriods,
      treatMissingData: gate.missingData,
      action: spec.action,
      notify: spec.notify ?? level,
      autoRollback: spec.action === "auto-rollback",
      description: `${gate.name} ${op} ${spec.threshold} ${gate.unit} for ${spec.sustainSeconds} s -> ${spec.action}`,
    });
  }
  return specs;
}

// ---------------------------------------------------------------------------------------
// Names shared by the program, the policy pack and the CLI: written once, here.

/** Whether an alarm watches each service's green target group or pods (else one alarm for the app or cluster). */
export function isPerService(spec: Pick<AlarmSpec, "metric">): boolean {
  const m = spec.metric;
  return (
    m.kind === "alb" ||
    m.kind === "alb-error-rate" ||
    (m.kind === "container-insights" && m.scope === "service")
  );
}

/** CloudWatch alarm name of a gate level: `<stack>-<gate>-<level>[-<service>]`. */
export function alarmName(stack: string, spec: Pick<AlarmSpec, "key">, service?: string): string {
  return service ? `${stack}-${spec.key}-${service}` : `${stack}-${spec.key}`;
}

/** Every alarm name the specs need on this stack, per service where the metric is per service, in spec order. */
export function alarmNames(
  stack: string,
  specs: readonly Pick<AlarmSpec, "key" | "metric">[],
  services: readonly string[],
): string[] {
  return specs.flatMap((spec) =>
    isPerService(spec) ? services.map((s) => alarmName(stack, spec, s)) : [alarmName(stack, spec)],
  );
}

/** Name of the composite alarm that ORs the auto-rollback alarms and invokes the rollback Lambda. */
export function compositeAlarmName(stack: string): string {
  return `${stack}-auto-rollback`;
}

/** CloudWatch namespace of the application's custom metrics (dimension `Colour` = blue | green). */
export function customMetricNamespace(stack: string): string {
  return `StagedRollout/${stack}`;
}

/** Name of a colour's Kubernetes workload (Deployment and Service) of a service: Container Insights' `Service` dimension. */
export function workloadName(service: string, colour: "blue" | "green"): string {
  return `${service}-${colour}`;
}

/**
 * Container Insights dimensions of a gate's metric: one colour's workload of a service
 * (ClusterName, Namespace, Service) or, for node metrics, the cluster (ClusterName).
 */
export function containerInsightsDimensions(
  metric: Extract<AlarmMetric, { kind: "container-insights" }>,
  cluster: { clusterName: string; namespace: string },
  service: string | undefined,
  colour: "blue" | "green",
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
  metric: Exclude<AlarmMetric, { kind: "alb-error-rate" }>,
  where: MetricLocation<V>,
  service: string | undefined,
  colour: "blue" | "green",
): MetricIdentity<V> {
  const statistic = (m: { statistic?: string; extendedStatistic?: string }) =>
    m.extendedStatistic ? { extendedStatistic: m.extendedStatistic } : { statistic: m.statistic };
  switch (metric.kind) {
    case "alb":
      return {
        namespace: "AWS/ApplicationELB",
        metricName: metric.metricName,
        dimensions: { LoadBalancer: where.alb.loadBalancer, TargetGroup: where.alb.targetGroup },
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

/**
 * GuardDuty severity at or above which findings roll back, or undefined when no automatic
 * trigger of the playbook is fed by a GuardDuty gate whose critical level rolls back (TBS
 * treats security incidents as a manual trigger). Several such gates: the lowest wins.
 */
export function guardDutyRollbackSeverity(playbook: Playbook): number | undefined {
  const automaticGates = new Set(
    playbook.rollback.triggers.filter((t) => t.kind === "automatic").flatMap((t) => t.gates),
  );
  const severities = playbook.gates.flatMap((g) =>
    g.metric.source === "guardduty" && automaticGates.has(g.id) && g.critical?.action === "auto-rollback"
      ? [g.metric.minSeverity]
      : [],
  );
  return severities.length > 0 ? Math.min(...severities) : undefined;
}

/** Every alarm of the playbook, in gate order. */
export function playbookAlarms(playbook: Playbook): AlarmSpec[] {
  return playbook.gates.flatMap(alarmSpecs);
}

/** The alarms the composite rollback alarm ORs together. */
export function autoRollbackAlarms(playbook: Playbook): AlarmSpec[] {
  return playbookAlarms(playbook).filter((a) => a.autoRollback);
}

function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** CloudWatch evaluates standard alarms every minute, high-resolution ones every period. */
export function evaluationCadenceSeconds(periodSeconds: number): number {
  return periodSeconds < 60 ? periodSeconds : 60;
}

/**
 * Worst case from breach to 100 % blue for one alarm: the breach can start just after a
 * period began, so `evaluationPeriods` full periods must pass, then the alarm waits for its
 * next evaluation, then the Lambda runs.
 */
export function alarmWorstCaseSeconds(alarm: Pick<AlarmSpec, "periodSeconds" | "evaluationPeriods">): number {
  return (
    alarm.periodSeconds * alarm.evaluationPeriods +
    evaluationCadenceSeconds(alarm.periodSeconds) +
    ROLLBACK_LAMBDA_SECONDS
  );
}

export interface TriggerLatency {
  id: string;
  name: string;
  limitSeconds: number;
  worstCaseSeconds: number;
  meets: boolean;
  /** Which path bounds the worst case and, when it misses, why. */
  explanation: string;
}

/** Detection latency of every automatic trigger against its limit (or the playbook's rollback limit). */
export function triggerLatencies(playbook: Playbook): TriggerLatency[] {
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));
  return playbook.rollback.triggers
    .filter((t) => t.kind === "automatic")
    .map((trigger) => triggerLatency(trigger, gates, playbook.rollback.limitSeconds));
}

function triggerLatency(trigger: Trigger, gates: Map<string, Gate>, defaultLimit: number): TriggerLatency {
  const limitSeconds = trigger.limitSeconds ?? defaultLimit;
  const paths: { seconds: number; why: string; fix: string }[] = [];
  for (const gateId of trigger.gates) {
    const gate = gates.get(gateId)!;
    if (gate.metric.source === "guardduty") {
      paths.push({
        seconds: GUARDDUTY_PUBLICATION_SECONDS + ROLLBACK_LAMBDA_SECONDS,
        why: `${gateId}: GuardDuty publishes findings to EventBridge up to ${GUARDDUTY_PUBLICATION_SECONDS} s after detection, then the Lambda runs (${ROLLBACK_LAMBDA_SECONDS} s)`,
        fix: "GuardDuty's own publication delay exceeds the limit; only a detector in the application publishing a 10 s custom metric could meet it",
      });
      continue;
    }
    const critical = alarmSpecs(gate).find((a) => a.level === "critical" && a.autoRollback);
    if (!critical) continue;
    const seconds = alarmWorstCaseSeconds(critical);
    const source =
      gate.metric.source === "alb" ? "ALB metrics are 60-second" : `${critical.periodSeconds}-second metric`;
    paths.push({
      seconds,
      why: `${gateId}: ${source}, ${critical.evaluationPeriods} x ${critical.periodSeconds} s + ${evaluationCadenceSeconds(critical.periodSeconds)} s evaluation + ${ROLLBACK_LAMBDA_SECONDS} s Lambda`,
      fix:
        gate.metric.source === "alb" || gate.metric.source === "container-insights"
          ? "per-minute AWS metrics cannot be faster; the application must publish a high-resolution (10 s) custom metric for it"
          : "shorten the gate's sustain window or publish the metric at high resolution (10 s)",
    });
  }
  // The slowest path bounds the trigger: a breach only that path sees waits that long.
  const worst = paths.reduce((a, b) => (b.seconds > a.seconds ? b : a), {
    seconds: 0,
    why: "no automatic path",
    fix: "",
  });
  const meets = paths.length > 0 && worst.seconds <= limitSeconds;
  const explanation = meets
    ? worst.why
    : paths.length === 0
      ? "no gate feeds this trigger"
      : `${worst.why}; ${worst.fix}`;
  return {
    id: trigger.id,
    name: trigger.name,
    limitSeconds,
    worstCaseSeconds: worst.seconds,
    meets,
    explanation,
  };
}

// ---------------------------------------------------------------------------------------
// GO / NO-GO decisions

export interface CriterionResult {
  id: string;
  description: string;
  op: Comparator;
  threshold: number;
  unit?: string;
  value: number | undefined;
  pass: boolean;
  /** Why it failed, or "ok". */
  reason: string;
}

export interface DecisionResult {
  from: string;
  to: string;
  decision: "GO" | "NO-GO";
  rule: string;
  passed: number;
  required: number;
  total: number;
  results: CriterionResult[];
}

export function compare(value: number, op: Comparator, threshold: number): boolean {
  switch (op) {
    case ">=":
      return value >= threshold;
    case ">":
      return value > threshold;
    case "<=":
      return value <= threshold;
    case "<":
      return value < threshold;
    case "=":
      return value === threshold;
  }
}

export function evaluateCriterion(criterion: Criterion, value: number | undefined): CriterionResult {
  const base = {
    id: criterion.id,
    description: criterion.description,
    op: criterion.op,
    threshold: criterion.value,
    unit: criterion.unit,
    value,
  };
  if (value === undefined) return { ...base, pass: false, reason: `no evidence for ${criterion.id}` };
  const pass = compare(value, criterion.op, criterion.value);
  return {
    ...base,
    pass,
    reason: pass ? "ok" : `${value} is not ${criterion.op} ${criterion.value}`,
  };
}

export function describeRule(transition: Transition): string {
  return transition.rule.type === "all"
    ? `ALL ${transition.criteria.length}`
    : `${transition.rule.count} of ${transition.criteria.length}`;
}

/** Evidence -> per-criterion pass/fail -> GO/NO-GO under the transition's rule. */
export function decide(transition: Transition, evidence: Readonly<Record<string, number>>): DecisionResult {
  const results = transition.criteria.map((c) => evaluateCriterion(c, evidence[c.id]));
  const passed = results.filter((r) => r.pass).length;
  const required = transition.rule.type === "all" ? transition.criteria.length : transition.rule.count;
  return {
    from: transition.from,
    to: transition.to,
    decision: passed >= required ? "GO" : "NO-GO",
    rule: describeRule(transition),
    passed,
    required,
    total: transition.criteria.length,
    results,
  };
}

/** Evidence keys outside `known`: a typo must not pass silently. */
export function evidenceOutside(
  evidence: Readonly<Record<string, number>>,
  known: readonly string[],
): string[] {
  const ids = new Set(known);
  return Object.keys(evidence).filter((k) => !ids.has(k));
}

/**
 * Evidence keys no criterion of the transition knows. `alsoKnown` adds ids read by something
 * else from the same evidence (the phase's rollback triggers' gates).
 */
export function unknownEvidence(
  transition: Transition,
  evidence: Readonly<Record<string, number>>,
  alsoKnown: readonly string[] = [],
): string[] {
  return evidenceOutside(evidence, [...transition.criteria.map((c) => c.id), ...alsoKnown]);
}
