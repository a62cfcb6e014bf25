import { configSecretValues, registerSecrets } from "../rollout/redaction";
import { checkConfigValue } from "../rollout/stackFile";
import type { AutomationStack, SelectStack } from "./backend";

/**
 * The live commands' stack, seen by the CLI's output: every config value Pulumi marks secret
 * (the Automation API's `getAllConfig` gives them decrypted, each with its `secret` flag) is
 * registered for redaction the moment it is read, before any command can put it in a message;
 * `rollout:` values holding JSON are checked for reserved and unsafe names as a file would be.
 */

/**
 * What the Automation API's LocalWorkspace gives (loaded on first use: it is slow to import),
 * running `pulumi` in its own process group so the terminal's Ctrl-C, meant for the CLI, never
 * cancels an `up` in flight (cli/pulumiCommand.ts).
 */
export const selectLocalStack: SelectStack = async (args) => {
  const [{ LocalWorkspace }, { ShieldedPulumiCommand }] = await Promise.all([
    import("@pulumi/pulumi/automation/index.js"),
    import("./pulumiCommand.js"),
  ]);
  return LocalWorkspace.selectStack(args, { pulumiCommand: await ShieldedPulumiCommand.get() });
};

/**
 * `select`, with each stack's `getAllConfig` registering the secret values it returns.
 * `securePaths` (the stack file's `secure:` paths) narrows a secret object to its secret values.
 */
export function secretCollectingSelect(
  select: SelectStack,
  securePaths: readonly string[] = [],
): SelectStack {
  return async (args) => {
    const stack = await select(args);
    const wrapped: AutomationStack = {
      async getAllConfig() {
        const all = await stack.getAllConfig();
        registerSecrets(configSecretValues(all, securePaths));
        for (const [key, { value }] of Object.entries(all))
          if (key.startsWith("rollout:")) checkConfigValue(key, value);
        return all;
      },
      setAllConfig: (config, path) => stack.setAllConfig(config, path),
      removeAllConfig: (keys, path) => stack.removeAllConfig(keys, path),
      up: (options) => stack.up(options),
      outputs: () => stack.outputs(),
    };
    return wrapped;
  };
}
