import {
  alarmWindow,
  gateCloudWatchMetric,
  isAlbTargetGroupMetric,
  isPerService,
  type AlarmMetric,
} from "./metricCatalogue";
import { alarmName, type Colour } from "./names";
import type { Gate, GateAction, MissingData, Playbook, Severity } from "./playbook";

/**
 * Gates as CloudWatch alarms. Pure: the qualityGates component, the policy pack, the drill
 * simulator and `plan` all use these, so an alarm's numbers are derived in one place.
 */

export type AlarmLevel = "warning" | "critical";

export interface AlarmSpec {
  gateId: string;
  level: AlarmLevel;
  /** Stable suffix of the alarm's resource name: `<gate>-<level>` on green, `<gate>-blue` on blue. */
  key: string;
  /** The colour whose target groups (or `Colour` dimension) the alarm watches. */
  colour: Colour;
  metric: AlarmMetric;
  /**
   * Set when the alarm judges its colour only while that colour carries traffic (metric math on
   * the colour's RequestCount): a period without data then reads `silence`, and while the colour
   * serves nothing the alarm reads `neutral` (never breaching). See `alarmQueries`.
   */
  whileServing?: { silence: number; neutral: number };
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

/**
 * What silence means while a colour serves, per kind of metric: healthy hosts read 0 (a group
 * that serves with no healthy host), ALB-generated errors 0 % (no failed connection reported), a
 * custom gate its `silenceWhileServing`. Undefined: the alarm is not gated on traffic.
 */
function servingGate(gate: Gate, metric: AlarmMetric, threshold: number): AlarmSpec["whileServing"] {
  // The neutral value sits on the threshold, which neither comparison breaches.
  if (metric.kind === "alb-healthy-hosts") return { silence: 0, neutral: threshold };
  if (metric.kind === "alb-generated-error-rate") return { silence: 0, neutral: 0 };
  if (gate.silenceWhileServing !== undefined)
    return { silence: gate.silenceWhileServing, neutral: threshold };
  return undefined;
}

/** The green alarms a gate needs: one per level it defines (critical, and warning where it has one). */
export function alarmSpecs(gate: Gate): AlarmSpec[] {
  const source = gateCloudWatchMetric(gate.metric);
  if (!source) return [];
  const specs: AlarmSpec[] = [];
  for (const level of ["critical", "warning"] as const) {
    const spec = gate[level];
    if (!spec) continue;
    const op = gate.breachWhen === "above" ? ">" : "<";
    const threshold = roundTo(spec.threshold * source.scale, 6);
    const whileServing = servingGate(gate, source.metric, threshold);
    specs.push({
      gateId: gate.id,
      level,
      key: `${gate.id}-${level}`,
      colour: "green",
      metric: source.metric,
      ...(whileServing ? { whileServing } : {}),
      comparison: gate.breachWhen === "above" ? "GreaterThanThreshold" : "LessThanThreshold",
      threshold,
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

/**
 * Blue's twin of a gate's ALB alarm: blue carries production in every 0 %-cap phase and after
 * every rollback, so its healthy hosts, ALB-generated errors, error rate and latency are watched
 * at the gate's critical level. It pages the critical topic and never rolls back (there is no
 * further back than blue).
 */
function blueTwin(critical: AlarmSpec): AlarmSpec {
  return {
    ...critical,
    key: `${critical.gateId}-blue`,
    colour: "blue",
    action: "alert",
    notify: "critical",
    autoRollback: false,
    description: `blue: ${critical.description.replace(/-> [a-z-]+$/, "-> page critical")}`,
  };
}

/** The blue alarms of a gate: a twin of its critical level where the gate is an ALB metric per target group. */
export function blueAlarmSpecs(gate: Gate): AlarmSpec[] {
  const critical = alarmSpecs(gate).find((s) => s.level === "critical");
  return critical && isAlbTargetGroupMetric(critical.metric) ? [blueTwin(critical)] : [];
}

/**
 * CloudWatch PutCompositeAlarm (AWS API model, AlarmRule): "The AlarmRule can specify as many as
 * 100 'children' alarms."
 */
export const COMPOSITE_ALARM_CHILDREN_MAX = 100;

/**
 * CloudWatch: "A math expression used for an alarm can include as many as 10 metrics" (Amazon
 * CloudWatch User Guide, "Alarms on math expressions").
 */
export const ALARM_MATH_METRICS_MAX = 10;
/** An app-wide alarm gated on traffic reads its own metric and one RequestCount per service. */
export const SERVING_SERVICES_PER_ALARM = ALARM_MATH_METRICS_MAX - 1;

/** One CloudWatch alarm of a spec: per service, or app-wide (split in parts when gated on more services than one alarm can read). */
export interface AlarmTarget {
  /** The service whose target groups (or pods) the alarm watches; undefined for app-wide alarms. */
  service?: string;
  /** The services whose requests to the spec's colour make it "serving" (gated alarms only). */
  servingServices: string[];
  /** 1, 2, ... when an app-wide gated alarm is split in parts; undefined otherwise. */
  part?: number;
}

/** The alarms a spec needs for these services, in order. */
export function alarmTargets(
  spec: Pick<AlarmSpec, "metric" | "whileServing">,
  services: readonly string[],
): AlarmTarget[] {
  if (isPerService(spec)) return services.map((service) => ({ service, servingServices: [service] }));
  if (!spec.whileServing) return [{ servingServices: [] }];
  const parts: string[][] = [];
  for (let i = 0; i < services.length; i += SERVING_SERVICES_PER_ALARM)
    parts.push(services.slice(i, i + SERVING_SERVICES_PER_ALARM));
  return parts.length === 1
    ? [{ servingServices: parts[0]! }]
    : parts.map((servingServices, i) => ({ servingServices, part: i + 1 }));
}

/** The physical name of one of a spec's alarms: `<stack>-<key>[-part<n>][-<service>]`. */
export function alarmTargetName(stack: string, spec: Pick<AlarmSpec, "key">, target: AlarmTarget): string {
  const key = target.part === undefined ? spec.key : `${spec.key}-part${target.part}`;
  return alarmName(stack, { key }, target.service);
}

/** Every alarm name the specs need on this stack (see `alarmTargets`), in spec order. */
export function alarmNames(
  stack: string,
  specs: readonly Pick<AlarmSpec, "key" | "metric" | "whileServing">[],
  services: readonly string[],
): string[] {
  return specs.flatMap((spec) => alarmTargets(spec, services).map((t) => alarmTargetName(stack, spec, t)));
}

/** Every alarm of the playbook: per gate its green levels, then its blue twin, in gate order. */
export function playbookAlarms(playbook: Playbook): AlarmSpec[] {
  return playbook.gates.flatMap((gate) => [...alarmSpecs(gate), ...blueAlarmSpecs(gate)]);
}

/** The alarms the composite rollback alarm ORs together. */
export function autoRollbackAlarms(playbook: Playbook): AlarmSpec[] {
  return playbookAlarms(playbook).filter((a) => a.autoRollback);
}

/** Gates that feed an automatic trigger, on its own path or as a backup net. */
function automaticTriggerGates(playbook: Playbook): Set<string> {
  return new Set(
    playbook.rollback.triggers
      .filter((t) => t.kind === "automatic")
      .flatMap((t) => [...t.gates, ...t.backupGates]),
  );
}

/**
 * Whether an automatic trigger is fed by the stack's custom security event (a `security-event`
 * gate whose critical level rolls back): then the EventBridge rule on that event exists.
 */
export function securityEventRollback(playbook: Playbook): boolean {
  const automaticGates = automaticTriggerGates(playbook);
  return playbook.gates.some(
    (g) =>
      g.metric.source === "security-event" &&
      automaticGates.has(g.id) &&
      g.critical?.action === "auto-rollback",
  );
}

/**
 * GuardDuty severity at or above which findings roll back, or undefined when no automatic
 * trigger of the playbook is fed by a GuardDuty gate whose critical level rolls back (TBS
 * treats security incidents as a manual trigger). Several such gates: the lowest wins.
 */
export function guardDutyRollbackSeverity(playbook: Playbook): number | undefined {
  const automaticGates = automaticTriggerGates(playbook);
  const severities = playbook.gates.flatMap((g) =>
    g.metric.source === "guardduty" && automaticGates.has(g.id) && g.critical?.action === "auto-rollback"
      ? [g.metric.minSeverity]
      : [],
  );
  return severities.length > 0 ? Math.min(...severities) : undefined;
}
