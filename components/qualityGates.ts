import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { alarmNames, autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "../rollout/alarms";
import {
  ALB_ERROR_RATE_PARTS,
  isPerService,
  metricIdentity,
  type MetricLocation,
} from "../rollout/metricCatalogue";
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
            ...metricInputs(
              spec,
              {
                alb: {
                  loadBalancer: args.albArnSuffix,
                  targetGroup: service?.greenTargetGroupArnSuffix ?? "",
                },
                cluster: { clusterName: args.clusterName, namespace: args.namespace },
                customNamespace,
              },
              service?.name,
            ),
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
        dashboardName: dashboardName(args.stack),
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

/** The metric (or metric-math) inputs of one alarm, on green. */
function metricInputs(
  spec: AlarmSpec,
  where: MetricLocation<pulumi.Input<string>>,
  service?: string,
): Partial<aws.cloudwatch.MetricAlarmArgs> {
  const m = spec.metric;
  if (m.kind === "alb-error-rate") {
    const sum = (id: string, part: (typeof ALB_ERROR_RATE_PARTS)[keyof typeof ALB_ERROR_RATE_PARTS]) => {
      const { namespace, metricName, dimensions } = metricIdentity(part, where, service, "green");
      return {
        id,
        metric: { namespace, metricName, stat: part.statistic, period: spec.periodSeconds, dimensions },
      };
    };
    // errors / requests * 100 with no IF(): a period without requests yields no datapoint, so
    // the gate's own missing-data treatment decides, instead of a fabricated 0 % hiding an outage.
    return {
      metricQueries: [
        sum("errors", ALB_ERROR_RATE_PARTS.errors),
        sum("requests", ALB_ERROR_RATE_PARTS.requests),
        {
          id: "errorRate",
          expression: "errors / requests * 100",
          label: "5XX error rate (%)",
          returnData: true,
        },
      ],
    };
  }
  const { namespace, metricName, dimensions, ...statistic } = metricIdentity(m, where, service, "green");
  return { namespace, metricName, period: spec.periodSeconds, dimensions, ...statistic };
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
 * per-service metrics. Cluster-scoped metrics have no colour and are drawn once.
 */
function colourSeries(
  m: AlarmSpec["metric"],
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
  /** `[namespace, name, dimension, value, ...]` of a series, and its statistic. */
  const located = (metric: Parameters<typeof metricIdentity>[0]) => {
    const identity = metricIdentity(metric, where, service?.[0], colour);
    return {
      path: [identity.namespace, identity.metricName, ...Object.entries(identity.dimensions).flat()],
      stat: identity.extendedStatistic ?? identity.statistic,
    };
  };
  if (m.kind === "alb-error-rate") {
    const id = `${colour}_${service![0].replace(/[^A-Za-z0-9]/g, "_")}`;
    const errors = located(ALB_ERROR_RATE_PARTS.errors);
    const requests = located(ALB_ERROR_RATE_PARTS.requests);
    return [
      [{ expression: `100 * e_${id} / r_${id}`, id: `rate_${id}`, ...style }],
      [...errors.path, { id: `e_${id}`, stat: errors.stat, visible: false }],
      [...requests.path, { id: `r_${id}`, stat: requests.stat, visible: false }],
    ];
  }
  const gate = located(m);
  const clusterWide = m.kind === "container-insights" && m.scope === "cluster";
  return [
    [...gate.path, { stat: gate.stat, ...(clusterWide ? { label: "cluster (fullest node)" } : style) }],
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
        const unit = first.metricUnit;
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
