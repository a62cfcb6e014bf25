import assert from "node:assert/strict";
import { it } from "node:test";
import { alarmNames, autoRollbackAlarms, COMPOSITE_ALARM_CHILDREN_MAX } from "../../rollout/alarms";
import { compositeAlarmProblems } from "../../rollout/config";
import { loadPlaybook } from "../../rollout/loaders";

const services = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);

it("the composite's children stay within PutCompositeAlarm's 100 (AWS API model, AlarmRule): TBS takes 15 services, not 16", () => {
  const tbs = loadPlaybook("tbs-strategy-framework");
  // 6 per service (error rate, healthy hosts, ALB errors, p95, CPU, memory) + 4 app-wide, of which
  // throughput and session success are split in 2 parts past 9 services.
  assert.equal(alarmNames("x", autoRollbackAlarms(tbs), services(15)).length, 6 * 15 + 6);
  assert.deepEqual(compositeAlarmProblems(tbs, services(15)), []);
  assert.deepEqual(compositeAlarmProblems(tbs, services(16)), [
    `rollout:services: 16 services give the composite rollback alarm 102 auto-rollback alarms of playbook tbs-strategy-framework; expected at most ${COMPOSITE_ALARM_CHILDREN_MAX} (CloudWatch PutCompositeAlarm: an AlarmRule names at most 100 children): split the services over stacks`,
  ]);
});
