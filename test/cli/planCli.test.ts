import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { triggerPicture } from "../../rollout/svg/triggerPicture";
import { bufferOutput } from "../../cli/output";
import { planCommand } from "../../cli/commands/plan";
import { runCli } from "../../cli/rollout";

/** The committed stack file's YAML. */
function committedStackFile(stack: string): { config: Record<string, unknown> } {
  return yaml.load(fs.readFileSync(loadStackFile(stack).file, "utf8")) as { config: Record<string, unknown> };
}

/** The committed stack file with `rollout:` keys replaced, written to a fresh directory as `fileName`. */
function stackFileCopy(stack: string, fileName: string, changes: Record<string, unknown> = {}): string {
  const doc = committedStackFile(stack);
  for (const [key, value] of Object.entries(changes)) doc.config[`rollout:${key}`] = value;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-")), fileName);
  fs.writeFileSync(file, yaml.dump(doc));
  return file;
}

describe("npm run plan", () => {
  it("prints the staging plan: phase, traffic, resources by type, triggers, no violations; exit 0", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan"], out), 0);
    const text = out.text();
    assert.match(text, /^stack staging - playbook tbs-strategy-framework - phase broader-pilot$/m);
    assert.match(text, /rollback latch: unknown/);
    assert.match(
      text,
      /^\s+web\s+90 %\s+10 %\s+18 rules: X-Pilot-User header \(10 users\), pilot_user cookie \(10 users\)$/m,
    );
    assert.match(text, /^\s+aws:lb\/listenerRule:ListenerRule\s+38$/m);
    // Every column of the trigger table has a header, the meets/MISSES one too.
    assert.match(text, /^ {2}trigger {17}worst case {2}limit {3}result {2}why$/m);
    assert.match(text, /^\s+errorRateSustained\s+6 min 5 s\s+15 min\s+meets/m);
    assert.match(text, /^policy violations: none$/m);
  });

  it("prints JSON for production with the contract's keys; exit 0", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--stack", "production", "--json"], out), 0);
    const plan = JSON.parse(out.text());
    assert.deepEqual(Object.keys(plan).sort(), [
      "deprecations",
      "latch",
      "phase",
      "playbook",
      "resources",
      "rollback",
      "stack",
      "traffic",
      "triggers",
      "violations",
    ]);
    assert.equal(plan.phase, "limited-pilot");
    assert.deepEqual(plan.violations, []);
    assert.deepEqual(Object.keys(plan.resources[0]).sort(), ["inputs", "name", "options", "type"]);
    // Each entry is {service, blue, green, cohortRoutes: [{match, headerName, values}]}: 8 users,
    // 3 per header rule; each user's cookie as the four exact patterns that match only
    // `pilot_user=<id>` in a Cookie header (whole header, first, last, middle), 3 values per rule.
    const users = ["devops.lead", "qa.lead", "product.manager"].concat(
      ["anna", "ben", "chen", "dara", "emil"].map((u) => `trader.${u}`),
    );
    const chunks = <T>(xs: T[], n: number) =>
      Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
    const cookieValues = users.flatMap((u) => [
      `pilot_user=${u}`,
      `pilot_user=${u};*`,
      `*; pilot_user=${u}`,
      `*; pilot_user=${u};*`,
    ]);
    const cohortRoutes = [
      ...chunks(users, 3).map((values) => ({ match: "header", headerName: "X-Pilot-User", values })),
      ...chunks(cookieValues, 3).map((values) => ({ match: "cookie", headerName: "Cookie", values })),
    ];
    assert.equal(cohortRoutes.length, 3 + 11);
    assert.deepEqual(plan.traffic, [
      { service: "web", priorityBlock: 1, blue: 100, green: 0, cohortRoutes },
      { service: "api", priorityBlock: 0, blue: 100, green: 0, cohortRoutes },
    ]);
    const listener = plan.resources.find((r: { name: string }) => r.name === "router-https");
    assert.equal(listener.type, "aws:lb/listener:Listener");
    const mysql = plan.resources.find((r: { name: string }) => r.name === "data-mysql");
    assert.equal(mysql.inputs.password, "[secret]");
    assert.deepEqual(Object.keys(plan.triggers[0]).sort(), [
      "explanation",
      "id",
      "limitSeconds",
      "meets",
      "name",
      "paths",
      "worstCaseSeconds",
    ]);
    assert.deepEqual(plan.triggers[0], {
      id: "performanceDegradation",
      name: "Performance degradation",
      limitSeconds: 900,
      worstCaseSeconds: 665,
      meets: true,
      explanation: "rowsPerSecond: 60-second metric, 10 x 60 s + 60 s evaluation + 5 s function (budget)",
      paths: [
        {
          gate: "rowsPerSecond",
          role: "own",
          seconds: 665,
          why: "rowsPerSecond: 60-second metric, 10 x 60 s + 60 s evaluation + 5 s function (budget)",
        },
      ],
    });
  });

  it("Telegram: every trigger meets on its own path; the GuardDuty backup net's 5 min is printed, not hidden", async () => {
    const file = stackFileCopy("staging", "Pulumi.staging.yaml", {
      playbook: "telegram-money-bot",
      phase: "staging-deployment",
      greenWeight: 0,
      decisions: "[]",
      signoffs: "{}",
    });
    const out = bufferOutput();
    await runCli(["plan", "--config-file", file], out);
    const text = out.text();
    for (const [id, worst, limit] of [
      ["criticalError", "25 s", "60 s"],
      ["systemFailure", "3 min 5 s", "5 min"],
      ["securityBreach", "7 s", "10 s"],
    ])
      assert.match(text, new RegExp(`^\\s+${id}\\s+${worst}\\s+${limit}\\s+meets\\s`, "m"), id);
    assert.doesNotMatch(text, /MISSES/);
    assert.match(text, /^ {2}securityBreach paths:$/m);
    assert.match(
      text,
      /^ {4}securityEvents: 7 s - securityEvents: security event put by the application, EventBridge delivery \(2 s budget, no AWS guarantee\) \+ 5 s function \(budget\)$/m,
    );
    assert.match(
      text,
      /^ {4}securityFindings \(second net, not judged\): 5 min 5 s - securityFindings: GuardDuty publishes/m,
    );
  });

  it("exit 1 for a config file over the phase's cap: prints the violation and still the full plan", async () => {
    // Production is in limited-pilot, which caps general traffic to green at 0 %.
    const file = stackFileCopy("production", "Pulumi.production.yaml", { greenWeight: 25 });
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file], out), 1);
    const text = out.text();
    assert.match(text, /^stack production - playbook tbs-strategy-framework - phase limited-pilot$/m);
    assert.match(
      text,
      /^\s+web\s+75 %\s+25 %\s+14 rules: X-Pilot-User header \(8 users\), pilot_user cookie \(8 users\)$/m,
    );
    assert.match(text, /^resources \(155\)$/m);
    assert.match(text, /^\s+aws:lb\/listenerRule:ListenerRule\s+30$/m);
    assert.match(
      text,
      /^ {2}\[mandatory\] rollout-traffic-within-phase-cap \(aws:lb\/listenerRule:ListenerRule::router-web-weighted\): listener rule router-web-weighted sends 25 % of general traffic to green but phase limited-pilot caps it at 0 %; run `pulumi config set rollout:greenWeight 0` and redeploy$/m,
    );

    const json = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file, "--json"], json), 1);
    const plan = JSON.parse(json.text());
    assert.equal(plan.stack, "production");
    const capViolations = plan.violations
      .filter((v: { policy: string }) => v.policy === "rollout-traffic-within-phase-cap")
      .sort((a: { resource: string }, b: { resource: string }) => a.resource.localeCompare(b.resource));
    assert.deepEqual(capViolations, [
      {
        policy: "rollout-traffic-within-phase-cap",
        enforcementLevel: "mandatory",
        message:
          "listener rule router-api-weighted sends 25 % of general traffic to green but phase limited-pilot caps it at 0 %; run `pulumi config set rollout:greenWeight 0` and redeploy",
        resource: "aws:lb/listenerRule:ListenerRule::router-api-weighted",
      },
      {
        policy: "rollout-traffic-within-phase-cap",
        enforcementLevel: "mandatory",
        message:
          "listener rule router-web-weighted sends 25 % of general traffic to green but phase limited-pilot caps it at 0 %; run `pulumi config set rollout:greenWeight 0` and redeploy",
        resource: "aws:lb/listenerRule:ListenerRule::router-web-weighted",
      },
      {
        policy: "rollout-traffic-within-phase-cap",
        enforcementLevel: "mandatory",
        message:
          "rollout:greenWeight is 25 % but phase limited-pilot of playbook tbs-strategy-framework caps green at 0 % of general traffic; run `pulumi config set rollout:greenWeight 0` (or advance to a phase that allows 25 %)",
        resource: "aws:ssm/parameter:Parameter::rollout-state",
      },
    ]);
  });

  it("takes the stack from a Pulumi.<stack>.yaml config file, and requires --stack for any other file name", async () => {
    const named = bufferOutput();
    assert.equal(
      await runCli(
        ["plan", "--config-file", stackFileCopy("production", "Pulumi.production.yaml"), "--json"],
        named,
      ),
      0,
    );
    assert.equal(JSON.parse(named.text()).stack, "production");
    const other = stackFileCopy("production", "prod-candidate.yaml");
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", other], out), 2);
    assert.deepEqual(out.errors, [
      `error: --stack: required with --config-file ${other}, whose name is not Pulumi.<stack>.yaml; expected e.g. --stack production`,
    ]);
    assert.equal(out.lines.length, 0);
    const given = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", other, "--stack", "production", "--json"], given), 0);
    assert.equal(JSON.parse(given.text()).stack, "production");
  });

  it("prints and carries AWS's dates as of an injected day: MySQL 8.0 past them, nodejs24.x near; exit 0", async () => {
    const database = committedStackFile("production").config["rollout:database"] as Record<string, unknown>;
    const file = stackFileCopy("production", "Pulumi.production.yaml", {
      database: { ...database, engineVersion: "8.0.36" },
    });
    const today = new Date("2028-03-15T09:00:00Z");
    const fn = "aws:lambda/function:Function::auto-rollback-fn";
    const db = "aws:rds/instance:Instance::data-mysql";
    const newerThan24 =
      "move to a version newer than nodejs24.x from https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html and add its dates to rollout/deprecations.ts";
    const expected = [
      {
        resource: db,
        kind: "rds-mysql",
        id: "8.0",
        event: "end-of-standard-support",
        date: "2026-07-31",
        daysFromToday: -593,
        message:
          "RDS for MySQL 8.0: RDS ends standard support for this major version and enrols its instances in Extended Support on 2026-07-31 (593 days ago); upgrade the database to MySQL 8.4 (docs/mysql-upgrade.md)",
      },
      {
        resource: db,
        kind: "rds-mysql",
        id: "8.0",
        event: "extended-support-charges",
        date: "2026-08-01",
        daysFromToday: -592,
        message:
          "RDS for MySQL 8.0: RDS charges for Extended Support on instances of this major version from 2026-08-01 (592 days ago); upgrade the database to MySQL 8.4 (docs/mysql-upgrade.md)",
      },
      {
        resource: fn,
        kind: "lambda-runtime",
        id: "nodejs24.x",
        event: "deprecation",
        date: "2028-04-30",
        daysFromToday: 46,
        message: `Lambda runtime nodejs24.x: AWS stops patching this runtime, and functions on it lose technical support, from 2028-04-30 (in 46 days); ${newerThan24}`,
      },
      {
        resource: fn,
        kind: "lambda-runtime",
        id: "nodejs24.x",
        event: "block-function-create",
        date: "2028-06-01",
        daysFromToday: 78,
        message: `Lambda runtime nodejs24.x: AWS blocks creating functions on this runtime from 2028-06-01 (in 78 days); ${newerThan24}`,
      },
    ];

    const out = bufferOutput();
    assert.equal(await planCommand({ "config-file": file }, out, today), 0);
    const block = out.lines.slice(out.lines.indexOf("policy violations: none"));
    assert.deepEqual(block, [
      "policy violations: none",
      "",
      "deprecations (4): AWS dates past or within 90 days",
      ...expected.map((d) => `  ${d.resource}: ${d.message}`),
    ]);

    const json = bufferOutput();
    assert.equal(await planCommand({ "config-file": file, json: true }, json, today), 0);
    assert.deepEqual(JSON.parse(json.text()).deprecations, expected);
  });

  for (const [region, received] of [
    [undefined, "nothing"],
    ["eu-west", '"eu-west"'],
  ] as const) {
    it(`exit 2 naming aws:region, before registering anything, when it is ${received}`, async () => {
      const doc = committedStackFile("staging");
      if (region === undefined) delete doc.config["aws:region"];
      else doc.config["aws:region"] = region;
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-cli-")), "Pulumi.staging.yaml");
      fs.writeFileSync(file, yaml.dump(doc));
      const out = bufferOutput();
      assert.equal(await runCli(["plan", "--config-file", file], out), 2);
      assert.deepEqual(out.errors, [
        `error: aws:region: expected an AWS region such as eu-west-1 (pulumi config set aws:region eu-west-1), got ${received}`,
      ]);
    });
  }

  it("--svg draws the trigger table of the stack's own playbook (Telegram from a config file) and says where", async () => {
    const file = stackFileCopy("staging", "Pulumi.staging.yaml", {
      playbook: "telegram-money-bot",
      phase: "staging-deployment",
      greenWeight: 0,
      decisions: "[]",
      signoffs: "{}",
    });
    const svg = path.join(path.dirname(file), "triggers.svg");
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file, "--svg", svg], out), 0);
    assert.deepEqual(out.lines.slice(-2), ["", `picture written to ${svg}`]);
    assert.equal(
      fs.readFileSync(svg, "utf8"),
      triggerPicture({
        stack: "staging",
        phase: "staging-deployment",
        playbook: loadPlaybook("telegram-money-bot"),
      }),
    );
  });

  it("--svg with --json: the plan's JSON says where, and the picture is docs/pictures' committed example", async () => {
    const svg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-svg-")), "production.svg");
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--stack", "production", "--json", "--svg", svg], out), 0);
    const plan = JSON.parse(out.text()) as { svg: string; triggers: unknown[] };
    assert.equal(plan.svg, svg);
    assert.equal(plan.triggers.length, 8);
    const committed = path.join(__dirname, "..", "..", "docs", "pictures", "plan-production-triggers.svg");
    assert.ok(
      fs.readFileSync(svg, "utf8") === fs.readFileSync(committed, "utf8"),
      "docs/pictures/plan-production-triggers.svg is stale: npm run plan -- --stack production --svg docs/pictures/plan-production-triggers.svg",
    );
  });

  it("--svg naming a directory: exit 2 naming the flag, before the plan runs", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-svg-"));
    // A config the plan would refuse (exit 2, rollout:greenWeight): the --svg error comes first.
    const file = stackFileCopy("staging", "Pulumi.staging.yaml", { greenWeight: 150 });
    for (const json of [false, true]) {
      const out = bufferOutput();
      const argv = ["plan", "--config-file", file, "--svg", dir, ...(json ? ["--json"] : [])];
      assert.equal(await runCli(argv, out), 2);
      const message = `--svg: ${dir} is a directory; expected the path of a file to write the SVG to`;
      assert.deepEqual(out.errors, [`error: ${message}`]);
      assert.deepEqual(out.lines, json ? [JSON.stringify({ error: message, exitCode: 2 })] : []);
    }
    const without = bufferOutput();
    assert.equal(await runCli(["plan", "--config-file", file], without), 2);
    assert.match(without.errors[0]!, /rollout:greenWeight/);
  });

  it("exit 2 naming the stack file for an unknown stack", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--stack", "qa"], out), 2);
    assert.match(
      out.errors[0]!,
      /--stack: no stack file Pulumi\.qa\.yaml; expected one of production, staging/,
    );
  });
});
