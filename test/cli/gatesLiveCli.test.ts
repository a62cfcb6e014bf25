import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { gatesLiveCommand } from "../../cli/commands/gatesLive";
import { cloudwatch, resetAwsMocks, setup } from "../support/liveStack";

beforeEach(resetAwsMocks);

describe("rollout gates --stack (live)", () => {
  it("merges CloudWatch evidence with the manual file and records the decision", async () => {
    const { ctx, out, backend } = setup("production");
    cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: { MetricDataQueries: { Id: string; ReturnData?: boolean }[] }) => ({
        MetricDataResults: input.MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => ({
          Id: q.Id,
          // criteria order: userSatisfaction (manual, no query), q1 rowsPerSecond (custom), q2 errorRate (per service)
          // errorRate: 5xx sums [3, 1] over request sums [100, 100] = 2 %.
          Values: q.Id.startsWith("q1") ? [34000, 35000] : q.Id.endsWith("e") ? [3, 1] : [100, 100],
        })),
      }));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "week3.yaml");
    fs.writeFileSync(file, "metrics:\n  userSatisfaction: 84\n  workflowTimeRatio: 1.1\n");
    assert.equal(await gatesLiveCommand({ evidence: file, record: true, approver: "dana.devops" }, ctx), 0);
    assert.match(out.text(), /limited-pilot -> broader-pilot: rule 3 of 4/);
    assert.match(
      out.text(),
      /rowsPerSecond: CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z/,
    );
    const decisions = JSON.parse(backend.raw.decisions!);
    const recorded = decisions.at(-1);
    assert.deepEqual(
      [recorded.from, recorded.to, recorded.decision, recorded.by],
      ["limited-pilot", "broader-pilot", "GO", "dana.devops"],
    );
    assert.deepEqual(recorded.evidence.slice(0, 3), [
      `userSatisfaction = 84 (required >= 80): pass [evidence file ${file}]`,
      "rowsPerSecond = 34500 (required >= 33573): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z]",
      "errorRate = 2 (required < 3): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z]",
    ]);
    assert.equal(Object.keys(backend.sets[0]!.entries)[0], "decisions[2].from");
  });

  it("is NO-GO (exit 1) without enough evidence", async () => {
    const { ctx } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    assert.equal(await gatesLiveCommand({}, ctx), 1);
  });
});
describe("rollout gates --stack (window and sums)", () => {
  it("asks GetMetricData from the GO into the phase to now, hourly, per service, and follows NextToken", async () => {
    const { ctx } = setup("production");
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: "q2_0e", Values: [3] }], NextToken: "page2" })
      .resolves({
        MetricDataResults: [
          { Id: "q2_0e", Values: [1] },
          { Id: "q2_0r", Values: [100, 100] },
        ],
      });
    await gatesLiveCommand({ json: true }, ctx);
    const calls = cloudwatch.commandCalls(GetMetricDataCommand);
    assert.equal(calls.length, 2);
    const input = calls[0]!.args[0].input;
    assert.deepEqual(input.StartTime, new Date("2026-11-02T16:00:00Z"));
    assert.equal(calls[1]!.args[0].input.NextToken, "page2");
    const errors5xx = input.MetricDataQueries!.find((q) => q.Id === "q2_0e")!;
    assert.deepEqual(errors5xx.MetricStat, {
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "HTTPCode_Target_5XX_Count",
        Dimensions: [
          { Name: "LoadBalancer", Value: "app/router-alb/0123456789abcdef" },
          { Name: "TargetGroup", Value: "targetgroup/router-web-green-tg/abc" },
        ],
      },
      Period: 3600,
      Stat: "Sum",
    });
    const rows = input.MetricDataQueries!.find((q) => q.Id === "q1_0")!;
    assert.equal(rows.MetricStat!.Metric!.Namespace, "StagedRollout/production");
  });

  it("error rate is total 5xx over total requests, not an average of hourly rates", async () => {
    const { ctx, out } = setup("production");
    // Hour 1: 1 error in 1 request (100 %); hour 2: 0 in 999. Weighted: 0.1 %; averaged: 50 %.
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "q2_0e", Values: [1, 0] },
        { Id: "q2_0r", Values: [1, 999] },
      ],
    });
    await gatesLiveCommand({ json: true }, ctx);
    const errorRate = JSON.parse(out.text()).results.find((r: { id: string }) => r.id === "errorRate");
    assert.equal(errorRate.value, 0.1);
  });

  it("a value in the evidence file overrides CloudWatch's; --record on NO-GO records NO-GO", async () => {
    const { ctx, out, backend } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "q2_0e", Values: [1] },
        { Id: "q2_0r", Values: [100] },
      ],
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "nogo.yaml");
    fs.writeFileSync(file, "metrics:\n  errorRate: 4\n");
    assert.equal(
      await gatesLiveCommand({ evidence: file, record: true, approver: "dana", json: true }, ctx),
      1,
    );
    const result = JSON.parse(out.text());
    assert.equal(result.results.find((r: { id: string }) => r.id === "errorRate").value, 4);
    assert.equal(result.sources.errorRate, `evidence file ${file}`);
    const recorded = JSON.parse(backend.raw.decisions!).at(-1);
    assert.deepEqual(
      [recorded.from, recorded.to, recorded.decision],
      ["limited-pilot", "broader-pilot", "NO-GO"],
    );
  });
});

describe("rollout gates --stack: the phase's rollback triggers", () => {
  /** CloudWatch for limited-pilot: rowsPerSecond (q1) averages 34500, errorRate (q2) is 2 %. */
  function limitedPilotMetrics() {
    cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: { MetricDataQueries: { Id: string; ReturnData?: boolean }[] }) => ({
        MetricDataResults: input.MetricDataQueries.map((q) => ({
          Id: q.Id,
          Values: q.Id.startsWith("q1") ? [34000, 35000] : q.Id.endsWith("e") ? [3, 1] : [100, 100],
        })),
      }));
  }
  function surveyFile(userSatisfaction: number): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "survey.yaml");
    fs.writeFileSync(file, `metrics:\n  userSatisfaction: ${userSatisfaction}\n  workflowTimeRatio: 1.1\n`);
    return file;
  }

  it("refuses to --record a GO while a trigger is breached: exit 1, nothing written, the trigger named", async () => {
    const { ctx, out, backend } = setup("production");
    limitedPilotMetrics();
    const file = surveyFile(69.9);
    assert.equal(await gatesLiveCommand({ evidence: file, record: true, approver: "dana" }, ctx), 1);
    assert.deepEqual(backend.sets, []);
    const since = "CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z";
    assert.deepEqual(out.lines.slice(out.lines.indexOf("rollback triggers of limited-pilot:")), [
      "rollback triggers of limited-pilot:",
      "trigger                                                   breaches when                                    observed   status",
      "--------------------------------------------------------  -----------------------------------------------  ---------  ------------",
      "User satisfaction <70% in feedback surveys                userSatisfaction < 70 % positive                 69.9       BREACHED",
      "Performance degradation >20% from baseline                rowsPerSecond < 29842 rows/s                     34500      clear",
      "Critical workflow failures affecting >50% of pilot users  pilotUsersAffectedPercent > 50 % of pilot users  (missing)  not measured",
      "",
      "decision: GO (3 of 4 passed, 3 required)",
      'ROLLBACK TRIGGER BREACHED: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive) — roll back: npm run rollout -- rollback --stack production --reason "rollback trigger of limited-pilot: User satisfaction <70% in feedback surveys"',
      "exit 1: a GO must not be recorded while a rollback trigger of limited-pilot is breached",
      `  rowsPerSecond: ${since}`,
      `  errorRate: ${since}`,
      `  userSatisfaction: evidence file ${file}`,
      `  workflowTimeRatio: evidence file ${file}`,
      "gates --record refused: the GO is not recorded",
      "  - rollback trigger of limited-pilot breached: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive)",
    ]);
  });

  it("--json: rollbackTriggers, recorded false and recordRefused", async () => {
    const { ctx, out, backend } = setup("production");
    limitedPilotMetrics();
    assert.equal(
      await gatesLiveCommand({ evidence: surveyFile(69.9), record: true, approver: "dana", json: true }, ctx),
      1,
    );
    assert.deepEqual(backend.sets, []);
    const result = JSON.parse(out.text());
    assert.deepEqual(
      [result.decision, result.recorded, result.recordRefused],
      [
        "GO",
        false,
        [
          "rollback trigger of limited-pilot breached: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive)",
        ],
      ],
    );
    assert.deepEqual(result.rollbackTriggers, [
      {
        description: "User satisfaction <70% in feedback surveys",
        gate: "userSatisfaction",
        op: "<",
        value: 70,
        unit: "% positive",
        observed: 69.9,
        status: "breached",
      },
      {
        description: "Performance degradation >20% from baseline",
        gate: "rowsPerSecond",
        op: "<",
        value: 29842,
        unit: "rows/s",
        observed: 34500,
        status: "clear",
      },
      {
        description: "Critical workflow failures affecting >50% of pilot users",
        gate: "pilotUsersAffectedPercent",
        op: ">",
        value: 50,
        unit: "% of pilot users",
        status: "not-measured",
      },
    ]);
  });

  it("satisfaction exactly 70 is clear: the GO is recorded, exit 0, no recordRefused", async () => {
    const { ctx, out, backend } = setup("production");
    limitedPilotMetrics();
    assert.equal(
      await gatesLiveCommand({ evidence: surveyFile(70), record: true, approver: "dana", json: true }, ctx),
      0,
    );
    const result = JSON.parse(out.text());
    assert.deepEqual([result.recorded, "recordRefused" in result], [true, false]);
    const recorded = JSON.parse(backend.raw.decisions!).at(-1);
    assert.deepEqual([recorded.from, recorded.decision, recorded.by], ["limited-pilot", "GO", "dana"]);
  });

  it("a NO-GO with a breached trigger is still recorded (as NO-GO), exit 1", async () => {
    const { ctx, backend } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    assert.equal(await gatesLiveCommand({ evidence: surveyFile(60), record: true, json: true }, ctx), 1);
    const recorded = JSON.parse(backend.raw.decisions!).at(-1);
    assert.deepEqual([recorded.from, recorded.decision], ["limited-pilot", "NO-GO"]);
  });

  it("broader-pilot: asks CloudWatch for the triggers' own gates after the criteria; session success 89 breaches", async () => {
    const { ctx, out } = setup("production", { phase: "broader-pilot" });
    // Criteria q0..q5 (concurrentUsers, p95ResponseMs, errorRate, userAdoption, cpu, memory),
    // then the triggers' gates that are no criterion: q6 rowsPerSecond, q7 sessionSuccessRate.
    const values: Record<string, number[]> = { q6_0: [30000], q7_0: [89, 89] };
    cloudwatch.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
      MetricDataResults: input.MetricDataQueries.filter((q) => values[q.Id]).map((q) => ({
        Id: q.Id,
        Values: values[q.Id],
      })),
    }));
    assert.equal(await gatesLiveCommand({ json: true }, ctx), 1);
    const queries = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries!;
    assert.deepEqual(
      queries.filter((q) => q.Id === "q6_0" || q.Id === "q7_0").map((q) => [q.Id, q.MetricStat]),
      [
        [
          "q6_0",
          {
            Metric: {
              Namespace: "StagedRollout/production",
              MetricName: "RowsPerSecond",
              Dimensions: [{ Name: "Colour", Value: "green" }],
            },
            Period: 3600,
            Stat: "Average",
          },
        ],
        [
          "q7_0",
          {
            Metric: {
              Namespace: "StagedRollout/production",
              MetricName: "SessionSuccessRate",
              Dimensions: [{ Name: "Colour", Value: "green" }],
            },
            Period: 3600,
            Stat: "Average",
          },
        ],
      ],
    );
    const result = JSON.parse(out.text());
    assert.equal(result.decision, "NO-GO");
    assert.deepEqual(
      result.rollbackTriggers.map((t: { gate: string; observed?: number; status: string }) => [
        t.gate,
        t.observed,
        t.status,
      ]),
      [
        ["rowsPerSecond", 30000, "clear"],
        ["sessionSuccessRate", 89, "breached"],
        ["errorRate", undefined, "not-measured"],
        ["cpuUtilization", undefined, "not-measured"],
        ["memoryUtilization", undefined, "not-measured"],
      ],
    );
    assert.match(result.sources.sessionSuccessRate, /^CloudWatch on green /);
  });
});
