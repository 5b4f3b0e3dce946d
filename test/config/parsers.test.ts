// The two YAML parsers behind the loader must agree: js-yaml (fast path, no positions) and yaml
// (careful path, positions). Same values, same document indices; aliases and merge keys work.
import { describe, expect, it } from "vitest";
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

describe("YAML parsers agree", () => {
  it.each(samples)("%j", (text) => {
    const fast = parseText(text);
    const careful = parseFull(text);
    expect(fast.parser).toBe("js-yaml");
    expect(careful.problems).toEqual([]);
    expect(byIndex(fast.docs)).toEqual(byIndex(careful.docs));
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

  it("a quoted '&&' only costs the careful path, not correctness", () => {
    const text = 'kind: App\nname: x\ncommand: ["sh", "-c", "make && run"]\n';
    const parsed = parseText(text);
    expect(parsed.parser).toBe("yaml");
    expect(parsed.docs[0]).toMatchObject({ command: ["sh", "-c", "make && run"] });
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
