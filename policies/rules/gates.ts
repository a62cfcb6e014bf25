import type { PolicyResource } from "@pulumi/policy";
import { alarmNames, autoRollbackAlarms, type AlarmSpec } from "../../rollout/alarms";
import { compositeAlarmName } from "../../rollout/names";
import type { RolloutState } from "../../rollout/state";
import {
  asArray,
  field,
  isSet,
  known,
  ofType,
  TYPES,
  withRolloutState,
  type Policy,
  type StackValidationPolicy,
} from "./util";

/**
 * Gate rules: the CloudWatch alarms that roll back automatically are exactly the playbook's,
 * the composite alarm watches all of them, and in production nobody has muted them. Alarm
 * names come from rollout/names.ts, the functions the QualityGates component names them with.
 */

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

export const autoRollbackAlarmsMatchPlaybook: StackValidationPolicy = {
  name: "gates-auto-rollback-alarms-match-playbook",
  description:
    "Every auto-rollback gate of the playbook has its CloudWatch alarm (per service where the metric is) with the playbook's threshold, period, evaluation periods, datapoints and comparison.",
  enforcementLevel: "mandatory",
  remediationSteps:
    "Build alarms from rollout/alarms.ts alarmSpecs (the QualityGates component does) instead of editing them by hand; " +
    "change a threshold or window in the playbook YAML, where it is written once.",
  validateStack: withRolloutState(({ state, playbook }, args, report) => {
    const alarms = new Map(
      ofType(args.resources, TYPES.metricAlarm).map((r) => [physicalAlarmName(r, "name"), r]),
    );
    for (const spec of autoRollbackAlarms(playbook)) {
      for (const name of expectedAlarmNames(spec, state)) {
        const alarm = alarms.get(name);
        if (!alarm) {
          report(
            `auto-rollback alarm ${name} is missing: expected a CloudWatch MetricAlarm for ${spec.description} ` +
              `(playbook ${playbook.id}); the QualityGates component creates it from the playbook's alarm specs`,
          );
          continue;
        }
        const props = alarm.props;
        const periods = periodsOf(props);
        const checks: [string, unknown, number | string, boolean][] = [
          [
            "threshold",
            props.threshold,
            spec.threshold,
            Math.abs(Number(props.threshold) - spec.threshold) < 1e-9,
          ],
          [
            "period",
            periods.length === 0 ? undefined : periods.join("/"),
            spec.periodSeconds,
            periods.length > 0 && periods.every((p) => p === spec.periodSeconds),
          ],
          [
            "evaluationPeriods",
            props.evaluationPeriods,
            spec.evaluationPeriods,
            props.evaluationPeriods === spec.evaluationPeriods,
          ],
          [
            "datapointsToAlarm",
            props.datapointsToAlarm,
            spec.datapointsToAlarm,
            // CloudWatch alarms on every evaluated period when datapointsToAlarm is not set.
            (props.datapointsToAlarm ?? props.evaluationPeriods) === spec.datapointsToAlarm,
          ],
          [
            "comparisonOperator",
            props.comparisonOperator,
            spec.comparison,
            props.comparisonOperator === spec.comparison,
          ],
        ];
        for (const [what, actual, expected, ok] of checks) {
          if (ok) continue;
          report(
            `alarm ${name} has ${what} ${actual === undefined ? "unset" : String(actual)}, but playbook ${playbook.id} requires ${expected} ` +
              `(${spec.description}); derive the alarm from the playbook's alarm spec ${spec.key} instead of editing it`,
            alarm.urn,
          );
        }
      }
    }
  }),
};

/** Alarm names in an alarm rule such as `ALARM("a") OR ALARM(b)`. */
export function alarmRuleNames(rule: string): string[] {
  return [...rule.matchAll(/ALARM\(\s*"?([^")]+?)"?\s*\)/g)].map((m) => m[1]!.trim());
}

export const compositeCoversAutoRollback: StackValidationPolicy = {
  name: "gates-composite-covers-auto-rollback",
  description:
    "The composite auto-rollback alarm's rule names exactly the playbook's auto-rollback alarms: none missing, none extra.",
  enforcementLevel: "mandatory",
  remediationSteps:
    'Build the composite alarm\'s rule as ALARM("<name>") OR ... over the auto-rollback alarm names (the QualityGates ' +
    "component does); a warning-level alarm must not roll back, and a missing critical one never would.",
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
  }),
};

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
  compositeCoversAutoRollback,
  alarmActionsEnabled,
];
