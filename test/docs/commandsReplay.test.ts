import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import {
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";
import { DeleteParameterCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { runCli, type LiveContextFactory } from "../../cli/rollout";
import type { CommandContext } from "../../cli/backend";
import { bufferOutput } from "../../cli/output";
import { CONFIG_KEYS } from "../../rollout/config";
import { requiredRoles } from "../../rollout/decisions";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { alarmNamePrefix, compositeAlarmName, latchParameterName } from "../../rollout/names";
import { rolloutKeys } from "../../rollout/stackFile";
import { approvedDecisions } from "../support/evidenceFixtures";
import { alb, cloudwatch, firing, latch, resetAwsMocks, serveAlb, setup, ssm } from "../support/liveStack";
import { allDocBlocks, docBlocks, ROOT, shellCommands, type DocBlock, type DocCommand } from "./docCommands";

/*
 * Every command in README.md and docs/**\/*.md runs as written.
 *
 * What is replayed: each ```sh / ```bash block, and the `$ ` lines of each ```console transcript
 * (test/docs/docCommands.ts reads them as a shell would: quotes, `\` continuations, `&&`, `#`
 * comments).
 *
 * The convention the docs follow:
 * - `npm run plan -- ARGS`, `npm run rollout -- ARGS` (and `npm run -s ...`) run through `runCli`
 *   from cli/rollout.ts: offline commands for real, live ones (`--stack`) against the fakes of
 *   test/support/liveStack.ts (an in-memory Pulumi stack from the committed Pulumi.<stack>.yaml,
 *   a fake ALB, CloudWatch, SSM and SNS). Within one block, the commands of a stack share that
 *   fake stack in order, so a block can be a sequence (record a GO, sign off, advance).
 *   CloudWatch reports green healthy (`healthyMetrics`), no alarm fires and no latch is set,
 *   unless the block names a scene.
 * - The exit code is 0 unless the command's line says otherwise in its comment:
 *   `npm run rollout -- advance --stack staging   # exits 1: no GO recorded`.
 * - A scene is the situation a block starts in, named in an HTML comment on the line before the
 *   fence (`<!-- replay: automatic-rollback -->`, invisible when rendered); SCENES below lists them.
 * - In a ```console transcript, the lines after a `$ ` command are output it prints: each must be
 *   a line the command printed (stdout or stderr, trailing spaces aside); `...` skips lines.
 * - `pulumi ...` is checked for form: every `pulumi up` and `pulumi preview` has `--refresh` and
 *   `--policy-pack policies`, and `--policy-pack-config policies/config/<stack>.json` when that
 *   file exists (the stack from `-s`/`--stack`, else the block's `pulumi stack select`); `pulumi
 *   config set|rm rollout:<key>` names a key rollout/config.ts accepts (`--path` for a nested one).
 * - `git`, `npm ci`, `npm test`, `npm run <script>` of package.json, the AWS CLI (`aws`: what
 *   the program cannot do for you, such as an RDS major upgrade), `read` / `export` (a
 *   passphrase typed without echo) and `name=value` / `name=$(command)` assignments (the command
 *   is classified) are allowed as written; any other program fails the test until it is added
 *   here with a reason.
 * - No placeholders: `<stack>`, `<id>`, `"..."` fail; use real stacks, playbook ids and files.
 * - `--svg FILE` writes to a temporary directory instead, so a replay never rewrites
 *   docs/pictures/; `--watch` is stopped after its second poll, as Ctrl-C would.
 * `plan` takes seconds: identical plan commands run once (`plan` alone is `plan --stack staging`).
 */

const STACKS = ["staging", "production"] as const;
type StackName = (typeof STACKS)[number];

/** The fake world of one block: a live stack per stack name, made on first use. */
class World {
  private readonly stacks = new Map<StackName, ReturnType<typeof setup> & { rules: typeof alb.rules }>();
  /** Stacks whose latch is set (the Lambda wrote it; `resume` deletes it). */
  readonly latched = new Set<StackName>();
  /** Alarms in ALARM, per stack. */
  readonly firing = new Map<StackName, string[]>();

  constructor(private readonly changes: Partial<Record<StackName, Record<string, unknown>>> = {}) {}

  stack(name: StackName) {
    let live = this.stacks.get(name);
    if (!live) {
      const made = setup(name, this.changes[name] ?? {});
      live = { ...made, rules: alb.rules };
      this.stacks.set(name, live);
    }
    return live;
  }

  /** The stack's context, its ALB served (the fake ALB is one, shared by the stacks of a block). */
  enter(name: StackName): CommandContext {
    const live = this.stack(name);
    alb.rules = live.rules;
    return live.ctx;
  }

  /** Keep what the command left on the ALB for the next command of this stack. */
  leave(name: StackName): void {
    this.stack(name).rules = alb.rules;
  }

  /** SSM and CloudWatch answer per stack: the latch and the alarms of this world. */
  answer(): void {
    for (const stack of STACKS) {
      ssm.on(GetParameterCommand, { Name: latchParameterName(stack) }).callsFake(() => {
        if (this.latched.has(stack)) return { Parameter: { Value: JSON.stringify(latchOf(stack)) } };
        throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
      });
      ssm.on(DeleteParameterCommand, { Name: latchParameterName(stack) }).callsFake(() => {
        this.latched.delete(stack);
        return {};
      });
      cloudwatch
        .on(DescribeAlarmsCommand, { AlarmNamePrefix: alarmNamePrefix(stack) })
        .callsFake(() => firing(...(this.firing.get(stack) ?? [])));
    }
    cloudwatch.on(GetMetricDataCommand).callsFake(healthyMetrics);
  }
}

const latchOf = (stack: StackName) => ({ ...latch, alarm: compositeAlarmName(stack) });

/** Every role of every phase up to `phase` signed, each by its own person. */
function allSignoffs(playbookId: string, phase: string): Record<string, Record<string, object>> {
  const playbook = loadPlaybook(playbookId);
  const upTo = playbook.phases.slice(0, playbook.phases.findIndex((p) => p.id === phase) + 1);
  return Object.fromEntries(
    upTo.map((p) => [
      p.id,
      Object.fromEntries(
        requiredRoles(playbook, p.id).map((role) => [
          role,
          { approver: `${role}.person`, at: "2026-11-20T09:00:00Z" },
        ]),
      ),
    ]),
  );
}

/** The situations a block can start in (`<!-- replay: NAME -->` before its fence). */
const SCENES: Record<string, () => World> = {
  /** Production before the rollout: preparation, green deployed at 0 %, nothing decided or signed. */
  "tbs-preparation": () =>
    new World({ production: { phase: "preparation", greenWeight: "0", decisions: [], signoffs: {} } }),
  /**
   * Production as committed (limited-pilot: the cohort on green by header and cookie) after the
   * rollback Lambda acted: every listener rule on blue, the latch written, the alarm back to OK.
   */
  "automatic-rollback": () => automaticRollback([]),
  /** The same, with the composite rollback alarm still in ALARM. */
  "automatic-rollback-firing": () => automaticRollback([compositeAlarmName("production")]),
  /** Production at the end of a release: phase full, 100 % green, every GO and sign-off recorded. */
  "release-at-full": () => {
    const playbook = loadPlaybook("tbs-strategy-framework");
    return new World({
      production: {
        phase: "full",
        greenWeight: "100",
        decisions: approvedDecisions(playbook, "full"),
        signoffs: allSignoffs(playbook.id, "full"),
      },
    });
  },
};

function automaticRollback(alarms: string[]): World {
  const world = new World();
  const production = world.stack("production");
  serveAlb({ ...production.backend.raw, rollback: "true" }, "production");
  world.leave("production");
  world.latched.add("production");
  world.firing.set("production", alarms);
  return world;
}

/**
 * CloudWatch for a healthy green: each metric its healthy figure (in CloudWatch's units), one
 * datapoint per query; a metric not listed has no data ("not measured").
 */
const HEALTHY: Record<string, number> = {
  RowsPerSecond: 40_000,
  RequestCount: 100_000,
  HTTPCode_Target_5XX_Count: 100,
  TargetResponseTime: 0.12,
  HealthyHostCount: 3,
  SessionSuccessRate: 99.5,
  pod_cpu_utilization_over_pod_limit: 40,
  pod_memory_utilization_over_pod_limit: 50,
  UptimePercent: 99.95,
  DataIntegrityErrors: 0,
  DbConnectionFailures: 0,
};

function healthyMetrics(input: GetMetricDataCommandInput) {
  return {
    MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
      const value = HEALTHY[q.MetricStat?.Metric?.MetricName ?? ""];
      return { Id: q.Id, Values: value === undefined ? [] : [value], StatusCode: "Complete" as const };
    }),
  };
}

// ---------------------------------------------------------------------------------------
// Checks of form: placeholders, pulumi, other programs

const PLACEHOLDER = /<[A-Za-z][\w .:/-]*>|^\.\.\.$|^[A-Z_]+=?\.\.\.$/;

function placeholderProblems(command: DocCommand): string[] {
  return command.words.filter((w) => PLACEHOLDER.test(w)).map((w) => `placeholder ${JSON.stringify(w)}`);
}

const SCRIPTS = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: object }).scripts,
);

/** `pulumi` subcommands the docs may show (what they do is Pulumi's; the form is checked). */
const PULUMI_COMMANDS = [
  "up",
  "preview",
  "config",
  "stack",
  "login",
  "refresh",
  "policy",
  "whoami",
  "cancel",
];

/** The value of `-s X`, `--stack X` or `--stack=X`. */
function stackFlag(words: string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "-s" || words[i] === "--stack") return words[i + 1];
    if (words[i]!.startsWith("--stack=")) return words[i]!.slice("--stack=".length);
  }
  return undefined;
}

/** Problems of one `pulumi` command; `selected` is the stack a `pulumi stack select` before it chose. */
function pulumiProblems(w: string[], selected: string | undefined): string[] {
  const sub = w[1] ?? "";
  if (!PULUMI_COMMANDS.includes(sub))
    return [`pulumi ${sub}: not a command the docs may show (${PULUMI_COMMANDS.join(", ")})`];
  const problems: string[] = [];
  if (sub === "up" || sub === "preview") {
    if (!w.includes("--refresh"))
      problems.push(`pulumi ${sub} without --refresh (the rollback Lambda moves weights outside Pulumi)`);
    const pack = w.indexOf("--policy-pack");
    if (pack < 0 || w[pack + 1] !== "policies") problems.push(`pulumi ${sub} without --policy-pack policies`);
    const stack = stackFlag(w) ?? selected;
    if (stack === undefined)
      problems.push(`pulumi ${sub}: name the stack (-s) or select it earlier in the block`);
    else if (fs.existsSync(path.join(ROOT, "policies", "config", `${stack}.json`))) {
      const config = w.indexOf("--policy-pack-config");
      if (config < 0 || w[config + 1] !== `policies/config/${stack}.json`)
        problems.push(`pulumi ${sub} on ${stack} without --policy-pack-config policies/config/${stack}.json`);
    }
  }
  if (sub === "config" && (w[2] === "set" || w[2] === "rm")) {
    const args = w
      .slice(3)
      .filter((x, i, all) => !x.startsWith("-") && all[i - 1] !== "-s" && all[i - 1] !== "--stack");
    const key = args[0] ?? "";
    const nested = /[.[]/.test(key.slice(key.indexOf(":") + 1));
    if (key === "aws:region") return problems;
    const match = /^rollout:([A-Za-z]\w*)/.exec(key);
    if (!match)
      problems.push(`pulumi config ${w[2]} ${key}: only rollout:<key> and aws:region are documented`);
    else if (!(CONFIG_KEYS as string[]).includes(match[1]!))
      problems.push(`pulumi config ${w[2]} ${key}: rollout:${match[1]} is no key rollout/config.ts accepts`);
    if (nested && !w.includes("--path"))
      problems.push(`pulumi config ${w[2]} ${key}: a nested key needs --path`);
  }
  return problems;
}

/** Programs shown as they are, not replayed (see the header). */
const ALLOWED_AS_WRITTEN = ["git", "aws", "read", "export"];

/** How a command is replayed: through runCli (its argv), or checked only (its problems). */
type Replay = { argv: string[] } | { problems: string[] };

function classify(command: DocCommand, selected: string | undefined): Replay {
  const placeholders = placeholderProblems(command);
  if (placeholders.length > 0) return { problems: placeholders };
  // `id=$(aws ...)`: the command substituted is what runs; `name=value` alone is an assignment.
  const first = command.words[0] ?? "";
  if (/^\w+=/.test(first) && !/^\w+=\$\(/.test(first) && command.words.length === 1) return { problems: [] };
  const w = /^\w+=\$\(/.test(first)
    ? command.words
        .join(" ")
        .replace(/^\w+=\$\(/, "")
        .replace(/\)$/, "")
        .split(" ")
    : command.words;
  const [program, ...rest] = w;
  if (program === "npm") {
    if (rest[0] === "ci" || rest[0] === "test")
      return { problems: rest.length > 1 ? [`npm ${rest[0]} takes no arguments here`] : [] };
    if (rest[0] !== "run")
      return { problems: [`npm ${rest[0]}: only npm ci, npm test and npm run are documented`] };
    // npm's own flags come before the script's name: `npm run -s rollout -- status -s production`.
    const named = rest.findIndex((x, i) => i > 0 && x !== "-s" && x !== "--silent");
    const [script, dashes, ...cliArgs] = rest.slice(named);
    if (!SCRIPTS.includes(script ?? ""))
      return { problems: [`npm run ${script}: no such script in package.json`] };
    if (dashes !== undefined && dashes !== "--")
      return { problems: [`npm run ${script} ${dashes}: npm passes arguments to the script only after --`] };
    if (script === "plan") return { argv: ["plan", ...cliArgs] };
    if (script === "rollout") return { argv: cliArgs };
    return { problems: cliArgs.length > 0 ? [`npm run ${script}: arguments are not replayed`] : [] };
  }
  if (program === "pulumi") return { problems: pulumiProblems(w, selected) };
  if (program !== undefined && ALLOWED_AS_WRITTEN.includes(program)) return { problems: [] };
  return {
    problems: [`${program}: not a program the docs may run (npm, pulumi, ${ALLOWED_AS_WRITTEN.join(", ")})`],
  };
}

// ---------------------------------------------------------------------------------------
// Replay

const svgDir = fs.mkdtempSync(path.join(os.tmpdir(), "doc-replay-"));

/** `--svg docs/pictures/x.svg` -> `--svg <tmp>/x.svg`. */
const redirectSvg = (argv: string[]) =>
  argv.map((a, i) => (argv[i - 1] === "--svg" ? path.join(svgDir, path.basename(a)) : a));

const planRuns = new Map<string, { code: number; lines: string[] }>();

interface Ran {
  code: number;
  lines: string[];
}

async function replay(argv: string[], world: World): Promise<Ran> {
  argv = redirectSvg(argv);
  const stack = stackFlag(argv);
  const live = stack !== undefined && argv[0] !== "plan";
  if (!live) {
    // `plan` alone plans staging, as `plan --stack staging` does: one run for both.
    const key = (argv[0] === "plan" && argv.length === 1 ? ["plan", "--stack", "staging"] : argv).join(
      "\u0000",
    );
    const cached = argv[0] === "plan" ? planRuns.get(key) : undefined;
    if (cached) return cached;
    const out = bufferOutput();
    const code = await runCli(argv, out);
    const ran = { code, lines: [...out.lines, ...out.errors] };
    if (argv[0] === "plan") planRuns.set(key, ran);
    return ran;
  }
  assert.ok(
    (STACKS as readonly string[]).includes(stack),
    `--stack ${stack}: the docs use staging or production`,
  );
  const name = stack as StackName;
  const ctx = world.enter(name);
  const out = ctx.out as ReturnType<typeof bufferOutput>;
  out.lines.length = 0;
  out.errors.length = 0;
  // Each command is a process of its own: a context without the previous command's change log.
  const { changes: _changes, ...fresh } = ctx;
  let context: CommandContext = fresh;
  if (argv.includes("--watch")) {
    // Ctrl-C after the second poll.
    const interrupt = new AbortController();
    let polls = 0;
    context = {
      ...fresh,
      signal: interrupt.signal,
      sleep: async (ms) => {
        await ctx.sleep(ms);
        if (++polls >= 2) interrupt.abort();
      },
    };
  }
  const factory: LiveContextFactory = () => context;
  const code = await runCli(argv, out, factory);
  world.leave(name);
  return { code, lines: [...out.lines, ...out.errors] };
}

const blocks = allDocBlocks();

beforeEach(resetAwsMocks);

describe("every command in README.md and docs/ runs as written", () => {
  it("finds the documentation's commands", () => {
    const replayed = blocks.flatMap((b) => b.commands).filter((c) => /^npm run/.test(c.text));
    assert.ok(
      blocks.some((b) => b.file === "README.md"),
      "README.md has command blocks",
    );
    assert.ok(replayed.length >= 30, `only ${replayed.length} npm run commands found`);
  });

  it("names only scenes that exist", () => {
    for (const block of blocks)
      if (block.scene)
        assert.ok(SCENES[block.scene], `${block.file}:${block.line}: unknown scene ${block.scene}`);
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line} (${block.commands.length} commands${block.scene ? `, scene ${block.scene}` : ""})`, async () => {
      await replayBlock(block);
    });
  }
});

async function replayBlock(block: DocBlock): Promise<void> {
  const world = block.scene ? SCENES[block.scene]!() : new World();
  world.answer();
  let selected: string | undefined;
  for (const command of block.commands) {
    // `pulumi stack select S` and `pulumi stack init S` choose the stack later commands act on.
    const [tool, noun, verb, stack] = command.words;
    if (tool === "pulumi" && noun === "stack" && (verb === "select" || verb === "init")) selected = stack;
    const how = classify(command, selected);
    if ("problems" in how) {
      assert.deepEqual(how.problems, [], `${command.where}: ${command.text}`);
      continue;
    }
    const ran = await replay(how.argv, world);
    assert.equal(
      ran.code,
      command.expectedExit,
      `${command.where}: ${command.text}\nexit ${ran.code}, the doc says ${command.expectedExit}\n${ran.lines.join("\n")}`,
    );
    const printed = new Set(ran.lines.flatMap((l) => l.split("\n")).map((l) => l.trimEnd()));
    for (const shown of command.shownOutput)
      assert.ok(
        printed.has(shown.trimEnd()),
        `${command.where}: ${command.text}\nthe doc shows a line it does not print: ${shown}\n${ran.lines.join("\n")}`,
      );
  }
}

describe("the replay's own rules", () => {
  const check = (text: string, selected?: string) => {
    const command: DocCommand = {
      where: "x",
      text,
      words: text.split(" "),
      comment: "",
      expectedExit: 0,
      shownOutput: [],
    };
    return classify(command, selected);
  };

  it("refuses an up without --refresh or the pack, and the stack's pack config", () => {
    assert.deepEqual(check("pulumi up -s production"), {
      problems: [
        "pulumi up without --refresh (the rollback Lambda moves weights outside Pulumi)",
        "pulumi up without --policy-pack policies",
        "pulumi up on production without --policy-pack-config policies/config/production.json",
      ],
    });
    assert.deepEqual(check("pulumi up --refresh --policy-pack policies"), {
      problems: ["pulumi up: name the stack (-s) or select it earlier in the block"],
    });
    assert.deepEqual(
      check(
        "pulumi up --refresh --policy-pack policies --policy-pack-config policies/config/staging.json",
        "staging",
      ),
      { problems: [] },
    );
  });

  it("refuses config keys rollout/config.ts does not accept, and nested keys without --path", () => {
    assert.deepEqual(check("pulumi config set rollout:greenWieght 10 -s staging"), {
      problems: [
        "pulumi config set rollout:greenWieght: rollout:greenWieght is no key rollout/config.ts accepts",
      ],
    });
    assert.deepEqual(check("pulumi config set rollout:cohorts.users[0] anna -s staging"), {
      problems: ["pulumi config set rollout:cohorts.users[0]: a nested key needs --path"],
    });
    assert.deepEqual(check("pulumi config set --path rollout:cohorts.users[0] anna -s staging"), {
      problems: [],
    });
  });

  it("refuses placeholders, unknown programs and npm flags before --", () => {
    assert.deepEqual(check("npm run rollout -- status --stack <stack>"), {
      problems: ['placeholder "<stack>"'],
    });
    assert.deepEqual(check("curl https://example.com"), {
      problems: ["curl: not a program the docs may run (npm, pulumi, git, aws, read, export)"],
    });
    assert.deepEqual(check("npm run plan --stack production"), {
      problems: ["npm run plan --stack: npm passes arguments to the script only after --"],
    });
    assert.deepEqual(check("npm run -s rollout -- status --stack production --json"), {
      argv: ["status", "--stack", "production", "--json"],
    });
  });

  it("fails a command that exits otherwise than its doc says, or a transcript line it does not print", async () => {
    const [wrongExit] = docBlocks("x.md", "```sh\nnpm run rollout -- plna --stack production\n```\n");
    await assert.rejects(replayBlock(wrongExit!), /exit 2, the doc says 0/);
    const [wrongLine] = docBlocks(
      "x.md",
      "```console\n$ npm run rollout -- gates --playbook tbs-strategy-framework --from internal --evidence test/fixtures/evidence/internal-go.yaml\ndecision: NO-GO\n```\n",
    );
    await assert.rejects(replayBlock(wrongLine!), /the doc shows a line it does not print: decision: NO-GO/);
  });

  it("reads # exits N, && and continuation lines as the shell does", () => {
    const commands = shellCommands(
      'npm ci && npm run plan   # exits 1: a violation\nnpm run rollout -- rollback --stack production \\\n  --reason "p95 # high"',
      (n) => `line ${n}`,
    );
    assert.deepEqual(
      commands.map((c) => [c.words, c.expectedExit, c.where]),
      [
        [["npm", "ci"], 1, "line 0"],
        [["npm", "run", "plan"], 1, "line 0"],
        [
          ["npm", "run", "rollout", "--", "rollback", "--stack", "production", "--reason", "p95 # high"],
          0,
          "line 1",
        ],
      ],
    );
  });
});

/** Keep the committed stack files' keys in view: the scenes change only what they name. */
it("the scenes start from the committed stack files", () => {
  const committed = rolloutKeys(loadStackFile("production").config);
  const world = SCENES["automatic-rollback"]!();
  assert.deepEqual(world.stack("production").backend.raw, committed);
});
