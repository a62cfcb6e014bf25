import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COMMAND_HELP, suggest } from "../../cli/help";
import { bufferOutput } from "../../cli/output";
import { COMMAND_FORMS, runCli, type LiveContextFactory } from "../../cli/rollout";

/** Per-command help, "did you mean" for commands, flags and sub-commands, -s, and --json errors. */

const COMMANDS = Object.keys(COMMAND_FORMS);

async function run(argv: string[], factory?: LiveContextFactory) {
  const out = bufferOutput();
  const code = await runCli(argv, out, factory);
  return { code, out };
}

describe("help: per command", () => {
  it("`shift --help`, `shift -h` and `help shift` print shift's help, exit 0", async () => {
    const texts: string[] = [];
    for (const argv of [
      ["shift", "--help"],
      ["shift", "-h"],
      ["help", "shift"],
    ]) {
      const { code, out } = await run(argv);
      assert.equal(code, 0, argv.join(" "));
      assert.deepEqual(out.errors, []);
      texts.push(out.text());
    }
    assert.equal(texts[1], texts[0]);
    assert.equal(texts[2], texts[0]);
    const text = texts[0]!;
    assert.match(text, /^usage: npm run rollout -- shift --stack S --to N \[--step K\] \[--interval T\]$/m);
    assert.match(
      text,
      /^ {2}--interval T .*\(default: the phase's shift\.intervalSeconds in the playbook \(TBS: 16m; Telegram: 11m\)\)$/m,
    );
    assert.match(
      text,
      /^exit codes: 0 ok, 1 refused \/ NO-GO \/ failed, 2 bad input, 130 stopped by Ctrl-C/m,
    );
    assert.match(text, /^ {2}-s, --stack S .*\(default: none: required\)$/m);
    assert.doesNotMatch(text, /^commands:/m);
  });

  it("every command's help names every flag its forms take, each with a meaning and a default", async () => {
    for (const command of COMMANDS) {
      const { code, out } = await run([command, "--help"]);
      assert.equal(code, 0, command);
      const flags = new Set(
        (COMMAND_FORMS as Record<string, readonly { flags: readonly string[] }[]>)[command]!.flatMap(
          (f) => f.flags,
        ),
      );
      assert.deepEqual(
        new Set(COMMAND_HELP[command]!.flags.map((f) => f.flag)),
        flags,
        `${command}: help and COMMAND_FORMS disagree`,
      );
      for (const flag of [...flags, "json", "help"]) {
        const line = out
          .text()
          .split("\n")
          .find((l) => new RegExp(`--${flag}\\b`).test(l.slice(0, 26)));
        assert.ok(line, `${command}: --${flag} missing`);
        assert.match(line, /\S .*\(default: .+\)$/, `${command}: --${flag}: ${line}`);
      }
    }
  });

  it("`help` alone and `--help` print the global help, exit 0", async () => {
    const a = await run(["help"]);
    const b = await run(["--help"]);
    assert.equal(a.code, 0);
    assert.equal(a.out.text(), b.out.text());
    assert.match(a.out.text(), /^commands:/m);
  });

  it("`help` of an unknown command is bad input with a suggestion", async () => {
    const { code, out } = await run(["help", "shfit"]);
    assert.equal(code, 2);
    assert.match(out.errors[0]!, /^unknown command "shfit"; did you mean shift\?/);
  });

  it("--help with --json is one JSON document", async () => {
    const { code, out } = await run(["drill", "--help", "--json"]);
    assert.equal(code, 0);
    const doc = JSON.parse(out.text()) as { command: string; help: string };
    assert.equal(doc.command, "drill");
    assert.match(doc.help, /--scenario FILE/);
  });
});

describe("did you mean", () => {
  it("suggest: edit distance ≤ 2, else a unique prefix", () => {
    assert.equal(suggest("plna", COMMANDS), "plan");
    assert.equal(suggest("gate", COMMANDS), "gates");
    assert.equal(suggest("rollba", COMMANDS), "rollback");
    assert.equal(suggest("sig", COMMANDS), "signoff");
    assert.equal(suggest("s", COMMANDS), undefined);
    assert.equal(suggest("deploy", COMMANDS), undefined);
  });

  const typos: [string, string][] = [
    ["plna", "plan"],
    ["gate", "gates"],
  ];
  for (const [typo, meant] of typos) {
    it(`unknown command ${typo}: exit 2, did you mean ${meant}?`, async () => {
      const { code, out } = await run([typo]);
      assert.equal(code, 2);
      assert.match(
        out.errors[0]!,
        new RegExp(`^unknown command "${typo}"; did you mean ${meant}\\?; expected one of`),
      );
    });
  }

  it("no suggestion when nothing is close", async () => {
    const { code, out } = await run(["deploy"]);
    assert.equal(code, 2);
    assert.match(out.errors[0]!, /^unknown command "deploy"; expected one of plan,/);
  });

  it("unknown flag --stak: exit 2, did you mean --stack?", async () => {
    const { code, out } = await run(["status", "--stak", "staging"]);
    assert.equal(code, 2);
    assert.match(out.errors[0]!, /^unknown flag --stak for status; did you mean --stack\?/);
  });

  it("unknown sub-command signoff aprove: exit 2, did you mean approve?", async () => {
    const { code, out } = await run(["signoff", "aprove", "--stack", "staging"]);
    assert.equal(code, 2);
    assert.deepEqual(out.errors, [
      'error: signoff: expected approve, revoke or status, got "aprove"; did you mean approve?',
    ]);
  });
});

describe("-s is --stack", () => {
  it("a live command gets the stack from -s", async () => {
    const stacks: string[] = [];
    const factory: LiveContextFactory = (stack) => {
      stacks.push(stack);
      throw new Error("stop here");
    };
    for (const command of ["status", "advance", "resume"]) {
      const { code } = await run([command, "-s", "staging"], factory);
      assert.equal(code, 1);
    }
    assert.deepEqual(stacks, ["staging", "staging", "staging"]);
  });

  it("-s selects the live form of gates and drill like --stack", async () => {
    const { code, out } = await run(["drill", "-s", "staging"]);
    assert.equal(code, 2);
    assert.match(out.errors[0]!, /unexpected flag --stack/);
  });
});

describe("--json: errors before the command runs", () => {
  const cases: [string[], RegExp][] = [
    [["plna", "--json"], /^unknown command "plna"; did you mean plan\?/],
    [["--json"], /^expected a command$/],
    [["help", "gate", "--json"], /^unknown command "gate"; did you mean gates\?/],
    [["status", "--stak", "x", "--json"], /^unknown flag --stak for status; did you mean --stack\?/],
    [["signoff", "aprove", "--json", "-s", "staging"], /did you mean approve\?$/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(" "), async () => {
      const { code, out } = await run(argv);
      assert.equal(code, 2);
      assert.equal(out.lines.length, 1);
      const doc = JSON.parse(out.lines[0]!) as { error: string; exitCode: number };
      assert.equal(doc.exitCode, 2);
      assert.match(doc.error, message);
    });
  }
});
