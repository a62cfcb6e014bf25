import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DeleteParameterCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { resumeCommand } from "../../cli/commands/resume";
import { latch, resetAwsMocks, serveAlb, setup, ssm } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout resume", () => {
  it("resume acknowledges and clears the latch, without moving traffic", async () => {
    const { ctx, out, backend } = setup("production");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    ssm.on(DeleteParameterCommand).resolves({});
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.equal(backend.raw.rollbackAcknowledged, latch.at);
    assert.deepEqual(ssm.commandCalls(DeleteParameterCommand)[0]!.args[0].input, {
      Name: "/staged-rollout/production/latch/rollback",
    });
    assert.deepEqual(backend.ups, []);
    assert.match(out.text(), /acknowledged the rollback by production-auto-rollback/);
  });

  it("resume clears an unreadable latch without acknowledging a time it does not have", async () => {
    const { ctx, out, backend } = setup("production");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "{not json" } });
    ssm.on(DeleteParameterCommand).resolves({});
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.equal(backend.raw.rollbackAcknowledged, undefined);
    assert.deepEqual(ssm.commandCalls(DeleteParameterCommand)[0]!.args[0].input, {
      Name: "/staged-rollout/production/latch/rollback",
    });
    assert.match(
      out.text(),
      /cleared an unreadable latch parameter \(nothing to acknowledge: it had no readable time\)/,
    );
  });

  it("resume with no latch says so", async () => {
    const { ctx, out } = setup("production");
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.match(out.text(), /no automatic rollback latch on production: nothing to resume/);
  });

  it("resume says what the ALB serves and which command moves traffic", async () => {
    const { ctx, out, backend } = setup("production");
    serveAlb({ ...backend.raw, rollback: "true" }, "production");
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(latch) } });
    ssm.on(DeleteParameterCommand).resolves({});
    assert.equal(await resumeCommand({}, ctx), 0);
    assert.match(
      out.text(),
      /the ALB serves 0 % to green and 0 cohort rules to green; the config plans 0 % and 28 cohort rules\. Traffic moves only with: `npm run rollout -- restore --stack production`/,
    );
  });
});
