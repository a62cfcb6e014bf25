import { errorMessage } from "../rollout/errors";
import { parseStackOutputs, type StackOutputs } from "../rollout/stackOutputs";
import { progress, readAlbTraffic, readStackOutputs, type CommandContext, type LiveTraffic } from "./backend";
import { elapsedSeconds, emit, trafficTable, type Flags } from "./commands/shared";
import { EXIT, formatSeconds } from "./output";
import { claimRevision, nextRevision, noteWritten } from "./revision";

/** `Pulumi.<stack>.yaml`, relative to the project (the stack's own name: the last part of org/project/stack). */
export const stackFileName = (stack: string) => `Pulumi.${stack.split("/").pop()}.yaml`;

/**
 * Every config write of the live commands goes through `deployChange`: set (or remove) rollout
 * config, then, for a deploy, `pulumi up`, put the config back when `up` fails, and verify what
 * the ALB serves. A record (a decision, a sign-off, an acknowledgement) is a write with no `up`.
 */

/** `pulumi config set rollout:<key> <value>` per entry, then `pulumi config rm rollout:<key>` per key. */
export interface ConfigChange {
  set?: Record<string, string>;
  remove?: string[];
  /** The keys are paths (`decisions[2].from`, `signoffs["full"]["qaEngineer"].at`): `--path`. Default: false. */
  path?: boolean;
}

/** When `up` fails: the config entries put back (`what` says them), or what stays as it is and why. */
export type Restore = { entries: Record<string, string>; what: string } | { kept: string };

/** A config change that `pulumi up` deploys. */
export interface Deploy<V> extends ConfigChange {
  /** Why `up` runs, for its progress line: `pulumi up (phase broader-pilot)`. */
  up: string;
  /** When the command started: progress lines count from it. */
  start: Date;
  /** --json: progress goes to stderr, stdout stays one JSON document. */
  json: boolean;
  restore: Restore;
  /** After a successful `up`, from the outputs it returned: what the ALB serves (problems, a time...). */
  verify: (outputs: StackOutputs) => Promise<V>;
}

/** `up` succeeded and `verify` said this; or `up` failed, and what became of the config. */
export type Deployed<V> = { ok: true; verified: V } | DeployFailure;

export interface DeployFailure {
  ok: false;
  error: string;
  /** What became of the config: `restored rollout:phase to internal`, or why it is kept. */
  config: string;
}

/** Run `pulumi up` with streamed progress; throws when it fails. */
async function runUp(
  ctx: CommandContext,
  start: Date,
  why: string,
  json: boolean,
): Promise<Record<string, unknown>> {
  const say = progress(ctx, start, json);
  say(`pulumi up (${why})`);
  const result = await ctx.backend.up((line) => say(`  ${line}`));
  if (result.result !== "succeeded") throw new Error(`pulumi up failed (${why}); see the output above`);
  say("pulumi up succeeded");
  return result.outputs;
}

/** Put the config back after a failed `up`. A failing restore is said, never thrown: `up`'s error stays the error. */
async function restoreConfig(ctx: CommandContext, restore: Restore): Promise<string> {
  if ("kept" in restore) return restore.kept;
  try {
    await ctx.backend.setConfig(restore.entries);
    return `restored ${restore.what}`;
  } catch (error) {
    return `could NOT restore ${restore.what}: ${errorMessage(error)}`;
  }
}

export function deployChange<V>(ctx: CommandContext, change: Deploy<V>): Promise<Deployed<V>>;
export function deployChange(ctx: CommandContext, change: ConfigChange): Promise<void>;
export async function deployChange<V>(
  ctx: CommandContext,
  change: ConfigChange | Deploy<V>,
): Promise<Deployed<V> | void> {
  const options = { path: change.path ?? false };
  if (change.set || change.remove) {
    // Every write carries the next revision, refused on a stack file older than the stack's.
    const revision = await nextRevision(ctx);
    await ctx.backend.setConfig({ ...change.set, revision: String(revision) }, options);
    if (change.remove) await ctx.backend.removeConfig(change.remove, options);
    noteWritten(ctx, stackFileName(ctx.backend.stackName), revision);
    // Claimed once the file holds it (a failed write claims nothing that would lock this copy out).
    await claimRevision(ctx.aws, ctx.backend.stackName, revision);
  }
  if (!("up" in change)) return;
  let outputs: Record<string, unknown>;
  try {
    outputs = await runUp(ctx, change.start, change.up, change.json);
  } catch (error) {
    return { ok: false, error: errorMessage(error), config: await restoreConfig(ctx, change.restore) };
  }
  // Outside the try: `up` succeeded, so nothing is put back whatever the checks find.
  return { ok: true, verified: await change.verify(parseStackOutputs(outputs)) };
}

/** A deploy failed: say what became of the config and what the ALB serves now, in one error line. Exit 1. */
export async function deployFailed(
  ctx: CommandContext,
  flags: Flags,
  command: string,
  start: Date,
  failure: Pick<DeployFailure, "error" | "config">,
): Promise<number> {
  const say = progress(ctx, start, Boolean(flags.json));
  const { error, config } = failure;
  let traffic: LiveTraffic[] | null = null;
  try {
    traffic = await readAlbTraffic(ctx.aws, await readStackOutputs(ctx.backend));
  } catch {
    // The failure is already being reported; an unreadable ALB is said below.
  }
  const seconds = elapsedSeconds(ctx, start);
  emit(ctx, flags, { command, failed: true, error, config, traffic, seconds, exitCode: EXIT.refused }, () => {
    say(`${command} FAILED after ${formatSeconds(seconds)}: ${error}`);
    say(`config: ${config}`);
    if (traffic) {
      say("the ALB serves now:");
      trafficTable(ctx, traffic);
    } else say("the ALB could not be read: check `npm run rollout -- status` before retrying");
  });
  ctx.out.error(`error: ${command}: ${error}`);
  return EXIT.refused;
}
