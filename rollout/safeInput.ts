import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { errorMessage } from "./errors";
import { escapeForTerminal } from "./redaction";
import { RolloutInputError } from "./validation";

/**
 * The one way the project reads a file it is given: stack files, playbooks, evidence, drill
 * scenarios, policy pack config. Every reader goes through `readInputFile` (bytes -> text) and
 * `parseInputDocument` (text -> a checked YAML/JSON document); `readInputDocument` is both.
 *
 * What a hostile or broken file gets (always a RolloutInputError, exit 2, naming the file and
 * the key; never a hang, an out-of-memory or a stack dump):
 * - only regular files, at most INPUT_LIMITS.maxBytes: `/dev/zero`, a FIFO, a directory are
 *   refused before a byte is read, and no more than the limit is ever read;
 * - UTF-8 text only (a UTF-8 BOM is dropped; UTF-16, NUL bytes and invalid UTF-8 are refused);
 * - YAML nesting, alias references and the document's size with every alias expanded are
 *   bounded before the document is built (billion laughs is refused from its parser events);
 * - no key or name that is a property of every JavaScript object (`__proto__`, `constructor`,
 *   `toString`...), which would vanish into a prototype or be found on every lookup;
 * - no control characters (C0 but tab/newline in text, DEL, C1), bidi overrides or invisible
 *   characters in keys and names; no NaN or infinite numbers.
 */

export const INPUT_LIMITS = {
  /**
   * Bytes read from one file. The largest committed input (a playbook) is 43 KB; a megabyte is
   * some 25 times that, and parses in well under a second.
   */
  maxBytes: 1024 * 1024,
  /** Nested mappings/sequences. Our schemas nest at most 8 deep; js-yaml's own default is 100. */
  maxDepth: 64,
  /** `*alias` references in one document. No committed file uses any. */
  maxAliases: 1000,
  /**
   * Nodes (scalars, mappings, sequences; keys count) with every alias expanded. About what a
   * 1 MiB file spells out without aliases at 4 bytes a node (`- 1\n`): aliases may save
   * typing, never make a document bigger than the largest file we would read.
   */
  maxExpandedNodes: 250_000,
  /** Characters in a key (a name): Kubernetes' longest names are 253. */
  maxKeyLength: 256,
} as const;

/** Properties of every object: as a key or a name they vanish into the prototype or match on any lookup. */
const RESERVED_NAMES: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  "prototype",
]);

/** A name that no key or id may take (`__proto__`, `constructor`, `prototype`, `toString`...). */
export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name);
}

/** Refused in any text: C0 controls other than tab, newline and carriage return, DEL, C1, bidi overrides and isolates. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSAFE_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
/**
 * Refused in names (keys, and values with no whitespace): every control character, bidi marks,
 * zero-width and invisible characters, line and paragraph separators, the BOM.
 */
const UNSAFE_IN_NAME =
  // eslint-disable-next-line no-control-regex -- control characters are what it finds
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2069\uFEFF]/;
/** A user-supplied name as a message shows it: quoted, escaped, shortened past 80 characters. */
export function quoteName(name: string): string {
  const shown = name.length > 80 ? `${name.slice(0, 60)}...` : name;
  const quoted = escapeForTerminal(JSON.stringify(shown));
  return name.length > 80 ? `${quoted} (${name.length} characters)` : quoted;
}

/** The first character of `text` matching `pattern`, as `U+202E` with its offset, or undefined. */
function unsafeCharacter(text: string, pattern: RegExp): string | undefined {
  const match = pattern.exec(text);
  if (!match) return undefined;
  const code = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `U+${code} at character ${match.index + 1}`;
}

/**
 * Why a name (a key, an id, a flag value naming something) is refused, or undefined when it is
 * fine: reserved, empty, too long, or holding a control/bidi/invisible character.
 */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "expected a name, got an empty one";
  if (isReservedName(name))
    return `${quoteName(name)} is not allowed as a name: every JavaScript object has a property of that name; rename it`;
  if (name.length > INPUT_LIMITS.maxKeyLength)
    return `expected a name of at most ${INPUT_LIMITS.maxKeyLength} characters, got ${name.length}`;
  const bad = unsafeCharacter(name, UNSAFE_IN_NAME);
  if (bad)
    return `${quoteName(name)} holds a control, bidi or invisible character (${bad}); names must be plain text`;
  return undefined;
}

/**
 * Why a flag value or a path is refused, or undefined: a control, bidi or invisible character
 * (`text`: free text such as a reason, where tab and newline are fine).
 */
export function characterProblem(value: string, kind: "name" | "text"): string | undefined {
  const bad = unsafeCharacter(value, kind === "name" ? UNSAFE_IN_NAME : UNSAFE_IN_TEXT);
  return bad ? `${quoteName(value)} holds a control, bidi or invisible character (${bad})` : undefined;
}

/** Why a string value is refused, or undefined: a name-like value (no whitespace) is held to names' rules. */
function stringProblem(value: string): string | undefined {
  if (isReservedName(value))
    return `${quoteName(value)} is not allowed as a value: every JavaScript object has a property of that name, so it cannot be an id or a name`;
  if (!/\s/.test(value) && value.length <= INPUT_LIMITS.maxKeyLength) {
    const bad = unsafeCharacter(value, UNSAFE_IN_NAME);
    if (bad) return `${quoteName(value)} holds a control, bidi or invisible character (${bad})`;
  }
  const bad = unsafeCharacter(value, UNSAFE_IN_TEXT);
  if (bad) return `text holds a control or bidi-override character (${bad}): ${quoteName(value)}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Reading

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO (named pipe)";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

const MIB = 1024 * 1024;
const sizeText = (bytes: number) =>
  bytes >= MIB
    ? `${(bytes / MIB).toFixed(1)} MiB`
    : bytes >= 1024
      ? `${Math.ceil(bytes / 1024)} KiB`
      : `${bytes} bytes`;

/**
 * The text of a file the project is given, read safely: a regular file of at most `maxBytes`
 * (stat first: `/dev/zero`, a FIFO or a directory is never read), UTF-8 (a BOM is dropped).
 * `label` starts every message (`--evidence`, `playbook`, a stack file's path).
 */
export function readInputFile(file: string, label: string, maxBytes: number = INPUT_LIMITS.maxBytes): string {
  const refuse = (why: string): never => {
    throw new RolloutInputError(`${label}: ${escapeForTerminal(file)} ${why}`);
  };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return refuse("does not exist (no such file)");
    return refuse(`cannot be read (${code ?? errorMessage(error)})`);
  }
  if (!stat.isFile()) return refuse(`is ${kindOf(stat)}, not a regular file`);
  if (stat.size > maxBytes)
    return refuse(
      `is ${sizeText(stat.size)}; at most ${sizeText(maxBytes)} is read (a file this big is not one of ours)`,
    );
  // O_NONBLOCK: if the path became a FIFO since the stat, opening it must not wait for a writer.
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);
  let fd: number;
  try {
    fd = fs.openSync(file, flags);
  } catch (error) {
    return refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) return refuse(`is ${kindOf(opened)}, not a regular file`);
    // Read to the limit and one byte past it, whatever the size said (a file may grow; /proc says 0).
    const chunk = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, maxBytes + 1 - total), null);
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (total > maxBytes) return refuse(`is larger than ${sizeText(maxBytes)}; at most that is read`);
    }
  } catch (error) {
    if (error instanceof RolloutInputError) throw error;
    return refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`);
  } finally {
    fs.closeSync(fd);
  }
  return decodeText(Buffer.concat(chunks, total), (why) => refuse(why));
}

/** UTF-8 text from bytes: a UTF-8 BOM dropped; UTF-16, NUL bytes and invalid UTF-8 refused. */
function decodeText(bytes: Buffer, refuse: (why: string) => never): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    refuse("is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8");
  const nul = bytes.indexOf(0);
  if (nul >= 0) refuse(`holds a NUL byte at offset ${nul}: a binary file, not YAML or JSON text`);
  try {
    // fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM false: a leading BOM is dropped.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return refuse("is not UTF-8 text (a binary file?); save it as UTF-8");
  }
}

// ---------------------------------------------------------------------------------------
// Parsing

/** A `path.to[0].key` for messages; a key that is not plain is quoted and escaped. */
export function formatInputPath(path: readonly (string | number)[]): string {
  return path
    .map((part, i) => {
      if (typeof part === "number") return `[${part}]`;
      if (/^[A-Za-z0-9_$:@/-][\w$:@/.-]*$/.test(part) && !part.includes(".."))
        return i === 0 ? part : `.${part}`;
      return `[${quoteName(part)}]`;
    })
    .join("");
}

const { ALIAS, SCALAR, SEQUENCE, MAPPING, POP, DOCUMENT } = yaml.EVENT_ID;

/** A node being counted: its expanded size and height so far, its anchor, whether it is still open. */
interface Frame {
  size: number;
  /** Collections on the longest path down, this one included (a scalar: 0). */
  height: number;
  anchor?: string;
  open: boolean;
  /** A mapping or sequence (not the document or stream around it). */
  collection: boolean;
}

/**
 * Measures the document with every alias expanded, from the parser's events (nothing is built
 * yet): each collection's expanded size (nodes, keys included) and height are known when it
 * closes, and an alias adds its anchor's. A re-used anchor name counts as its largest node, so
 * the measure never undercounts. Stops at the first bound passed, so a billion laughs costs its
 * few hundred events. Returns a problem, or undefined.
 */
function expansionProblem(events: readonly yaml.Event[], source: string): string | undefined {
  const { maxExpandedNodes, maxAliases, maxDepth } = INPUT_LIMITS;
  /** The most recent declaration of each anchor name (an open one: an alias to it is a cycle). */
  const declared = new Map<string, Frame>();
  /** The largest size and height any node of that anchor name has had. */
  const measured = new Map<string, { size: number; height: number }>();
  const stack: Frame[] = [{ size: 0, height: 0, open: true, collection: false }];
  let aliases = 0;
  const anchorOf = (e: { anchorStart: number; anchorEnd: number }) =>
    e.anchorStart >= 0 ? source.slice(e.anchorStart, e.anchorEnd) : undefined;
  const remember = (name: string, frame: Frame) => {
    const seen = measured.get(name);
    measured.set(name, {
      size: Math.max(seen?.size ?? 0, frame.size),
      height: Math.max(seen?.height ?? 0, frame.height),
    });
  };
  /** Adds a child of this size and height to the open node; a problem when a bound is passed. */
  const add = (size: number, height: number): string | undefined => {
    const top = stack[stack.length - 1]!;
    top.size = Math.min(top.size + size, maxExpandedNodes + 1);
    top.height = Math.max(top.height, height + (top.collection ? 1 : 0));
    if (top.size > maxExpandedNodes)
      return `expands to more than ${maxExpandedNodes.toLocaleString("en")} nodes once its aliases are expanded (an alias bomb?)`;
    // js-yaml bounds the nesting as written; this, the nesting once aliases are expanded.
    if (top.height > maxDepth) return `nests more than ${maxDepth} levels deep once its aliases are expanded`;
    return undefined;
  };
  for (const event of events) {
    let problem: string | undefined;
    switch (event.type) {
      case DOCUMENT:
        stack.push({ size: 0, height: 0, open: true, collection: false });
        break;
      case SEQUENCE:
      case MAPPING: {
        const frame: Frame = { size: 1, height: 1, anchor: anchorOf(event), open: true, collection: true };
        if (frame.anchor !== undefined) declared.set(frame.anchor, frame);
        stack.push(frame);
        break;
      }
      case SCALAR: {
        const anchor = anchorOf(event);
        if (anchor !== undefined) {
          const frame: Frame = { size: 1, height: 0, anchor, open: false, collection: false };
          declared.set(anchor, frame);
          remember(anchor, frame);
        }
        problem = add(1, 0);
        break;
      }
      case ALIAS: {
        if (++aliases > maxAliases)
          return `uses more than ${maxAliases} aliases (*name); write the values out`;
        const name = source.slice(event.anchorStart, event.anchorEnd);
        if (declared.get(name)?.open) return `alias *${name} refers to a node that contains it (a cycle)`;
        // An unknown alias counts as one node: building the document refuses it.
        const seen = measured.get(name) ?? { size: 1, height: 0 };
        problem = add(seen.size, seen.height);
        break;
      }
      case POP: {
        const closed = stack.pop()!;
        closed.open = false;
        if (closed.anchor !== undefined) remember(closed.anchor, closed);
        if (stack.length === 0) stack.push({ size: 0, height: 0, open: true, collection: false });
        problem = add(closed.size, closed.height);
        break;
      }
    }
    if (problem) return problem;
  }
  return undefined;
}

/** Walks a built document and collects every key or value a safe document may not hold. */
function documentProblems(document: unknown, root: (string | number)[] = []): string[] {
  const problems: string[] = [];
  const MAX_PROBLEMS = 20;
  const visit = (value: unknown, path: (string | number)[]): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    const at = (problem: string) =>
      problems.push(path.length > 0 ? `${formatInputPath(path)}: ${problem}` : problem);
    // Files are bounded by their parser; this bounds a document decoded elsewhere (JSON in config).
    if (path.length - root.length > INPUT_LIMITS.maxDepth + 1) {
      at(`nested more than ${INPUT_LIMITS.maxDepth} levels deep`);
      return;
    }
    if (typeof value === "string") {
      const problem = stringProblem(value);
      if (problem) at(problem);
      return;
    }
    if (typeof value === "number") {
      if (!Number.isFinite(value)) at(`expected a finite number, got ${String(value)}`);
      return;
    }
    if (value === null || typeof value === "boolean" || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, [...path, i]));
      return;
    }
    if (typeof value === "object") {
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        at(`expected text, a number, a list or a mapping, got ${Object.prototype.toString.call(value)}`);
        return;
      }
      for (const key of Object.keys(value)) {
        const problem = nameProblem(key);
        if (problem) {
          problems.push(`${formatInputPath([...path, key])}: ${problem}`);
          continue;
        }
        visit((value as Record<string, unknown>)[key], [...path, key]);
      }
      return;
    }
    at(`unsupported value ${typeof value}`);
  };
  visit(document, root);
  return problems;
}

/**
 * Checks an already-parsed document (JSON decoded elsewhere, a config value) as
 * `parseInputDocument` checks a file's: names, characters, numbers. Throws a RolloutInputError
 * starting with `context` and naming each key by its path from `root` (`rollout:featureFlags`).
 */
export function checkInputDocument(document: unknown, context: string, root: (string | number)[] = []): void {
  const problems = documentProblems(document, root);
  if (problems.length === 0) return;
  throw new RolloutInputError(`${context}:\n  ${problems.join("\n  ")}`, problems);
}

export interface ParseOptions {
  /** Starts a message about the text itself (`<file> is not valid YAML`): the callers' wording. */
  invalid: string;
  /** Starts a message naming a key (`--evidence: <file>`). */
  context: string;
  /** Shown by js-yaml in its messages. */
  filename?: string;
  /**
   * Strict JSON (a policy pack config, which the Pulumi CLI reads as JSON): YAML syntax is
   * refused; the YAML parser still reads it after, for its bounds and its duplicate-key check.
   */
  json?: boolean;
}

/**
 * A YAML (or JSON: YAML 1.2 reads it, and refuses its duplicate keys) document, safely: nesting,
 * aliases and the expanded size are bounded from the parser's events before anything is built;
 * the built document is then checked for reserved or unsafe names and non-finite numbers.
 */
export function parseInputDocument(text: string, options: ParseOptions): unknown {
  if (options.json) {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new RolloutInputError(`${options.invalid}: ${escapeForTerminal(errorMessage(error))}`);
    }
  }
  let events: yaml.Event[];
  try {
    events = yaml.parseEvents(text, { filename: options.filename, maxDepth: INPUT_LIMITS.maxDepth });
  } catch (error) {
    if (error instanceof RangeError)
      throw new RolloutInputError(`${options.invalid}: nested too deeply to read`);
    throw new RolloutInputError(`${options.invalid}: ${escapeForTerminal(errorMessage(error))}`);
  }
  const expansion = expansionProblem(events, text);
  if (expansion) throw new RolloutInputError(`${options.context}: the document ${expansion}`);
  let documents: unknown[];
  try {
    documents = yaml.constructFromEvents(events, {
      source: text,
      filename: options.filename,
      maxAliases: INPUT_LIMITS.maxAliases,
    });
  } catch (error) {
    throw new RolloutInputError(`${options.invalid}: ${escapeForTerminal(errorMessage(error))}`);
  }
  // As js-yaml's load: exactly one document.
  if (documents.length === 0)
    throw new RolloutInputError(`${options.invalid}: expected a document, but the input is empty`);
  if (documents.length > 1)
    throw new RolloutInputError(
      `${options.invalid}: expected a single document in the stream, but found more`,
    );
  const document = documents[0];
  checkInputDocument(document, options.context);
  return document;
}

/** `readInputFile` then `parseInputDocument`: the path every reader of a YAML or JSON file takes. */
export function readInputDocument(file: string, label: string, options: ParseOptions): unknown {
  return parseInputDocument(readInputFile(file, label), { filename: file, ...options });
}
