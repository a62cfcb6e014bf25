import * as fs from "node:fs";
import * as path from "node:path";
import { allPolicies, PACK_NAME } from "../policies/rules/all";
import { readRegion, ROOT, writeRegion } from "./docRegions";

/**
 * The policy catalogue in docs/policies.md, generated from the pack's own metadata: every policy
 * `policies/rules/all.ts` gives the pack (policies/index.ts builds the PolicyPack from that
 * list), with its name, description, enforcement level, config schema and remediation, and what
 * each stack's `policies/config/<stack>.json` sets for it. Like cdk-nag's RULES.md.
 *
 *   npm run docs:policies            rewrite the catalogue in docs/policies.md
 *   npm run docs:policies -- --check exit 1 when docs/policies.md is not what the pack declares
 */

export const CATALOGUE_FILE = "docs/policies.md";
export const CATALOGUE_SCRIPT = "docs:policies";

/** What each domain (a policy name's first word) covers; a new domain is listed under its own word. */
const DOMAINS: Record<string, string> = {
  rollout: "traffic, cohorts, releases, decisions, sign-offs and the state record",
  gates: "the quality gates' alarms and the automatic rollback",
  data: "the database and its backups",
  network: "the load balancer and target groups",
  runtime: "IAM, SNS and the workloads",
  scanner: "the checks a security scanner (Checkov, cdk-nag) would run",
};

interface SchemaProperty {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  items?: { type?: string };
}

/** What the catalogue reads of a policy: what every policy of the pack declares. */
export interface PolicyMeta {
  name: string;
  description?: string;
  enforcementLevel?: string;
  remediationSteps?: string;
  configSchema?: { properties?: Record<string, object> };
}

/** Every `policies/config/<stack>.json`, by stack name. */
function stackConfigs(): [string, Record<string, Record<string, unknown>>][] {
  const dir = path.join(ROOT, "policies", "config");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => [
      f.replace(/\.json$/, ""),
      JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Record<string, Record<string, unknown>>,
    ]);
}

const inline = (value: unknown) => `\`${Array.isArray(value) ? value.join(", ") : JSON.stringify(value)}\``;

/** `requiredTier` (any \| production \| staging; default `"any"`). */
function describeProperty(name: string, p: SchemaProperty): string {
  const kind = p.enum
    ? p.enum.map(String).join(" \\| ")
    : p.type === "array"
      ? `list of ${p.items?.type ?? "values"}`
      : [p.type, p.minimum !== undefined && `≥ ${p.minimum}`, p.maximum !== undefined && `≤ ${p.maximum}`]
          .filter(Boolean)
          .join(", ");
  const fallback =
    p.default === undefined
      ? "no default"
      : `default ${Array.isArray(p.default) && p.default.length === 0 ? "none" : inline(p.default)}`;
  return `\`${name}\` (${kind}; ${fallback})`;
}

/** One stack config's entry for a policy: its enforcement level and the settings it gives. */
function stackCell(entry: Record<string, unknown> | undefined): string {
  if (!entry) return "—";
  const { enforcementLevel, ...settings } = entry;
  const parts = [
    ...(typeof enforcementLevel === "string" ? [enforcementLevel] : []),
    ...Object.entries(settings).map(([k, v]) => `${k}: ${inline(v)}`),
  ];
  return parts.length > 0 ? parts.join("; ") : "—";
}

/** Text as Markdown shows it: `<stack>` outside code spans would read as an HTML tag and vanish. */
const prose = (text: string) =>
  text
    .trim()
    .split("`")
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, "&lt;") : part))
    .join("`");

/** Markdown table cells hold no pipe or newline. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

/** The generated catalogue (the region between the markers of docs/policies.md). */
export function policyCatalogue(policies: readonly PolicyMeta[] = allPolicies): string {
  const stacks = stackConfigs();
  const domains = [...new Set(policies.map((p) => p.name.split("-")[0]!))];
  const lines: string[] = [
    `The pack \`${PACK_NAME}\` holds ${policies.length} policies. "pack" is the enforcement level each policy declares; ` +
      `${stacks.map(([s]) => `"${s}"`).join(" and ")} are what \`policies/config/<stack>.json\` sets for that stack ` +
      `(— : the pack's level and defaults).`,
    "",
  ];
  for (const domain of domains) {
    const members = policies.filter((p) => p.name.split("-")[0] === domain);
    lines.push(`### ${domain}: ${DOMAINS[domain] ?? `the ${domain} policies`}`, "");
    lines.push(
      `| policy | pack | ${stacks.map(([s]) => s).join(" | ")} |`,
      `|---|---|${stacks.map(() => "---|").join("")}`,
      ...members.map(
        (p) =>
          `| [\`${p.name}\`](#${p.name}) | ${p.enforcementLevel ?? "advisory"} | ${stacks
            .map(([, config]) => cell(stackCell(config[p.name])))
            .join(" | ")} |`,
      ),
      "",
    );
    for (const p of members) {
      const properties = Object.entries(p.configSchema?.properties ?? {});
      lines.push(`#### ${p.name}`, "", prose(p.description ?? ""), "");
      if (properties.length > 0)
        lines.push(
          `Settings: ${properties.map(([name, schema]) => describeProperty(name, schema as SchemaProperty)).join(", ")}.`,
          "",
        );
      if (p.remediationSteps) lines.push(`Fix: ${prose(p.remediationSteps)}`, "");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

if (require.main === module) {
  const generated = policyCatalogue();
  if (process.argv.includes("--check")) {
    const same = readRegion(CATALOGUE_FILE, CATALOGUE_SCRIPT) === generated;
    if (!same) console.error(`${CATALOGUE_FILE} is stale: run npm run ${CATALOGUE_SCRIPT}`);
    process.exitCode = same ? 0 : 1;
  } else {
    writeRegion(CATALOGUE_FILE, CATALOGUE_SCRIPT, generated);
    console.log(`${CATALOGUE_FILE}: ${allPolicies.length} policies`);
  }
}
