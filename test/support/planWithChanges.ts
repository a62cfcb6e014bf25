import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { loadStackFile } from "../../rollout/loaders";

/** `npm run plan --json` of a committed stack file with `rollout:` keys replaced: what the policy corpora run. */

export type Stack = "staging" | "production";

export interface PlanOutcome {
  code: number;
  /** exit 2: the error message. */
  error?: string;
  /** exit 0/1: every violation. */
  violations: { policy: string; enforcementLevel: string; message: string }[];
}

export async function planWithChanges(stack: Stack, changes: Record<string, unknown>): Promise<PlanOutcome> {
  const doc = yaml.load(fs.readFileSync(loadStackFile(stack).file, "utf8")) as {
    config: Record<string, unknown>;
  };
  for (const [key, value] of Object.entries(changes)) doc.config[`rollout:${key}`] = value;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-changes-")), `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, yaml.dump(doc));
  const out = bufferOutput();
  const code = await runCli(["plan", "--stack", stack, "--config-file", file, "--json"], out);
  const json = JSON.parse(out.lines.join("\n")) as { error?: string; violations?: PlanOutcome["violations"] };
  return { code, ...(json.error !== undefined && { error: json.error }), violations: json.violations ?? [] };
}
