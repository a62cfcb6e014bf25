import { alarmSpecs } from "../alarms";
import {
  evaluationCadenceSeconds,
  eventDeliverySeconds,
  ROLLBACK_LAMBDA_SECONDS,
  triggerLatencies,
  type TriggerLatency,
  type TriggerPath,
} from "../latency";
import type { Gate, Playbook } from "../playbook";
import {
  boxSwatch,
  COLOUR,
  durationLabel,
  FONT,
  legend,
  lineHeight,
  lineSwatch,
  durationTicks,
  PAD,
  patternDefs,
  scale,
  textWidth,
  wrap,
} from "./layout";
import { el, escapeXml, svgDocument, text } from "./xml";

/**
 * The trigger table (`triggerLatencies`) as a picture: per automatic rollback trigger, one bar
 * per path from the breach to 100 % blue, cut into its stages (the sustained breach the alarm
 * needs, the wait for its next evaluation, or the event's delivery; then the rollback Lambda),
 * against the trigger's limit, with meets / MISSES said in words. Each trigger has its own time
 * scale: limits run from seconds to a quarter of an hour, and what matters is a bar against its
 * own limit. Pure: same input, same bytes.
 */

export type StageKind = "sustain" | "evaluation" | "delivery" | "lambda";

export interface Stage {
  kind: StageKind;
  seconds: number;
  /** Short, for inside the bar. */
  short: string;
  /** For the path's detail line. */
  long: string;
}

/**
 * The stages of a gate's path to 100 % blue, from the same figures `triggerLatencies` adds up
 * (latency.ts): an alarm needs `evaluationPeriods` whole periods of breach, then waits up to one
 * evaluation cadence, then the composite's action invokes the Lambda; an event is delivered by
 * EventBridge (the stack's own event) or published by GuardDuty, then the Lambda runs.
 */
export function pathStages(gate: Gate): Stage[] {
  const lambda: Stage = {
    kind: "lambda",
    seconds: ROLLBACK_LAMBDA_SECONDS,
    short: `${ROLLBACK_LAMBDA_SECONDS} s`,
    long: `Lambda ${ROLLBACK_LAMBDA_SECONDS} s (budget)`,
  };
  const delivery = eventDeliverySeconds(gate);
  if (delivery !== undefined) {
    const who =
      gate.metric.source === "guardduty"
        ? "GuardDuty publishes the finding"
        : "EventBridge delivers the event";
    return [
      { kind: "delivery", seconds: delivery, short: `${delivery} s`, long: `${who} within ${delivery} s` },
      lambda,
    ];
  }
  const alarm = alarmSpecs(gate).find((a) => a.level === "critical" && a.autoRollback);
  if (!alarm) return [];
  const cadence = evaluationCadenceSeconds(alarm.periodSeconds);
  const sustain = alarm.periodSeconds * alarm.evaluationPeriods;
  return [
    {
      kind: "sustain",
      seconds: sustain,
      short: `${alarm.evaluationPeriods} x ${alarm.periodSeconds} s`,
      long: `${alarm.key} in ALARM after ${alarm.evaluationPeriods} x ${alarm.periodSeconds} s of breach`,
    },
    {
      kind: "evaluation",
      seconds: cadence,
      short: `${cadence} s`,
      long: `next evaluation within ${cadence} s`,
    },
    lambda,
  ];
}

const STAGE_STYLE: Record<StageKind, { fill: string; ink: string; legend: string }> = {
  sustain: { fill: COLOUR.orange, ink: COLOUR.ink, legend: "breach sustained until the alarm (N x period)" },
  evaluation: { fill: COLOUR.sky, ink: COLOUR.ink, legend: "wait for the alarm's next evaluation" },
  delivery: { fill: COLOUR.purple, ink: COLOUR.ink, legend: "event delivery (EventBridge, GuardDuty)" },
  lambda: { fill: COLOUR.green, ink: "#ffffff", legend: "rollback Lambda (budget)" },
};

export interface TriggerPictureInput {
  stack: string;
  phase?: string;
  playbook: Playbook;
}

/** Short verdict of a trigger: whether its slowest own path meets the limit. */
export function triggerJudgement(t: TriggerLatency): string {
  if (t.paths.every((p) => p.role !== "own")) return `MISSES: no gate feeds it (limit ${t.limitSeconds} s)`;
  return t.meets
    ? `meets: worst case ${t.worstCaseSeconds} s <= limit ${t.limitSeconds} s`
    : `MISSES: worst case ${t.worstCaseSeconds} s > limit ${t.limitSeconds} s`;
}

const blueLabel = (p: TriggerPath) => `blue at ${p.seconds} s${p.role === "backup" ? " (not judged)" : ""}`;
const pathLabel = (p: TriggerPath) => `${p.role === "own" ? "own" : "backup"} ${p.gate}`;

const PLOT_WIDTH = 880;
const BAR_HEIGHT = 18;
const BAR_GAP = 8;

export function triggerPicture(input: TriggerPictureInput): string {
  const { playbook } = input;
  const gates = new Map(playbook.gates.map((g) => [g.id, g]));
  const triggers = triggerLatencies(playbook);
  const stagesOf = (p: TriggerPath): Stage[] => {
    const stages = pathStages(gates.get(p.gate)!);
    const total = stages.reduce((sum, s) => sum + s.seconds, 0);
    // One set of figures: a path whose stages do not add up to latency.ts's total is a bug here.
    if (total !== p.seconds)
      throw new Error(
        `trigger picture: the stages of ${p.gate} add up to ${total} s, latency.ts says ${p.seconds} s`,
      );
    return stages;
  };
  const small = FONT.small;
  const left =
    PAD + Math.max(...triggers.flatMap((t) => t.paths.map((p) => textWidth(pathLabel(p), small))), 60) + 12;
  const plotRight = left + PLOT_WIDTH;
  // The last tick's label is centred on the plot's end: room for half of it.
  const width = plotRight + textWidth("00 min", FONT.small) / 2 + PAD;
  const textMax = width - 2 * PAD;
  const body: string[] = [];
  let y = PAD;

  const title = `Rollback triggers of ${input.stack} (${playbook.id}${input.phase ? `, phase ${input.phase}` : ""})`;
  for (const line of wrap(title, FONT.title, textMax)) {
    y += lineHeight(FONT.title);
    body.push(text(PAD, y, line, { "font-size": FONT.title, "font-weight": "bold", fill: COLOUR.ink }));
  }
  const missing = triggers.filter((t) => !t.meets).map((t) => t.id);
  const summary = [
    "breach -> alarm -> Lambda -> 100 % blue: the worst case per path against the trigger's limit; each trigger on its own time scale",
    missing.length === 0
      ? `all ${triggers.length} automatic triggers meet their limits`
      : `MISSES: ${missing.join(", ")} ${missing.length > 1 ? "miss their limits" : "misses its limit"}`,
  ];
  summary.forEach((sentence, i) => {
    for (const line of wrap(sentence, FONT.body, textMax)) {
      y += lineHeight(FONT.body);
      const failed = i === 1 && missing.length > 0;
      body.push(
        text(PAD, y, line, {
          "font-size": FONT.body,
          fill: failed ? COLOUR.vermillion : i === 0 ? COLOUR.muted : COLOUR.ink,
          "font-weight": i === 1 ? "bold" : undefined,
        }),
      );
    }
  });

  y += 10;
  const kinds = new Set(triggers.flatMap((t) => t.paths.flatMap((p) => stagesOf(p).map((s) => s.kind))));
  const drawnLegend = legend(
    [
      ...(["sustain", "evaluation", "delivery", "lambda"] as const)
        .filter((k) => kinds.has(k))
        .map((k) => ({ swatch: boxSwatch(STAGE_STYLE[k].fill), label: STAGE_STYLE[k].legend })),
      { swatch: lineSwatch(COLOUR.ink, "4 3"), label: "limit" },
      { swatch: lineSwatch(COLOUR.blue, undefined, 3), label: "100 % blue" },
      ...(triggers.some((t) => t.paths.some((p) => p.seconds > t.limitSeconds))
        ? [{ swatch: boxSwatch("url(#overlimit)", COLOUR.vermillion), label: "past the limit" }]
        : []),
    ],
    PAD,
    y + lineHeight(small),
    textMax,
  );
  body.push(...drawnLegend.markup);
  y += drawnLegend.height + 10;

  for (const [i, t] of triggers.entries()) {
    if (i > 0) body.push(el("line", { x1: PAD, y1: y - 4, x2: width - PAD, y2: y - 4, stroke: COLOUR.grid }));
    // Room after each bar for its "blue at" label, and some past the limit.
    const room = (seconds: number, label: string) =>
      (seconds * PLOT_WIDTH) / (PLOT_WIDTH - 12 - textWidth(label, small));
    const ticks = durationTicks(
      Math.max(t.limitSeconds * 1.1, ...t.paths.map((p) => room(p.seconds, blueLabel(p)))),
      6,
    );
    const x = scale(0, ticks.at(-1)!, left, plotRight);
    body.push(`<g class="trigger" data-trigger="${escapeXml(t.id)}">`);
    y += lineHeight(FONT.body);
    body.push(
      text(PAD, y, `${t.id}: ${t.name}`, { "font-size": FONT.body, "font-weight": "bold", fill: COLOUR.ink }),
    );
    y += lineHeight(FONT.body);
    body.push(
      text(PAD, y, triggerJudgement(t), {
        class: "verdict",
        "font-size": FONT.body,
        "font-weight": "bold",
        fill: t.meets ? COLOUR.blue : COLOUR.vermillion,
      }),
    );
    // The limit's label above the bars, then the bars, the axis, the detail lines.
    y += lineHeight(small) + 4;
    const limitX = x(t.limitSeconds);
    const limitLabel = `limit ${t.limitSeconds} s`;
    const limitWidth = textWidth(limitLabel, small);
    const limitAnchor =
      limitX + limitWidth / 2 > plotRight ? "end" : limitX - limitWidth / 2 < left ? "start" : "middle";
    body.push(
      text(limitX, y, limitLabel, { "font-size": small, fill: COLOUR.ink, "text-anchor": limitAnchor }),
    );
    const barsTop = y + 4;
    y = barsTop;
    for (const p of t.paths) {
      body.push(
        `<g class="path" data-gate="${escapeXml(p.gate)}" data-role="${p.role}">`,
        text(left - 8, y + BAR_HEIGHT - 5, pathLabel(p), {
          "font-size": small,
          fill: COLOUR.ink,
          "text-anchor": "end",
        }),
      );
      let at = 0;
      for (const stage of stagesOf(p)) {
        const x0 = x(at);
        const x1 = x(at + stage.seconds);
        const style = STAGE_STYLE[stage.kind];
        body.push(
          el("rect", {
            class: "stage",
            "data-stage": stage.kind,
            x: x0,
            y,
            width: x1 - x0,
            height: BAR_HEIGHT,
            fill: style.fill,
            "fill-opacity": p.role === "own" ? 1 : 0.55,
            stroke: "#ffffff",
            "stroke-width": 1,
          }),
        );
        // Centred, or on one side of the limit line when that would cross it.
        const w = textWidth(stage.short, small);
        const cx = [(x0 + x1) / 2, (x0 + Math.min(x1, limitX)) / 2, (Math.max(x0, limitX) + x1) / 2].find(
          (c) =>
            c - w / 2 >= x0 + 4 && c + w / 2 <= x1 - 4 && (limitX < c - w / 2 - 3 || limitX > c + w / 2 + 3),
        );
        if (cx !== undefined)
          body.push(
            text(cx, y + BAR_HEIGHT - 5, stage.short, {
              "font-size": small,
              fill: style.ink,
              "text-anchor": "middle",
            }),
          );
        at += stage.seconds;
      }
      if (p.seconds > t.limitSeconds)
        body.push(
          el("rect", {
            class: "over-limit",
            x: limitX,
            y,
            width: x(p.seconds) - limitX,
            height: BAR_HEIGHT,
            fill: "url(#overlimit)",
          }),
        );
      // Just past the bar's end, so the Lambda's few seconds stay visible.
      const endX = x(p.seconds) + 1.5;
      const blue = blueLabel(p);
      body.push(
        el("line", {
          class: "blue",
          x1: endX,
          y1: y - 3,
          x2: endX,
          y2: y + BAR_HEIGHT + 3,
          stroke: COLOUR.blue,
          "stroke-width": 3,
        }),
        text(endX + 5, y + BAR_HEIGHT - 5, blue, { "font-size": small, fill: COLOUR.ink }),
        "</g>",
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    const barsBottom = y - BAR_GAP + 4;
    body.push(
      el("line", {
        class: "limit",
        x1: limitX,
        y1: barsTop,
        x2: limitX,
        y2: barsBottom,
        stroke: COLOUR.ink,
        "stroke-width": 1.5,
        "stroke-dasharray": "4 3",
      }),
      el("line", { x1: left, y1: barsBottom, x2: plotRight, y2: barsBottom, stroke: COLOUR.axis }),
    );
    y = barsBottom + lineHeight(small);
    for (const tick of ticks) {
      body.push(
        el("line", { x1: x(tick), y1: barsBottom, x2: x(tick), y2: barsBottom + 3, stroke: COLOUR.axis }),
        text(x(tick), y, durationLabel(tick), {
          class: "tick",
          "data-seconds": tick,
          "font-size": small,
          fill: COLOUR.muted,
          "text-anchor": "middle",
        }),
      );
    }
    for (const p of t.paths) {
      const detail = `${p.gate}: breach -> ${stagesOf(p)
        .map((s) => s.long)
        .join(
          " -> ",
        )} -> 100 % blue at ${p.seconds} s${p.role === "backup" ? " (second net, not judged)" : ""}`;
      for (const line of wrap(detail, small, textMax)) {
        y += lineHeight(small);
        body.push(text(PAD, y, line, { "font-size": small, fill: COLOUR.muted }));
      }
    }
    body.push("</g>");
    y += 14;
  }
  y += PAD - 14;

  return svgDocument({
    width,
    height: y,
    title,
    description: [
      summary[1]!,
      ...triggers.map(
        (t) =>
          `${t.id}: ${triggerJudgement(t)}; ${t.paths
            .map(
              (p) =>
                `${pathLabel(p)} ${stagesOf(p)
                  .map((s) => `${s.kind} ${s.seconds} s`)
                  .join(" + ")} = ${p.seconds} s`,
            )
            .join("; ")}`,
      ),
    ].join("\n"),
    defs: patternDefs(),
    body,
  });
}
