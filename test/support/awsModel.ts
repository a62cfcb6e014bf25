import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A small validator of values against AWS's published API models (botocore's service-2.json,
 * reduced by scripts/aws-models/extract.py to test/fixtures/aws-models/<service>.json), and
 * the engine that turns a recorded Pulumi resource into the API inputs the provider sends,
 * driven by a mapping table (test/awsContract.test.ts). No AWS SDK, no network.
 */

export const FIXTURE_DIR = path.resolve(__dirname, "..", "fixtures", "aws-models");

/** A limit AWS states only in prose; extract.py finds it in the model's documentation. */
export interface DocConstraint {
  min?: number;
  max?: number;
  /** Characters unless "bytes" (UTF-8). */
  unit?: "bytes";
  pattern?: string;
  enum?: (string | number)[];
  /** With enum: a value is also valid when it is a multiple of this. */
  orMultipleOf?: number;
  /** Applies to each item of a list. */
  each?: boolean;
  /** Applies only when sibling members hold one of these values (null: absent). */
  when?: Record<string, (string | null)[]>;
  quote: string;
}

export interface MemberRef {
  shape: string;
  doc?: DocConstraint[];
}

export interface Shape {
  type: string;
  required?: string[];
  members?: Record<string, MemberRef>;
  member?: string;
  key?: string;
  value?: string;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  sensitive?: boolean;
}

export interface ServiceModel {
  provenance: {
    source: string;
    botocoreVersion: string;
    service: string;
    serviceId: string;
    apiVersion: string;
    path: string;
    sha256: string;
    extracted: string;
    script: string;
  };
  operations: Record<string, string>;
  shapes: Record<string, Shape>;
}

export function loadModels(dir: string = FIXTURE_DIR): Map<string, ServiceModel> {
  const models = new Map<string, ServiceModel>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const model = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as ServiceModel;
    models.set(model.provenance.service, model);
  }
  return models;
}

/** A value that reaches the API but is not checked, and why (counted by the caller). */
export class Skipped {
  constructor(readonly reason: string) {}
}

/**
 * An enum value newer than the committed model. Allowed only with AWS's page that announces
 * it and the date it was read; the test fails once the model itself lists the value.
 */
export interface EnumAllowance {
  service: string;
  shape: string;
  value: string;
  source: string;
  checked: string;
}

// ---------------------------------------------------------------------------------------
// Patterns: botocore's are Java regexes (java.util.regex), matched against the whole value
// (`Matcher.matches()`, as AWS's Coral services apply them). Most are also valid JavaScript;
// the rest are translated where the meaning is certain, otherwise skipped with a reason.

const POSIX: Record<string, string> = {
  Lower: "a-z",
  Upper: "A-Z",
  ASCII: "\\x00-\\x7F",
  Alpha: "A-Za-z",
  Digit: "0-9",
  Alnum: "A-Za-z0-9",
  Punct: "!-\\/:-@\\[-`{-~",
  Graph: "!-~",
  Print: " -~",
  Blank: " \\t",
  Cntrl: "\\x00-\\x1F\\x7F",
  XDigit: "0-9a-fA-F",
  Space: " \\t\\n\\x0B\\f\\r",
};
const SYNTAX = new Set("^$\\.*+?()[]{}|/");

export type CompiledPattern = { regex: RegExp } | { unsupported: string };

/** Translate a Java regex to a whole-value JavaScript RegExp, or say why not. */
export function compileJavaPattern(source: string): CompiledPattern {
  let out = "";
  let unicode = false;
  let flags = "";
  let inClass = false;
  /** The last token was a quantifier: a `+` now would make it possessive. */
  let afterQuantifier = false;
  let i = 0;
  if (source.startsWith("(?i)")) {
    flags = "i";
    i = 4;
  }
  while (i < source.length) {
    const c = source[i]!;
    if (c === "\\") {
      afterQuantifier = false;
      const n = source[i + 1];
      if (n === undefined) return { unsupported: "trailing backslash" };
      if (n === "p" || n === "P") {
        const m = /^\{(\w+)\}/.exec(source.slice(i + 2));
        if (!m) return { unsupported: `\\${n} without {name}` };
        const name = m[1]!;
        const posix = POSIX[name];
        if (posix !== undefined) {
          if (n === "P") {
            if (inClass) return { unsupported: `\\P{${name}} inside a class` };
            out += `[^${posix}]`;
          } else out += inClass ? posix : `[${posix}]`;
        } else if (/^(L[ultmo]?|M[nce]?|N[dlo]?|P[cdseifo]?|S[mcko]?|Z[slp]?|C[cfson]?)$/.test(name)) {
          out += `\\${n}{${name}}`;
          unicode = true;
        } else return { unsupported: `Java-only class \\${n}{${name}}` };
        i += 2 + m[0].length;
        continue;
      }
      if (n === "A") {
        out += "^";
      } else if (n === "z") {
        out += "$";
      } else if (n === "Z") {
        out += "(?=\\n?$)";
      } else if (n === "Q") {
        const end = source.indexOf("\\E", i + 2);
        const literal = source.slice(i + 2, end === -1 ? undefined : end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
        i = end === -1 ? source.length : end + 2;
        continue;
      } else if (n === "x" && source[i + 2] === "{") {
        const end = source.indexOf("}", i);
        out += `\\u{${source.slice(i + 3, end)}}`;
        unicode = true;
        i = end + 1;
        continue;
      } else if ("hHRXGvVK".includes(n)) {
        return { unsupported: `Java-only escape \\${n}` };
      } else if (/[A-Za-z0-9]/.test(n) || SYNTAX.has(n)) {
        out += `\\${n}`;
      } else {
        // An identity escape of punctuation (\- \_ \: ...): spelled out so `u` mode accepts it.
        out += `\\x${n.charCodeAt(0).toString(16).padStart(2, "0")}`;
      }
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === "[") return { unsupported: "nested character class (Java union)" };
      if (c === "&" && source[i + 1] === "&") return { unsupported: "class intersection &&" };
      if (c === "]") inClass = false;
      out += c;
      i += 1;
      continue;
    }
    if (c === "[") {
      inClass = true;
      afterQuantifier = false;
      out += c;
      // A leading ] or ^] is literal in Java.
      if (source[i + 1] === "^") {
        out += "^";
        i += 1;
      }
      if (source[i + 1] === "]") {
        out += "\\]";
        i += 1;
      }
      i += 1;
      continue;
    }
    if (c === "(" && source[i + 1] === "?") {
      const kind = source[i + 2];
      if (kind === ">") return { unsupported: "atomic group (?>" };
      if (kind !== ":" && kind !== "=" && kind !== "!" && kind !== "<")
        return { unsupported: `inline flags (?${kind}` };
    }
    if (c === "*" || c === "+" || c === "?") {
      if (afterQuantifier && c === "+") return { unsupported: "possessive quantifier" };
      // `?` after a quantifier makes it lazy, as in JavaScript.
      afterQuantifier = !afterQuantifier;
      out += c;
      i += 1;
      continue;
    }
    const braces = c === "{" ? /^\{\d+(,\d*)?\}/.exec(source.slice(i)) : null;
    if (braces) {
      afterQuantifier = true;
      out += braces[0];
      i += braces[0].length;
      continue;
    }
    afterQuantifier = false;
    out += c;
    i += 1;
  }
  try {
    return { regex: new RegExp(`^(?:${out})$`, flags + (unicode ? "u" : "")) };
  } catch (error) {
    return { unsupported: `JavaScript rejects it: ${(error as Error).message}` };
  }
}

// ---------------------------------------------------------------------------------------
// The validator

export interface RawViolation {
  /** API member path inside the operation input: `Conditions[0].PathPatternConfig.Values[0]`. */
  path: string;
  constraint: string;
  value: unknown;
}

export interface CheckStats {
  /** Pattern checks not run, by reason (pattern text: reason). */
  patternsSkipped: Map<string, number>;
  /** Enum values accepted through the allow-list. */
  allowancesUsed: Set<EnumAllowance>;
}

export interface CheckContext {
  model: ServiceModel;
  allowances: EnumAllowance[];
  stats: CheckStats;
}

export function newStats(): CheckStats {
  return { patternsSkipped: new Map(), allowancesUsed: new Set() };
}

const patternCache = new Map<string, CompiledPattern>();
function pattern(source: string): CompiledPattern {
  let compiled = patternCache.get(source);
  if (!compiled) {
    compiled = compileJavaPattern(source);
    patternCache.set(source, compiled);
  }
  return compiled;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Skipped);
/** Smithy lengths count Unicode scalar values. */
const length = (s: string) => [...s].length;

/** Validate an operation's input; violations are in API member paths. */
export function checkOperation(op: string, input: unknown, ctx: CheckContext): RawViolation[] {
  const shape = ctx.model.operations[op];
  if (!shape)
    throw new Error(
      `${ctx.model.provenance.service} fixture has no operation ${op}: add it to scripts/aws-models/extract.py and re-run it`,
    );
  const out: RawViolation[] = [];
  checkShape(input, shape, "", ctx, out);
  return out;
}

function join(base: string, member: string) {
  return base === "" ? member : `${base}.${member}`;
}

function checkShape(value: unknown, shapeName: string, at: string, ctx: CheckContext, out: RawViolation[]) {
  if (value instanceof Skipped) return;
  const shape = ctx.model.shapes[shapeName];
  if (!shape)
    throw new Error(`${ctx.model.provenance.service} fixture lacks shape ${shapeName}: re-run extract.py`);
  const bad = (constraint: string) => out.push({ path: at, constraint, value });
  switch (shape.type) {
    case "structure": {
      if (!isObject(value)) return bad("type structure");
      for (const key of Object.keys(value)) {
        if (value[key] !== undefined && !shape.members?.[key])
          out.push({ path: join(at, key), constraint: "unknown member", value: value[key] });
      }
      for (const required of shape.required ?? []) {
        if (value[required] === undefined)
          out.push({ path: join(at, required), constraint: "required", value: undefined });
      }
      for (const [name, ref] of Object.entries(shape.members ?? {})) {
        const member = value[name];
        if (member === undefined) continue;
        checkShape(member, ref.shape, join(at, name), ctx, out);
        for (const doc of ref.doc ?? []) checkDoc(member, doc, value, join(at, name), out);
      }
      return;
    }
    case "list": {
      if (!Array.isArray(value)) return bad("type list");
      if (shape.min !== undefined && value.length < shape.min) bad(`items >= ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) bad(`items <= ${shape.max}`);
      value.forEach((item, i) => checkShape(item, shape.member!, `${at}[${i}]`, ctx, out));
      return;
    }
    case "map": {
      if (!isObject(value)) return bad("type map");
      const entries = Object.entries(value);
      if (shape.min !== undefined && entries.length < shape.min) bad(`entries >= ${shape.min}`);
      if (shape.max !== undefined && entries.length > shape.max) bad(`entries <= ${shape.max}`);
      for (const [k, v] of entries) {
        const before = out.length;
        checkShape(k, shape.key!, join(at, k), ctx, out);
        for (const violation of out.slice(before)) violation.constraint = `key ${violation.constraint}`;
        checkShape(v, shape.value!, join(at, k), ctx, out);
      }
      return;
    }
    case "string": {
      if (typeof value !== "string") return bad("type string");
      const n = length(value);
      if (shape.min !== undefined && n < shape.min) bad(`length >= ${shape.min}`);
      if (shape.max !== undefined && n > shape.max) bad(`length <= ${shape.max}`);
      if (shape.enum && !shape.enum.includes(value)) {
        const allowance = ctx.allowances.find(
          (a) => a.service === ctx.model.provenance.service && a.shape === shapeName && a.value === value,
        );
        if (allowance) ctx.stats.allowancesUsed.add(allowance);
        else bad(`enum ${shapeName}`);
      }
      if (shape.pattern !== undefined) {
        const compiled = pattern(shape.pattern);
        if ("regex" in compiled) {
          if (!compiled.regex.test(value)) bad(`pattern ${shape.pattern}`);
        } else {
          const key = `${shape.pattern}: ${compiled.unsupported}`;
          ctx.stats.patternsSkipped.set(key, (ctx.stats.patternsSkipped.get(key) ?? 0) + 1);
        }
      }
      return;
    }
    case "integer":
    case "long":
      if (typeof value !== "number" || !Number.isInteger(value)) return bad(`type ${shape.type}`);
      return checkRange(value, shape, bad);
    case "double":
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value)) return bad(`type ${shape.type}`);
      return checkRange(value, shape, bad);
    case "boolean":
      if (typeof value !== "boolean") bad("type boolean");
      return;
    case "timestamp":
      if (!(typeof value === "string" || typeof value === "number" || value instanceof Date))
        bad("type timestamp");
      return;
    case "blob":
      return;
    default:
      throw new Error(`unknown shape type ${shape.type} of ${shapeName}`);
  }
}

function checkRange(value: number, shape: Shape, bad: (c: string) => void) {
  if (shape.min !== undefined && value < shape.min) bad(`>= ${shape.min}`);
  if (shape.max !== undefined && value > shape.max) bad(`<= ${shape.max}`);
}

/** Documented patterns are written for JavaScript by extract.py; whole-value match. */
const docPatterns = new Map<string, RegExp>();
function docPattern(source: string): RegExp {
  let regex = docPatterns.get(source);
  if (!regex) {
    regex = new RegExp(`^(?:${source})$`);
    docPatterns.set(source, regex);
  }
  return regex;
}

function checkDoc(
  value: unknown,
  doc: DocConstraint,
  parent: Record<string, unknown>,
  at: string,
  out: RawViolation[],
) {
  for (const [sibling, allowed] of Object.entries(doc.when ?? {})) {
    const actual = parent[sibling];
    if (actual instanceof Skipped) return;
    if (!allowed.includes((actual as string | undefined) ?? null)) return;
  }
  const items: [unknown, string][] =
    doc.each && Array.isArray(value) ? value.map((v, i) => [v, `${at}[${i}]`]) : [[value, at]];
  for (const [item, where] of items) {
    if (item instanceof Skipped) continue;
    const bad = (constraint: string) =>
      out.push({ path: where, constraint: `${constraint} (doc)`, value: item });
    if (typeof item === "string") {
      const n = doc.unit === "bytes" ? Buffer.byteLength(item, "utf8") : length(item);
      const unit = doc.unit === "bytes" ? "bytes" : "length";
      if (doc.min !== undefined && n < doc.min) bad(`${unit} >= ${doc.min}`);
      if (doc.max !== undefined && n > doc.max) bad(`${unit} <= ${doc.max}`);
      if (doc.pattern !== undefined && !docPattern(doc.pattern).test(item)) bad(`pattern ${doc.pattern}`);
    } else if (typeof item === "number") {
      if (doc.min !== undefined && item < doc.min) bad(`>= ${doc.min}`);
      if (doc.max !== undefined && item > doc.max) bad(`<= ${doc.max}`);
    }
    if (doc.enum && !doc.enum.includes(item as string | number)) {
      const multiple =
        doc.orMultipleOf !== undefined && typeof item === "number" && item % doc.orMultipleOf === 0;
      if (!multiple)
        bad(
          `one of ${doc.enum.join("|")}${doc.orMultipleOf !== undefined ? ` or a multiple of ${doc.orMultipleOf}` : ""}`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------
// From a recorded resource to the API calls the provider makes

/** Turns a Pulumi input value into the API member's value (may return Skipped, or undefined: not sent). */
export type Convert = (value: unknown) => unknown;

/**
 * One row: Pulumi input path -> operation + member path. Paths are dotted; `[]` iterates a
 * list (input) or takes the next iterated index (member); in a member path `[n]` is a fixed
 * index, `[+]` appends, `[*]` sets on every item already there (rows run in order). Input
 * indices a member path does not take make separate calls (one AttachRolePolicy per ARN).
 */
export type Row = readonly [from: string, op: string, to: string, convert?: Convert];

export interface ApiMapping {
  service: string;
  rows: readonly Row[];
  /** The physical name the provider generates when the program gives none: `<name>-<7 hex>`. */
  autoName?: { input: string; prefixInput?: string };
  /** Members the provider fills itself, per operation (the resource's own id, generated ids). */
  provided?: Record<string, string[]>;
  /** Inputs that are another resource's output the mock leaves absent: input -> why. */
  absentInMock?: Record<string, string>;
  /** Inputs that reach no API member: input -> why. */
  notSent?: Record<string, string>;
}

export interface ApiCall {
  op: string;
  input: Record<string, unknown>;
  /** Concrete member path -> concrete input path it came from. */
  origins: Map<string, string>;
}

export interface Applied {
  calls: ApiCall[];
  checked: number;
  autoNamed: number;
  skipped: Map<string, number>;
  /** Each skipped input (concrete path) and why. */
  skippedInputs: { input: string; reason: string }[];
  provided: number;
}

interface Segment {
  key: string;
  /** undefined: no index; "[]" iterate/consume; "[*]"; "[+]"; or a number. */
  index?: "[]" | "[*]" | "[+]" | number;
}

const segmentCache = new Map<string, Segment[]>();
export function parsePath(p: string): Segment[] {
  let segments = segmentCache.get(p);
  if (segments) return segments;
  segments = p.split(".").map((part) => {
    const m = /^([^[\]]+)(\[(\d*|\*|\+)\])?$/.exec(part);
    if (!m) throw new Error(`bad path ${p}`);
    const raw = m[3];
    const index =
      m[2] === undefined
        ? undefined
        : raw === ""
          ? "[]"
          : raw === "*"
            ? "[*]"
            : raw === "+"
              ? "[+]"
              : Number(raw);
    return { key: m[1]!, index };
  });
  segmentCache.set(p, segments);
  return segments;
}

/** Every value at an input path, with the indices iterated to reach it. */
export function collect(root: unknown, p: string): { value: unknown; indices: number[]; concrete: string }[] {
  let found = [{ value: root, indices: [] as number[], concrete: "" }];
  for (const seg of parsePath(p)) {
    const next: typeof found = [];
    for (const f of found) {
      if (!isObject(f.value)) continue;
      const v = f.value[seg.key];
      if (v === undefined || v === null) continue;
      const concrete = f.concrete === "" ? seg.key : `${f.concrete}.${seg.key}`;
      if (seg.index === "[]") {
        if (!Array.isArray(v)) continue;
        v.forEach((item, i) => {
          if (item !== undefined && item !== null)
            next.push({ value: item, indices: [...f.indices, i], concrete: `${concrete}[${i}]` });
        });
      } else next.push({ value: v, indices: f.indices, concrete });
    }
    found = next;
  }
  return found;
}

/** How many input indices a member path takes. */
const consumes = (to: string) => parsePath(to).filter((s) => s.index === "[]").length;

function assign(
  node: Record<string, unknown>,
  segments: Segment[],
  indices: number[],
  value: unknown,
  concrete: string,
  onSet: (apiPath: string) => void,
  onlyIfAbsent = false,
): void {
  const [seg, ...rest] = segments;
  if (!seg) return;
  const here = concrete === "" ? seg.key : `${concrete}.${seg.key}`;
  if (seg.index === undefined) {
    if (rest.length === 0) {
      if (onlyIfAbsent && node[seg.key] !== undefined) return;
      node[seg.key] = value;
      onSet(here);
      return;
    }
    const child = (node[seg.key] ??= {}) as Record<string, unknown>;
    assign(child, rest, indices, value, here, onSet, onlyIfAbsent);
    return;
  }
  if (seg.index === "[*]" && !Array.isArray(node[seg.key])) return;
  const list = (node[seg.key] ??= []) as unknown[];
  const positions =
    seg.index === "[]"
      ? [indices[0]!]
      : seg.index === "[*]"
        ? list.map((_, i) => i)
        : seg.index === "[+]"
          ? [list.length]
          : [seg.index];
  const remaining = seg.index === "[]" ? indices.slice(1) : indices;
  for (const pos of positions) {
    const at = `${here}[${pos}]`;
    if (rest.length === 0) {
      if (onlyIfAbsent && list[pos] !== undefined) continue;
      list[pos] = value;
      onSet(at);
    } else {
      const child = (list[pos] ??= {}) as Record<string, unknown>;
      assign(child, rest, remaining, value, at, onSet, onlyIfAbsent);
    }
  }
}

/** Replace what the mock made up (another resource's id or ARN) and secrets with Skipped. */
export function markUnknown(value: unknown, computed: ReadonlySet<string>): unknown {
  if (value === "[secret]") return new Skipped("secret (Pulumi secret, not in the plan)");
  if (typeof value === "string" && computed.has(value))
    return new Skipped("computed (another resource's id/ARN, made up by the mock)");
  if (Array.isArray(value)) return value.map((v) => markUnknown(v, computed));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markUnknown(v, computed)]));
  return value;
}

function forEachSkipped(value: unknown, at: string, visit: (s: Skipped, at: string) => void): void {
  if (value instanceof Skipped) visit(value, at);
  else if (Array.isArray(value)) value.forEach((v, i) => forEachSkipped(v, `${at}[${i}]`, visit));
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) forEachSkipped(v, `${at}.${k}`, visit);
}

/** The first Skipped inside a value, if any. */
export function skippedIn(value: unknown): Skipped | undefined {
  if (value instanceof Skipped) return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const s = skippedIn(v);
      if (s) return s;
    }
  } else if (isObject(value)) {
    for (const v of Object.values(value)) {
      const s = skippedIn(v);
      if (s) return s;
    }
  }
  return undefined;
}

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/**
 * Build the API calls for one resource's inputs. `autoName` gives the provider's generated
 * name when the mapping has one and the program set none.
 */
export function applyMapping(
  inputs: Record<string, unknown>,
  mapping: ApiMapping,
  computed: ReadonlySet<string>,
  generatedName: () => string,
): Applied {
  const applied: Applied = {
    calls: [],
    checked: 0,
    autoNamed: 0,
    skipped: new Map(),
    skippedInputs: [],
    provided: 0,
  };
  let source = inputs;
  if (mapping.autoName && inputs[mapping.autoName.input] === undefined) {
    source = { ...inputs, [mapping.autoName.input]: generatedName() };
    applied.autoNamed += 1;
  }
  const calls = new Map<string, ApiCall>();
  for (const [from, op, to, convert] of mapping.rows) {
    const taken = consumes(to);
    let matches = collect(source, from);
    if (matches.length === 0 && mapping.absentInMock?.[from] !== undefined) {
      matches = [{ value: new Skipped("computed (absent in the mock)"), indices: [], concrete: from }];
    }
    for (const match of matches) {
      let value = markUnknown(match.value, computed);
      // Conversions see unknown parts (Skipped) inside a value and keep or propagate them.
      if (!(value instanceof Skipped) && convert) value = convert(value);
      if (value === undefined) continue;
      const rest = match.indices.slice(taken);
      const key = rest.length ? `${op}#${rest.join(",")}` : op;
      const c = calls.get(key) ?? { op, input: {}, origins: new Map<string, string>() };
      let set = false;
      assign(c.input, parsePath(to), match.indices.slice(0, taken), value, "", (apiPath) => {
        c.origins.set(apiPath, match.concrete);
        set = true;
      });
      // A value with nowhere to go (a description with no address range to describe) is not sent.
      if (!set) continue;
      calls.set(key, c);
      const skip = (reason: string, input: string) => {
        bump(applied.skipped, reason);
        applied.skippedInputs.push({ input, reason });
      };
      if (value instanceof Skipped) skip(value.reason, match.concrete);
      else {
        applied.checked += 1;
        // Unknown parts of a checked value (an ARN in a list, a dimension's value): the rest,
        // and the list's length, are still checked.
        forEachSkipped(value, match.concrete, (s, at) => skip(s.reason, at));
      }
    }
  }
  for (const c of calls.values()) {
    for (const member of mapping.provided?.[c.op] ?? []) {
      assign(
        c.input,
        parsePath(member),
        [],
        new Skipped("provided by the provider"),
        "",
        () => {
          applied.provided += 1;
        },
        true,
      );
    }
  }
  applied.calls = [...calls.values()];
  return applied;
}

/** The input path a violation at `apiPath` came from. */
export function originOf(call: ApiCall, apiPath: string, mapping: ApiMapping): string {
  let best = "";
  for (const key of call.origins.keys()) {
    if (
      key.length > best.length &&
      (apiPath === key || apiPath.startsWith(`${key}.`) || apiPath.startsWith(`${key}[`))
    )
      best = key;
  }
  if (best !== "") {
    const rest = apiPath.slice(best.length);
    return call.origins.get(best)! + (rest.startsWith("[") ? rest : "");
  }
  // Nothing set there (a missing required member): the row that would have.
  const general = apiPath.replace(/\[\d+\]/g, "[]");
  const row = mapping.rows.find(
    ([, op, to]) => op === call.op && to.replace(/\[(\d+|\*|\+)\]/g, "[]") === general,
  );
  return row ? row[0] : "-";
}

/** Leaf input paths (indices dropped), as the coverage check compares them. */
export function leafPaths(value: unknown, at = ""): string[] {
  if (Array.isArray(value))
    return value.length === 0 ? [at] : [...new Set(value.flatMap((v) => leafPaths(v, at)))];
  if (isObject(value) && Object.keys(value).length > 0)
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, at === "" ? k : `${at}.${k}`));
  return [at];
}

/** Is input leaf `leaf` under path `p` (both without indices)? */
export function covers(p: string, leaf: string): boolean {
  const bare = p.replace(/\[\]/g, "");
  return leaf === bare || leaf.startsWith(`${bare}.`);
}
