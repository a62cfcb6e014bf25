import { z } from "zod";
import { escapeForTerminal, REDACTED, redactSecrets } from "./redaction";

/**
 * Raised for any input a user controls (stack config, playbook, evidence file, CLI flag).
 * `plan` and the CLI map it to exit code 2; the Pulumi program lets it surface before any
 * resource is registered.
 */
export class RolloutInputError extends Error {
  constructor(
    message: string,
    readonly issues: string[] = [message],
  ) {
    super(message);
    this.name = "RolloutInputError";
  }
}

// At most nanoseconds: a longer fraction is no time anyone recorded, and it lands in the state record.
/**
 * A date, or a time WITH its zone: `Date.parse` reads a zone-less date-time as the machine's local
 * time, so a soak or time-order check would depend on where the pack runs.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const ISO_TIME_MESSAGE = "expected an ISO-8601 time with its zone, such as 2026-11-02T15:00:00Z";
/** Whether the calendar date exists (Date.parse rolls 2026-02-30 over to 2 March). */
function realDate(text: string): boolean {
  const m = ISO_8601.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
/** An ISO-8601 date, or time with its zone, that is a real date (config, sign-offs, decisions, the state record). */
export const isoTime = z
  .string({ message: ISO_TIME_MESSAGE })
  .refine((s) => ISO_8601.test(s) && realDate(s) && !Number.isNaN(Date.parse(s)), {
    message: ISO_TIME_MESSAGE,
  });

/**
 * An integer from `min` to `max`; every way of missing it (not a number, a fraction, out of
 * range) gets the one message. Default: `expected an integer <min>-<max>`.
 */
export const integerIn = (min: number, max: number, message = `expected an integer ${min}-${max}`) =>
  z.number({ message }).int({ message }).min(min, { message }).max(max, { message });

/** A TCP port, 1-65535 (a container's, HeavyDB's). */
export const portNumber = integerIn(1, 65535);

/** A string of at least one character; `what` names it in the message (`expected <what>`). */
export const nonEmpty = (what: string) =>
  z.string({ message: `expected ${what}` }).min(1, { message: `expected ${what}` });

/** Strings longer than this are shown by their start and length: a message must stay readable. */
const LONG_STRING = 200;

/** A string as a message quotes it: JSON-quoted, and what JSON leaves raw (C1, bidi) escaped too. */
const quoted = (text: string) => escapeForTerminal(JSON.stringify(text));

/**
 * How a received value reads in a message: strings quoted, NaN as NaN, long values shortened.
 * Every registered secret value (rollout/redaction.ts) is replaced by [secret] before anything
 * is shortened, so no cut can leave part of one; a value that is a secret reads `[secret]`.
 */
export function describeReceived(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") {
    const shown = redactSecrets(value);
    if (shown === REDACTED) return REDACTED;
    return shown.length > LONG_STRING
      ? `${quoted(shown.slice(0, 40))}... (${value.length} characters)`
      : quoted(shown);
  }
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  let json: string;
  try {
    // undefined for a function or a symbol: say which it was.
    json = JSON.stringify(value) ?? typeof value;
  } catch {
    json = typeof value === "bigint" ? value.toString() : typeof value; // a BigInt, a cycle
  }
  json = escapeForTerminal(redactSecrets(json));
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cursor: unknown = root;
  for (const key of path) {
    if (cursor === null || typeof cursor !== "object") return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

/** `services[1].green.port` from zod's path array (a key's control characters escaped). */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => {
      if (typeof part === "number") return `[${part}]`;
      const key = escapeForTerminal(String(part));
      return index === 0 ? key : `.${key}`;
    })
    .join("");
}

/** Edit distance between two words (case-insensitive), for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The candidate within edit distance 2 of a typo, if any (the nearest one). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const ranked = candidates
    .map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d);
  return ranked[0] && ranked[0].d <= 2 ? ranked[0].c : undefined;
}

/**
 * Whether the value at `path` may hold a secret: the path is a secret key or lies inside one
 * (`database.password.secure`), or it is an unknown key that looks like a misspelt secret key
 * beside it (`database.pasword`), whose value is just as secret.
 */
function isSecret(path: string, secretPaths: readonly string[], unknownKey = false): boolean {
  if (
    secretPaths.some(
      (secret) => path === secret || path.startsWith(`${secret}.`) || path.startsWith(`${secret}[`),
    )
  )
    return true;
  if (!unknownKey) return false;
  const cut = path.lastIndexOf(".");
  const parent = cut < 0 ? "" : path.slice(0, cut);
  const siblings = secretPaths
    .filter(
      (secret) => (secret.lastIndexOf(".") < 0 ? "" : secret.slice(0, secret.lastIndexOf("."))) === parent,
    )
    .map((secret) => secret.slice(secret.lastIndexOf(".") + 1));
  return closest(path.slice(cut + 1), siblings) !== undefined;
}

/** Every value as `expected one of a, b, c`, whichever zod construct listed them. */
function oneOf(values: readonly unknown[]): string {
  const names = values.map(String);
  return names.length === 1 ? `expected ${names[0]}` : `expected one of ${names.join(", ")}`;
}

/** Zod's stock messages ("Invalid input: expected number, received string") reduced to "expected number". */
function expectation(issue: z.core.$ZodIssue): string {
  const message = issue.message;
  const stock = /^Invalid/.test(message);
  if (stock && issue.code === "invalid_value") return oneOf(issue.values);
  if (stock && issue.code === "invalid_union") {
    if ("options" in issue && Array.isArray(issue.options)) return oneOf(issue.options);
    // A union of literals lists its values; any other union, what each branch expected.
    const branches = issue.errors.map((branch) => branch[0]).filter((first) => first !== undefined);
    if (branches.length > 0 && branches.every((first) => first.code === "invalid_value"))
      return oneOf(branches.flatMap((first) => (first.code === "invalid_value" ? first.values : [])));
    if (branches.length > 0)
      return `expected ${branches.map((first) => expectation(first).replace(/^expected /, "")).join(" or ")}`;
  }
  const stockText = /expected (.*?)(?:, received .*)?$/i.exec(message);
  if (stockText?.[1]) return `expected ${stockText[1]}`;
  return message.startsWith("expected ") ? message : `expected ${message}`;
}

/**
 * One line per problem: `<prefix><path>: expected <what>, got <value>`. The "expected" part
 * comes from the schema's own message where it has one, so messages say what to write. Values
 * under `secretPaths` (dotted paths without the prefix) are printed as [secret]. A problem with
 * the whole input is reported at the prefix without its separator (`rollout`), or at `document`.
 */
export function describeZodError(
  error: z.ZodError,
  input: unknown,
  prefix: string,
  secretPaths: readonly string[] = [],
): string[] {
  const received = (path: readonly PropertyKey[], unknownKey = false) => {
    const value = valueAt(input, path);
    // A missing secret has nothing to hide: say it is missing.
    if (value === undefined) return describeReceived(value);
    return isSecret(formatPath(path), secretPaths, unknownKey) ? REDACTED : describeReceived(value);
  };
  return error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        return `${prefix}${formatPath(path)}: unknown key (a typo?), got ${received(path, true)}`;
      });
    }
    const path = formatPath(issue.path);
    const where = path ? `${prefix}${path}` : prefix.replace(/[:.]$/, "") || "document";
    if (issue.code === "invalid_key") {
      // A bad record key: what is wrong is the key itself, so the key is what was received.
      const inner = issue.issues[0];
      const key = issue.path.at(-1);
      return `${where}: ${inner ? expectation(inner) : "expected a valid key"}, got the key ${describeReceived(String(key))}`;
    }
    return `${where}: ${expectation(issue)}, got ${received(issue.path)}`;
  });
}

/** Parse with a schema, or throw a RolloutInputError naming every bad key (secrets redacted). */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: string,
  context: string,
  secretPaths: readonly string[] = [],
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = describeZodError(result.error, input, prefix, secretPaths);
  throw new RolloutInputError(`${context}:\n  ${lines.join("\n  ")}`, lines);
}
