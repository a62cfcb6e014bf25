#!/usr/bin/env -S npx tsx
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../rollout/errors";
import { stackFilePath } from "../rollout/loaders";
import { safeText, withSecretScope } from "../rollout/redaction";
import { characterProblem } from "../rollout/safeInput";
import { RolloutInputError } from "../rollout/validation";
import type { ChangeLog, CommandContext, SelectStack } from "./backend";
import { commandHelp, didYouMean } from "./help";
import {
  colouredOutput,
  colourWanted,
  consoleOutput,
  EXIT,
  ignoreEpipe,
  jsonError,
  oneLine,
  refuse,
  requireFlag,
  safeOutput,
  type Output,
} from "./output";

/** `npm run rollout -- <command>`: the operator CLI. Exit 0 ok, 1 refused / NO-GO / failed, 2 bad input. */

const USAGE = `usage: npm run rollout -- <command> [flags]
       npm run rollout -- <command> --help   (or: help <command>) every flag, its meaning and default

commands:
  plan      offline plan of a stack under Pulumi's mock engine, with the policy pack
            [--stack NAME] [--config-file PATH] [--svg FILE] [--json]
  status    phase, weights read from the ALB, alarms, latch, decisions, sign-offs; flags live
            routing that differs from the config   --stack S [--watch [--interval T]]
  gates     GO/NO-GO decision for the current transition
            offline: --playbook ID --from PHASE --evidence FILE
            live:    --stack S [--evidence FILE] [--record] [--approver A]
            both also evaluate the phase's rollback triggers: one breached exits 1
            (even on GO) and --record refuses to record a GO
            success criteria, by category: --playbook ID --success --evidence FILE
  advance   move to the next phase (needs a recorded GO and, in production, sign-offs)   --stack S
            refused while any of the stack's alarms is in ALARM (rollback, critical or warning);
            so are the start of shift, rollback --clear and drill --live
  shift     move greenWeight within the phase's cap, in steps   --stack S --to N [--step K --interval T]
            a rollback alarm firing mid-shift (the composite, or a gate whose action is
            auto-rollback) rolls back; any other alarm (a warning, a critical one the playbook
            only alerts on or reviews) is reported and the shift goes on
  rollback  100 % blue now   --stack S --reason R
            moves the listener rules to blue first (the rollback Lambda's calls) and verifies
            through the ALB (time-to-blue, judged against the playbook's limit), tells the
            critical topic the reason, then sets rollout:rollback and rollout:rollbackReason
            and runs up to reconcile (time-to-reconciled)
            end a rollback once green is fixed (rollout:rollback false, verified)   --stack S --clear
  resume    acknowledge an automatic rollback and clear its latch (traffic stays on blue
            until \`restore\`)   --stack S
  restore   after resume: back to the configured routing (weights and cohort rules), verified
            on the ALB; refused while a rollback alarm fires   --stack S
  drill     replay a metric timeline through the gates   --scenario FILE [--svg FILE]
            (exit 1 when a rollback trigger missed its limit)
            live: force a rollback, time it to blue, restore   --live --stack staging
            (staging-tier only; green must already carry traffic - it does not advance a
            phase, which would need a GO decision a drill must not fake)
  signoff   approve --role R --approver A | revoke --role R | status   --stack S [--phase P]
  finish    end the release from the last phase, success criteria met: blue takes green's
            version, verified healthy, traffic back on blue, green idles, phase back to the first;
            archived in the release history   --stack S --evidence FILE [--approver A] [--dry-run]
  start     open the next release: green gets the new images   --stack S --image SERVICE=IMAGE ...
            [--dry-run]
  history   the stack's releases and their events   --stack S

-s is short for --stack. every command takes --json for machine-readable output (use
\`npm run -s rollout -- ...\` so npm's banner stays off stdout). live commands refresh before
each \`up\` and run it with the policy pack (policies/, policies/config/<stack>.json).
exit codes: 0 ok, 1 refused / NO-GO / failed, 2 bad input (an unknown flag for the command, or
a word after it, is bad input), 130 a shift stopped by Ctrl-C (config and ALB agree). With --json an error is also one JSON line on stdout:
{"error": "...", "exitCode": N}.`;

const FLAGS = {
  stack: { type: "string", short: "s" },
  "config-file": { type: "string" },
  json: { type: "boolean" },
  playbook: { type: "string" },
  from: { type: "string" },
  evidence: { type: "string" },
  record: { type: "boolean" },
  success: { type: "boolean" },
  to: { type: "string" },
  step: { type: "string" },
  interval: { type: "string" },
  reason: { type: "string" },
  clear: { type: "boolean" },
  scenario: { type: "string" },
  live: { type: "boolean" },
  role: { type: "string" },
  approver: { type: "string" },
  phase: { type: "string" },
  image: { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
  watch: { type: "boolean" },
  svg: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flag = keyof typeof FLAGS;

/** One form of a command and the flags it takes (--json and --help go with every command). */
interface CommandForm {
  name: string;
  flags: readonly Flag[];
  /** Needs Pulumi and AWS: the handler gets a live context (from --stack). */
  live?: true;
}

/** Every command's forms; COMMANDS must have exactly these keys (the compiler checks). */
export const COMMAND_FORMS = {
  plan: [{ name: "plan", flags: ["stack", "config-file", "svg"] }],
  status: [{ name: "status", flags: ["stack", "watch", "interval"] }],
  gates: [
    { name: "offline gates (--playbook)", flags: ["playbook", "from", "evidence"] },
    { name: "success gates (--success)", flags: ["playbook", "success", "evidence"] },
    { name: "live gates (--stack)", flags: ["stack", "evidence", "record", "approver"], live: true },
  ],
  advance: [{ name: "advance", flags: ["stack"] }],
  shift: [{ name: "shift", flags: ["stack", "to", "step", "interval"] }],
  rollback: [{ name: "rollback", flags: ["stack", "reason", "clear"] }],
  resume: [{ name: "resume", flags: ["stack"] }],
  drill: [
    { name: "offline drill (--scenario)", flags: ["scenario", "svg"] },
    { name: "live drill (--live)", flags: ["live", "stack"], live: true },
  ],
  signoff: [{ name: "signoff", flags: ["stack", "role", "approver", "phase"] }],
  restore: [{ name: "restore", flags: ["stack"] }],
  finish: [{ name: "finish", flags: ["stack", "evidence", "approver", "dry-run"] }],
  start: [{ name: "start", flags: ["stack", "image", "dry-run"] }],
  history: [{ name: "history", flags: ["stack"] }],
} satisfies Record<string, readonly CommandForm[]>;

type CommandName = keyof typeof COMMAND_FORMS;

/** The forms of a command the router has already found in COMMANDS. */
const formsOf = (command: string): readonly CommandForm[] =>
  (COMMAND_FORMS as Record<string, readonly CommandForm[]>)[command]!;

/**
 * The form the flags select: gates checks success criteria with --success, is live with --stack
 * and no --playbook, offline otherwise; drill is live with --live.
 */
function formOf(command: string, values: Record<string, unknown>): CommandForm {
  const forms = formsOf(command);
  if (command === "gates") {
    if (values.success) return forms[1]!;
    return forms[values.playbook === undefined && values.stack !== undefined ? 2 : 0]!;
  }
  if (command === "drill") return forms[values.live ? 1 : 0]!;
  return forms[0]!;
}

const isOffline = (command: string, values: Record<string, unknown>) => !formOf(command, values).live;

/** A flag the command's form does not take is an error naming it and every form's flags. */
function checkFlags(command: string, values: Record<string, unknown>): void {
  const form = formOf(command, values);
  const extra = Object.keys(values).filter(
    (f) => f !== "json" && f !== "help" && !form.flags.includes(f as Flag),
  );
  if (extra.length === 0) return;
  const takes = formsOf(command).map(
    (f) => `${f.name} takes ${[...f.flags, "json"].map((x) => `--${x}`).join(", ")}`,
  );
  throw new RolloutInputError(
    `${form.name}: unexpected flag${extra.length > 1 ? "s" : ""} ${extra.map((f) => `--${f}`).join(", ")}; ${takes.join("; ")}`,
  );
}

/**
 * A flag value holding a control, bidi or invisible character is refused before it can reach a
 * file name, a config value or the terminal: names and paths allow none; --reason is free text
 * (tab and newline allowed).
 */
function checkFlagCharacters(values: Record<string, unknown>): void {
  for (const [flag, value] of Object.entries(values)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== "string") continue;
      const problem = characterProblem(item, flag === "reason" ? "text" : "name");
      if (problem) throw new RolloutInputError(`--${flag}: ${problem}`);
    }
  }
}

/**
 * The offline commands' input files, read and checked before the command's modules load (the
 * plan loads the whole Pulumi program, drill the AWS SDK: seconds): a hostile or broken file is
 * refused (exit 2) in milliseconds. The command reads them again, by the same path.
 */
function precheckInputFiles(command: string, values: Record<string, unknown>): void {
  const loaders = require("../rollout/loaders") as typeof import("../rollout/loaders"); // eslint-disable-line @typescript-eslint/no-require-imports
  if (command === "drill" && !values.live && typeof values.scenario === "string")
    loaders.loadScenario(values.scenario);
  if (command === "plan") {
    const file = typeof values["config-file"] === "string" ? values["config-file"] : undefined;
    const named = file === undefined ? "staging" : /^Pulumi\.([^.]+)\.yaml$/.exec(path.basename(file))?.[1];
    const stack = typeof values.stack === "string" ? values.stack : named;
    // A file whose name gives no stack: the plan itself says --stack is needed.
    if (stack !== undefined) loaders.loadStackFile(stack, file);
  }
}

/** A word after the command (signoff: after its action) is an error; a stack's name suggests --stack. */
function checkPositionals(command: string, words: string[]): void {
  const extra = command === "signoff" ? words.slice(1) : words;
  if (extra.length === 0) return;
  const word = extra[0]!;
  const isStack = /^[\w.-]+$/.test(word) && fs.existsSync(stackFilePath(word));
  const problem = characterProblem(word, "name");
  if (problem) throw new RolloutInputError(`unexpected argument: ${problem}`);
  throw new RolloutInputError(
    `unexpected argument ${JSON.stringify(word)}${isStack ? `; did you mean --stack ${word}?` : ""}`,
  );
}

export type CommandHandler = (
  values: Record<string, unknown>,
  positionals: string[],
  out: Output,
  liveContext: (values: Record<string, unknown>) => CommandContext,
) => Promise<number> | number;

/*
 * Commands load lazily: `plan` pulls in the whole Pulumi program and provider SDKs, which
 * an offline `gates` or `drill` should not pay for (nor fail on).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export type LiveContextFactory = ((stack: string, out: Output) => CommandContext) & {
  /**
   * The project whose stack files decide refusals before the context is made (cli/stackFileChecks.ts):
   * set by the Automation API factory, whose stacks are those files. A test's fake stack has none.
   */
  stackFileRoot?: string;
};

/**
 * The live context for `--stack`: the Automation API over this project and SDK clients in the
 * stack's region. Creating it touches neither Pulumi nor AWS: the stack is selected on the
 * backend's first call, after the command has checked its flags. Every secret value the stack's
 * config holds is registered for redaction as it is read (cli/liveSecrets.ts); `select` (the
 * Automation API's stack) and `root` (where Pulumi.<stack>.yaml is) are replaced in tests.
 */
export const automationLiveContext = (
  select?: SelectStack,
  root?: string,
  signal?: AbortSignal,
): LiveContextFactory =>
  Object.assign(
    (stack: string, out: Output): CommandContext => {
      const { automationBackend, defaultAwsClients } = require("./backend") as typeof import("./backend");
      const { loadStackFile, PROJECT_ROOT } =
        require("../rollout/loaders") as typeof import("../rollout/loaders");
      const { secretCollectingSelect, selectLocalStack } =
        require("./liveSecrets") as typeof import("./liveSecrets");
      const { fileHistoryStore } = require("./history") as typeof import("./history");
      const { rolloutKeys } = require("../rollout/stackFile") as typeof import("../rollout/stackFile");
      const stackFile = loadStackFile(stack, undefined, root);
      const region = stackFile.config["aws:region"] ?? process.env.AWS_REGION;
      return {
        backend: automationBackend(
          stack,
          root ?? PROJECT_ROOT,
          secretCollectingSelect(select ?? selectLocalStack, stackFile.secretPaths),
        ),
        aws: defaultAwsClients(region),
        out,
        now: () => new Date(),
        sleep: (ms) => interruptibleSleep(ms, signal),
        history: fileHistoryStore(stack, root ?? PROJECT_ROOT),
        readStackFile: () => rolloutKeys(loadStackFile(stack, undefined, root).config),
        ...(signal && { signal }),
      };
    },
    {
      stackFileRoot:
        root ?? (require("../rollout/loaders") as typeof import("../rollout/loaders")).PROJECT_ROOT,
    },
  );

/** A wait that ends early when `signal` aborts (Ctrl-C): the command then stops at its safe point. */
export function interruptibleSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Ctrl-C: the first asks the running command to stop at its next safe point (after the `up` in
 * flight, with config and ALB in agreement) and say where traffic stands; a second one exits at
 * once (130, as a shell reports SIGINT).
 */
const interrupt = new AbortController();
const defaultLiveContext: LiveContextFactory = automationLiveContext(undefined, undefined, interrupt.signal);

/** A live command's handler: its module (`load`) is required only when the command runs. */
const live =
  (load: () => (flags: Record<string, unknown>, ctx: CommandContext) => Promise<number>): CommandHandler =>
  (values, _p, _out, liveContext) =>
    load()(values, liveContext(values));

/** The offline handler or the live one, as the flags select the command's form. */
const byForm =
  (command: CommandName, offline: CommandHandler, liveForm: CommandHandler): CommandHandler =>
  (values, ...rest) =>
    (isOffline(command, values) ? offline : liveForm)(values, ...rest);

const COMMANDS: Record<CommandName, CommandHandler> = {
  plan: (values, _p, out) =>
    (require("./commands/plan") as typeof import("./commands/plan")).planCommand(values, out),
  // Offline with --playbook or --success (no cloud needed); live with --stack alone.
  gates: byForm(
    "gates",
    (values, _p, out) =>
      (require("./commands/gates") as typeof import("./commands/gates")).gatesOffline(values, out),
    live(() => (require("./commands/gatesLive") as typeof import("./commands/gatesLive")).gatesLiveCommand),
  ),
  drill: byForm(
    "drill",
    (values, _p, out) =>
      (require("./commands/drill") as typeof import("./commands/drill")).drillCommand(values, out),
    live(() => (require("./commands/drill") as typeof import("./commands/drill")).drillLiveCommand),
  ),
  status: live(() => (require("./commands/status") as typeof import("./commands/status")).statusCommand),
  advance: live(() => (require("./commands/advance") as typeof import("./commands/advance")).advanceCommand),
  shift: live(() => (require("./commands/shift") as typeof import("./commands/shift")).shiftCommand),
  rollback: live(
    () => (require("./commands/rollback") as typeof import("./commands/rollback")).rollbackCommand,
  ),
  resume: live(() => (require("./commands/resume") as typeof import("./commands/resume")).resumeCommand),
  restore: live(() => (require("./commands/restore") as typeof import("./commands/restore")).restoreCommand),
  finish: live(() => (require("./commands/finish") as typeof import("./commands/finish")).finishCommand),
  start: live(() => (require("./commands/start") as typeof import("./commands/start")).startCommand),
  history: live(() => (require("./commands/history") as typeof import("./commands/history")).historyCommand),
  // The action first: `signoff --stack S` says the action is missing, not that --stack is.
  signoff: (values, positionals, _out, liveContext) => {
    const signoff = require("./commands/signoff") as typeof import("./commands/signoff");
    const action = signoff.signoffAction(positionals);
    return signoff.signoffCommand(values, action, liveContext(values));
  },
};
/*
 * What only a live command needs, loaded when one runs: the revision module brings the AWS SDK's
 * SSM client, the stack-file checks the whole config schema; `--help` and the offline commands
 * pay for neither.
 */
const liveOnly = {
  revision: () => require("./revision") as typeof import("./revision"),
  stackFileChecks: () => require("./stackFileChecks") as typeof import("./stackFileChecks"),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Runs one command; `makeLiveContext` is replaced in tests by fakes of Pulumi and AWS. Every line
 * goes out through `safeOutput` (secrets redacted, control characters escaped), and the run has
 * its own set of secret values unless `options.sharedSecrets` (the process runs one command).
 */
export async function runCli(
  argv: string[],
  out: Output = consoleOutput,
  makeLiveContext: LiveContextFactory = defaultLiveContext,
  options: { sharedSecrets?: boolean } = {},
): Promise<number> {
  // Colour only for a person at a terminal: never with --json, in a pipe, or with NO_COLOR.
  const coloured =
    out === consoleOutput &&
    !argv.includes("--json") &&
    colourWanted(process.env, Boolean(process.stdout.isTTY));
  const run = () => runCommand(argv, safeOutput(coloured ? colouredOutput(out) : out), makeLiveContext);
  return options.sharedSecrets ? run() : withSecretScope(run);
}

/**
 * Node's "Unknown option '--stak'", said as the CLI's other input errors are (`unknown flag --stak
 * for status`), with the flag of that command it most likely meant.
 */
function unknownOptionMessage(error: unknown, command: CommandName | undefined): string {
  const message = errorMessage(error);
  const code = (error as { code?: unknown }).code;
  const option = /^Unknown option '(-{1,2})([^']*)'/.exec(message);
  if (code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION" || !option) return message;
  const flags =
    command === undefined
      ? Object.keys(FLAGS)
      : [...new Set([...formsOf(command).flatMap((f) => f.flags), "json", "help"])];
  const hint = option[1] === "--" ? didYouMean(option[2]!, flags, "--") : "";
  return `unknown flag ${option[1]}${option[2]}${command ? ` for ${command}` : ""}${hint}`;
}

/** An error before any command ran: one line on stderr (with usage), and on stdout with --json. */
function inputError(out: Output, json: boolean, message: string, usage = USAGE): number {
  if (json) jsonError(out, message, EXIT.badInput);
  out.error(`${message}\n\n${usage}`);
  return EXIT.badInput;
}

const unknownCommand = (command: string) =>
  `unknown command ${JSON.stringify(command)}${didYouMean(command, Object.keys(COMMANDS))}; expected one of ${Object.keys(COMMANDS).join(", ")}`;

const isCommand = (word: string): word is CommandName => Object.hasOwn(COMMANDS, word);

/** Help, as text or (with --json) one JSON document. */
function printHelp(out: Output, json: boolean, command?: CommandName): number {
  const text = command === undefined ? USAGE : commandHelp(command);
  out.log(json ? JSON.stringify({ ...(command ? { command } : {}), help: text }) : text);
  return EXIT.ok;
}

async function runCommand(argv: string[], out: Output, makeLiveContext: LiveContextFactory): Promise<number> {
  let parsed;
  const wantsJson = argv.includes("--json");
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    // The command's own help when the words name one: its flags are what the typo was meant for.
    const word = argv.find((w) => !w.startsWith("-") && isCommand(w));
    const command = word !== undefined && isCommand(word) ? word : undefined;
    return inputError(
      out,
      wantsJson,
      unknownOptionMessage(error, command),
      command === undefined ? USAGE : commandHelp(command),
    );
  }
  const json = Boolean(parsed.values.json);
  const [command, ...rest] = parsed.positionals;
  // `rollout help [command]`: the global help, or one command's.
  if (command === "help") {
    const topic = rest[0];
    if (topic === undefined) return printHelp(out, json);
    if (!isCommand(topic)) return inputError(out, json, unknownCommand(topic));
    if (rest.length > 1) return inputError(out, json, `unexpected argument ${JSON.stringify(rest[1])}`);
    return printHelp(out, json, topic);
  }
  if (!command) {
    if (parsed.values.help) return printHelp(out, json);
    return inputError(out, json, "expected a command");
  }
  // Own keys only: `rollout toString` is an unknown command, not Object.prototype's.
  if (!isCommand(command)) return inputError(out, json, unknownCommand(command));
  if (parsed.values.help) return printHelp(out, json, command);
  const handler = COMMANDS[command];
  // What the command wrote, for the commit it must be followed by (cli/revision.ts).
  let written: { stack: string; changes: ChangeLog } | undefined;
  const liveContext = (values: Record<string, unknown>) => {
    const stack = requireFlag(values, "stack", "a stack name such as staging or production");
    const ctx = makeLiveContext(stack, out);
    // A fresh log per run, even when a caller hands the same context to several runs.
    ctx.changes = { files: new Set() };
    written = { stack, changes: ctx.changes };
    return ctx;
  };
  const adviseCommit = () => {
    if (!written) return;
    const advice = liveOnly.revision().commitAdvice(written.stack, command, written.changes);
    for (const line of advice) {
      if (json) out.error(line);
      else out.log(line);
    }
  };
  try {
    checkFlagCharacters(parsed.values);
    checkPositionals(command, rest);
    checkFlags(command, parsed.values);
    precheckInputFiles(command, parsed.values);
    if (makeLiveContext.stackFileRoot !== undefined) {
      const refusal = await liveOnly
        .stackFileChecks()
        .stackFileRefusal(command, parsed.values, makeLiveContext.stackFileRoot);
      if (refusal) return refuse({ out }, parsed.values, refusal.command, refusal.reasons);
    }
    const code = await handler(parsed.values, rest, out, liveContext);
    adviseCommit();
    return code;
  } catch (error) {
    adviseCommit();
    if (error instanceof RolloutInputError) {
      if (json) jsonError(out, error.message, EXIT.badInput);
      out.error(`error: ${error.message}`);
      return EXIT.badInput;
    }
    // An environment failure (no Pulumi CLI, no stack, AWS refused): one line, exit 1. The
    // trace is for bugs: ROLLOUT_DEBUG=1 prints it.
    const message = oneLine(errorMessage(error));
    if (json) jsonError(out, message, EXIT.refused);
    out.error(`error: ${message}`);
    if (process.env.ROLLOUT_DEBUG && error instanceof Error && error.stack) out.error(error.stack);
    return EXIT.refused;
  }
}

/**
 * A failure no command caught (a rejection from deep in a library): one line, secrets redacted,
 * exit 1, never a stack dump (ROLLOUT_DEBUG=1 prints the stack).
 */
function uncaught(error: unknown): void {
  process.stderr.write(`${safeText(`error: ${oneLine(errorMessage(error))}`)}\n`);
  if (process.env.ROLLOUT_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${safeText(error.stack)}\n`);
  process.exit(EXIT.refused);
}

if (require.main === module) {
  ignoreEpipe(process.stdout);
  process.on("uncaughtException", uncaught);
  process.on("unhandledRejection", uncaught);
  // Pulumi runs in its own process group (cli/pulumiCommand.ts), out of a terminal's Ctrl-C:
  // exiting on a hang-up or a kill runs its exit hook, which cancels an up in flight.
  process.on("SIGHUP", () => process.exit(129));
  process.on("SIGTERM", () => process.exit(143));
  process.on("SIGINT", () => {
    if (interrupt.signal.aborted) {
      process.stderr.write(
        "stopping now: a pulumi up in flight is cancelled; check `rollout status` before going on\n",
      );
      process.exit(130);
    }
    process.stderr.write("\ninterrupted: stopping at the next safe point (Ctrl-C again to exit now)\n");
    interrupt.abort();
  });
  void runCli(process.argv.slice(2), consoleOutput, defaultLiveContext, { sharedSecrets: true }).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
