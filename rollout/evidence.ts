import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { z } from "zod";
import { parseOrThrow, RolloutInputError } from "./validation";

/** Evidence for a GO/NO-GO decision: `metrics: {<criterionId>: number}`, in YAML or JSON. */
export const EvidenceFile = z
  .object(
    {
      metrics: z.record(z.string(), z.number({ message: "expected a number" }), {
        message: "expected an object of criterion id -> number",
      }),
      /** Free text kept with a recorded decision. */
      notes: z.string({ message: "expected text" }).optional(),
    },
    { message: "expected an object with metrics: {<criterionId>: number}" },
  )
  .strict();
export type EvidenceFile = z.infer<typeof EvidenceFile>;

export function loadEvidence(file: string): EvidenceFile {
  if (!fs.existsSync(file)) throw new RolloutInputError(`--evidence: no such file ${file}`);
  let document: unknown;
  try {
    document = yaml.load(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new RolloutInputError(`--evidence: ${file} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  return parseOrThrow(EvidenceFile, document, "", `--evidence: ${file} is malformed`);
}
