import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../rollout/loaders";
import {
  archivedReleaseFile,
  emptyHistory,
  historyText,
  ReleaseHistory,
  releaseHistoryFile,
  rotateHistory,
} from "../rollout/release";
import { INPUT_LIMITS, readInputDocument } from "../rollout/safeInput";
import { parseOrThrow } from "../rollout/validation";

/**
 * Where the CLI keeps a stack's release history: `releases/<stack>.json` in the project, next to
 * `Pulumi.<stack>.yaml` and committed with it (the CLI says what to commit). Read through the one
 * input path every file takes (rollout/safeInput.ts); written whole, through a temporary file and
 * a rename, so an interrupted write leaves the previous history rather than half of one.
 */
export interface ReleaseHistoryStore {
  /** The file, relative to the project root, as a commit names it. */
  readonly file: string;
  read(): Promise<ReleaseHistory>;
  /** Writes the history; answers the project-relative files written (releases moved out of it too). */
  write(history: ReleaseHistory): Promise<string[]>;
}

/** Through a temporary file and a rename: an interrupted write leaves the previous file whole. */
function writeWhole(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

export function fileHistoryStore(
  stack: string,
  root: string = PROJECT_ROOT,
  maxBytes: number = INPUT_LIMITS.maxBytes,
): ReleaseHistoryStore {
  const file = releaseHistoryFile(stack);
  const absolute = path.join(root, file);
  return {
    file,
    read() {
      if (!fs.existsSync(absolute)) return Promise.resolve(emptyHistory(stack));
      const document = readInputDocument(absolute, file, {
        invalid: `${file} is not valid JSON`,
        context: file,
        filename: file,
      });
      return Promise.resolve(parseOrThrow(ReleaseHistory, document, "", `${file} is malformed`));
    },
    write(history) {
      // Never a file its own reader refuses: the oldest finished releases move to files of their own.
      let rotated: ReturnType<typeof rotateHistory>;
      try {
        rotated = rotateHistory(ReleaseHistory.parse(history), maxBytes);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      const { kept, archived } = rotated;
      fs.mkdirSync(path.dirname(absolute), { recursive: true });
      for (const release of archived)
        writeWhole(
          path.join(root, archivedReleaseFile(stack, release.number)),
          `${JSON.stringify(release, null, 2)}\n`,
        );
      writeWhole(absolute, historyText(kept));
      return Promise.resolve([...archived.map((r) => archivedReleaseFile(stack, r.number)), file]);
    },
  };
}

/** A history kept in memory (tests, and the offline `--dry-run`s). */
export function memoryHistoryStore(
  stack: string,
  initial?: ReleaseHistory,
): ReleaseHistoryStore & {
  history: ReleaseHistory;
} {
  const store = {
    file: releaseHistoryFile(stack),
    history: structuredClone(initial ?? emptyHistory(stack)),
    read: () => Promise.resolve(structuredClone(store.history)),
    write(history: ReleaseHistory) {
      store.history = structuredClone(ReleaseHistory.parse(history));
      return Promise.resolve([store.file]);
    },
  };
  return store;
}
