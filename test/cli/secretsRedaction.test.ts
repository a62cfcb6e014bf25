import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import * as yaml from "js-yaml";
import type { AutomationStack, SelectStack } from "../../cli/backend";
import { planStack } from "../../cli/offlinePlan";
import { bufferOutput } from "../../cli/output";
import { automationLiveContext, runCli } from "../../cli/rollout";
import { runPoliciesOffline } from "../../policies/offline";
import type { Policy } from "../../policies/rules/util";
import { loadStackFile } from "../../rollout/loaders";
import { configSecretValues, redactSecrets, registerSecrets, withSecretScope } from "../../rollout/redaction";
import { describeReceived } from "../../rollout/validation";
import { FakeBackend, resetAwsMocks, serveAlb, revisionClaims } from "../support/liveStack";
import { rolloutKeys } from "../../rollout/stackFile";

/**
 * Issue 12: every value Pulumi marks secret is redacted from every message, whatever its key,
 * with decrypted values. The live commands get them as the Automation API's getAllConfig gives
 * them (`{value, secret}`, decrypted; a fake stack here), with the stack file beside them for the
 * `secure:` paths; the offline plan from a stack file carrying decrypted values. Each test asserts
 * the secret appears nowhere on stdout or stderr, text or --json.
 */

beforeEach(resetAwsMocks);

const ROOT = path.resolve(__dirname, "../..");
const MASTER = "Zq7-hunter2!Vault#9x"; // a valid RDS master password: what database.password decrypts to
const APP = "app-Secret-77!";
const HEAVY = "heavy-ro-Secret-55";
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

type Config = Record<string, unknown>;

/** The committed staging stack file, its config changed by `edit`, written to a fresh directory. */
function stackDir(edit: (config: Config) => void): string {
  const doc = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")) as {
    config: Config;
  };
  edit(doc.config);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-"));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), yaml.dump(doc));
  return dir;
}

const secure = (label: string) => ({ secure: `v1:${Buffer.from(label).toString("base64")}` });

/**
 * The Automation API's view of a stack file: each top-level key's value as a string (objects as
 * JSON), `secret` when any value inside was `secure:`, every secure value decrypted (`plain`,
 * by its ciphertext's label).
 */
function automationConfig(
  dir: string,
  plain: Record<string, string>,
): Record<string, { value: string; secret?: boolean }> {
  const doc = yaml.load(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8")) as { config: Config };
  let secret = false;
  const decrypt = (v: unknown): unknown => {
    if (v !== null && typeof v === "object" && "secure" in v) {
      secret = true;
      const label = Buffer.from(String((v as { secure: string }).secure).slice(3), "base64").toString();
      return plain[label] ?? `decrypted-${label}`;
    }
    if (Array.isArray(v)) return v.map(decrypt);
    if (v !== null && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decrypt(x)]));
    return v;
  };
  return Object.fromEntries(
    Object.entries(doc.config).map(([key, raw]) => {
      secret = false;
      const value = decrypt(raw);
      const flagged = secret as boolean; // set by decrypt
      return [
        key,
        {
          value: typeof value === "string" ? value : JSON.stringify(value),
          ...(flagged ? { secret: true } : {}),
        },
      ];
    }),
  );
}

/** The committed staging's secure values, as labels the fake decrypts. */
function withStagingSecrets(config: Config): void {
  const db = config["rollout:database"] as Config;
  db.password = secure("password");
  db.appPassword = secure("appPassword");
  (config["rollout:heavydb"] as Config).readOnlyPassword = secure("readOnlyPassword");
}
const STAGING_PLAIN = { password: MASTER, appPassword: APP, readOnlyPassword: HEAVY };

/** A fake Automation API stack over `dir`'s stack file; its `up` prints `upLines` and fails. */
function fakeStack(dir: string, plain: Record<string, string>, upLines: string[] = []) {
  const config = automationConfig(dir, plain);
  const stack: AutomationStack = {
    getAllConfig: async () => structuredClone(config),
    setAllConfig: async (entries, usePath) => {
      if (!usePath)
        for (const [k, { value }] of Object.entries(entries))
          config[k] = { value, secret: config[k]?.secret };
    },
    removeAllConfig: async () => {},
    up: async (options) => {
      for (const line of upLines) options.onOutput(`${line}\n`);
      return { summary: { result: "failed" }, outputs: {} };
    },
    outputs: async () =>
      Object.fromEntries(
        Object.entries(await new FakeBackend("staging", {}).outputs()).map(([k, value]) => [k, { value }]),
      ),
  };
  const select: SelectStack = async () => stack;
  return { config, select };
}

/** Runs the CLI against the fake stack in `dir`; returns the exit code and everything printed. */
async function live(argv: string[], dir: string, plain: Record<string, string>, upLines: string[] = []) {
  const { select, config } = fakeStack(dir, plain, upLines);
  // A fresh stack each run: no revision claimed by an earlier run's write.
  revisionClaims.clear();
  // The ALB serves the config's plan when the config is valid (the shift test); an invalid one is the test.
  try {
    serveAlb(
      rolloutKeys(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]))),
      "staging",
    );
  } catch {
    // refused by the command itself, which is what the test checks
  }
  const out = bufferOutput();
  const code = await runCli(argv, out, automationLiveContext(select, dir));
  return {
    code,
    stdout: out.lines.join("\n"),
    stderr: out.errors.join("\n"),
    all: [...out.lines, ...out.errors].join("\n"),
  };
}

/** The secret, its JSON-escaped forms, and a 12-character start of it: none may be printed. */
function assertNeverPrinted(text: string, secret: string): void {
  const escaped = JSON.stringify(secret).slice(1, -1);
  assert.ok(!text.includes(secret), `the secret was printed:\n${text}`);
  assert.ok(!text.includes(escaped), `the secret's JSON form was printed:\n${text}`);
  assert.ok(!text.includes(secret.slice(0, 12)), `the start of the secret was printed:\n${text}`);
}

describe("secrets are redacted by value, whatever their key (live commands, decrypted by the Automation API)", () => {
  it("a secret under rollout:database.masterPassword (an unknown key): named, never printed, text and --json", async () => {
    const hidden = 'Tr1ck"y\\pass\u00e9-Mast3r'; // a quote and a backslash: its JSON form differs
    const dir = stackDir((config) => {
      withStagingSecrets(config);
      (config["rollout:database"] as Config).masterPassword = secure("masterPassword");
    });
    const plain = { ...STAGING_PLAIN, masterPassword: hidden };
    for (const json of [false, true]) {
      const run = await live(["status", "--stack", "staging", ...(json ? ["--json"] : [])], dir, plain);
      assert.equal(run.code, 2, run.all);
      assert.match(run.stderr, /rollout:database\.masterPassword: unknown key \(a typo\?\), got \[secret\]/);
      assertNeverPrinted(run.all, hidden);
      if (json) {
        const line = JSON.parse(run.stdout) as { error: string; exitCode: number };
        assert.equal(line.exitCode, 2);
        assert.match(line.error, /masterPassword/);
      }
    }
  });

  it("a password pasted into username (a plain value equal to a secret) and into greenWeight: [secret] in the zod errors", async () => {
    const dir = stackDir((config) => {
      withStagingSecrets(config);
      (config["rollout:database"] as Config).username = MASTER;
      config["rollout:greenWeight"] = MASTER;
    });
    const run = await live(["status", "--stack", "staging"], dir, STAGING_PLAIN);
    assert.equal(run.code, 2, run.all);
    assert.match(run.stderr, /rollout:database\.username: .*got \[secret\]/);
    assert.match(run.stderr, /rollout:greenWeight: .*got \[secret\]/);
    assertNeverPrinted(run.all, MASTER);
  });

  it("a secret inside a JSON object config value: never printed, not even the part a shortened value would show", async () => {
    const long = `kubeconfig-${"k".repeat(40)}-SECRET-${"z".repeat(40)}`;
    const dir = stackDir((config) => {
      withStagingSecrets(config);
      // A list where an object belongs: the message prints the value, shortened to 80 characters.
      config["rollout:cluster"] = [{ kubeconfig: secure("kubeconfig"), name: "tbs-staging" }];
    });
    const run = await live(["status", "--stack", "staging", "--json"], dir, {
      ...STAGING_PLAIN,
      kubeconfig: long,
    });
    assert.equal(run.code, 2, run.all);
    // Pulumi marks the whole of rollout:cluster secret (one value inside is): its JSON is a secret too.
    assert.match(run.stderr, /rollout:cluster: expected object, got \[secret\]$/m);
    assertNeverPrinted(run.all, long);
  });

  it("a policy violation in pulumi up's output (text and JSON lines) never shows the secret", async () => {
    const dir = stackDir(withStagingSecrets);
    const upLines = [
      `    mandatory: [rds-master-password] password "${MASTER}" is in the plan's inputs`,
      JSON.stringify({ policy: "heavydb", message: `read-only password ${HEAVY} found` }),
      `diagnostic: app user connects with ${APP}`,
    ];
    for (const json of [false, true]) {
      const run = await live(
        ["shift", "--stack", "staging", "--to", "5", "--step", "5", ...(json ? ["--json"] : [])],
        dir,
        STAGING_PLAIN,
        upLines,
      );
      assert.match(run.all, /rds-master-password\] password "\[secret\]"/, run.all);
      assert.match(run.all, /read-only password \[secret\] found/);
      for (const secret of [MASTER, HEAVY, APP]) assertNeverPrinted(run.all, secret);
    }
  });

  it("each run has its own secrets: a later command does not redact the earlier stack's values", async () => {
    const dir = stackDir(withStagingSecrets);
    await live(["status", "--stack", "staging"], dir, {
      ...STAGING_PLAIN,
      password: "tbs-strategy-framework",
    });
    const out = bufferOutput();
    await runCli(
      [
        "gates",
        "--playbook",
        "tbs-strategy-framework",
        "--from",
        "internal",
        "--evidence",
        "/nonexistent.yaml",
      ],
      out,
    );
    assert.match(out.errors.join("\n"), /--evidence: no such file/);
    assert.equal(redactSecrets("tbs-strategy-framework"), "tbs-strategy-framework");
  });
});

describe("configSecretValues: what the Automation API marks secret, narrowed by the stack file's secure: paths", () => {
  const all = {
    "rollout:database": {
      value: JSON.stringify({ engine: "mysql", password: MASTER, port: 3306 }),
      secret: true,
    },
    "rollout:phase": { value: "internal" },
    "rollout:token": { value: "t0ken-whole", secret: true },
  };
  it("the secure paths' values, and a whole secret scalar", () => {
    assert.deepEqual(
      configSecretValues(all, ["rollout:database.password", "rollout:token"]).sort(),
      [all["rollout:database"].value, MASTER, "t0ken-whole"].sort(),
    );
  });
  it("without paths, every text value of a secret object (not its numbers)", () => {
    assert.deepEqual(
      configSecretValues(all).sort(),
      [all["rollout:database"].value, MASTER, "mysql", "t0ken-whole"].sort(),
    );
  });
});

describe("secrets in the offline plan (a stack file carrying decrypted values) and the policy pack", () => {
  it("a secret echoed by a policy's violation message is redacted", async () =>
    withSecretScope(async () => {
      registerSecrets([MASTER]);
      const echo: Policy = {
        name: "echo-password",
        description: "reports the password it saw",
        enforcementLevel: "mandatory",
        validateResource: (args, report) =>
          report(`password ${String((args.props as { password?: string }).password)} is weak`),
      };
      const violations = await runPoliciesOffline(
        [{ type: "aws:rds/instance:Instance", name: "db", inputs: { password: MASTER } }],
        { stack: "staging", policyConfig: {} },
        [echo],
      );
      assert.equal(violations[0]?.message, "password [secret] is weak");
    }));

  it("the plan's result (what --json prints) holds no decrypted secret, wherever the program put it", async () =>
    withSecretScope(async () => {
      const file = loadStackFile("staging");
      const db = JSON.parse(file.config["rollout:database"]!) as Config;
      db.password = MASTER;
      db.appPassword = APP;
      const heavy = JSON.parse(file.config["rollout:heavydb"]!) as Config;
      heavy.readOnlyPassword = HEAVY;
      const decrypted = {
        ...file,
        config: {
          ...file.config,
          "rollout:database": JSON.stringify(db),
          "rollout:heavydb": JSON.stringify(heavy),
        },
        secretValues: [MASTER, APP, HEAVY],
      };
      const result = await planStack(decrypted, {}, { now: new Date("2026-11-29T00:00:00Z") });
      const text = redactSecrets(JSON.stringify(result, null, 2));
      for (const secret of [MASTER, APP, HEAVY])
        assertNeverPrinted(JSON.stringify(result.violations), secret);
      for (const secret of [MASTER, APP, HEAVY]) assertNeverPrinted(text, secret);
      // Unredacted, the resources themselves carry none either: secrets stay [secret] in a plan.
      for (const secret of [MASTER, APP, HEAVY]) assertNeverPrinted(JSON.stringify(result.resources), secret);
    }));

  it("an invalid decrypted config names the key, never the value (the plan's zod errors)", async () =>
    withSecretScope(async () => {
      const file = loadStackFile("staging");
      const db = JSON.parse(file.config["rollout:database"]!) as Config;
      db.masterPassword = MASTER;
      db.username = MASTER;
      await assert.rejects(
        planStack({
          ...file,
          config: { ...file.config, "rollout:database": JSON.stringify(db) },
          secretValues: [MASTER],
        }),
        (error: Error) => {
          assert.match(
            error.message,
            /rollout:database\.masterPassword: unknown key \(a typo\?\), got \[secret\]/,
          );
          assert.match(error.message, /rollout:database\.username: .*got \[secret\]/);
          assertNeverPrinted(error.message, MASTER);
          return true;
        },
      );
    }));

  it("describeReceived redacts before it shortens: no cut leaves part of a secret", () =>
    withSecretScope(() => {
      const secret = `s3cr3t-${"x".repeat(70)}`;
      registerSecrets([secret]);
      const shown = describeReceived({ a: "padding-padding-padding", secret });
      assert.equal(shown, '{"a":"padding-padding-padding","secret":"[secret]"}');
      assert.equal(describeReceived(secret), "[secret]");
    }));
});
