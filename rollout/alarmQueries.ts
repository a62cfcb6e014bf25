import type { AlarmSpec, AlarmTarget } from "./alarms";
import {
  ALB_AVAILABILITY,
  ALB_ERROR_RATE_PARTS,
  metricIdentity,
  type AlarmMetric,
  type MetricIdentity,
} from "./metricCatalogue";
import type { Colour } from "./names";

/**
 * What one CloudWatch alarm queries: a single metric, or metric math over several. Pure and
 * shared: the QualityGates component turns it into the alarm's inputs, the dashboard into its
 * series, the policy pack and the tests read the expressions from here.
 *
 * Metric math used (Amazon CloudWatch User Guide, "Metric math syntax and functions"):
 * - `FILL(m, value)` "fills the missing values of a time series"; in an alarm it fills every
 *   period of the evaluation range, even the most recent one (the guide warns of exactly that).
 * - `IF(TS > S, TS | S, TS | S)`: evaluated "separately for every timestamp".
 * - An alarm's math reads at most 10 metrics (ALARM_MATH_METRICS_MAX in alarms.ts).
 * - Ids start with a lowercase letter and contain letters, digits and underscores.
 */

/** Where the colour's metrics are, per service: ALB dimensions are Pulumi inputs in the program (`V`). */
export interface AlarmPlace<V> {
  loadBalancer: V;
  /** The ARN suffix of a service's target group of a colour. */
  targetGroup: (service: string, colour: Colour) => V;
  cluster: { clusterName: string; namespace: string };
  customNamespace: string;
}

export interface MetricQuery<V> {
  id: string;
  metric: MetricIdentity<V>;
  period: number;
}
export interface ExpressionQuery {
  id: string;
  expression: string;
  label: string;
  /** Exactly one query of an alarm returns data: the value the alarm compares. */
  returnData: boolean;
}
export type AlarmQuery<V> = MetricQuery<V> | ExpressionQuery;

/** A single-metric alarm, or metric math (`queries`). */
export type AlarmQueries<V> = { metric: MetricIdentity<V>; period: number } | { queries: AlarmQuery<V>[] };

type PlainMetric = Extract<AlarmMetric, { kind: "alb" | "container-insights" | "custom" }>;

/** CloudWatch number formatting for an expression: no exponent, no trailing zeros. */
function scalar(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)));
}

/** The queries of one of a spec's alarms (see `alarmTargets`). */
export function alarmQueries<V>(spec: AlarmSpec, target: AlarmTarget, place: AlarmPlace<V>): AlarmQueries<V> {
  const { colour } = spec;
  const period = spec.periodSeconds;
  const locate = (metric: PlainMetric, service: string | undefined): MetricIdentity<V> =>
    metricIdentity(
      metric,
      {
        alb: {
          loadBalancer: place.loadBalancer,
          targetGroup: service === undefined ? (undefined as V) : place.targetGroup(service, colour),
        },
        cluster: place.cluster,
        customNamespace: place.customNamespace,
      },
      service,
      colour,
    );
  const query = (id: string, metric: PlainMetric, service = target.service): MetricQuery<V> => ({
    id,
    metric: locate(metric, service),
    period,
  });
  const value = (expression: string, label: string, id = "value"): ExpressionQuery => ({
    id,
    expression,
    label,
    returnData: true,
  });
  const hidden = (id: string, expression: string, label: string): ExpressionQuery => ({
    id,
    expression,
    label,
    returnData: false,
  });

  const m = spec.metric;
  switch (m.kind) {
    case "alb-error-rate":
      // errors / requests * 100 with no IF(): a period without requests yields no datapoint, so
      // the gate's own missing-data treatment decides, instead of a fabricated 0 % hiding an outage.
      return {
        queries: [
          query("errors", ALB_ERROR_RATE_PARTS.errors),
          query("requests", ALB_ERROR_RATE_PARTS.requests),
          // Green's ids and label are those the alarm was first deployed with: unchanged, no update.
          value(
            "errors / requests * 100",
            colour === "green" ? "5XX error rate (%)" : "blue 5XX error rate (%)",
            "errorRate",
          ),
        ],
      };
    case "alb-healthy-hosts": {
      // Serving: requests reached the colour's group (RequestCount counts a request once a target
      // is chosen, so a group that fails open to unhealthy targets still counts). Not the load
      // balancer's own 5xx: AWS publishes those per load balancer only, so blue's 502s would make
      // an idle green "serve" and roll back a colour that carries nothing (they page on their own,
      // see `loadBalancerErrorQueries`). While serving, the fewest healthy hosts of the period;
      // otherwise the neutral value.
      const gate = spec.whileServing!;
      return {
        queries: [
          query("hosts", ALB_AVAILABILITY.healthyHosts),
          query("requests", ALB_AVAILABILITY.requests),
          value(
            `IF(FILL(requests, 0) > 0, FILL(hosts, ${scalar(gate.silence)}), ${scalar(gate.neutral)})`,
            `${colour} healthy hosts while serving`,
          ),
        ],
      };
    }
    case "alb-generated-error-rate":
      // Connections the ALB could not make to the colour's targets, as % of the requests it sent
      // them; 0 while the colour gets no requests.
      return {
        queries: [
          query("requests", ALB_AVAILABILITY.requests),
          query("connErrors", ALB_AVAILABILITY.connectionErrors),
          hidden("served", "FILL(requests, 0)", `${colour} requests`),
          value(
            "IF(served > 0, 100 * FILL(connErrors, 0) / served, 0)",
            `${colour} ALB-generated errors (% of requests)`,
          ),
        ],
      };
    default: {
      if (!spec.whileServing) return { metric: locate(m, target.service), period };
      // An app-wide metric judged while the colour serves any of the target's services.
      const gate = spec.whileServing;
      const requests = target.servingServices.map((service, i) =>
        query(`requests${i + 1}`, ALB_AVAILABILITY.requests, service),
      );
      if (requests.length === 0)
        throw new Error(`${spec.key}: a traffic-gated alarm needs at least one service to watch`);
      return {
        queries: [
          query("gate", m),
          ...requests,
          hidden(
            "serving",
            requests.map((r) => `FILL(${r.id}, 0)`).join(" + "),
            `${colour} requests (${target.servingServices.join(", ")})`,
          ),
          value(
            `IF(serving > 0, FILL(gate, ${scalar(gate.silence)}), ${scalar(gate.neutral)})`,
            `${colour} ${m.metricName} while serving`,
          ),
        ],
      };
    }
  }
}

/** The key of the load balancer 5xx alarm's name: `<stack>-loadBalancer5xx`. */
export const LOAD_BALANCER_ERRORS_KEY = "loadBalancer5xx";

/**
 * The load balancer's own 5xx (502/503/504 it answers itself: no target, no connection, a
 * timeout) as % of the requests it answered, for the one alarm that pages on them. AWS publishes
 * `HTTPCode_ELB_5XX_Count` per load balancer only (no TargetGroup dimension), so it cannot say
 * which colour failed and never rolls back; `RequestCount` counts only requests that reached a
 * target, so the ALB's own errors are added to the denominator.
 */
export function loadBalancerErrorQueries<V>(loadBalancer: V, period: number): AlarmQuery<V>[] {
  const lbMetric = (id: string, metricName: string): MetricQuery<V> => ({
    id,
    metric: {
      namespace: "AWS/ApplicationELB",
      metricName,
      dimensions: { LoadBalancer: loadBalancer },
      statistic: "Sum",
    },
    period,
  });
  return [
    lbMetric("elb5xx", ALB_AVAILABILITY.elbErrors.metricName),
    lbMetric("requests", ALB_AVAILABILITY.requests.metricName),
    {
      id: "answered",
      expression: "FILL(requests, 0) + FILL(elb5xx, 0)",
      label: "requests answered",
      returnData: false,
    },
    {
      id: "value",
      expression: "IF(answered > 0, 100 * FILL(elb5xx, 0) / answered, 0)",
      label: "load balancer 5XX (% of requests)",
      returnData: true,
    },
  ];
}

/**
 * An alarm's metric inputs as PutMetricAlarm (and the Pulumi MetricAlarm) takes them: one metric
 * (namespace, name, dimensions, period, statistic), or metric-math queries in which exactly one
 * returns data (an omitted ReturnData is true, so every metric query says false).
 */
export function alarmMetricInputs<V>(queries: AlarmQueries<V>) {
  if ("metric" in queries) {
    const { namespace, metricName, dimensions, ...statistic } = queries.metric;
    return { namespace, metricName, period: queries.period, dimensions, ...statistic };
  }
  return {
    metricQueries: queries.queries.map((q) =>
      "metric" in q
        ? {
            id: q.id,
            metric: {
              namespace: q.metric.namespace,
              metricName: q.metric.metricName,
              dimensions: q.metric.dimensions,
              period: q.period,
              stat: q.metric.extendedStatistic ?? q.metric.statistic!,
            },
            returnData: false,
          }
        : { id: q.id, expression: q.expression, label: q.label, returnData: q.returnData },
    ),
  };
}
