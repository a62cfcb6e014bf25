import type { Action, Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TargetGroupPair } from "./lambdaEnvironment";

/**
 * How a listener rule is put on blue: the one piece of logic the rollback Lambda and
 * `rollout rollback` (which moves traffic before it reconciles config) share. Pure: callers do
 * the DescribeRules and ModifyRule calls with their own clients.
 */

export interface RuleChange {
  ruleArn: string;
  service: string;
  kind: "weighted" | "cohort";
}

/** The ModifyRule actions that put a rule on blue, or undefined when it already is (or is not ours). */
export function blueActions(
  rule: Rule,
  pairs: readonly TargetGroupPair[],
): { actions: Action[]; change: Omit<RuleChange, "ruleArn"> } | undefined {
  if (rule.IsDefault) return undefined;
  const byGreen = new Map(pairs.map((p) => [p.green, p]));
  const byBlue = new Map(pairs.map((p) => [p.blue, p]));
  let change: Omit<RuleChange, "ruleArn"> | undefined;
  const actions = (rule.Actions ?? []).map((action): Action => {
    if (action.Type !== "forward") return action;
    const groups =
      action.ForwardConfig?.TargetGroups ??
      (action.TargetGroupArn ? [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }] : []);
    const pair = groups
      .map((g) => byGreen.get(g.TargetGroupArn ?? "") ?? byBlue.get(g.TargetGroupArn ?? ""))
      .find(Boolean);
    if (!pair) return action;
    const greenWeight = groups
      .filter((g) => g.TargetGroupArn === pair.green)
      .reduce((n, g) => n + (g.Weight ?? 1), 0);
    if (greenWeight === 0) return action;
    const weighted = groups.some((g) => g.TargetGroupArn === pair.blue);
    change = { service: pair.service, kind: weighted ? "weighted" : "cohort" };
    const targetGroups = weighted
      ? [
          { TargetGroupArn: pair.blue, Weight: 100 },
          { TargetGroupArn: pair.green, Weight: 0 },
        ]
      : [{ TargetGroupArn: pair.blue, Weight: 1 }];
    return {
      Type: "forward",
      Order: action.Order,
      ForwardConfig: {
        TargetGroups: targetGroups,
        // A client's stickiness cookie would keep it on green for up to the stickiness
        // duration after the weights moved; a rollback must move everyone (as the router does).
        TargetGroupStickinessConfig: { Enabled: false },
      },
    };
  });
  return change ? { actions, change } : undefined;
}
