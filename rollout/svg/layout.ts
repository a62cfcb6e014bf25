import type { AlarmState } from "../drill";
import { el, text } from "./xml";

/**
 * What the pictures share: sizes, the palette, scales and ticks, text measurement and the
 * placement of labels so that none overlaps another.
 */

export const FONT = { title: 15, body: 12, small: 11 } as const;
export const PAD = 16;
/** Baseline-to-baseline distance for a font size. */
export const lineHeight = (size: number): number => Math.round(size * 1.35);

/**
 * Colours from the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), which stays
 * distinguishable under the common colour-vision deficiencies; every coloured mark also carries a
 * label, a pattern or a line style, so nothing is told by colour alone.
 */
export const COLOUR = {
  ink: "#1a1a1a",
  muted: "#555555",
  grid: "#e3e3e3",
  axis: "#8a8a8a",
  series: "#000000",
  orange: "#E69F00",
  sky: "#56B4E9",
  green: "#009E73",
  blue: "#0072B2",
  vermillion: "#D55E00",
  purple: "#CC79A7",
} as const;

/** How an alarm state is drawn: fill, text colour, pattern. ALARM is dark and solid, OK light, INSUFFICIENT_DATA hatched. */
export const STATE_STYLE: Record<AlarmState, { fill: string; ink: string; labels: string[] }> = {
  OK: { fill: "#cde6f7", ink: COLOUR.ink, labels: ["OK"] },
  ALARM: { fill: COLOUR.vermillion, ink: "#ffffff", labels: ["ALARM", "AL"] },
  INSUFFICIENT_DATA: {
    fill: "url(#insufficient)",
    ink: COLOUR.ink,
    labels: ["INSUFFICIENT_DATA", "INSUFFICIENT", "INSUF"],
  },
};

/** Patterns the pictures refer to: hatching for INSUFFICIENT_DATA, for no data, and for time over a limit. */
export function patternDefs(): string[] {
  const hatch = (id: string, stroke: string, background?: string) =>
    el(
      "pattern",
      { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      [
        ...(background ? [el("rect", { width: 6, height: 6, fill: background })] : []),
        el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke, "stroke-width": 2 }),
      ],
    );
  return [
    hatch("insufficient", "#b5b5b5", "#eeeeee"),
    hatch("nodata", "#d4d4d4", "#f6f6f6"),
    // Stripes only: laid over a bar, its colours show through.
    hatch("overlimit", COLOUR.vermillion),
  ];
}

/**
 * Width of a text in the monospace FONT_FAMILY: DejaVu Sans Mono's advance is 0.602 em; East
 * Asian wide characters take two cells. An estimate on the safe side, for layout only.
 */
export function textWidth(content: string, size: number): number {
  let cells = 0;
  for (const ch of content)
    cells +=
      /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{20000}-\u{3FFFD}]/u.test(
        ch,
      )
        ? 2
        : 1;
  return cells * size * 0.61;
}

/** Cut a text into lines of at most `maxWidth` at spaces (a word longer than a line is cut). */
export function wrap(content: string, size: number, maxWidth: number): string[] {
  const maxChars = Math.max(8, Math.floor(maxWidth / (size * 0.61)));
  const lines: string[] = [];
  let line = "";
  // A number keeps its unit: never a line that starts with a lone "s" or "%".
  for (const word of content.split(/ +(?!(?:s|ms|min|%)(?: |$))/)) {
    let rest = word;
    while (rest.length > maxChars) {
      if (line) lines.push(line);
      line = "";
      lines.push(rest.slice(0, maxChars));
      rest = rest.slice(maxChars);
    }
    if (!line) line = rest;
    else if (textWidth(`${line} ${rest}`, size) <= maxWidth) line = `${line} ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** A linear map from a domain to pixels. */
export function scale(d0: number, d1: number, r0: number, r1: number): (value: number) => number {
  const span = d1 - d0 || 1;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/**
 * Round tick values covering [min, max]: steps of 1, 2 or 5 times a power of ten, about
 * `count` of them; the domain is widened to whole steps.
 */
export function niceTicks(min: number, max: number, count = 4): { ticks: number[]; step: number } {
  const lo = Math.min(min, max);
  // A flat series (or one whose spread is lost in rounding, 5e-324 from 0) gets a unit-wide axis.
  const magnitude = Math.max(1, Math.abs(lo), Math.abs(max), Math.abs(min));
  const hi = Math.max(min, max) - lo > magnitude * 1e-9 ? Math.max(min, max) : lo + magnitude * 0.1;
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let i = 0; first + i * step <= hi + step * 1e-9 || ticks.length < 2; i++)
    ticks.push(round(first + i * step, step));
  if (ticks.at(-1)! < hi) ticks.push(round(ticks.at(-1)! + step, step));
  return { ticks, step };
}

/** A tick value without floating-point residue (0.30000000000000004 -> 0.3). */
function round(value: number, step: number): number {
  const decimals = Math.min(20, Math.max(0, -Math.floor(Math.log10(step)) + 1));
  return Number(value.toFixed(decimals));
}

/** A value for an axis label: thousands as `k`, at most three decimals, no exponent. */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  const fixed = value.toFixed(3).replace(/\.?0+$/, "");
  return fixed === "-0" ? "0" : fixed;
}

/** `mm:ss` from the start (minutes keep counting past 59): the drill's notation, in its tables and its pictures. */
export function clock(seconds: number): string {
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  return `${String(minutes).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")}`;
}

/**
 * A moment of a drill in the pictures: `mm:ss` (as the tables write it) for a drill of up to a
 * day, `Nd hh:mm:ss` for a longer one (`10080:00` would tell nobody it is a week).
 */
export function drillClock(seconds: number, duration: number): string {
  if (duration <= 86400) return clock(seconds);
  const whole = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  const days = Math.floor(whole / 86400);
  const rest = whole % 86400;
  return `${days}d ${two(Math.floor(rest / 3600))}:${two(Math.floor((rest % 3600) / 60))}:${two(rest % 60)}`;
}

/** Steps a time axis may use, from 1 s to a day. */
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/** Ticks for a time axis over [0, end] with at most about `maxTicks` of them. */
export function timeTicks(end: number, maxTicks: number): number[] {
  const step = TIME_STEPS.find((s) => end / s <= maxTicks) ?? 86400 * Math.ceil(end / 86400 / maxTicks);
  const ticks: number[] = [];
  for (let t = 0; t <= end; t += step) ticks.push(t);
  return ticks;
}

/** Ticks for a duration axis from 0 to at least `longest`, at most about `maxTicks` steps, in round time steps. */
export function durationTicks(longest: number, maxTicks: number): number[] {
  const step =
    TIME_STEPS.find((s) => Math.ceil(longest / s) <= maxTicks) ??
    86400 * Math.ceil(longest / 86400 / maxTicks);
  return Array.from({ length: Math.max(1, Math.ceil(longest / step)) + 1 }, (_, i) => i * step);
}

/** A time tick's label: `mm:ss` up to three hours, then hours (`26h`), days past two (`3d 4h`). */
export function timeLabel(seconds: number, end: number): string {
  if (end <= 3 * 3600) return clock(seconds);
  const hours = Math.round(seconds / 3600);
  if (end <= 2 * 86400) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}

/** A duration tick's label: seconds up to two minutes, then minutes. */
export function durationLabel(seconds: number): string {
  return seconds < 120 || seconds % 60 !== 0 ? `${seconds} s` : `${seconds / 60} min`;
}

export interface PlacedLabel {
  x: number;
  width: number;
  anchor: "start" | "end";
  row: number;
}

/**
 * Labels beside vertical markers, in rows so none overlaps another: each label goes right of its
 * marker (left of it when it would pass `right`), in the first row where it keeps `gap` pixels
 * from every label already there and crosses no marker line (a marker's line runs down from its
 * own label's row). Input order decides priority (earlier labels take lower rows).
 */
export function placeMarkerLabels(
  labels: readonly { x: number; width: number }[],
  right: number,
  gap = 8,
): PlacedLabel[] {
  const placed: (PlacedLabel & { from: number; to: number })[] = [];
  const fits = (x: number, from: number, to: number, row: number) =>
    placed.every(
      (p) =>
        (p.row !== row || to + gap <= p.from || from >= p.to + gap) &&
        // a line from a row above would cross this label; this line would cross a label below
        (p.row >= row || p.x < from - 2 || p.x > to + 2) &&
        (p.row <= row || x < p.from - 2 || x > p.to + 2),
    );
  return labels.map(({ x, width }) => {
    const span = (anchor: "start" | "end") =>
      anchor === "start" ? [x + 4, x + 4 + width] : [x - 4 - width, x - 4];
    const preferred = x + 4 + width > right ? "end" : "start";
    const anchors =
      preferred === "start" && x - 4 - width >= 0 ? (["start", "end"] as const) : ([preferred] as const);
    let choice: { anchor: "start" | "end"; row: number } | undefined;
    for (const anchor of anchors) {
      const [from, to] = span(anchor) as [number, number];
      for (let row = 0; row <= placed.length && !choice; row++)
        if (fits(x, from, to, row)) choice = { anchor, row };
      if (choice) break;
    }
    // Nowhere clean (a line crosses every row): a row of its own below the others.
    choice ??= {
      anchor: preferred,
      row: placed.length === 0 ? 0 : Math.max(...placed.map((p) => p.row)) + 1,
    };
    const [from, to] = span(choice.anchor) as [number, number];
    const label: PlacedLabel = { x, width, ...choice };
    placed.push({ ...label, from, to });
    return label;
  });
}

/**
 * Vertical positions for labels that want to sit at `wanted` (baselines), at least `spacing`
 * apart and within [top, bottom]: pushed down in order, then back up if the last passed bottom.
 */
export function spreadVertically(
  wanted: readonly number[],
  spacing: number,
  top: number,
  bottom: number,
): number[] {
  const order = wanted.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y || a.i - b.i);
  const ys = order.map((o) => Math.min(bottom, Math.max(top, o.y)));
  for (let k = 1; k < ys.length; k++) ys[k] = Math.max(ys[k]!, ys[k - 1]! + spacing);
  for (let k = ys.length - 1; k >= 0; k--) {
    const limit = k === ys.length - 1 ? bottom : ys[k + 1]! - spacing;
    if (ys[k]! > limit) ys[k] = limit;
  }
  const out = new Array<number>(wanted.length);
  order.forEach((o, k) => (out[o.i] = ys[k]!));
  return out;
}

/** Swatches with their names, in a row that wraps at `maxWidth`; returns the markup and the height used. */
export function legend(
  items: readonly { swatch: (x: number, y: number) => string; label: string }[],
  x0: number,
  y0: number,
  maxWidth: number,
): { markup: string[]; height: number } {
  const size = FONT.small;
  const line = lineHeight(size) + 4;
  const markup: string[] = [];
  let x = x0;
  let y = y0;
  for (const item of items) {
    const width = 26 + textWidth(item.label, size) + 18;
    if (x > x0 && x + width > x0 + maxWidth) {
      x = x0;
      y += line;
    }
    markup.push(
      item.swatch(x, y - size + 1),
      text(x + 26, y, item.label, { "font-size": size, fill: COLOUR.ink }),
    );
    x += width;
  }
  return { markup, height: y - y0 + line };
}

/** A legend swatch: a small filled box. */
export const boxSwatch =
  (fill: string, stroke?: string) =>
  (x: number, y: number): string =>
    el("rect", { x, y, width: 20, height: 11, fill, stroke: stroke ?? COLOUR.axis, "stroke-width": 1 });

/** A legend swatch: a short line in a colour and dash pattern. */
export const lineSwatch =
  (stroke: string, dash?: string, width = 2) =>
  (x: number, y: number): string =>
    el("line", {
      x1: x,
      y1: y + 6,
      x2: x + 20,
      y2: y + 6,
      stroke,
      "stroke-width": width,
      "stroke-dasharray": dash,
    });
