import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bufferOutput } from "../scripts/cli";
import { runCli } from "../scripts/rollout";

describe("npm run plan", () => {
  it("prints the staging plan: phase, traffic, resources by type, triggers, no violations; exit 0", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["plan"], out), 0);
    const text = out.text();
    assert.match(text, /^stack staging - playbook tbs-strategy-framework - phase broader-pilot$/m);
    assert.match(text, /rollback latch: unknown/);
    assert.match(
      text,
      /^\s+web\s+90 %\s+10 %\s+5 rules: X-Pilot-User header \(6 users\), pilot_user cookie \(6 users\)$/m,
    );
    assert.match(text, /^\s+aws:lb\/listenerRule:ListenerRule\s+12$/m);
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
    assert.deepEqual(Object.keys(plan.resources[0]).sort(), ["inputs", "name", "type"]);
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
