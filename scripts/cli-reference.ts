import { bufferOutput } from "../cli/output";
import { COMMAND_FORMS, runCli } from "../cli/rollout";
import { readRegion, writeRegion } from "./docRegions";

/**
 * The CLI reference in docs/cli.md, generated from the CLI's own help: what `npm run rollout --
 * --help` and `npm run rollout -- <command> --help` print (cli/rollout.ts USAGE, cli/help.ts
 * COMMAND_HELP), for every command the CLI registers.
 *
 *   npm run docs:cli            rewrite the reference in docs/cli.md
 *   npm run docs:cli -- --check exit 1 when docs/cli.md is not what the CLI prints
 */

export const REFERENCE_FILE = "docs/cli.md";
export const REFERENCE_SCRIPT = "docs:cli";

/** What the CLI prints for `argv` (help only: offline, no context needed). */
async function printed(argv: string[]): Promise<string> {
  const out = bufferOutput();
  const code = await runCli(argv, out);
  if (code !== 0) throw new Error(`rollout ${argv.join(" ")} exited ${code}: ${out.errors.join("\n")}`);
  return out.text().trimEnd();
}

const fenced = (text: string) => ["```text", text, "```"];

/** The generated reference (the region between the markers of docs/cli.md). */
export async function cliReference(): Promise<string> {
  const commands = Object.keys(COMMAND_FORMS);
  const lines: string[] = [
    `Every command: ${commands.map((c) => `[\`${c}\`](#${c})`).join(" · ")}.`,
    "",
    "### npm run rollout -- --help",
    "",
    ...fenced(await printed(["--help"])),
  ];
  for (const command of commands)
    lines.push("", `### ${command}`, "", ...fenced(await printed([command, "--help"])));
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  void cliReference().then((generated) => {
    if (process.argv.includes("--check")) {
      const same = readRegion(REFERENCE_FILE, REFERENCE_SCRIPT) === generated;
      if (!same) console.error(`${REFERENCE_FILE} is stale: run npm run ${REFERENCE_SCRIPT}`);
      process.exitCode = same ? 0 : 1;
    } else {
      writeRegion(REFERENCE_FILE, REFERENCE_SCRIPT, generated);
      console.log(`${REFERENCE_FILE}: ${Object.keys(COMMAND_FORMS).length} commands`);
    }
  });
}
