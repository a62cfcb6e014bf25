import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";

const fixtures = path.join(__dirname, "..", "fixtures", "evidence");

function evidenceFile(content: string, ext = "yaml"): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "evidence-")), `evidence.${ext}`);
  fs.writeFileSync(file, content);
  return file;
}

async function gates(playbook: string, from: string, file: string, json = false) {
  const out = bufferOutput();
  const code = await runCli(
    ["gates", "--playbook", playbook, "--from", from, "--evidence", file, ...(json ? ["--json"] : [])],
    out,
  );
  return { code, out };
}

describe("rollout gates (offline)", () => {
  it("GO on the exact boundaries of internal -> limited-pilot, exit 0", async () => {
    const { code, out } = await gates(
      "tbs-strategy-framework",
      "internal",
      path.join(fixtures, "internal-go.yaml"),
    );
    assert.equal(code, 0);
    assert.ok(out.lines.includes("internal -> limited-pilot: rule ALL 5"), out.text());
    assert.match(out.text(), /rowsPerSecond\s+37303\s+>= 37303 rows\/s\s+pass/);
    assert.equal(out.lines.at(-1), "decision: GO (5 of 5 passed, 5 required)");
  });

  it("NO-GO when error rate equals 1 (the document says < 1), exit 1", async () => {
    const file = evidenceFile(
      fs
        .readFileSync(path.join(fixtures, "internal-go.yaml"), "utf8")
        .replace("errorRate: 0.99", "errorRate: 1"),
    );
    const { code, out } = await gates("tbs-strategy-framework", "internal", file);
    assert.equal(code, 1);
    assert.match(out.text(), /errorRate\s+1\s+< 1 %\s+FAIL\s+1 is not < 1/);
    assert.equal(out.lines.at(-1), "decision: NO-GO (4 of 5 passed, 5 required)");
  });

  it("applies the 3-of-4 rule from limited-pilot, with JSON", async () => {
    const { code, out } = await gates(
      "tbs-strategy-framework",
      "limited-pilot",
      path.join(fixtures, "limited-pilot-3of4.json"),
      true,
    );
    assert.equal(code, 0);
    const result = JSON.parse(out.text());
    assert.equal(result.decision, "GO");
    assert.equal(result.rule, "3 of 4");
    assert.equal(result.passed, 3);
    assert.deepEqual(
      result.results.map((r: { id: string; pass: boolean }) => [r.id, r.pass]),
      [
        ["userSatisfaction", false],
        ["rowsPerSecond", true],
        ["errorRate", true],
        ["workflowTimeRatio", true],
      ],
    );
  });

  // Boundaries through the CLI: the same table the domain tests decide, end to end.
  const boundaries: [
    from: string,
    metrics: Record<string, number>,
    code: number,
    line: RegExp,
    decision: string,
  ][] = [
    [
      "broader-pilot",
      {
        concurrentUsers: 20,
        p95ResponseMs: 299.99,
        errorRate: 4.99,
        userAdoption: 85.01,
        cpuUtilization: 84.99,
        memoryUtilization: 89.99,
      },
      0,
      /concurrentUsers\s+20\s+>= 20 users\s+pass/,
      "decision: GO (6 of 6 passed, 6 required)",
    ],
    [
      "broader-pilot",
      {
        concurrentUsers: 20,
        p95ResponseMs: 299.99,
        errorRate: 4.99,
        userAdoption: 85,
        cpuUtilization: 84.99,
        memoryUtilization: 89.99,
      },
      1,
      /userAdoption\s+85\s+> 85 %\s+FAIL\s+85 is not > 85/,
      "decision: NO-GO (5 of 6 passed, 6 required)",
    ],
    [
      "broader-pilot",
      {
        concurrentUsers: 20,
        p95ResponseMs: 300,
        errorRate: 4.99,
        userAdoption: 86,
        cpuUtilization: 84.99,
        memoryUtilization: 89.99,
      },
      1,
      /p95ResponseMs\s+300\s+< 300 ms\s+FAIL\s+300 is not < 300/,
      "decision: NO-GO (5 of 6 passed, 6 required)",
    ],
    [
      "readiness",
      {
        rowsPerSecond: 37303,
        errorRate: 4.99,
        p95ResponseMs: 299,
        trainingCompletion: 95,
        operationalReadiness: 1,
        riskMitigation: 1,
      },
      1,
      /trainingCompletion\s+95\s+> 95 %\s+FAIL\s+95 is not > 95/,
      "decision: NO-GO (5 of 6 passed, 6 required)",
    ],
    [
      "limited-pilot",
      { userSatisfaction: 79.99, rowsPerSecond: 33573, errorRate: 3, workflowTimeRatio: 1.2 },
      1,
      /errorRate\s+3\s+< 3 %\s+FAIL\s+3 is not < 3/,
      "decision: NO-GO (2 of 4 passed, 3 required)",
    ],
  ];
  for (const [from, metrics, code, line, decision] of boundaries) {
    it(`${from} on its boundaries: ${decision} (exit ${code})`, async () => {
      const result = await gates(
        "tbs-strategy-framework",
        from,
        evidenceFile(JSON.stringify({ metrics }), "json"),
      );
      assert.equal(result.code, code);
      assert.match(result.out.text(), line);
      assert.equal(result.out.lines.at(-1), decision);
    });
  }

  it("fails a criterion with no evidence (NO-GO, exit 1)", async () => {
    const file = evidenceFile("metrics:\n  rowsPerSecond: 40000\n  errorRate: 0.1\n");
    const { code, out } = await gates("tbs-strategy-framework", "internal", file);
    assert.equal(code, 1);
    assert.match(out.text(), /criticalBugs\s+\(missing\)\s+= 0\s+FAIL\s+no evidence for criticalBugs/);
  });

  const badInput: [string, string[], RegExp][] = [
    [
      "unknown playbook",
      ["--playbook", "nope", "--from", "internal"],
      /unknown playbook "nope": expected one of tbs-strategy-framework, telegram-money-bot or a path/,
    ],
    [
      "unknown phase",
      ["--playbook", "tbs-strategy-framework", "--from", "canary"],
      /--from: unknown phase "canary"; expected one of preparation, internal/,
    ],
    [
      "phase without transition",
      ["--playbook", "tbs-strategy-framework", "--from", "full"],
      /--from: phase "full" has no GO\/NO-GO transition/,
    ],
    [
      "missing --from",
      ["--playbook", "tbs-strategy-framework"],
      /--from: expected a phase of tbs-strategy-framework, got nothing/,
    ],
  ];
  for (const [name, flags, message] of badInput) {
    it(`exit 2 for ${name}`, async () => {
      const out = bufferOutput();
      const code = await runCli(
        ["gates", ...flags, "--evidence", path.join(fixtures, "internal-go.yaml")],
        out,
      );
      assert.equal(code, 2);
      assert.match(out.errors.join("\n"), message);
    });
  }

  it("exit 2 naming an unknown criterion id", async () => {
    const { code, out } = await gates(
      "tbs-strategy-framework",
      "internal",
      evidenceFile("metrics:\n  errrorRate: 1\n"),
    );
    assert.equal(code, 2);
    assert.match(
      out.errors[0]!,
      /--evidence: unknown criterion id "errrorRate" \(did you mean errorRate\?\) for internal -> limited-pilot; expected rowsPerSecond, errorRate/,
    );
  });

  it("exit 2 for a malformed evidence file", async () => {
    for (const [content, message] of [
      ["metrics:\n  errorRate: high\n", /metrics\.errorRate: expected a number, got "high"/],
      ["metrics: [1, 2\n", /is not valid YAML or JSON/],
      ["values:\n  errorRate: 1\n", /metrics: expected an object of criterion id -> number, got nothing/],
      ["values:\n  errorRate: 1\n", /values: unknown key \(a typo\?\), got \{"errorRate":1\}/],
      [
        "- errorRate\n",
        /document: expected an object with metrics: \{<criterionId>: number\}, got \["errorRate"\]/,
      ],
    ] as const) {
      const { code, out } = await gates("tbs-strategy-framework", "internal", evidenceFile(content));
      assert.equal(code, 2, content);
      assert.match(out.errors[0]!, message);
    }
  });

  it("prints usage with every command for --help", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["--help"], out), 0);
    for (const command of [
      "plan",
      "status",
      "gates",
      "advance",
      "shift",
      "rollback",
      "resume",
      "drill",
      "signoff",
    ]) {
      assert.match(out.text(), new RegExp(`^  ${command} `, "m"));
    }
  });

  it("exit 2 for an unknown command or flag", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["deploy"], out), 2);
    assert.match(out.errors[0]!, /unknown command "deploy"/);
    assert.equal(await runCli(["gates", "--frm", "internal"], out), 2);
    assert.match(out.errors[1]!, /^unknown flag --frm for gates; did you mean --from\?/);
  });
});
