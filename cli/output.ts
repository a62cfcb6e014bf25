import { safeText } from "../rollout/redaction";
import { RolloutInputError } from "../rollout/validation";

/** Shared plumbing of the `rollout` CLI: exit codes, output, tables, flag errors. */

/** 130 = 128 + SIGINT, as a shell reports a command Ctrl-C ended: a shift stopped cleanly (config and ALB agree). */
export const EXIT = { ok: 0, refused: 1, badInput: 2, interrupted: 130 } as const;

export interface Output {
  log(line?: string): void;
  error(line: string): void;
}

/**
 * Every line the CLI prints passes here: each secret value redacted (rollout/redaction.ts:
 * whatever key it came from, JSON-escaped forms too) and control characters, bidi overrides and
 * invisible characters escaped as `\uXXXX`, so nothing a user supplied (a name, a file's
 * contents, an error from Pulumi or AWS) reaches the terminal raw. A `--json` line stays valid
 * JSON: the escape means the same character.
 */
export function safeOutput(out: Output): Output {
  return {
    log: (line = "") => out.log(safeText(line)),
    error: (line) => out.error(safeText(line)),
  };
}

/**
 * Whether the terminal gets colour: only a TTY (a pipe or a file gets plain text), never when
 * NO_COLOR is set to anything but the empty string (https://no-color.org: "when present and not
 * an empty string, prevents the addition of ANSI color"), nor on TERM=dumb.
 */
export function colourWanted(env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  if (!isTty) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return env.TERM !== "dumb";
}

const ANSI = { green: "\u001b[32m", red: "\u001b[31m", bold: "\u001b[1m", reset: "\u001b[0m" } as const;
/** The verdict words, whole (NO-GO is not GO, METRIC is not MET). */
const VERDICT = /(?<![\w-])(NO-GO|GO|BREACHED|MISSED|MET)(?![\w-])/g;

/** A line with its verdicts coloured: GO and MET green, NO-GO, BREACHED and MISSED bold red. */
export function paintVerdicts(line: string): string {
  return line.replace(VERDICT, (word: string) =>
    word === "GO" || word === "MET"
      ? `${ANSI.green}${word}${ANSI.reset}`
      : `${ANSI.bold}${ANSI.red}${word}${ANSI.reset}`,
  );
}

/** `out` with verdicts coloured on stdout (errors stay plain: they are read by whoever pipes stderr). */
export function colouredOutput(out: Output): Output {
  return { log: (line = "") => out.log(paintVerdicts(line)), error: (line) => out.error(line) };
}

/** The terminal. Not wrapped here: `runCli`, its only user, passes every line through `safeOutput` once. */
export const consoleOutput: Output = {
  log: (line = "") => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
};

/**
 * `rollout ... | head`: once the reader has gone, a write fails with EPIPE. That is the
 * reader's choice, not a failure: stop quietly with the exit code so far, no stack trace.
 */
export function ignoreEpipe(
  stream: NodeJS.EventEmitter,
  exit: () => void = () => process.exit(typeof process.exitCode === "number" ? process.exitCode : 0),
): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    exit();
  });
}

/** With --json, an error is also one JSON line on stdout, so a script reading stdout sees it. */
export function jsonError(out: Output, message: string, exitCode: number): void {
  out.log(JSON.stringify({ error: message, exitCode }));
}

/** Output that keeps the lines, for tests. */
export function bufferOutput(): Output & { lines: string[]; errors: string[]; text(): string } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    log: (line = "") => lines.push(line),
    error: (line) => errors.push(line),
    text: () => lines.join("\n"),
  };
}

export function table(headers: string[], rows: (string | number)[][]): string[] {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)];
}

/** A required string flag, or a RolloutInputError naming it. */
export function requireFlag(values: Record<string, unknown>, name: string, what: string): string {
  const value = values[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new RolloutInputError(
      `--${name}: expected ${what}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`,
    );
  }
  return value;
}

const DURATION_UNITS = { s: 1, m: 60, h: 3600 } as const;

/**
 * `--<flag> 90s | 5m | 1h` -> seconds, within [min, max]. The unit is required: a bare `5` read as
 * seconds made `--interval 5` a five-second wait where five minutes was meant.
 */
export function parseDuration(
  flag: string,
  value: unknown,
  min: number,
  max: number,
  /** Why nothing shorter than `min` is taken. */
  minReason: string,
): number {
  const got = value === undefined ? "nothing" : JSON.stringify(value);
  const match = typeof value === "string" ? /^(\d+)(s|m|h)$/.exec(value) : null;
  if (!match)
    throw new RolloutInputError(
      `--${flag}: expected a duration with its unit (s, m or h), such as 90s, 5m or 1h, got ${got}`,
    );
  const seconds = Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
  if (seconds < min)
    throw new RolloutInputError(`--${flag}: expected at least ${min}s (${minReason}), got ${got}`);
  if (seconds > max) throw new RolloutInputError(`--${flag}: expected at most ${max / 3600}h, got ${got}`);
  return seconds;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/**
 * One line for an error message. The Automation API's CommandError starts with `code: 255`
 * and carries the CLI's stderr further down: its first `error:` line says what went wrong.
 */
export function oneLine(message: string): string {
  const lines = message.split("\n").map((l) => l.trim());
  const cliError = lines.find((l) => /(^|\s)error: /.test(l));
  if (cliError) return cliError.replace(/^.*?error: /, "");
  return lines.find((l) => l !== "") ?? message;
}

/** With --json the JSON document on stdout; otherwise the human lines. */
export function emit(
  ctx: { out: Output },
  flags: Record<string, unknown>,
  json: unknown,
  human: () => void,
): void {
  if (flags.json) ctx.out.log(JSON.stringify(json, null, 2));
  else human();
}

/** A refusal: what is missing and the command that supplies it. Exit 1. */
export function refuse(
  ctx: { out: Output },
  flags: Record<string, unknown>,
  command: string,
  reasons: string[],
): number {
  emit(ctx, flags, { command, refused: true, reasons, exitCode: EXIT.refused }, () => {
    ctx.out.log(`${command} refused:`);
    for (const r of reasons) ctx.out.log(`  - ${r}`);
  });
  return EXIT.refused;
}
