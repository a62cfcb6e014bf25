import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseRolloutConfig } from "../../rollout/config";
import { alarmNames, autoRollbackAlarms } from "../../rollout/alarms";
import { loadStackFile } from "../../rollout/loaders";
import { compositeAlarmName } from "../../rollout/names";
import { rolloutKeys } from "../../rollout/stackFile";
import {
  automationBackend,
  describeAlarm,
  lineBuffer,
  rollbackAlarms,
  stackAlarms,
  type AutomationStack,
  type SelectStack,
} from "../../cli/backend";

/** An Automation API stack that records what the backend asks of it. */
class FakeStack implements AutomationStack {
  readonly calls: unknown[][] = [];
  upChunks: string[] = ["Updating (staging)\nres", "ource created\n", "done"];
  upError: Error | undefined;
  async getAllConfig() {
    this.calls.push(["getAllConfig"]);
    return {
      "aws:region": { value: "eu-west-1" },
      "rollout:phase": { value: "internal" },
      "rollout:cohorts": { value: '[{"name":"staff"}]' },
    };
  }
  async setAllConfig(config: Record<string, { value: string }>, usePath?: boolean) {
    this.calls.push(["setAllConfig", config, usePath]);
  }
  async removeAllConfig(keys: string[], usePath?: boolean) {
    this.calls.push(["removeAllConfig", keys, usePath]);
  }
  async up(options: Parameters<AutomationStack["up"]>[0]) {
    this.calls.push(["up", { ...options, onOutput: typeof options.onOutput }]);
    for (const chunk of this.upChunks) options.onOutput(chunk);
    if (this.upError) throw this.upError;
    return { summary: { result: "succeeded" }, outputs: { albDnsName: { value: "alb.example" } } };
  }
  async outputs() {
    return { albDnsName: { value: "alb.example" } };
  }
}

function workDir(withPolicyConfig: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backend-"));
  fs.mkdirSync(path.join(dir, "policies", "config"), { recursive: true });
  if (withPolicyConfig) fs.writeFileSync(path.join(dir, "policies", "config", "staging.json"), "{}");
  return dir;
}

function fakeSelect(stack: FakeStack) {
  const selected: { stackName: string; workDir: string }[] = [];
  const select: SelectStack = async (args) => {
    selected.push(args);
    return stack;
  };
  return { select, selected };
}

describe("automationBackend", () => {
  it("selects the stack lazily, once", async () => {
    const stack = new FakeStack();
    const { select, selected } = fakeSelect(stack);
    const dir = workDir(false);
    const backend = automationBackend("staging", dir, select);
    assert.deepEqual(selected, [], "creating the backend touches nothing");
    await backend.getRolloutConfig();
    await backend.outputs();
    assert.deepEqual(selected, [{ stackName: "staging", workDir: dir }]);
  });

  it("reads rollout:* keys without the namespace and writes them with it, path only when asked", async () => {
    const stack = new FakeStack();
    const backend = automationBackend("staging", workDir(false), fakeSelect(stack).select);
    assert.deepEqual(await backend.getRolloutConfig(), { phase: "internal", cohorts: '[{"name":"staff"}]' });
    await backend.setConfig({ greenWeight: "5" });
    await backend.setConfig({ 'signoffs["internal"]["qaEngineer"].approver': "quinn" }, { path: true });
    await backend.removeConfig(['signoffs["internal"]["qaEngineer"]'], { path: true });
    assert.deepEqual(stack.calls.slice(1), [
      ["setAllConfig", { "rollout:greenWeight": { value: "5" } }, false],
      ["setAllConfig", { 'rollout:signoffs["internal"]["qaEngineer"].approver': { value: "quinn" } }, true],
      ["removeAllConfig", ['rollout:signoffs["internal"]["qaEngineer"]'], true],
    ]);
  });

  it("up refreshes, runs the policy pack with the stack's config file, and streams whole lines", async () => {
    const stack = new FakeStack();
    const dir = workDir(true);
    const lines: string[] = [];
    const result = await automationBackend("staging", dir, fakeSelect(stack).select).up((l) => lines.push(l));
    assert.deepEqual(result, { result: "succeeded", outputs: { albDnsName: "alb.example" } });
    assert.deepEqual(stack.calls, [
      [
        "up",
        {
          onOutput: "function",
          refresh: true,
          policyPacks: [path.join(dir, "policies")],
          policyPackConfigs: [path.join(dir, "policies", "config", "staging.json")],
        },
      ],
    ]);
    assert.deepEqual(lines, ["Updating (staging)", "resource created", "done"]);
  });

  it("up without a policy config file for the stack passes none", async () => {
    const stack = new FakeStack();
    const dir = workDir(false);
    await automationBackend("staging", dir, fakeSelect(stack).select).up(() => {});
    assert.deepEqual((stack.calls[0]![1] as { policyPackConfigs: string[] }).policyPackConfigs, []);
  });

  it("a failed update is result failed with its error line, not a throw", async () => {
    const stack = new FakeStack();
    stack.upError = new Error("code: 255\n stdout: ...\n stderr: error: update failed: policy violation");
    const lines: string[] = [];
    const result = await automationBackend("staging", workDir(false), fakeSelect(stack).select).up((l) =>
      lines.push(l),
    );
    assert.deepEqual(result, { result: "failed", outputs: {} });
    assert.deepEqual(lines.slice(-2), ["done", "up failed: update failed: policy violation"]);
  });

  it("maps a missing Pulumi CLI and a missing stack to one-line environment errors", async () => {
    const failing =
      (message: string): SelectStack =>
      async () => {
        throw new Error(message);
      };
    await assert.rejects(
      automationBackend("staging", "/repo", failing("spawn pulumi ENOENT")).getRolloutConfig(),
      new Error(
        "the Pulumi CLI was not found on PATH: live commands run `pulumi` through the Automation API; install the Pulumi CLI and log in to the stack's backend",
      ),
    );
    await assert.rejects(
      automationBackend(
        "staging",
        "/repo",
        failing("code: 255\n stderr: error: no stack named 'staging' found"),
      ).outputs(),
      new Error(
        'no stack named "staging" in /repo on the current Pulumi backend: `pulumi login` to the backend that holds it, or `pulumi stack ls` to see the stacks there',
      ),
    );
  });

  it("tries selecting again after a failure (the operator may have logged in meanwhile)", async () => {
    let attempts = 0;
    const stack = new FakeStack();
    const select: SelectStack = async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("no stack named 'staging' found");
      return stack;
    };
    const backend = automationBackend("staging", "/repo", select);
    await assert.rejects(
      backend.outputs(),
      new Error(
        'no stack named "staging" in /repo on the current Pulumi backend: `pulumi login` to the backend that holds it, or `pulumi stack ls` to see the stacks there',
      ),
    );
    assert.deepEqual(await backend.outputs(), { albDnsName: "alb.example" });
    assert.equal(attempts, 2);
  });
});

describe("lineBuffer", () => {
  it("joins chunks into lines, drops blank ones and CRs, flushes the rest", () => {
    const lines: string[] = [];
    const buffer = lineBuffer((l) => lines.push(l));
    for (const chunk of ["a", "b\r\nc\n", "\n", "d"]) buffer.write(chunk);
    assert.deepEqual(lines, ["ab", "c"]);
    buffer.flush();
    buffer.flush();
    assert.deepEqual(lines, ["ab", "c", "d"]);
  });
});

describe("rollbackAlarms: which firing alarms mean roll back now", () => {
  const config = parseRolloutConfig(rolloutKeys(loadStackFile("staging").config), "staging");
  const services = config.services.map((s) => s.name);
  const alarms = stackAlarms(config);

  it("the composite and every auto-rollback alarm, and nothing else", () => {
    const expected = [
      compositeAlarmName("staging"),
      ...alarmNames("staging", autoRollbackAlarms(config.playbookSpec), services),
    ].sort();
    const all = [...alarms.keys()];
    assert.deepEqual(rollbackAlarms(all, alarms).sort(), expected);
    assert.ok(expected.includes("staging-errorRate-critical-web"));
  });

  it("critical alarms the playbook alerts on or reviews are not rollback alarms, and say why", () => {
    const names = ["staging-diskFreePercent-critical", "staging-uptimePercent-critical", "staging-other"];
    assert.deepEqual(rollbackAlarms(names, alarms), []);
    assert.deepEqual(
      names.map((n) => describeAlarm(n, alarms)),
      [
        "staging-diskFreePercent-critical (critical, playbook action alert)",
        "staging-uptimePercent-critical (critical, playbook action review)",
        "staging-other",
      ],
    );
    assert.equal(describeAlarm("staging-auto-rollback", alarms), "staging-auto-rollback (rollback)");
  });
});
