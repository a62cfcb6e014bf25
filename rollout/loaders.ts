import * as fs from "node:fs";
import * as path from "node:path";
import { EvidenceFile } from "./decisions";
import { checkScenario, DrillScenario } from "./drill";
import { parsePlaybook, type Playbook } from "./playbook";
import { quoteName, readInputDocument, readInputFile } from "./safeInput";
import { parseStackFile, type StackFile } from "./stackFile";
import { parseOrThrow, RolloutInputError } from "./validation";

/**
 * Every file the model reads: committed playbooks, stack files, evidence and drill scenarios.
 * The only module of rollout/ that does I/O; the rest parses and decides over what it returns.
 * Every read goes through safeInput.ts (`readInputFile`, `readInputDocument`): size-limited,
 * regular files only, aliases and nesting bounded, reserved and unsafe names refused.
 */

/** The project root (where Pulumi.yaml and the stack files live), resolved from this file so it works from any cwd. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Directory holding the committed playbooks. */
export const PLAYBOOK_DIR = path.join(PROJECT_ROOT, "playbooks");

/**
 * A YAML (or JSON) file as a checked document. `label` starts a message about the file itself
 * (`--evidence`), `invalid` one about its text (`... is not valid YAML`), `context` one naming a key.
 */
function readYaml(file: string, label: string, invalid: string, context: string): unknown {
  return readInputDocument(file, label, { invalid, context });
}

// ---------------------------------------------------------------------------------------
// Playbooks

/** Ids of the committed playbooks (file names without `.yaml`). */
export function listPlaybooks(dir: string = PLAYBOOK_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.replace(/\.yaml$/, ""))
    .sort();
}

const cache = new Map<string, Playbook>();

/**
 * Load a playbook by id (`tbs-strategy-framework`) or by path to a YAML file. Loaded once
 * per process: the program, the pack and the CLI all ask for it repeatedly.
 */
export function loadPlaybook(idOrPath: string, dir: string = PLAYBOOK_DIR): Playbook {
  const file =
    idOrPath.endsWith(".yaml") || idOrPath.endsWith(".yml")
      ? path.resolve(idOrPath)
      : path.join(dir, `${idOrPath}.yaml`);
  const playbook = cache.get(file) ?? readPlaybook(file, idOrPath, dir);
  cache.set(file, playbook);
  // Checked on every call: a file first loaded by path must still match the id it is asked by.
  const expectedId = path.basename(file).replace(/\.ya?ml$/, "");
  if (!idOrPath.includes("/") && playbook.id !== expectedId) {
    throw new RolloutInputError(
      `playbook ${file}: id "${playbook.id}" must match its file name "${expectedId}"`,
    );
  }
  return playbook;
}

function readPlaybook(file: string, idOrPath: string, dir: string): Playbook {
  if (!fs.existsSync(file)) {
    throw new RolloutInputError(
      `unknown playbook "${idOrPath}": expected one of ${listPlaybooks(dir).join(", ")} or a path to a playbook YAML file`,
    );
  }
  return parsePlaybook(
    readYaml(file, "playbook", `playbook ${file} is not valid YAML`, `playbook ${file}`),
    file,
  );
}

// ---------------------------------------------------------------------------------------
// Stack files

export function stackFilePath(stack: string, root: string = PROJECT_ROOT): string {
  return path.join(root, `Pulumi.${stack}.yaml`);
}

/** Load `Pulumi.<stack>.yaml`, or `configFile` when given (same format). */
export function loadStackFile(stack: string, configFile?: string, root: string = PROJECT_ROOT): StackFile {
  // Pulumi's rule for stack names (`org/project/stack` qualified at most): anything else could
  // be a path out of the project or reach a terminal raw.
  const parts = stack.split("/");
  if (parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p) || /^\.+$/.test(p)))
    throw new RolloutInputError(
      `--stack: expected a stack name of letters, digits, "-", "_" and "." such as staging, got ${quoteName(stack)}`,
    );
  const file = configFile ? path.resolve(configFile) : stackFilePath(stack, root);
  if (!fs.existsSync(file)) {
    const known = fs
      .readdirSync(root)
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .map((f) => f.replace(/^Pulumi\.|\.yaml$/g, ""));
    throw new RolloutInputError(
      configFile
        ? `--config-file: no such file ${file}`
        : `--stack: no stack file ${path.basename(file)}; expected one of ${known.join(", ")}`,
    );
  }
  return parseStackFile(readInputFile(file, configFile ? "--config-file" : "--stack"), stack, file);
}

// ---------------------------------------------------------------------------------------
// Evidence

export function loadEvidence(file: string): EvidenceFile {
  if (!fs.existsSync(file)) throw new RolloutInputError(`--evidence: no such file ${file}`);
  const document = readYaml(
    file,
    "--evidence",
    `--evidence: ${file} is not valid YAML or JSON`,
    `--evidence: ${file}`,
  );
  return parseOrThrow(EvidenceFile, document, "", `--evidence: ${file} is malformed`);
}

// ---------------------------------------------------------------------------------------
// Drill scenarios

function scenarioPlaybook(id: string, baseDir: string | undefined, context: string): Playbook {
  const ref = baseDir && /\.ya?ml$/.test(id) ? path.resolve(baseDir, id) : id;
  try {
    return loadPlaybook(ref);
  } catch (error) {
    if (!(error instanceof RolloutInputError)) throw error;
    const line = `playbook: ${error.message}`;
    throw new RolloutInputError(`${context}:\n  ${line}`, [line]);
  }
}

/**
 * Validate a parsed scenario document and load its playbook. `baseDir` resolves a playbook given
 * as a relative path. Throws RolloutInputError naming each bad key (`metrics.errorRat: ...`).
 */
export function parseScenario(
  document: unknown,
  origin = "scenario",
  baseDir?: string,
): { scenario: DrillScenario; playbook: Playbook } {
  const context = `invalid drill scenario ${origin}`;
  const scenario = parseOrThrow(DrillScenario, document, "", context);
  const playbook = scenarioPlaybook(scenario.playbook, baseDir, context);
  checkScenario(scenario, playbook, context);
  return { scenario, playbook };
}

/** Read a YAML or JSON scenario file. */
export function loadScenario(file: string): { scenario: DrillScenario; playbook: Playbook } {
  if (!fs.existsSync(file)) throw new RolloutInputError(`--scenario: no such file ${file}`);
  const document = readYaml(
    file,
    "--scenario",
    `--scenario: ${file} is not valid YAML or JSON`,
    `--scenario: ${file}`,
  );
  return parseScenario(document, file, path.dirname(path.resolve(file)));
}
