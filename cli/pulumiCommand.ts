import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as libraryCmd from "@pulumi/pulumi/automation/cmd.js";
import * as libraryErrors from "@pulumi/pulumi/automation/errors.js";
import {
  PulumiCommand,
  type CommandError,
  type PulumiCommandOptions,
} from "@pulumi/pulumi/automation/index.js";

/**
 * The `pulumi` the live commands run, out of reach of the terminal's Ctrl-C.
 *
 * The Automation API spawns `pulumi` in the CLI's own process group (cmd.js `exec`, through execa),
 * and a terminal delivers Ctrl-C to the whole foreground process group: `pulumi` would get the
 * SIGINT the CLI means for itself and cancel the `up` in flight, while the CLI promises that the
 * first Ctrl-C stops only at the next safe point, after that `up`, with config and ALB in agreement.
 * So on POSIX the child gets its own session and process group (`detached: true`: setsid(2)); the
 * terminal's Ctrl-C then reaches the CLI alone. `run` otherwise behaves as the library's:
 * `--non-interactive`, PATH led by the CLI's own folder, PULUMI_AUTOMATION_API=true, output
 * streamed, `signal` -> SIGINT to `pulumi`, and a failure is the library's own CommandError (same
 * class and text, so `instanceof StackNotFoundError` / ConcurrentUpdateError and the CLI's
 * one-line error messages see what they always saw). On Windows nothing changes: Ctrl-C there is
 * a console event, not a process-group signal, and `detached` means a new console.
 *
 * The detached child no longer dies with the CLI's terminal, so the CLI stops it itself: when the
 * CLI's process exits (the second Ctrl-C's `process.exit(130)`, an uncaught error's exit 1) the
 * `exit` hook sends SIGINT to every running child's process group, as the terminal's Ctrl-C would
 * have, and Pulumi cancels gracefully (finishing the operations in flight) instead of running on
 * unseen. `interruptRunningPulumi` is that hook, for a caller that wants it before exiting.
 *
 * Limits, by design of a detached child:
 * - A signal that ends the CLI without running `exit` handlers (SIGKILL; SIGTERM or SIGHUP while
 *   nothing listens for them) leaves `pulumi` running, and it dies of SIGPIPE when it next writes
 *   to its closed stdout: a listener that calls `process.exit` brings those to the hook.
 * - The terminal's Ctrl-Z stops the CLI, not `pulumi`: it runs on until its output fills the pipe.
 * - After the CLI has exited, nothing reads Pulumi's output: a cancellation that prints may be cut
 *   short the same way (`pulumi cancel` / `pulumi refresh` then tidy the stack, as after any kill).
 * - The child has no controlling terminal: nothing it starts can prompt on /dev/tty (Pulumi runs
 *   `--non-interactive` anyway; a credential helper that needs a terminal must be run beforehand).
 */
export class ShieldedPulumiCommand extends (PulumiCommand as unknown as PulumiCommandConstructor) {
  /**
   * The CLI at `opts.root` (default: `pulumi` on PATH), validated exactly as the library validates
   * it: `PulumiCommand.get` runs `pulumi version` and applies the minimum-version check (skipped by
   * `opts.skipVersionCheck` or PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK). That one short command
   * runs in the CLI's process group: a Ctrl-C then stops nothing in flight.
   */
  static async get(opts?: PulumiCommandOptions): Promise<ShieldedPulumiCommand> {
    const checked = await PulumiCommand.get(opts);
    return new ShieldedPulumiCommand(checked.command, checked.version);
  }

  /** What LocalWorkspace and Stack call for every Pulumi command (the library's `run`, @internal). */
  run(
    args: string[],
    cwd: string,
    additionalEnv: Record<string, string>,
    onOutput?: (data: string) => void,
    onError?: (data: string) => void,
    signal?: AbortSignal,
  ): Promise<CommandResult> {
    if (process.platform === "win32")
      return libraryRun.call(this, args, cwd, additionalEnv, onOutput, onError, signal);
    // Commands fail rather than prompt (and hang): nothing can answer a prompt here.
    const argv = args.includes("--non-interactive") ? args : [...args, "--non-interactive"];
    const env: Record<string, string> = { ...additionalEnv };
    // An installation chosen by path brings its own bundled plugins: they come first on PATH.
    if (path.isAbsolute(this.command))
      env.PATH = `${path.dirname(this.command)}${path.delimiter}${additionalEnv.PATH || process.env.PATH || ""}`;
    env.PULUMI_AUTOMATION_API = "true";
    return runDetached(this.command, argv, cwd, env, onOutput, onError, signal);
  }
}

/** The library's `CommandResult` (cmd.js; @internal, so not in its .d.ts). */
export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
  err?: Error;
}

/** `PulumiCommand`'s constructor, private in the .d.ts: a subclass needs it, as `get` does. */
type PulumiCommandConstructor = new (command: string, version: PulumiCommand["version"]) => PulumiCommand;

type Run = ShieldedPulumiCommand["run"];

/**
 * The library's internals a failure is built from, so it is the library's own error. Checked on
 * load: they are @internal, and an SDK upgrade that moves them must fail here, loudly, not in
 * the middle of a rollout.
 */
const libraryRun = internal<Run>(PulumiCommand.prototype, "run", "automation/cmd.js PulumiCommand.prototype");
const LibraryCommandResult = internal<
  new (stdout: string, stderr: string, code: number, err?: Error) => CommandResult
>(libraryCmd, "CommandResult", "automation/cmd.js");
const createCommandError = internal<(result: CommandResult) => CommandError>(
  libraryErrors,
  "createCommandError",
  "automation/errors.js",
);

function internal<T>(holder: object, name: string, where: string): T {
  const value: unknown = (holder as Record<string, unknown>)[name];
  if (typeof value !== "function")
    throw new Error(
      `@pulumi/pulumi ${where} has no function "${name}" (found ${typeof value}): cli/pulumiCommand.ts reuses the Automation API's own ${name}; update it for this SDK version`,
    );
  return value as T;
}

/** The children running now: the `exit` hook's targets. */
const running = new Set<ChildProcess>();

/**
 * SIGINT to the process group of every `pulumi` still running (Pulumi's graceful cancel, as a
 * terminal's Ctrl-C would send it, reaching the plugins `pulumi` started as well). Synchronous,
 * so it works inside a process `exit` handler. Returns how many groups it signalled.
 */
export function interruptRunningPulumi(): number {
  let signalled = 0;
  for (const child of running) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, "SIGINT");
      signalled++;
    } catch {
      // ESRCH: the group is gone between its exit and our bookkeeping; nothing left to stop.
    }
  }
  return signalled;
}

function track(child: ChildProcess): void {
  if (running.size === 0) process.on("exit", interruptRunningPulumi);
  running.add(child);
}

function untrack(child: ChildProcess): void {
  if (running.delete(child) && running.size === 0) process.off("exit", interruptRunningPulumi);
}

/**
 * cmd.js `exec` with the child in its own process group: same environment (the CLI's, plus
 * `env`), same output (streamed, and buffered with one final newline stripped, as execa does),
 * same failure (execa's message wrapped by the library as code -2, via createCommandError).
 */
function runDetached(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  onOutput?: (data: string) => void,
  onError?: (data: string) => void,
  signal?: AbortSignal,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      // Nothing can answer a prompt (`--non-interactive`): no stdin to leave open.
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid !== undefined) track(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (data: string) => {
      stdout += data;
      onOutput?.(data);
    });
    child.stderr.setEncoding("utf8").on("data", (data: string) => {
      stderr += data;
      onError?.(data);
    });
    // As the library does: Pulumi's own graceful cancel, sent to `pulumi` alone.
    const cancel = () => child.kill("SIGINT");
    signal?.addEventListener("abort", cancel, { once: true });
    let spawnError: Error | undefined;
    child.on("error", (error) => {
      // Only a failure to start fails the command (a failed `kill` emits "error" too).
      if (child.pid === undefined) spawnError = error;
    });
    child.on("exit", () => untrack(child));
    child.on("close", (code, killedBy) => {
      untrack(child);
      signal?.removeEventListener("abort", cancel);
      const out = stripFinalNewline(stdout);
      const err = stripFinalNewline(stderr);
      if (spawnError === undefined && code === 0) {
        resolve(new LibraryCommandResult(out, err, 0));
        return;
      }
      const failure = commandFailure([command, ...args].join(" "), out, err, code, killedBy, spawnError);
      reject(createCommandError(new LibraryCommandResult("", failure.message, UNKNOWN_ERROR_CODE, failure)));
    });
  });
}

/** The code cmd.js `exec` gives every failure (it wraps execa's rejection, whatever the exit code). */
const UNKNOWN_ERROR_CODE = -2;

/** execa's error for a failed command (execa/lib/error.js), whose message the library reports. */
function commandFailure(
  command: string,
  stdout: string,
  stderr: string,
  exitCode: number | null,
  killedBy: NodeJS.Signals | null,
  spawnError: (Error & { code?: string }) | undefined,
): Error {
  const reason =
    spawnError?.code !== undefined
      ? `failed with ${spawnError.code}`
      : killedBy !== null
        ? `was killed with ${killedBy}`
        : exitCode !== null
          ? `failed with exit code ${exitCode}`
          : "failed";
  const shortMessage = `Command ${reason}: ${command}${spawnError ? `\n${spawnError.message}` : ""}`;
  const message = [shortMessage, stderr, stdout].filter(Boolean).join("\n");
  return Object.assign(spawnError ?? new Error(message), {
    message,
    shortMessage,
    command,
    exitCode: exitCode ?? undefined,
    signal: killedBy ?? undefined,
    stdout,
    stderr,
    failed: true,
  });
}

/** execa's stripFinalNewline: callers parse `stdout` (JSON, names) without the last line break. */
function stripFinalNewline(text: string): string {
  const withoutLf = text.endsWith("\n") ? text.slice(0, -1) : text;
  return withoutLf.endsWith("\r") ? withoutLf.slice(0, -1) : withoutLf;
}
