// A fast reader for the plain YAML most config files are written in: block mappings and lists,
// `- key: value` list items, plain and quoted scalars, one-line flow lists, comments and `---`.
// It gives exactly what js-yaml (YAML 1.2 core schema) gives, or `undefined` the moment it sees
// anything else (anchors, tags, block scalars, multi-line scalars, duplicate keys, odd keys…),
// and the caller then parses the file with js-yaml. It works on character offsets of the text,
// allocating only the keys and values it returns: several times faster than js-yaml on config
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

// The lines of the document being read, as offsets into `src` (module state: reading is
// synchronous and never re-entered). A blank or comment-only line has start === end.
let src = "";
let count = 0;
let starts = new Int32Array(256);
let ends = new Int32Array(256);
let indents = new Int32Array(256);
let pos = 0; // current line

/** Documents of `text` as js-yaml would load them, or undefined when the text is not simple. */
export function parseSimpleYaml(text: string): unknown[] | undefined {
  if (text.includes("\t") || text.includes("\r")) return undefined;
  if (text === "") return [];
  src = text;
  try {
    const docs: unknown[] = [];
    let markers = 0;
    let hasContent = false;
    count = 0;
    let lineStart = 0;
    for (;;) {
      let lineEnd = text.indexOf("\n", lineStart);
      if (lineEnd === -1) lineEnd = text.length;
      const c0 = text.charCodeAt(lineStart);
      if (c0 === 0x2d /* - */ && text.startsWith("---", lineStart)) {
        for (let i = lineStart + 3; i < lineEnd; i++) if (text.charCodeAt(i) !== 0x20) throw BAIL;
        // Content before the first marker is a document of its own; comments alone are not.
        if (markers > 0 || hasContent) docs.push(parseDocument());
        markers++;
        count = 0;
        hasContent = false;
      } else {
        if (c0 === 0x25 /* % */ || (c0 === 0x2e /* . */ && text.startsWith("...", lineStart))) throw BAIL;
        if (addLine(lineStart, lineEnd)) hasContent = true;
      }
      if (lineEnd >= text.length) break;
      lineStart = lineEnd + 1;
    }
    // The text after the last marker (or all of it, with no marker) is a document, null when it
    // has only comments or blank lines.
    docs.push(parseDocument());
    return docs;
  } catch (err) {
    if (err === BAIL) return undefined;
    throw err;
  } finally {
    src = "";
    // Do not keep the line tables of one huge file for the rest of the process.
    if (starts.length > 65536) {
      starts = new Int32Array(256);
      ends = new Int32Array(256);
      indents = new Int32Array(256);
    }
  }
}

/** Records a line; returns true when it has content (not blank, not a comment). */
function addLine(start: number, end: number): boolean {
  if (count === starts.length) {
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    starts = grow(starts);
    ends = grow(ends);
    indents = grow(indents);
  }
  let i = start;
  while (i < end && src.charCodeAt(i) === 0x20) i++;
  let e = end;
  if (i < end && src.charCodeAt(i) !== 0x23 /* # */) {
    while (e > i && src.charCodeAt(e - 1) === 0x20) e--;
  } else {
    e = i;
  }
  starts[count] = i;
  ends[count] = e;
  indents[count] = i - start;
  count++;
  return e > i;
}

/** Index of the next line with content at or after `from`. */
function nextLine(from: number): number {
  let j = from;
  while (j < count && starts[j] === ends[j]) j++;
  return j;
}

function parseDocument(): unknown {
  const first = nextLine(0);
  if (first >= count) return null;
  pos = first;
  const indent = indents[first] as number;
  const value = isSeqAt(starts[first] as number, ends[first] as number)
    ? parseSeq(indent, 0)
    : parseMap(indent, 0, -1);
  if (nextLine(pos) < count) throw BAIL;
  return value;
}

/** "-" alone or "- …" at `at`. */
function isSeqAt(at: number, end: number): boolean {
  return src.charCodeAt(at) === 0x2d && (at + 1 === end || src.charCodeAt(at + 1) === 0x20);
}

/**
 * Length of a plain key at `at` (letters, digits, _ . / -, starting with a letter or _) that is
 * followed by ":" and a space or the line's end; 0 when there is none.
 */
function keyLength(at: number, end: number): number {
  const c = src.charCodeAt(at);
  if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f)) return 0;
  let i = at + 1;
  for (; i < end; i++) {
    const d = src.charCodeAt(i);
    const word =
      (d >= 0x61 && d <= 0x7a) || (d >= 0x41 && d <= 0x5a) || (d >= 0x30 && d <= 0x39) || d === 0x5f;
    if (!word && d !== 0x2e && d !== 0x2f && d !== 0x2d) break;
  }
  if (i >= end || src.charCodeAt(i) !== 0x3a /* : */) return 0;
  if (i + 1 < end && src.charCodeAt(i + 1) !== 0x20) return 0;
  return i - at;
}

/**
 * A block mapping whose keys sit at `indent`. `firstAt` >= 0: its first key is at that offset
 * of the current line (a "- key: value" list item), not at the line's own indent.
 */
function parseMap(indent: number, depth: number, firstAt: number): Record<string, unknown> {
  if (depth > MAX_NESTING) throw BAIL;
  const out: Record<string, unknown> = {};
  let at = firstAt;
  for (;;) {
    if (at < 0) {
      pos = nextLine(pos);
      if (pos >= count) break;
      const lineIndent = indents[pos] as number;
      if (lineIndent < indent) break;
      if (lineIndent > indent) throw BAIL;
      at = starts[pos] as number;
    }
    const end = ends[pos] as number;
    const len = keyLength(at, end);
    if (len === 0) throw BAIL;
    const key = src.slice(at, at + len);
    // Keys that resolve to null/bool, and __proto__, are handled specially by js-yaml: leave them to it.
    if (Object.hasOwn(out, key) || key === "__proto__" || typeof resolvePlain(key) !== "string") throw BAIL;
    let v = at + len + 1;
    while (v < end && src.charCodeAt(v) === 0x20) v++;
    if (v >= end || src.charCodeAt(v) === 0x23 /* # */) {
      out[key] = parseBlockValue(indent, depth, true);
    } else {
      out[key] = parseInline(v, end);
      pos++;
      noContinuation(indent);
    }
    at = -1;
  }
  return out;
}

function parseSeq(indent: number, depth: number): unknown[] {
  if (depth > MAX_NESTING) throw BAIL;
  const out: unknown[] = [];
  for (;;) {
    pos = nextLine(pos);
    if (pos >= count) break;
    const lineIndent = indents[pos] as number;
    if (lineIndent < indent) break;
    if (lineIndent > indent) throw BAIL;
    const start = starts[pos] as number;
    const end = ends[pos] as number;
    // A mapping key at the list's indent ends a list that is the value of that mapping's key.
    if (!isSeqAt(start, end)) break;
    let item = start + 1;
    while (item < end && src.charCodeAt(item) === 0x20) item++;
    if (item >= end || src.charCodeAt(item) === 0x23 /* # */) {
      out.push(parseBlockValue(indent, depth, false));
    } else if (isSeqAt(item, end)) {
      throw BAIL;
    } else if (keyLength(item, end) > 0) {
      // "- key: value": a mapping whose keys line up with this first key.
      out.push(parseMap(indent + (item - start), depth + 1, item));
    } else {
      out.push(parseInline(item, end));
      pos++;
      noContinuation(indent);
    }
  }
  return out;
}

/** The value of `key:` or `-` with nothing after it on the line: a nested block, or null. */
function parseBlockValue(indent: number, depth: number, inMap: boolean): unknown {
  const j = nextLine(pos + 1);
  if (j < count) {
    const lineIndent = indents[j] as number;
    const seq = isSeqAt(starts[j] as number, ends[j] as number);
    if (lineIndent > indent) {
      pos = j;
      return seq ? parseSeq(lineIndent, depth + 1) : parseMap(lineIndent, depth + 1, -1);
    }
    // YAML lets a list that is a mapping value start at the key's own indent.
    if (inMap && lineIndent === indent && seq) {
      pos = j;
      return parseSeq(indent, depth + 1);
    }
  }
  pos++;
  return null;
}

/** After a one-line value, a deeper line would continue it (a multi-line scalar): not simple. */
function noContinuation(indent: number): void {
  const j = nextLine(pos);
  if (j < count && (indents[j] as number) > indent) throw BAIL;
}

/** The one-line value in src[at, end). */
function parseInline(at: number, end: number): unknown {
  const c0 = src.charCodeAt(at);
  if (c0 === 0x22 /* " */ || c0 === 0x27 /* ' */) {
    const [value, after] = readQuoted(at, end);
    endOfValue(after, end);
    return value;
  }
  if (c0 === 0x5b /* [ */) return parseFlowSeq(at, end);
  if (c0 === 0x7b /* { */) {
    let i = at + 1;
    while (i < end && src.charCodeAt(i) === 0x20) i++;
    if (src.charCodeAt(i) !== 0x7d /* } */) throw BAIL;
    endOfValue(i + 1, end);
    return {};
  }
  // A plain scalar runs to " #" (a comment) or the line's end.
  let stop = src.indexOf(" #", at);
  if (stop === -1 || stop > end) stop = end;
  while (stop > at && src.charCodeAt(stop - 1) === 0x20) stop--;
  const plain = src.slice(at, stop);
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
    c === 0x6e || // n
    c === 0x4e || // N
    c === 0x74 || // t
    c === 0x54 || // T
    c === 0x66 || // f
    c === 0x46; // F
  if (!maybe) return s;
  for (const type of IMPLICIT) {
    if (type.resolve(s)) return type.construct(s);
  }
  return s;
}

/** A quoted scalar starting at `at` (before `end`); returns its value and the offset after it. */
function readQuoted(at: number, end: number): [string, number] {
  if (src.charCodeAt(at) === 0x27 /* ' */) {
    let out = "";
    let i = at + 1;
    for (;;) {
      const close = src.indexOf("'", i);
      if (close === -1 || close >= end) throw BAIL;
      out += src.slice(i, close);
      if (close + 1 < end && src.charCodeAt(close + 1) === 0x27) {
        out += "'";
        i = close + 2;
        continue;
      }
      return [out, close + 1];
    }
  }
  let i = at + 1;
  let escapes = false;
  while (i < end && src.charCodeAt(i) !== 0x22) {
    if (src.charCodeAt(i) === 0x5c /* \ */) {
      escapes = true;
      i++;
    }
    i++;
  }
  if (i >= end) throw BAIL;
  const body = src.slice(at + 1, i);
  if (!escapes) return [body, i + 1];
  // The escapes JSON shares with YAML mean the same in both; YAML-only ones (\x, \e, \N…) bail.
  if (!/^(?:[^\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*$/.test(body)) throw BAIL;
  return [JSON.parse(`"${body}"`) as string, i + 1];
}

/** Only spaces and a comment may follow a value. */
function endOfValue(at: number, end: number): void {
  let i = at;
  while (i < end && src.charCodeAt(i) === 0x20) i++;
  if (i === end) return;
  if (i > at && src.charCodeAt(i) === 0x23 /* # */) return;
  throw BAIL;
}

function parseFlowSeq(at: number, end: number): unknown[] {
  const out: unknown[] = [];
  let i = at + 1;
  const skip = () => {
    while (i < end && src.charCodeAt(i) === 0x20) i++;
  };
  skip();
  if (src.charCodeAt(i) === 0x5d /* ] */) {
    endOfValue(i + 1, end);
    return out;
  }
  for (;;) {
    skip();
    const c = src.charCodeAt(i);
    if (c === 0x22 || c === 0x27) {
      const [value, after] = readQuoted(i, end);
      out.push(value);
      i = after;
    } else {
      let j = i;
      while (j < end && src.charCodeAt(j) !== 0x2c && src.charCodeAt(j) !== 0x5d) j++;
      const plain = src.slice(i, j).trim();
      checkPlain(plain);
      if (/[[\]{}#:"']/.test(plain)) throw BAIL;
      out.push(resolvePlain(plain));
      i = j;
    }
    skip();
    const d = src.charCodeAt(i);
    if (d === 0x2c /* , */) {
      i++;
      continue;
    }
    if (d === 0x5d /* ] */) {
      endOfValue(i + 1, end);
      return out;
    }
    throw BAIL;
  }
}
