import {
  DescribeRulesCommand,
  ModifyRuleCommand,
  type Action,
  type DescribeRulesCommandOutput,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { errorMessage } from "./errors";
import type { TargetGroupPair } from "./lambdaEnvironment";

/**
 * How a listener's rules are put on blue: the one piece of logic the rollback Lambda and
 * `rollout rollback` (which moves traffic before it reconciles config) share. The callers bring
 * their own ELBv2 client (its retries configured there).
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

/**
 * A listener holds at most 100 rules by default; DescribeRules' PageSize goes up to 400 (ELBv2
 * model, PageSize shape), so one page is the usual case.
 */
export const DESCRIBE_RULES_PAGE_SIZE = 400;

/** One rule `moveRulesToBlue` sent a ModifyRule for: moved, or failed with its error. */
export type RuleMove = RuleChange & { error?: string };

/** The one call both callers make: an ELBv2 client's `send` (the SDK's own, with its retries). */
export interface ElbSender {
  send(command: DescribeRulesCommand): Promise<DescribeRulesCommandOutput>;
  send(command: ModifyRuleCommand): Promise<unknown>;
}

/**
 * Every rule of the listener to blue, as the rollback function and `rollout rollback` both do
 * it: DescribeRules (every page), and for each rule `blueActions` says is not on blue a
 * ModifyRule as soon as its page arrives, all concurrently. A failing ModifyRule does not stop the
 * others; a DescribeRules page that fails leaves the moves already started to finish and is
 * returned as `unlisted`. Rules already on blue, and rules that are not this stack's, are not
 * touched. `onMove` is told of each rule as it settles (the function logs it).
 */
export async function moveRulesToBlue(
  elb: ElbSender,
  listenerArn: string,
  pairs: readonly TargetGroupPair[],
  onMove: (move: RuleMove) => void = () => undefined,
): Promise<{ moves: RuleMove[]; unlisted?: string }> {
  const moves: Promise<RuleMove>[] = [];
  const move = async (ruleArn: string, plan: NonNullable<ReturnType<typeof blueActions>>) => {
    let result: RuleMove;
    try {
      await elb.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: plan.actions }));
      result = { ruleArn, ...plan.change };
    } catch (error) {
      result = { ruleArn, ...plan.change, error: errorMessage(error) };
    }
    onMove(result);
    return result;
  };
  let unlisted: string | undefined;
  try {
    let marker: string | undefined;
    do {
      const page = await elb.send(
        new DescribeRulesCommand({
          ListenerArn: listenerArn,
          Marker: marker,
          PageSize: DESCRIBE_RULES_PAGE_SIZE,
        }),
      );
      for (const rule of page.Rules ?? []) {
        const plan = blueActions(rule, pairs);
        if (plan && rule.RuleArn) moves.push(move(rule.RuleArn, plan));
      }
      marker = page.NextMarker;
    } while (marker);
  } catch (error) {
    unlisted = errorMessage(error);
  }
  return { moves: await Promise.all(moves), ...(unlisted === undefined ? {} : { unlisted }) };
}
