import type { PolicyResource } from "@pulumi/policy";
import { alarmQueries, type AlarmPlace, type AlarmQueries } from "../../rollout/alarmQueries";
import {
  alarmNames,
  alarmTargetName,
  alarmTargets,
  autoRollbackAlarms,
  playbookAlarms,
  type AlarmSpec,
} from "../../rollout/alarms";
import type { MetricIdentity } from "../../rollout/metricCatalogue";
import {
  compositeAlarmName,
  customMetricNamespace,
  rollbackFunctionName,
  type Colour,
} from "../../rollout/names";
import type { Severity } from "../../rollout/playbook";
import type { RolloutState } from "../../rollout/state";
import {
  asArray,
  colourOf,
  field,
  isSet,
  isUnknownValueError,
  known,
  ofType,
  TYPES,
  withRolloutState,
  type Policy,
  type StackValidationPolicy,
} from "./util";

/**
 * Gate rules: every CloudWatch alarm of the playbook exists and watches exactly what the
 * playbook says (the metric, its statistic, dimensions and window, the threshold, missing-data
 * treatment and who is told), the composite alarm watches all auto-rollback ones and invokes
 * the rollback Lambda, and in production nobody has muted them. The expected alarms come from
 * rollout/alarms.ts and rollout/alarmQueries.ts, the functions the QualityGates component
 * builds them with, over the committed playbook the state record names.
 */

const LAMBDA_FUNCTION = "aws:lambda/function:Function";
const POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation";

/** The alarm names a spec expands to on this stack (per service, or in parts: `alarmTargets`). */
function expectedAlarmNames(spec: AlarmSpec, state: RolloutState): string[] {
  return alarmNames(
    state.stack,
    [spec],
    state.services.map((s) => s.service),
  );
}

/** A resource's physical alarm name, or its Pulumi name when the physical name is not set or not known. */
function physicalAlarmName(resource: PolicyResource, key: "name" | "alarmName"): string {
  const name = known(() => resource.props[key] as unknown);
  return typeof name === "string" && name !== "" ? name : resource.name;
}

/** Periods an alarm evaluates: its own `period`, or those of its metric-math queries. */
function periodsOf(props: Record<string, unknown>): number[] {
  if (props.period !== undefined) return [Number(props.period)];
  return asArray(props.metricQueries)
    .map((q) => field(q, "metric", "period"))
    .filter((p) => p !== undefined)
    .map(Number);
}

// ---------------------------------------------------------------------------------------
// What an alarm must watch

/** A value unknown at preview: the field it belongs to is skipped, every other one checked. */
const UNKNOWN = Symbol("unknown at preview");

/** `field(obj, ...path)`, or UNKNOWN when the engine cannot know it yet. */
function read(obj: unknown, ...path: string[]): unknown {
  try {
    return field(obj, ...path);
  } catch (error) {
    if (isUnknownValueError(error)) return UNKNOWN;
    throw error;
  }
}

/**
 * An expected dimension value. ALB dimensions are outputs of the stack's own load balancer and
 * target groups (their ARN suffixes), so they are matched against those resources; `ANY` stands
 * for a value the stack's resources do not tell (no Pod Identity association names the cluster).
 */
type Expected = string | { loadBalancer: true } | { targetGroup: { service: string; colour: Colour } };
const ANY = "\u0000any";

function describeExpected(value: Expected): string {
  if (typeof value === "string") return value;
  if ("loadBalancer" in value) return "the stack's load balancer (app/<name>/<id>)";
  return `${value.targetGroup.colour}'s ${value.targetGroup.service} target group (targetgroup/<name>/<id>)`;
}

/** The name part of an ARN suffix `kind/<name>/<id>`, or undefined. */
function suffixName(suffix: string, kind: "app" | "targetgroup"): string | undefined {
  return new RegExp(`^${kind}/([^/]+)/[^/]+$`).exec(suffix)?.[1];
}

/**
 * Whether the ARN suffix `actual` is `resource`'s: its ARN when known, else its physical name,
 * else the provider's auto-name (the Pulumi name plus a random suffix; the mock engine keeps it).
 * Undefined when the resource's own identity is unknown at preview.
 */
function isSuffixOf(
  actual: string,
  resource: PolicyResource,
  kind: "app" | "targetgroup",
): boolean | undefined {
  const arn = read(resource.props, "arn");
  if (arn === UNKNOWN) return undefined;
  if (typeof arn === "string" && arn !== "") return arn.endsWith(`/${actual}`) || arn.endsWith(`:${actual}`);
  const name = suffixName(actual, kind);
  if (name === undefined) return false;
  const physical = read(resource.props, "name");
  if (physical === UNKNOWN) return undefined;
  if (typeof physical === "string" && physical !== "") return name === physical.slice(0, 32);
  return name === resource.name || name.startsWith(`${resource.name}-`);
}

interface StackPlaces {
  place: AlarmPlace<Expected>;
  /** Whether a dimension value is the expected one; undefined when that cannot be known. */
  matches: (expected: Expected | string, actual: unknown) => boolean | undefined;
}

/** Where this stack's alarms must look, from its own resources. */
function stackPlaces(resources: readonly PolicyResource[], stack: string): StackPlaces {
  const balancers = ofType(resources, TYPES.loadBalancer);
  const groups = ofType(resources, TYPES.targetGroup);
  const association = ofType(resources, POD_IDENTITY_ASSOCIATION)[0];
  const clusterValue = (key: string) => {
    const value = association ? read(association.props, key) : undefined;
    return typeof value === "string" && value !== "" ? value : ANY;
  };
  const place: AlarmPlace<Expected> = {
    loadBalancer: { loadBalancer: true },
    targetGroup: (service, colour) => ({ targetGroup: { service, colour } }),
    cluster: { clusterName: clusterValue("clusterName"), namespace: clusterValue("namespace") },
    customNamespace: customMetricNamespace(stack),
  };
  const matches = (expected: Expected | string, actual: unknown): boolean | undefined => {
    if (actual === UNKNOWN || expected === ANY) return undefined;
    if (typeof expected === "string") return actual === expected;
    if (typeof actual !== "string") return false;
    if ("loadBalancer" in expected) {
      if (balancers.length === 0) return undefined;
      const verdicts = balancers.map((lb) => isSuffixOf(actual, lb, "app"));
      return verdicts.includes(true) ? true : verdicts.includes(undefined) ? undefined : false;
    }
    const { service, colour } = expected.targetGroup;
    const group = groups.find(
      (tg) => colourOf(tg) === colour && tg.name.endsWith(`-${service}-${colour}-tg`),
    );
    return group ? isSuffixOf(actual, group, "targetgroup") : false;
  };
  return { place, matches };
}

type Mismatch = [what: string, actual: unknown, expected: string];

/** Differences between an alarm's metric (or metric-math queries) and what the spec's queries say. */
function metricMismatches(
  props: Record<string, unknown>,
  queries: AlarmQueries<Expected>,
  places: StackPlaces,
): Mismatch[] {
  const out: Mismatch[] = [];
  const identity = (prefix: string, at: unknown, metric: MetricIdentity<Expected>, statKeys: string[]) => {
    const check = (what: string, actual: unknown, expected: string) => {
      if (actual !== UNKNOWN && actual !== expected) out.push([`${prefix}${what}`, actual, expected]);
    };
    check("namespace", read(at, "namespace"), metric.namespace);
    check("metricName", read(at, "metricName"), metric.metricName);
    const stat = metric.extendedStatistic ?? metric.statistic ?? "";
    const [statKey, extendedKey] = statKeys;
    const actualStat = extendedKey ? (read(at, extendedKey) ?? read(at, statKey!)) : read(at, statKey!);
    check(extendedKey ? "statistic" : statKey!, actualStat, stat);
    const dims = read(at, "dimensions");
    if (dims === UNKNOWN) return;
    const actualDims = (dims ?? {}) as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(metric.dimensions), ...Object.keys(actualDims)])];
    for (const key of keys) {
      const expected = metric.dimensions[key];
      const actual = key in actualDims ? read(actualDims, key) : undefined;
      if (expected === undefined) {
        out.push([`${prefix}dimensions.${key}`, actual, "no such dimension"]);
        continue;
      }
      if (places.matches(expected, actual) === false)
        out.push([`${prefix}dimensions.${key}`, actual, describeExpected(expected)]);
    }
  };
  if ("metric" in queries) {
    if (props.metricQueries !== undefined)
      out.push(["metricQueries", "set", "a single metric (no metric math)"]);
    identity("", props, queries.metric, ["statistic", "extendedStatistic"]);
    return out;
  }
  if (isSet(props, "metricName"))
    out.push(["metricName", read(props, "metricName"), "metric math (metricQueries)"]);
  const actual = read(props, "metricQueries");
  if (actual === UNKNOWN) return out;
  const byId = new Map(asArray(actual).map((q) => [read(q, "id"), q]));
  for (const q of queries.queries) {
    const found = byId.get(q.id);
    byId.delete(q.id);
    const prefix = `metricQueries[${q.id}].`;
    if (found === undefined) {
      out.push([
        `metricQueries[${q.id}]`,
        undefined,
        "metric" in q ? `${q.metric.namespace} ${q.metric.metricName}` : q.expression,
      ]);
      continue;
    }
    if ("metric" in q) {
      identity(`${prefix}metric.`, read(found, "metric"), q.metric, ["stat"]);
      continue;
    }
    const expression = read(found, "expression");
    if (expression !== UNKNOWN && String(expression).replace(/\s+/g, " ").trim() !== q.expression)
      out.push([`${prefix}expression`, expression, q.expression]);
    const returnData = read(found, "returnData");
    if (returnData !== UNKNOWN && (returnData ?? true) !== q.returnData)
      out.push([`${prefix}returnData`, returnData, String(q.returnData)]);
  }
  for (const id of byId.keys()) out.push([`metricQueries[${String(id)}]`, "set", "no such query"]);
  return out;
}

/** The severity of the stack's alert topic an ARN names (`alerts-<severity>` topics), null for another ARN, undefined when unknown. */
function topicSeverity(arn: string, topics: readonly PolicyResource[]): Severity | null | undefined {
  for (const topic of topics) {
    const severity = /-(critical|warning|info)$/.exec(topic.name)?.[1] as Severity | undefined;
    if (!severity) continue;
    const own = read(topic.props, "arn");
    if (own === UNKNOWN) return undefined;
    if (typeof own === "string" && own !== "") {
      if (own === arn) return severity;
      continue;
    }
    const name = arn.split(":").pop()!;
    const physical = read(topic.props, "name");
    if (physical === UNKNOWN) return undefined;
    if (
      typeof physical === "string" && physical !== ""
        ? name === physical
        : name === topic.name || name.startsWith(`${topic.name}-`)
    )
      return severity;
  }
  return null;
}

/** Whether the alarm tells the spec's severity topic and no other (skipped while actions are off or unknown). */
function actionMismatches(
  props: Record<string, unknown>,
  spec: AlarmSpec,
  state: RolloutState,
  topics: readonly PolicyResource[],
): Mismatch[] {
  if (!state.alarmActionsEnabled || read(props, "actionsEnabled") === false || topics.length === 0) return [];
  const actions = read(props, "alarmActions");
  if (actions === UNKNOWN) return [];
  const arns = asArray(actions).map((a) => (typeof a === "string" ? a : UNKNOWN));
  // An empty list is gates-alarm-actions-enabled's to report.
  if (arns.length === 0 || arns.includes(UNKNOWN)) return [];
  const severities = (arns as string[]).map((arn) => topicSeverity(arn, topics));
  if (severities.includes(undefined)) return [];
  if (severities.length === 1 && severities[0] === spec.notify) return [];
  const told = (arns as string[])
    .map((arn, i) => (severities[i] ? `the ${severities[i]} topic` : arn))
    .join(", ");
  return [["alarmActions", told, `the ${spec.notify} topic only (notify: ${spec.notify})`]];
}

/** Every difference between an alarm and its spec, each a field, what it is and what it must be. */
function alarmMismatches(
  alarm: PolicyResource,
  spec: AlarmSpec,
  queries: AlarmQueries<Expected>,
  context: { state: RolloutState; places: StackPlaces; topics: readonly PolicyResource[] },
): Mismatch[] {
  const props = alarm.props;
  const value = (key: string) => read(props, key);
  const out: Mismatch[] = [];
  const threshold = value("threshold");
  if (threshold !== UNKNOWN && !(Math.abs(Number(threshold) - spec.threshold) < 1e-9))
    out.push(["threshold", threshold, String(spec.threshold)]);
  const periods = known(() => periodsOf(props));
  if (periods !== undefined && !(periods.length > 0 && periods.every((p) => p === spec.periodSeconds)))
    out.push(["period", periods.length === 0 ? undefined : periods.join("/"), String(spec.periodSeconds)]);
  const evaluationPeriods = value("evaluationPeriods");
  if (evaluationPeriods !== UNKNOWN && evaluationPeriods !== spec.evaluationPeriods)
    out.push(["evaluationPeriods", evaluationPeriods, String(spec.evaluationPeriods)]);
  const datapoints = value("datapointsToAlarm");
  // CloudWatch alarms on every evaluated period when datapointsToAlarm is not set.
  if (
    datapoints !== UNKNOWN &&
    evaluationPeriods !== UNKNOWN &&
    (datapoints ?? evaluationPeriods) !== spec.datapointsToAlarm
  )
    out.push(["datapointsToAlarm", datapoints, String(spec.datapointsToAlarm)]);
  const comparison = value("comparisonOperator");
  if (comparison !== UNKNOWN && comparison !== spec.comparison)
    out.push(["comparisonOperator", comparison, spec.comparison]);
  const missing = value("treatMissingData");
  // CloudWatch treats missing data as `missing` when the alarm does not say.
  if (missing !== UNKNOWN && (missing ?? "missing") !== spec.treatMissingData)
    out.push(["treatMissingData", missing, spec.treatMissingData]);
  out.push(...metricMismatches(props, queries, context.places));
  out.push(...actionMismatches(props, spec, context.state, context.topics));
  return out;
}

/** Checks every alarm of the specs `select` keeps: present, and exactly what the playbook says. */
function alarmsMatch(select: (spec: AlarmSpec) => boolean, missingWhat: string) {
  return withRolloutState(({ state, playbook }, args, report) => {
    const alarms = new Map(
      ofType(args.resources, TYPES.metricAlarm).map((r) => [physicalAlarmName(r, "name"), r]),
    );
    const services = state.services.map((s) => s.service);
    const places = stackPlaces(args.resources, state.stack);
    const topics = ofType(args.resources, TYPES.snsTopic);
    for (const spec of playbookAlarms(playbook).filter(select)) {
      for (const target of alarmTargets(spec, services)) {
        const name = alarmTargetName(state.stack, spec, target);
        const alarm = alarms.get(name);
        if (!alarm) {
          report(
            `${missingWhat} ${name} is missing: expected a CloudWatch MetricAlarm for ${spec.description} ` +
              `(playbook ${playbook.id}); the QualityGates component creates it from the playbook's alarm specs`,
          );
          continue;
        }
        const queries = alarmQueries(spec, target, places.place);
        for (const [what, actual, expected] of alarmMismatches(alarm, spec, queries, {
          state,
          places,
          topics,
        })) {
          report(
            `alarm ${name} has ${what} ${actual === undefined ? "unset" : describeActual(actual)}, but playbook ${playbook.id} requires ${expected} ` +
              `(${spec.description}); derive the alarm from the playbook's alarm spec ${spec.key} instead of editing it`,
            alarm.urn,
          );
        }
      }
    }
  });
}

function describeActual(value: unknown): string {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : JSON.stringify(value);
}

const ALARM_REMEDIATION =
  "Build alarms from rollout/alarms.ts alarmSpecs and rollout/alarmQueries.ts (the QualityGates component does) instead of editing them by hand, " +
  "and run a committed playbook (rollout:playbook is an id in production); change a metric, threshold or window in the playbook YAML, where it is written once.";

export const autoRollbackAlarmsMatchPlaybook: StackValidationPolicy = {
  name: "gates-auto-rollback-alarms-match-playbook",
  description:
    "Every auto-rollback gate of the playbook has its CloudWatch alarm (per service where the metric is) watching exactly the playbook's metric: namespace, metric, statistic, dimensions, period, evaluation periods, datapoints, threshold, comparison, missing-data treatment and severity topic.",
  enforcementLevel: "mandatory",
  remediationSteps: ALARM_REMEDIATION,
  validateStack: alarmsMatch((spec) => spec.autoRollback, "auto-rollback alarm"),
};

export const alarmsMatchPlaybook: StackValidationPolicy = {
  name: "gates-alarms-match-playbook",
  description:
    "Every other alarm of the playbook (warning levels, alert-only critical levels, blue's twins) exists and watches exactly the playbook's metric, as gates-auto-rollback-alarms-match-playbook checks the auto-rollback ones.",
  enforcementLevel: "mandatory",
  remediationSteps: ALARM_REMEDIATION,
  validateStack: alarmsMatch((spec) => !spec.autoRollback, "alarm"),
};

/** Alarm names in an alarm rule such as `ALARM("a") OR ALARM(b)`. */
export function alarmRuleNames(rule: string): string[] {
  return [...rule.matchAll(/ALARM\(\s*"?([^")]+?)"?\s*\)/g)].map((m) => m[1]!.trim());
}

export const compositeCoversAutoRollback: StackValidationPolicy = {
  name: "gates-composite-covers-auto-rollback",
  description:
    "The composite auto-rollback alarm's rule names exactly the playbook's auto-rollback alarms (none missing, none extra), and its actions invoke the stack's rollback function.",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Build the composite alarm\'s rule as ALARM("<name>") OR ... over the auto-rollback alarm names (the QualityGates ' +
    "component does), with the rollback function's ARN in its alarmActions; a warning-level alarm must not roll back, and a missing critical one never would.",
  validateStack: withRolloutState(({ state, playbook }, args, report) => {
    const expected = autoRollbackAlarms(playbook).flatMap((spec) => expectedAlarmNames(spec, state));
    const wantedName = compositeAlarmName(state.stack);
    const composites = ofType(args.resources, TYPES.compositeAlarm);
    // Only the composite of that name is what the rollback Lambda and the CLI watch: another
    // composite, whatever its rule, is not the auto-rollback trigger.
    const composite = composites.find((c) => physicalAlarmName(c, "alarmName") === wantedName);
    if (!composite) {
      if (expected.length === 0) return;
      const others = composites.map((c) => physicalAlarmName(c, "alarmName"));
      report(
        `no composite auto-rollback alarm: expected a CloudWatch CompositeAlarm ${wantedName} whose rule ORs the ${expected.length} ` +
          `auto-rollback alarms of playbook ${playbook.id}, with the rollback Lambda as its action` +
          (others.length > 0
            ? ` (found only ${others.join(", ")}; name it compositeAlarmName("${state.stack}"))`
            : ""),
      );
      return;
    }
    const named = alarmRuleNames(String(composite.props.alarmRule ?? ""));
    const missing = expected.filter((n) => !named.includes(n));
    const extra = named.filter((n) => !expected.includes(n));
    if (missing.length > 0) {
      report(
        `composite alarm ${wantedName} does not watch ${missing.join(", ")}; its alarmRule must be ALARM("...") OR ... over exactly ` +
          `the auto-rollback alarms of playbook ${playbook.id}, or those breaches never roll back`,
        composite.urn,
      );
    }
    if (extra.length > 0) {
      report(
        `composite alarm ${wantedName} also fires on ${extra.join(", ")}, which are not auto-rollback alarms of playbook ${playbook.id}; ` +
          `remove them from its alarmRule so only the playbook's auto-rollback gates roll back`,
        composite.urn,
      );
    }
    const invokes = invokesRollbackFunction(composite, args.resources, state);
    if (invokes === false) {
      report(
        `composite alarm ${wantedName} does not invoke the rollback function ${rollbackFunctionName(state.stack)}; ` +
          "its alarmActions must hold that Lambda's ARN (the QualityGates component puts it there), or a breach pages people but never rolls back",
        composite.urn,
      );
    }
  }),
};

/**
 * Whether the composite's actions invoke the stack's rollback function (`rollbackFunctionName`):
 * an ARN of that function (its own ARN where the stack's resource has a known one). Undefined
 * while actions are off (gates-alarm-actions-enabled's business) or unknown at preview.
 */
function invokesRollbackFunction(
  composite: PolicyResource,
  resources: readonly PolicyResource[],
  state: RolloutState,
): boolean | undefined {
  if (!state.alarmActionsEnabled || read(composite.props, "actionsEnabled") === false) return undefined;
  const actions = read(composite.props, "alarmActions");
  if (actions === UNKNOWN) return undefined;
  const arns = asArray(actions).map((a) => (typeof a === "string" ? a : UNKNOWN));
  if (arns.length === 0 || arns.includes(UNKNOWN)) return undefined;
  const wanted = rollbackFunctionName(state.stack);
  const owned = ofType(resources, LAMBDA_FUNCTION)
    .filter((f) => read(f.props, "name") === wanted)
    .map((f) => read(f.props, "arn"));
  if (owned.includes(UNKNOWN)) return undefined;
  const ownArns = owned.filter((arn): arn is string => typeof arn === "string" && arn !== "");
  return (arns as string[]).some((arn) =>
    ownArns.length > 0
      ? ownArns.includes(arn)
      : /^arn:aws[a-z-]*:lambda:/.test(arn) && arn.endsWith(`:function:${wanted}`),
  );
}

export const alarmActionsEnabled: StackValidationPolicy = {
  name: "gates-alarm-actions-enabled",
  description:
    "In production every CloudWatch alarm, the composite included, has actions enabled and at least one alarm action.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Run `pulumi config set rollout:alarmActionsEnabled true`; give every alarm an SNS topic (and the composite the rollback Lambda) in alarmActions.",
  validateStack: withRolloutState(
    ({ state, stateResource }, args, report) => {
      const alarms = ofType(args.resources, TYPES.metricAlarm, TYPES.compositeAlarm);
      const muted = alarms.filter((alarm) => alarm.props.actionsEnabled === false);
      // Muted by the stack's switch: one violation naming the switch, not one per alarm.
      if (!state.alarmActionsEnabled && muted.length > 0) {
        report(
          `rollout:alarmActionsEnabled is false in production, so ${muted.length} alarms (the composite included) neither page anyone nor roll back; ` +
            "run `pulumi config set rollout:alarmActionsEnabled true`",
          stateResource.urn,
        );
      }
      for (const alarm of alarms) {
        const name = physicalAlarmName(alarm, alarm.type === TYPES.compositeAlarm ? "alarmName" : "name");
        if (muted.includes(alarm)) {
          if (state.alarmActionsEnabled) {
            report(
              `alarm ${name} has actions disabled in production, so a breach neither pages anyone nor rolls back; ` +
                "set actionsEnabled: true (the stack's rollout:alarmActionsEnabled is true)",
              alarm.urn,
            );
          }
          continue;
        }
        // An action list unknown at preview is built from topic ARNs: it is not empty.
        const actions = isSet(alarm.props, "alarmActions")
          ? known(() => alarm.props.alarmActions as unknown)
          : [];
        if (actions !== undefined && asArray(actions).length === 0) {
          report(
            `alarm ${name} has no alarm actions in production; add its severity's SNS topic (the composite: the rollback Lambda) to alarmActions`,
            alarm.urn,
          );
        }
      }
    },
    { productionOnly: true },
  ),
};

export const gatePolicies: Policy[] = [
  autoRollbackAlarmsMatchPlaybook,
  alarmsMatchPlaybook,
  compositeCoversAutoRollback,
  alarmActionsEnabled,
];
