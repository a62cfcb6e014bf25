import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What reaches a terminal or a log: every value Pulumi marks secret redacted, wherever it
 * appears and whatever key it sits under, and control characters escaped. A leaf of rollout/
 * (imports nothing of the project): validation.ts, the CLI's output and the policy pack's
 * offline runner all use it.
 *
 * Secrets are collected by value, not by key path: a password under an unexpected key
 * (`database.masterPassword`), pasted into `username`, or inside a JSON object is still the
 * same string. Who knows the values registers them: the live CLI from the Automation API's
 * `getAllConfig` (decrypted, each with its `secret` flag), the offline plan from a stack file's
 * decrypted values and from the values the program marked secret.
 */

export const REDACTED = "[secret]";

/**
 * Shorter secrets are not matched: replacing every "1" or "on" in the output would leave
 * nothing readable. Pulumi's own log filter makes the same trade-off (values under 3 characters).
 */
export const MIN_SECRET_LENGTH = 3;

class SecretValues {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;

  add(value: string): void {
    if (value.length < MIN_SECRET_LENGTH || this.values.has(value)) return;
    this.values.add(value);
    this.pattern = undefined;
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    if (this.values.size === 0) return text;
    this.pattern ??= buildPattern(this.values);
    return text.replace(this.pattern, REDACTED);
  }
}

/** Every way a value is printed: as is, JSON-escaped once (`--json`, a quoted value) and twice (JSON in JSON). */
function forms(value: string): string[] {
  const once = JSON.stringify(value).slice(1, -1);
  const twice = JSON.stringify(once).slice(1, -1);
  return [...new Set([value, once, twice])];
}

function buildPattern(values: Iterable<string>): RegExp {
  const all = [...new Set([...values].flatMap(forms))]
    .filter((f) => f.length >= MIN_SECRET_LENGTH)
    // Longest first: a secret containing another is replaced whole.
    .sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(all.join("|"), "g");
}

/** The process's secrets (the Pulumi program, tests calling the plan directly). */
const processSecrets = new SecretValues();
/** A CLI run's own secrets: one command's stack never redacts (nor leaks into) another's. */
const scoped = new AsyncLocalStorage<SecretValues>();

const current = () => scoped.getStore() ?? processSecrets;

/** Runs `fn` with a secret set of its own (runCli: one per command). */
export function withSecretScope<T>(fn: () => T): T {
  return scoped.run(new SecretValues(), fn);
}

/**
 * Registers secret values: each string as it is (a string holding JSON too, whole: use
 * `configSecretValues` to pick values out of config), each number, and every string and number
 * inside an object or a list.
 */
export function registerSecrets(values: Iterable<unknown>): void {
  const set = current();
  for (const value of values) for (const leaf of leafStrings(value)) set.add(leaf);
}

/** How many secret values the current scope knows (tests). */
export function secretCount(): number {
  return current().size;
}

/** `text` with every occurrence of a registered secret (and its JSON-escaped forms) replaced by [secret]. */
export function redactSecrets(text: string): string {
  const inScope = current();
  const redacted = inScope.redact(text);
  return inScope === processSecrets ? redacted : processSecrets.redact(redacted);
}

/** Printed as is: every C0 control but tab and newline, DEL, C1, bidi marks, overrides and isolates, invisible characters. */
const UNSAFE_ON_OUTPUT =
  // eslint-disable-next-line no-control-regex -- control characters are what it finds
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2069\uFEFF]/g;

/**
 * Text safe for a terminal: control characters, bidi overrides and invisible characters become
 * `\uXXXX` (tab and newline stay). Inside a JSON string the escape is valid JSON for the same
 * character, so a `--json` line stays parseable and means the same.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE_ON_OUTPUT, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What may be printed: secrets redacted first (their raw form), then control characters escaped. */
export function safeText(text: string): string {
  return escapeForTerminal(redactSecrets(text));
}

/**
 * Secret values of config as the Automation API's `getAllConfig` returns it: `{value, secret}`
 * per fully qualified key, decrypted. Pulumi marks a whole top-level key secret when any value
 * inside is; `securePaths` (the stack file's `secure:` paths, `rollout:database.password`)
 * narrows such a key to the values that were written secret, so `engine: mysql` beside a
 * password is not redacted everywhere. Without a path for a secret key, every value in it counts.
 */
export function configSecretValues(
  config: Record<string, { value: string; secret?: boolean }>,
  securePaths: readonly string[] = [],
): string[] {
  const values: string[] = [];
  for (const [key, { value, secret }] of Object.entries(config)) {
    if (!secret || typeof value !== "string") continue;
    values.push(value);
    const paths = securePaths.filter((p) => p.startsWith(`${key}.`) || p.startsWith(`${key}[`));
    let decoded: unknown;
    try {
      decoded = /^\s*[[{]/.test(value) ? JSON.parse(value) : undefined;
    } catch {
      decoded = undefined;
    }
    if (decoded === undefined) continue;
    const found = paths.map((p) => valueAtPath(decoded, p.slice(key.length))).filter((v) => v !== undefined);
    // No path inside (the whole value was set secret), or one the value no longer has (the file
    // and the backend disagree): all of it is secret. Text only: a port or a size inside a
    // secret object is no secret, and redacting "100" would blank every percentage.
    if (paths.length > 0 && found.length === paths.length)
      values.push(...found.flatMap((v) => leafStrings(v)));
    else values.push(...leafStrings(decoded, 0, false));
  }
  return values;
}

/** `.database.password`, `[0].x` from a decoded value. */
function valueAtPath(root: unknown, path: string): unknown {
  let cursor = root;
  for (const m of path.matchAll(/\.([^.[\]]+)|\[(\d+)\]|\["([^"]+)"\]/g)) {
    const part = m[2] !== undefined ? Number(m[2]) : (m[1] ?? m[3])!;
    if (cursor === null || typeof cursor !== "object" || !Object.hasOwn(cursor, part)) return undefined;
    cursor = (cursor as Record<string | number, unknown>)[part];
  }
  return cursor;
}

/** Every string (and number, unless `numbers` is false) in a value, as text. */
function leafStrings(value: unknown, depth = 0, numbers = true): string[] {
  if (depth > 64) return [];
  if (typeof value === "string") return [value];
  if (numbers && typeof value === "number" && Number.isFinite(value)) return [String(value)];
  if (Array.isArray(value)) return value.flatMap((v) => leafStrings(v, depth + 1, numbers));
  if (value !== null && typeof value === "object")
    return Object.values(value).flatMap((v) => leafStrings(v, depth + 1, numbers));
  return [];
}
