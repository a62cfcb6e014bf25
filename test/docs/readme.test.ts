import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { docFiles, ROOT } from "./docCommands";

/**
 * The README is a few screens that link to docs/ (argo-rollouts' habit): at most 16 KB, the two
 * commands on its first screen, every `pulumi up` in its safe form, every page of docs/ linked,
 * and no link in README.md or docs/ that leads nowhere.
 */

const README_MAX_BYTES = 16 * 1024;
/** What a terminal or a GitHub page shows before scrolling. */
const FIRST_SCREEN_LINES = 20;

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const readme = read("README.md");

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return found;
}

/** `[text](target)` links outside code, with their targets. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe("README.md", () => {
  it(`is at most ${README_MAX_BYTES} bytes`, () => {
    const bytes = Buffer.byteLength(readme, "utf8");
    assert.ok(bytes <= README_MAX_BYTES, `README.md is ${bytes} bytes; move sections to docs/`);
  });

  it("shows the two commands a newcomer needs on its first screen", () => {
    const firstScreen = readme.split("\n").slice(0, FIRST_SCREEN_LINES).join("\n");
    assert.match(firstScreen, /^npm ci && npm run plan {2,}# .*offline/m);
    assert.match(firstScreen, /^npm ci && npm test {2,}# /m);
  });

  it("writes every pulumi up with --refresh and the policy pack", () => {
    const ups = [...readme.matchAll(/pulumi up[^\n`]*/g)].map((m) => m[0]);
    assert.ok(ups.length > 0);
    for (const up of ups) assert.match(up, /^pulumi up --refresh --policy-pack policies( |$)/, up);
  });

  it("links every page of docs/", () => {
    const linked = new Set(links(readme).map((l) => l.split("#")[0]));
    const pages = docFiles().filter((f) => f.startsWith("docs/"));
    assert.deepEqual(
      pages.filter((p) => !linked.has(p)),
      [],
      "pages of docs/ the README's documentation table does not link",
    );
  });
});

describe("links in README.md and docs/", () => {
  for (const file of docFiles()) {
    it(`${file}: every relative link and anchor resolves`, () => {
      const text = read(file);
      const broken: string[] = [];
      for (const link of links(text)) {
        if (/^[a-z]+:/.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split("#") as [string, string | undefined];
        const resolved =
          target === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
        if (!fs.existsSync(path.join(ROOT, resolved))) {
          broken.push(`${link}: no file ${resolved}`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith(".md") && !anchors(read(resolved)).has(anchor))
          broken.push(`${link}: no heading #${anchor} in ${resolved}`);
      }
      assert.deepEqual(broken, []);
    });
  }
});
