import { alarmSpecs, type AlarmSpec } from "../alarms";
import type { AlarmState, DrillAlarm, DrillResult, DrillScenario, DrillTriggerCheck, Point } from "../drill";
import { eventDeliverySeconds } from "../latency";
import type { Gate, Playbook } from "../playbook";
import {
  boxSwatch,
  drillClock,
  COLOUR,
  FONT,
  formatValue,
  legend,
  lineHeight,
  lineSwatch,
  niceTicks,
  PAD,
  patternDefs,
  placeMarkerLabels,
  scale,
  spreadVertically,
  STATE_STYLE,
  textWidth,
  timeLabel,
  timeTicks,
  wrap,
} from "./layout";
import { el, escapeXml, num, svgDocument, text, type Attributes } from "./xml";

/**
 * The drill as a picture: each metric the scenario gives, as a step line against its alarms'
 * thresholds over time; under it one band per alarm with the state the drill's simulator
 * computed (OK / ALARM / INSUFFICIENT_DATA, from `DrillResult.transitions`); the alarms of gates
 * the scenario leaves out as bands too; one row per rollback trigger with its limit window from
 * the breach; and three markers across everything: the breach, the moment the rollback fired
 * (the Lambda's invocation) and the moment blue is back. Pure: same input, same bytes.
 */

export interface DrillPictureInput {
  playbook: Playbook;
  scenario: DrillScenario;
  result: DrillResult;
  /** Where the scenario came from (the --scenario path), shown as given. */
  origin?: string;
}

/** A stretch of one alarm state, from `DrillResult.transitions`: the drill starts every alarm in INSUFFICIENT_DATA. */
export interface StateInterval {
  state: AlarmState;
  from: number;
  to: number;
}

/** The state intervals of one alarm over the drill, back to back from 0 to durationSeconds. */
export function alarmIntervals(result: DrillResult, alarm: string): StateInterval[] {
  const intervals: StateInterval[] = [];
  let state: AlarmState = "INSUFFICIENT_DATA";
  let from = 0;
  for (const change of result.transitions) {
    if (change.alarm !== alarm) continue;
    if (change.at > from) intervals.push({ state, from, to: change.at });
    state = change.to;
    from = change.at;
  }
  intervals.push({ state, from, to: result.durationSeconds });
  return intervals;
}

/** Stretches of a series with no data: before its first point and from each null point to the next. */
export function noDataIntervals(points: readonly Point[], duration: number): { from: number; to: number }[] {
  const gaps: { from: number; to: number }[] = [];
  const first = points[0]?.at ?? duration;
  if (first > 0) gaps.push({ from: 0, to: first });
  points.forEach((point, i) => {
    const to = Math.min(points[i + 1]?.at ?? duration, duration);
    if (point.value === null && to > point.at) gaps.push({ from: point.at, to });
  });
  return gaps;
}

/** SVG path data of a step series: each value holds until the next point; a null point lifts the pen. */
export function stepPath(
  points: readonly Point[],
  duration: number,
  x: (t: number) => number,
  y: (v: number) => number,
): string {
  let d = "";
  let pen = false;
  points.forEach((point, i) => {
    const to = Math.min(points[i + 1]?.at ?? duration, duration);
    if (point.value === null || to <= point.at) {
      pen = point.value !== null && pen;
      return;
    }
    d += `${pen ? "V" : `M${num(x(point.at))} `}${num(y(point.value))}H${num(x(to))}`;
    pen = true;
  });
  return d;
}

/** `<` or `>` as the alarm compares. */
const op = (comparison: AlarmSpec["comparison"]) => (comparison === "GreaterThanThreshold" ? ">" : "<");

/** A trigger's result, short: what the right-hand column of its row says. */
export function triggerVerdict(t: DrillTriggerCheck): string {
  if (t.met === true) return `met: ${t.detectionSeconds} s <= ${t.limitSeconds} s`;
  if (t.met === false)
    return t.detectionSeconds === null
      ? `MISSED: no rollback in ${t.limitSeconds} s`
      : `MISSED: ${t.detectionSeconds} s > ${t.limitSeconds} s`;
  if (t.rolledBackAt !== null) return "rolled back, no raw breach";
  return t.breachAt === null ? "no breach" : "not judged";
}

interface Marker {
  kind: "breach" | "fired" | "blue-back";
  at: number;
  label: string;
  colour: string;
  dash?: string;
  width: number;
}

/** The breach, the rollback's firing and blue back, for the rollback that happened first. */
function rollbackMarkers(result: DrillResult): Marker[] {
  const trigger = result.trigger;
  const at = (seconds: number) => drillClock(seconds, result.durationSeconds);
  if (!trigger || result.rollbackAt === null) return [];
  return [
    ...(trigger.breachAt === null
      ? []
      : [
          {
            kind: "breach" as const,
            at: trigger.breachAt,
            label: `breach ${at(trigger.breachAt)}`,
            colour: COLOUR.orange,
            dash: "6 3",
            width: 2,
          },
        ]),
    {
      kind: "fired",
      at: trigger.firedAt,
      label: `rollback fired ${at(trigger.firedAt)}`,
      colour: COLOUR.purple,
      dash: "2 2",
      width: 2,
    },
    {
      kind: "blue-back",
      at: result.rollbackAt,
      label: `blue back ${at(result.rollbackAt)}`,
      colour: COLOUR.blue,
      width: 2,
    },
  ];
}

/** One sentence on the drill's outcome, for the subtitle and the description. */
function outcome(result: DrillResult): string {
  const trigger = result.trigger;
  const at = (seconds: number) => drillClock(seconds, result.durationSeconds);
  if (!trigger || result.rollbackAt === null) return "no rollback";
  const by = `${trigger.id === null ? "no automatic trigger" : `trigger ${trigger.id}`} via ${trigger.alarm ?? `the ${trigger.gate} event`}`;
  const after =
    trigger.breachAt === null
      ? "with no raw breach (missing data treated as breaching)"
      : `${result.rollbackAt - trigger.breachAt} s after the breach at ${at(trigger.breachAt)}`;
  return `blue back at ${at(result.rollbackAt)}, ${after}: ${by}`;
}

const PLOT_WIDTH = 900;
const PLOT_HEIGHT = 110;
const BAND_HEIGHT = 16;
const BAND_GAP = 3;
const ROW_GAP = 22;
const SMALL = FONT.small;

interface Panel {
  gate: Gate;
  points: readonly Point[];
  alarms: DrillAlarm[];
  specs: AlarmSpec[];
  /** Event gates (GuardDuty, the application's security event) have no alarm: their findings are drawn. */
  event: boolean;
}

const thresholdLabel = (spec: AlarmSpec) =>
  `${spec.level} ${op(spec.comparison)} ${spec.playbookThreshold} ${spec.unit}`;
const eventLabel = (gate: Gate) =>
  `event ${gate.breachWhen === "above" ? ">" : "<"} ${gate.critical?.threshold ?? 0} ${gate.unit}`;

/**
 * The page every section draws on, top to bottom: the columns (labels left, the plot, labels
 * right), the time scale, the markers' x, and the cursor `y`. `spans` collects the stretches
 * with a time axis (plots, bands, trigger rows): grid and marker lines run there only, never
 * across a heading.
 */
class Sheet {
  readonly body: string[] = [];
  readonly spans: [number, number][] = [];
  y = PAD;
  readonly plotRight: number;
  readonly textMax: number;

  constructor(
    readonly left: number,
    readonly width: number,
    readonly x: (t: number) => number,
    readonly markerXs: readonly number[],
  ) {
    this.plotRight = left + PLOT_WIDTH;
    this.textMax = width - 2 * PAD;
  }

  /** Lines of text from the left margin, each advancing the cursor. */
  lines(lines: readonly string[], size: number, attrs: Attributes): void {
    for (const line of lines) {
      this.y += lineHeight(size);
      this.body.push(text(PAD, this.y, line, { "font-size": size, ...attrs }));
    }
  }

  /** A section's heading in bold, then its explanation in small muted text. */
  heading(lines: readonly string[], muted: readonly string[] = []): void {
    this.lines(lines, FONT.body, { "font-weight": "bold", fill: COLOUR.ink });
    this.lines(muted, SMALL, { fill: COLOUR.muted });
    this.y += 6;
  }

  wrap(content: string, size: number): string[] {
    return wrap(content, size, this.textMax);
  }

  /** Where to centre a label of `w` in [x0, x1] so that no marker line crosses it, or undefined. */
  clearOfMarkers(x0: number, x1: number, w: number): number | undefined {
    const middle = (x0 + x1) / 2;
    // Nearest the middle first: beside a marker rather than at the far end of a long band.
    const candidates = [
      middle,
      ...this.markerXs.flatMap((mx) => [mx - 8 - w / 2, mx + 8 + w / 2]),
      x0 + 4 + w / 2,
      x1 - 4 - w / 2,
    ].sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle));
    return candidates.find(
      (cx) =>
        cx - w / 2 >= x0 + 3 &&
        cx + w / 2 <= x1 - 3 &&
        this.markerXs.every((mx) => mx < cx - w / 2 - 3 || mx > cx + w / 2 + 3),
    );
  }

  /** A plot frame at `top` with its value axis and grid; returns the value scale. */
  plotFrame(top: number, height: number, values: readonly number[]): (value: number) => number {
    const highest = Math.max(...values);
    const lowest = Math.min(...values);
    // From 0 unless the values sit far from it and apart from each other (27,000 rows/s against
    // 27,977): then around them, or the lines that matter would be pixels apart.
    const floor =
      lowest < 0
        ? lowest
        : lowest >= highest / 2 && lowest !== highest
          ? lowest - (highest - lowest) * 0.1
          : 0;
    const { ticks } = niceTicks(floor, highest, height >= PLOT_HEIGHT ? 4 : 2);
    const lo = ticks[0]!;
    const hi = ticks.at(-1)!;
    // Headroom above a value on the top tick, which would otherwise merge with the frame.
    const yOf = scale(lo, highest >= hi ? hi + (hi - lo) * 0.08 : hi, top + height, top);
    const { left, plotRight } = this;
    this.body.push(
      el("rect", {
        class: "plot",
        x: left,
        y: top,
        width: PLOT_WIDTH,
        height,
        fill: "none",
        stroke: COLOUR.axis,
      }),
    );
    for (const v of ticks) {
      this.body.push(
        el("line", {
          class: "ygrid",
          "data-value": v,
          x1: left,
          y1: yOf(v),
          x2: plotRight,
          y2: yOf(v),
          stroke: COLOUR.grid,
        }),
        text(left - 6, yOf(v) + 4, formatValue(v), {
          class: "ytick",
          "font-size": SMALL,
          fill: COLOUR.muted,
          "text-anchor": "end",
        }),
      );
    }
    return yOf;
  }

  /** One band per alarm, its states over time, named left and its action right. */
  bands(result: DrillResult, specs: ReadonlyMap<string, AlarmSpec>, alarms: readonly DrillAlarm[]): void {
    const { x, left, plotRight } = this;
    for (const alarm of alarms) {
      const top = this.y;
      this.body.push(`<g class="band" data-alarm="${escapeXml(alarm.key)}">`);
      for (const interval of alarmIntervals(result, alarm.key)) {
        const x0 = x(interval.from);
        const x1 = x(interval.to);
        const style = STATE_STYLE[interval.state];
        this.body.push(
          el("rect", {
            class: "state",
            "data-state": interval.state,
            x: x0,
            y: top,
            width: x1 - x0,
            height: BAND_HEIGHT,
            fill: style.fill,
          }),
        );
        // A short ALARM in a long drill (ten minutes of a week) would be under a pixel: a mark shows it.
        if (interval.state === "ALARM" && x1 - x0 < 2)
          this.body.push(
            el("line", {
              x1: (x0 + x1) / 2,
              y1: top,
              x2: (x0 + x1) / 2,
              y2: top + BAND_HEIGHT,
              stroke: style.fill,
              "stroke-width": 2,
            }),
          );
        const label = style.labels.find((l) => textWidth(l, SMALL) + 8 <= x1 - x0);
        if (label)
          this.body.push(
            text(
              this.clearOfMarkers(x0, x1, textWidth(label, SMALL)) ?? (x0 + x1) / 2,
              top + BAND_HEIGHT - 4,
              label,
              {
                "font-size": SMALL,
                fill: style.ink,
                "text-anchor": "middle",
              },
            ),
          );
      }
      const spec = specs.get(alarm.key)!;
      this.body.push(
        text(left - 8, top + BAND_HEIGHT - 4, alarm.key, {
          "font-size": SMALL,
          fill: COLOUR.ink,
          "text-anchor": "end",
        }),
        text(plotRight + 14, top + BAND_HEIGHT - 4, spec.action, {
          "font-size": SMALL,
          fill: spec.autoRollback ? COLOUR.ink : COLOUR.muted,
          "font-weight": spec.autoRollback ? "bold" : undefined,
        }),
        "</g>",
      );
      this.y += BAND_HEIGHT + BAND_GAP;
    }
  }
}

export function drillPicture(input: DrillPictureInput): string {
  const { playbook, scenario, result } = input;
  const duration = result.durationSeconds;
  const specs = new Map(playbook.gates.flatMap(alarmSpecs).map((s) => [s.key, s]));
  const panels: Panel[] = playbook.gates
    .filter((gate) => scenario.metrics[gate.id] !== undefined && gate.metric.source !== "manual")
    .map((gate) => {
      const alarms = result.alarms.filter((a) => a.gateId === gate.id);
      return {
        gate,
        points: scenario.metrics[gate.id]!,
        alarms,
        specs: alarms.map((a) => specs.get(a.key)!),
        event: eventDeliverySeconds(gate) !== undefined,
      };
    });
  const drawn = new Set(panels.map((p) => p.gate.id));
  const markers = rollbackMarkers(result);
  const end = Math.max(
    duration,
    ...markers.map((m) => m.at),
    ...result.triggers.map((t) => t.rolledBackAt ?? 0),
  );

  // Columns from the monospace widths: band and trigger names, value-axis units and tick labels
  // (formatValue keeps those short) left; threshold labels, actions and verdicts right.
  const leftTexts = [
    ...result.alarms.map((a) => a.key),
    ...result.triggers.map((t) => t.id),
    ...panels.map((p) => p.gate.unit),
    "requests",
    "-9999.999",
  ];
  const rightTexts = [
    ...panels.flatMap((p) => (p.event ? [eventLabel(p.gate)] : p.specs.map(thresholdLabel))),
    ...result.alarms.map((a) => specs.get(a.key)!.action),
    ...result.triggers.map(triggerVerdict),
  ];
  const left = PAD + Math.max(...leftTexts.map((s) => textWidth(s, SMALL))) + 12;
  const width = left + PLOT_WIDTH + 14 + Math.max(...rightTexts.map((s) => textWidth(s, SMALL))) + PAD;
  const x = scale(0, end, left, left + PLOT_WIDTH);
  const sheet = new Sheet(
    left,
    width,
    x,
    markers.map((m) => x(m.at)),
  );

  const title = `Drill of ${playbook.id} over ${drillClock(duration, duration)}${scenario.description ? `: ${scenario.description}` : ""}`;
  drawHeader(
    sheet,
    input,
    title,
    panels.some((p) => p.event),
  );
  const lane = drawMarkerLabels(sheet, markers);
  const ticks = timeTicks(end, Math.floor(PLOT_WIDTH / 70));
  const timeAxis = () =>
    sheet.body.push(
      ...ticks.map((t) =>
        text(x(t), sheet.y, timeLabel(t, end), {
          class: "xtick",
          "data-seconds": t,
          "font-size": SMALL,
          fill: COLOUR.muted,
          "text-anchor": "middle",
        }),
      ),
    );
  sheet.y += lineHeight(SMALL);
  timeAxis();
  sheet.y += 8;

  for (const panel of panels) drawPanel(sheet, panel, result, specs);
  if (scenario.greenRequests) drawGreenRequests(sheet, scenario.greenRequests, duration);
  const otherAlarms = result.alarms.filter((a) => !drawn.has(a.gateId));
  if (otherAlarms.length > 0) {
    sheet.heading(
      ["Alarms of gates the scenario gives no series for"],
      sheet.wrap(
        "a gate left out has no data; an alarm gated on green serving reads its neutral value",
        SMALL,
      ),
    );
    const top = sheet.y;
    sheet.bands(result, specs, otherAlarms);
    sheet.spans.push([top, sheet.y - BAND_GAP]);
    sheet.y += ROW_GAP - BAND_GAP;
  }
  drawTriggerRows(sheet, result, end);

  // Time axis (bottom); grid, the time after the drill and the markers, in every span.
  sheet.y += lineHeight(SMALL);
  timeAxis();
  sheet.y += lineHeight(SMALL);
  const unit = end <= 3 * 3600 ? "mm:ss" : end <= 2 * 86400 ? "hours" : "days and hours";
  sheet.body.push(
    text(
      left,
      sheet.y,
      `time from the start of the drill (${unit}); drill ends at ${drillClock(duration, duration)}`,
      {
        "font-size": SMALL,
        fill: COLOUR.muted,
      },
    ),
  );
  sheet.y += PAD;
  const grid = sheet.spans.flatMap(([top, bottom]) => [
    ...ticks.map((t) =>
      el("line", { x1: x(t), y1: top, x2: x(t), y2: bottom, stroke: COLOUR.grid, "stroke-width": 1 }),
    ),
    // After the drill (blue back up to one Lambda run past its end): shaded.
    ...(end > duration
      ? [
          el("rect", {
            x: x(duration),
            y: top,
            width: x(end) - x(duration),
            height: bottom - top,
            fill: "#000000",
            opacity: 0.06,
          }),
        ]
      : []),
  ]);
  const markerLines = markers.flatMap((m, i) =>
    [[lane.tops[i]!, lane.bottom] as const, ...sheet.spans].map(([top, bottom]) =>
      el("line", {
        class: "marker",
        "data-marker": m.kind,
        x1: x(m.at),
        y1: top,
        x2: x(m.at),
        y2: bottom,
        stroke: m.colour,
        "stroke-width": m.width,
        "stroke-dasharray": m.dash,
      }),
    ),
  );

  return svgDocument({
    width,
    height: sheet.y,
    title,
    description: describeDrill(input),
    defs: patternDefs(),
    body: [...grid, ...sheet.body, ...markerLines, ...lane.labels],
  });
}

/** Title, where the scenario came from, the outcome, a failure in words; then the legend. */
function drawHeader(sheet: Sheet, input: DrillPictureInput, title: string, events: boolean): void {
  const { result } = input;
  sheet.lines(sheet.wrap(title, FONT.title), FONT.title, { "font-weight": "bold", fill: COLOUR.ink });
  if (input.origin)
    sheet.lines(sheet.wrap(`scenario ${input.origin}`, FONT.body), FONT.body, { fill: COLOUR.muted });
  sheet.lines(sheet.wrap(outcome(result), FONT.body), FONT.body, { fill: COLOUR.ink });
  const missed = result.triggers.filter((t) => t.met === false).map((t) => t.id);
  if (missed.length > 0)
    sheet.lines(
      sheet.wrap(
        `FAILED: ${missed.join(", ")} missed ${missed.length > 1 ? "their limits" : "its limit"}`,
        FONT.body,
      ),
      FONT.body,
      { fill: COLOUR.vermillion, "font-weight": "bold" },
    );

  sheet.y += 10;
  const items = [
    { swatch: boxSwatch(STATE_STYLE.OK.fill), label: "OK" },
    { swatch: boxSwatch(STATE_STYLE.ALARM.fill), label: "ALARM" },
    { swatch: boxSwatch(STATE_STYLE.INSUFFICIENT_DATA.fill), label: "INSUFFICIENT_DATA" },
    { swatch: lineSwatch(COLOUR.series, undefined, 1.5), label: "metric (scenario)" },
    { swatch: lineSwatch(COLOUR.vermillion), label: "critical threshold" },
    { swatch: lineSwatch(COLOUR.orange, "5 3"), label: "warning threshold" },
    { swatch: boxSwatch("url(#nodata)"), label: "no data" },
    ...(events
      ? [
          { swatch: (sx: number, sy: number) => eventMark(sx + 10, sy + 1), label: "event" },
          {
            swatch: (sx: number, sy: number) => deliveredMark(sx + 10, sy + 6),
            label: "delivered to the Lambda",
          },
        ]
      : []),
  ];
  const drawn = legend(items, PAD, sheet.y + lineHeight(SMALL), sheet.textMax);
  sheet.body.push(...drawn.markup);
  sheet.y += drawn.height + 6;
}

/** The markers' labels in rows above the plots; returns them, where each marker's line starts, and the lane's bottom. */
function drawMarkerLabels(
  sheet: Sheet,
  markers: readonly Marker[],
): { labels: string[]; tops: number[]; bottom: number } {
  const line = lineHeight(FONT.body);
  const placed = placeMarkerLabels(
    markers.map((m, i) => ({ x: sheet.markerXs[i]!, width: textWidth(m.label, FONT.body) })),
    sheet.width - PAD,
  );
  const top = sheet.y;
  sheet.y += (markers.length === 0 ? 0 : Math.max(...placed.map((p) => p.row)) + 1) * line;
  // Darker shades of the marker colours: text must read on white.
  const ink = (colour: string) =>
    colour === COLOUR.orange ? "#8a5a00" : colour === COLOUR.purple ? "#8e3c72" : colour;
  return {
    labels: markers.map((m, i) => {
      const p = placed[i]!;
      return text(p.anchor === "start" ? p.x + 4 : p.x - 4, top + (p.row + 1) * line - 2, m.label, {
        "font-size": FONT.body,
        "font-weight": "bold",
        fill: ink(m.colour),
        "text-anchor": p.anchor,
      });
    }),
    tops: placed.map((p) => top + p.row * line + 3),
    bottom: sheet.y + 2,
  };
}

/** One metric of the scenario: its series against its thresholds, its gaps, its findings, its alarms' bands. */
function drawPanel(
  sheet: Sheet,
  panel: Panel,
  result: DrillResult,
  specs: ReadonlyMap<string, AlarmSpec>,
): void {
  const { gate, points } = panel;
  const { x, left, plotRight, body } = sheet;
  const duration = result.durationSeconds;
  body.push(`<g class="panel" data-gate="${escapeXml(gate.id)}">`);
  const details = panel.event
    ? [
        `${gate.metric.source === "guardduty" ? "GuardDuty finding" : "security event on EventBridge"}: no CloudWatch alarm; ` +
          `an event ${gate.breachWhen} ${gate.critical?.threshold ?? 0} ${gate.unit} reaches the rollback Lambda ${eventDeliverySeconds(gate)} s later`,
      ]
    : panel.specs.map(
        (s) =>
          `${s.level}: ${op(s.comparison)} ${s.playbookThreshold} ${s.unit} in ${s.datapointsToAlarm} of ${s.evaluationPeriods} x ${s.periodSeconds} s` +
          `, treat missing data as ${s.treatMissingData}${s.whileServing ? `, silence while green serves reads ${s.whileServing.silence / s.metricScale} ${s.unit}` : ""} -> ${s.action}`,
      );
  sheet.heading(
    sheet.wrap(`${gate.name} (${gate.id}), ${gate.unit}`, FONT.body),
    details.flatMap((d) => sheet.wrap(d, SMALL)),
  );
  sheet.y += 8;
  const top = sheet.y;
  const values = points.flatMap((p) => (p.value === null ? [] : [p.value]));
  const lines = panel.event
    ? [
        {
          value: gate.critical?.threshold ?? 0,
          label: eventLabel(gate),
          level: "event",
          colour: COLOUR.vermillion,
          dash: undefined,
        },
      ]
    : panel.specs.map((s) => ({
        value: s.playbookThreshold,
        label: thresholdLabel(s),
        level: s.level,
        colour: s.level === "critical" ? COLOUR.vermillion : COLOUR.orange,
        dash: s.level === "critical" ? undefined : "5 3",
      }));
  const yOf = sheet.plotFrame(top, PLOT_HEIGHT, [...values, ...lines.map((l) => l.value)]);
  const gaps = noDataIntervals(points, duration).map((gap) => ({ x0: x(gap.from), x1: x(gap.to) }));
  for (const { x0, x1 } of gaps)
    body.push(
      el("rect", {
        class: "nodata",
        x: x0,
        y: top + 1,
        width: x1 - x0,
        height: PLOT_HEIGHT - 2,
        fill: "url(#nodata)",
      }),
    );
  // Thresholds: lines across, labels in the right column, spread apart when close.
  const labelYs = spreadVertically(
    lines.map((l) => yOf(l.value) + 4),
    lineHeight(SMALL),
    top + SMALL,
    top + PLOT_HEIGHT + 4,
  );
  lines.forEach((l, i) => {
    body.push(
      el("line", {
        class: "threshold",
        "data-level": l.level,
        x1: left,
        y1: yOf(l.value),
        x2: plotRight,
        y2: yOf(l.value),
        stroke: l.colour,
        "stroke-width": 2,
        "stroke-dasharray": l.dash,
      }),
      el("polyline", {
        points: `${num(plotRight)},${num(yOf(l.value))} ${num(plotRight + 10)},${num(labelYs[i]! - 4)}`,
        fill: "none",
        stroke: l.colour,
        "stroke-width": 1,
      }),
      text(plotRight + 14, labelYs[i]!, l.label, { "font-size": SMALL, fill: COLOUR.ink }),
    );
  });
  body.push(
    el("path", {
      class: "series",
      d: stepPath(points, duration, x, yOf),
      fill: "none",
      stroke: COLOUR.series,
      "stroke-width": 1.5,
      "stroke-linejoin": "round",
    }),
  );
  // A gap's label, at the top of the plot or its bottom, where no threshold line crosses it.
  const silence = panel.specs.find((s) => s.whileServing);
  const gapTexts = [
    ...(silence
      ? [
          `no data: reads ${silence.whileServing!.silence / silence.metricScale} ${silence.unit} while green serves`,
        ]
      : []),
    "no data",
  ];
  const boxHeight = SMALL + 5;
  const boxTop =
    [top + 5, top + PLOT_HEIGHT - 5 - boxHeight].find((b) =>
      lines.every((l) => yOf(l.value) < b - 2 || yOf(l.value) > b + boxHeight + 2),
    ) ?? top + 5;
  for (const { x0, x1 } of gaps) {
    const label = gapTexts.find((l) => textWidth(l, SMALL) + 12 <= x1 - x0);
    if (label)
      body.push(
        el("rect", {
          x: x0 + 4,
          y: boxTop,
          width: textWidth(label, SMALL) + 6,
          height: boxHeight,
          fill: "#ffffff",
        }),
        text(x0 + 7, boxTop + SMALL + 1, label, { "font-size": SMALL, fill: COLOUR.ink }),
      );
  }
  if (panel.event)
    for (const f of result.findings.filter((f) => f.gate === gate.id))
      body.push(
        el("line", {
          x1: x(f.at),
          y1: top + 6,
          x2: x(f.publishedAt),
          y2: top + 6,
          stroke: COLOUR.purple,
          "stroke-width": 2,
        }),
        eventMark(x(f.at), top),
        deliveredMark(x(f.publishedAt), top + 6),
      );
  sheet.y = top + PLOT_HEIGHT + 6;
  sheet.bands(result, specs, panel.alarms);
  sheet.spans.push([top, sheet.y - BAND_GAP]);
  body.push("</g>");
  sheet.y += ROW_GAP - BAND_GAP;
}

/** Requests routed to green: when the alarms gated on green serving judge silence. */
function drawGreenRequests(sheet: Sheet, points: readonly Point[], duration: number): void {
  sheet.heading(
    ["Requests routed to green (greenRequests), requests per period"],
    sheet.wrap("alarms gated on green serving judge silence only while this is above 0", SMALL),
  );
  sheet.y += 8;
  const height = 50;
  const values = points.flatMap((p) => (p.value === null ? [] : [p.value]));
  const yOf = sheet.plotFrame(sheet.y, height, values.length > 0 ? values : [0]);
  sheet.body.push(
    el("path", {
      d: stepPath(points, duration, sheet.x, yOf),
      fill: "none",
      stroke: COLOUR.green,
      "stroke-width": 1.5,
    }),
  );
  sheet.spans.push([sheet.y, sheet.y + height]);
  sheet.y += height + ROW_GAP;
}

/** One row per automatic trigger: the limit window from its breach, when blue was back, the verdict. */
function drawTriggerRows(sheet: Sheet, result: DrillResult, end: number): void {
  const { x, left, plotRight, body } = sheet;
  sheet.heading(
    ["Automatic rollback triggers"],
    sheet.wrap(
      "box: the limit, from the trigger's first breach; diamond: blue back on this trigger's own path",
      SMALL,
    ),
  );
  const first = sheet.y;
  for (const t of result.triggers) {
    const top = sheet.y;
    const mid = top + BAND_HEIGHT / 2;
    body.push(
      `<g class="trigger" data-trigger="${escapeXml(t.id)}">`,
      el("line", { x1: left, y1: mid, x2: plotRight, y2: mid, stroke: COLOUR.grid }),
      text(left - 8, top + BAND_HEIGHT - 4, t.id, {
        "font-size": SMALL,
        fill: COLOUR.ink,
        "text-anchor": "end",
      }),
    );
    if (t.breachAt !== null) {
      const x0 = x(t.breachAt);
      const x1 = x(Math.min(end, t.breachAt + t.limitSeconds));
      body.push(
        el("rect", {
          class: "limit",
          x: x0,
          y: top + 1,
          width: x1 - x0,
          height: BAND_HEIGHT - 2,
          fill: "#f1f1f1",
          stroke: COLOUR.ink,
          "stroke-dasharray": "3 2",
        }),
        el("line", {
          x1: x0,
          y1: top - 1,
          x2: x0,
          y2: top + BAND_HEIGHT + 1,
          stroke: COLOUR.orange,
          "stroke-width": 3,
        }),
      );
      // The limit's label inside the box where no marker crosses it, else just after it.
      const limit = `limit ${t.limitSeconds} s`;
      const w = textWidth(limit, SMALL);
      const at = sheet.clearOfMarkers(x0, x1, w) ?? (x1 + 6 + w <= plotRight ? x1 + 6 + w / 2 : undefined);
      if (at !== undefined)
        body.push(
          text(at, top + BAND_HEIGHT - 4, limit, {
            "font-size": SMALL,
            fill: COLOUR.muted,
            "text-anchor": "middle",
          }),
        );
    }
    if (t.rolledBackAt !== null)
      body.push(
        diamond(x(t.rolledBackAt), mid, t.met === false ? COLOUR.vermillion : COLOUR.blue, "blue-back"),
      );
    const failed = t.met === false;
    body.push(
      text(plotRight + 14, top + BAND_HEIGHT - 4, triggerVerdict(t), {
        class: "verdict",
        "font-size": SMALL,
        fill: failed ? COLOUR.vermillion : COLOUR.ink,
        "font-weight": failed || t.met === true ? "bold" : undefined,
      }),
      "</g>",
    );
    sheet.y += BAND_HEIGHT + BAND_GAP + 2;
  }
  sheet.spans.push([first, sheet.y]);
}

/** A downward triangle at the top of a plot: an event (a finding) at its time. */
function eventMark(cx: number, top: number): string {
  return el("polygon", {
    points: `${num(cx - 5)},${num(top + 1)} ${num(cx + 5)},${num(top + 1)} ${num(cx)},${num(top + 10)}`,
    fill: COLOUR.purple,
    stroke: COLOUR.ink,
    "stroke-width": 0.5,
  });
}

/** A circle: the event delivered to the rollback Lambda. */
function deliveredMark(cx: number, cy: number): string {
  return el("circle", { cx, cy, r: 4, fill: "#ffffff", stroke: COLOUR.purple, "stroke-width": 2 });
}

function diamond(cx: number, cy: number, fill: string, kind: string): string {
  return el("polygon", {
    class: kind,
    points: `${num(cx)},${num(cy - 7)} ${num(cx + 6)},${num(cy)} ${num(cx)},${num(cy + 7)} ${num(cx - 6)},${num(cy)}`,
    fill,
    stroke: "#ffffff",
    "stroke-width": 1,
  });
}

/** The picture as text (its `<desc>`): outcome, every alarm's states over time, every trigger's result. */
export function describeDrill(input: DrillPictureInput): string {
  const { result } = input;
  const alarms = result.alarms.map(
    (a) =>
      `${a.key}: ${alarmIntervals(result, a.key)
        .map(
          (i) =>
            `${i.state} ${drillClock(i.from, result.durationSeconds)}-${drillClock(i.to, result.durationSeconds)}`,
        )
        .join(", ")}`,
  );
  const triggers = result.triggers.map((t) => `${t.id}: ${triggerVerdict(t)}`);
  return [outcome(result), "Alarm states:", ...alarms, "Triggers:", ...triggers].join("\n");
}
