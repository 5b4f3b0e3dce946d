// The plain block YAML reader (core/config/block-yaml.ts) must give exactly what js-yaml gives —
// same values, same types, same key order — or give up. Checked over every file of a generated
// repo and of examples/, over hand-picked edge cases of YAML, and over a seeded walk of mutations
// (characters, lines, indentation, comments, quotes, reserved words, duplicates, controls).
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRepo, rng } from "../../bench/gen-repo.js";
import { readBlockYaml } from "../../core/config/block-yaml.js";
import { parseText } from "../../core/config/parse.js";
import { projectRoot } from "../helpers/berth-cli.js";
import { makeTempDir } from "../helpers/git-repo.js";
import { jsYaml, mutateYaml } from "./yaml-mutations.js";

const dir = makeTempDir("berth-block-yaml-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let generated: string[];
let examples: string[];

/** Every *.yaml under `dir`, as text. */
function yamlUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".yaml"))
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"));
}

beforeAll(async () => {
  await generateRepo(dir, { apps: 150, nodes: 30, domains: 80, seed: 5, commit: false });
  generated = yamlUnder(dir);
  examples = yamlUnder(join(projectRoot, "examples"));
}, 60_000);

/** Equal values, types (-0, NaN, Infinity included) and key order. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join("\0") !== kb.join("\0")) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Fails unless the reader gave up on `text` or read it exactly as js-yaml does. */
function expectExact(text: string): "read" | "refused" {
  const docs = readBlockYaml(text);
  if (docs === undefined) return "refused";
  const expected = jsYaml(text);
  expect(expected, JSON.stringify(text)).not.toBe("error");
  expect(
    same(docs, expected),
    `${JSON.stringify(text)}\n${JSON.stringify(docs)}\n${JSON.stringify(expected)}`,
  ).toBe(true);
  return "read";
}

describe("the block YAML reader", () => {
  it("reads every generated App, Node, Domain and Settings file, as js-yaml does", () => {
    const plain = generated.filter((t) => !t.includes("kind: Secrets"));
    expect(plain.length).toBeGreaterThan(250);
    for (const text of plain) expect(expectExact(text), text).toBe("read");
    for (const text of plain) expect(parseText(text).parser, text).toBe("block-yaml");
  });

  it("reads the examples exactly, or leaves them to js-yaml", () => {
    const outcomes = examples.map(expectExact);
    expect(outcomes.filter((o) => o === "read").length).toBeGreaterThan(examples.length / 2);
  });

  it.each([
    [
      "scalars of every core type",
      "a: 1\nb: -2\nc: 0x1F\nd: 0o17\ne: 1.5\nf: -.5e3\ng: .inf\nh: -.Inf\ni: .nan\nj: ~\nk: null\nl: True\nm: FALSE\nn: 1_000\no: 10.0.0.1\np: 1.10.0\nq: +1\nr: 0\ns: -0\nt: 012\nu: 1e3\n",
    ],
    ["strings that look like other things", 'a: "1"\nb: \'true\'\nc: "null"\nd: yes\ne: No\nf: on\ng: "~"\n'],
    [
      "comments everywhere",
      "# top\na: 1 # one\n  # indented comment\nb: # nested\n  c: x#not-a-comment\n# between\n  d: 'q # not a comment'  # comment\n",
    ],
    [
      "nested mappings and sequences",
      "a:\n  b:\n    c: 1\n  d:\n    - x\n    - 2\n    -\n      e: f\n    - g: h\n      i: j\n    -\n    - k\nz: last\n",
    ],
    ["sequences of mappings with wider dashes", "ops:\n  -   name: a\n      recipient: r\n  -  name: b\n"],
    [
      "flow collections",
      "a: [x, 1, 2.5, ~, true]\nb: []\nc: {}\nd: { secret: DB_PASSWORD }\ne: {a: 1, b: two words}\nf: [ -1, -x ]\n",
    ],
    [
      "URLs, images and paths",
      "url: postgres://user@db.internal:5432/app?x=1\nimage: registry.example.com/a/b:1.10.0\npath: /srv/data\ncmd: [node, server.js]\n",
    ],
    [
      "keys with dots, slashes and dashes",
      "labels:\n  kubernetes.io/arch: amd64\n  my-key_1: v\n  _private: x\n",
    ],
    ["empty values and trailing spaces", "a:\nb:   \nc: x   \nd: 'y'   \n"],
    ["no final line break", "a: 1\nb: two"],
    ["unicode text", 'a: café ☕\nb: "日本"\n'],
    ["key names that are methods of Object", "constructor: 1\ntoString: x\nhasOwnProperty: y\n"],
  ])("%s", (_name, text) => {
    expect(expectExact(text)).toBe("read");
  });

  it.each([
    ["an anchor and alias", "a: &x 1\nb: *x\n"],
    ["a merge key", "a:\n  <<: {b: 1}\n"],
    ["a block scalar", "a: |\n  text\n"],
    ["a folded scalar", "a: >-\n  text\n"],
    ["a multi-line plain scalar", "a: one\n  two\n"],
    ["a multi-line flow", "a: [1,\n  2]\n"],
    ["an escape", 'a: "x\\ny"\n'],
    ["a quote in single quotes", "a: 'it''s'\n"],
    ["a tag", "a: !!str 1\n"],
    ["two documents", "a: 1\n---\nb: 2\n"],
    ["a document marker", "---\na: 1\n"],
    ["a directive", "%YAML 1.2\n---\na: 1\n"],
    ["a tab", "a:\t1\n"],
    ["CRLF", "a: 1\r\nb: 2\r\n"],
    ["a BOM", "\uFEFFa: 1\n"],
    ["a duplicate key", "a: 1\na: 2\n"],
    ["a duplicate key in a flow mapping", "a: {b: 1, b: 2}\n"],
    ["a key the core schema reads as a boolean", "True: 1\n"],
    ["a key the core schema reads as null", "NULL: 1\n"],
    ["__proto__", "__proto__: 1\n"],
    ["a quoted key", '"a": 1\n'],
    ["a sequence at its key's indentation", "a:\n- 1\n- 2\n"],
    ["a top-level sequence", "- a\n- b\n"],
    ["a top-level scalar", "hello\n"],
    ["an indented first line", "  a: 1\n"],
    ["a nested compact sequence", "a:\n  - - 1\n"],
    ["a mapping value on a dash line with a colon", "a: b: c\n"],
    ["a complex key", "? a\n: 1\n"],
    ["a comment glued to a quote", "a: 'x'#c\n"],
    ["a trailing comma in a flow", "a: [1, 2,]\n"],
    ["a nested flow", "a: [1, [2]]\n"],
    ["an empty document", "# only a comment\n"],
    ["an astral character", "a: 😀\n"],
    ["a C1 control", "a: \u0085\n"],
  ])("gives up on %s", (_name, text) => {
    expect(readBlockYaml(text)).toBeUndefined();
  });

  it("accepts nothing js-yaml reads differently: a seeded walk of mutations", () => {
    const r = rng(11);
    const pool = [...generated.filter((t) => !t.includes("kind: Secrets")).slice(0, 60), ...examples];
    let read = 0;
    let refused = 0;
    for (let i = 0; i < 8000; i++) {
      let text = pool[Math.floor(r() * pool.length)] as string;
      const steps = 1 + Math.floor(r() * 3);
      for (let k = 0; k < steps; k++) text = mutateYaml(r, text);
      if (expectExact(text) === "read") read++;
      else refused++;
    }
    // Both outcomes are common: harmless edits stay on the fast path, the rest goes to js-yaml.
    expect(read).toBeGreaterThan(1500);
    expect(refused).toBeGreaterThan(1500);
  });

  it("files it gives up on are still read, by js-yaml or the careful path", () => {
    const text = "a: &x 1\nb: *x\nc: |\n  block\n";
    const parsed = parseText(text);
    expect(parsed.parser).toBe("yaml");
    expect(parsed.docs).toEqual([{ a: 1, b: 1, c: "block\n" }]);
    expect(parseText("a: |\n  block\n").parser).toBe("js-yaml");
  });
});
