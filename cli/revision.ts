import { GetParameterCommand, PutParameterCommand } from "@aws-sdk/client-ssm";
import { integerIn } from "../rollout/validation";
import { revisionClaimParameterName, stateParameterName } from "../rollout/names";
import { stackRevision, staleRevisionProblem } from "../rollout/state";
import type { AwsClients, ChangeLog, CommandContext } from "./backend";

/**
 * One source of truth for a stack's config. The CLI writes `Pulumi.<stack>.yaml` here (through
 * the Automation API) and CI deploys the committed file: without care the next merge would undo
 * an operator's shift or sign-off. So every CLI write bumps `rollout:revision` past both the
 * file's and the deployed record's; a write from a file older than the deployed record is
 * refused here, a deploy of one by the policy pack (rollout-revision-current); and after a
 * change the CLI says exactly what to commit. docs/config-revisions.md tells the whole rule.
 */

/** A parameter's value, or undefined when SSM has none of that name. */
async function parameterValue(aws: AwsClients, name: string): Promise<string | undefined> {
  try {
    return (await aws.ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    if ((error as { name?: string }).name === "ParameterNotFound") return undefined;
    throw error;
  }
}

/**
 * The revision the stack is at: its deployed record's, or the revision a CLI claimed for a later
 * write (deployed or not: a sign-off recorded in another working copy counts), whichever is larger.
 */
export async function readDeployedRevision(aws: AwsClients, stack: string): Promise<number | undefined> {
  const [record, claim] = await Promise.all([
    parameterValue(aws, stateParameterName(stack)),
    parameterValue(aws, revisionClaimParameterName(stack)),
  ]);
  return stackRevision(record, claim);
}

/**
 * Claim `revision` in SSM once the stack file holds it: every other working copy, and the next
 * deploy from CI, then see that this file moved on, before anything is deployed. SSM keeps no
 * compare-and-swap; two writes within the same second can still both claim, and the deploy of
 * either is then checked against the other's record.
 */
export async function claimRevision(aws: AwsClients, stack: string, revision: number): Promise<void> {
  await aws.ssm.send(
    new PutParameterCommand({
      Name: revisionClaimParameterName(stack),
      Value: String(revision),
      Type: "String",
      Overwrite: true,
      Description: `staged-rollout: the last rollout:revision the rollout CLI wrote to Pulumi.${stack}.yaml`,
    }),
  );
}

const REVISION = integerIn(0, Number.MAX_SAFE_INTEGER);

/**
 * The revision the next write carries: one past the larger of the stack file's and the deployed
 * record's. Throws (exit 1) when the stack file is older than the deployed record: writing on it
 * would deploy an old config over a newer one.
 */
export async function nextRevision(ctx: CommandContext): Promise<number> {
  const raw = await ctx.backend.getRolloutConfig();
  const parsed = REVISION.safeParse(raw.revision === undefined ? 0 : Number(raw.revision));
  if (!parsed.success)
    throw new Error(
      `rollout:revision: expected a whole number of at least 0, got ${JSON.stringify(raw.revision)}; fix Pulumi.${ctx.backend.stackName}.yaml`,
    );
  const deployed = await readDeployedRevision(ctx.aws, ctx.backend.stackName);
  const problem = staleRevisionProblem(ctx.backend.stackName, parsed.data, deployed);
  if (problem) throw new Error(`refused to change the config: ${problem}`);
  return Math.max(parsed.data, deployed ?? 0) + 1;
}

/** Note a file the command wrote, for the commit it must be part of. */
export function noteWritten(ctx: CommandContext, file: string, revision?: number): void {
  if (!ctx.changes) return;
  ctx.changes.files.add(file);
  if (revision !== undefined) ctx.changes.revision = revision;
}

/** The exact commit that makes CI deploy what the command wrote, or nothing when it wrote nothing. */
export function commitAdvice(stack: string, command: string, changes: ChangeLog): string[] {
  if (changes.files.size === 0) return [];
  const files = [...changes.files].sort();
  const revision = changes.revision === undefined ? "" : ` (revision ${changes.revision})`;
  return [
    `config changed${revision}: commit it, or the next deploy from main will be refused as older than the stack (rollout-revision-current):`,
    `  git add ${files.join(" ")} && git commit -m "rollout ${command} ${stack}${revision}"`,
  ];
}
