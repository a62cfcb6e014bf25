import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The commands the documentation shows, read the way a shell reads them: fenced ```sh / ```bash
 * blocks of README.md and docs/**\/*.md, and the `$ ` lines of ```console transcripts (whose other
 * lines are the output the command prints). test/docs/commandsReplay.test.ts replays them;
 * test/cli/readmeWalkthroughCli.test.ts walks the TBS runbook's blocks with them.
 */

export const ROOT = path.join(__dirname, "..", "..");

/** One command as the shell would run it. */
export interface DocCommand {
  /** `docs/cli.md:42`: where the command starts. */
  where: string;
  /** The command's text, comments removed, continuation lines joined. */
  text: string;
  /** Its words, quotes removed (`"a b"` is one word `a b`; `$(...)` stays as written). */
  words: string[];
  /** The comment on its line (after `#`), or "". */
  comment: string;
  /** The exit code the doc says it ends with: `# exits N` in its comment, else 0. */
  expectedExit: number;
  /** Output lines a ```console transcript shows after the command (`...` lines left out). */
  shownOutput: string[];
}

/** A fenced block whose commands are replayed. */
export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: "sh" | "bash" | "console";
  /** `<!-- replay: NAME -->` on the line(s) before the fence: the situation the block starts in. */
  scene?: string;
  commands: DocCommand[];
}

/** README.md and every docs/**\/*.md, relative to the repository root, sorted. */
export function docFiles(): string[] {
  const found: string[] = ["README.md"];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".md")) found.push(rel);
    }
  };
  walk("docs");
  return found.sort();
}

const FENCE = /^(\s*)```(\w*)\s*$/;
const SCENE = /^<!--\s*replay:\s*([\w-]+)\s*-->$/;
/** `# exits 1`, `# exits 2: the flag is unknown`. */
const EXITS = /(?:^|\s)exits (\d)\b/;

/** Every replayed block of one Markdown file. */
export function docBlocks(file: string, text = fs.readFileSync(path.join(ROOT, file), "utf8")): DocBlock[] {
  const lines = text.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    const body = lines
      .slice(i + 1, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)));
    const lang = open[2]!;
    if (lang === "sh" || lang === "bash" || lang === "console") {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === "") before--;
      const scene = before >= 0 ? SCENE.exec(lines[before]!.trim())?.[1] : undefined;
      const where = (offset: number) => `${file}:${i + 2 + offset}`;
      blocks.push({
        file,
        line: i + 1,
        lang,
        ...(scene && { scene }),
        commands: lang === "console" ? transcript(body, where) : shellCommands(body.join("\n"), where),
      });
    }
    i = end;
  }
  return blocks;
}

/** A transcript: `$ command` lines, each followed by the output it shows. */
function transcript(body: string[], where: (offset: number) => string): DocCommand[] {
  const commands: DocCommand[] = [];
  body.forEach((line, offset) => {
    if (line.startsWith("$ ")) {
      commands.push(...shellCommands(line.slice(2), () => where(offset)));
      return;
    }
    const last = commands.at(-1);
    if (last && line.trim() !== "..." && line.trim() !== "") last.shownOutput.push(line);
  });
  return commands;
}

/**
 * A shell script's commands: newlines and `&&` / `;` end a command unless quoted or escaped
 * (`\` at the end of a line continues it), `#` at the start of a word opens a comment to the end
 * of the line, quotes group words and may span lines, `$(...)` nests.
 */
export function shellCommands(script: string, where: (lineOffset: number) => string): DocCommand[] {
  const commands: DocCommand[] = [];
  let words: string[] = [];
  let word: string | undefined;
  let raw = "";
  let comment = "";
  let line = 0;
  let startLine = 0;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) {
      const exits = EXITS.exec(comment);
      commands.push({
        where: where(startLine),
        text: raw.trim().replace(/\s+/g, " "),
        words,
        comment: comment.trim(),
        expectedExit: exits ? Number(exits[1]) : 0,
        shownOutput: [],
      });
    }
    words = [];
    raw = "";
  };
  /** Comments belong to every command of their line (`a && b # exits 1` marks both). */
  const commandsOfLine: DocCommand[] = [];
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (words.length === 0 && word === undefined && raw.trim() === "") startLine = line;
    if (c === "\\" && script[i + 1] === "\n") {
      i++;
      line++;
      endWord();
      raw += " ";
      continue;
    }
    if (c === "'" || c === '"') {
      const close = quoteEnd(script, i);
      const inner = script.slice(i + 1, close);
      word = (word ?? "") + (c === '"' ? inner.replace(/\\(["\\$`])/g, "$1") : inner);
      raw += script.slice(i, close + 1);
      line += inner.split("\n").length - 1;
      i = close;
      continue;
    }
    if (c === "$" && script[i + 1] === "(") {
      const close = substitutionEnd(script, i + 1);
      word = (word ?? "") + script.slice(i, close + 1);
      raw += script.slice(i, close + 1);
      i = close;
      continue;
    }
    if (c === "#" && word === undefined) {
      const eol = script.indexOf("\n", i);
      comment = script.slice(i + 1, eol < 0 ? undefined : eol);
      i = (eol < 0 ? script.length : eol) - 1;
      continue;
    }
    if (c === "\n" || c === ";" || (c === "&" && script[i + 1] === "&")) {
      const before = commands.length;
      endCommand();
      commandsOfLine.push(...commands.slice(before));
      if (c === "&") i++;
      if (c === "\n") {
        markComment(commandsOfLine, comment);
        commandsOfLine.length = 0;
        comment = "";
        line++;
      }
      continue;
    }
    raw += c;
    if (/\s/.test(c)) endWord();
    else word = (word ?? "") + c;
  }
  const before = commands.length;
  endCommand();
  commandsOfLine.push(...commands.slice(before));
  markComment(commandsOfLine, comment);
  return commands;
}

function markComment(commands: DocCommand[], comment: string): void {
  const exits = EXITS.exec(comment);
  for (const command of commands) {
    command.comment = comment.trim();
    command.expectedExit = exits ? Number(exits[1]) : 0;
  }
}

function quoteEnd(script: string, open: number): number {
  const q = script[open]!;
  for (let i = open + 1; i < script.length; i++) {
    if (q === '"' && script[i] === "\\") i++;
    else if (script[i] === q) return i;
  }
  throw new Error(`unclosed ${q} in: ${script.slice(open, open + 60)}`);
}

function substitutionEnd(script: string, open: number): number {
  let depth = 0;
  for (let i = open; i < script.length; i++) {
    const c = script[i]!;
    if (c === "'" || c === '"') i = quoteEnd(script, i);
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  throw new Error(`unclosed $( in: ${script.slice(open, open + 60)}`);
}

/** Every replayed block of README.md and docs/. */
export const allDocBlocks = (): DocBlock[] => docFiles().flatMap((file) => docBlocks(file));
