import assert from "node:assert/strict";
import { memoryHistoryStore } from "../../cli/history";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import * as path from "node:path";
import { beforeEach, describe, it } from "node:test";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { SNSClient } from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { loadStackFile, PROJECT_ROOT } from "../../rollout/loaders";
import { automationBackend, type AutomationStack, type SelectStack } from "../../cli/backend";
import { bufferOutput, ignoreEpipe } from "../../cli/output";
import { automationLiveContext, runCli, type LiveContextFactory } from "../../cli/rollout";

/**
 * `runCli` end to end for the live commands: flags checked before Pulumi is touched, the
 * environment's failures as one line with exit 1, and each command reaching its handler
 * through the real Automation API backend over a fake stack.
 */

const elb = mockClient(ElasticLoadBalancingV2Client);
const cloudwatch = mockClient(CloudWatchClient);
const ssm = mockClient(SSMClient);

beforeEach(() => {
  elb.reset();
  cloudwatch.reset();
  ssm.reset();
  elb.on(DescribeRulesCommand).resolves({ Rules: [] });
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error("not found"), { name: "ParameterNotFound" }));
});

/** A stack holding Pulumi.staging.yaml's config; `selected` counts how often the backend selected it. */
function harness(select?: SelectStack) {
  const config = loadStackFile("staging").config;
  const stack: AutomationStack = {
    getAllConfig: async () => Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])),
    setAllConfig: async () => {},
    removeAllConfig: async () => {},
    up: async () => ({ summary: { result: "succeeded" }, outputs: {} }),
    outputs: async () => ({
      httpsListenerArn: { value: "arn:listener" },
      targetGroupArns: { value: {} },
    }),
  };
  const counts = { contexts: 0, selected: 0 };
  const factory: LiveContextFactory = (stackName, out) => {
    counts.contexts += 1;
    return {
      backend: automationBackend(stackName, "/repo", async (args) => {
        counts.selected += 1;
        return select ? select(args) : stack;
      }),
      aws: {
        elb: new ElasticLoadBalancingV2Client({}),
        cloudwatch: new CloudWatchClient({}),
        ssm: new SSMClient({}),
        sns: new SNSClient({}),
      },
      out,
      now: () => new Date("2026-11-22T10:00:00Z"),
      sleep: async () => {},
      history: memoryHistoryStore(stackName),
    };
  };
  return { factory, counts };
}

describe("runCli: bad input exits 2 before Pulumi is touched", () => {
  const cases: [string, string][] = [
    ["signoff bogus --stack staging", 'error: signoff: expected approve, revoke or status, got "bogus"'],
    [
      "rollback --stack staging",
      "error: --reason: expected why you are rolling back (stored as rollout:rollbackReason, sent to the critical topic), got nothing",
    ],
    [
      "rollback --stack staging --clear --reason x",
      'error: --clear: takes no --reason (got "x"); it ends a rollback',
    ],
    ["shift --stack staging --to ten", 'error: --to: expected an integer 0-100, got "ten"'],
    ["shift --stack staging --to 5 --step 0", 'error: --step: expected an integer 1-100, got "0"'],
    [
      "shift --stack staging --to 5 --interval soon",
      'error: --interval: expected a duration with its unit (s, m or h), such as 90s, 5m or 1h, got "soon"',
    ],
    ["signoff approve --stack staging", "error: --role: expected a role id such as qaEngineer, got nothing"],
    [
      "signoff approve --stack staging --role qaEngineer",
      "error: --approver: expected the name of the person approving, got nothing",
    ],
    ["status", "error: --stack: expected a stack name such as staging or production, got nothing"],
    // A word after the command: an error, with --stack suggested when it names a stack file.
    ["plan production", 'error: unexpected argument "production"; did you mean --stack production?'],
    ["status --stack staging now", 'error: unexpected argument "now"'],
    [
      "signoff approve production --stack staging --role qaEngineer --approver a",
      'error: unexpected argument "production"; did you mean --stack production?',
    ],
    // signoff: the missing action is said first, whatever else is missing.
    ["signoff", "error: signoff: expected approve, revoke or status, got nothing"],
    ["signoff --stack staging", "error: signoff: expected approve, revoke or status, got nothing"],
    // A flag the command (or its form) does not take.
    ["plan --to 50", "error: plan: unexpected flag --to; plan takes --stack, --config-file, --svg, --json"],
    [
      "drill --stack production",
      "error: offline drill (--scenario): unexpected flag --stack; offline drill (--scenario) takes --scenario, --svg, --json; live drill (--live) takes --live, --stack, --json",
    ],
    [
      "drill --live --stack staging --scenario s.yaml",
      "error: live drill (--live): unexpected flag --scenario; offline drill (--scenario) takes --scenario, --svg, --json; live drill (--live) takes --live, --stack, --json",
    ],
    [
      "gates --playbook tbs-strategy-framework --from internal --evidence e.yaml --record --stack production",
      "error: offline gates (--playbook): unexpected flags --record, --stack; offline gates (--playbook) takes --playbook, --from, --evidence, --json; success gates (--success) takes --playbook, --success, --evidence, --json; live gates (--stack) takes --stack, --evidence, --record, --approver, --json",
    ],
    [
      "gates --playbook tbs-strategy-framework --from internal --evidence e.yaml --approver a",
      "error: offline gates (--playbook): unexpected flag --approver; offline gates (--playbook) takes --playbook, --from, --evidence, --json; success gates (--success) takes --playbook, --success, --evidence, --json; live gates (--stack) takes --stack, --evidence, --record, --approver, --json",
    ],
    [
      "gates --stack staging --success",
      "error: success gates (--success): unexpected flag --stack; offline gates (--playbook) takes --playbook, --from, --evidence, --json; success gates (--success) takes --playbook, --success, --evidence, --json; live gates (--stack) takes --stack, --evidence, --record, --approver, --json",
    ],
    [
      "shift --stack staging --to 5 --reason r",
      "error: shift: unexpected flag --reason; shift takes --stack, --to, --step, --interval, --json",
    ],
    // --role and --phase are checked against the playbook Pulumi.<stack>.yaml names, before Pulumi.
    [
      "signoff approve --stack production --role ceo --approver a",
      'error: --role: unknown role "ceo"; expected one of devopsEngineer, qaEngineer, productManager, supportEngineer, engineeringManager, seniorDeveloper',
    ],
    [
      "signoff status --stack production --phase beta",
      'error: --phase: unknown phase "beta"; expected one of preparation, internal, limited-pilot, broader-pilot, readiness, full',
    ],
    // Local input is read before Pulumi: a missing evidence file is bad input, not "no Pulumi CLI".
    [
      "gates --stack production --evidence /nonexistent.yaml",
      "error: --evidence: no such file /nonexistent.yaml",
    ],
  ];
  for (const [args, message] of cases) {
    it(args, async () => {
      // Selecting would fail loudly: it must not happen at all.
      const { factory, counts } = harness(async () => {
        throw new Error("code: 255 stderr: error: no stack named 'staging' found");
      });
      const out = bufferOutput();
      assert.equal(await runCli(args.split(" "), out, factory), 2);
      assert.deepEqual(out.errors, [message]);
      assert.equal(counts.selected, 0);
    });
  }
});

describe("runCli: the environment's failures exit 1 with one line", () => {
  for (const command of [
    "status",
    "advance",
    "resume",
    "shift --to 5",
    "rollback --reason r",
    "signoff status",
  ]) {
    it(`${command}: no stack named`, async () => {
      const { factory } = harness(async () => {
        throw new Error("code: 255\n stdout: \n stderr: error: no stack named 'staging' found\n");
      });
      const out = bufferOutput();
      assert.equal(await runCli([...command.split(" "), "--stack", "staging"], out, factory), 1);
      assert.deepEqual(out.errors, [
        'error: no stack named "staging" in /repo on the current Pulumi backend: `pulumi login` to the backend that holds it, or `pulumi stack ls` to see the stacks there',
      ]);
    });
  }

  it("another Automation API failure: its CLI error line, not `code: 255`", async () => {
    const { factory } = harness(async () => {
      throw new Error("code: 255\n stdout: \n stderr: error: PULUMI_ACCESS_TOKEN must be set for login\n");
    });
    const out = bufferOutput();
    assert.equal(await runCli(["status", "--stack", "staging"], out, factory), 1);
    assert.deepEqual(out.errors, ["error: PULUMI_ACCESS_TOKEN must be set for login"]);
  });

  it("drill --live: Pulumi CLI missing", async () => {
    const { factory } = harness(async () => {
      throw new Error("spawn pulumi ENOENT");
    });
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--live", "--stack", "staging"], out, factory), 1);
    assert.deepEqual(out.errors, [
      "error: the Pulumi CLI was not found on PATH: live commands run `pulumi` through the Automation API; install the Pulumi CLI and log in to the stack's backend",
    ]);
  });
});

describe("runCli: unknown commands", () => {
  it("a name Object.prototype has is an unknown command too", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["toString"], out), 2);
    assert.equal(
      out.errors[0]!.split("\n")[0],
      'unknown command "toString"; expected one of plan, gates, drill, status, advance, shift, rollback, resume, restore, finish, start, history, signoff',
    );
  });
});

describe("runCli --json: an error is also one JSON line on stdout", () => {
  it("environment failure: exit 1, the error line on stdout and stderr", async () => {
    const { factory } = harness(async () => {
      throw new Error("spawn pulumi ENOENT");
    });
    const out = bufferOutput();
    assert.equal(await runCli(["status", "--stack", "staging", "--json"], out, factory), 1);
    const message =
      "the Pulumi CLI was not found on PATH: live commands run `pulumi` through the Automation API; install the Pulumi CLI and log in to the stack's backend";
    assert.deepEqual(out.lines, [JSON.stringify({ error: message, exitCode: 1 })]);
    assert.deepEqual(out.errors, [`error: ${message}`]);
  });

  it("bad input: exit 2, the same shape", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "production", "--json"], out), 2);
    assert.deepEqual(out.lines, [
      JSON.stringify({
        error: 'unexpected argument "production"; did you mean --stack production?',
        exitCode: 2,
      }),
    ]);
  });

  it("a flag no command knows: exit 2, the same shape", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["status", "--bogus", "--json"], out), 2);
    // Node's parseArgs words the message; the JSON carries the same first line as stderr.
    assert.equal(out.lines.length, 1);
    assert.deepEqual(JSON.parse(out.lines[0]!), { error: out.errors[0]!.split("\n")[0], exitCode: 2 });
    assert.match(out.errors[0]!, /^unknown flag --bogus for status\n\nusage: npm run rollout -- status/);
  });

  it("without --json stdout stays empty", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "production"], out), 2);
    assert.deepEqual(out.lines, []);
  });
});

describe("ignoreEpipe: `rollout ... | head`", () => {
  it("EPIPE on stdout exits quietly", () => {
    const stream = new EventEmitter();
    let exits = 0;
    ignoreEpipe(stream, () => (exits += 1));
    stream.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    assert.equal(exits, 1);
  });

  it("the real CLI: its reader gone at once, it exits 0 with nothing on stderr", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "cli/rollout.ts",
        "drill",
        "--scenario",
        "test/fixtures/drills/tbs-error-rate-8pct.yaml",
      ],
      { cwd: path.join(__dirname, "..", ".."), stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout.destroy(); // `| head` that has read enough: every write now fails with EPIPE
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(stderr, "");
    assert.equal(code, 0);
  });

  it("any other stream error is thrown", () => {
    const stream = new EventEmitter();
    let exits = 0;
    ignoreEpipe(stream, () => (exits += 1));
    assert.throws(
      () => stream.emit("error", Object.assign(new Error("write EIO"), { code: "EIO" })),
      /write EIO/,
    );
    assert.equal(exits, 0);
  });
});

describe("runCli: live commands reach their handlers", () => {
  it("signoff status --stack staging --json", async () => {
    const { factory, counts } = harness();
    const out = bufferOutput();
    assert.equal(
      await runCli(
        ["signoff", "status", "--stack", "staging", "--phase", "internal", "--json"],
        out,
        factory,
      ),
      0,
    );
    assert.deepEqual(JSON.parse(out.text()).required, ["devopsEngineer", "qaEngineer"]);
    assert.deepEqual(counts, { contexts: 1, selected: 1 });
  });

  it("gates --stack goes live; gates --playbook stays offline (no context made)", async () => {
    const { factory, counts } = harness();
    const out = bufferOutput();
    const offline = ["gates", "--playbook", "tbs-strategy-framework", "--from", "internal"];
    assert.equal(await runCli([...offline, "--evidence", "/nonexistent.yaml"], out, factory), 2);
    assert.match(out.errors[0]!, /^error: --evidence: /);
    assert.equal(counts.contexts, 0);
    assert.equal(await runCli(["gates", "--stack", "staging", "--json"], bufferOutput(), factory), 1);
    assert.deepEqual(counts, { contexts: 1, selected: 1 });
  });

  it("rollback --clear with rollback already false says so", async () => {
    const { factory } = harness();
    const out = bufferOutput();
    assert.equal(await runCli(["rollback", "--clear", "--stack", "staging"], out, factory), 0);
    assert.deepEqual(out.lines, ["rollout:rollback is already false on staging: nothing to clear"]);
  });

  it("--help lists every command and --approver once per command that takes it", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["--help"], out), 0);
    // gates (live) and finish take it.
    assert.equal(out.text().match(/\[--approver A\]/g)!.length, 2);
    for (const command of ["restore", "finish", "start", "history"])
      assert.match(out.text(), new RegExp(`^  ${command} `, "m"));
    assert.match(out.text(), /--stack S --clear/);
    assert.ok(
      out.lines[0]!.split("\n").includes(
        "  signoff   approve --role R --approver A | revoke --role R | status   --stack S [--phase P]",
      ),
      out.text(),
    );
    assert.match(out.text(), /npm run -s rollout -- \.\.\./);
  });
});

describe("runCli: refusals the stack file decides need no Pulumi (issue 13)", () => {
  /** The real live context over the repo's stack files, with a Pulumi that must not be reached. */
  function unreachablePulumi() {
    const counts = { selected: 0 };
    const factory = automationLiveContext(async () => {
      counts.selected += 1;
      throw new Error("spawn pulumi ENOENT");
    }, PROJECT_ROOT);
    return { factory, counts };
  }

  it("shift over the phase's cap (staging: broader-pilot, 10 %): refused, exit 1, Pulumi never selected", async () => {
    const { factory, counts } = unreachablePulumi();
    const out = bufferOutput();
    assert.equal(await runCli(["shift", "--stack", "staging", "--to", "50"], out, factory), 1);
    assert.match(out.text(), /50 % is above phase broader-pilot's cap of 10 %/);
    assert.equal(counts.selected, 0);
  });

  it("drill --live on a production-tier stack: refused, exit 1, Pulumi never selected", async () => {
    const { factory, counts } = unreachablePulumi();
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--live", "--stack", "production"], out, factory), 1);
    assert.match(
      out.text(),
      /stack production is production-tier; live drills run on staging-tier stacks only/,
    );
    assert.equal(counts.selected, 0);
  });
});

describe("runCli: finish and start refused from the stack file and the history (issue 13 review)", () => {
  it("finish from production's committed phase (limited-pilot) and start while release history says otherwise: exit 1, Pulumi never selected", async () => {
    const counts = { selected: 0 };
    const factory = automationLiveContext(async () => {
      counts.selected += 1;
      throw new Error("spawn pulumi ENOENT");
    }, PROJECT_ROOT);
    const out = bufferOutput();
    assert.equal(
      await runCli(
        ["finish", "--stack", "production", "--evidence", "docs/examples/evidence/tbs/success.yaml"],
        out,
        factory,
      ),
      1,
    );
    assert.deepEqual(out.lines, [
      "finish refused:",
      "  - phase limited-pilot: a release finishes from the last phase of tbs-strategy-framework, full; advance there first (`npm run rollout -- advance --stack production`)",
    ]);
    const started = bufferOutput();
    assert.equal(
      await runCli(
        ["start", "--stack", "production", "--image", "web=x@sha256:" + "a".repeat(64)],
        started,
        factory,
      ),
      1,
    );
    assert.equal(started.lines[0], "start refused:");
    assert.equal(counts.selected, 0);
  });
});
