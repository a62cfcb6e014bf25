import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { autoRollbackAlarms, playbookAlarms, type AlarmSpec } from "../rollout/gates";
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
  /** Namespace of the application's custom metrics. Default: `StagedRollout/<stack>`. */
  customNamespace?: string;
}

/** Whether an alarm watches each service's green target group / pods, or the app as a whole. */
export function isPerService(spec: Pick<AlarmSpec, "metric">): boolean {
  return spec.metric.kind !== "custom";
}

/** CloudWatch alarm name of a gate level, per service where the metric is per service. */
export function alarmName(stack: string, spec: Pick<AlarmSpec, "key">, service?: string): string {
  return service ? `${stack}-${spec.key}-${service}` : `${stack}-${spec.key}`;
}

/** Every alarm name the playbook needs on this stack, in playbook order. */
export function alarmNames(
  stack: string,
  specs: readonly AlarmSpec[],
  services: readonly string[],
): string[] {
  return specs.flatMap((spec) =>
    isPerService(spec) ? services.map((s) => alarmName(stack, spec, s)) : [alarmName(stack, spec)],
  );
}

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
    const customNamespace = args.customNamespace ?? `StagedRollout/${args.stack}`;
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
          alarmName: `${args.stack}-auto-rollback`,
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
        dashboardBody: dashboardBody(
          args,
          specs,
          customNamespace,
          Object.values(this.alarms).map((a) => a.arn),
        ),
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
        dimensions: {
          ClusterName: args.clusterName,
          Namespace: args.namespace,
          Service: `${service!.name}-green`,
        },
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

/** Blue and green side by side per service, every gate with its thresholds, traffic split, alarms. */
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
      const widgets: object[] = [];
      const metric = (
        (y: number) =>
        (title: string, metrics: unknown[][], annotations?: { label: string; value: number }[]) => ({
          type: "metric",
          width: 12,
          height: 6,
          y,
          properties: {
            title,
            region: regionName,
            view: "timeSeries",
            metrics,
            annotations: annotations ? { horizontal: annotations } : undefined,
          },
        })
      )(0);
      for (const [service, blueTg, greenTg] of services) {
        const perColour = (metricName: string, stat: string) => [
          [
            "AWS/ApplicationELB",
            metricName,
            "LoadBalancer",
            alb,
            "TargetGroup",
            blueTg,
            { stat, label: `blue ${metricName}` },
          ],
          [
            "AWS/ApplicationELB",
            metricName,
            "LoadBalancer",
            alb,
            "TargetGroup",
            greenTg,
            { stat, label: `green ${metricName}` },
          ],
        ];
        widgets.push(metric(`${service}: traffic split (requests)`, perColour("RequestCount", "Sum")));
        widgets.push(metric(`${service}: 5XX blue vs green`, perColour("HTTPCode_Target_5XX_Count", "Sum")));
        widgets.push(
          metric(`${service}: p95 latency blue vs green (s)`, perColour("TargetResponseTime", "p95")),
        );
      }
      const gateIds = [...new Set(specs.map((s) => s.gateId))];
      for (const gateId of gateIds) {
        const levels = specs.filter((s) => s.gateId === gateId);
        const first = levels[0]!;
        const annotations = levels.map((l) => ({ label: `${l.level} (${l.action})`, value: l.threshold }));
        const series = gateSeries(first.metric, {
          alb,
          services,
          customNamespace,
          clusterName: args.clusterName,
          namespace: args.namespace,
        });
        const business = args.playbook.gates.find((g) => g.id === gateId)?.category === "business";
        widgets.push(
          metric(`${business ? "business: " : "gate: "}${gateId} (${first.unit})`, series, annotations),
        );
      }
      widgets.push({
        type: "alarm",
        width: 24,
        height: 6,
        properties: { title: "alarm status", alarms: arns },
      });
      return JSON.stringify({ widgets });
    });
}

interface SeriesContext {
  alb: string;
  /** [service, blue TG suffix, green TG suffix] */
  services: string[][];
  customNamespace: string;
  clusterName: string;
  namespace: string;
}

/** Dashboard series of a gate on green, in CloudWatch's metric-array notation. */
function gateSeries(m: AlarmSpec["metric"], c: SeriesContext): unknown[][] {
  const greenTg = (s: string[]) => ["AWS/ApplicationELB", "LoadBalancer", c.alb, "TargetGroup", s[2]!];
  switch (m.kind) {
    case "custom":
      return [
        [c.customNamespace, m.metricName, "Colour", "green", { stat: m.extendedStatistic ?? m.statistic }],
      ];
    case "container-insights":
      return c.services.map(([s]) => [
        "ContainerInsights",
        m.metricName,
        "ClusterName",
        c.clusterName,
        "Namespace",
        c.namespace,
        "Service",
        `${s}-green`,
      ]);
    case "alb":
      return c.services.map((s) => {
        const [ns, ...dims] = greenTg(s);
        return [ns, m.metricName, ...dims, { stat: m.extendedStatistic ?? m.statistic }];
      });
    case "alb-error-rate":
      return c.services.flatMap((s) => {
        const [ns, ...dims] = greenTg(s);
        return [
          [{ expression: `100 * e_${s[0]} / r_${s[0]}`, label: `${s[0]} error rate (%)` }],
          [ns, "HTTPCode_Target_5XX_Count", ...dims, { id: `e_${s[0]}`, stat: "Sum", visible: false }],
          [ns, "RequestCount", ...dims, { id: `r_${s[0]}`, stat: "Sum", visible: false }],
        ];
      });
  }
}
