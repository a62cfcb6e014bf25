import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { gatesLiveCommand, periodGranularity } from "../../cli/commands/gatesLive";
import { loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import type { memoryHistoryStore } from "../../cli/history";
import {
  cloudwatch,
  goDecision,
  INFO_TOPIC,
  published,
  resetAwsMocks,
  serveMetrics,
  setup,
  targetGroupDimension,
  type Sample,
} from "../support/liveStack";

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
          // rowsPerSecond: the lowest period, 34000; errorRate: 5xx sums [3, 1] over request sums [100, 100] = 2 %.
          Values: q.Id.startsWith("q1") ? [34000, 35000] : q.Id.endsWith("e") ? [3, 1] : [100, 100],
        })),
      }));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ev-")), "week3.yaml");
    fs.writeFileSync(file, "metrics:\n  userSatisfaction: 84\n  workflowTimeRatio: 1.1\n");
    assert.equal(await gatesLiveCommand({ evidence: file, record: true, approver: "dana.devops" }, ctx), 0);
    assert.match(out.text(), /limited-pilot -> broader-pilot: rule 3 of 4/);
    assert.match(
      out.text(),
      /rowsPerSecond: CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z: lowest 5-min Average$/m,
    );
    const decisions = JSON.parse(backend.raw.decisions!);
    const recorded = decisions.at(-1);
    assert.deepEqual(
      [recorded.from, recorded.to, recorded.decision, recorded.by],
      ["limited-pilot", "broader-pilot", "GO", "dana.devops"],
    );
    assert.deepEqual(recorded.evidence.slice(0, 3), [
      `userSatisfaction = 84 (required >= 80): pass [evidence file ${file}]`,
      "rowsPerSecond = 34000 (required >= 33573): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z: lowest 5-min Average]",
      "errorRate = 2 (required < 3): pass [CloudWatch on green since the GO into limited-pilot at 2026-11-02T16:00:00Z: 5xx / requests, each summed over the whole window]",
    ]);
    assert.equal(Object.keys(backend.sets[0]!.entries)[0], "decisions[2].from"); // The GO recorded is an event: kept in the release history and told to the info topic.
    const events = (ctx.history as ReturnType<typeof memoryHistoryStore>).history.current!.events;
    assert.deepEqual(
      events.map((e) => [e.kind, e.summary, e.details]),
      [
        [
          "decision",
          "GO recorded for limited-pilot -> broader-pilot on production by dana.devops (4 of 4 criteria passed, 3 required)",
          {
            from: "limited-pilot",
            to: "broader-pilot",
            decision: "GO",
            by: "dana.devops",
            passed: 4,
            required: 3,
          },
        ],
      ],
    );
    assert.deepEqual(
      published().map((p) => [p.TopicArn, p.Subject]),
      [[INFO_TOPIC, "[production] rollout decision"]],
    );
  });

  it("is NO-GO (exit 1) without enough evidence", async () => {
    const { ctx } = setup("production");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    assert.equal(await gatesLiveCommand({}, ctx), 1);
  });
});
describe("rollout gates --stack (window and sums)", () => {
  it("asks GetMetricData from the GO into the phase to now, per service, and follows NextToken", async () => {
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
    assert.deepEqual(input.EndTime, new Date("2026-11-22T10:00:02Z")); // the test clock's first reading
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
      // One period over the whole window: 19 d 18 h 0 min 2 s, up to the next multiple of 300 s
      // (the start is between 15 and 63 days ago).
      Period: 1706700,
      Stat: "Sum",
    });
    assert.equal(1706700 % 300, 0);
    assert.ok(1706700 >= (Date.parse("2026-11-22T10:00:02Z") - Date.parse("2026-11-02T16:00:00Z")) / 1000);
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
  /** CloudWatch for limited-pilot: rowsPerSecond (q1) at worst 34000, errorRate (q2) is 2 %. */
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
      "Performance degradation >20% from baseline                rowsPerSecond < 29842 rows/s                     34000      clear",
      "Critical workflow failures affecting >50% of pilot users  pilotUsersAffectedPercent > 50 % of pilot users  (missing)  not measured",
      "",
      "decision: GO (3 of 4 passed, 3 required)",
      'ROLLBACK TRIGGER BREACHED: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9, breaches when userSatisfaction < 70 % positive) — roll back: npm run rollout -- rollback --stack production --reason "rollback trigger of limited-pilot: User satisfaction <70% in feedback surveys"',
      "exit 1: a GO must not be recorded while a rollback trigger of limited-pilot is breached",
      `  rowsPerSecond: ${since}: lowest 5-min Average`,
      `  errorRate: ${since}: 5xx / requests, each summed over the whole window`,
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
    // Exit 1 despite the GO: the JSON says why.
    assert.deepEqual(
      [result.exitCode, result.exitReason],
      [
        1,
        "rollback trigger of limited-pilot breached: User satisfaction <70% in feedback surveys (userSatisfaction = 69.9) (a GO must not be recorded while one is)",
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
        observed: 34000,
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
    assert.deepEqual([result.exitCode, "exitReason" in result], [0, false]);
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
            Period: 300,
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
            Period: 300,
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

describe("rollout gates --stack: CloudWatch's own statistic over the window, not an average of hours", () => {
  const GO_AT = "2026-11-21T10:00:00Z";
  const HOUR = 3600_000;
  /** Production in broader-pilot, entered by a GO 24 hours (and 2 s) before the test clock's first reading. */
  function broaderPilotDay() {
    const raw = rolloutKeys(loadStackFile("production").config);
    const decisions = [
      ...(JSON.parse(raw.decisions!) as object[]),
      { ...goDecision("limited-pilot", "broader-pilot"), at: GO_AT },
    ];
    return setup("production", { phase: "broader-pilot", decisions });
  }
  /** `count` samples of `value` spread over hour `h` of the window. */
  const hour = (h: number, count: number, value: number): Sample[] =>
    Array.from({ length: count }, (_, i) => ({
      at: Date.parse(GO_AT) + h * HOUR + Math.floor((i * HOUR) / count),
      value,
    }));
  const day = (per: (h: number) => Sample[]) => Array.from({ length: 24 }, (_, h) => per(h)).flat();
  const web = (metric: string) => `${metric}@${targetGroupDimension("web", "green")}`;
  const result = (out: { text(): string }, id: string) =>
    JSON.parse(out.text()).results.find((r: { id: string }) => r.id === id);
  const query = (id: string) =>
    cloudwatch
      .commandCalls(GetMetricDataCommand)[0]!
      .args[0].input.MetricDataQueries!.find((q) => q.Id === id)!;

  it("one bad hour of p95 is not averaged away: the p95 of every request in the window", async () => {
    const { ctx, out } = broaderPilotDay();
    // 23 hours of 100 requests at 100 ms; hour 10 has 200 requests at 800 ms (8 % of the day's).
    // The mean of the hourly p95s is (23 x 100 + 800) / 24 = 129 ms: a pass. The day's p95 is 800 ms.
    serveMetrics({
      [web("TargetResponseTime")]: day((h) => (h === 10 ? hour(h, 200, 0.8) : hour(h, 100, 0.1))),
    });
    assert.equal(await gatesLiveCommand({ json: true }, ctx), 1);
    assert.deepEqual([result(out, "p95ResponseMs").value, result(out, "p95ResponseMs").pass], [800, false]);
    assert.match(JSON.parse(out.text()).sources.p95ResponseMs, /: p95 over the whole window$/);
  });

  it("sends one p95 query per service whose single period spans the window, from the GO to now", async () => {
    const { ctx } = broaderPilotDay();
    serveMetrics({});
    await gatesLiveCommand({ json: true }, ctx);
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    assert.deepEqual([input.StartTime, input.EndTime], [new Date(GO_AT), new Date("2026-11-22T10:00:02Z")]);
    // Criteria of broader-pilot: q0 concurrentUsers, q1 p95ResponseMs, q2 errorRate, ...
    assert.deepEqual(query("q1_0"), {
      Id: "q1_0",
      MetricStat: {
        Metric: {
          Namespace: "AWS/ApplicationELB",
          MetricName: "TargetResponseTime",
          Dimensions: [
            { Name: "LoadBalancer", Value: "app/router-alb/0123456789abcdef" },
            { Name: "TargetGroup", Value: "targetgroup/router-web-green-tg/abc" },
          ],
        },
        // 24 h 2 s up to the next whole minute (the start is less than 15 days ago).
        Period: 86460,
        Stat: "p95",
      },
      ReturnData: true,
    });
    assert.equal(
      query("q1_1").MetricStat!.Metric!.Dimensions![1]!.Value,
      "targetgroup/router-api-green-tg/abc",
    );
  });

  it("a one-hour throughput dip is the figure: the lowest 1-minute Average, which breaches the trigger", async () => {
    const { ctx, out } = broaderPilotDay();
    // One sample a minute: 35000 rows/s, 20000 during hour 5. Hourly averages: 23 x 35000 and
    // one 20000, whose mean (34375) is clear of the trigger's 29842.
    serveMetrics({ RowsPerSecond: day((h) => hour(h, 60, h === 5 ? 20000 : 35000)) });
    assert.equal(await gatesLiveCommand({ json: true }, ctx), 1);
    const json = JSON.parse(out.text());
    const trigger = json.rollbackTriggers.find((t: { gate?: string }) => t.gate === "rowsPerSecond");
    assert.deepEqual([trigger.observed, trigger.status], [20000, "breached"]);
    assert.match(json.sources.rowsPerSecond, /: lowest 1-min Average$/);
    assert.deepEqual(query("q6_0").MetricStat, {
      Metric: {
        Namespace: "StagedRollout/production",
        MetricName: "RowsPerSecond",
        Dimensions: [{ Name: "Colour", Value: "green" }],
      },
      // The critical alarm's period (10 minutes sustained = 10 x 60 s).
      Period: 60,
      Stat: "Average",
    });
  });

  it("errors are summed over the window before dividing: a busy good hour and a quiet bad hour pool", async () => {
    const { ctx, out } = broaderPilotDay();
    // Hour 3: 10,000 requests, 10 errors (0.1 %). Hour 4: 100 requests, 20 errors (20 %).
    // The mean of the rates is 10.05 %; the window's rate is 30 / 10,100 = 0.297 %.
    serveMetrics({
      [web("RequestCount")]: [...hour(3, 50, 200), ...hour(4, 1, 100)],
      [web("HTTPCode_Target_5XX_Count")]: [...hour(3, 10, 1), ...hour(4, 1, 20)],
    });
    await gatesLiveCommand({ json: true }, ctx);
    assert.deepEqual([result(out, "errorRate").value, result(out, "errorRate").pass], [0.297, true]);
    assert.match(
      JSON.parse(out.text()).sources.errorRate,
      /: 5xx \/ requests, each summed over the whole window$/,
    );
    for (const [id, metric] of [
      ["q2_0e", "HTTPCode_Target_5XX_Count"],
      ["q2_0r", "RequestCount"],
    ] as const) {
      assert.equal(query(id).MetricStat!.Metric!.MetricName, metric);
      assert.deepEqual([query(id).MetricStat!.Period, query(id).MetricStat!.Stat], [86460, "Sum"]);
    }
  });

  it("an above gauge is its highest period: one hot hour of CPU is the figure", async () => {
    const { ctx, out } = broaderPilotDay();
    const cpu = "pod_cpu_utilization_over_pod_limit";
    serveMetrics({ [cpu]: day((h) => hour(h, 60, h === 20 ? 91 : 40)) });
    await gatesLiveCommand({ json: true }, ctx);
    const value = result(out, "cpuUtilization");
    assert.deepEqual([value.value, value.pass], [91, false]);
    assert.match(JSON.parse(out.text()).sources.cpuUtilization, /: highest 1-min Average$/);
  });
});

describe("rollout gates --stack: CloudWatch's period rules", () => {
  it("a window starting more than 15 days ago asks 5-minute multiples, from a start rounded down to 5 minutes", async () => {
    const raw = rolloutKeys(loadStackFile("production").config);
    const decisions = (JSON.parse(raw.decisions!) as { to: string; at: string }[]).map((d) =>
      d.to === "limited-pilot" ? { ...d, at: "2026-11-02T16:02:30Z" } : d,
    );
    const { ctx } = setup("production", { decisions });
    serveMetrics({});
    await gatesLiveCommand({ json: true }, ctx);
    const input = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    assert.deepEqual(input.StartTime, new Date("2026-11-02T16:00:00Z"));
    const periods = Object.fromEntries(input.MetricDataQueries!.map((q) => [q.Id, q.MetricStat!.Period]));
    // rowsPerSecond: its 60 s alarm period is not kept that far back; errorRate: the whole window.
    assert.deepEqual([periods.q1_0, periods.q2_0e, periods.q2_0r], [300, 1706700, 1706700]);
  });

  it("a Sum over a coarser period than the alarm's is per alarm period: 3 errors in 5 minutes read 0.6 a minute", async () => {
    // internal: entered 2026-10-26 (27 days before the clock), its trigger dataIntegrityErrors > 0.
    const { ctx, out } = setup("production", { phase: "internal" });
    serveMetrics({
      DataIntegrityErrors: [
        { at: "2026-11-10T12:00:10Z", value: 1 },
        { at: "2026-11-10T12:01:10Z", value: 2 },
      ],
    });
    assert.equal(await gatesLiveCommand({ json: true }, ctx), 1);
    const json = JSON.parse(out.text());
    const trigger = json.rollbackTriggers.find((t: { gate?: string }) => t.gate === "dataIntegrityErrors");
    assert.deepEqual([trigger.observed, trigger.status], [0.6, "breached"]);
    assert.match(json.sources.dataIntegrityErrors, /: highest 5-min Sum, per 1-min \(the alarm's period\)$/);
  });

  it("periodGranularity: 60 s up to 15 days back, 300 s to 63 days, 3600 s beyond (an hour's margin at each edge)", () => {
    const now = new Date("2026-11-22T10:00:00Z");
    const ago = (days: number) => new Date(now.getTime() - days * 86400_000);
    assert.deepEqual(
      [1, 14.9, 14.99, 15.5, 62.9, 62.99, 64].map((d) => periodGranularity(ago(d), now)),
      [60, 60, 300, 300, 300, 3600, 3600],
    );
  });
});
