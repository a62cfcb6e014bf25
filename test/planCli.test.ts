import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { loadStackFile } from "../rollout/stackFile";
import { bufferOutput } from "../scripts/cli";
import { runCli } from "../scripts/rollout";

/** The committed stack file with `rollout:` keys replaced, written to a fresh directory as `fileName`. */
function stackFileCopy(stack: string, fileName: string, changes: Record<string, unknown> = {}): string {
  const doc = yaml.load(fs.readFileSync(loadStackFile(stack).file, "utf8")) as {
    config: Record<string, unknown>;
  };
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
      /^\s+web\s+90 %\s+10 %\s+9 rules: X-Pilot-User header \(10 users\), pilot_user cookie \(10 users\)$/m,
    );
    assert.match(text, /^\s+aws:lb\/listenerRule:ListenerRule\s+20$/m);
    // Every column of the trigger table has a header, the meets/MISSES one too.
    assert.match(text, /^ {2}trigger {17}worst case {3}limit {3}result {2}why$/m);
    assert.match(text, /^\s+errorRateSustained\s+6 min 10 s\s+15 min\s+meets/m);
    assert.match(text, /^policy violations: none$/m);
  });

  it("prints JSON for production with the contract's keys; exit 0", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--stack", "production", "--json"], out), 0);
    const plan = JSON.parse(out.text());
    assert.deepEqual(Object.keys(plan).sort(), [
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
    // 3 per header rule and 2 per cookie rule (the path's wildcard leaves budget for 2).
    const cohortRoutes = [
      { match: "header", headerName: "X-Pilot-User", values: ["devops.lead", "qa.lead", "product.manager"] },
      { match: "header", headerName: "X-Pilot-User", values: ["trader.anna", "trader.ben", "trader.chen"] },
      { match: "header", headerName: "X-Pilot-User", values: ["trader.dara", "trader.emil"] },
      { match: "cookie", headerName: "Cookie", values: ["*pilot_user=devops.lead*", "*pilot_user=qa.lead*"] },
      {
        match: "cookie",
        headerName: "Cookie",
        values: ["*pilot_user=product.manager*", "*pilot_user=trader.anna*"],
      },
      {
        match: "cookie",
        headerName: "Cookie",
        values: ["*pilot_user=trader.ben*", "*pilot_user=trader.chen*"],
      },
      {
        match: "cookie",
        headerName: "Cookie",
        values: ["*pilot_user=trader.dara*", "*pilot_user=trader.emil*"],
      },
    ];
    assert.deepEqual(plan.traffic, [
      { service: "web", blue: 100, green: 0, cohortRoutes },
      { service: "api", blue: 100, green: 0, cohortRoutes },
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
      "worstCaseSeconds",
    ]);
    assert.deepEqual(plan.triggers[0], {
      id: "performanceDegradation",
      name: "Performance degradation",
      limitSeconds: 900,
      worstCaseSeconds: 670,
      meets: true,
      explanation: "rowsPerSecond: 60-second metric, 10 x 60 s + 60 s evaluation + 10 s Lambda",
    });
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
      /^\s+web\s+75 %\s+25 %\s+7 rules: X-Pilot-User header \(8 users\), pilot_user cookie \(8 users\)$/m,
    );
    assert.match(text, /^resources \(112\)$/m);
    assert.match(text, /^\s+aws:lb\/listenerRule:ListenerRule\s+16$/m);
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

  it("exit 2 naming the stack file for an unknown stack", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan", "--stack", "qa"], out), 2);
    assert.match(
      out.errors[0]!,
      /--stack: no stack file Pulumi\.qa\.yaml; expected one of production, staging/,
    );
  });
});
