import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CommandError,
  ConcurrentUpdateError,
  PulumiCommand,
  StackNotFoundError,
} from "@pulumi/pulumi/automation/index.js";
import { selectLocalStack } from "../../cli/liveSecrets";
import { interruptRunningPulumi, ShieldedPulumiCommand, type CommandResult } from "../../cli/pulumiCommand";

/**
 * A fake `pulumi` (POSIX sh). `version` prints the file `version` beside it; every other call is
 * logged to `calls.log` beside it as "<pgid> <args>", then FAKE_MODE (from the caller's env) says
 * what it does:
 * - report: prints its pid, process group, args and environment, exits FAKE_EXIT (default 0);
 * - fail: "partial output" on stdout, FAKE_STDERR on stderr, exits FAKE_EXIT;
 * - wait: prints "started" and loops until SIGINT, then writes FAKE_MARKER (if set) and prints
 *   "cancelled" (exit 255, as Pulumi after a cancel);
 * - grandchild: as wait, but loops in a child `sh` of its own (same process group, foreground;
 *   it prints "grandchild <pid>"): a SIGINT to the fake's pid alone would wait for that child
 *   forever; one to the group stops both ("grandchild cancelled", then "cancelled").
 */
const FAKE_PULUMI = `#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "version" ]; then cat "$here/version"; exit 0; fi
pgid=$(ps -o pgid= -p $$ | tr -d ' ')
echo "$pgid $*" >> "$here/calls.log"
case "$FAKE_MODE" in
  fail)
    echo "partial output"
    echo "$FAKE_STDERR" >&2
    exit "$FAKE_EXIT" ;;
  wait)
    trap 'if [ -n "$FAKE_MARKER" ]; then echo cancelled > "$FAKE_MARKER"; fi; echo cancelled; exit 255' INT
    echo "pid $$"
    echo started
    while :; do sleep 0.05; done ;;
  grandchild)
    trap 'echo cancelled; exit 255' INT
    echo "pid $$"
    sh -c 'echo "grandchild $$"; trap "echo grandchild cancelled; exit 0" INT; echo started; while :; do sleep 0.05; done'
    exit 0 ;;
  *)
    echo "pid $$"
    echo "pgid $pgid"
    echo "args $*"
    echo "automation $PULUMI_AUTOMATION_API"
    echo "greeting $FAKE_GREETING"
    echo "path-head \${PATH%%:*}"
    exit "\${FAKE_EXIT:-0}" ;;
esac
`;

/** The process group of `pid`, as ps reports it. */
function pgidOf(pid: number): number {
  return Number(execFileSync("ps", ["-o", "pgid=", "-p", String(pid)], { encoding: "utf8" }).trim());
}

/** `key value` lines the fake printed in report mode. */
function reported(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout.split("\n").map((line) => {
      const space = line.indexOf(" ");
      return [line.slice(0, space), line.slice(space + 1)];
    }),
  );
}

/** Resolves once `text` has appeared in what `chunks` collected (polling: output arrives in pieces). */
async function waitFor(chunks: string[], text: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!chunks.join("").includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" never appeared; output so far: ${chunks.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The library's PulumiCommand over the same binary (its constructor is private in the .d.ts). */
function libraryCommand(command: string): { run: ShieldedPulumiCommand["run"] } {
  const Library = PulumiCommand as unknown as new (
    command: string,
    version: null,
  ) => { run: ShieldedPulumiCommand["run"] };
  return new Library(command, null);
}

/** The rejection of `run`, for assertions on the error itself. */
async function failure(run: Promise<CommandResult>): Promise<Error & { commandResult: CommandResult }> {
  try {
    await run;
  } catch (error) {
    return error as Error & { commandResult: CommandResult };
  }
  throw new Error("run resolved; expected it to reject");
}

describe("ShieldedPulumiCommand (pulumi in its own process group)", () => {
  let dir: string;
  let bin: string;
  let fake: string;
  const testPgid = pgidOf(process.pid);
  const savedSkip = process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK;

  before(() => {
    // The version check is part of what is under test: the caller's opt-out must not hide it.
    delete process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-command-"));
    bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fake = path.join(bin, "pulumi");
    fs.writeFileSync(fake, FAKE_PULUMI, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "version"), "v3.150.0\n");
  });

  after(() => {
    if (savedSkip !== undefined) process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK = savedSkip;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs pulumi in a process group of its own, not the CLI's (the terminal's Ctrl-C cannot reach it)", async () => {
    const result = await new ShieldedPulumiCommand(fake, null).run(["up"], dir, { FAKE_MODE: "report" });
    const seen = reported(result.stdout);
    // setsid(2): the child leads its own group, so a signal to the CLI's foreground group misses it.
    assert.equal(Number(seen.pgid), Number(seen.pid));
    assert.notEqual(Number(seen.pgid), testPgid);
    assert.equal(result.code, 0);
  });

  it("the library's PulumiCommand, by contrast, runs pulumi in the CLI's process group", async () => {
    const result = await libraryCommand(fake).run(["up"], dir, { FAKE_MODE: "report" });
    assert.equal(Number(reported(result.stdout).pgid), testPgid);
  });

  it("passes what the library passes: --non-interactive, PULUMI_AUTOMATION_API=true, the caller's env, the CLI's folder first on PATH", async () => {
    const result = await new ShieldedPulumiCommand(fake, null).run(
      ["stack", "select", "--stack", "dev"],
      dir,
      {
        FAKE_MODE: "report",
        FAKE_GREETING: "hello from additionalEnv",
      },
    );
    const seen = reported(result.stdout);
    assert.equal(seen.args, "stack select --stack dev --non-interactive");
    assert.equal(seen.automation, "true");
    assert.equal(seen.greeting, "hello from additionalEnv");
    assert.equal(seen["path-head"], bin);
    // execa's stripFinalNewline, which callers parsing stdout rely on.
    assert.equal(result.stdout.endsWith("\n"), false);
    assert.equal(result.stderr, "");
  });

  it("does not add --non-interactive twice, and leaves PATH alone for a command found on PATH", async () => {
    const onPath = new ShieldedPulumiCommand("pulumi", null);
    const result = await onPath.run(["preview", "--non-interactive"], dir, {
      FAKE_MODE: "report",
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
    });
    const seen = reported(result.stdout);
    assert.equal(seen.args, "preview --non-interactive");
    assert.equal(seen["path-head"], bin);
  });

  it("streams stdout to onOutput and stderr to onError as it comes", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const run = new ShieldedPulumiCommand(fake, null).run(
      ["up"],
      dir,
      { FAKE_MODE: "fail", FAKE_EXIT: "1", FAKE_STDERR: "error: the policy pack refused" },
      (data) => out.push(data),
      (data) => err.push(data),
    );
    await failure(run);
    assert.equal(out.join(""), "partial output\n");
    assert.equal(err.join(""), "error: the policy pack refused\n");
  });

  it("a non-zero exit rejects with the library's own CommandError, stderr in it, word for word the library's", async () => {
    const env = { FAKE_MODE: "fail", FAKE_EXIT: "255", FAKE_STDERR: "error: update failed" };
    const ours = await failure(new ShieldedPulumiCommand(fake, null).run(["up"], dir, env));
    const theirs = await failure(libraryCommand(fake).run(["up"], dir, env));
    assert.equal(ours instanceof CommandError, true);
    assert.equal(ours.name, "CommandError");
    assert.equal(ours.commandResult.code, -2);
    assert.equal(
      ours.commandResult.stderr,
      `Command failed with exit code 255: ${fake} up --non-interactive\nerror: update failed\npartial output`,
    );
    assert.equal(ours.message, theirs.message);
    assert.equal(ours.commandResult.stdout, theirs.commandResult.stdout);
  });

  it("pulumi's stderr picks the library's error subclass (stack not found, concurrent update)", async () => {
    const command = new ShieldedPulumiCommand(fake, null);
    const notFound = await failure(
      command.run(["stack", "select", "--stack", "nope"], dir, {
        FAKE_MODE: "fail",
        FAKE_EXIT: "255",
        FAKE_STDERR: "error: no stack named 'nope' found",
      }),
    );
    assert.equal(notFound instanceof StackNotFoundError, true);
    const locked = await failure(
      command.run(["up"], dir, {
        FAKE_MODE: "fail",
        FAKE_EXIT: "255",
        FAKE_STDERR: "error: [409] Conflict: Another update is currently in progress.",
      }),
    );
    assert.equal(locked instanceof ConcurrentUpdateError, true);
  });

  it("a missing binary fails as the library's does (the CLI's 'Pulumi CLI not found' hint matches it)", async () => {
    const missing = path.join(dir, "no-such", "pulumi");
    const ours = await failure(new ShieldedPulumiCommand(missing, null).run(["up"], dir, {}));
    const theirs = await failure(libraryCommand(missing).run(["up"], dir, {}));
    assert.equal(ours instanceof CommandError, true);
    assert.equal(
      ours.commandResult.stderr,
      `Command failed with ENOENT: ${missing} up --non-interactive\nspawn ${missing} ENOENT`,
    );
    assert.equal(ours.message, theirs.message);
  });

  /**
   * A fake `pulumi up` in `env.FAKE_MODE`, once it has said "started": its output, pid, outcome
   * (the rejection), and `end`, for `finally`: a fake still running after a failed assertion
   * would wait for SIGINT forever, so its group (this test's own child) is killed.
   */
  async function startedUp(env: Record<string, string>, signal?: AbortSignal) {
    const out: string[] = [];
    let settled = false;
    // Caught from the start: the rejection may come before the test awaits it.
    const outcome = failure(
      new ShieldedPulumiCommand(fake, null).run(
        ["up"],
        dir,
        env,
        (data) => out.push(data),
        undefined,
        signal,
      ),
    ).finally(() => {
      settled = true;
    });
    await waitFor(out, "started");
    const pid = Number(/pid (\d+)/.exec(out.join(""))?.[1]);
    const end = () => {
      if (settled) return;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Not a group leader after all (the very regression under test): each process by its pid.
        for (const match of out.join("").matchAll(/(?:pid|grandchild) (\d+)\n/g))
          process.kill(Number(match[1]), "SIGKILL");
      }
    };
    return { out, outcome, pid, end };
  }

  it("aborting the signal sends SIGINT to pulumi (Pulumi's graceful cancel), as the library does", async () => {
    const abort = new AbortController();
    const up = await startedUp({ FAKE_MODE: "wait" }, abort.signal);
    try {
      abort.abort();
      await waitFor(up.out, "cancelled", 5_000);
      const error = await up.outcome;
      assert.equal(error instanceof CommandError, true);
      assert.equal(up.out.join(""), `pid ${up.pid}\nstarted\ncancelled\n`);
      assert.match(error.commandResult.stderr, /^Command failed with exit code 255: /);
    } finally {
      up.end();
    }
  });

  it("interruptRunningPulumi (the exit hook) sends SIGINT to each running pulumi's whole process group", async () => {
    const up = await startedUp({ FAKE_MODE: "grandchild" });
    try {
      assert.equal(process.listeners("exit").includes(interruptRunningPulumi), true);
      assert.equal(interruptRunningPulumi(), 1);
      // The grandchild (pulumi's plugins, in life) got it too: a signal to the pid alone never
      // would, and the fake would wait for it forever.
      await waitFor(up.out, "cancelled", 5_000);
      await up.outcome;
      assert.match(
        up.out.join(""),
        new RegExp(`^pid ${up.pid}\ngrandchild \\d+\nstarted\ngrandchild cancelled\ncancelled\n$`),
      );
      // Nothing left to stop: the hook is off until the next pulumi starts.
      assert.equal(process.listeners("exit").includes(interruptRunningPulumi), false);
      assert.equal(interruptRunningPulumi(), 0);
    } finally {
      up.end();
    }
  });

  it("as in a terminal: the first Ctrl-C leaves the up in flight running; the CLI's exit on the second cancels it", async () => {
    const marker = path.join(dir, "cancelled-after-exit");
    // A stand-in for cli/rollout.ts: its SIGINT handler (first: abort and go on; second: exit 130).
    const cli = `
      const { ShieldedPulumiCommand } = require(${JSON.stringify(path.resolve(__dirname, "../../cli/pulumiCommand.ts"))});
      const interrupt = new AbortController();
      process.on("SIGINT", () => {
        if (interrupt.signal.aborted) process.exit(130);
        console.log("interrupted");
        interrupt.abort();
      });
      new ShieldedPulumiCommand(${JSON.stringify(fake)}, null)
        .run(["up"], ${JSON.stringify(dir)}, { FAKE_MODE: "wait", FAKE_MARKER: ${JSON.stringify(marker)} }, (d) => process.stdout.write(d))
        .then(() => console.log("up finished"), (e) => console.log("up failed: " + e.message));
    `;
    // Its own process group, so a signal to that group is the terminal's Ctrl-C to the CLI's
    // foreground group, and the test runner's group is never touched.
    const child = spawn(process.execPath, ["--import", "tsx", "-e", cli], {
      cwd: path.resolve(__dirname, "../.."),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (data: string) => out.push(data));
    child.stderr.setEncoding("utf8").on("data", (data: string) => err.push(data));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    let fakePid: number | undefined;
    try {
      // A CLI that failed to start says why on stderr.
      await waitFor(out, "started").catch((error: Error) => {
        throw new Error(`${error.message}\nstderr: ${err.join("")}`);
      });
      fakePid = Number(/pid (\d+)/.exec(out.join(""))?.[1]);
      // Never 0: process.kill(-0) would signal the test runner's own group.
      assert.equal(typeof child.pid, "number");
      const cliGroup = -(child.pid as number);
      process.kill(cliGroup, "SIGINT");
      await waitFor(out, "interrupted");
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The up in flight is untouched: still running (signal 0 only checks), never cancelled.
      process.kill(fakePid, 0);
      assert.equal(fs.existsSync(marker), false);
      assert.equal(out.join(""), `pid ${fakePid}\nstarted\ninterrupted\n`);

      process.kill(cliGroup, "SIGINT");
      assert.equal(await exited, 130, err.join(""));
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(fs.readFileSync(marker, "utf8"), "cancelled\n");
    } finally {
      child.kill("SIGKILL");
      // A fake that never got its cancel (an assertion failed first) would loop forever: its group
      // is this test's to end.
      if (fakePid !== undefined && !Number.isNaN(fakePid) && !fs.existsSync(marker))
        process.kill(-fakePid, "SIGKILL");
    }
  });

  it("get() validates the CLI as PulumiCommand.get does: `pulumi version` and the minimum version", async () => {
    const command = await ShieldedPulumiCommand.get({ root: dir });
    assert.equal(command instanceof ShieldedPulumiCommand, true);
    assert.equal(command instanceof PulumiCommand, true);
    assert.equal(command.command, fake);
    assert.equal(command.version?.toString(), "3.150.0");

    const old = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-command-old-"));
    try {
      fs.mkdirSync(path.join(old, "bin"));
      fs.copyFileSync(fake, path.join(old, "bin", "pulumi"));
      fs.writeFileSync(path.join(old, "bin", "version"), "v3.1.0\n");
      await assert.rejects(ShieldedPulumiCommand.get({ root: old }), {
        message:
          "Minimum version requirement failed. The minimum CLI version requirement is 3.2.0-alpha, your current CLI version is v3.1.0. Please update the Pulumi CLI.",
      });
      const skipped = await ShieldedPulumiCommand.get({ root: old, skipVersionCheck: true });
      assert.equal(skipped.version?.toString(), "3.1.0");
    } finally {
      fs.rmSync(old, { recursive: true, force: true });
    }
  });

  it("selectLocalStack gives LocalWorkspace this command: `stack select` runs in its own group", async () => {
    const log = path.join(bin, "calls.log");
    fs.rmSync(log, { force: true });
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${savedPath ?? ""}`;
    try {
      await selectLocalStack({ stackName: "dev", workDir: dir });
    } finally {
      process.env.PATH = savedPath;
    }
    const calls = fs.readFileSync(log, "utf8").trim().split("\n");
    assert.equal(calls.length, 1, calls.join("\n"));
    const [pgid, ...args] = (calls[0] ?? "").split(" ");
    assert.deepEqual(args, ["stack", "select", "--stack", "dev", "--non-interactive"]);
    assert.notEqual(Number(pgid), testPgid);
  });
});
