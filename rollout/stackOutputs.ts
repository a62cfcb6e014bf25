import { z } from "zod";
import type { Colour } from "./names";
import { describeZodError } from "./validation";

/**
 * The stack outputs index.ts exports and the `rollout` CLI reads: the seam between the program
 * and the live commands, typed once. Other outputs pass through untouched (`status --json`
 * shows them all).
 */

const text = (what: string) =>
  z.string({ message: `expected ${what}` }).min(1, { message: `expected ${what}` });

const arn = (what: string) => text(`${what} (an ARN)`);

/** One service's target groups, by colour. */
const TargetGroupArns = z.object({
  blue: arn("the blue target group"),
  green: arn("the green target group"),
} satisfies Record<Colour, z.ZodType<string>>);

export const StackOutputs = z.looseObject(
  {
    /** The ALB's HTTPS listener, whose rules `readAlbTraffic` reads. */
    httpsListenerArn: arn("the HTTPS listener"),
    /** Per service (the `rollout:services` names): its blue and green target groups. */
    targetGroupArns: z.record(z.string(), TargetGroupArns, {
      message: "expected an object of service name -> {blue, green} target group ARNs",
    }),
    /** `app/<name>/<id>`: the LoadBalancer dimension of the ALB's CloudWatch metrics (`gates --stack`). */
    albArnSuffix: text("the ALB's ARN suffix (app/<name>/<id>)"),
    /** What `status` prints as the ALB. */
    albDnsName: text("the ALB's DNS name"),
    /**
     * The SNS topics per severity; `rollback` tells `critical` its reason. Optional and never an
     * error (a malformed value reads as absent): a rollback moves traffic whatever it finds
     * here, and says when it could not tell the topic.
     */
    alertTopics: z
      .looseObject({
        critical: arn("the critical alert topic"),
        /** Rollout events (advance, shift steps, rollback, GO recorded, finish) go here: cli/events.ts. */
        info: arn("the info alert topic").optional(),
      })
      .optional()
      .catch(undefined),
  },
  { message: "expected an object of output name -> value" },
);
export type StackOutputs = z.infer<typeof StackOutputs>;

/**
 * The outputs as the backend returns them (name -> plain value), checked: an Error naming each
 * missing or invalid output. One line, as the CLI prints it.
 */
export function parseStackOutputs(raw: unknown): StackOutputs {
  const result = StackOutputs.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeZodError(result.error, raw, "outputs.");
  throw new Error(
    `the stack's outputs do not hold what live commands read: ${problems.join("; ")} (run \`pulumi up\` once with this program before live commands)`,
  );
}
