import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alarmQueries, type AlarmPlace, type ExpressionQuery } from "../../rollout/alarmQueries";
import {
  ALARM_MATH_METRICS_MAX,
  alarmNames,
  alarmSpecs,
  alarmTargets,
  blueAlarmSpecs,
  playbookAlarms,
  securityEventRollback,
} from "../../rollout/alarms";
import { loadPlaybook } from "../../rollout/loaders";
import type { Playbook } from "../../rollout/playbook";
import { loadModels } from "../support/awsModel";

/**
 * The alarm model's new shapes: blue's twins, alarms gated on a colour carrying traffic, and
 * the split of app-wide gated alarms over CloudWatch's 10-metric limit for alarm math.
 */

const tbs = loadPlaybook("tbs-strategy-framework");
const telegram = loadPlaybook("telegram-money-bot");
const gate = (p: Playbook, id: string) => p.gates.find((g) => g.id === id)!;
const place: AlarmPlace<string> = {
  loadBalancer: "app/alb/1",
  targetGroup: (service, colour) => `targetgroup/${service}-${colour}/1`,
  cluster: { clusterName: "tbs-production", namespace: "tbs" },
  customNamespace: "StagedRollout/production",
};

describe("blue's alarms", () => {
  it("every ALB gate of both playbooks has a blue twin that pages critical and never rolls back", () => {
    for (const playbook of [tbs, telegram]) {
      const blue = playbookAlarms(playbook).filter((a) => a.colour === "blue");
      assert.deepEqual(
        blue.map((a) => [a.key, a.level, a.action, a.notify, a.autoRollback]),
        playbook.gates
          .filter((g) => g.metric.source === "alb")
          .map((g) => [`${g.id}-blue`, "critical", "alert", "critical", false]),
        playbook.id,
      );
    }
  });

  it("keeps the critical level's numbers and says it pages", () => {
    const [twin] = blueAlarmSpecs(gate(tbs, "p95ResponseMs"));
    const critical = alarmSpecs(gate(tbs, "p95ResponseMs")).find((a) => a.level === "critical")!;
    assert.deepEqual(
      [
        twin!.threshold,
        twin!.periodSeconds,
        twin!.evaluationPeriods,
        twin!.treatMissingData,
        twin!.description,
      ],
      [
        critical.threshold,
        critical.periodSeconds,
        critical.evaluationPeriods,
        critical.treatMissingData,
        "blue: Response time (p95) > 300 ms for 300 s -> page critical",
      ],
    );
  });

  it("custom and Container Insights gates have none (the colour is not a target group)", () => {
    assert.deepEqual(blueAlarmSpecs(gate(tbs, "rowsPerSecond")), []);
    assert.deepEqual(blueAlarmSpecs(gate(tbs, "cpuUtilization")), []);
  });
});

describe("alarms gated on traffic", () => {
  it("green's healthy hosts: serving is green's own requests (never the load balancer's 5xx, which AWS does not attribute); silence reads 0 hosts, idle reads the threshold", () => {
    const [hosts] = alarmSpecs(gate(tbs, "healthyHosts"));
    assert.deepEqual(hosts!.whileServing, { silence: 0, neutral: 1 });
    const queries = alarmQueries(hosts!, { service: "api", servingServices: ["api"] }, place);
    assert.ok("queries" in queries);
    assert.deepEqual(queries.queries, [
      {
        id: "hosts",
        period: 60,
        metric: {
          namespace: "AWS/ApplicationELB",
          metricName: "HealthyHostCount",
          dimensions: { LoadBalancer: "app/alb/1", TargetGroup: "targetgroup/api-green/1" },
          statistic: "Minimum",
        },
      },
      {
        id: "requests",
        period: 60,
        metric: {
          namespace: "AWS/ApplicationELB",
          metricName: "RequestCount",
          dimensions: { LoadBalancer: "app/alb/1", TargetGroup: "targetgroup/api-green/1" },
          statistic: "Sum",
        },
      },
      {
        id: "value",
        expression: "IF(FILL(requests, 0) > 0, FILL(hosts, 0), 1)",
        label: "green healthy hosts while serving",
        returnData: true,
      },
    ]);
  });

  it("ALB-generated errors: connection errors as % of the colour's requests, 0 while it gets none", () => {
    const [errors] = alarmSpecs(gate(telegram, "albGeneratedErrors"));
    const queries = alarmQueries(errors!, { service: "web", servingServices: ["web"] }, place);
    assert.ok("queries" in queries);
    assert.deepEqual(
      queries.queries.map((q) =>
        "metric" in q ? `${q.id}=${q.metric.metricName}` : `${q.id}=${q.expression}`,
      ),
      [
        "requests=RequestCount",
        "connErrors=TargetConnectionErrorCount",
        "served=FILL(requests, 0)",
        "value=IF(served > 0, 100 * FILL(connErrors, 0) / served, 0)",
      ],
    );
  });

  it("a custom gate with silenceWhileServing: gated by green's requests to every service", () => {
    const [rows] = alarmSpecs(gate(tbs, "rowsPerSecond"));
    assert.deepEqual(rows!.whileServing, { silence: 0, neutral: 27977 });
    // Gates without it are not gated: a silent uptime probe says nothing about green.
    assert.equal(alarmSpecs(gate(tbs, "uptimePercent"))[0]!.whileServing, undefined);
    assert.equal(alarmSpecs(gate(tbs, "errorRate"))[0]!.whileServing, undefined);
  });

  it("splits an app-wide gated alarm in parts of 9 services: 10 metrics is CloudWatch's limit for alarm math", () => {
    const [rows] = alarmSpecs(gate(tbs, "rowsPerSecond"));
    const services = Array.from({ length: 20 }, (_, i) => `s${i + 1}`);
    const targets = alarmTargets(rows!, services);
    assert.deepEqual(
      targets.map((t) => [t.part, t.servingServices.length]),
      [
        [1, 9],
        [2, 9],
        [3, 2],
      ],
    );
    assert.deepEqual(alarmNames("production", [rows!], services), [
      "production-rowsPerSecond-critical-part1",
      "production-rowsPerSecond-critical-part2",
      "production-rowsPerSecond-critical-part3",
    ]);
    for (const target of targets) {
      const queries = alarmQueries(rows!, target, place);
      assert.ok("queries" in queries);
      const metrics = queries.queries.filter((q) => "metric" in q);
      assert.ok(metrics.length <= ALARM_MATH_METRICS_MAX, `${metrics.length} metrics`);
      assert.deepEqual(
        metrics.slice(1).map((q) => ("metric" in q ? q.metric.dimensions.TargetGroup : "")),
        target.servingServices.map((s) => `targetgroup/${s}-green/1`),
      );
    }
    // Up to 9 services: one alarm under its plain name.
    assert.deepEqual(alarmNames("production", [rows!], services.slice(0, 9)), [
      "production-rowsPerSecond-critical",
    ]);
  });

  it("every expression fits PutMetricAlarm's MetricDataQuery.Expression (botocore: max 2048) for 9 long service names", () => {
    const expressionMax = loadModels().get("cloudwatch")!.shapes.MetricExpression!.max!;
    assert.equal(expressionMax, 2048);
    const services = Array.from({ length: 9 }, (_, i) => `service-with-a-long-name-${i}`);
    for (const spec of [...playbookAlarms(tbs), ...playbookAlarms(telegram)]) {
      for (const target of alarmTargets(spec, services)) {
        const queries = alarmQueries(spec, target, place);
        if (!("queries" in queries)) continue;
        for (const q of queries.queries.filter((x): x is ExpressionQuery => "expression" in x))
          assert.ok(q.expression.length <= expressionMax, `${spec.key}: ${q.expression.length}`);
        assert.equal(queries.queries.filter((q) => "returnData" in q && q.returnData).length, 1, spec.key);
      }
    }
  });
});

describe("security events", () => {
  it("Telegram rolls back on the application's own security event; TBS has no automatic security trigger", () => {
    assert.equal(securityEventRollback(telegram), true);
    assert.equal(securityEventRollback(tbs), false);
  });
});
