import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";

/** `drill --scenario`: exit 1 when a rollback trigger missed its limit (met false), and why. */

const fixture = (name: string) => path.join(__dirname, "..", "fixtures", "drills", `${name}.yaml`);

describe("drill: a missed trigger limit exits 1", () => {
  it("GuardDuty finding alone: securityBreach missed its 10 s limit, exit 1, said last", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", fixture("telegram-security-finding")], out), 1);
    assert.match(out.text(), /^securityBreach .* MISSED /m);
    assert.equal(out.lines.at(-1), "drill FAILED: rollback trigger securityBreach missed its limit (exit 1)");
  });

  it("--json carries missedTriggers and exitReason", async () => {
    const out = bufferOutput();
    assert.equal(
      await runCli(["drill", "--scenario", fixture("telegram-security-finding"), "--json"], out),
      1,
    );
    const json = JSON.parse(out.text()) as { missedTriggers: string[]; exitReason: string };
    assert.deepEqual(json.missedTriggers, ["securityBreach"]);
    assert.equal(json.exitReason, "rollback trigger securityBreach missed its limit");
  });

  it("every trigger met (or not breached): exit 0, no exitReason", async () => {
    for (const name of ["tbs-error-rate-8pct", "tbs-no-data"]) {
      const out = bufferOutput();
      assert.equal(await runCli(["drill", "--scenario", fixture(name), "--json"], out), 0, name);
      const json = JSON.parse(out.text()) as { missedTriggers: string[]; exitReason?: string };
      assert.deepEqual(json.missedTriggers, []);
      assert.equal(json.exitReason, undefined);
    }
    const human = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", fixture("tbs-error-rate-8pct")], human), 0);
    assert.ok(!human.text().includes("drill FAILED"));
  });
});
