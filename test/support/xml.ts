/**
 * A strict little XML reader for the pictures' tests: it throws on anything that is not
 * well-formed XML 1.0 (unclosed or crossed tags, a duplicate or unquoted attribute, a raw `<` or
 * `&` in text or a value, an unknown entity, a character XML forbids, more than one root) and
 * otherwise gives the element tree with text and attribute values decoded, so a test can both
 * prove a picture parses and assert its structure. It reads what the pictures write (elements,
 * attributes, text, the XML declaration, comments); no DTD, no CDATA.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, decoded (not its descendants'). */
  text: string;
}

/** XML 1.0 "Char" (section 2.2): anything else is not allowed, not even as a reference. */
const NOT_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NAME = /[A-Za-z_:][\w.:-]*/y;
const REFERENCE = /&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));/y;
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function fail(doc: string, at: number, what: string): never {
  const line = doc.slice(0, at).split("\n").length;
  throw new Error(
    `not well-formed XML at line ${line} (offset ${at}): ${what}: ${JSON.stringify(doc.slice(at, at + 40))}`,
  );
}

/** Character data (text or an attribute value) decoded; `&` must start a known reference, `<` is refused. */
function decode(doc: string, from: number, to: number): string {
  let out = "";
  for (let i = from; i < to;) {
    const ch = doc[i]!;
    if (ch === "<") fail(doc, i, "raw < in character data");
    if (ch === "&") {
      REFERENCE.lastIndex = i;
      const ref = REFERENCE.exec(doc);
      if (!ref || REFERENCE.lastIndex > to)
        fail(doc, i, "& that starts no known entity or character reference");
      const code =
        ref[2] !== undefined ? Number(ref[2]) : ref[3] !== undefined ? parseInt(ref[3], 16) : undefined;
      const value = code === undefined ? PREDEFINED[ref[1]!]! : String.fromCodePoint(code);
      if (NOT_CHAR.test(value)) fail(doc, i, "a reference to a character XML forbids");
      out += value;
      i = REFERENCE.lastIndex;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

export function parseXml(doc: string): XmlElement {
  const bad = NOT_CHAR.exec(doc);
  if (bad) fail(doc, bad.index, "a character XML forbids");
  let i = 0;
  if (doc.startsWith("<?xml")) {
    const end = doc.indexOf("?>");
    if (end === -1) fail(doc, 0, "unterminated XML declaration");
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skipSpace = () => {
    while (i < doc.length && /\s/.test(doc[i]!)) i++;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const match = NAME.exec(doc);
    if (!match) fail(doc, i, "expected a name");
    i = NAME.lastIndex;
    return match[0];
  };
  while (i < doc.length) {
    const lt = doc.indexOf("<", i);
    const textEnd = lt === -1 ? doc.length : lt;
    if (textEnd > i) {
      const content = decode(doc, i, textEnd);
      const parent = stack.at(-1);
      if (parent) parent.text += content;
      else if (content.trim() !== "") fail(doc, i, "text outside the root element");
    }
    if (lt === -1) break;
    i = lt;
    if (doc.startsWith("<!--", i)) {
      const end = doc.indexOf("-->", i + 4);
      if (end === -1) fail(doc, i, "unterminated comment");
      i = end + 3;
      continue;
    }
    if (doc.startsWith("</", i)) {
      i += 2;
      const closing = name();
      skipSpace();
      if (doc[i] !== ">") fail(doc, i, "expected > after a closing tag's name");
      i++;
      const open = stack.pop();
      if (!open || open.name !== closing)
        fail(doc, i, `</${closing}> closes ${open ? `<${open.name}>` : "nothing"}`);
      continue;
    }
    if (doc[i + 1] === "!" || doc[i + 1] === "?") fail(doc, i, "markup this reader does not accept");
    i++;
    const element: XmlElement = { name: name(), attributes: {}, children: [], text: "" };
    for (;;) {
      const before = i;
      skipSpace();
      if (doc.startsWith("/>", i) || doc[i] === ">") break;
      if (i === before) fail(doc, i, "expected whitespace before an attribute");
      const attribute = name();
      skipSpace();
      if (doc[i] !== "=") fail(doc, i, `expected = after attribute ${attribute}`);
      i++;
      skipSpace();
      const quote = doc[i];
      if (quote !== '"' && quote !== "'") fail(doc, i, `expected a quoted value for attribute ${attribute}`);
      const end = doc.indexOf(quote, i + 1);
      if (end === -1) fail(doc, i, "unterminated attribute value");
      if (Object.hasOwn(element.attributes, attribute)) fail(doc, i, `duplicate attribute ${attribute}`);
      element.attributes[attribute] = decode(doc, i + 1, end);
      i = end + 1;
    }
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root) fail(doc, i, "a second root element");
    else root = element;
    if (doc.startsWith("/>", i)) i += 2;
    else {
      i++;
      stack.push(element);
    }
  }
  if (stack.length > 0) fail(doc, doc.length, `<${stack.at(-1)!.name}> is never closed`);
  if (!root) fail(doc, 0, "no root element");
  return root;
}

/** Every element under `root` (itself included), in document order, that `match` accepts. */
export function findAll(root: XmlElement, match: (e: XmlElement) => boolean): XmlElement[] {
  const found: XmlElement[] = [];
  const visit = (e: XmlElement) => {
    if (match(e)) found.push(e);
    e.children.forEach(visit);
  };
  visit(root);
  return found;
}

/** Elements with a class (one of the space-separated names) and, optionally, attribute values. */
export const byClass =
  (className: string, attributes: Record<string, string> = {}) =>
  (e: XmlElement): boolean =>
    (e.attributes.class ?? "").split(" ").includes(className) &&
    Object.entries(attributes).every(([k, v]) => e.attributes[k] === v);
