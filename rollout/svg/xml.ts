/**
 * SVG as strings: every picture of the CLI is built from these, so escaping and number
 * formatting happen in one place. Output is deterministic: attributes keep the order they are
 * given in, numbers are rounded to hundredths, nothing depends on the locale or the clock.
 */

/**
 * Characters XML 1.0 does not allow in a document at all, not even as character references
 * (Extensible Markup Language 1.0, 2.2 "Characters": Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] |
 * [#xE000-#xFFFD] | [#x10000-#x10FFFF]), lone surrogates included: a name read from a user's
 * file holding one would make the whole picture unreadable.
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text or an attribute value as XML: markup characters escaped, characters XML forbids replaced by U+FFFD. */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML_CHAR, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** A coordinate or length: at most two decimals, no trailing zeros, never `-0`. */
export function num(value: number): string {
  if (!Number.isFinite(value))
    throw new RangeError(`expected a finite number for an SVG coordinate, got ${value}`);
  const rounded = Math.round(value * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

export type Attributes = Record<string, string | number | undefined>;

function attributes(attrs: Attributes): string {
  return Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${typeof value === "number" ? num(value) : escapeXml(value)}"`)
    .join("");
}

/** One element; `children` is markup already built (use `text` for user text). */
export function el(name: string, attrs: Attributes = {}, children: readonly string[] = []): string {
  return children.length === 0
    ? `<${name}${attributes(attrs)}/>`
    : `<${name}${attributes(attrs)}>${children.join("")}</${name}>`;
}

/** A `<text>` element holding `content` escaped. */
export function text(x: number, y: number, content: string, attrs: Attributes = {}): string {
  return `<text${attributes({ x, y, ...attrs })}>${escapeXml(content)}</text>`;
}

export interface SvgDocument {
  width: number;
  height: number;
  /** The picture's title: `<title>` and `aria-label`. */
  title: string;
  /** A text rendering of what the picture shows, for screen readers (`<desc>`). */
  description: string;
  defs: readonly string[];
  body: readonly string[];
}

/** The monospace family every picture uses: label widths are estimated from it (see `textWidth`). */
export const FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/** A standalone SVG file: XML declaration, accessible root (role, label, title, desc), white background. */
export function svgDocument(doc: SvgDocument): string {
  const width = Math.ceil(doc.width);
  const height = Math.ceil(doc.height);
  const root = attributes({
    xmlns: "http://www.w3.org/2000/svg",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": doc.title,
    "font-family": FONT_FAMILY,
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg${root}>`,
    `<title>${escapeXml(doc.title)}</title>`,
    `<desc>${escapeXml(doc.description)}</desc>`,
    el("defs", {}, doc.defs),
    el("rect", { width, height, fill: "#ffffff" }),
    ...doc.body,
    "</svg>",
    "",
  ].join("\n");
}
