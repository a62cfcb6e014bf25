import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { bufferOutput } from "../../cli/output";
import { runCli } from "../../cli/rollout";
import { runDrill } from "../../rollout/drill";
import { loadScenario } from "../../rollout/loaders";
import { drillPicture } from "../../rollout/svg/drillPicture";

/** `drill --scenario`: exit 1 when a rollback trigger missed its limit (met false), and why. */

const fixture = (name: string) => path.join(__dirname, "..", "fixtures", "drills", `${name}.yaml`);

describe("drill: a missed trigger limit exits 1", () => {
  it("GuardDuty finding alone: securityBreach missed its 10 s limit, exit 1, said last", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", fixture("telegram-security-finding")], out), 1);
    assert.match(out.text(), /^securityBreach .* MISSED /m);
    assert.equal(out.lines.at(-1), "drill FAILED: rollback trigger securityBreach missed its limit (exit 1)");
  });

  it("--json carries missedTriggers and exitReason", async () => {
    const out = bufferOutput();
    assert.equal(
      await runCli(["drill", "--scenario", fixture("telegram-security-finding"), "--json"], out),
      1,
    );
    const json = JSON.parse(out.text()) as { missedTriggers: string[]; exitReason: string };
    assert.deepEqual(json.missedTriggers, ["securityBreach"]);
    assert.equal(json.exitReason, "rollback trigger securityBreach missed its limit");
  });

  it("every trigger met (or not breached): exit 0, no exitReason", async () => {
    for (const name of ["tbs-error-rate-8pct", "tbs-no-data"]) {
      const out = bufferOutput();
      assert.equal(await runCli(["drill", "--scenario", fixture(name), "--json"], out), 0, name);
      const json = JSON.parse(out.text()) as { missedTriggers: string[]; exitReason?: string };
      assert.deepEqual(json.missedTriggers, []);
      assert.equal(json.exitReason, undefined);
    }
    const human = bufferOutput();
    assert.equal(await runCli(["drill", "--scenario", fixture("tbs-error-rate-8pct")], human), 0);
    assert.ok(!human.text().includes("drill FAILED"));
  });
});

describe("drill --svg FILE", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "drill-svg-"));
  /** What the picture of a fixture must be, drawn from the drill's own result. */
  const expectedPicture = (name: string) => {
    const { scenario, playbook } = loadScenario(fixture(name));
    return drillPicture({ playbook, scenario, result: runDrill(playbook, scenario), origin: fixture(name) });
  };

  it("writes the drill's picture and says where, after the tables; exit 0", async () => {
    const svg = path.join(tmp(), "silent.svg");
    const out = bufferOutput();
    assert.equal(
      await runCli(["drill", "--scenario", fixture("tbs-green-goes-silent"), "--svg", svg], out),
      0,
    );
    assert.deepEqual(out.lines.slice(-2), ["", `picture written to ${svg}`]);
    assert.match(out.text(), /^sessionFailures .* met /m);
    assert.equal(fs.readFileSync(svg, "utf8"), expectedPicture("tbs-green-goes-silent"));
  });

  it("a missed limit: the picture is written too, FAILED stays the last line, exit 1", async () => {
    const svg = path.join(tmp(), "finding.svg");
    const out = bufferOutput();
    assert.equal(
      await runCli(["drill", "--scenario", fixture("telegram-security-finding"), "--svg", svg], out),
      1,
    );
    assert.deepEqual(out.lines.slice(-4), [
      "",
      `picture written to ${svg}`,
      "",
      "drill FAILED: rollback trigger securityBreach missed its limit (exit 1)",
    ]);
    assert.equal(fs.readFileSync(svg, "utf8"), expectedPicture("telegram-security-finding"));
  });

  it("--json: one JSON document carrying svg; an existing file is replaced", async () => {
    const svg = path.join(tmp(), "errors.svg");
    fs.writeFileSync(svg, "old");
    const out = bufferOutput();
    assert.equal(
      await runCli(["drill", "--scenario", fixture("telegram-critical-errors"), "--svg", svg, "--json"], out),
      0,
    );
    const json = JSON.parse(out.text()) as { svg: string; missedTriggers: string[] };
    assert.equal(json.svg, svg);
    assert.deepEqual(json.missedTriggers, []);
    assert.equal(fs.readFileSync(svg, "utf8"), expectedPicture("telegram-critical-errors"));
  });

  it("a path that cannot be written: exit 2 naming --svg, nothing drilled or printed", async () => {
    const dir = tmp();
    const notADir = path.join(dir, "file.txt");
    fs.writeFileSync(notADir, "");
    const cases: [string, string][] = [
      [dir, `--svg: ${dir} is a directory; expected the path of a file to write the SVG to`],
      [
        path.join(dir, "missing", "x.svg"),
        `--svg: ${path.join(dir, "missing", "x.svg")}: no directory ${path.join(dir, "missing")}; expected the path of a file in an existing directory`,
      ],
      [
        path.join(notADir, "x.svg"),
        `--svg: ${path.join(notADir, "x.svg")}: no directory ${notADir}; expected the path of a file in an existing directory`,
      ],
      ["", '--svg: expected the path of the SVG file to write, got ""'],
    ];
    for (const [svg, message] of cases) {
      for (const json of [false, true]) {
        const out = bufferOutput();
        const argv = [
          "drill",
          "--scenario",
          fixture("tbs-green-goes-silent"),
          "--svg",
          svg,
          ...(json ? ["--json"] : []),
        ];
        assert.equal(await runCli(argv, out), 2, svg);
        assert.deepEqual(out.errors, [`error: ${message}`]);
        assert.deepEqual(out.lines, json ? [JSON.stringify({ error: message, exitCode: 2 })] : []);
      }
    }
  });

  it("a directory that refuses the write (Linux /proc): exit 2 naming --svg and the path", async () => {
    // Checked up front where the process lacks write permission; as root, /proc accepts the
    // check and refuses the write itself (ENOENT): both are bad input naming the flag.
    const out = bufferOutput();
    const svg = "/proc/drill-picture-test.svg";
    assert.equal(
      await runCli(["drill", "--scenario", fixture("tbs-green-goes-silent"), "--svg", svg], out),
      2,
    );
    assert.equal(out.errors.length, 1);
    assert.ok(out.errors[0]!.startsWith(`error: --svg: ${svg}`), out.errors[0]);
    assert.deepEqual(out.lines, []);
    assert.equal(fs.existsSync(svg), false);
  });

  it("--svg belongs to the offline drill: with --live it is an unexpected flag (exit 2)", async () => {
    const out = bufferOutput();
    assert.equal(await runCli(["drill", "--live", "--stack", "staging", "--svg", "x.svg"], out), 2);
    assert.match(out.errors[0]!, /^error: live drill \(--live\): unexpected flag --svg; /);
  });
});
