import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ACM_CERTIFICATE_ARN,
  canonicalIpv4Cidr,
  cloudWatchMaxEvaluationSeconds,
  configMapDataBytes,
  cpuMillicores,
  EKS_CLUSTER_NAME,
  isIpv6Cidr,
  memoryBytes,
  RDS_MYSQL,
  s3BucketNameProblem,
  SSM_PARAMETER_VALUE_MAX_BYTES,
} from "../../rollout/awsLimits";
import { parseRolloutConfig } from "../../rollout/config";
import { loadStackFile } from "../../rollout/loaders";
import { rolloutKeys } from "../../rollout/stackFile";
import {
  rolloutStateRecord,
  STATE_PARAMETER_TIER,
  stateRecordProblems,
  stateValueBytes,
  worstCaseStateRecord,
} from "../../rollout/state";
import { planTraffic } from "../../rollout/traffic";
import { planStackByName } from "../../cli/offlinePlan";

describe("AWS and Kubernetes limits (rollout/awsLimits.ts)", () => {
  it("canonicalIpv4Cidr: the network address of an IPv4 CIDR, undefined for anything else (table)", () => {
    const table: [string, string | undefined][] = [
      ["203.0.113.0/24", "203.0.113.0/24"],
      ["203.0.113.5/24", "203.0.113.0/24"],
      ["100.68.0.18/18", "100.68.0.0/18"], // EC2's own example (IpRange.CidrIp)
      ["10.1.2.3/8", "10.0.0.0/8"],
      ["198.51.100.7/32", "198.51.100.7/32"],
      ["255.255.255.255/1", "128.0.0.0/1"],
      ["0.0.0.0/0", "0.0.0.0/0"],
      ["8.8.8.8/0", "0.0.0.0/0"],
      ["10.0.0.0/33", undefined],
      ["10.0.0.0/024", undefined],
      ["10.0.0.1", undefined],
      ["2001:db8::/32", undefined],
      ["office.example.com/24", undefined],
    ];
    for (const [cidr, expected] of table) assert.equal(canonicalIpv4Cidr(cidr), expected, cidr);
  });

  it("isIpv6Cidr (table)", () => {
    const table: [string, boolean][] = [
      ["2001:db8::/32", true],
      ["::/0", true],
      ["2001:db8::1/128", true],
      ["2001:db8::/129", false],
      ["2001:db8::", false],
      ["203.0.113.0/24", false],
    ];
    for (const [cidr, expected] of table) assert.equal(isIpv6Cidr(cidr), expected, cidr);
  });

  it("ACM_CERTIFICATE_ARN: the form DescribeCertificate documents, in every partition (table)", () => {
    const id = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
    const table: [string, boolean][] = [
      [`arn:aws:acm:eu-west-1:123456789012:certificate/${id}`, true],
      [`arn:aws-cn:acm:cn-north-1:123456789012:certificate/${id}`, true],
      [`arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/${id}`, true],
      [`arn:aws-iso-b:acm:us-isob-east-1:123456789012:certificate/${id}`, true],
      [`arn:aws:acm:eu-west-1:12345678901:certificate/${id}`, false],
      [`arn:aws:acm:eu-west-1:123456789012:certificate/`, false],
      [`arn:aws:acm:eu-west-1:123456789012:certificate/${id.toUpperCase()}`, false],
      [`arn:aws:iam::123456789012:server-certificate/${id}`, false],
      [`arn:azure:acm:eu-west-1:123456789012:certificate/${id}`, false],
      [`arn:aws:acm:eu-west:123456789012:certificate/${id}`, false],
    ];
    for (const [arn, expected] of table) assert.equal(ACM_CERTIFICATE_ARN.test(arn), expected, arn);
  });

  it("s3BucketNameProblem accepts names the naming rules allow (table)", () => {
    for (const name of ["abc", "tbs-production-alb-access-logs", "tbs.alb.logs", "a".repeat(63), "1-logs-2"])
      assert.equal(s3BucketNameProblem(name), undefined, name);
  });

  it("s3BucketNameProblem names the first rule a name breaks (table)", () => {
    const table: [string, string][] = [
      ["a".repeat(64), "between 3 and 63 characters long"],
      ["logs_2026", "of only lowercase letters, numbers, periods (.) and hyphens (-)"],
      ["logs-", "beginning and ending with a letter or number"],
      ["a..b", "with no two adjacent periods"],
      ["10.0.0.1", "not formatted as an IP address"],
      ["sthree-logs", "not starting with the reserved prefix sthree-"],
      ["amzn-s3-demo-logs", "not starting with the reserved prefix amzn-s3-demo-"],
      ["logs.mrap", "not ending with the reserved suffix .mrap"],
      ["logs--x-s3", "not ending with the reserved suffix --x-s3"],
      ["logs--table-s3", "not ending with the reserved suffix --table-s3"],
    ];
    for (const [name, rule] of table) assert.equal(s3BucketNameProblem(name), rule, name);
  });

  it("cpuMillicores: millicores or cores to 1m, nothing finer (table)", () => {
    const table: [string, number | undefined][] = [
      ["250m", 250],
      ["1", 1000],
      ["0.5", 500],
      ["1.125", 1125],
      ["0", 0],
      ["0m", 0],
      ["0.0005", undefined],
      ["0.5m", undefined],
      ["1.5.0", undefined],
      ["-1", undefined],
      ["1k", undefined],
      ["", undefined],
    ];
    for (const [quantity, expected] of table) assert.equal(cpuMillicores(quantity), expected, quantity);
  });

  it("memoryBytes: binary suffixes only (table)", () => {
    const table: [string, number | undefined][] = [
      ["512Mi", 512 * 1024 ** 2],
      ["1Gi", 1024 ** 3],
      ["65536Ki", 64 * 1024 ** 2],
      ["0Mi", 0],
      ["512M", undefined],
      ["512", undefined],
      ["1.5Gi", undefined],
    ];
    for (const [quantity, expected] of table) assert.equal(memoryBytes(quantity), expected, quantity);
  });

  it("configMapDataBytes counts every key's and value's UTF-8 bytes", () => {
    assert.equal(configMapDataBytes({}), 0);
    assert.equal(configMapDataBytes({ newDashboard: "true", legacyExport: "false" }), 12 + 4 + 12 + 5);
    assert.equal(configMapDataBytes({ k: "é" }), 1 + 2);
  });

  it('RDS for MySQL master password: 8-41 printable ASCII characters but /, ", @ and space', () => {
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
    const allowed = printable.filter((c) => !['"', "/", "@"].includes(c));
    for (const c of allowed) assert.ok(RDS_MYSQL.masterPassword.test(c.repeat(8)), JSON.stringify(c));
    for (const c of ['"', "/", "@", " ", "\t", "é"])
      assert.ok(!RDS_MYSQL.masterPassword.test(`abcdefg${c}`), JSON.stringify(c));
    assert.ok(RDS_MYSQL.masterPassword.test("x".repeat(41)));
    assert.ok(!RDS_MYSQL.masterPassword.test("x".repeat(42)));
    assert.ok(!RDS_MYSQL.masterPassword.test("x".repeat(7)));
  });

  it("EKS cluster names: 1-100 characters of CreateCluster's pattern (table)", () => {
    const table: [string, boolean][] = [
      ["tbs-production", true],
      ["0_cluster", true],
      ["c".repeat(100), true],
      ["c".repeat(101), false],
      ["-tbs", false],
      ["tbs staging", false],
      ["", false],
    ];
    for (const [name, expected] of table) assert.equal(EKS_CLUSTER_NAME.test(name), expected, name);
  });

  it("cloudWatchMaxEvaluationSeconds: one day under hourly periods, seven days from them", () => {
    assert.deepEqual(
      [10, 60, 300, 3599, 3600, 86400].map(cloudWatchMaxEvaluationSeconds),
      [86400, 86400, 86400, 86400, 604800, 604800],
    );
  });
});

describe("the rollout state record against its SSM parameter's limit", () => {
  const staging = () => parseRolloutConfig(rolloutKeys(loadStackFile("staging").config), "staging");

  it("the program writes exactly the record rolloutStateRecord builds, in the tier the limit is taken from", async () => {
    const config = staging();
    const result = await planStackByName("staging", undefined, new Date("2026-11-29T12:00:00Z"));
    const parameter = result.resources.find((r) => r.name === "rollout-state")!;
    assert.equal(parameter.inputs.tier, STATE_PARAMETER_TIER);
    const traffic = planTraffic(config);
    // Offline, the latch cannot be read: the program records it as unknown.
    assert.equal(
      parameter.inputs.insecureValue,
      JSON.stringify(rolloutStateRecord(config, traffic, "unknown")),
    );
  });

  it("the worst case takes the longest latch status, weights and every cohort rule", () => {
    const config = staging();
    const worst = worstCaseStateRecord(config);
    assert.equal(worst.latch, "acknowledged");
    assert.deepEqual(
      worst.services.map((s) => [s.service, s.blue + s.green, s.cohortRules]),
      [
        // 10 users: 4 header rules (3 values each) and 5 cookie rules (2 each).
        ["web", 100, 18],
        ["api", 100, 18],
      ],
    );
    for (const green of [0, 1, 10, 50, 99, 100]) {
      const traffic = planTraffic({ ...config, greenWeight: green });
      for (const latch of ["unknown", "clear", "set", "acknowledged"] as const)
        assert.ok(stateValueBytes(rolloutStateRecord(config, traffic, latch)) <= stateValueBytes(worst));
    }
    assert.deepEqual(stateRecordProblems(config), []);
  });

  it("the worst case counts what finish and start add: blue on green's version, a release of every service, the finish", () => {
    const config = staging();
    // The committed stack has none of them: its record is what it was before the lifecycle existed.
    const record = rolloutStateRecord(config, planTraffic(config), "clear");
    assert.deepEqual(
      [record.release, record.finish, record.services.map((s) => s.blueRunsGreen)],
      [undefined, undefined, [undefined, undefined]],
    );
    const worst = worstCaseStateRecord(config);
    assert.deepEqual(
      worst.services.map((s) => s.blueRunsGreen),
      [true, true],
    );
    assert.deepEqual(worst.release, { number: Number.MAX_SAFE_INTEGER, services: ["web", "api"] });
    // Before any finish: the largest `rollout finish` writes for TBS, one line per success criterion.
    const longest = "9".repeat(24);
    assert.deepEqual(worst.finish, {
      fromPhase: "full",
      evidence: [
        `rowsPerSecond = ${longest} (required >= 33573): FAIL`,
        `uptimePercent = ${longest} (required >= 99.9): FAIL`,
        `errorRate = ${longest} (required < 5): FAIL`,
        `rollbackMinutes = ${longest} (required < 15): FAIL`,
        `userSatisfaction = ${longest} (required >= 80): FAIL`,
      ],
    });
    // Once finished: the recorded finish itself.
    const finish = { at: "2026-12-01T10:00:00Z", by: "dana", fromPhase: "full", evidence: ["x"] };
    assert.deepEqual(worstCaseStateRecord({ ...config, finish }).finish, {
      fromPhase: "full",
      evidence: ["x"],
    });
  });

  it("names rollout:signoffs when sign-offs take most of a record over the limit", () => {
    const at = "2026-11-02T15:00:00Z";
    // A playbook of many phases and roles: 12 x 12 sign-offs of 64-character names.
    const ids = (prefix: string) => Array.from({ length: 12 }, (_, i) => `${prefix}${i}`);
    const source: Parameters<typeof stateRecordProblems>[0] = {
      stack: "staging",
      // No success criteria: the worst case's finish record carries no evidence line.
      playbookSpec: { id: "big-playbook", phases: [{ id: "phase0" }], successCriteria: [] },
      tier: "staging",
      phase: "phase0",
      greenWeight: 0,
      rollback: false,
      revision: 0,
      alarmActionsEnabled: true,
      cohorts: undefined,
      decisions: [],
      signoffs: Object.fromEntries(
        ids("phase").map((phase) => [
          phase,
          Object.fromEntries(ids("role").map((role) => [role, { approver: "a".repeat(64), at }])),
        ]),
      ),
      services: [
        {
          name: "web",
          pathPattern: "/*",
          blue: { image: "web:1", port: 8000 },
          green: { image: "web:2", port: 8000 },
        },
      ],
    };
    assert.equal(SSM_PARAMETER_VALUE_MAX_BYTES[STATE_PARAMETER_TIER], 8192);
    // The release lifecycle's worst case counts too: blue running green's version (21 bytes, in
    // services), a release naming every service (57) and the finish record `rollout finish` would
    // write (46 here: no success criteria), 124 bytes in all.
    assert.deepEqual(stateRecordProblems(source), [
      "rollout:signoffs: expected sign-offs, decisions and services whose rollout state record fits its SSM parameter (at most 8192 bytes, PutParameter's limit for the Intelligent-Tiering tier), got a record of up to 17321 bytes (signoffs 16863, decisions 2, services 77); shorten approver names",
    ]);
  });
});
