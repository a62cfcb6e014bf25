import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { loadPolicyConfig } from "../../policies/offline";
import { INPUT_LIMITS, parseInputDocument } from "../../rollout/safeInput";
import { rolloutKeys } from "../../rollout/stackFile";
import { RolloutInputError } from "../../rollout/validation";

/**
 * Issue 12: every file the project reads, fed hostile contents through the real CLI entry.
 * Each must exit 2 within a second, naming the file and the key, with no stack dump and no raw
 * control character on the terminal. Files are written to a temporary directory; the billion
 * laughs is a committed fixture (test/fixtures/hostile/).
 */

const ROOT = path.resolve(__dirname, "../..");
const BILLION_LAUGHS = path.join(ROOT, "test/fixtures/hostile/billion-laughs.yaml");
const GOOD_EVIDENCE = path.join(ROOT, "test/fixtures/evidence/internal-go.yaml");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-inputs-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Within a second, measured per case (after the modules are loaded once: that is start-up, not input). */
const LIMIT_MS = 1000;
const timings: { name: string; ms: number }[] = [];

type Reader = "stack" | "playbook" | "evidence" | "scenario";
const READERS: Reader[] = ["stack", "playbook", "evidence", "scenario"];

/** The command that makes each reader read `file`. */
const ARGV: Record<Reader, (file: string) => string[]> = {
  stack: (file) => ["plan", "--config-file", file, "--stack", "staging"],
  playbook: (file) => ["gates", "--playbook", file, "--from", "internal", "--evidence", GOOD_EVIDENCE],
  evidence: (file) => [
    "gates",
    "--playbook",
    "tbs-strategy-framework",
    "--from",
    "internal",
    "--evidence",
    file,
  ],
  scenario: (file) => ["drill", "--scenario", file],
};

const committed = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const STACK = committed("Pulumi.staging.yaml");
const PLAYBOOK = committed("playbooks/tbs-strategy-framework.yaml");
const SCENARIO = committed("test/fixtures/drills/tbs-error-rate-8pct.yaml");

/**
 * A valid document of the reader's kind with `key: value` added where the reader keeps names:
 * under `config:` (stack), at the top (playbook, scenario), under `metrics:` (evidence).
 * Returns the text and the path the message must name.
 */
function withEntry(reader: Reader, key: string, value: string): { text: string; at: string } {
  switch (reader) {
    case "stack":
      return { text: STACK.replace(/^config:\n/m, `config:\n  ${key}: ${value}\n`), at: `config.${key}` };
    case "playbook":
      return { text: `${PLAYBOOK}\n${key}: ${value}\n`, at: key };
    case "evidence":
      return { text: `metrics:\n  errorRate: 0.5\n  ${key}: ${value}\n`, at: `metrics.${key}` };
    case "scenario":
      return { text: `${SCENARIO}\n${key}: ${value}\n`, at: key };
  }
}

let counter = 0;
/** Writes `content` to a fresh file of the reader's usual extension. */
function write(content: string | Buffer, ext = ".yaml"): string {
  const file = path.join(dir, `case-${++counter}${ext}`);
  fs.writeFileSync(file, content);
  return file;
}

/** Raw control characters, bidi overrides and isolates: none may reach the terminal. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const RAW_UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

/** Runs the CLI, measures it, and checks the contract every hostile input shares. */
async function refused(
  name: string,
  argv: string[],
  expect: { names: string[]; message: RegExp },
): Promise<void> {
  const out = bufferOutput();
  const start = performance.now();
  const code = await runCli(argv, out);
  const ms = performance.now() - start;
  timings.push({ name, ms });
  const text = [...out.errors, ...out.lines].join("\n");
  assert.equal(code, 2, `${name}: exit ${code}\n${text}`);
  assert.ok(ms < LIMIT_MS, `${name}: ${ms.toFixed(0)} ms`);
  for (const n of expect.names) assert.ok(text.includes(n), `${name}: the message names ${n}:\n${text}`);
  assert.match(text, expect.message, name);
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?$/m, `${name}: a stack dump\n${text}`);
  assert.doesNotMatch(text, RAW_UNSAFE, `${name}: a raw control character reached the output`);
  assert.doesNotMatch(text, /TypeError|RangeError|Maximum call stack/, name);
}

// ---------------------------------------------------------------------------------------
// The cases: whole files, and entries added to a valid document.

interface Case {
  name: string;
  /** The file to read (written by the case), and what the message must name and say. */
  make: (reader: Reader) => { file: string; names?: string[]; message: RegExp; fileNamed?: false };
}

const deepFlow = "[".repeat(5000) + "]".repeat(5000);
const manyAliases = `x: &x 1\nl: [${Array(INPUT_LIMITS.maxAliases + 1)
  .fill("*x")
  .join(", ")}]\n`;

const CASES: Case[] = [
  {
    name: "billion laughs (alias bomb)",
    make: () => ({ file: BILLION_LAUGHS, message: /expands to more than 250,000 nodes .*alias bomb/ }),
  },
  {
    name: "alias cycle",
    make: () => ({ file: write("a: &a {b: *a}\n"), message: /alias \*a refers to a node that contains it/ }),
  },
  {
    name: "more aliases than the limit",
    make: () => ({ file: write(manyAliases), message: /more than 1000 aliases/ }),
  },
  {
    name: "deep nesting (5000 levels)",
    make: () => ({ file: write(deepFlow), message: /nesting exceeded maxDepth \(64\)/ }),
  },
  {
    name: "nesting through aliases",
    make: () => ({
      file: write(`a: &a ${"[".repeat(40)}${"]".repeat(40)}\nb: ${"[".repeat(40)}*a${"]".repeat(40)}\n`),
      message: /nests more than 64 levels deep once its aliases are expanded/,
    }),
  },
  {
    name: "huge file (1.5 MiB)",
    make: () => ({
      file: write(`# ${"x".repeat(78)}\n`.repeat(20_000)),
      message: /is 1\.5 MiB; at most 1\.0 MiB is read/,
    }),
  },
  {
    name: "binary (NUL bytes)",
    make: () => ({
      file: write(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00])),
      message: /holds a NUL byte at offset 7: a binary file/,
    }),
  },
  {
    name: "invalid UTF-8",
    make: () => ({
      file: write(Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28, 0x0a])),
      message: /is not UTF-8 text/,
    }),
  },
  {
    name: "UTF-16 with a BOM",
    make: () => ({
      file: write(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a: 1\n", "utf16le")])),
      message: /is UTF-16 text .*save it as UTF-8/,
    }),
  },
  {
    name: "two documents",
    make: () => ({ file: write("a: 1\n---\nb: 2\n"), message: /expected a single document in the stream/ }),
  },
  {
    name: "empty file",
    make: () => ({ file: write(""), message: /expected a document, but the input is empty/ }),
  },
  {
    name: "a JavaScript tag",
    make: () => ({ file: write("a: !!js/function 'function () {}'\n"), message: /unknown scalar tag/ }),
  },
  {
    name: "unterminated flow sequence",
    make: () => ({ file: write("a: [1, 2\n"), message: /not valid YAML/ }),
  },
  {
    name: "a directory",
    make: () => {
      const file = path.join(dir, `dir-${++counter}.yaml`);
      fs.mkdirSync(file);
      return { file, message: /is a directory, not a regular file/ };
    },
  },
  {
    name: "/dev/zero (by a link)",
    make: () => {
      const file = path.join(dir, `zero-${++counter}.yaml`);
      fs.symlinkSync("/dev/zero", file);
      return { file, message: /is a character device, not a regular file/ };
    },
  },
  {
    name: "a FIFO (nobody writing)",
    make: () => {
      const file = path.join(dir, `fifo-${++counter}.yaml`);
      execFileSync("mkfifo", [file]);
      return { file, message: /is a FIFO \(named pipe\), not a regular file/ };
    },
  },
  ...entryCases(),
];

/** Entries a valid document must not hold, added where each reader keeps names. */
function entryCases(): Case[] {
  const entry = (name: string, key: string, value: string, message: RegExp, shownKey?: string): Case => ({
    name,
    make: (reader) => {
      const { text, at } = withEntry(reader, key, value);
      return { file: write(text), names: [shownKey ?? at], message };
    },
  });
  const reserved = /is not allowed as a name: every JavaScript object has a property of that name/;
  return [
    entry("__proto__ as a key", "__proto__", "{polluted: true}", reserved),
    entry("constructor as a key", "constructor", "1", reserved),
    entry("toString as a key", "toString", "false", reserved),
    entry("prototype as a key", "prototype", "1", reserved),
    entry("hasOwnProperty as a key", "hasOwnProperty", "1", reserved),
    entry(
      "constructor as a name (a value)",
      "hostileName",
      "constructor",
      /"constructor" is not allowed as a value/,
    ),
    entry(
      "__proto__ as a name (a value)",
      "hostileName",
      "__proto__",
      /"__proto__" is not allowed as a value/,
    ),
    entry(
      "ESC (terminal escape) in a key",
      '"web\\e[2J"',
      "1",
      /holds a control, bidi or invisible character \(U\+001B/,
      '["web\\u001b[2J"]',
    ),
    entry("bidi override in a key", '"admin\\u202Etxt.exe"', "1", /U\+202E/, '["admin\\u202etxt.exe"]'),
    entry("zero-width space in a key", '"we\\u200Bb"', "1", /U\+200B/, '["we\\u200bb"]'),
    entry("newline in a key", '"a\\nb"', "1", /U\+000A/, '["a\\nb"]'),
    entry("C1 control (CSI) in a value", "hostileName", '"x\\u009B31m"', /U\+009B/),
    entry("bidi isolate in a name", "hostileName", '"web\\u2066"', /U\+2066/),
    entry("DEL in a value", "hostileName", '"a\\u007Fb"', /U\+007F/),
    entry("NaN", "hostileNumber", ".nan", /expected a finite number, got NaN/),
    entry("Infinity", "hostileNumber", ".inf", /expected a finite number, got Infinity/),
    entry("-Infinity in a list", "hostileNumbers", "[1, -.inf]", /expected a finite number, got -Infinity/),
    entry("an over-long key", "k".repeat(300), "1", /expected a name of at most 256 characters, got 300/),
    {
      name: "duplicate keys",
      make: (reader) => {
        const dup = {
          stack: STACK.replace(/^config:\n/m, "config:\n  rollout:phase: full\n"),
          playbook: `${PLAYBOOK}\nid: other\n`,
          evidence: "metrics:\n  errorRate: 0.5\n  errorRate: 0.1\n",
          scenario: `${SCENARIO}\nplaybook: telegram-money-bot\n`,
        }[reader];
        return { file: write(dup), message: /duplicated mapping key/ };
      },
    },
    {
      name: "wrong type where the schema expects a mapping",
      make: (reader) => {
        const wrong = {
          stack: { text: "config: [1, 2]\n", at: 'expected a "config:" mapping, got [1,2]' },
          playbook: { text: PLAYBOOK.replace(/^phases:\n/m, "phases: many\nunused:\n"), at: "phases" },
          evidence: { text: "metrics: high\n", at: "metrics" },
          scenario: { text: SCENARIO.replace(/^metrics:\n/m, "metrics: lots\nunused:\n"), at: "metrics" },
        }[reader];
        return { file: write(wrong.text), names: [wrong.at], message: /expected/ };
      },
    },
    {
      name: "a number where text is expected, and text where a number is",
      make: (reader) => {
        const wrong = {
          // Named by its stack, not its path: parseRolloutConfig is given config, not the file.
          stack: {
            text: STACK.replace(/^ {2}rollout:greenWeight: .*$/m, "  rollout:greenWeight: ten"),
            at: 'stack "staging":\n  rollout:greenWeight',
          },
          playbook: {
            text: PLAYBOOK.replace(/^ {4}trafficCapPercent: 0$/m, "    trafficCapPercent: none"),
            at: "trafficCapPercent",
          },
          evidence: { text: "metrics:\n  errorRate: 1e999\n", at: "metrics.errorRate" },
          scenario: {
            text: SCENARIO.replace(/^durationSeconds: .*$/m, "durationSeconds: forever"),
            at: "durationSeconds",
          },
        }[reader];
        return {
          file: write(wrong.text),
          names: [wrong.at],
          message: /expected/,
          fileNamed: reader === "stack" ? false : undefined,
        };
      },
    },
  ];
}

describe("hostile input files: every reader, through the CLI, exit 2 within a second naming the file and key", () => {
  before(async () => {
    // Load each command's modules once (the plan loads the whole Pulumi program, drill the AWS
    // SDK): that is start-up, not input. (The CLI itself checks input files before loading them.)
    await Promise.all([
      import("../../cli/commands/plan.js"),
      import("../../cli/commands/gates.js"),
      import("../../cli/commands/drill.js"),
    ]);
    for (const reader of READERS) await runCli(ARGV[reader](path.join(dir, "missing.yaml")), bufferOutput());
  });

  for (const reader of READERS) {
    describe(`${reader} file`, () => {
      for (const c of CASES) {
        it(c.name, async () => {
          const made = c.make(reader);
          await refused(`${reader}: ${c.name}`, ARGV[reader](made.file), {
            names: [...(made.fileNamed === false ? [] : [made.file]), ...(made.names ?? [])],
            message: made.message,
          });
        });
      }
    });
  }

  describe("a drill scenario naming a hostile playbook file", () => {
    for (const [name, playbook, message] of [
      ["the billion laughs", BILLION_LAUGHS, /alias bomb/],
      ["a playbook with __proto__", () => write(`${PLAYBOOK}\n__proto__: {x: 1}\n`), /__proto__/],
    ] as const) {
      it(name, async () => {
        const file = typeof playbook === "string" ? playbook : playbook();
        const scenario = write(SCENARIO.replace(/^playbook: .*$/m, `playbook: ${file}`));
        await refused(`scenario -> playbook: ${name}`, ARGV.scenario(scenario), {
          names: [scenario, file],
          message,
        });
      });
    }
  });

  describe("flags holding control characters", () => {
    for (const [name, argv, flag] of [
      ["--stack with a terminal escape", ["plan", "--stack", "staging\u001b[2J"], "--stack"],
      [
        "--evidence path with a bidi override",
        ["gates", "--playbook", "tbs-strategy-framework", "--from", "internal", "--evidence", "e\u202e.yaml"],
        "--evidence",
      ],
      [
        "--approver with a zero-width space",
        ["signoff", "approve", "--stack", "staging", "--role", "qaEngineer", "--approver", "da\u200bna"],
        "--approver",
      ],
      [
        "--reason with an escape",
        ["rollback", "--stack", "staging", "--reason", "fix\u001b]0;pwned\u0007"],
        "--reason",
      ],
      ["a stray argument with C1", ["drill", "\u009b31m"], "unexpected argument"],
    ] as const) {
      it(name, () =>
        refused(name, [...argv], { names: [flag], message: /control, bidi or invisible character/ }),
      );
    }
  });

  it("--json: the error is one JSON line on stdout, parseable, with exitCode 2 and escaped text", async () => {
    const file = write(withEntry("evidence", '"x\\u202Ey"', "1").text);
    const out = bufferOutput();
    assert.equal(await runCli([...ARGV.evidence(file), "--json"], out), 2);
    const json = JSON.parse(out.lines[0]!) as { error: string; exitCode: number };
    assert.equal(json.exitCode, 2);
    assert.match(json.error, /U\+202E/);
    assert.doesNotMatch(out.lines[0]!, RAW_UNSAFE);
  });

  it("the stack's own name is checked: no path, no control character", async () => {
    await refused("--stack ../x", ["plan", "--stack", "../x"], {
      names: ["--stack"],
      message: /expected a stack name/,
    });
  });

  after(() => {
    const sorted = timings.map((t) => t.ms).sort((a, b) => a - b);
    const slowest = timings.reduce((a, b) => (b.ms > a.ms ? b : a), timings[0]!);
    // Reported with the run: how long each hostile file takes to be refused.
    console.log(
      `hostile inputs: ${timings.length} cases through runCli, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, ` +
        `slowest ${slowest.ms.toFixed(1)} ms (${slowest.name})`,
    );
  });
});

describe("policy pack config (policies/config/<stack>.json): the same reader, strict JSON", () => {
  // The CLI reads it from policies/ itself; the test gives loadPolicyConfig a directory of its own.
  const packDir = fs.mkdtempSync(path.join(dir, "pack-"));
  const pack = (name: string, content: string | Buffer) => {
    fs.writeFileSync(path.join(packDir, `${name}.json`), content);
    return path.join(packDir, `${name}.json`);
  };
  const cases: [string, () => string, RegExp][] = [
    ["YAML, not JSON", () => pack("yaml", "all: mandatory\n"), /is not valid JSON/],
    [
      "duplicate keys",
      () => pack("dup", '{"all": "advisory", "all": "mandatory"}'),
      /duplicated mapping key/,
    ],
    [
      "__proto__",
      () => pack("proto", '{"__proto__": {"enforcementLevel": "disabled"}}'),
      /__proto__.*not allowed as a name/,
    ],
    ["toString", () => pack("tostring", '{"toString": "disabled"}'), /toString.*not allowed as a name/],
    ["a list", () => pack("list", "[1, 2]"), /expected an object of policy name/],
    ["NaN (not JSON)", () => pack("nan", '{"all": NaN}'), /is not valid JSON/],
    ["control character in a key", () => pack("ctl", '{"a\\u001bb": "advisory"}'), /U\+001B/],
    ["deep nesting", () => pack("deep", `{"a": ${deepFlow}}`), /nesting exceeded maxDepth|not valid JSON/],
    ["huge", () => pack("huge", `{"a": "${"x".repeat(1_100_000)}"}`), /at most 1\.0 MiB/],
    ["binary", () => pack("binary", Buffer.from([0x7b, 0x00, 0x7d])), /NUL byte/],
    [
      "/dev/zero",
      () => {
        fs.symlinkSync("/dev/zero", path.join(packDir, "zero.json"));
        return path.join(packDir, "zero.json");
      },
      /character device/,
    ],
    [
      "a FIFO",
      () => {
        execFileSync("mkfifo", [path.join(packDir, "fifo.json")]);
        return path.join(packDir, "fifo.json");
      },
      /FIFO/,
    ],
    [
      "a directory",
      () => {
        fs.mkdirSync(path.join(packDir, "folder.json"));
        return path.join(packDir, "folder.json");
      },
      /directory/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      const file = make();
      const stack = path.basename(file, ".json");
      const start = performance.now();
      assert.throws(
        () => loadPolicyConfig(stack, packDir),
        (error: unknown) =>
          error instanceof RolloutInputError && error.message.includes(file) && message.test(error.message),
      );
      assert.ok(performance.now() - start < LIMIT_MS);
    });
  }
});

describe("JSON inside config values (what Pulumi hands the program) is checked as a file is", () => {
  for (const [name, value, key] of [
    ["toString flag", '{"toString": false}', "rollout:featureFlags.toString"],
    ["__proto__ flag", '{"__proto__": true}', "rollout:featureFlags.__proto__"],
    ["constructor as a service name", '[{"name": "constructor"}]', "rollout:services[0].name"],
  ] as const) {
    it(name, () => {
      const key0 = key.split(/[.[]/)[0]!;
      assert.throws(
        () => rolloutKeys({ [key0]: value }),
        (error: unknown) => error instanceof RolloutInputError && error.message.includes(key),
      );
    });
  }

  it("parses the committed inputs unchanged (no false alarms)", () => {
    for (const file of [
      "Pulumi.staging.yaml",
      "Pulumi.production.yaml",
      "playbooks/tbs-strategy-framework.yaml",
      "playbooks/telegram-money-bot.yaml",
      "policies/config/production.json",
    ])
      assert.doesNotThrow(() => parseInputDocument(committed(file), { invalid: file, context: file }), file);
  });
});
