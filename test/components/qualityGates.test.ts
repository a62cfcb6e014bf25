import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { layOut } from "../../components/qualityGates";
import { endpointAutoConfirms } from "../../components/alerts";
import * as pulumi from "@pulumi/pulumi";
import {
  AutoRollback,
  guardDutyEventPattern,
  listenerRuleArnPattern,
  rollbackBundle,
  UNSCOPABLE_STATEMENTS,
} from "../../components/autoRollback";
import { parseRollbackEnvironment } from "../../rollout/lambdaEnvironment";
import { loadStackFile } from "../../rollout/loaders";
import type { StackFile } from "../../rollout/stackFile";
import { autoName } from "../../cli/mockEngine";
import { planStack, type PlanResult } from "../../cli/offlinePlan";
import { ResourceRecorder } from "../support/mocks";

type Inputs = Record<string, any>;
const alarms = (r: PlanResult) =>
  new Map(
    r.resources
      .filter((x) => x.type === "aws:cloudwatch/metricAlarm:MetricAlarm")
      .map((x) => [x.inputs.name as string, x.inputs as Inputs]),
  );
const ofType = (r: PlanResult, type: string) => r.resources.filter((x) => x.type === type);
const named = (r: PlanResult, name: string) => {
  const found = r.resources.filter((x) => x.name === name);
  assert.equal(found.length, 1, name);
  return found[0]!.inputs as Inputs;
};
/** `targetgroup/<name>/<id>` of a recorded target group, as the mock engine derives it from its name. */
const targetGroupSuffix = (r: PlanResult, service: string, colour: string) => {
  const tg = ofType(r, "aws:lb/targetGroup:TargetGroup").filter((x) =>
    (x.inputs.name as string).startsWith(`production-${service}-${colour}-`),
  );
  assert.equal(tg.length, 1, `${service}-${colour}`);
  return `targetgroup/${(tg[0]!.inputs.name as string).slice(0, 32)}/0123456789abcdef`;
};
const TOPIC = (severity: string) =>
  `arn:aws:sns:eu-west-1:123456789012:${autoName("aws:sns/topic:Topic", `alerts-${severity}`)}`;
const ROLLBACK_FN = "arn:aws:lambda:eu-west-1:123456789012:function:production-auto-rollback";
const telegramVariant = (changes: Record<string, string> = {}) =>
  variant({
    playbook: "telegram-money-bot",
    phase: "staging-deployment",
    decisions: "[]",
    signoffs: "{}",
    ...changes,
  });
const one = (r: PlanResult, type: string) => {
  const found = r.resources.filter((x) => x.type === type);
  assert.equal(found.length, 1, type);
  return found[0]!.inputs as Inputs;
};

function variant(changes: Record<string, string>): StackFile {
  const file = loadStackFile("production");
  const config = { ...file.config };
  for (const [k, v] of Object.entries(changes)) config[`rollout:${k}`] = v;
  return { ...file, config };
}

/** [comparison, threshold, period, evaluationPeriods, datapointsToAlarm, treatMissingData] */
function shape(a: Inputs) {
  const period = a.period ?? a.metricQueries?.[0]?.metric?.period;
  return [
    a.comparisonOperator,
    a.threshold,
    period,
    a.evaluationPeriods,
    a.datapointsToAlarm,
    a.treatMissingData,
  ];
}

/**
 * One alarm as a table row: [name, metric (namespace, name, dimensions; or each query of the
 * metric math, `(returned)` marking the one alarmed on), statistic ("math" for metric math),
 * comparison, threshold, period s, evaluationPeriods, datapointsToAlarm, treatMissingData, the
 * topic its alarm and OK actions notify]. Dimension values that are ARNs read as what they name.
 */
type AlarmRow = [string, string, string, string, number, number, number, number, string, string];
const ALARM_INPUTS = new Set([
  "name",
  "alarmDescription",
  "comparisonOperator",
  "threshold",
  "evaluationPeriods",
  "datapointsToAlarm",
  "treatMissingData",
  "actionsEnabled",
  "alarmActions",
  "okActions",
  "namespace",
  "metricName",
  "dimensions",
  "period",
  "statistic",
  "extendedStatistic",
  "metricQueries",
]);
function alarmRows(r: PlanResult): AlarmRow[] {
  const readable = new Map<string, string>([
    [`app/${autoName("aws:lb/loadBalancer:LoadBalancer", "router-alb")}/0123456789abcdef`, "the ALB"],
  ]);
  for (const service of ["web", "api"])
    for (const colour of ["blue", "green"])
      readable.set(targetGroupSuffix(r, service, colour), `${service}-${colour} target group`);
  const topics = new Map(["critical", "warning", "info"].map((s) => [TOPIC(s), s]));
  const metric = (m: Inputs) =>
    `${m.namespace} ${m.metricName} {${Object.entries(m.dimensions as Record<string, string>)
      .map(([k, v]) => `${k}=${readable.get(v) ?? v}`)
      .join(",")}}`;
  return [...alarms(r).entries()].map(([name, a]) => {
    for (const key of Object.keys(a)) assert.ok(ALARM_INPUTS.has(key), `${name}: unexpected input ${key}`);
    assert.equal(a.actionsEnabled, true, name);
    assert.deepEqual(a.okActions, a.alarmActions, `${name}: OK goes where ALARM goes`);
    assert.equal(a.alarmActions.length, 1, name);
    const queries = a.metricQueries as Inputs[] | undefined;
    const periods = queries
      ? [...new Set(queries.filter((q) => q.metric).map((q) => q.metric.period))]
      : [a.period];
    assert.equal(periods.length, 1, `${name}: one period`);
    return [
      name,
      queries
        ? queries
            .map((q) =>
              q.metric
                ? `${q.id}=${metric(q.metric)} ${q.metric.stat}`
                : `${q.id}=${q.expression}${q.returnData ? " (returned)" : ""}`,
            )
            .join("; ")
        : metric(a),
      queries ? "math" : (a.statistic ?? a.extendedStatistic),
      a.comparisonOperator,
      a.threshold,
      periods[0],
      a.evaluationPeriods,
      a.datapointsToAlarm,
      a.treatMissingData,
      topics.get(a.alarmActions[0]) ?? a.alarmActions[0],
    ];
  });
}

const byName = (rows: AlarmRow[]) => [...rows].sort((a, b) => a[0].localeCompare(b[0]));

/*
 * Every alarm of the production plan, from the playbooks' gates (playbooks/*.yaml): thresholds
 * in the gate's unit (latency in seconds, as the ALB reports it), sustainSeconds as period x
 * evaluationPeriods (all datapoints must breach), the gate's missingData, and the topic of the
 * level's notify (alert and review levels of a critical gate page the critical topic).
 */
// prettier-ignore
const TBS_ALARMS: AlarmRow[] = [
["production-albGeneratedErrors-blue-api","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-albGeneratedErrors-blue-web","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-albGeneratedErrors-critical-api","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-albGeneratedErrors-critical-web","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-cpuUtilization-critical-api","ContainerInsights pod_cpu_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=api-green}","Average","GreaterThanThreshold",95,60,5,5,"missing","critical"],
  ["production-cpuUtilization-critical-web","ContainerInsights pod_cpu_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=web-green}","Average","GreaterThanThreshold",95,60,5,5,"missing","critical"],
  ["production-cpuUtilization-warning-api","ContainerInsights pod_cpu_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=api-green}","Average","GreaterThanThreshold",85,60,10,10,"missing","warning"],
  ["production-cpuUtilization-warning-web","ContainerInsights pod_cpu_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=web-green}","Average","GreaterThanThreshold",85,60,10,10,"missing","warning"],
  ["production-dataIntegrityErrors-critical","StagedRollout/production DataIntegrityErrors {Colour=green}","Sum","GreaterThanThreshold",0,60,1,1,"notBreaching","critical"],
  ["production-dbConnectionFailures-critical","StagedRollout/production DbConnectionFailures {Colour=green}","Sum","GreaterThanThreshold",3,60,1,1,"notBreaching","critical"],
  ["production-dbConnectionPoolUtilization-warning","StagedRollout/production DbConnectionPoolUtilization {Colour=green}","Average","GreaterThanThreshold",80,60,5,5,"missing","warning"],
  ["production-diskFreePercent-critical","StagedRollout/production DiskFreePercent {Colour=green}","Minimum","LessThanThreshold",15,60,5,5,"missing","critical"],
  ["production-errorRate-blue-api","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-errorRate-blue-web","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-errorRate-critical-api","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-errorRate-critical-web","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,5,5,"notBreaching","critical"],
  ["production-errorRate-warning-api","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",3,60,5,5,"notBreaching","warning"],
  ["production-errorRate-warning-web","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",3,60,5,5,"notBreaching","warning"],
  ["production-healthyHosts-blue-api","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-healthyHosts-blue-web","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-healthyHosts-critical-api","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-healthyHosts-critical-web","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-memoryUtilization-critical-api","ContainerInsights pod_memory_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=api-green}","Average","GreaterThanThreshold",95,60,5,5,"missing","critical"],
  ["production-memoryUtilization-critical-web","ContainerInsights pod_memory_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=web-green}","Average","GreaterThanThreshold",95,60,5,5,"missing","critical"],
  ["production-memoryUtilization-warning-api","ContainerInsights pod_memory_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=api-green}","Average","GreaterThanThreshold",90,60,1,1,"missing","critical"],
  ["production-memoryUtilization-warning-web","ContainerInsights pod_memory_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=web-green}","Average","GreaterThanThreshold",90,60,1,1,"missing","critical"],
  ["production-p95ResponseMs-blue-api","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=api-blue target group}","p95","GreaterThanThreshold",0.3,60,5,5,"notBreaching","critical"],
  ["production-p95ResponseMs-blue-web","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=web-blue target group}","p95","GreaterThanThreshold",0.3,60,5,5,"notBreaching","critical"],
  ["production-p95ResponseMs-critical-api","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=api-green target group}","p95","GreaterThanThreshold",0.3,60,5,5,"notBreaching","critical"],
  ["production-p95ResponseMs-critical-web","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=web-green target group}","p95","GreaterThanThreshold",0.3,60,5,5,"notBreaching","critical"],
  ["production-p95ResponseMs-warning-api","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=api-green target group}","p95","GreaterThanThreshold",0.25,60,5,5,"notBreaching","warning"],
  ["production-p95ResponseMs-warning-web","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=web-green target group}","p95","GreaterThanThreshold",0.25,60,5,5,"notBreaching","warning"],
  ["production-rowsPerSecond-critical","gate=StagedRollout/production RowsPerSecond {Colour=green} Average; requests1=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests2=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; serving=FILL(requests1, 0) + FILL(requests2, 0); value=IF(serving > 0, FILL(gate, 0), 27977) (returned)","math","LessThanThreshold",27977,60,10,10,"missing","critical"],
  ["production-rowsPerSecond-warning","gate=StagedRollout/production RowsPerSecond {Colour=green} Average; requests1=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests2=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; serving=FILL(requests1, 0) + FILL(requests2, 0); value=IF(serving > 0, FILL(gate, 0), 29842) (returned)","math","LessThanThreshold",29842,60,10,10,"missing","warning"],
  ["production-sessionSuccessRate-critical","gate=StagedRollout/production SessionSuccessRate {Colour=green} Average; requests1=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests2=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; serving=FILL(requests1, 0) + FILL(requests2, 0); value=IF(serving > 0, FILL(gate, 0), 85) (returned)","math","LessThanThreshold",85,60,5,5,"missing","critical"],
  ["production-sessionSuccessRate-warning","gate=StagedRollout/production SessionSuccessRate {Colour=green} Average; requests1=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests2=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; serving=FILL(requests1, 0) + FILL(requests2, 0); value=IF(serving > 0, FILL(gate, 0), 90) (returned)","math","LessThanThreshold",90,60,5,5,"missing","warning"],
  ["production-uptimePercent-critical","StagedRollout/production UptimePercent {Colour=green}","Average","LessThanThreshold",99.9,86400,1,1,"missing","critical"],
  // The rollback function's own alarms (AutoRollback): its errors and its dead-letter queue page critical.
  ["production-rollback-dead-letters", "AWS/SQS ApproximateNumberOfMessagesVisible {QueueName=auto-rollback-dlq-e19f1bf}", "Maximum", "GreaterThanThreshold", 0, 60, 1, 1, "notBreaching", "critical"],
  ["production-rollback-function-errors", "AWS/Lambda Errors {FunctionName=production-auto-rollback}", "Sum", "GreaterThanThreshold", 0, 60, 1, 1, "notBreaching", "critical"],
  // The load balancer's own 5xx (per load balancer only: the colour is unknown) page critical, at the error rate's critical level.
  ["production-loadBalancer5xx", "elb5xx=AWS/ApplicationELB HTTPCode_ELB_5XX_Count {LoadBalancer=the ALB} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB} Sum; answered=FILL(requests, 0) + FILL(elb5xx, 0); value=IF(answered > 0, 100 * FILL(elb5xx, 0) / answered, 0) (returned)", "math", "GreaterThanThreshold", 5, 60, 5, 5, "notBreaching", "critical"],
];
// prettier-ignore
const TELEGRAM_ALARMS: AlarmRow[] = [
["production-albGeneratedErrors-blue-api","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-albGeneratedErrors-blue-web","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-albGeneratedErrors-critical-api","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-albGeneratedErrors-critical-web","requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; connErrors=AWS/ApplicationELB TargetConnectionErrorCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; served=FILL(requests, 0); value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0) (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-circuitBreakerOpen-critical","StagedRollout/production CircuitBreakerOpen {Colour=green}","Maximum","GreaterThanThreshold",0,30,1,1,"missing","critical"],
  ["production-cpuUtilization-critical-api","ContainerInsights pod_cpu_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=api-green}","Average","GreaterThanThreshold",80,60,5,5,"missing","critical"],
  ["production-cpuUtilization-critical-web","ContainerInsights pod_cpu_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=web-green}","Average","GreaterThanThreshold",80,60,5,5,"missing","critical"],
  ["production-criticalErrors-critical","StagedRollout/production CriticalErrors {Colour=green}","Sum","GreaterThanThreshold",0,10,1,1,"notBreaching","critical"],
  ["production-dataCorruption-critical","StagedRollout/production DataIntegrityErrors {Colour=green}","Sum","GreaterThanThreshold",0,10,1,1,"notBreaching","critical"],
  ["production-dbQueryMs-warning","StagedRollout/production DbQueryMs {Colour=green}","p95","GreaterThanThreshold",50,60,5,5,"notBreaching","warning"],
  ["production-diskUtilization-critical","ContainerInsights node_filesystem_utilization {ClusterName=tbs-production}","Maximum","GreaterThanThreshold",90,60,5,5,"missing","critical"],
  ["production-errorRate-blue-api","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-errorRate-blue-web","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-errorRate-critical-api","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-errorRate-critical-web","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",5,60,1,1,"notBreaching","critical"],
  ["production-errorRate-warning-api","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",1,60,5,5,"notBreaching","warning"],
  ["production-errorRate-warning-web","errors=AWS/ApplicationELB HTTPCode_Target_5XX_Count {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; errorRate=errors / requests * 100 (returned)","math","GreaterThanThreshold",1,60,5,5,"notBreaching","warning"],
  ["production-healthyHosts-blue-api","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-blue target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-healthyHosts-blue-web","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-blue target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-healthyHosts-critical-api","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=api-green target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-healthyHosts-critical-web","hosts=AWS/ApplicationELB HealthyHostCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Minimum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB,TargetGroup=web-green target group} Sum; value=IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1) (returned)","math","LessThanThreshold",1,60,2,2,"notBreaching","critical"],
  ["production-maxDrawdown-critical","StagedRollout/production DrawdownPercent {Colour=green}","Maximum","GreaterThanThreshold",5,60,1,1,"ignore","critical"],
  ["production-memoryUtilization-critical-api","ContainerInsights pod_memory_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=api-green}","Average","GreaterThanThreshold",85,60,5,5,"missing","critical"],
  ["production-memoryUtilization-critical-web","ContainerInsights pod_memory_utilization_over_pod_limit {ClusterName=tbs-production,Namespace=tbs,Service=web-green}","Average","GreaterThanThreshold",85,60,5,5,"missing","critical"],
  ["production-p95LatencyMs-blue-api","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=api-blue target group}","p95","GreaterThanThreshold",1,60,3,3,"notBreaching","critical"],
  ["production-p95LatencyMs-blue-web","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=web-blue target group}","p95","GreaterThanThreshold",1,60,3,3,"notBreaching","critical"],
  ["production-p95LatencyMs-critical-api","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=api-green target group}","p95","GreaterThanThreshold",1,60,3,3,"notBreaching","critical"],
  ["production-p95LatencyMs-critical-web","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=web-green target group}","p95","GreaterThanThreshold",1,60,3,3,"notBreaching","critical"],
  ["production-p95LatencyMs-warning-api","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=api-green target group}","p95","GreaterThanThreshold",0.2,60,5,5,"notBreaching","warning"],
  ["production-p95LatencyMs-warning-web","AWS/ApplicationELB TargetResponseTime {LoadBalancer=the ALB,TargetGroup=web-green target group}","p95","GreaterThanThreshold",0.2,60,5,5,"notBreaching","warning"],
  ["production-profitFactor-critical","StagedRollout/production ProfitFactor {Colour=green}","Average","LessThanThreshold",2,86400,1,1,"ignore","critical"],
  ["production-queueDepth-critical","StagedRollout/production QueueDepth {Colour=green}","Maximum","GreaterThanThreshold",1000,60,5,5,"missing","critical"],
  ["production-unhealthyServices-critical","StagedRollout/production UnhealthyServices {Colour=green}","Maximum","GreaterThanThreshold",0,60,1,1,"breaching","critical"],
  ["production-uptimePercent-critical","StagedRollout/production UptimePercent {Colour=green}","Average","LessThanThreshold",99.9,86400,1,1,"missing","critical"],
  ["production-winRate-critical","StagedRollout/production WinRate {Colour=green}","Average","LessThanThreshold",80,86400,1,1,"ignore","critical"],
  // The rollback function's own alarms (AutoRollback): its errors and its dead-letter queue page critical.
  ["production-rollback-dead-letters", "AWS/SQS ApproximateNumberOfMessagesVisible {QueueName=auto-rollback-dlq-e19f1bf}", "Maximum", "GreaterThanThreshold", 0, 60, 1, 1, "notBreaching", "critical"],
  ["production-rollback-function-errors", "AWS/Lambda Errors {FunctionName=production-auto-rollback}", "Sum", "GreaterThanThreshold", 0, 60, 1, 1, "notBreaching", "critical"],
  // The load balancer's own 5xx (per load balancer only: the colour is unknown) page critical, at the error rate's critical level.
  ["production-loadBalancer5xx", "elb5xx=AWS/ApplicationELB HTTPCode_ELB_5XX_Count {LoadBalancer=the ALB} Sum; requests=AWS/ApplicationELB RequestCount {LoadBalancer=the ALB} Sum; answered=FILL(requests, 0) + FILL(elb5xx, 0); value=IF(answered > 0, 100 * FILL(elb5xx, 0) / answered, 0) (returned)", "math", "GreaterThanThreshold", 5, 60, 1, 1, "notBreaching", "critical"],
];

describe("quality gates: TBS in production", () => {
  let plan: PlanResult;
  before(async () => {
    plan = await planStack(loadStackFile("production"));
  });

  it("builds exactly the playbook's 37 alarms (green's, and blue's twins of the ALB gates), the load balancer's 5xx and the rollback function's 2, every input as in the table", () => {
    assert.deepEqual(byName(alarmRows(plan)), byName(TBS_ALARMS));
  });

  it("acceptance: every green target group has a healthy-host alarm in the rollback composite and an ALB-generated-errors alarm; every blue target group is alarmed with actions", () => {
    const all = [...alarms(plan).entries()];
    const rule = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm").alarmRule as string;
    const watching = (group: string) =>
      all.filter(([, a]) =>
        (a.metricQueries ?? [{ metric: { dimensions: a.dimensions } }]).some(
          (q: Inputs) => q.metric?.dimensions?.TargetGroup === group,
        ),
      );
    const metricsOf = (a: Inputs) =>
      (a.metricQueries as Inputs[] | undefined)?.flatMap((q) => (q.metric ? [q.metric.metricName] : [])) ?? [
        a.metricName,
      ];
    for (const service of ["web", "api"]) {
      const green = watching(targetGroupSuffix(plan, service, "green"));
      const healthy = green.filter(([, a]) => metricsOf(a).includes("HealthyHostCount"));
      assert.equal(healthy.length, 1, `${service}: one healthy-host alarm on green`);
      assert.ok(rule.includes(`ALARM("${healthy[0]![0]}")`), `${service}: the composite rolls back on it`);
      const generated = green.filter(([, a]) => metricsOf(a).includes("TargetConnectionErrorCount"));
      assert.equal(generated.length, 1, `${service}: one ALB-generated-errors alarm on green`);
      assert.ok(rule.includes(`ALARM("${generated[0]![0]}")`), `${service}: the composite rolls back on it`);
      const blue = watching(targetGroupSuffix(plan, service, "blue"));
      assert.deepEqual(
        blue
          .map(([, a]) => metricsOf(a).filter((m) => m !== "RequestCount" && m !== "HTTPCode_ELB_5XX_Count"))
          .sort(),
        [
          ["HTTPCode_Target_5XX_Count"],
          ["HealthyHostCount"],
          ["TargetConnectionErrorCount"],
          ["TargetResponseTime"],
        ],
        `${service}: blue's error rate, healthy hosts, ALB-generated errors and latency`,
      );
      for (const [name, a] of blue) {
        assert.deepEqual([a.actionsEnabled, a.alarmActions], [true, [TOPIC("critical")]], name);
        assert.ok(!rule.includes(name), `${name}: blue never rolls back`);
      }
    }
  });

  it("alarms carry the document's thresholds and windows", () => {
    const a = alarms(plan);
    assert.deepEqual(shape(a.get("production-errorRate-critical-web")!), [
      "GreaterThanThreshold",
      5,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-errorRate-warning-api")!), [
      "GreaterThanThreshold",
      3,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-rowsPerSecond-critical")!), [
      "LessThanThreshold",
      27977,
      60,
      10,
      10,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-rowsPerSecond-warning")!), [
      "LessThanThreshold",
      29842,
      60,
      10,
      10,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-p95ResponseMs-critical-web")!), [
      "GreaterThanThreshold",
      0.3,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-dbConnectionFailures-critical")!), [
      "GreaterThanThreshold",
      3,
      60,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-cpuUtilization-critical-api")!), [
      "GreaterThanThreshold",
      95,
      60,
      5,
      5,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-memoryUtilization-critical-web")!), [
      "GreaterThanThreshold",
      95,
      60,
      5,
      5,
      "missing",
    ]);
    // "99.9 % over a 24 h period": one rolling 86,400 s period, so one bad hour counts.
    assert.deepEqual(shape(a.get("production-uptimePercent-critical")!), [
      "LessThanThreshold",
      99.9,
      86400,
      1,
      1,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-sessionSuccessRate-critical")!), [
      "LessThanThreshold",
      85,
      60,
      5,
      5,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-sessionSuccessRate-warning")!), [
      "LessThanThreshold",
      90,
      60,
      5,
      5,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-dataIntegrityErrors-critical")!), [
      "GreaterThanThreshold",
      0,
      60,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-p95ResponseMs-warning-api")!), [
      "GreaterThanThreshold",
      0.25,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-memoryUtilization-warning-web")!), [
      "GreaterThanThreshold",
      90,
      60,
      1,
      1,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-cpuUtilization-warning-web")!), [
      "GreaterThanThreshold",
      85,
      60,
      10,
      10,
      "missing",
    ]);
    // 9 app-wide alarms + 10 per-service green levels and 4 blue twins, x 2 services + the load balancer's + the function's 2.
    assert.equal(a.size, 9 + (10 + 4) * 2 + 1 + 2);
  });

  it("measures each metric where the document means it", () => {
    const a = alarms(plan);
    const errorRate = a.get("production-errorRate-critical-web")!;
    assert.deepEqual(
      errorRate.metricQueries.map((q: Inputs) => q.expression ?? `${q.metric.metricName}/${q.metric.stat}`),
      ["HTTPCode_Target_5XX_Count/Sum", "RequestCount/Sum", "errors / requests * 100"],
    );
    for (const query of errorRate.metricQueries.slice(0, 2)) {
      assert.deepEqual(query.metric.dimensions, {
        LoadBalancer: `app/${autoName("aws:lb/loadBalancer:LoadBalancer", "router-alb")}/0123456789abcdef`,
        TargetGroup: targetGroupSuffix(plan, "web", "green"),
      });
      assert.equal(query.metric.period, 60);
    }
    const p95 = a.get("production-p95ResponseMs-critical-api")!;
    assert.deepEqual(
      [p95.namespace, p95.metricName, p95.extendedStatistic],
      ["AWS/ApplicationELB", "TargetResponseTime", "p95"],
    );
    // Throughput is judged while green carries traffic: green's requests to every service gate it.
    const rows = a.get("production-rowsPerSecond-critical")!;
    assert.deepEqual(rows.metricQueries, [
      {
        id: "gate",
        metric: {
          namespace: "StagedRollout/production",
          metricName: "RowsPerSecond",
          dimensions: { Colour: "green" },
          period: 60,
          stat: "Average",
        },
        returnData: false,
      },
      ...(["web", "api"] as const).map((service, i) => ({
        id: `requests${i + 1}`,
        metric: {
          namespace: "AWS/ApplicationELB",
          metricName: "RequestCount",
          dimensions: {
            LoadBalancer: `app/${autoName("aws:lb/loadBalancer:LoadBalancer", "router-alb")}/0123456789abcdef`,
            TargetGroup: targetGroupSuffix(plan, service, "green"),
          },
          period: 60,
          stat: "Sum",
        },
        returnData: false,
      })),
      {
        id: "serving",
        expression: "FILL(requests1, 0) + FILL(requests2, 0)",
        label: "green requests (web, api)",
        returnData: false,
      },
      {
        id: "value",
        expression: "IF(serving > 0, FILL(gate, 0), 27977)",
        label: "green RowsPerSecond while serving",
        returnData: true,
      },
    ]);
    // Green "serves" on its own requests only; every metric query returns no data but the value (PutMetricAlarm: exactly one returns).
    const hosts = a.get("production-healthyHosts-critical-api")!;
    assert.deepEqual(
      hosts.metricQueries.map((q: Inputs) =>
        q.metric
          ? [q.id, Object.keys(q.metric.dimensions), q.returnData]
          : [q.id, q.expression, q.returnData],
      ),
      [
        ["hosts", ["LoadBalancer", "TargetGroup"], false],
        ["requests", ["LoadBalancer", "TargetGroup"], false],
        ["value", "IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1)", true],
      ],
    );
    // HTTPCode_ELB_5XX_Count has no TargetGroup dimension (ELB User Guide, ALB metrics): the load balancer's alarm pages on it alone.
    const lb = a.get("production-loadBalancer5xx")!;
    assert.deepEqual(
      [lb.alarmActions, lb.metricQueries.map((q: Inputs) => (q.metric ? q.metric.dimensions : q.expression))],
      [
        [TOPIC("critical")],
        [
          {
            LoadBalancer: `app/${autoName("aws:lb/loadBalancer:LoadBalancer", "router-alb")}/0123456789abcdef`,
          },
          {
            LoadBalancer: `app/${autoName("aws:lb/loadBalancer:LoadBalancer", "router-alb")}/0123456789abcdef`,
          },
          "FILL(requests, 0) + FILL(elb5xx, 0)",
          "IF(answered > 0, 100 * FILL(elb5xx, 0) / answered, 0)",
        ],
      ],
    );
    // Share of the pod's limit, per colour workload: the dimension set Container Insights publishes per Service.
    for (const [alarm, metricName] of [
      ["production-cpuUtilization-critical-web", "pod_cpu_utilization_over_pod_limit"],
      ["production-memoryUtilization-warning-api", "pod_memory_utilization_over_pod_limit"],
    ] as const) {
      const x = a.get(alarm)!;
      assert.deepEqual(
        [x.namespace, x.metricName, x.statistic, x.period, x.dimensions],
        [
          "ContainerInsights",
          metricName,
          "Average",
          60,
          {
            ClusterName: "tbs-production",
            Namespace: "tbs",
            Service: alarm.endsWith("-web") ? "web-green" : "api-green",
          },
        ],
        alarm,
      );
    }
  });

  it("sends each alarm to its severity's topic and the composite to the Lambda and critical", () => {
    const a = alarms(plan);
    const wiring = (name: string) => {
      const x = a.get(name)!;
      return [x.actionsEnabled, x.alarmActions, x.okActions];
    };
    assert.deepEqual(wiring("production-errorRate-critical-web"), [
      true,
      [TOPIC("critical")],
      [TOPIC("critical")],
    ]);
    assert.deepEqual(wiring("production-errorRate-warning-web"), [
      true,
      [TOPIC("warning")],
      [TOPIC("warning")],
    ]);
    // "memory_usage_critical: 90% immediate alert": the warning level notifies critical.
    assert.deepEqual(wiring("production-memoryUtilization-warning-api"), [
      true,
      [TOPIC("critical")],
      [TOPIC("critical")],
    ]);
    const composite = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm");
    assert.deepEqual(
      [composite.alarmName, composite.actionsEnabled, composite.alarmActions, composite.okActions],
      ["production-auto-rollback", true, [ROLLBACK_FN, TOPIC("critical")], [TOPIC("critical")]],
    );
    const permission = named(plan, "auto-rollback-alarm-permission");
    assert.deepEqual(
      [permission.principal, permission.sourceAccount, permission.sourceArn],
      [
        "lambda.alarms.cloudwatch.amazonaws.com",
        "123456789012",
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-auto-rollback",
      ],
    );
  });

  it("the composite alarm's rule names exactly the auto-rollback alarms", () => {
    const rule = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm").alarmRule as string;
    const named = [...rule.matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    // Green's healthy hosts and ALB-generated errors roll back; blue's twins never do.
    assert.deepEqual(named, [
      "production-albGeneratedErrors-critical-api",
      "production-albGeneratedErrors-critical-web",
      "production-cpuUtilization-critical-api",
      "production-cpuUtilization-critical-web",
      "production-dataIntegrityErrors-critical",
      "production-dbConnectionFailures-critical",
      "production-errorRate-critical-api",
      "production-errorRate-critical-web",
      "production-healthyHosts-critical-api",
      "production-healthyHosts-critical-web",
      "production-memoryUtilization-critical-api",
      "production-memoryUtilization-critical-web",
      "production-p95ResponseMs-critical-api",
      "production-p95ResponseMs-critical-web",
      "production-rowsPerSecond-critical",
      "production-sessionSuccessRate-critical",
    ]);
    assert.equal(rule.split(" OR ").length, 16);
  });

  it("dashboard: blue and green side by side per gate, thresholds as annotations, a laid-out grid, every alarm", () => {
    const body = JSON.parse(one(plan, "aws:cloudwatch/dashboard:Dashboard").dashboardBody);
    const widgets = body.widgets as Inputs[];
    const widget = (title: string) => {
      const found = widgets.filter((w) => w.properties.title === title);
      assert.equal(found.length, 1, title);
      return found[0]!;
    };
    // Custom metrics: both colours of the stack's namespace.
    const rows = widget("gate: rowsPerSecond (rows/s)").properties;
    assert.deepEqual(rows.metrics, [
      [
        "StagedRollout/production",
        "RowsPerSecond",
        "Colour",
        "blue",
        { stat: "Average", label: "blue", color: "#1f77b4" },
      ],
      [
        "StagedRollout/production",
        "RowsPerSecond",
        "Colour",
        "green",
        { stat: "Average", label: "green", color: "#2ca02c" },
      ],
    ]);
    assert.deepEqual(rows.annotations.horizontal, [
      { label: "critical (auto-rollback)", value: 27977, color: "#d62728" },
      { label: "warning (alert)", value: 29842, color: "#ff7f0e" },
    ]);
    // ALB gates: each service's blue and green target group; latency in the alarm's unit (seconds).
    const p95 = widget("gate: p95ResponseMs api (s)").properties;
    assert.deepEqual(
      p95.metrics.map((m: unknown[]) => [m[1], m[5], (m[6] as Inputs).label]),
      [
        ["TargetResponseTime", targetGroupSuffix(plan, "api", "blue"), "blue"],
        ["TargetResponseTime", targetGroupSuffix(plan, "api", "green"), "green"],
      ],
    );
    assert.deepEqual(
      p95.annotations.horizontal.map((h: Inputs) => h.value),
      [0.3, 0.25],
    );
    const errorRate = widget("gate: errorRate web (%)").properties.metrics as unknown[][];
    // Drawn as the alarm computes it: the alarm's own queries, ids made unique per colour and service.
    assert.deepEqual(
      errorRate.filter((m) => typeof m[0] === "object").map((m) => m[0]),
      [
        {
          expression: "blue_web_errors / blue_web_requests * 100",
          id: "blue_web_errorRate",
          label: "blue",
          color: "#1f77b4",
        },
        {
          expression: "green_web_errors / green_web_requests * 100",
          id: "green_web_errorRate",
          label: "green",
          color: "#2ca02c",
        },
      ],
    );
    const hosts = widget("gate: healthyHosts api (targets)").properties.metrics as unknown[][];
    assert.deepEqual(
      hosts.filter((m) => typeof m[0] === "object").map((m) => m[0]),
      [
        {
          expression: "IF(FILL(blue_api_requests, 0) > 0, FILL(blue_api_hosts, 0), 1)",
          id: "blue_api_value",
          label: "blue",
          color: "#1f77b4",
        },
        {
          expression: "IF(FILL(green_api_requests, 0) > 0, FILL(green_api_hosts, 0), 1)",
          id: "green_api_value",
          label: "green",
          color: "#2ca02c",
        },
      ],
    );
    assert.deepEqual(
      widget("gate: memoryUtilization web (%)").properties.metrics.map((m: unknown[]) => m[7]),
      ["web-blue", "web-green"],
    );
    assert.ok(widget("web: traffic split (requests)"));
    // Every gate with an alarm has its chart: 7 app-wide gates + 6 per-service gates x 2 services + 2 traffic splits.
    assert.equal(widgets.filter((w) => w.type === "metric").length, 7 + 6 * 2 + 2);
    // Laid out on the 24-wide grid: no overlap, rows below each other.
    const cells = new Set<string>();
    for (const w of widgets) {
      assert.ok(w.x + w.width <= 24, w.properties.title);
      for (let dx = 0; dx < w.width; dx++)
        for (let dy = 0; dy < w.height; dy++) {
          const cell = `${w.x + dx},${w.y + dy}`;
          assert.ok(!cells.has(cell), `${w.properties.title} overlaps at ${cell}`);
          cells.add(cell);
        }
    }
    assert.deepEqual(
      widgets.slice(0, 4).map((w) => [w.x, w.y]),
      [
        [0, 0],
        [12, 0],
        [0, 6],
        [12, 6],
      ],
    );
    const status = widgets.at(-1)!;
    assert.deepEqual([status.type, status.x, status.width], ["alarm", 0, 24]);
    // The mock engine's ARNs: metric alarms by their name, the composite by its resource name.
    const alarmArn = (name: string) => `arn:aws:cloudwatch:eu-west-1:123456789012:${name}`;
    assert.deepEqual(
      [...status.properties.alarms].sort(),
      [...[...alarms(plan).keys()].map(alarmArn), alarmArn("gates-auto-rollback")].sort(),
    );
  });

  it("has no GuardDuty rule: TBS treats security incidents as a manual trigger", () => {
    assert.deepEqual(
      [
        ofType(plan, "aws:cloudwatch/eventRule:EventRule").length,
        ofType(plan, "aws:cloudwatch/eventTarget:EventTarget").length,
        ofType(plan, "aws:sqs/queuePolicy:QueuePolicy").length,
      ],
      // The DLQ's one queue policy only refuses plain HTTP: no EventBridge statement.
      [0, 0, 1],
    );
  });
});

describe("dashboard layout", () => {
  it("wraps onto a new row when the 24-wide grid is full", () => {
    const w = (width: number, height = 6) => ({ type: "metric", width, height, properties: {} });
    assert.deepEqual(
      layOut([w(12), w(12), w(12), w(24, 3), w(12)]).map((x) => [x.x, x.y]),
      [
        [0, 0],
        [12, 0],
        [0, 6],
        [0, 12],
        [0, 15],
      ],
    );
  });
});

/**
 * A muted plan acts on nothing: every metric alarm and the composite have actions disabled and
 * empty alarm and OK actions, and no INSUFFICIENT_DATA actions; the GuardDuty rule, where the
 * playbook has one, is kept DISABLED.
 */
function assertMuted(muted: PlanResult, alarmCount: number, guardDutyRules: string[]) {
  const all = alarms(muted);
  assert.equal(all.size, alarmCount);
  for (const [name, a] of all) {
    assert.deepEqual(
      [a.actionsEnabled, a.alarmActions, a.okActions, a.insufficientDataActions],
      [false, [], [], undefined],
      name,
    );
  }
  const composite = one(muted, "aws:cloudwatch/compositeAlarm:CompositeAlarm");
  assert.deepEqual(
    [
      composite.actionsEnabled,
      composite.alarmActions,
      composite.okActions,
      composite.insufficientDataActions,
    ],
    [false, [], [], undefined],
  );
  assert.deepEqual(
    ofType(muted, "aws:cloudwatch/eventRule:EventRule").map((r) => r.inputs.state),
    guardDutyRules,
  );
}

describe("quality gates: muted", () => {
  it("carries no actions at all when alarmActionsEnabled is false", async () => {
    assertMuted(await planStack(variant({ alarmActionsEnabled: "false" })), 37 + 1 + 2, []);
  });
});

describe("quality gates: TelegramMoneyBot", () => {
  let telegram: PlanResult;
  before(async () => {
    telegram = await planStack(telegramVariant());
  });

  it("builds exactly the playbook's 35 alarms (warnings, queue depth, unhealthy services, business, blue's twins), the load balancer's 5xx and the rollback function's 2, every input as in the table", () => {
    assert.deepEqual(byName(alarmRows(telegram)), byName(TELEGRAM_ALARMS));
  });

  it("builds the triggers' alarms: 10 s high-resolution errors, 30 s circuit breaker, 5 % errors over 60 s", () => {
    const a = alarms(telegram);
    assert.deepEqual(shape(a.get("production-criticalErrors-critical")!), [
      "GreaterThanThreshold",
      0,
      10,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-dataCorruption-critical")!), [
      "GreaterThanThreshold",
      0,
      10,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-circuitBreakerOpen-critical")!), [
      "GreaterThanThreshold",
      0,
      30,
      1,
      1,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-p95LatencyMs-critical-web")!), [
      "GreaterThanThreshold",
      1,
      60,
      3,
      3,
      "notBreaching",
    ]);
    for (const service of ["web", "api"]) {
      assert.deepEqual(shape(a.get(`production-errorRate-critical-${service}`)!), [
        "GreaterThanThreshold",
        5,
        60,
        1,
        1,
        "notBreaching",
      ]);
    }
    assert.deepEqual(shape(a.get("production-cpuUtilization-critical-api")!), [
      "GreaterThanThreshold",
      80,
      60,
      5,
      5,
      "missing",
    ]);
    const rule = one(telegram, "aws:cloudwatch/compositeAlarm:CompositeAlarm").alarmRule as string;
    const named = [...rule.matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    assert.deepEqual(named, [
      "production-albGeneratedErrors-critical-api",
      "production-albGeneratedErrors-critical-web",
      "production-circuitBreakerOpen-critical",
      "production-criticalErrors-critical",
      "production-dataCorruption-critical",
      "production-errorRate-critical-api",
      "production-errorRate-critical-web",
      "production-healthyHosts-critical-api",
      "production-healthyHosts-critical-web",
      "production-p95LatencyMs-critical-api",
      "production-p95LatencyMs-critical-web",
    ]);
  });

  it("watches disk on the cluster's fullest node: node_filesystem_utilization has no Service dimension", () => {
    const a = alarms(telegram);
    assert.equal(a.has("production-diskUtilization-critical-web"), false);
    const disk = a.get("production-diskUtilization-critical")!;
    assert.deepEqual(
      [disk.namespace, disk.metricName, disk.statistic, disk.dimensions, ...shape(disk)],
      [
        "ContainerInsights",
        "node_filesystem_utilization",
        "Maximum",
        { ClusterName: "tbs-production" },
        "GreaterThanThreshold",
        90,
        60,
        5,
        5,
        "missing",
      ],
    );
    const chart = JSON.parse(one(telegram, "aws:cloudwatch/dashboard:Dashboard").dashboardBody).widgets.find(
      (w: Inputs) => w.properties.title === "gate: diskUtilization (%)",
    );
    assert.deepEqual(chart.properties.metrics, [
      [
        "ContainerInsights",
        "node_filesystem_utilization",
        "ClusterName",
        "tbs-production",
        { stat: "Maximum", label: "cluster (fullest node)" },
      ],
    ]);
  });

  it("wires each alarm to the topic its level notifies", () => {
    const a = alarms(telegram);
    const actions = (name: string) => [a.get(name)!.alarmActions, a.get(name)!.okActions];
    const critical = [[TOPIC("critical")], [TOPIC("critical")]];
    const warning = [[TOPIC("warning")], [TOPIC("warning")]];
    assert.deepEqual(actions("production-criticalErrors-critical"), critical);
    assert.deepEqual(actions("production-errorRate-critical-web"), critical);
    assert.deepEqual(actions("production-errorRate-warning-web"), warning);
    assert.deepEqual(actions("production-p95LatencyMs-warning-api"), warning);
    assert.deepEqual(actions("production-dbQueryMs-warning"), warning);
    // Alert-only critical levels page people without rolling back.
    assert.deepEqual(actions("production-queueDepth-critical"), critical);
    assert.deepEqual(actions("production-maxDrawdown-critical"), critical);
    const composite = one(telegram, "aws:cloudwatch/compositeAlarm:CompositeAlarm");
    assert.deepEqual(
      [composite.alarmActions, composite.okActions],
      [[ROLLBACK_FN, TOPIC("critical")], [TOPIC("critical")]],
    );
  });

  it("narrows GuardDuty findings to the stack's EKS cluster with rollout:guardDutyScope cluster", async () => {
    const scoped = await planStack(telegramVariant({ guardDutyScope: "cluster" }));
    const rule = named(scoped, "auto-rollback-guardduty-rule");
    const cluster = JSON.parse(loadStackFile("production").config["rollout:cluster"]!).name as string;
    assert.deepEqual(JSON.parse(rule.eventPattern), {
      source: ["aws.guardduty"],
      "detail-type": ["GuardDuty Finding"],
      detail: { severity: [{ numeric: [">=", 7] }], resource: { eksClusterDetails: { name: [cluster] } } },
    });
  });

  it("routes the application's security event and GuardDuty findings to the Lambda, each with a DLQ EventBridge may write to", () => {
    const rules = ofType(telegram, "aws:cloudwatch/eventRule:EventRule").map((r) => r.name);
    assert.deepEqual(rules.sort(), ["auto-rollback-guardduty-rule", "auto-rollback-security-event-rule"]);
    // The security breach trigger's own path: the event the pods may put (securityEventSource, SECURITY_EVENT_DETAIL_TYPE).
    const event = named(telegram, "auto-rollback-security-event-rule");
    assert.deepEqual(JSON.parse(event.eventPattern), {
      source: ["staged-rollout.production"],
      "detail-type": ["Security Breach Detected"],
    });
    assert.equal(event.state, "ENABLED");
    const rule = named(telegram, "auto-rollback-guardduty-rule");
    assert.deepEqual(JSON.parse(rule.eventPattern), {
      source: ["aws.guardduty"],
      "detail-type": ["GuardDuty Finding"],
      detail: { severity: [{ numeric: [">=", 7] }] },
    });
    assert.equal(rule.state, "ENABLED");
    // The rules' ARNs as the engine answers them; the permissions and the queue policy must name them.
    const ruleArn = named(telegram, "auto-rollback-guardduty-permission").sourceArn as string;
    assert.match(ruleArn, /^arn:aws:[a-z]+:eu-west-1:123456789012:.*auto-rollback-guardduty-rule/);
    const eventRuleArn = named(telegram, "auto-rollback-security-event-permission").sourceArn as string;
    assert.match(eventRuleArn, /^arn:aws:[a-z]+:eu-west-1:123456789012:.*auto-rollback-security-event-rule/);
    const target = named(telegram, "auto-rollback-guardduty-target");
    assert.equal(target.arn, ROLLBACK_FN);
    assert.equal(named(telegram, "auto-rollback-security-event-target").arn, ROLLBACK_FN);
    const dlq = target.deadLetterConfig.arn as string;
    assert.match(dlq, /^arn:aws:sqs:eu-west-1:123456789012:/);
    const queuePolicy = one(telegram, "aws:sqs/queuePolicy:QueuePolicy");
    assert.equal(queuePolicy.queueUrl, "auto-rollback-dlq-id");
    const deadLetters = (sid: string, sourceArn: string) => ({
      Sid: sid,
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: dlq,
      Condition: { ArnEquals: { "aws:SourceArn": sourceArn } },
    });
    assert.deepEqual(JSON.parse(queuePolicy.policy), {
      Version: "2012-10-17",
      Statement: [
        deadLetters("SecurityEventRuleDeadLetters", eventRuleArn),
        deadLetters("GuardDutyRuleDeadLetters", ruleArn),
        {
          Sid: "OnlyOverTls",
          Effect: "Deny",
          Principal: "*",
          Action: "sqs:*",
          Resource: dlq,
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ],
    });
    const permission = named(telegram, "auto-rollback-guardduty-permission");
    assert.deepEqual([permission.principal, permission.sourceArn], ["events.amazonaws.com", ruleArn]);
  });

  it("says in the rule's description that any finding of the account and region rolls this stack back", () => {
    assert.equal(
      named(telegram, "auto-rollback-guardduty-rule").description,
      "GuardDuty findings of severity >= 7 on any resource in this account and region: roll production back",
    );
  });

  it("carries no actions at all and keeps the GuardDuty rule but DISABLED when alarmActionsEnabled is false", async () => {
    assertMuted(await planStack(telegramVariant({ alarmActionsEnabled: "false" })), 35 + 1 + 2, [
      "DISABLED",
      "DISABLED",
    ]);
  });
});

describe("rollback Lambda resources", () => {
  let plan: PlanResult;
  before(async () => {
    plan = await planStack(loadStackFile("production"));
  });

  it("runs Node.js 24 with reserved concurrency 1, tracing, a DLQ and the bundled handler", () => {
    const fn = one(plan, "aws:lambda/function:Function");
    assert.deepEqual(
      [fn.name, fn.runtime, fn.handler, fn.reservedConcurrentExecutions, fn.tracingConfig, fn.timeout],
      ["production-auto-rollback", "nodejs24.x", "index.handler", 1, { mode: "Active" }, 60],
    );
    assert.match(fn.deadLetterConfig.targetArn, /^arn:aws:sqs:/);
    assert.equal(fn.environment.variables.LATCH_PARAMETER, "/staged-rollout/production/latch/rollback");
    assert.deepEqual(
      JSON.parse(fn.environment.variables.TARGET_GROUP_PAIRS).map((p: Inputs) => p.service),
      ["web", "api"],
    );
    // The variables are the handler's contract: it parses exactly these.
    const env = parseRollbackEnvironment(fn.environment.variables);
    assert.deepEqual(
      [env.STACK, env.LATCH_PARAMETER, env.TARGET_GROUP_PAIRS.map((p) => p.service)],
      ["production", "/staged-rollout/production/latch/rollback", ["web", "api"]],
    );
    const code = rollbackBundle();
    assert.ok(code.length > 1000 && code.includes("DescribeRules") && code.includes("ModifyRule"));
  });

  it("grants least privilege: this listener's rules, the latch, the critical topic and its key", () => {
    const doc = JSON.parse(named(plan, "auto-rollback-policy").policy);
    const statements = doc.Statement as { Sid: string; Action: string[]; Resource: string | string[] }[];
    const https = ofType(plan, "aws:lb/listener:Listener").filter((l) => l.inputs.port === 443);
    assert.equal(https.length, 1);
    const httpsListenerArn = `arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/0123456789abcdef/${https[0]!.name}`;
    const dlq = one(plan, "aws:lambda/function:Function").deadLetterConfig.targetArn as string;
    assert.deepEqual(
      statements.map((s) => [s.Sid, s.Action, s.Resource]),
      [
        [
          "ModifyThisListenersRules",
          ["elasticloadbalancing:ModifyRule"],
          [`${httpsListenerArn.replace(":listener/", ":listener-rule/")}/*`],
        ],
        ["DescribeRulesHasNoResourceLevelPermissions", ["elasticloadbalancing:DescribeRules"], "*"],
        [
          "ReadWriteLatch",
          ["ssm:GetParameter", "ssm:PutParameter"],
          ["arn:aws:ssm:eu-west-1:123456789012:parameter/staged-rollout/production/latch/rollback"],
        ],
        ["NotifyCritical", ["sns:Publish"], [TOPIC("critical")]],
        [
          "EncryptForCriticalTopic",
          ["kms:GenerateDataKey", "kms:Decrypt"],
          ["arn:aws:kms:eu-west-1:123456789012:alerts-kms"],
        ],
        ["DeadLetters", ["sqs:SendMessage"], [dlq]],
        ["Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], statements[6]!.Resource],
        ["XRayHasNoResourceLevelPermissions", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"],
      ],
    );
    assert.match(String(statements[6]!.Resource), /\/aws\/lambda\/production-auto-rollback:\*$/);
    for (const s of statements) {
      for (const action of s.Action) assert.doesNotMatch(action, /\*/, s.Sid);
      if (s.Resource === "*") assert.ok(s.Sid in UNSCOPABLE_STATEMENTS, s.Sid);
    }
  });

  it("derives the rule pattern from the listener and refuses anything else", () => {
    assert.equal(
      listenerRuleArnPattern(
        "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
      ),
      "arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/app/alb/50dc6c495c0c9188/f2f7dc8efc522ab2/*",
    );
    assert.throws(
      () =>
        listenerRuleArnPattern(
          "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/alb/50dc6c495c0c9188",
        ),
      /^Error: AutoRollback: listenerArn is arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer\/app\/alb\/50dc6c495c0c9188; expected an application load balancer listener ARN \(arn:\.\.\.:listener\/app\/\.\.\.\)$/,
    );
  });
});

describe("alert topics", () => {
  let plan: PlanResult;
  before(async () => {
    plan = await planStack(loadStackFile("production"));
  });

  it("lets only this account's alarms use the topics' key", () => {
    const key = named(plan, "alerts-kms");
    assert.deepEqual(JSON.parse(key.policy).Statement, [
      {
        Sid: "AccountAdministers",
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::123456789012:root" },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "AlarmsOfThisAccountPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
      },
    ]);
  });

  it("auto-confirms PagerDuty's subscription and a relay that says it confirms; Slack's webhook cannot", () => {
    const https = ofType(plan, "aws:sns/topicSubscription:TopicSubscription")
      .filter((s) => s.inputs.protocol === "https")
      .map((s) => [s.name, new URL(s.inputs.endpoint as string).hostname, s.inputs.endpointAutoConfirms]);
    assert.deepEqual(https, [
      ["alerts-critical-https-0", "events.pagerduty.com", true],
      ["alerts-critical-https-1", "alerts-relay.tbs.example.com", true],
      ["alerts-warning-https-1", "alerts-relay.tbs.example.com", true],
      ["alerts-info-https-1", "alerts-relay.tbs.example.com", true],
    ]);
    assert.equal(endpointAutoConfirms({ url: "https://hooks.slack.com/services/T000/B000/x" }), false);
    assert.equal(endpointAutoConfirms({ url: "https://events.pagerduty.com/integration/k/enqueue" }), true);
    assert.equal(endpointAutoConfirms({ url: "https://relay.example.com/sns", autoConfirms: true }), true);
    assert.equal(endpointAutoConfirms({ url: "https://events.pagerduty.com/x", autoConfirms: false }), false);
  });
});

describe("GuardDuty rule scope", () => {
  it("matches every finding at minSeverity in the account and region unless scoped to an EKS cluster", () => {
    assert.deepEqual(guardDutyEventPattern(7), {
      source: ["aws.guardduty"],
      "detail-type": ["GuardDuty Finding"],
      detail: { severity: [{ numeric: [">=", 7] }] },
    });
    assert.deepEqual(guardDutyEventPattern(7, "tbs-production"), {
      source: ["aws.guardduty"],
      "detail-type": ["GuardDuty Finding"],
      detail: {
        severity: [{ numeric: [">=", 7] }],
        resource: { eksClusterDetails: { name: ["tbs-production"] } },
      },
    });
    assert.throws(() => guardDutyEventPattern(7, " "), {
      message: 'AutoRollback: guardDutyEksClusterName is " "; expected an EKS cluster name',
    });
  });

  it("AutoRollback with guardDutyEksClusterName registers the scoped rule and says so in its description", async () => {
    const recorder = new ResourceRecorder();
    await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", "unit", false);
    await pulumi.runtime.runInPulumiStack(async () => {
      new AutoRollback("auto-rollback", {
        stack: "unit",
        listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2",
        targetGroupPairs: [{ service: "web", blue: "arn:blue", green: "arn:green" }],
        criticalTopicArn: "arn:aws:sns:eu-west-1:123456789012:critical",
        criticalTopicKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
        guardDutyMinSeverity: 7,
        guardDutyEksClusterName: "tbs-unit",
      });
    });
    await pulumi.runtime.disconnect();
    const rules = recorder.resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule");
    assert.equal(rules.length, 1);
    assert.deepEqual(
      [
        rules[0]!.inputs.description,
        JSON.parse(rules[0]!.inputs.eventPattern as string),
        rules[0]!.inputs.state,
      ],
      [
        "GuardDuty findings of severity >= 7 on EKS cluster tbs-unit: roll unit back",
        {
          source: ["aws.guardduty"],
          "detail-type": ["GuardDuty Finding"],
          detail: {
            severity: [{ numeric: [">=", 7] }],
            resource: { eksClusterDetails: { name: ["tbs-unit"] } },
          },
        },
        "ENABLED",
      ],
    );
  });
});
