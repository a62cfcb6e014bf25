import { checkInputDocument, parseInputDocument } from "./safeInput";
import { describeReceived, RolloutInputError } from "./validation";

/**
 * Parses a `Pulumi.<stack>.yaml` (or a file of the same format; loaders.ts reads it) the way the Pulumi CLI hands
 * config to a program: every value a string, objects and arrays JSON-encoded. Secrets
 * cannot be decrypted offline, so every `secure:` value, top-level or nested, becomes the
 * placeholder `[secret]` and its key is reported as secret: a plan never fails on them.
 */

export const SECRET_PLACEHOLDER = "[secret]";

export interface StackFile {
  stack: string;
  file: string;
  /** Fully qualified keys (`rollout:phase`, `aws:region`) to Pulumi's string values. */
  config: Record<string, string>;
  /** Top-level keys holding a secret anywhere inside: what Pulumi itself marks secret. */
  secretKeys: string[];
  /**
   * The exact paths of `secure:` values (`rollout:database.password`, `rollout:x[0]`). Only the
   * YAML shows this: Pulumi marks the whole top-level key secret when any value inside is.
   */
  secretPaths: string[];
  /**
   * Decrypted secret values, when the caller has them (a test, or config read with its
   * secrets). Offline there are none: a `secure:` value is ciphertext and stays `[secret]`.
   * Whatever is here is redacted from every message (rollout/redaction.ts), wherever it appears.
   */
  secretValues?: string[];
}

function isSecure(value: unknown): value is { secure: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { secure?: unknown }).secure === "string"
  );
}

/** Replace nested `{secure: ...}` with the placeholder; report the paths where one was found. */
function redactSecure(value: unknown, at: string): { value: unknown; secretPaths: string[] } {
  if (isSecure(value)) return { value: SECRET_PLACEHOLDER, secretPaths: [at] };
  if (Array.isArray(value)) {
    const items = value.map((v, i) => redactSecure(v, `${at}[${i}]`));
    return { value: items.map((i) => i.value), secretPaths: items.flatMap((i) => i.secretPaths) };
  }
  if (value !== null && typeof value === "object") {
    const secretPaths: string[] = [];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = redactSecure(v, `${at}.${k}`);
      out[k] = r.value;
      secretPaths.push(...r.secretPaths);
    }
    return { value: out, secretPaths };
  }
  return { value, secretPaths: [] };
}

/**
 * Parse the YAML text of a stack file. `stack` names it in results and errors. The text is
 * parsed as every input is (safeInput.ts): aliases and nesting bounded, reserved names
 * (`__proto__`, `toString`...) and control characters refused, naming the key.
 */
export function parseStackFile(text: string, stack: string, file: string): StackFile {
  const document = parseInputDocument(text, {
    invalid: `${file} is not valid YAML`,
    context: file,
    filename: file,
  });
  if (document !== null && (typeof document !== "object" || Array.isArray(document)))
    throw new RolloutInputError(
      `${file}: expected a mapping with a "config:" key, got ${describeReceived(document)}`,
    );
  const configSection = (document as { config?: unknown } | null)?.config ?? {};
  if (typeof configSection !== "object" || configSection === null || Array.isArray(configSection)) {
    throw new RolloutInputError(
      `${file}: expected a "config:" mapping, got ${describeReceived(configSection)}`,
    );
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const secretPaths: string[] = [];
  for (const [key, rawValue] of Object.entries(configSection)) {
    const redacted = redactSecure(rawValue, key);
    if (redacted.secretPaths.length > 0) secretKeys.push(key);
    secretPaths.push(...redacted.secretPaths);
    config[key] = typeof redacted.value === "string" ? redacted.value : JSON.stringify(redacted.value);
  }
  return { stack, file, config, secretKeys, secretPaths };
}

/**
 * The `rollout:` keys without their namespace, as parseRolloutConfig takes them. A value
 * holding JSON (an object or a list, as Pulumi stores them) is checked as a file would be: a key
 * such as `__proto__` or `toString` would vanish or be found on every object, so it is refused
 * naming the key (`rollout:featureFlags.toString`), as are control characters in names.
 */
export function rolloutKeys(config: Record<string, string>): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith("rollout:")) continue;
    checkConfigValue(key, value);
    raw[key.slice("rollout:".length)] = value;
  }
  return raw;
}

/** A config value's JSON (when it is JSON) checked for reserved and unsafe names; see rolloutKeys. */
export function checkConfigValue(key: string, value: unknown): void {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return;
  let decoded: unknown;
  try {
    decoded = JSON.parse(value);
  } catch {
    return; // Not JSON after all: parseRolloutConfig says what it expected.
  }
  checkInputDocument(decoded, "invalid stack config", [key]);
}
