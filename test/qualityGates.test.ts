import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { rollbackBundle, UNSCOPABLE_STATEMENTS } from "../components/autoRollback";
import { loadStackFile, type StackFile } from "../rollout/stackFile";
import { planStack, type PlanResult } from "../scripts/plan";

type Inputs = Record<string, any>;
const alarms = (r: PlanResult) =>
  new Map(
    r.resources
      .filter((x) => x.type === "aws:cloudwatch/metricAlarm:MetricAlarm")
      .map((x) => [x.inputs.name as string, x.inputs as Inputs]),
  );
const one = (r: PlanResult, type: string) => {
  const found = r.resources.filter((x) => x.type === type);
  assert.equal(found.length, 1, type);
  return found[0]!.inputs as Inputs;
};

function variant(changes: Record<string, string>): StackFile {
  const file = loadStackFile("production");
  const config = { ...file.config };
  for (const [k, v] of Object.entries(changes)) config[`rollout:${k}`] = v;
  return { ...file, config };
}

/** [comparison, threshold, period, evaluationPeriods, datapointsToAlarm, treatMissingData] */
function shape(a: Inputs) {
  const period = a.period ?? a.metricQueries?.[0]?.metric?.period;
  return [
    a.comparisonOperator,
    a.threshold,
    period,
    a.evaluationPeriods,
    a.datapointsToAlarm,
    a.treatMissingData,
  ];
}

describe("quality gates: TBS in production", () => {
  let plan: PlanResult;
  before(async () => {
    plan = await planStack(loadStackFile("production"));
  });

  it("alarms carry the document's thresholds and windows", () => {
    const a = alarms(plan);
    assert.deepEqual(shape(a.get("production-errorRate-critical-web")!), [
      "GreaterThanThreshold",
      5,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-errorRate-warning-api")!), [
      "GreaterThanThreshold",
      3,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-rowsPerSecond-critical")!), [
      "LessThanThreshold",
      27977,
      60,
      10,
      10,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-rowsPerSecond-warning")!), [
      "LessThanThreshold",
      29842,
      60,
      10,
      10,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-p95ResponseMs-critical-web")!), [
      "GreaterThanThreshold",
      0.3,
      60,
      5,
      5,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-dbConnectionFailures-critical")!), [
      "GreaterThanThreshold",
      3,
      60,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-cpuUtilization-critical-api")!), [
      "GreaterThanThreshold",
      95,
      60,
      5,
      5,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-memoryUtilization-critical-web")!), [
      "GreaterThanThreshold",
      95,
      60,
      5,
      5,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-uptimePercent-critical")!), [
      "LessThanThreshold",
      99.9,
      3600,
      24,
      24,
      "missing",
    ]);
    // 9 app-wide alarms + 8 per-service levels x 2 services.
    assert.equal(a.size, 25);
  });

  it("measures each metric where the document means it", () => {
    const a = alarms(plan);
    const errorRate = a.get("production-errorRate-critical-web")!;
    assert.deepEqual(
      errorRate.metricQueries.map((q: Inputs) => q.expression ?? `${q.metric.metricName}/${q.metric.stat}`),
      ["HTTPCode_Target_5XX_Count/Sum", "RequestCount/Sum", "errors / requests * 100"],
    );
    assert.match(
      errorRate.metricQueries[0].metric.dimensions.TargetGroup,
      /^targetgroup\/router-web-green-tg\//,
    );
    const p95 = a.get("production-p95ResponseMs-critical-api")!;
    assert.deepEqual(
      [p95.namespace, p95.metricName, p95.extendedStatistic],
      ["AWS/ApplicationELB", "TargetResponseTime", "p95"],
    );
    const rows = a.get("production-rowsPerSecond-critical")!;
    assert.deepEqual(
      [rows.namespace, rows.metricName, rows.statistic, rows.dimensions],
      ["StagedRollout/production", "RowsPerSecond", "Average", { Colour: "green" }],
    );
    const cpu = a.get("production-cpuUtilization-critical-web")!;
    assert.deepEqual(cpu.dimensions, {
      ClusterName: "tbs-production",
      Namespace: "tbs",
      Service: "web-green",
    });
  });

  it("sends each alarm to its severity's topic and the composite to the Lambda and critical", () => {
    const a = alarms(plan);
    assert.deepEqual(a.get("production-errorRate-critical-web")!.alarmActions, [
      "arn:aws:sns:eu-west-1:123456789012:alerts-critical",
    ]);
    assert.deepEqual(a.get("production-errorRate-warning-web")!.alarmActions, [
      "arn:aws:sns:eu-west-1:123456789012:alerts-warning",
    ]);
    // "memory_usage_critical: 90% immediate alert": the warning level notifies critical.
    assert.deepEqual(a.get("production-memoryUtilization-warning-api")!.alarmActions, [
      "arn:aws:sns:eu-west-1:123456789012:alerts-critical",
    ]);
    const composite = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm");
    assert.equal(composite.alarmName, "production-auto-rollback");
    assert.equal(composite.actionsEnabled, true);
    assert.deepEqual(composite.alarmActions, [
      "arn:aws:lambda:eu-west-1:123456789012:function:production-auto-rollback",
      "arn:aws:sns:eu-west-1:123456789012:alerts-critical",
    ]);
    const permission = plan.resources.find((r) => r.name === "auto-rollback-alarm-permission")!
      .inputs as Inputs;
    assert.equal(permission.principal, "lambda.alarms.cloudwatch.amazonaws.com");
    assert.equal(
      permission.sourceArn,
      "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:production-auto-rollback",
    );
  });

  it("the composite alarm's rule names exactly the auto-rollback alarms", () => {
    const rule = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm").alarmRule as string;
    const named = [...rule.matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    assert.deepEqual(named, [
      "production-cpuUtilization-critical-api",
      "production-cpuUtilization-critical-web",
      "production-dataIntegrityErrors-critical",
      "production-dbConnectionFailures-critical",
      "production-errorRate-critical-api",
      "production-errorRate-critical-web",
      "production-memoryUtilization-critical-api",
      "production-memoryUtilization-critical-web",
      "production-p95ResponseMs-critical-api",
      "production-p95ResponseMs-critical-web",
      "production-rowsPerSecond-critical",
      "production-sessionSuccessRate-critical",
    ]);
    assert.equal(rule.split(" OR ").length, 12);
  });

  it("puts every gate on the dashboard with its thresholds as annotations", () => {
    const body = JSON.parse(one(plan, "aws:cloudwatch/dashboard:Dashboard").dashboardBody);
    const widget = (title: string) => body.widgets.find((w: Inputs) => w.properties.title === title);
    assert.deepEqual(
      widget("gate: rowsPerSecond (rows/s)").properties.annotations.horizontal.map((h: Inputs) => h.value),
      [27977, 29842],
    );
    assert.ok(widget("web: traffic split (requests)"));
    assert.ok(widget("api: p95 latency blue vs green (s)"));
    assert.equal(body.widgets.at(-1).type, "alarm");
    assert.equal(body.widgets.at(-1).properties.alarms.length, 25);
  });
});

describe("quality gates: muted and other playbooks", () => {
  it("carries no actions at all when alarmActionsEnabled is false", async () => {
    const muted = await planStack(variant({ alarmActionsEnabled: "false" }));
    for (const [name, a] of alarms(muted)) {
      assert.equal(a.actionsEnabled, false, name);
      assert.deepEqual([a.alarmActions, a.okActions], [[], []], name);
    }
    const composite = one(muted, "aws:cloudwatch/compositeAlarm:CompositeAlarm");
    assert.equal(composite.actionsEnabled, false);
    assert.deepEqual(composite.alarmActions, []);
  });

  it("builds the TelegramMoneyBot triggers: 10 s high-resolution errors, 30 s circuit breaker", async () => {
    const telegram = await planStack(
      variant({
        playbook: "telegram-money-bot",
        phase: "staging-deployment",
        decisions: "[]",
        signoffs: "{}",
      }),
    );
    const a = alarms(telegram);
    assert.deepEqual(shape(a.get("production-criticalErrors-critical")!), [
      "GreaterThanThreshold",
      0,
      10,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-dataCorruption-critical")!), [
      "GreaterThanThreshold",
      0,
      10,
      1,
      1,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-circuitBreakerOpen-critical")!), [
      "GreaterThanThreshold",
      0,
      30,
      1,
      1,
      "missing",
    ]);
    assert.deepEqual(shape(a.get("production-p95LatencyMs-critical-web")!), [
      "GreaterThanThreshold",
      1,
      60,
      3,
      3,
      "notBreaching",
    ]);
    assert.deepEqual(shape(a.get("production-cpuUtilization-critical-api")!), [
      "GreaterThanThreshold",
      80,
      60,
      5,
      5,
      "missing",
    ]);
    const rule = one(telegram, "aws:cloudwatch/compositeAlarm:CompositeAlarm").alarmRule as string;
    const named = [...rule.matchAll(/ALARM\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    assert.deepEqual(named, [
      "production-circuitBreakerOpen-critical",
      "production-criticalErrors-critical",
      "production-dataCorruption-critical",
      "production-errorRate-critical-api",
      "production-errorRate-critical-web",
      "production-p95LatencyMs-critical-api",
      "production-p95LatencyMs-critical-web",
    ]);
  });
});

describe("rollback Lambda resources", () => {
  let plan: PlanResult;
  before(async () => {
    plan = await planStack(loadStackFile("production"));
  });

  it("runs Node.js 20 with reserved concurrency 1, tracing, a DLQ and the bundled handler", () => {
    const fn = one(plan, "aws:lambda/function:Function");
    assert.deepEqual(
      [fn.name, fn.runtime, fn.handler, fn.reservedConcurrentExecutions, fn.tracingConfig, fn.timeout],
      ["production-auto-rollback", "nodejs20.x", "index.handler", 1, { mode: "Active" }, 60],
    );
    assert.match(fn.deadLetterConfig.targetArn, /^arn:aws:sqs:/);
    assert.equal(fn.environment.variables.LATCH_PARAMETER, "/staged-rollout/production/latch/rollback");
    assert.deepEqual(
      JSON.parse(fn.environment.variables.TARGET_GROUP_PAIRS).map((p: Inputs) => p.service),
      ["web", "api"],
    );
    const code = rollbackBundle();
    assert.ok(code.length > 1000 && code.includes("DescribeRules") && code.includes("ModifyRule"));
  });

  it("grants least privilege: no wildcard action, '*' resources only where IAM has no resource-level permissions", () => {
    const doc = JSON.parse(one(plan, "aws:iam/rolePolicy:RolePolicy").policy);
    const statements = doc.Statement as { Sid: string; Action: string[]; Resource: string | string[] }[];
    assert.deepEqual(
      statements.map((s) => [s.Sid, s.Action]),
      [
        ["ModifyThisLoadBalancersRules", ["elasticloadbalancing:ModifyRule"]],
        ["DescribeRulesHasNoResourceLevelPermissions", ["elasticloadbalancing:DescribeRules"]],
        ["WriteLatch", ["ssm:PutParameter"]],
        ["NotifyCritical", ["sns:Publish"]],
        ["DeadLetters", ["sqs:SendMessage"]],
        ["Logs", ["logs:CreateLogStream", "logs:PutLogEvents"]],
        ["XRayHasNoResourceLevelPermissions", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]],
      ],
    );
    for (const s of statements) {
      for (const action of s.Action) assert.doesNotMatch(action, /\*/, s.Sid);
      if (s.Resource === "*") assert.ok(s.Sid in UNSCOPABLE_STATEMENTS, s.Sid);
    }
    assert.deepEqual(statements[0]!.Resource, [
      "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/router-alb/0123456789abcdef/*",
    ]);
    assert.deepEqual(statements[2]!.Resource, [
      "arn:aws:ssm:eu-west-1:123456789012:parameter/staged-rollout/production/latch/rollback",
    ]);
  });

  it("routes GuardDuty findings of severity >= 7 to the Lambda", () => {
    const rule = one(plan, "aws:cloudwatch/eventRule:EventRule");
    assert.deepEqual(JSON.parse(rule.eventPattern), {
      source: ["aws.guardduty"],
      "detail-type": ["GuardDuty Finding"],
      detail: { severity: [{ numeric: [">=", 7] }] },
    });
    assert.equal(
      one(plan, "aws:cloudwatch/eventTarget:EventTarget").arn,
      "arn:aws:lambda:eu-west-1:123456789012:function:production-auto-rollback",
    );
  });
});
