import { z } from "zod";
import { describeZodError } from "./validation";

/**
 * The rollback Lambda's environment: the one contract between the AutoRollback component,
 * which writes the variables, and the handler, which parses them when it starts. Lambda hands
 * every variable over as a string; the target group pairs travel as JSON.
 */

/** A service's two target groups, by ARN: the rules the Lambda moves to blue are found by them. */
export const TargetGroupPair = z
  .object({ service: z.string().min(1), blue: z.string().min(1), green: z.string().min(1) })
  .strict();
export type TargetGroupPair = z.infer<typeof TargetGroupPair>;

const json = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "expected JSON" });
    return z.NEVER;
  }
});

export const RollbackEnvironment = z.object({
  /** This stack's HTTPS listener, whose rules the Lambda reads and moves. */
  LISTENER_ARN: z.string().min(1),
  /** JSON array of TargetGroupPair, one per service. */
  TARGET_GROUP_PAIRS: json.pipe(z.array(TargetGroupPair).min(1)),
  /** The latch parameter's name (`latchParameterName(stack)`). */
  LATCH_PARAMETER: z.string().min(1),
  /** The critical alert topic told what the rollback did. */
  TOPIC_ARN: z.string().min(1),
  STACK: z.string().min(1),
  /**
   * The stack's composite alarm (`compositeAlarmName(stack)`): only its ALARM events roll back;
   * an event of any other alarm, or of this one in OK or INSUFFICIENT_DATA, is logged and ignored.
   */
  COMPOSITE_ALARM_NAME: z.string().min(1),
  /**
   * The EventBridge `source` of the stack's custom security events (`securityEventSource(stack)`),
   * the same value the component's rule matches: such an event rolls back.
   */
  SECURITY_EVENT_SOURCE: z.string().min(1),
});
/** The environment as the handler uses it: the pairs decoded. */
export type RollbackEnvironment = z.output<typeof RollbackEnvironment>;

/** The variables as a deploy writes them, each a `V` (a string, or a Pulumi input in the component). */
export type RollbackEnvironmentVariables<V = string> = Record<keyof z.input<typeof RollbackEnvironment>, V>;

/** The Lambda's environment, or an error naming every missing or malformed variable. */
export function parseRollbackEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): RollbackEnvironment {
  const result = RollbackEnvironment.safeParse(env);
  if (result.success) return result.data;
  const problems = describeZodError(result.error, env, "");
  throw new Error(`rollback Lambda environment is invalid:\n  ${problems.join("\n  ")}`);
}
