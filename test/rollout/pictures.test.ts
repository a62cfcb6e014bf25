import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { runDrill, type DrillScenario } from "../../rollout/drill";
import { ROLLBACK_LAMBDA_SECONDS, triggerLatencies } from "../../rollout/latency";
import { loadPlaybook, loadScenario, loadStackFile } from "../../rollout/loaders";
import type { Playbook } from "../../rollout/playbook";
import { alarmIntervals, drillPicture, noDataIntervals, stepPath } from "../../rollout/svg/drillPicture";
import {
  drillClock,
  durationTicks,
  niceTicks,
  placeMarkerLabels,
  spreadVertically,
  wrap,
} from "../../rollout/svg/layout";
import { pathStages, triggerPicture } from "../../rollout/svg/triggerPicture";
import { escapeXml, num } from "../../rollout/svg/xml";
import { byClass, findAll, parseXml, type XmlElement } from "../support/xml";

/**
 * The pictures (rollout/svg/): drawn from the drill's own result and the trigger table, checked
 * by parsing the SVG and reading its structure back: bands at the times the simulator gave,
 * thresholds at their value on the drawn axis, markers at the drill's moments, text escaped.
 */

const ROOT = path.join(__dirname, "..", "..");
const fixture = (name: string) => path.join("test", "fixtures", "drills", `${name}.yaml`);
const TBS = "tbs-strategy-framework";

function drawDrill(name: string) {
  const origin = fixture(name);
  const { scenario, playbook } = loadScenario(path.join(ROOT, origin));
  const result = runDrill(playbook, scenario);
  const svg = drillPicture({ playbook, scenario, result, origin });
  return { svg, root: parseXml(svg), result, scenario, playbook };
}

const attr = (e: XmlElement, name: string): number => {
  const value = e.attributes[name];
  assert.ok(value !== undefined, `<${e.name}> has no ${name}`);
  return Number(value);
};
const one = (root: XmlElement, match: (e: XmlElement) => boolean, what: string): XmlElement => {
  const found = findAll(root, match);
  assert.equal(found.length, 1, `expected one ${what}, found ${found.length}`);
  return found[0]!;
};
/** Coordinates are written to hundredths: two of them (an x and a width) may differ by 0.01 each. */
const near = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 0.02, `${what}: expected ${expected}, got ${actual}`);

/** The drawn time axis, read back from its tick labels: seconds -> x. */
function timeAxis(root: XmlElement): (t: number) => number {
  const ticks = findAll(root, byClass("xtick")).map((e) => [attr(e, "data-seconds"), attr(e, "x")] as const);
  const [[t0, x0], [t1, x1]] = [ticks[0]!, ticks.find(([t]) => t !== ticks[0]![0])!];
  return (t) => x0 + ((t - t0) * (x1 - x0)) / (t1 - t0);
}

/** A panel's drawn value axis, read back from its grid lines: value -> y. */
function valueAxis(panel: XmlElement): (v: number) => number {
  const grid = findAll(panel, byClass("ygrid")).map((e) => [attr(e, "data-value"), attr(e, "y1")] as const);
  const [[v0, y0], [v1, y1]] = [grid[0]!, grid.at(-1)!];
  return (v) => y0 + ((v - v0) * (y1 - y0)) / (v1 - v0);
}

describe("pictures: XML", () => {
  it("escapes markup characters and replaces characters XML 1.0 forbids", () => {
    assert.equal(
      escapeXml(`<a & "b" 'c'>\u0001\uD800\uFFFE\t`),
      "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;\uFFFD\uFFFD\uFFFD\t",
    );
    // A pair of surrogates is one character, kept.
    assert.equal(escapeXml("\u{1F600}"), "\u{1F600}");
  });

  it("writes coordinates to hundredths, never -0, and refuses a non-finite one", () => {
    assert.deepEqual([num(1.005), num(-0.001), num(12), num(0.1 + 0.2)], ["1", "0", "12", "0.3"]);
    assert.throws(() => num(NaN), /expected a finite number for an SVG coordinate, got NaN/);
  });

  it("the test's XML reader refuses what is not well-formed (so its passes mean something)", () => {
    for (const [doc, problem] of [
      ["<a><b></a>", "</a> closes <b>"],
      ['<a x="1" x="2"/>', "duplicate attribute x"],
      ["<a>&nbsp;</a>", "& that starts no known entity"],
      ["<a>1 < 2</a>", "expected a name"],
      ["<a>\u0001</a>", "a character XML forbids"],
      ['<a x="<"/>', "raw < in character data"],
      ["<a/><b/>", "a second root element"],
      ["<a>", "<a> is never closed"],
      ["<a x=1/>", "expected a quoted value"],
    ] as const)
      assert.throws(() => parseXml(doc), new RegExp(problem.replace(/[<>/]/g, "\\$&")), doc);
    assert.equal(parseXml('<a t="&lt;&#38;&#x3E;">x &amp; y</a>').attributes.t, "<&>");
  });
});

describe("pictures: layout", () => {
  it("marker labels a few pixels apart take rows; one far off shares the first", () => {
    assert.deepEqual(
      placeMarkerLabels(
        [
          { x: 100, width: 80 },
          { x: 102.5, width: 80 },
          { x: 400, width: 50 },
        ],
        1000,
      ).map((p) => [p.row, p.anchor]),
      [
        [0, "start"],
        [1, "start"],
        [0, "start"],
      ],
    );
    // Near the right edge a label goes left of its marker.
    assert.equal(placeMarkerLabels([{ x: 990, width: 80 }], 1000)[0]!.anchor, "end");
  });

  it("a label never crosses the line of a marker placed in a row above it", () => {
    // 100's label takes row 0 over [104, 184]; 120 must go below and right of 100's line, but
    // 150's line would then cross 120's label: 150 goes to a row of its own.
    const rows = placeMarkerLabels(
      [
        { x: 100, width: 80 },
        { x: 120, width: 80 },
        { x: 150, width: 10 },
      ],
      1000,
    ).map((p) => p.row);
    assert.deepEqual(rows, [0, 1, 2]);
  });

  it("threshold labels are spread to the line spacing, inside the plot", () => {
    assert.deepEqual(spreadVertically([50, 52], 13, 0, 100), [50, 63]);
    assert.deepEqual(spreadVertically([96, 95], 13, 0, 100), [100, 87]);
  });

  it("ticks: round steps covering the values; durations in round time steps", () => {
    assert.deepEqual(niceTicks(0, 37000, 4), { ticks: [0, 10000, 20000, 30000, 40000], step: 10000 });
    assert.deepEqual(niceTicks(0, 1, 4).ticks, [0, 0.5, 1]);
    assert.deepEqual(durationTicks(1035, 6), [0, 300, 600, 900, 1200]);
    assert.deepEqual(durationTicks(34.5, 6), [0, 10, 20, 30, 40]);
  });

  it("wrap keeps a number with its unit", () => {
    const lines = wrap("blue at 25 s after 10 x 60 s of breach", 11, 11 * 0.61 * 12);
    assert.ok(
      lines.every((l) => !/^(s|%|min)\b/.test(l)),
      JSON.stringify(lines),
    );
    assert.deepEqual(lines, ["blue at 25 s", "after 10 x", "60 s of", "breach"]);
  });

  it("a drill's moments: mm:ss up to a day, days and hh:mm:ss beyond", () => {
    assert.equal(drillClock(905, 1800), "15:05");
    assert.equal(drillClock(300905, 604800), "3d 11:35:05");
  });
});

describe("drill picture", () => {
  it("tbs-green-goes-silent: accessible, well-formed, one panel per metric of the scenario", () => {
    const { svg, root } = drawDrill("tbs-green-goes-silent");
    assert.ok(
      svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'),
    );
    assert.equal(root.name, "svg");
    assert.equal(root.attributes.role, "img");
    const title =
      "Drill of tbs-strategy-framework over 30:00: Green stops publishing at 10:00 while it serves";
    assert.equal(root.attributes["aria-label"], title);
    assert.equal(root.children[0]!.name, "title");
    assert.equal(root.children[0]!.text, title);
    assert.equal(root.children[1]!.name, "desc");
    // Sized to content: the viewBox is the document's size.
    assert.equal(root.attributes.viewBox, `0 0 ${root.attributes.width} ${root.attributes.height}`);
    assert.deepEqual(
      findAll(root, byClass("panel")).map((p) => p.attributes["data-gate"]),
      ["rowsPerSecond", "sessionSuccessRate"],
    );
  });

  it("one band rect per alarm state interval, at the times the simulator gave", () => {
    const { root, result } = drawDrill("tbs-green-goes-silent");
    const x = timeAxis(root);
    // The fixture's own comment: sessionSuccessRate-critical in ALARM at 15:00; the first
    // evaluation (01:00) had data, so INSUFFICIENT_DATA until then.
    const expected = [
      ["INSUFFICIENT_DATA", 0, 60],
      ["OK", 60, 900],
      ["ALARM", 900, 1800],
    ] as const;
    assert.deepEqual(
      alarmIntervals(result, "sessionSuccessRate-critical").map((i) => [i.state, i.from, i.to]),
      expected,
    );
    const band = one(root, byClass("band", { "data-alarm": "sessionSuccessRate-critical" }), "band");
    const rects = findAll(band, byClass("state"));
    assert.equal(rects.length, expected.length);
    rects.forEach((rect, i) => {
      const [state, from, to] = expected[i]!;
      assert.equal(rect.attributes["data-state"], state);
      near(attr(rect, "x"), x(from), `${state} x`);
      near(attr(rect, "width"), x(to) - x(from), `${state} width`);
    });
    // Every alarm of the drill has its band, in the playbook's order, back to back over the plot.
    const bands = findAll(root, byClass("band"));
    assert.deepEqual(
      bands.map((b) => b.attributes["data-alarm"]),
      [
        ...[
          "rowsPerSecond-critical",
          "rowsPerSecond-warning",
          "sessionSuccessRate-critical",
          "sessionSuccessRate-warning",
        ],
        ...result.alarms.map((a) => a.key).filter((k) => !/^(rowsPerSecond|sessionSuccessRate)-/.test(k)),
      ],
    );
    for (const b of bands) {
      const widths = findAll(b, byClass("state")).reduce((sum, r) => sum + attr(r, "width"), 0);
      near(widths, x(1800) - x(0), `${b.attributes["data-alarm"]} total width`);
    }
  });

  it("thresholds at their value on the drawn axis; the series' gap drawn as no data", () => {
    const { root } = drawDrill("tbs-green-goes-silent");
    const x = timeAxis(root);
    const panel = one(root, byClass("panel", { "data-gate": "sessionSuccessRate" }), "panel");
    const y = valueAxis(panel);
    const critical = one(panel, byClass("threshold", { "data-level": "critical" }), "critical line");
    const warning = one(panel, byClass("threshold", { "data-level": "warning" }), "warning line");
    near(attr(critical, "y1"), y(85), "critical < 85 %");
    near(attr(warning, "y1"), y(90), "warning < 90 %");
    assert.equal(attr(critical, "y1"), attr(critical, "y2"));
    // 97 % from 0 to 10:00, then no data to the end.
    const series = one(panel, byClass("series"), "series");
    assert.equal(series.attributes.d, `M${num(x(0))} ${num(y(97))}H${num(x(600))}`);
    const gap = one(panel, byClass("nodata"), "no-data stretch");
    near(attr(gap, "x"), x(600), "gap from 10:00");
    near(attr(gap, "width"), x(1800) - x(600), "gap to the end");
    assert.ok(findAll(panel, (e) => e.text === "no data: reads 0 % while green serves").length === 1);
  });

  it("markers at the breach, the rollback's firing and blue back, across every plot", () => {
    const { root, result } = drawDrill("tbs-green-goes-silent");
    const x = timeAxis(root);
    assert.equal(result.rollbackAt, 900 + ROLLBACK_LAMBDA_SECONDS);
    for (const [kind, at, label] of [
      ["breach", 600, "breach 10:00"],
      ["fired", 900, "rollback fired 15:00"],
      ["blue-back", 905, "blue back 15:05"],
    ] as const) {
      const lines = findAll(root, byClass("marker", { "data-marker": kind }));
      // The label's lane, the two panels, green's requests, the other alarms, the trigger rows:
      // never across a heading between them.
      assert.equal(lines.length, 6, kind);
      for (const line of lines) near(attr(line, "x1"), x(at), `${kind} marker`);
      assert.equal(findAll(root, (e) => e.name === "text" && e.text === label).length, 1, label);
    }
  });

  it("trigger rows: the limit window from the breach, blue back, the verdict", () => {
    const { root } = drawDrill("tbs-green-goes-silent");
    const x = timeAxis(root);
    const row = one(root, byClass("trigger", { "data-trigger": "sessionFailures" }), "trigger row");
    const limit = one(row, byClass("limit"), "limit window");
    near(attr(limit, "x"), x(600), "limit from the breach");
    near(attr(limit, "width"), x(1500) - x(600), "900 s limit");
    assert.equal(one(row, byClass("verdict"), "verdict").text, "met: 305 s <= 900 s");
    const errorRate = one(root, byClass("trigger", { "data-trigger": "errorRateSustained" }), "row");
    assert.equal(one(errorRate, byClass("verdict"), "verdict").text, "no breach");
    assert.equal(findAll(errorRate, byClass("limit")).length, 0);
  });

  it("a missed limit is said in the subtitle and the trigger's row", () => {
    const { root } = drawDrill("telegram-security-finding");
    assert.equal(findAll(root, (e) => e.text === "FAILED: securityBreach missed its limit").length, 1);
    const row = one(root, byClass("trigger", { "data-trigger": "securityBreach" }), "row");
    assert.equal(one(row, byClass("verdict"), "verdict").text, "MISSED: 305 s > 10 s");
  });

  it("an event gate: no alarm band, its threshold drawn, the description lists every alarm's states", () => {
    const { root, result } = drawDrill("telegram-security-event");
    const panel = one(root, byClass("panel", { "data-gate": "securityEvents" }), "panel");
    assert.equal(findAll(panel, byClass("band")).length, 0);
    near(
      attr(one(panel, byClass("threshold", { "data-level": "event" }), "line"), "y1"),
      valueAxis(panel)(0),
      "> 0",
    );
    const desc = root.children[1]!.text.split("\n");
    assert.equal(
      desc[0],
      "blue back at 01:47, 7 s after the breach at 01:40: trigger securityBreach via the securityEvents event",
    );
    assert.equal(desc.filter((l) => /^\w+-(critical|warning): /.test(l)).length, result.alarms.length);
    assert.ok(desc.includes("securityBreach: met: 7 s <= 10 s"));
  });

  it("hostile names from user files are escaped: the SVG still parses and says them as written", () => {
    const base = loadPlaybook(TBS);
    const name = `p95 <script>alert("x")</script> & 'co' ]]>`;
    const playbook: Playbook = {
      ...base,
      gates: base.gates.map((g) => (g.id === "errorRate" ? { ...g, name, unit: "<%>" } : g)),
    };
    const description = "spike </text><text>& \u0001 \u202E";
    const scenario: DrillScenario = {
      playbook: TBS,
      description,
      durationSeconds: 900,
      metrics: {
        errorRate: [
          { at: 0, value: 1 },
          { at: 60, value: 9 },
        ],
      },
    };
    const svg = drillPicture({
      playbook,
      scenario,
      result: runDrill(playbook, scenario),
      origin: "a&b<c>.yaml",
    });
    const root = parseXml(svg);
    const title = `Drill of tbs-strategy-framework over 15:00: spike </text><text>& \uFFFD \u202E`;
    assert.equal(root.children[0]!.text, title);
    assert.equal(root.attributes["aria-label"], title);
    assert.equal(findAll(root, (e) => e.text === `${name} (errorRate), <%>`).length, 1);
    assert.equal(findAll(root, (e) => e.text === "scenario a&b<c>.yaml").length, 1);
    assert.equal(findAll(root, (e) => e.text === "critical > 5 <%>").length, 1);
    assert.ok(!svg.includes("<script>"));
  });

  it("any scenario (values, gaps, silence, durations from a minute to a week) draws well-formed, finite SVG", () => {
    const playbook = loadPlaybook(TBS);
    const gateIds = ["errorRate", "p95ResponseMs", "rowsPerSecond", "cpuUtilization", "criticalBugsPerDay"];
    const series = (duration: number) =>
      fc.uniqueArray(fc.integer({ min: 0, max: duration }), { maxLength: 6 }).chain((ats) =>
        fc.tuple(
          ...[...ats]
            .sort((a, b) => a - b)
            .map((at) =>
              fc.record({
                at: fc.constant(at),
                value: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true })),
              }),
            ),
        ),
      );
    fc.assert(
      fc.property(
        fc.constantFrom(60, 600, 1800, 86400, 7 * 86400).chain((duration) =>
          fc.record({
            duration: fc.constant(duration),
            metrics: fc.dictionary(fc.constantFrom(...gateIds), series(duration), { maxKeys: 3 }),
            greenRequests: fc.option(series(duration), { nil: undefined }),
          }),
        ),
        ({ duration, metrics, greenRequests }) => {
          const scenario: DrillScenario = {
            playbook: TBS,
            durationSeconds: duration,
            metrics,
            ...(greenRequests ? { greenRequests } : {}),
          };
          const svg = drillPicture({ playbook, scenario, result: runDrill(playbook, scenario) });
          const root = parseXml(svg);
          assert.ok(!/NaN|Infinity/.test(svg));
          assert.equal(findAll(root, byClass("band")).length, runDrill(playbook, scenario).alarms.length);
        },
      ),
      { numRuns: 40, seed: 13 },
    );
  });

  it("is deterministic: the same drill gives the same bytes", () => {
    assert.equal(drawDrill("telegram-critical-errors").svg, drawDrill("telegram-critical-errors").svg);
  });

  it("helpers: gaps before the first point and after a null one; a step line lifts its pen at a gap", () => {
    const points = [
      { at: 60, value: 1 },
      { at: 120, value: null },
      { at: 180, value: 2 },
    ];
    assert.deepEqual(noDataIntervals(points, 300), [
      { from: 0, to: 60 },
      { from: 120, to: 180 },
    ]);
    assert.equal(
      stepPath(
        points,
        300,
        (t) => t,
        (v) => 10 * v,
      ),
      "M60 10H120M180 20H300",
    );
  });
});

describe("trigger picture", () => {
  it("every path's stages add up to latency.ts's figure, for both playbooks", () => {
    for (const id of [TBS, "telegram-money-bot"]) {
      const playbook = loadPlaybook(id);
      const gates = new Map(playbook.gates.map((g) => [g.id, g]));
      for (const t of triggerLatencies(playbook))
        for (const p of t.paths)
          assert.equal(
            pathStages(gates.get(p.gate)!).reduce((sum, s) => sum + s.seconds, 0),
            p.seconds,
            `${id} ${t.id} ${p.gate}`,
          );
    }
    assert.deepEqual(
      pathStages(loadPlaybook(TBS).gates.find((g) => g.id === "errorRate")!).map((s) => [s.kind, s.seconds]),
      [
        ["sustain", 300],
        ["evaluation", 60],
        ["lambda", ROLLBACK_LAMBDA_SECONDS],
      ],
    );
  });

  it("production: a bar per path cut into its stages, the limit line, the verdict", () => {
    const root = parseXml(
      triggerPicture({ stack: "production", phase: "limited-pilot", playbook: loadPlaybook(TBS) }),
    );
    assert.equal(root.attributes.role, "img");
    assert.equal(
      root.children[0]!.text,
      "Rollback triggers of production (tbs-strategy-framework, phase limited-pilot)",
    );
    const triggers = findAll(root, byClass("trigger"));
    assert.equal(triggers.length, 8);
    const errorRate = triggers.find((t) => t.attributes["data-trigger"] === "errorRateSustained")!;
    const ticks = findAll(errorRate, byClass("tick")).map(
      (e) => [attr(e, "data-seconds"), attr(e, "x")] as const,
    );
    assert.deepEqual(
      ticks.map(([t]) => t),
      [0, 300, 600, 900, 1200],
    );
    const x = (t: number) => ticks[0]![1] + (t * (ticks[1]![1] - ticks[0]![1])) / 300;
    const stages = findAll(errorRate, byClass("stage"));
    assert.deepEqual(
      stages.map((s) => s.attributes["data-stage"]),
      ["sustain", "evaluation", "lambda"],
    );
    [0, 300, 360].forEach((from, i) => near(attr(stages[i]!, "x"), x(from), `stage ${i}`));
    near(attr(stages[2]!, "width"), x(365) - x(360), "the Lambda's 5 s");
    near(attr(one(errorRate, byClass("limit"), "limit"), "x1"), x(900), "limit at 900 s");
    assert.equal(
      one(errorRate, byClass("verdict"), "verdict").text,
      "meets: worst case 365 s <= limit 900 s",
    );
    assert.equal(findAll(errorRate, byClass("over-limit")).length, 0);
    // greenUnavailable has two own paths.
    const green = triggers.find((t) => t.attributes["data-trigger"] === "greenUnavailable")!;
    assert.deepEqual(
      findAll(green, byClass("path")).map((p) => [p.attributes["data-gate"], p.attributes["data-role"]]),
      [
        ["healthyHosts", "own"],
        ["albGeneratedErrors", "own"],
      ],
    );
  });

  it("a backup net over the limit is hatched past the limit and not judged; a missed limit says MISSES", () => {
    const telegram = parseXml(triggerPicture({ stack: "s", playbook: loadPlaybook("telegram-money-bot") }));
    const security = one(telegram, byClass("trigger", { "data-trigger": "securityBreach" }), "trigger");
    assert.equal(one(security, byClass("verdict"), "verdict").text, "meets: worst case 7 s <= limit 10 s");
    const backup = one(security, byClass("path", { "data-role": "backup" }), "backup path");
    assert.equal(backup.attributes["data-gate"], "securityFindings");
    const over = one(backup, byClass("over-limit"), "over the limit");
    near(attr(over, "x"), attr(one(security, byClass("limit"), "limit"), "x1"), "hatched from the limit");
    assert.equal(
      findAll(one(security, byClass("path", { "data-role": "own" }), "own"), byClass("over-limit")).length,
      0,
    );

    const tbs = loadPlaybook(TBS);
    const tight = { ...tbs, rollback: { ...tbs.rollback, limitSeconds: 300 } };
    const root = parseXml(triggerPicture({ stack: "s", playbook: tight }));
    const errorRate = one(root, byClass("trigger", { "data-trigger": "errorRateSustained" }), "trigger");
    assert.equal(
      one(errorRate, byClass("verdict"), "verdict").text,
      "MISSES: worst case 365 s > limit 300 s",
    );
    assert.equal(findAll(errorRate, byClass("over-limit")).length, 1);
    const summary = findAll(root, (e) => e.name === "text" && e.text.startsWith("MISSES: performance"));
    assert.equal(summary.length, 1);
    assert.equal(
      summary[0]!.text,
      "MISSES: performanceDegradation, errorRateSustained, greenUnavailable, responseTime, resourceExhaustion, sessionFailures miss their limits",
    );
  });

  it("is deterministic and escapes the stack name", () => {
    const input = { stack: "a<b&c", phase: "x", playbook: loadPlaybook(TBS) };
    const svg = triggerPicture(input);
    assert.equal(svg, triggerPicture(input));
    assert.equal(
      parseXml(svg).children[0]!.text,
      "Rollback triggers of a<b&c (tbs-strategy-framework, phase x)",
    );
  });
});

describe("docs/pictures: the committed examples are what the code draws today", () => {
  const regenerate =
    "regenerate with `npm run rollout -- drill --scenario test/fixtures/drills/tbs-green-goes-silent.yaml --svg docs/pictures/drill-tbs-green-goes-silent.svg` and `npm run plan -- --stack production --svg docs/pictures/plan-production-triggers.svg`";

  it("drill-tbs-green-goes-silent.svg", () => {
    const committed = fs.readFileSync(
      path.join(ROOT, "docs", "pictures", "drill-tbs-green-goes-silent.svg"),
      "utf8",
    );
    assert.ok(committed === drawDrill("tbs-green-goes-silent").svg, regenerate);
  });

  it("plan-production-triggers.svg", () => {
    const committed = fs.readFileSync(
      path.join(ROOT, "docs", "pictures", "plan-production-triggers.svg"),
      "utf8",
    );
    const stackFile = loadStackFile("production");
    const svg = triggerPicture({
      stack: "production",
      phase: stackFile.config["rollout:phase"]!,
      playbook: loadPlaybook(stackFile.config["rollout:playbook"]!),
    });
    assert.ok(committed === svg, regenerate);
  });
});

/** rsvg-convert (Debian's librsvg2-bin) draws what a browser would; where it is installed, every picture must render. */
const rsvg = (() => {
  try {
    execFileSync("rsvg-convert", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("pictures render", () => {
  it(
    "rsvg-convert renders the drill and trigger pictures to PNG",
    {
      skip: rsvg
        ? false
        : "rsvg-convert is not installed (apt-get install librsvg2-bin); the in-process XML checks above still ran",
    },
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pictures-"));
      const files = {
        drill: drawDrill("telegram-security-event").svg,
        triggers: triggerPicture({ stack: "s", playbook: loadPlaybook("telegram-money-bot") }),
      };
      for (const [name, svg] of Object.entries(files)) {
        const file = path.join(dir, `${name}.svg`);
        fs.writeFileSync(file, svg);
        execFileSync("rsvg-convert", ["-o", path.join(dir, `${name}.png`), file]);
        const png = fs.readFileSync(path.join(dir, `${name}.png`));
        assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", name);
        // The PNG is the SVG's size (IHDR width and height).
        const root = parseXml(svg);
        assert.deepEqual(
          [png.readUInt32BE(16), png.readUInt32BE(20)],
          [attr(root, "width"), attr(root, "height")],
        );
      }
    },
  );
});
