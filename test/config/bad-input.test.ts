// Bad input never crashes the loader: each case gets one clear diagnostic at the file (or at the
// exact place), and the rest of the repo is still checked.
import { describe, expect, it } from "vitest";
import { loadFromFiles, MAX_FILE_BYTES } from "../../core/config/index.js";
import { BASE, linesOf } from "./load-helpers.js";

const DEEP = 10_000;
const lol = '["lol","lol","lol","lol","lol","lol","lol","lol","lol"]';
const row = (name: string, prev: string) => `${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`;
const aliasBomb = [
  "kind: App",
  "name: bomb",
  "image: x",
  `a: &a ${lol}`,
  row("b", "a"),
  row("c", "b"),
  row("d", "c"),
  row("e", "d"),
  row("f", "e"),
  row("g", "f"),
  "",
].join("\n");

interface Case {
  name: string;
  file: string | Uint8Array;
  errors: string[];
}

const cases: Case[] = [
  { name: "empty file", file: "", errors: [] },
  { name: "only comments", file: "# nothing here yet\n\n", errors: [] },
  {
    name: "empty documents around a real one",
    file: "---\n---\nkind: App\nname: x\nimage: x\n---\n",
    errors: [],
  },
  {
    name: "binary file named .yaml",
    file: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    errors: [
      "x.yaml:1:1: not a text file (it contains NUL bytes): a config file must be UTF-8 YAML; remove it or rename it so it does not end in .yaml/.yml [not-text]",
    ],
  },
  {
    name: "UTF-16 text (NUL bytes) counts as not text",
    file: new Uint8Array(Buffer.from("kind: App\n", "utf16le")),
    errors: [
      "x.yaml:1:1: not a text file (it contains NUL bytes): a config file must be UTF-8 YAML; remove it or rename it so it does not end in .yaml/.yml [not-text]",
    ],
  },
  {
    name: "invalid UTF-8",
    file: new Uint8Array([0x6b, 0x3a, 0x20, 0xc3, 0x28, 0x0a]),
    errors: ["x.yaml:1:1: file is not valid UTF-8 text: save it as UTF-8 [not-text]"],
  },
  {
    name: "a byte-order mark is fine",
    file: "\uFEFFkind: App\nname: x\nimage: x\n",
    errors: [],
  },
  {
    name: "20 MB file",
    file: "a: b\n".repeat(4 * 1024 * 1024),
    errors: [
      "x.yaml:1:1: file is 20 MiB, over berth's limit of 4 MiB per config file: split it into smaller files [file-too-large]",
    ],
  },
  {
    name: "alias bomb",
    file: aliasBomb,
    errors: [
      "x.yaml:1:1: aliases expand to too many nodes (over 100 alias uses): this looks like an alias bomb; write the values out [alias-limit]",
    ],
  },
  {
    name: "10,000-deep flow nesting",
    file: `kind: App\nname: deep\nimage: x\nenv: ${"[".repeat(DEEP)}${"]".repeat(DEEP)}\n`,
    errors: [
      "x.yaml:4:105: nesting is deeper than 100 levels: a config document is a few levels deep; flatten it [too-deep]",
    ],
  },
  {
    name: "10,000-deep block nesting",
    file: `${"- ".repeat(DEEP)}x\n`,
    errors: [
      "x.yaml:1:201: nesting is deeper than 100 levels: a config document is a few levels deep; flatten it [too-deep]",
    ],
  },
  {
    name: "10,000-deep nesting in a file with anchors (careful path)",
    file: `kind: App\nname: deep\nimage: &i x\nenv: ${"{a: ".repeat(DEEP)}1${"}".repeat(DEEP)}\n`,
    errors: [
      "x.yaml:4:399: nesting is deeper than 100 levels: a config document is a few levels deep; flatten it [too-deep]",
    ],
  },
  {
    name: "YAML syntax error",
    file: "kind: App\nname: x\nimage: [a, b\nport: 80\n",
    errors: [
      "x.yaml:4:1: YAML syntax error: flow sequence in block collection must be sufficiently indented and end with a ] [yaml-syntax]",
    ],
  },
  {
    name: "duplicate key (at the second one)",
    file: "kind: App\nname: x\nimage: a\nname: y\n",
    errors: [
      'x.yaml:4:1: duplicate key "name": a key may appear only once in a mapping; remove or rename one [duplicate-key]',
    ],
  },
  {
    name: "duplicate quoted key in a nested map",
    file: 'kind: App\nname: x\nimage: a\nenv:\n  "A": "1"\n  "A": "2"\n',
    errors: [
      'x.yaml:6:3: duplicate key "A": a key may appear only once in a mapping; remove or rename one [duplicate-key]',
    ],
  },
  {
    name: "tab indentation",
    file: "kind: App\nname: x\nimage: a\nenv:\n\tA: b\n",
    errors: ["x.yaml:5:1: tab used for indentation: YAML indents with spaces [yaml-syntax]"],
  },
  {
    name: "unknown tag",
    file: "kind: App\nname: x\nimage: !secret a\n",
    errors: [
      "x.yaml:3:8: unresolved tag: !secret: berth config uses plain YAML values; remove the tag [yaml-syntax]",
    ],
  },
  {
    name: "a syntax error in one document leaves the next one checked",
    file: "kind: App\nname: x\nimage: [a\n---\nkind: App\nname: y\nimagee: z\n",
    errors: [
      "x.yaml:4:1: YAML syntax error: flow sequence in block collection must be sufficiently indented and end with a ] [yaml-syntax]",
      "x.yaml:5:1: an App needs exactly one of image or command (image runs on podman/docker nodes, command on process nodes) [schema]",
      'x.yaml:7:1: unknown field "imagee" in App; did you mean "image"? [schema]',
    ],
  },
];

describe("bad input", () => {
  it.each(cases)("$name", ({ file, errors }) => {
    expect(linesOf({ ...BASE, "x.yaml": file }).errors).toEqual(errors);
  });

  it("an oversized file the reader did not read is reported from its size", () => {
    const result = loadFromFiles([{ path: "huge.yml", content: new Uint8Array(0), size: 3 * 1024 ** 3 }]);
    expect(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`)).toEqual([
      "huge.yml:1:1: file is 3 GiB, over berth's limit of 4 MiB per config file: split it into smaller files",
    ]);
    expect(MAX_FILE_BYTES).toBe(4 * 1024 * 1024);
  });

  it("a repo with no config at all", () => {
    expect(linesOf({}).errors).toEqual([
      ".:1:1: no config found (no *.yaml or *.yml file): berth reads *.yaml/*.yml files outside dot-folders whose documents have a kind (App, Domain, Node, Settings); check --repo, or start one with berth init [no-config]",
    ]);
  });

  it("a repo whose YAML files hold no document", () => {
    expect(linesOf({ "empty.yaml": "", "notes.yml": "# todo\n" }).errors).toEqual([
      ".:1:1: no config found (2 YAML files but no document): berth reads *.yaml/*.yml files outside dot-folders whose documents have a kind (App, Domain, Node, Settings); check --repo, or start one with berth init [no-config]",
    ]);
  });

  it("a repo of only broken files reports the files, not 'no config'", () => {
    expect(linesOf({ "x.yaml": "a: [\n" }).errors.map((l) => l.split(":")[0])).toEqual(["x.yaml"]);
  });
});
