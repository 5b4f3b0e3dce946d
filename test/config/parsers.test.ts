// The YAML readers behind the loader must agree: js-yaml (fast path, no positions) and yaml
// (careful path, positions). Same values, same document indices; aliases and merge keys work.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import jsyaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { isConfigPath } from "../../core/config/index.js";
import { parseText } from "../../core/config/parse.js";
import { positionOf } from "../../core/config/positions.js";
import { parseFull } from "../../core/config/yaml-full.js";
import { BASE, linesOf } from "./load-helpers.js";

const samples = [
  "",
  "# only a comment\n",
  "---\n",
  "---\n---\nkind: App\n",
  "kind: App\n---\n",
  "kind: App\n---\n# trailing comment\n",
  "a: 1\n---\n---\nb: 2\n",
  "a: 1\n...\n---\nb: 2\n",
  "%YAML 1.2\n---\na: 1\n",
  "~\n---\na: 1\n",
  "--- a\n--- b\n",
  // YAML 1.2 core schema in both: no dates, no yes/no booleans, octal 0o.
  "d: 2024-01-01\nb: yes\no: off\nn: 0o17\nh: 0x1f\nu: 1_000\ne: 1e3\nnul: null\nt: true\nf: .inf\n",
  "q: \"a\\tb \\u00e9\"\ns: 'it''s'\nfolded: >\n  one\n  two\nlit: |\n  x\n  y\n",
  "list:\n  - a\n  - {b: 1, c: [2, 3]}\n",
  "key with spaces: v\n'quoted key': 1\n",
];

/** Values by document index, leaving out empty documents (which both skip). */
const byIndex = (docs: unknown[]) =>
  Object.fromEntries(docs.flatMap((d, i) => (d === undefined ? [] : [[i, d]])));

const jsYaml = (text: string) => jsyaml.loadAll(text, undefined, { schema: jsyaml.CORE_SCHEMA });

describe("YAML parsers agree", () => {
  it.each(samples)("%j", (text) => {
    const fast = jsYaml(text);
    const careful = parseFull(text);
    expect(careful.problems).toEqual([]);
    expect(byIndex(fast.map((v) => (v === null ? undefined : v)))).toEqual(byIndex(careful.docs));
    expect(byIndex(parseText(text).docs)).toEqual(byIndex(careful.docs));
  });

  // Awkward inputs: the loader's parse reads them as js-yaml does, or reports a positioned problem.
  const edges = [
    "a: 1\nb:\n  - x\n  - y\nc: {}\nd: []\n",
    "a:\n- 1\n- 2\nb: 3\n",
    "list:\n  - name: a\n    path: /a\n  -   name: b\n      path: /b\n  -\n    name: c\n",
    "a: 'it''s' # comment\nb: \"x\\\"y\\u00e9\" # c\nc: a#b\nd: x # y\n",
    'a: "tab\\there"\nb: "\\x41"\nc: "\\e"\n',
    "a: [1, \"two\", 'three', four five, -6, 0x7, .inf, ~]\n",
    "a: [1, [2]]\nb: [a: b]\n",
    "a: [x,]\n",
    "a: multi\n  line\n",
    "a: |\n  block\n",
    "a: >-\n  folded\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "? complex\n: key\n",
    "a: 1\na: 2\n",
    "True: 1\nnull: 2\n",
    "__proto__: 1\n",
    '"quoted key": 1\n',
    "a: b: c\n",
    "a: b:\n",
    "a:b\n",
    "- - nested\n",
    "  indented: root\n  second: line\n",
    "  indented: root\nback: out\n",
    "a: 1\n  b: 2\n",
    "a:\n  b: 1\n c: 2\n",
    "a: @x\n",
    "a: `x`\n",
    "a: %x\n",
    "a: -\n",
    "a: - x\n",
    "a: ?x\n",
    "a: :x\n",
    "a: x:\n",
    "a: 1_000\nb: 0o17\nc: 012\nd: +1\ne: 1.\nf: .5\ng: 1e3\nh: -.inf\ni: .NaN\nj: 0b101\n",
    "a: yes\nb: No\nc: on\nd: TRUE\ne: Null\nf: ~\n",
    "a: 2024-01-01T10:00:00Z\n",
    'a: "unterminated\n',
    "a: 'x' y\n",
    "---\n--- \n---\n",
    "--- # comment\na: 1\n",
    "----\n",
    "a: 1\n...\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: 1\r\nb: 2\r\n",
    "a:\t1\n",
    "key with space: 1\n",
    "a: x # c\n# trailing\n\n\n",
    "a:\n\n  # comment in between\n\n  b: 1\n",
    "a: [\"x, y\", 'a]b']\n",
    "a: \"\"\nb: ''\n",
    "a: héllo wörld ✓\n",
    '- name: x\n  env:\n    A: "1"\n  ports:\n  - 80\n  - 81\n- name: y\n',
    "a:\n  - b: 1\n    c:\n      - d\n  - e\n",
    "app.kubernetes.io/name: x\nk_1-2.3: y\n",
  ];

  it.each(edges)("parseText on %j: same values as js-yaml, or a positioned problem", (text) => {
    let expected: unknown[] | undefined;
    try {
      expected = jsYaml(text);
    } catch {
      expected = undefined;
    }
    const parsed = parseText(text);
    if (expected === undefined || parsed.problems.length > 0) {
      // Rejected: every problem has a 1-based position inside the text.
      expect(parsed.problems.length).toBeGreaterThan(0);
      for (const p of parsed.problems) {
        expect(p.line).toBeGreaterThanOrEqual(1);
        expect(p.col).toBeGreaterThanOrEqual(1);
      }
    } else {
      expect(byIndex(parsed.docs)).toEqual(byIndex(expected.map((v) => (v === null ? undefined : v))));
    }
  });

  it("every example file reads exactly like js-yaml", () => {
    const root = fileURLToPath(new URL("../../examples", import.meta.url));
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((f) => {
        const p = join(d, f);
        return statSync(p).isDirectory() ? walk(p) : /\.ya?ml$/.test(f) ? [p] : [];
      });
    const files = ["single-host", "multi-node"].flatMap((name) => walk(join(root, name)));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      const parsed = parseText(text);
      expect(parsed.problems, f).toEqual([]);
      expect(byIndex(parsed.docs), f).toEqual(byIndex(jsYaml(text).map((v) => (v === null ? undefined : v))));
    }
  });

  it("files with anchors and merge keys take the careful path and load like the written-out form", () => {
    const withAliases =
      "kind: App\nname: web\nimage: &img nginx:1.27\nport: 8080\nenv: &env\n  A: '1'\n  IMAGE: *img\nhealth:\n  <<: {path: /healthz}\n  timeoutSeconds: 3\n";
    const plain =
      "kind: App\nname: web\nimage: nginx:1.27\nport: 8080\nenv:\n  A: '1'\n  IMAGE: nginx:1.27\nhealth:\n  path: /healthz\n  timeoutSeconds: 3\n";
    expect(parseText(withAliases).parser).toBe("yaml");
    const a = linesOf({ ...BASE, "apps/web.yaml": withAliases });
    const b = linesOf({ ...BASE, "apps/web.yaml": plain });
    expect(a.errors).toEqual([]);
    expect(a.result.config.apps).toEqual(b.result.config.apps);
  });

  it("a '&&' in a block string only costs the careful path, not correctness", () => {
    const text = "kind: App\nname: x\ncommand:\n  - sh\n  - -c\n  - make && run\n";
    expect(parseText(text).docs[0]).toMatchObject({ command: ["sh", "-c", "make && run"] });
    const folded = "kind: App\nname: x\ncommand: [sh, -c, make && run]\nenv: {A: '1'}\n";
    const parsed = parseText(folded);
    expect(parsed.parser).toBe("yaml");
    expect(parsed.docs[0]).toMatchObject({ command: ["sh", "-c", "make && run"], env: { A: "1" } });
  });

  it("positions: value, key, list item, missing field, through an alias", () => {
    const text = "kind: App\nname: web\nenv: &e\n  A: x\nplacement:\n  nodes: [a, b]\nextra: *e\n";
    const file = parseText(text);
    expect(positionOf(file, 0, ["name"])).toEqual({ line: 2, col: 7 });
    expect(positionOf(file, 0, ["name"], "key")).toEqual({ line: 2, col: 1 });
    expect(positionOf(file, 0, ["placement", "nodes", 1])).toEqual({ line: 6, col: 14 });
    expect(positionOf(file, 0, ["env", "A"])).toEqual({ line: 4, col: 6 });
    expect(positionOf(file, 0, ["extra", "A"])).toEqual({ line: 4, col: 6 });
    // A missing field points at the mapping that should hold it.
    expect(positionOf(file, 0, ["placement", "labels"])).toEqual({ line: 5, col: 1 });
  });
});

describe("which paths are config", () => {
  it.each([
    ["berth.yaml", true],
    ["apps/web.yml", true],
    ["a/b/c/d.yaml", true],
    ["apps/web.yaml.bak", false],
    ["README.md", false],
    [".gitlab-ci.yml", false],
    [".github/workflows/ci.yml", false],
    ["apps/.hidden.yaml", false],
    ["apps/.drafts/web.yaml", false],
    ["node_modules/x/a.yaml", false],
    ["vendor/node_modules/x/a.yaml", false],
    ["my.node_modules/a.yaml", true],
  ])("%s → %s", (path, expected) => {
    expect(isConfigPath(path)).toBe(expected);
  });
});
