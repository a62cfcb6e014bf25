import * as fs from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors";
import { RolloutInputError } from "../validation";

/** A path's stat, or undefined when nothing is there (a file standing in for a directory too: ENOTDIR). */
function statOf(target: string): fs.Stats | undefined {
  try {
    return fs.statSync(target, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

/**
 * Where `--svg FILE` writes. Checked before the work that draws the picture (a plan takes
 * seconds), so a path that cannot be written is bad input (exit 2) at once, naming the flag.
 */
export function checkSvgPath(file: string): void {
  const target = path.resolve(file);
  const stat = statOf(target);
  if (stat?.isDirectory())
    throw new RolloutInputError(
      `--svg: ${file} is a directory; expected the path of a file to write the SVG to`,
    );
  const dir = path.dirname(target);
  const parent = statOf(dir);
  if (!parent?.isDirectory())
    throw new RolloutInputError(
      `--svg: ${file}: no directory ${dir}; expected the path of a file in an existing directory`,
    );
  try {
    fs.accessSync(stat ? target : dir, fs.constants.W_OK);
  } catch {
    throw new RolloutInputError(`--svg: ${file} is not writable; expected the path of a file you may write`);
  }
}

/**
 * The `--svg` flag's value, checked (see checkSvgPath) before any work, or undefined without the
 * flag. An empty value is bad input too.
 */
export function svgPath(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "")
    throw new RolloutInputError(
      `--svg: expected the path of the SVG file to write, got ${JSON.stringify(value)}`,
    );
  checkSvgPath(value);
  return value;
}

/** Write the picture; a failure (the disk, a permission that changed) is bad input naming --svg. */
export function writeSvgFile(file: string, svg: string): void {
  checkSvgPath(file);
  try {
    fs.writeFileSync(file, svg, "utf8");
  } catch (error) {
    throw new RolloutInputError(
      `--svg: ${file}: cannot write it (${errorMessage(error)}); expected the path of a file you may write`,
    );
  }
}
