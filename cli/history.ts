import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../rollout/loaders";
import { emptyHistory, ReleaseHistory, releaseHistoryFile } from "../rollout/release";
import { readInputDocument } from "../rollout/safeInput";
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
  write(history: ReleaseHistory): Promise<void>;
}

export function fileHistoryStore(stack: string, root: string = PROJECT_ROOT): ReleaseHistoryStore {
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
      fs.mkdirSync(path.dirname(absolute), { recursive: true });
      const temporary = `${absolute}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, `${JSON.stringify(ReleaseHistory.parse(history), null, 2)}\n`);
      fs.renameSync(temporary, absolute);
      return Promise.resolve();
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
      return Promise.resolve();
    },
  };
  return store;
}
