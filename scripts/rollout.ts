#!/usr/bin/env -S npx tsx
import { parseArgs } from "node:util";
import { RolloutInputError } from "../rollout/validation";
import type { CommandContext } from "./backend";
import { consoleOutput, EXIT, requireFlag, type Output } from "./cli";

/** `npm run rollout -- <command>`: the operator CLI. Exit 0 ok, 1 refused / NO-GO / failed, 2 bad input. */

const USAGE = `usage: npm run rollout -- <command> [flags]

commands:
  plan      offline plan of a stack under Pulumi's mock engine, with the policy pack
            [--stack NAME] [--config-file PATH] [--json]
  status    phase, weights read from the ALB, alarms, latch, decisions, sign-offs   --stack S
  gates     GO/NO-GO decision for the current transition
            offline: --playbook ID --from PHASE --evidence FILE
            live:    --stack S [--evidence FILE] [--record] [--approver A] [--approver A]
  advance   move to the next phase (needs a recorded GO and, in production, sign-offs)   --stack S
  shift     move greenWeight within the phase's cap, in steps   --stack S --to N [--step K --interval T]
  rollback  100 % blue now and verify through the ALB   --stack S --reason R
  resume    acknowledge an automatic rollback and clear its latch   --stack S
  drill     replay a metric timeline through the gates   --scenario FILE | --live --stack staging
  signoff   approve|revoke|status   --stack S --role R --approver A [--phase P]

every command takes --json for machine-readable output.
exit codes: 0 ok, 1 refused / NO-GO / failed, 2 bad input.`;

const FLAGS = {
  stack: { type: "string" },
  "config-file": { type: "string" },
  json: { type: "boolean" },
  playbook: { type: "string" },
  from: { type: "string" },
  evidence: { type: "string" },
  record: { type: "boolean" },
  to: { type: "string" },
  step: { type: "string" },
  interval: { type: "string" },
  reason: { type: "string" },
  scenario: { type: "string" },
  live: { type: "boolean" },
  role: { type: "string" },
  approver: { type: "string" },
  phase: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export type CommandHandler = (
  values: Record<string, unknown>,
  positionals: string[],
  out: Output,
) => Promise<number> | number;

/*
 * Commands load lazily: `plan` pulls in the whole Pulumi program and provider SDKs, which
 * an offline `gates` or `drill` should not pay for (nor fail on).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const live = () => require("./commands/live") as typeof import("./commands/live");

/** The live context for `--stack`: the Automation API over this project and SDK clients in the stack's region. */
function liveContext(values: Record<string, unknown>, out: Output): CommandContext {
  const stack = requireFlag(values, "stack", "a stack name such as staging or production");
  const { automationBackend, defaultAwsClients } = require("./backend") as typeof import("./backend");
  const { loadStackFile } = require("../rollout/stackFile") as typeof import("../rollout/stackFile");
  const region = loadStackFile(stack).config["aws:region"] ?? process.env.AWS_REGION;
  return {
    backend: automationBackend(stack),
    aws: defaultAwsClients(region),
    out,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

const COMMANDS: Record<string, CommandHandler> = {
  plan: (values, _p, out) =>
    (require("./commands/plan") as typeof import("./commands/plan")).planCommand(values, out),
  // Offline with --playbook (no cloud needed); live with --stack.
  gates: (values, _p, out) =>
    values.playbook !== undefined || values.stack === undefined
      ? (require("./commands/gates") as typeof import("./commands/gates")).gatesOffline(values, out)
      : live().gatesLiveCommand(values, liveContext(values, out)),
  drill: (values, _p, out) =>
    values.live
      ? live().drillLiveCommand(values, liveContext(values, out))
      : (require("./commands/drill") as typeof import("./commands/drill")).drillCommand(values, out),
  status: (values, _p, out) => live().statusCommand(values, liveContext(values, out)),
  advance: (values, _p, out) => live().advanceCommand(values, liveContext(values, out)),
  shift: (values, _p, out) => live().shiftCommand(values, liveContext(values, out)),
  rollback: (values, _p, out) => live().rollbackCommand(values, liveContext(values, out)),
  resume: (values, _p, out) => live().resumeCommand(values, liveContext(values, out)),
  signoff: (values, positionals, out) => live().signoffCommand(values, positionals, liveContext(values, out)),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export async function runCli(argv: string[], out: Output = consoleOutput): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    out.error(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT.badInput;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    out.log(USAGE);
    return command || parsed.values.help ? EXIT.ok : EXIT.badInput;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    out.error(
      `unknown command "${command}"; expected one of ${Object.keys(COMMANDS).join(", ")}\n\n${USAGE}`,
    );
    return EXIT.badInput;
  }
  try {
    return await handler(parsed.values, rest, out);
  } catch (error) {
    if (error instanceof RolloutInputError) {
      out.error(`error: ${error.message}`);
      return EXIT.badInput;
    }
    out.error(`failed: ${(error as Error).stack ?? String(error)}`);
    return EXIT.refused;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
