import { parseRolloutConfig, type RolloutConfig } from "../rollout/config";
import { loadStackFile } from "../rollout/loaders";
import { trafficCap } from "../rollout/phases";
import { rolloutKeys } from "../rollout/stackFile";
import { fileHistoryStore } from "./history";

/**
 * Refusals the stack file decides, made before Pulumi is needed. A LocalWorkspace stack's config
 * is its Pulumi.<stack>.yaml, so a weight over the phase's cap or a live drill of a
 * production-tier stack can be refused on a machine without the Pulumi CLI or its backend, in
 * milliseconds. Only refusals: whatever the file allows goes on to the live command, which reads
 * the config through Pulumi (decrypting secrets, so each is redacted by value) and checks again.
 * A file that does not parse decides nothing here: the live command reports it, with the secrets
 * Pulumi decrypts redacted.
 */

/** A refusal: the command, and why (the same lines the live command would print). */
export interface StackFileRefusal {
  command: string;
  reasons: string[];
}

function fileConfig(stack: string, root?: string): RolloutConfig | undefined {
  try {
    return parseRolloutConfig(rolloutKeys(loadStackFile(stack, undefined, root).config), stack);
  } catch {
    return undefined;
  }
}

/** What the stack file refuses of `command` with these flags, or undefined when it refuses nothing. */
export async function stackFileRefusal(
  command: string,
  values: Record<string, unknown>,
  root?: string,
): Promise<StackFileRefusal | undefined> {
  const stack = values.stack;
  if (typeof stack !== "string") return undefined;
  // finish and start: where the release stands is in the stack file and the history beside it.
  if ((command === "finish" || command === "start") && !values["dry-run"]) {
    const config = fileConfig(stack, root);
    if (!config) return undefined;
    let history;
    try {
      history = await fileHistoryStore(stack, root).read();
    } catch {
      return undefined; // the command reports an unreadable history
    }
    // Loaded only here: the command modules pull in AWS SDK clients an offline command never needs.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const verdict =
      command === "finish"
        ? (require("./commands/finish") as typeof import("./commands/finish")).finishStage(config, history)
        : (require("./commands/start") as typeof import("./commands/start")).startCase(config, history);
    /* eslint-enable @typescript-eslint/no-require-imports */
    const refused = verdict as { stage?: string; kind?: string; reasons?: string[] };
    if (refused.stage === "refused" || refused.kind === "refused")
      return { command, reasons: refused.reasons ?? [] };
    return undefined;
  }
  if (command === "shift") {
    const to = typeof values.to === "string" && /^\d+$/.test(values.to) ? Number(values.to) : undefined;
    if (to === undefined || to > 100) return undefined; // the command says what --to expects
    const config = fileConfig(stack, root);
    if (!config) return undefined;
    const cap = trafficCap(config.playbookSpec, config.phase);
    if (to <= cap) return undefined;
    return {
      command: "shift",
      reasons: [`${to} % is above phase ${config.phase}'s cap of ${cap} % (advance to a later phase first)`],
    };
  }
  if (command === "drill" && values.live) {
    const config = fileConfig(stack, root);
    if (!config?.isProduction) return undefined;
    return {
      command: "drill --live",
      reasons: [`stack ${config.stack} is production-tier; live drills run on staging-tier stacks only`],
    };
  }
  return undefined;
}
