import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  alarmMetricInputs,
  alarmQueries,
  loadBalancerErrorQueries,
  LOAD_BALANCER_ERRORS_KEY,
  type AlarmPlace,
  type AlarmQueries,
} from "../rollout/alarmQueries";
import {
  alarmNames,
  alarmTargetName,
  alarmTargets,
  autoRollbackAlarms,
  playbookAlarms,
  type AlarmSpec,
} from "../rollout/alarms";
import { isPerService, metricIdentity, type MetricLocation } from "../rollout/metricCatalogue";
import {
  alarmName,
  compositeAlarmName,
  customMetricNamespace,
  dashboardName,
  type Colour,
} from "../rollout/names";
import type { Playbook, Severity } from "../rollout/playbook";

export interface GatedService {
  name: string;
  blueTargetGroupArnSuffix: pulumi.Input<string>;
  greenTargetGroupArnSuffix: pulumi.Input<string>;
}

export interface QualityGatesArgs {
  stack: string;
  playbook: Playbook;
  /** When false, no alarm carries an action (the policy pack refuses it in production). Default: true. */
  alarmActionsEnabled?: boolean;
  topicArns: Record<Severity, pulumi.Input<string>>;
  /** Invoked by the composite alarm. */
  rollbackFunctionArn: pulumi.Input<string>;
  albArnSuffix: pulumi.Input<string>;
  services: GatedService[];
  clusterName: string;
  namespace: string;
  /** Other alarms shown on the dashboard's alarm status (the rollback function's own: errors, dead letters). */
  otherAlarmArns?: pulumi.Input<string>[];
}

/**
 * The playbook's gates as CloudWatch alarms (critical, and warning where the gate has one),
 * one composite alarm over the auto-rollback ones that invokes the rollback Lambda, and a
 * dashboard. Every number comes from `rollout/alarms.ts` and `rollout/metricCatalogue.ts`.
 */
export class QualityGates extends pulumi.ComponentResource {
  readonly alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};
  readonly compositeAlarm?: aws.cloudwatch.CompositeAlarm;
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly autoRollbackAlarmNames: string[];

  constructor(name: string, args: QualityGatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("staged-rollout:gates:QualityGates", name, {}, opts);
    const serviceNames = args.services.map((s) => s.name);
    if (serviceNames.length === 0) throw new Error("QualityGates: services is empty; expected at least one");
    if (new Set(serviceNames).size !== serviceNames.length)
      throw new Error("QualityGates: service names must be unique");

    const actionsEnabled = args.alarmActionsEnabled ?? true;
    // Where the pods publish: alarms on any other namespace would never see a datapoint.
    const customNamespace = customMetricNamespace(args.stack);
    const specs = playbookAlarms(args.playbook);

    const groups = new Map(args.services.map((svc) => [svc.name, svc]));
    const place: AlarmPlace<pulumi.Input<string>> = {
      loadBalancer: args.albArnSuffix,
      targetGroup: (service, colour) => {
        const svc = groups.get(service)!;
        return colour === "blue" ? svc.blueTargetGroupArnSuffix : svc.greenTargetGroupArnSuffix;
      },
      cluster: { clusterName: args.clusterName, namespace: args.namespace },
      customNamespace,
    };
    for (const spec of specs) {
      for (const target of alarmTargets(spec, serviceNames)) {
        const alarm = alarmTargetName(args.stack, spec, target);
        const actions = actionsEnabled ? [args.topicArns[spec.notify]] : [];
        const resourceName = [name, spec.key, target.part && `part${target.part}`, target.service]
          .filter(Boolean)
          .join("-");
        this.alarms[alarm] = new aws.cloudwatch.MetricAlarm(
          resourceName,
          {
            name: alarm,
            alarmDescription: spec.description,
            comparisonOperator: spec.comparison,
            threshold: spec.threshold,
            evaluationPeriods: spec.evaluationPeriods,
            datapointsToAlarm: spec.datapointsToAlarm,
            treatMissingData: spec.treatMissingData,
            actionsEnabled,
            alarmActions: actions,
            okActions: actions,
            ...metricInputs(alarmQueries(spec, target, place)),
          },
          { parent: this },
        );
      }
    }

    // The load balancer's own 5xx, at the error-rate gate's critical level: AWS cannot say which
    // colour they come from, so they page critical and never roll back.
    const errorRate = specs.find(
      (s) => s.metric.kind === "alb-error-rate" && s.level === "critical" && s.colour === "green",
    );
    if (errorRate) {
      const alarm = alarmName(args.stack, { key: LOAD_BALANCER_ERRORS_KEY });
      const actions = actionsEnabled ? [args.topicArns.critical] : [];
      this.alarms[alarm] = new aws.cloudwatch.MetricAlarm(
        `${name}-${LOAD_BALANCER_ERRORS_KEY}`,
        {
          name: alarm,
          alarmDescription: `The load balancer's own 5XX > ${errorRate.threshold} % of its requests for ${errorRate.periodSeconds * errorRate.evaluationPeriods} s (published per load balancer only: the colour is not known) -> page critical`,
          comparisonOperator: "GreaterThanThreshold",
          threshold: errorRate.threshold,
          evaluationPeriods: errorRate.evaluationPeriods,
          datapointsToAlarm: errorRate.datapointsToAlarm,
          // 0 % while the load balancer answers nothing; silence of everything is no traffic.
          treatMissingData: "notBreaching",
          actionsEnabled,
          alarmActions: actions,
          okActions: actions,
          ...metricInputs({ queries: loadBalancerErrorQueries(args.albArnSuffix, errorRate.periodSeconds) }),
        },
        { parent: this },
      );
    }

    this.autoRollbackAlarmNames = alarmNames(args.stack, autoRollbackAlarms(args.playbook), serviceNames);
    if (this.autoRollbackAlarmNames.length > 0) {
      this.compositeAlarm = new aws.cloudwatch.CompositeAlarm(
        `${name}-auto-rollback`,
        {
          alarmName: compositeAlarmName(args.stack),
          alarmDescription: `Any auto-rollback gate of ${args.playbook.id} in ALARM: invoke the rollback Lambda (100 % blue)`,
          alarmRule: this.autoRollbackAlarmNames.map((n) => `ALARM("${n}")`).join(" OR "),
          actionsEnabled,
          alarmActions: actionsEnabled ? [args.rollbackFunctionArn, args.topicArns.critical] : [],
          okActions: actionsEnabled ? [args.topicArns.critical] : [],
        },
        // The composite can only be created once every alarm it names exists.
        { parent: this, dependsOn: Object.values(this.alarms) },
      );
    }

    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: dashboardName(args.stack),
        dashboardBody: dashboardBody(args, specs, customNamespace, [
          ...Object.values(this.alarms).map((a) => a.arn),
          ...(this.compositeAlarm ? [this.compositeAlarm.arn] : []),
          ...(args.otherAlarmArns ?? []).map((arn) => pulumi.output(arn)),
        ]),
      },
      { parent: this },
    );
    this.registerOutputs({ autoRollbackAlarmNames: this.autoRollbackAlarmNames });
  }
}

/** An alarm's metric inputs (`alarmMetricInputs`), typed for the MetricAlarm. */
function metricInputs(queries: AlarmQueries<pulumi.Input<string>>): Partial<aws.cloudwatch.MetricAlarmArgs> {
  return alarmMetricInputs(queries);
}

const COLOURS = ["blue", "green"] as const satisfies readonly Colour[];
/** Line colours on every chart, so blue is always drawn blue and green green. */
const LINE_COLOUR: Record<Colour, string> = { blue: "#1f77b4", green: "#2ca02c" };
const GRID_WIDTH = 24;
const CHART = { width: 12, height: 6 };

interface Widget {
  type: string;
  width: number;
  height: number;
  x?: number;
  y?: number;
  properties: Record<string, unknown>;
}

/** Place widgets left to right, wrapping onto a new row when the 24-unit grid is full. */
export function layOut(widgets: Widget[]): Widget[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return widgets.map((w) => {
    if (x + w.width > GRID_WIDTH) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { ...w, x, y };
    x += w.width;
    rowHeight = Math.max(rowHeight, w.height);
    return placed;
  });
}

interface SeriesContext {
  alb: string;
  customNamespace: string;
  clusterName: string;
  namespace: string;
}

/** [service, blue TG suffix, green TG suffix] */
type ServiceGroups = [string, string, string];

/**
 * One colour's series of a gate in CloudWatch's metric-array notation; `service` for
 * per-service metrics. Cluster-scoped metrics have no colour and are drawn once. ALB
 * availability and error-rate gates are drawn as the alarm computes them (the same queries,
 * their ids made unique on the chart); other gates as their raw metric.
 */
function colourSeries(
  spec: AlarmSpec,
  c: SeriesContext,
  colour: Colour,
  service?: ServiceGroups,
): unknown[][] {
  const style = { label: colour, color: LINE_COLOUR[colour] };
  const m = spec.metric;
  if (
    m.kind === "alb-error-rate" ||
    m.kind === "alb-healthy-hosts" ||
    m.kind === "alb-generated-error-rate"
  ) {
    const place: AlarmPlace<string> = {
      loadBalancer: c.alb,
      targetGroup: (_service, tgColour) => (tgColour === "blue" ? service![1] : service![2]),
      cluster: c,
      customNamespace: c.customNamespace,
    };
    const queries = alarmQueries(
      { ...spec, colour },
      { service: service![0], servingServices: [service![0]] },
      place,
    );
    if (!("queries" in queries)) throw new Error(`${spec.key}: expected metric math`);
    const prefix = `${colour}_${service![0].replace(/[^A-Za-z0-9]/g, "_")}_`;
    const ids = queries.queries.map((q) => q.id).sort((x, y) => y.length - x.length);
    const renamed = (expression: string) =>
      ids.reduce((text, id) => text.replace(new RegExp(`\\b${id}\\b`, "g"), `${prefix}${id}`), expression);
    return queries.queries.map((q) =>
      "metric" in q
        ? [
            q.metric.namespace,
            q.metric.metricName,
            ...Object.entries(q.metric.dimensions).flat(),
            {
              id: `${prefix}${q.id}`,
              stat: q.metric.extendedStatistic ?? q.metric.statistic,
              visible: false,
            },
          ]
        : [
            {
              expression: renamed(q.expression),
              id: `${prefix}${q.id}`,
              ...(q.returnData ? style : { visible: false }),
            },
          ],
    );
  }
  return rawSeries(m, c, colour, service);
}

/** One colour's raw metric in metric-array notation. */
function rawSeries(
  m: Extract<AlarmSpec["metric"], { kind: "alb" | "container-insights" | "custom" }>,
  c: SeriesContext,
  colour: Colour,
  service?: ServiceGroups,
): unknown[][] {
  const style = { label: colour, color: LINE_COLOUR[colour] };
  const where: MetricLocation<string> = {
    alb: { loadBalancer: c.alb, targetGroup: service ? (colour === "blue" ? service[1] : service[2]) : "" },
    cluster: c,
    customNamespace: c.customNamespace,
  };
  const identity = metricIdentity(m, where, service?.[0], colour);
  const clusterWide = m.kind === "container-insights" && m.scope === "cluster";
  return [
    [
      identity.namespace,
      identity.metricName,
      ...Object.entries(identity.dimensions).flat(),
      {
        stat: identity.extendedStatistic ?? identity.statistic,
        ...(clusterWide ? { label: "cluster (fullest node)" } : style),
      },
    ],
  ];
}

/**
 * Per service the traffic split; per gate (and per service where the gate is) blue and
 * green on one chart with the gate's thresholds as annotations; business gates marked;
 * the alarm status of every alarm, the composite included.
 */
function dashboardBody(
  args: QualityGatesArgs,
  specs: AlarmSpec[],
  customNamespace: string,
  alarmArns: pulumi.Output<string>[],
) {
  const region = aws.getRegionOutput({}, {}).region;
  return pulumi
    .all([
      region,
      args.albArnSuffix,
      pulumi.all(alarmArns),
      pulumi.all(
        args.services.map((s) =>
          pulumi.all([s.name, s.blueTargetGroupArnSuffix, s.greenTargetGroupArnSuffix]),
        ),
      ),
    ])
    .apply(([regionName, alb, arns, services]) => {
      const chart = (
        title: string,
        metrics: unknown[][],
        annotations?: { label: string; value: number }[],
      ): Widget => ({
        type: "metric",
        ...CHART,
        properties: {
          title,
          region: regionName,
          view: "timeSeries",
          metrics,
          ...(annotations ? { annotations: { horizontal: annotations } } : {}),
        },
      });
      const context: SeriesContext = {
        alb,
        customNamespace,
        clusterName: args.clusterName,
        namespace: args.namespace,
      };
      const widgets: Widget[] = (services as ServiceGroups[]).map((service) =>
        chart(
          `${service[0]}: traffic split (requests)`,
          COLOURS.flatMap((colour) =>
            rawSeries(
              { kind: "alb", metricName: "RequestCount", statistic: "Sum" },
              context,
              colour,
              service,
            ),
          ),
        ),
      );
      const gateIds = [...new Set(specs.map((s) => s.gateId))];
      for (const gateId of gateIds) {
        // Green's levels: blue's twin repeats the critical threshold, one line is enough.
        const levels = specs.filter((s) => s.gateId === gateId && s.colour === "green");
        const first = levels[0]!;
        const annotations = levels.map((l) => ({
          label: `${l.level} (${l.action})`,
          value: l.threshold,
          color: l.level === "critical" ? "#d62728" : "#ff7f0e",
        }));
        const business = args.playbook.gates.find((g) => g.id === gateId)?.category === "business";
        const title = `${business ? "business" : "gate"}: ${gateId}`;
        // The chart is in the alarm's unit (ALB latency is seconds), so the threshold lines sit on the data.
        const unit = first.metricUnit;
        if (isPerService(first)) {
          for (const service of services as ServiceGroups[]) {
            widgets.push(
              chart(
                `${title} ${service[0]} (${unit})`,
                COLOURS.flatMap((colour) => colourSeries(first, context, colour, service)),
                annotations,
              ),
            );
          }
        } else {
          const colours = first.metric.kind === "custom" ? COLOURS : (["green"] as const);
          widgets.push(
            chart(
              `${title} (${unit})`,
              colours.flatMap((colour) => colourSeries(first, context, colour)),
              annotations,
            ),
          );
        }
      }
      widgets.push({
        type: "alarm",
        width: GRID_WIDTH,
        height: 6,
        properties: { title: "alarm status", alarms: arns },
      });
      return JSON.stringify({ widgets: layOut(widgets) });
    });
}
