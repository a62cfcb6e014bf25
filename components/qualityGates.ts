import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  alarmName,
  alarmNames,
  autoRollbackAlarms,
  compositeAlarmName,
  containerInsightsDimensions,
  customMetricNamespace,
  isPerService,
  playbookAlarms,
  type AlarmSpec,
} from "../rollout/gates";
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
  /** Namespace of the application's custom metrics. Default: `customMetricNamespace(stack)` (`StagedRollout/<stack>`). */
  customNamespace?: string;
}

/** Re-exported: the names live in `rollout/gates.ts` so the policy pack and the CLI derive the same ones. */
export { alarmName, alarmNames, isPerService } from "../rollout/gates";

/**
 * The playbook's gates as CloudWatch alarms (critical, and warning where the gate has one),
 * one composite alarm over the auto-rollback ones that invokes the rollback Lambda, and a
 * dashboard. Every number comes from `rollout/gates.ts`.
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
    const customNamespace = args.customNamespace ?? customMetricNamespace(args.stack);
    const specs = playbookAlarms(args.playbook);

    for (const spec of specs) {
      const targets = isPerService(spec) ? args.services : [undefined];
      for (const service of targets) {
        const alarm = alarmName(args.stack, spec, service?.name);
        const actions = actionsEnabled ? [args.topicArns[spec.notify]] : [];
        this.alarms[alarm] = new aws.cloudwatch.MetricAlarm(
          `${name}-${spec.key}${service ? `-${service.name}` : ""}`,
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
            ...metricInputs(spec, { ...args, customNamespace }, service),
          },
          { parent: this },
        );
      }
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
        dashboardName: `${args.stack}-rollout`,
        dashboardBody: dashboardBody(args, specs, customNamespace, [
          ...Object.values(this.alarms).map((a) => a.arn),
          ...(this.compositeAlarm ? [this.compositeAlarm.arn] : []),
        ]),
      },
      { parent: this },
    );
    this.registerOutputs({ autoRollbackAlarmNames: this.autoRollbackAlarmNames });
  }
}

type MetricArgs = Pick<QualityGatesArgs, "albArnSuffix" | "clusterName" | "namespace"> & {
  customNamespace: string;
};

/** The metric (or metric-math) inputs of one alarm. */
function metricInputs(
  spec: AlarmSpec,
  args: MetricArgs,
  service?: GatedService,
): Partial<aws.cloudwatch.MetricAlarmArgs> {
  const albDimensions = {
    LoadBalancer: args.albArnSuffix,
    TargetGroup: service?.greenTargetGroupArnSuffix ?? "",
  };
  const m = spec.metric;
  switch (m.kind) {
    case "alb-error-rate":
      // m1 / m2 * 100 with no IF(): a period without requests yields no datapoint, so the
      // gate's own missing-data treatment decides, instead of a fabricated 0 % hiding an outage.
      return {
        metricQueries: [
          {
            id: "errors",
            metric: {
              namespace: "AWS/ApplicationELB",
              metricName: "HTTPCode_Target_5XX_Count",
              stat: "Sum",
              period: spec.periodSeconds,
              dimensions: albDimensions,
            },
          },
          {
            id: "requests",
            metric: {
              namespace: "AWS/ApplicationELB",
              metricName: "RequestCount",
              stat: "Sum",
              period: spec.periodSeconds,
              dimensions: albDimensions,
            },
          },
          {
            id: "errorRate",
            expression: "errors / requests * 100",
            label: "5XX error rate (%)",
            returnData: true,
          },
        ],
      };
    case "alb":
      return {
        namespace: "AWS/ApplicationELB",
        metricName: m.metricName,
        period: spec.periodSeconds,
        dimensions: albDimensions,
        ...(m.extendedStatistic ? { extendedStatistic: m.extendedStatistic } : { statistic: m.statistic }),
      };
    case "container-insights":
      return {
        namespace: "ContainerInsights",
        metricName: m.metricName,
        period: spec.periodSeconds,
        statistic: m.statistic,
        dimensions: containerInsightsDimensions(m, args, service?.name, "green"),
      };
    case "custom":
      return {
        namespace: args.customNamespace,
        metricName: m.metricName,
        period: spec.periodSeconds,
        dimensions: { Colour: "green" },
        ...(m.extendedStatistic ? { extendedStatistic: m.extendedStatistic } : { statistic: m.statistic }),
      };
  }
}

const COLOURS = ["blue", "green"] as const;
type Colour = (typeof COLOURS)[number];
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
 * per-service metrics. Cluster-scoped metrics have no colour and are drawn once.
 */
function colourSeries(
  m: AlarmSpec["metric"],
  c: SeriesContext,
  colour: Colour,
  service?: ServiceGroups,
): unknown[][] {
  const style = { label: colour, color: LINE_COLOUR[colour] };
  const targetGroup = service ? (colour === "blue" ? service[1] : service[2]) : "";
  const alb = ["LoadBalancer", c.alb, "TargetGroup", targetGroup];
  switch (m.kind) {
    case "custom":
      return [
        [
          c.customNamespace,
          m.metricName,
          "Colour",
          colour,
          { stat: m.extendedStatistic ?? m.statistic, ...style },
        ],
      ];
    case "container-insights":
      return [
        [
          "ContainerInsights",
          m.metricName,
          ...Object.entries(containerInsightsDimensions(m, c, service?.[0], colour)).flat(),
          { stat: m.statistic, ...(m.scope === "service" ? style : { label: "cluster (fullest node)" }) },
        ],
      ];
    case "alb":
      return [
        ["AWS/ApplicationELB", m.metricName, ...alb, { stat: m.extendedStatistic ?? m.statistic, ...style }],
      ];
    case "alb-error-rate": {
      const id = `${colour}_${service![0].replace(/[^A-Za-z0-9]/g, "_")}`;
      return [
        [{ expression: `100 * e_${id} / r_${id}`, id: `rate_${id}`, ...style }],
        [
          "AWS/ApplicationELB",
          "HTTPCode_Target_5XX_Count",
          ...alb,
          { id: `e_${id}`, stat: "Sum", visible: false },
        ],
        ["AWS/ApplicationELB", "RequestCount", ...alb, { id: `r_${id}`, stat: "Sum", visible: false }],
      ];
    }
  }
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
            colourSeries(
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
        const levels = specs.filter((s) => s.gateId === gateId);
        const first = levels[0]!;
        const annotations = levels.map((l) => ({
          label: `${l.level} (${l.action})`,
          value: l.threshold,
          color: l.level === "critical" ? "#d62728" : "#ff7f0e",
        }));
        const business = args.playbook.gates.find((g) => g.id === gateId)?.category === "business";
        const title = `${business ? "business" : "gate"}: ${gateId}`;
        // The chart is in the alarm's unit (ALB latency is seconds), so the threshold lines sit on the data.
        const unit = first.metric.kind === "alb" && first.unit === "ms" ? "s" : first.unit;
        if (isPerService(first)) {
          for (const service of services as ServiceGroups[]) {
            widgets.push(
              chart(
                `${title} ${service[0]} (${unit})`,
                COLOURS.flatMap((colour) => colourSeries(first.metric, context, colour, service)),
                annotations,
              ),
            );
          }
        } else {
          const colours = first.metric.kind === "custom" ? COLOURS : (["green"] as const);
          widgets.push(
            chart(
              `${title} (${unit})`,
              colours.flatMap((colour) => colourSeries(first.metric, context, colour)),
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
