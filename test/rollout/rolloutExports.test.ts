import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { aggregation, DrillScenario, MAX_DRILL_SECONDS, scenarioIssues } from "../../rollout/drill";
import { alarmSpecs, guardDutyRollbackSeverity, hasAlarms, playbookAlarms } from "../../rollout/alarms";
import { describeRule, evidenceOutside } from "../../rollout/decisions";
import { evaluationCadenceSeconds, GUARDDUTY_PUBLICATION_SECONDS } from "../../rollout/latency";
import { loadPlaybook, PROJECT_ROOT, stackFilePath } from "../../rollout/loaders";
import {
  ALB_ERROR_RATE_PARTS,
  containerInsightsDimensions,
  gateMetricPeriod,
  metricIdentity,
  type MetricLocation,
} from "../../rollout/metricCatalogue";
import {
  customMetricNamespace,
  latchParameterName,
  latchPath,
  stateParameterName,
  workloadName,
  type Colour,
} from "../../rollout/names";
import type { Playbook } from "../../rollout/playbook";
import { SECRET_PLACEHOLDER } from "../../rollout/stackFile";
import { Latch, STATE_PARAMETER_TYPE, STATE_RESOURCE_NAME } from "../../rollout/state";

/**
 * Table tests of rollout/ exports that no other test names: naming helpers whose values
 * other code (the rollback Lambda, dashboards, the CLI) relies on, and small rules.
 */

const tbs = loadPlaybook("tbs-strategy-framework");
const telegram = loadPlaybook("telegram-money-bot");

describe("rollout/ gate exports (alarms, metric catalogue, latency, names, decisions)", () => {
  it("hasAlarms: CloudWatch-watched gates only, never manual evidence, security events or GuardDuty", () => {
    const withoutAlarms = (p: Playbook) => p.gates.filter((g) => !hasAlarms(g)).map((g) => g.id);
    assert.deepEqual(withoutAlarms(tbs), [
      "userSatisfaction",
      "criticalBugsPerDay",
      "pilotUsersAffectedPercent",
    ]);
    assert.deepEqual(withoutAlarms(telegram), [
      "securityEvents",
      "securityFindings",
      "riskRewardRatio",
      "sharpeRatio",
    ]);
  });

  it("names: custom metric namespace and Container Insights workload", () => {
    for (const [actual, expected] of [
      [customMetricNamespace("production"), "StagedRollout/production"],
      [customMetricNamespace("staging"), "StagedRollout/staging"],
      [workloadName("web", "blue"), "web-blue"],
      [workloadName("api", "green"), "api-green"],
    ]) {
      assert.equal(actual, expected);
    }
  });

  it("containerInsightsDimensions: a colour's workload, or the cluster for node metrics", () => {
    const cluster = { clusterName: "tbs-production", namespace: "tbs" };
    const metric = (key: string) => {
      const alarm = playbookAlarms(telegram).find((a) => a.key === key)!;
      assert.equal(alarm.metric.kind, "container-insights", key);
      return alarm.metric;
    };
    assert.deepEqual(
      containerInsightsDimensions(metric("cpuUtilization-critical"), cluster, "web", "green"),
      {
        ClusterName: "tbs-production",
        Namespace: "tbs",
        Service: "web-green",
      },
    );
    assert.deepEqual(
      containerInsightsDimensions(metric("diskUtilization-critical"), cluster, undefined, "blue"),
      {
        ClusterName: "tbs-production",
      },
    );
    assert.throws(
      () => containerInsightsDimensions(metric("memoryUtilization-critical"), cluster, undefined, "blue"),
      { message: "pod_memory_utilization_over_pod_limit is published per Service: expected a service name" },
    );
  });

  it("guardDutyRollbackSeverity: the lowest severity of automatic GuardDuty gates that roll back", () => {
    assert.equal(GUARDDUTY_PUBLICATION_SECONDS, 300);
    // TBS handles security incidents as a manual trigger; Telegram rolls back at severity 7.
    assert.equal(guardDutyRollbackSeverity(tbs), undefined);
    assert.equal(guardDutyRollbackSeverity(telegram), 7);

    const variant = structuredClone(telegram);
    const security = variant.gates.find((g) => g.id === "securityFindings")!;
    variant.gates.push({
      ...structuredClone(security),
      id: "lowFindings",
      metric: { source: "guardduty", minSeverity: 4 },
    });
    variant.rollback.triggers.find((t) => t.id === "securityBreach")!.gates.push("lowFindings");
    assert.equal(guardDutyRollbackSeverity(variant), 4, "several such gates: the lowest wins");

    const warnOnly = structuredClone(telegram);
    warnOnly.gates.find((g) => g.id === "securityFindings")!.critical!.action = "alert";
    assert.equal(guardDutyRollbackSeverity(warnOnly), undefined, "a critical level that only alerts");

    const manual = structuredClone(telegram);
    manual.rollback.triggers.find((t) => t.id === "securityBreach")!.kind = "manual";
    assert.equal(guardDutyRollbackSeverity(manual), undefined, "a gate fed only to a manual trigger");
  });

  it('evaluationCadenceSeconds: high-resolution alarms every 10 s (CloudWatch User Guide: "If the alarm period is 10 seconds or 30 seconds, the alarm is evaluated every 10 seconds"), otherwise every minute', () => {
    for (const [period, cadence] of [
      [10, 10],
      [30, 10],
      [60, 60],
      [300, 60],
      [3600, 60],
    ]) {
      assert.equal(evaluationCadenceSeconds(period!), cadence, `period ${period}`);
    }
  });

  it("describeRule: ALL n, or k of n, for every transition of both playbooks", () => {
    assert.deepEqual(tbs.transitions.map(describeRule), ["ALL 7", "ALL 5", "3 of 4", "ALL 6", "ALL 6"]);
    assert.deepEqual(telegram.transitions.map(describeRule), ["ALL 4", "ALL 8", "ALL 7"]);
  });

  it("evidenceOutside: keys not known, in the evidence's order", () => {
    for (const [evidence, known, outside] of [
      [{ errorRate: 0.5, rowsPerSecond: 40000 }, ["errorRate", "rowsPerSecond"], []],
      [
        { errorRat: 0.5, rowsPerSecond: 40000, featureParty: 100 },
        ["errorRate", "rowsPerSecond"],
        ["errorRat", "featureParty"],
      ],
      [{ errorRate: 0.5 }, [], ["errorRate"]],
      [{}, ["errorRate"], []],
    ] as [Record<string, number>, string[], string[]][]) {
      assert.deepEqual(evidenceOutside(evidence, known), outside);
    }
  });
});

describe("rollout/metricCatalogue: one metric identity for alarms, dashboards and evidence", () => {
  const gate = (playbook: Playbook, id: string) => playbook.gates.find((g) => g.id === id)!;

  it("gateMetricPeriod: the metric's own period, as the alarms use it; none for manual and GuardDuty gates (table)", () => {
    const table: [Playbook, string, number | undefined][] = [
      [tbs, "errorRate", 60],
      [tbs, "p95ResponseMs", 60],
      [tbs, "cpuUtilization", 60],
      [tbs, "rowsPerSecond", 60],
      [telegram, "criticalErrors", 10],
      [telegram, "circuitBreakerOpen", 30],
      [tbs, "userSatisfaction", undefined],
      [telegram, "securityFindings", undefined],
    ];
    for (const [playbook, id, period] of table)
      assert.equal(gateMetricPeriod(gate(playbook, id)), period, id);
  });

  it("metricUnit and metricScale: only ALB response time converts (ms in the playbook, s in CloudWatch)", () => {
    const conversions = [tbs, telegram].flatMap((p) =>
      playbookAlarms(p).map((a) => [
        a.key,
        a.unit,
        a.metricUnit,
        a.metricScale,
        a.playbookThreshold,
        a.threshold,
      ]),
    );
    assert.deepEqual(
      conversions.filter(([, unit, metricUnit, scale]) => unit !== metricUnit || scale !== 1),
      [
        ["p95ResponseMs-critical", "ms", "s", 0.001, 300, 0.3],
        ["p95ResponseMs-warning", "ms", "s", 0.001, 250, 0.25],
        ["p95ResponseMs-blue", "ms", "s", 0.001, 300, 0.3],
        ["p95LatencyMs-critical", "ms", "s", 0.001, 1000, 1],
        ["p95LatencyMs-warning", "ms", "s", 0.001, 200, 0.2],
        ["p95LatencyMs-blue", "ms", "s", 0.001, 1000, 1],
      ],
    );
    // A custom metric in ms is published in the application's own unit: no conversion.
    const dbQuery = alarmSpecs(gate(telegram, "dbQueryMs"))[0]!;
    assert.deepEqual([dbQuery.unit, dbQuery.metricUnit, dbQuery.metricScale], ["ms", "ms", 1]);
  });

  it("metricIdentity: namespace, name, dimensions in CloudWatch's order, and the statistic of each kind", () => {
    const where: MetricLocation<string> = {
      alb: { loadBalancer: "app/alb/1", targetGroup: "targetgroup/web-green/2" },
      cluster: { clusterName: "tbs-production", namespace: "tbs" },
      customNamespace: "StagedRollout/production",
    };
    const metricOf = (playbook: Playbook, key: string) => {
      const metric = playbookAlarms(playbook).find((a) => a.key === key)!.metric;
      assert.notEqual(metric.kind, "alb-error-rate", key);
      return metric as Parameters<typeof metricIdentity>[0];
    };
    const table: [string, Parameters<typeof metricIdentity>[0], string | undefined, Colour, object][] = [
      [
        "ALB percentile",
        metricOf(tbs, "p95ResponseMs-critical"),
        "web",
        "green",
        {
          namespace: "AWS/ApplicationELB",
          metricName: "TargetResponseTime",
          dimensions: { LoadBalancer: "app/alb/1", TargetGroup: "targetgroup/web-green/2" },
          extendedStatistic: "p95",
        },
      ],
      [
        "ALB error rate's errors",
        ALB_ERROR_RATE_PARTS.errors,
        "web",
        "green",
        {
          namespace: "AWS/ApplicationELB",
          metricName: "HTTPCode_Target_5XX_Count",
          dimensions: { LoadBalancer: "app/alb/1", TargetGroup: "targetgroup/web-green/2" },
          statistic: "Sum",
        },
      ],
      [
        "ALB error rate's requests",
        ALB_ERROR_RATE_PARTS.requests,
        "web",
        "green",
        {
          namespace: "AWS/ApplicationELB",
          metricName: "RequestCount",
          dimensions: { LoadBalancer: "app/alb/1", TargetGroup: "targetgroup/web-green/2" },
          statistic: "Sum",
        },
      ],
      [
        "Container Insights per Service",
        metricOf(telegram, "cpuUtilization-critical"),
        "web",
        "blue",
        {
          namespace: "ContainerInsights",
          metricName: "pod_cpu_utilization_over_pod_limit",
          dimensions: { ClusterName: "tbs-production", Namespace: "tbs", Service: "web-blue" },
          statistic: "Average",
        },
      ],
      [
        "Container Insights for the cluster",
        metricOf(telegram, "diskUtilization-critical"),
        undefined,
        "green",
        {
          namespace: "ContainerInsights",
          metricName: "node_filesystem_utilization",
          dimensions: { ClusterName: "tbs-production" },
          statistic: "Maximum",
        },
      ],
      [
        "custom statistic",
        metricOf(tbs, "rowsPerSecond-critical"),
        undefined,
        "blue",
        {
          namespace: "StagedRollout/production",
          metricName: "RowsPerSecond",
          dimensions: { Colour: "blue" },
          statistic: "Average",
        },
      ],
      [
        "custom percentile",
        metricOf(telegram, "dbQueryMs-warning"),
        undefined,
        "green",
        {
          namespace: "StagedRollout/production",
          metricName: "DbQueryMs",
          dimensions: { Colour: "green" },
          extendedStatistic: "p95",
        },
      ],
    ];
    for (const [what, metric, service, colour, expected] of table) {
      const identity = metricIdentity(metric, where, service, colour);
      assert.deepEqual(identity, expected, what);
      assert.deepEqual(
        Object.keys(identity.dimensions),
        Object.keys((expected as { dimensions: object }).dimensions),
        `${what}: dimension order`,
      );
    }
  });
});

describe("rollout/state and rollout/names exports", () => {
  it("names the state parameter and the latch the rollback Lambda writes", () => {
    for (const [actual, expected] of [
      [STATE_PARAMETER_TYPE, "aws:ssm/parameter:Parameter"],
      [STATE_RESOURCE_NAME, "rollout-state"],
      [stateParameterName("production"), "/staged-rollout/production/state"],
      [latchPath("production"), "/staged-rollout/production/latch"],
      [latchParameterName("production"), "/staged-rollout/production/latch/rollback"],
      [latchParameterName("staging"), "/staged-rollout/staging/latch/rollback"],
    ]) {
      assert.equal(actual, expected);
    }
  });

  it("Latch: exactly reason, alarm and at, and optionally notificationPending", () => {
    const latch = {
      reason: "errorRate-critical in ALARM",
      alarm: "production-errorRate-critical",
      at: "2026-11-20T09:30:00Z",
    };
    assert.deepEqual(Latch.parse(latch), latch);
    assert.equal(Latch.safeParse({ ...latch, extra: 1 }).success, false);
    assert.equal(Latch.safeParse({ reason: "r", alarm: "a" }).success, false);
    assert.deepEqual(Latch.parse({ ...latch, notificationPending: true }), {
      ...latch,
      notificationPending: true,
    });
    assert.equal(Latch.safeParse({ ...latch, notificationPending: "true" }).success, false);
  });
});

describe("rollout/drill exports", () => {
  const scenario = (metrics: DrillScenario["metrics"], durationSeconds = 600): DrillScenario =>
    DrillScenario.parse({ playbook: "tbs-strategy-framework", durationSeconds, metrics });

  it("MAX_DRILL_SECONDS is a week", () => {
    assert.equal(MAX_DRILL_SECONDS, 604800);
  });

  it("scenarioIssues: unknown gate ids, unsorted points and points after the end", () => {
    assert.deepEqual(
      scenarioIssues(
        scenario({
          errorRate: [
            { at: 0, value: 0.1 },
            { at: 600, value: 3 },
          ],
        }),
        tbs,
      ),
      [],
    );
    assert.deepEqual(
      scenarioIssues(
        scenario({
          errorRat: [{ at: 0, value: 1 }],
          errorRate: [
            { at: 60, value: 0.1 },
            { at: 60, value: 2 },
            { at: 700, value: 3 },
          ],
        }),
        tbs,
      ),
      [
        `metrics.errorRat: unknown gate id; expected one of ${tbs.gates.map((g) => g.id).join(", ")}`,
        "metrics.errorRate[1].at: expected points sorted by at, each after the one before (60), got 60",
        "metrics.errorRate[2].at: expected at most durationSeconds (600), got 700",
      ],
    );
  });

  it("aggregation: how a CloudWatch statistic combines a period's points", () => {
    const byKey = (p: Playbook) => Object.fromEntries(playbookAlarms(p).map((a) => [a.key, aggregation(a)]));
    const tbsAggregation = byKey(tbs);
    const telegramAggregation = byKey(telegram);
    for (const [actual, expected] of [
      [tbsAggregation["errorRate-critical"], "average"], // alb-error-rate
      [tbsAggregation["p95ResponseMs-critical"], "average"], // a percentile
      [tbsAggregation["rowsPerSecond-critical"], "average"], // Average
      [tbsAggregation["diskFreePercent-critical"], "minimum"], // Minimum
      [tbsAggregation["dbConnectionFailures-critical"], "sum"], // Sum
      [telegramAggregation["queueDepth-critical"], "maximum"], // Maximum
      [telegramAggregation["diskUtilization-critical"], "maximum"], // Container Insights, Maximum
    ]) {
      assert.equal(actual, expected);
    }
    assert.equal(
      aggregation({ metric: { kind: "custom", metricName: "Requests", statistic: "SampleCount" } }),
      "sum",
    );
  });
});

describe("rollout/stackFile and rollout/loaders exports", () => {
  it("stackFilePath: Pulumi.<stack>.yaml at the project root, or under another root", () => {
    assert.equal(PROJECT_ROOT, path.resolve(__dirname, "..", ".."));
    assert.equal(stackFilePath("production"), path.join(PROJECT_ROOT, "Pulumi.production.yaml"));
    assert.equal(stackFilePath("staging", "/tmp/stacks"), "/tmp/stacks/Pulumi.staging.yaml");
    assert.equal(SECRET_PLACEHOLDER, "[secret]");
  });
});
