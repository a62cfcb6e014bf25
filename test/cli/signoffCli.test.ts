import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { signoffAction, signoffCommand } from "../../cli/commands/signoff";
import { parseRolloutConfig } from "../../rollout/config";
import { loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import type { memoryHistoryStore } from "../../cli/history";
import { INFO_TOPIC, published, resetAwsMocks, setup } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout signoff", () => {
  it("approves the next phase by default, writing exactly the path keys", async () => {
    const { ctx, backend } = setup("production");
    assert.equal(
      await signoffCommand({ role: "supportEngineer", approver: "sam.support" }, "approve", ctx),
      0,
    );
    assert.deepEqual(backend.sets, [
      {
        entries: {
          'signoffs["broader-pilot"]["supportEngineer"].approver': "sam.support",
          'signoffs["broader-pilot"]["supportEngineer"].at': "2026-11-22T10:00:02.000Z",
          revision: "1",
        },
        path: true,
      },
    ]);
    assert.deepEqual(JSON.parse(backend.raw.signoffs!)["broader-pilot"].supportEngineer, {
      approver: "sam.support",
      at: "2026-11-22T10:00:02.000Z",
    });
    const events = (ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.summary, e.details]),
      [
        [
          "signoff",
          "supportEngineer approved broader-pilot on production (sam.support)",
          { action: "approve", phase: "broader-pilot", role: "supportEngineer", approver: "sam.support" },
        ],
      ],
    );
    assert.deepEqual(
      published().map((p) => [p.TopicArn, p.Subject]),
      [[INFO_TOPIC, "[production] rollout signoff"]],
    );
  });

  it("revokes an approval", async () => {
    const { ctx, backend } = setup("production");
    assert.equal(await signoffCommand({ role: "qaEngineer", phase: "limited-pilot" }, "revoke", ctx), 0);
    assert.deepEqual(backend.removed, ['signoffs["limited-pilot"]["qaEngineer"]']);
    assert.equal(JSON.parse(backend.raw.signoffs!)["limited-pilot"].qaEngineer, undefined);
    const events = (ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.summary, e.details]),
      [
        [
          "signoff",
          "qaEngineer's approval of limited-pilot on production revoked",
          { action: "revoke", phase: "limited-pilot", role: "qaEngineer" },
        ],
      ],
    );
  });

  it("shows each required role with its checklist", async () => {
    const { ctx, out } = setup("production");
    await signoffCommand({ phase: "limited-pilot", json: true }, "status", ctx);
    const status = JSON.parse(out.text());
    assert.equal(status.complete, true);
    assert.deepEqual(status.required, ["devopsEngineer", "qaEngineer", "productManager"]);
    assert.ok(status.roles[0].checklist.length > 0);
  });

  it("names --role and the valid roles for an unknown role", async () => {
    const { ctx } = setup("production");
    await assert.rejects(
      signoffCommand({ role: "ceo", approver: "x" }, "approve", ctx),
      /--role: unknown role "ceo"; expected one of devopsEngineer/,
    );
    assert.throws(() => signoffAction(["sign"]), /signoff: expected approve, revoke or status, got "sign"/);
  });

  it("stops, writing nothing, when the stack's live playbook is not the one its file names", async () => {
    // The flags were checked against Pulumi.production.yaml's playbook (TBS): devopsEngineer is
    // a role of both playbooks, yet it must not be written against another playbook's phases.
    const { ctx, backend } = setup("production", {
      playbook: "telegram-money-bot",
      phase: "preparation",
      greenWeight: "0",
      decisions: [],
      signoffs: {},
    });
    await assert.rejects(
      signoffCommand({ role: "devopsEngineer", approver: "x" }, "approve", ctx),
      new Error(
        `rollout:playbook is "telegram-money-bot" on stack production but "tbs-strategy-framework" in ${loadStackFile("production").file}: make the two agree before signing off`,
      ),
    );
    assert.deepEqual(backend.sets, []);
  });
});
describe("rollout signoff approve", () => {
  it("shows the role's checklist it attests", async () => {
    const { ctx, out } = setup("production");
    assert.equal(
      await signoffCommand({ role: "supportEngineer", approver: "sam.support", json: true }, "approve", ctx),
      0,
    );
    const result = JSON.parse(out.text());
    assert.ok(result.checklist.length > 0);
    assert.deepEqual(result.checklist, loadStackFileChecklist("supportEngineer"));
  });

  it("checks --role and --approver before reading the stack", async () => {
    const { ctx, backend } = setup("production");
    let reads = 0;
    backend.getRolloutConfig = async () => {
      reads += 1;
      return { ...backend.raw };
    };
    await assert.rejects(
      signoffCommand({ role: "qaEngineer" }, "approve", ctx),
      /--approver: expected the name of the person approving, got nothing/,
    );
    await assert.rejects(signoffCommand({}, "revoke", ctx), /--role: expected a role id such as qaEngineer/);
    assert.equal(reads, 0);
  });
});

function loadStackFileChecklist(role: string): string[] {
  const config = parseRolloutConfig(rolloutKeys(loadStackFile("production").config), "production");
  return config.playbookSpec.signoff.roles.find((r) => r.id === role)!.checklist;
}
