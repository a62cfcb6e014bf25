import { alarmWindow, gateCloudWatchMetric, isPerService, type AlarmMetric } from "./metricCatalogue";
import { alarmName } from "./names";
import type { Gate, GateAction, MissingData, Playbook, Severity } from "./playbook";

/**
 * Gates as CloudWatch alarms. Pure: the qualityGates component, the policy pack, the drill
 * simulator and `plan` all use these, so an alarm's numbers are derived in one place.
 */

export type AlarmLevel = "warning" | "critical";

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

/** Whether a gate is watched by CloudWatch alarms (manual evidence and GuardDuty are not). */
export function hasAlarms(gate: Gate): boolean {
  return gateCloudWatchMetric(gate.metric) !== undefined;
}

/** The alarms a gate needs: one per level it defines (critical, and warning where it has one). */
export function alarmSpecs(gate: Gate): AlarmSpec[] {
  const source = gateCloudWatchMetric(gate.metric);
  if (!source) return [];
  const specs: AlarmSpec[] = [];
  for (const level of ["critical", "warning"] as const) {
    const spec = gate[level];
    if (!spec) continue;
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
      ...alarmWindow(source.period, spec),
      treatMissingData: gate.missingData,
      action: spec.action,
      notify: spec.notify ?? level,
      autoRollback: spec.action === "auto-rollback",
      description: `${gate.name} ${op} ${spec.threshold} ${gate.unit} for ${spec.sustainSeconds} s -> ${spec.action}`,
    });
  }
  return specs;
}

function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
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

/** Every alarm of the playbook, in gate order. */
export function playbookAlarms(playbook: Playbook): AlarmSpec[] {
  return playbook.gates.flatMap(alarmSpecs);
}

/** The alarms the composite rollback alarm ORs together. */
export function autoRollbackAlarms(playbook: Playbook): AlarmSpec[] {
  return playbookAlarms(playbook).filter((a) => a.autoRollback);
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
