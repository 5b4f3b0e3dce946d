// A fast reader for the plain YAML most config files are written in: block mappings and lists,
// `- key: value` list items, plain and quoted scalars, one-line flow lists, comments and `---`.
// It gives exactly what js-yaml (YAML 1.2 core schema) gives, or `undefined` the moment it sees
// anything else (anchors, tags, block scalars, multi-line scalars, duplicate keys, odd keys…),
// and the caller then parses the file with js-yaml. Several times faster than js-yaml on config
// files, which matters for repos of 10,000+ files. Pure.
import jsyaml from "js-yaml";

interface ImplicitType {
  resolve(data: string): boolean;
  construct(data: string): unknown;
}

// js-yaml's own resolvers for plain scalars (null, bool, int, float), in its order, so a plain
// scalar here becomes exactly the value js-yaml makes of it.
const IMPLICIT = (jsyaml.CORE_SCHEMA as unknown as { compiledImplicit: ImplicitType[] }).compiledImplicit;

const MAX_NESTING = 40;

/** Thrown (and caught below) when the input leaves the subset. */
const BAIL = new Error("not simple YAML");

interface Line {
  indent: number;
  /** Text after the indentation, trailing spaces removed; "" for blank and comment lines. */
  text: string;
}

/** Documents of `text` as js-yaml would load them, or undefined when the text is not simple. */
export function parseSimpleYaml(text: string): unknown[] | undefined {
  if (text.includes("\t") || text.includes("\r")) return undefined;
  if (text === "") return [];
  try {
    const raw = text.split("\n");
    const docs: unknown[] = [];
    let segment: Line[] = [];
    let markers = 0;
    for (const line of raw) {
      const c0 = line.charCodeAt(0);
      if (c0 === 0x2d /* - */ && line.startsWith("---")) {
        if (!/^---[ ]*$/.test(line)) throw BAIL;
        // Content before the first marker is a document of its own; comments alone are not.
        if (markers > 0 || segment.some((l) => l.text !== "")) docs.push(parseDocument(segment));
        segment = [];
        markers++;
        continue;
      }
      if (c0 === 0x25 /* % */ || (c0 === 0x2e /* . */ && line.startsWith("..."))) throw BAIL;
      segment.push(toLine(line));
    }
    // The text after the last marker (or all of it, with no marker) is a document, null when it
    // has only comments or blank lines.
    docs.push(parseDocument(segment));
    return docs;
  } catch (err) {
    if (err === BAIL) return undefined;
    throw err;
  }
}

function toLine(line: string): Line {
  let indent = 0;
  while (line.charCodeAt(indent) === 0x20) indent++;
  let text = line.slice(indent);
  if (text.charCodeAt(0) === 0x23 /* # */) text = "";
  else text = text.trimEnd();
  return { indent, text };
}

class Cursor {
  i = 0;
  constructor(readonly lines: Line[]) {}
  /** Index of the next non-blank, non-comment line at or after `from`. */
  next(from: number): number {
    let j = from;
    while (j < this.lines.length && (this.lines[j] as Line).text === "") j++;
    return j;
  }
  at(j: number): Line {
    return this.lines[j] as Line;
  }
}

function parseDocument(lines: Line[]): unknown {
  const c = new Cursor(lines);
  const first = c.next(0);
  if (first >= lines.length) return null;
  const line = c.at(first);
  c.i = first;
  const value = isSeqLine(line.text) ? parseSeq(c, line.indent, 0) : parseMap(c, line.indent, 0);
  if (c.next(c.i) < lines.length) throw BAIL;
  return value;
}

const isSeqLine = (t: string) => t === "-" || t.startsWith("- ");

// A plain key of letters, digits and _ . / - (what config keys are), then ":" and a space or the end.
const KEY = /^([A-Za-z_][\w./-]*):(?: +(.*))?$/;

function parseMap(c: Cursor, indent: number, depth: number, firstText?: string): Record<string, unknown> {
  if (depth > MAX_NESTING) throw BAIL;
  const out: Record<string, unknown> = {};
  let first = firstText !== undefined;
  for (;;) {
    let text: string;
    if (first) {
      text = firstText as string;
      first = false;
    } else {
      c.i = c.next(c.i);
      if (c.i >= c.lines.length) break;
      const line = c.at(c.i);
      if (line.indent < indent) break;
      if (line.indent > indent) throw BAIL;
      text = line.text;
    }
    const m = KEY.exec(text);
    if (!m) throw BAIL;
    const key = m[1] as string;
    // Keys that resolve to null/bool, and __proto__, are handled specially by js-yaml: leave them to it.
    if (Object.hasOwn(out, key) || key === "__proto__" || typeof resolvePlain(key) !== "string") throw BAIL;
    const rest = m[2] ?? "";
    if (rest === "" || rest.charCodeAt(0) === 0x23 /* # */) {
      out[key] = parseBlockValue(c, indent, depth, true);
    } else {
      out[key] = parseInline(rest);
      c.i++;
      noContinuation(c, indent);
    }
  }
  return out;
}

function parseSeq(c: Cursor, indent: number, depth: number): unknown[] {
  if (depth > MAX_NESTING) throw BAIL;
  const out: unknown[] = [];
  for (;;) {
    c.i = c.next(c.i);
    if (c.i >= c.lines.length) break;
    const line = c.at(c.i);
    if (line.indent < indent) break;
    if (line.indent > indent) throw BAIL;
    // A mapping key at the list's indent ends a list that is the value of that mapping's key.
    if (!isSeqLine(line.text)) break;
    if (line.text === "-") {
      out.push(parseBlockValue(c, indent, depth, false));
      continue;
    }
    const after = line.text.slice(2);
    let pad = 0;
    while (after.charCodeAt(pad) === 0x20) pad++;
    const item = after.slice(pad);
    if (item.charCodeAt(0) === 0x23 /* # */) {
      out.push(parseBlockValue(c, indent, depth, false));
    } else if (isSeqLine(item)) {
      throw BAIL;
    } else if (KEY.test(item)) {
      // "- key: value": a mapping whose keys line up with this first key.
      out.push(parseMap(c, indent + 2 + pad, depth + 1, item));
    } else {
      out.push(parseInline(item));
      c.i++;
      noContinuation(c, indent);
    }
  }
  return out;
}

/** The value of `key:` or `-` with nothing after it on the line: a nested block, or null. */
function parseBlockValue(c: Cursor, indent: number, depth: number, inMap: boolean): unknown {
  const j = c.next(c.i + 1);
  if (j < c.lines.length) {
    const line = c.at(j);
    if (line.indent > indent) {
      c.i = j;
      return isSeqLine(line.text) ? parseSeq(c, line.indent, depth + 1) : parseMap(c, line.indent, depth + 1);
    }
    // YAML lets a list that is a mapping value start at the key's own indent.
    if (inMap && line.indent === indent && isSeqLine(line.text)) {
      c.i = j;
      return parseSeq(c, indent, depth + 1);
    }
  }
  c.i++;
  return null;
}

/** After a one-line value, a deeper line would continue it (a multi-line scalar): not simple. */
function noContinuation(c: Cursor, indent: number): void {
  const j = c.next(c.i);
  if (j < c.lines.length && c.at(j).indent > indent) throw BAIL;
}

function parseInline(rest: string): unknown {
  const c0 = rest.charCodeAt(0);
  if (c0 === 0x22 /* " */ || c0 === 0x27 /* ' */) {
    const [value, end] = readQuoted(rest, 0);
    endOfValue(rest, end);
    return value;
  }
  if (c0 === 0x5b /* [ */) return parseFlowSeq(rest);
  if (c0 === 0x7b /* { */) {
    if (!/^\{ *\}(?: +#.*)?$/.test(rest)) throw BAIL;
    return {};
  }
  const hash = rest.indexOf(" #");
  const plain = hash === -1 ? rest : rest.slice(0, hash).trimEnd();
  checkPlain(plain);
  if (plain.includes(": ") || plain.endsWith(":")) throw BAIL;
  return resolvePlain(plain);
}

// Characters a plain scalar may not start with (js-yaml's readPlainScalar), and "- ", "? ", ": ".
function checkPlain(s: string): void {
  if (s === "") throw BAIL;
  const c = s[0] as string;
  if ("#&*!|>'\"%@`,[]{}".includes(c)) throw BAIL;
  if ((c === "-" || c === "?" || c === ":") && (s.length === 1 || s[1] === " ")) throw BAIL;
}

function resolvePlain(s: string): unknown {
  // Only these first characters can start a null, bool, int or float: everything else is a string.
  const c = s.charCodeAt(0);
  const maybe =
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2b ||
    c === 0x2e ||
    c === 0x7e ||
    "nNtTfF".includes(s[0] as string);
  if (!maybe) return s;
  for (const type of IMPLICIT) {
    if (type.resolve(s)) return type.construct(s);
  }
  return s;
}

/** A quoted scalar starting at `start`; returns its value and the index after the closing quote. */
function readQuoted(s: string, start: number): [string, number] {
  const q = s[start];
  if (q === "'") {
    let out = "";
    let i = start + 1;
    for (;;) {
      const close = s.indexOf("'", i);
      if (close === -1) throw BAIL;
      out += s.slice(i, close);
      if (s[close + 1] === "'") {
        out += "'";
        i = close + 2;
        continue;
      }
      return [out, close + 1];
    }
  }
  let i = start + 1;
  let escapes = false;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === "\\") {
      escapes = true;
      i++;
    }
    i++;
  }
  if (i >= s.length) throw BAIL;
  const body = s.slice(start + 1, i);
  if (!escapes) return [body, i + 1];
  // The escapes JSON shares with YAML mean the same in both; YAML-only ones (\x, \e, \N…) bail.
  if (!/^(?:[^\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*$/.test(body)) throw BAIL;
  return [JSON.parse(`"${body}"`) as string, i + 1];
}

function endOfValue(s: string, end: number): void {
  if (!/^(?: +#.*)?$/.test(s.slice(end))) throw BAIL;
}

function parseFlowSeq(s: string): unknown[] {
  const out: unknown[] = [];
  let i = 1;
  const skip = () => {
    while (s[i] === " ") i++;
  };
  skip();
  if (s[i] === "]") {
    endOfValue(s, i + 1);
    return out;
  }
  for (;;) {
    skip();
    const c = s[i];
    if (c === '"' || c === "'") {
      const [value, end] = readQuoted(s, i);
      out.push(value);
      i = end;
    } else {
      let j = i;
      while (j < s.length && s[j] !== "," && s[j] !== "]") j++;
      const plain = s.slice(i, j).trim();
      checkPlain(plain);
      if (/[[\]{}#:"']/.test(plain)) throw BAIL;
      out.push(resolvePlain(plain));
      i = j;
    }
    skip();
    if (s[i] === ",") {
      i++;
      continue;
    }
    if (s[i] === "]") {
      endOfValue(s, i + 1);
      return out;
    }
    throw BAIL;
  }
}
