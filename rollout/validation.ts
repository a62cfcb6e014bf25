import { z } from "zod";

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

function describeReceived(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  const json = JSON.stringify(value);
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

/** `services[1].green.port` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`,
    )
    .join("");
}

/** Zod's stock messages ("Invalid input: expected number, received string") reduced to "expected number". */
function expectation(message: string): string {
  const stock = /expected (.*?)(?:, received .*)?$/i.exec(message);
  if (stock?.[1]) return `expected ${stock[1]}`;
  if (/^unrecognized key/i.test(message)) return `unknown key (${message.replace(/^[^"]*/, "")})`;
  return message.startsWith("expected ") ? message : `expected ${message}`;
}

/**
 * One line per problem: `<prefix><path>: expected <what>, got <value>`. The "expected" part
 * comes from the schema's own message where it has one, so messages say what to write.
 */
export function describeZodError(error: z.ZodError, input: unknown, prefix: string): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const where = `${prefix}${formatPath([...issue.path, key])}`;
        return `${where}: unknown key (a typo?), got ${describeReceived(valueAt(input, [...issue.path, key]))}`;
      });
    }
    const path = formatPath(issue.path);
    const where = path ? `${prefix}${path}` : prefix.replace(/[:.]$/, "");
    const received = describeReceived(valueAt(input, issue.path));
    return `${where}: ${expectation(issue.message)}, got ${received}`;
  });
}

/** Parse with a schema, or throw a RolloutInputError naming every bad key. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: string,
  context: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = describeZodError(result.error, input, prefix);
  throw new RolloutInputError(`${context}:\n  ${lines.join("\n  ")}`, lines);
}
