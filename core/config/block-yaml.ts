// A reader for the plain block YAML that config files are mostly written in: one document of
// nested block mappings and sequences, with plain, quoted ('…', "…" without escapes) and
// one-line flow ([a, b], {k: v}) scalars, comments anywhere. It gives the value js-yaml gives,
// and gives up (undefined) at the first thing outside that subset — anchors, tags, block
// scalars, multi-line scalars, escapes, several documents, tabs, CR, unusual characters, a
// duplicate or reserved key — so js-yaml (or the careful path) reads those files as before.
//
// Why hand-written: js-yaml walks every character through a general state machine and builds a
// state object per file; with 16,000 small files that is the largest single cost of loading a
// big repo. Plain scalars are resolved by js-yaml's own core-schema types (null, bool, int,
// float), so what a value means is decided by the same code as before. Measured on the
// 10,000-app bench repo (its 16,000 App, Node and Domain files; in process, quiet 2-core VM,
// 2026-12-03): js-yaml 150 ms on the first pass in a fresh process and 117 ms warm, this reader
// 84 and 57 ms. `berth validate` of that repo with secrets, the bundled CLI without and with this
// reader: 886 → 851 ms (farm-bench, median of 10); bench/validate.bench.ts gives 907 ms with it
// (median of 7, calibration 84 ms). A first version took 128 ms: a regular expression per key
// and js-yaml's four resolvers per scalar; the character-class table below and the first-character
// shortcut for strings removed most of that.
//
// Exactness: test/config/block-yaml.test.ts compares the result with js-yaml's over every file of
// a generated repo, the examples, hand-picked edge cases and a seeded walk of mutations. Pure.
import jsyaml from "js-yaml";
import { MAX_DEPTH } from "./limits.js";

interface ImplicitType {
  tag: string;
  resolve(data: string): boolean;
  construct(data: string): unknown;
}

// js-yaml's implicit types of the core schema, in its order: a plain scalar takes the first one
// that resolves it, else it is a string. Read from the schema object (not part of js-yaml's typed
// API): if a js-yaml release changes its shape, this reader turns itself off.
const IMPLICIT = implicitTypes();

function implicitTypes(): ImplicitType[] | undefined {
  const types = (jsyaml.CORE_SCHEMA as unknown as { compiledImplicit?: ImplicitType[] }).compiledImplicit;
  const expected = ["null", "bool", "int", "float"].map((t) => `tag:yaml.org,2002:${t}`);
  if (!Array.isArray(types) || types.map((t) => t.tag).join() !== expected.join()) return undefined;
  return types;
}

// Characters that make the reader give up wherever they are: controls (tab and CR included),
// C1, line and paragraph separators, BOM, noncharacters and surrogates (so astral characters too).
const GIVE_UP_CHARS = /[\x00-\x09\x0B-\x1F\x7F-\x9F\u2028\u2029\uD800-\uDFFF\uFEFF\uFFFE\uFFFF]/;
// A plain scalar inside a one-line flow collection: no indicator, quote, colon or comment.
const FLOW_PLAIN = /^(?:[A-Za-z0-9_./~+]|-[0-9.A-Za-z])[-A-Za-z0-9_./~+ ]*$/;
const FLOW_PAIR = /^([A-Za-z_][-A-Za-z0-9_./]*): +(.*)$/;
// A quoted scalar inside a flow collection: no escape, no quote of its kind (nor a comma or a
// closing bracket: the collection was cut at those before).
const FLOW_QUOTED = /^(?:"([^"\\]*)"|'([^']*)')$/;
// What may follow a closing quote or bracket: nothing, or spaces and a comment.
const TRAILING = /^(?: +(?:#.*)?)?$/;

// Character classes by code (ASCII), for the scans that run on every line.
const KEY_START = 1; // a mapping key starts with a letter or "_"
const KEY_CHAR = 2; // and goes on with letters, digits, "-", "_", ".", "/"
const INDICATOR = 4; // a plain scalar cannot start with it ("-" is handled apart)
const STRING_START = 8; // a plain scalar starting with it is a string in the core schema
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  let k = 0;
  if (/[A-Za-z_]/.test(ch)) k |= KEY_START;
  if (/[-A-Za-z0-9_./]/.test(ch)) k |= KEY_CHAR;
  if ("?:,[]{}#&*!|>'\"%@`".includes(ch)) k |= INDICATOR;
  // The core schema's null, bool, int and float forms start with n/N, t/T, f/F, ~, a digit, a
  // sign or "."; every other letter (and "_", "/") starts a string. js-yaml's resolvers are
  // asked only for the rest (test/config/block-yaml.test.ts checks the values against js-yaml).
  if (/[A-Za-z_/]/.test(ch) && !"nNtTfF".includes(ch)) k |= STRING_START;
  CLASS[c] = k;
}
const is = (c: number, k: number): boolean => c < 128 && ((CLASS[c] as number) & k) !== 0;

/** Thrown to give up; caught once in readBlockYaml. */
const GIVE_UP = Symbol("give up");

/** The documents of `text` (one) when it is plain block YAML, else undefined. */
export function readBlockYaml(text: string): unknown[] | undefined {
  if (IMPLICIT === undefined || GIVE_UP_CHARS.test(text)) return undefined;
  try {
    return [new Reader(text).document()];
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

class Reader {
  private readonly lines: string[];
  /** Indentation of each line (spaces), or -1 for a blank or comment line. */
  private readonly indents: Int32Array;
  private i = 0;

  constructor(text: string) {
    this.lines = text.split("\n");
    this.indents = new Int32Array(this.lines.length);
    for (let k = 0; k < this.lines.length; k++) this.indents[k] = indentOf(this.lines[k] as string);
  }

  document(): Record<string, unknown> {
    this.skipBlank();
    if (this.i >= this.lines.length || this.indents[this.i] !== 0) throw GIVE_UP;
    const line = this.lines[this.i] as string;
    if (line.startsWith("---") || line.startsWith("...") || line.startsWith("%")) throw GIVE_UP;
    if (isSequenceItem(line, 0)) throw GIVE_UP;
    const doc = this.mapping(0, 1);
    this.skipBlank();
    if (this.i < this.lines.length) throw GIVE_UP;
    return doc;
  }

  private skipBlank(): void {
    while (this.i < this.lines.length && this.indents[this.i] === -1) this.i++;
  }

  /** The block node starting at the current line, indented by `indent`. */
  private block(indent: number, depth: number): unknown {
    if (depth >= MAX_DEPTH) throw GIVE_UP; // js-yaml says where
    const line = this.lines[this.i] as string;
    return isSequenceItem(line, indent) ? this.sequence(indent, depth) : this.mapping(indent, depth);
  }

  /** A block mapping whose keys start at column `column` (of the current line first). */
  private mapping(column: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) return out;
      const at = this.indents[this.i] as number;
      if (at < column) return out;
      if (at > column) throw GIVE_UP;
      const line = this.lines[this.i] as string;
      const p = keyEnd(line, column);
      if (p < 0) throw GIVE_UP;
      const key = line.slice(column, p);
      checkKey(out, key);
      this.i++;
      out[key] = this.valueAfter(line, p + 1, column, depth, true);
    }
  }

  private sequence(indent: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) return out;
      const at = this.indents[this.i] as number;
      if (at < indent) return out;
      const line = this.lines[this.i] as string;
      if (at > indent || !isSequenceItem(line, indent)) throw GIVE_UP;
      const from = skipSpaces(line, indent + 1);
      if (keyEnd(line, from) >= 0) {
        // "- key: value": a mapping whose keys line up with this first one.
        this.indents[this.i] = from;
        out.push(this.mapping(from, depth + 1));
        continue;
      }
      this.i++;
      out.push(this.valueAfter(line, from, indent, depth, false));
    }
  }

  /**
   * The value that follows a key's colon or a sequence's dash, from `line`[`from`]: a scalar on
   * the same line, or a block on the next, more indented lines, or null.
   */
  private valueAfter(line: string, from: number, indent: number, depth: number, ofKey: boolean): unknown {
    const start = skipSpaces(line, from);
    this.skipBlank();
    const next = this.i < this.lines.length ? (this.indents[this.i] as number) : -1;
    if (start === line.length || line.charCodeAt(start) === 35 /* # */) {
      if (next > indent) return this.block(next, depth + 1);
      // A sequence at the key's own indentation is its value in YAML: not read here.
      if (ofKey && next === indent && isSequenceItem(this.lines[this.i] as string, indent)) throw GIVE_UP;
      return null;
    }
    // A more indented line after a scalar continues it (a multi-line scalar): not read here.
    if (next > indent) throw GIVE_UP;
    return scalar(line, start);
  }
}

function indentOf(line: string): number {
  const n = skipSpaces(line, 0);
  return n === line.length || line.charCodeAt(n) === 35 /* # */ ? -1 : n;
}

function skipSpaces(line: string, from: number): number {
  let p = from;
  while (line.charCodeAt(p) === 32) p++;
  return p;
}

/** "- …" or "-" at `indent`. */
function isSequenceItem(line: string, indent: number): boolean {
  if (line.charCodeAt(indent) !== 45 /* - */) return false;
  const c = line.charCodeAt(indent + 1);
  return Number.isNaN(c) || c === 32;
}

/**
 * Where the colon is when `line` holds, from `from`, a key, its colon and a space or the end of
 * the line; -1 otherwise.
 */
function keyEnd(line: string, from: number): number {
  if (!is(line.charCodeAt(from), KEY_START)) return -1;
  let p = from + 1;
  while (is(line.charCodeAt(p), KEY_CHAR)) p++;
  if (line.charCodeAt(p) !== 58 /* : */) return -1;
  return p + 1 === line.length || line.charCodeAt(p + 1) === 32 ? p : -1;
}

/** A one-line scalar or flow collection, starting at `line`[`start`] (not a space, not "#"). */
function scalar(line: string, start: number): unknown {
  const first = line.charCodeAt(start);
  if (first === 34 /* " */ || first === 39 /* ' */) {
    const close = line.indexOf(line[start] as string, start + 1);
    if (close < 0 || !TRAILING.test(line.slice(close + 1))) throw GIVE_UP;
    const inner = line.slice(start + 1, close);
    if (first === 34 && inner.includes("\\")) throw GIVE_UP; // escapes
    return inner;
  }
  if (first === 91 /* [ */ || first === 123 /* { */) {
    const close = line.indexOf(first === 91 ? "]" : "}", start);
    if (close < 0 || !TRAILING.test(line.slice(close + 1))) throw GIVE_UP;
    const inner = line.slice(start + 1, close);
    return first === 91 ? flowSequence(inner) : flowMapping(inner);
  }
  if (is(first, INDICATOR)) throw GIVE_UP;
  if (first === 45 /* - */ && (start + 1 === line.length || line.charCodeAt(start + 1) === 32)) throw GIVE_UP;
  const comment = line.indexOf(" #", start);
  let end = comment < 0 ? line.length : comment;
  while (line.charCodeAt(end - 1) === 32) end--;
  const colon = line.indexOf(": ", start);
  if ((colon >= 0 && colon < end) || line.charCodeAt(end - 1) === 58 /* : */) throw GIVE_UP;
  const body = line.slice(start, end);
  return is(first, STRING_START) ? body : resolvePlain(body);
}

function flowSequence(inner: string): unknown[] {
  if (inner.trim() === "") return [];
  return inner.split(",").map((item) => flowScalar(item.trim()));
}

/** A plain or quoted scalar in a flow collection. */
function flowScalar(text: string): unknown {
  if (FLOW_PLAIN.test(text)) return resolvePlain(text);
  const q = FLOW_QUOTED.exec(text);
  if (q === null) throw GIVE_UP;
  return q[1] ?? q[2];
}

function flowMapping(inner: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (inner.trim() === "") return out;
  for (const pair of inner.split(",")) {
    const m = FLOW_PAIR.exec(pair.trim());
    if (m === null) throw GIVE_UP;
    const key = m[1] as string;
    checkKey(out, key);
    out[key] = flowScalar((m[2] as string).trimEnd());
  }
  return out;
}

/**
 * Gives up on a key js-yaml would store under another name or refuse: one the core schema reads
 * as something else than its text (True, NULL…: keys here start with a letter or "_", so only
 * null and booleans can be meant), a duplicate, or __proto__.
 */
function checkKey(into: Record<string, unknown>, key: string): void {
  if (key === "__proto__" || Object.hasOwn(into, key)) throw GIVE_UP;
  if (!is(key.charCodeAt(0), STRING_START) && resolvePlain(key) !== key) throw GIVE_UP;
}

/** What js-yaml's core schema makes of a plain scalar. */
function resolvePlain(text: string): unknown {
  for (const t of IMPLICIT as ImplicitType[]) if (t.resolve(text)) return t.construct(text);
  return text;
}
