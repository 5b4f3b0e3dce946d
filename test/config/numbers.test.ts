// Every number a berth schema accepts is finite and sane. The numeric fields are found by walking
// the schemas themselves (with their $refs), so a field added later is covered without touching
// this file: each must declare finite lower and upper bounds, each validator must refuse .inf,
// -.inf, .nan and absurd magnitudes at that field (and accept a sane value there), and each field
// of a config document written in YAML as .inf / .nan must give a diagnostic naming the field —
// never "room for only NaN" further down. Memory quantities are bounded by their pattern.
import { describe, expect, it } from "vitest";
import { formatDiagnostic, loadFromFiles } from "../../core/config/index.js";
import {
  type ConfigKind,
  configValidator,
  schemas,
  validateDesired,
  validatePlan,
  validateStatus,
} from "../../schema/index.js";
import { toFiles } from "./load-helpers.js";

type Json = Record<string, unknown>;
type Seg = string | number;

interface NumericField {
  file: string;
  /** Where the field's subschema sits in its file (for the bounds check). */
  pointer: string;
  schema: Json;
}

/** Every subschema typed number or integer, anywhere in every schema file. */
function numericSubschemas(): NumericField[] {
  const out: NumericField[] = [];
  for (const [file, root] of Object.entries(schemas)) {
    const walk = (node: unknown, ptr: string) => {
      if (Array.isArray(node)) {
        for (const [i, n] of node.entries()) walk(n, `${ptr}/${i}`);
        return;
      }
      if (!node || typeof node !== "object") return;
      const t = (node as Json).type;
      const types = Array.isArray(t) ? t : [t];
      if (types.includes("number") || types.includes("integer"))
        out.push({ file, pointer: ptr, schema: node as Json });
      for (const [k, v] of Object.entries(node)) walk(v, `${ptr}/${k}`);
    };
    walk(root, "#");
  }
  return out;
}

function resolve(file: string, ref: string): { file: string; schema: Json } {
  const [target, pointer = ""] = ref.split("#");
  const f = target ? target : file;
  let node: unknown = schemas[f as keyof typeof schemas];
  for (const seg of pointer.split("/").filter(Boolean)) node = (node as Json)[seg];
  return { file: f, schema: node as Json };
}

interface Reachable {
  path: Seg[];
  integer: boolean;
  min: number;
  max: number;
}

/** Numeric fields reachable from a schema's root: their instance paths (arrays at index 0). */
function reachable(file: string): Reachable[] {
  const out: Reachable[] = [];
  const walk = (f: string, s: Json, path: Seg[], depth: number) => {
    if (depth > 12) return;
    if (typeof s.$ref === "string") {
      const r = resolve(f, s.$ref);
      return walk(r.file, { ...r.schema, ...s, $ref: undefined }, path, depth + 1);
    }
    for (const key of ["anyOf", "oneOf", "allOf"]) {
      if (Array.isArray(s[key])) for (const sub of s[key] as Json[]) walk(f, sub, path, depth + 1);
    }
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if ((types.includes("number") || types.includes("integer")) && types.length === 1) {
      const min = (s.minimum ?? s.exclusiveMinimum) as number;
      const max = (s.maximum ?? s.exclusiveMaximum) as number;
      out.push({ path, integer: types.includes("integer"), min, max });
    }
    if (s.properties)
      for (const [k, v] of Object.entries(s.properties as Json)) walk(f, v as Json, [...path, k], depth + 1);
    if (s.items && typeof s.items === "object") walk(f, s.items as Json, [...path, 0], depth + 1);
    if (s.additionalProperties && typeof s.additionalProperties === "object")
      walk(f, s.additionalProperties as Json, [...path, "x"], depth + 1);
  };
  walk(file, schemas[file as keyof typeof schemas] as Json, [], 0);
  // One entry per path (a field reached through two branches is the same field).
  return [...new Map(out.map((r) => [r.path.join("/"), r])).values()];
}

function setAt(path: Seg[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (typeof head === "number") return [setAt(rest, value)];
  return { [head as string]: setAt(rest, value) };
}

const validators: Record<string, (v: unknown) => { ok: boolean; paths: string[] }> = {};
const wrap = (fn: { (v: unknown): boolean; errors?: { instancePath: string }[] | null }) => (v: unknown) => {
  const ok = fn(v);
  return { ok, paths: (fn.errors ?? []).map((e) => e.instancePath) };
};
for (const [file, kind] of [
  ["app.schema.json", "App"],
  ["node.schema.json", "Node"],
  ["domain.schema.json", "Domain"],
  ["settings.schema.json", "Settings"],
] as const)
  validators[file] = wrap(configValidator(kind as ConfigKind));
validators["desired.schema.json"] = wrap(validateDesired());
validators["status.schema.json"] = wrap(validateStatus());
validators["plan.schema.json"] = wrap(validatePlan());

// A union that carries any JSON value (plan diffs of arbitrary fields): no bounds of its own; it
// still refuses non-finite numbers (strictNumbers in scripts/gen-validators.mjs).
const unbounded = new Set(["plan.schema.json#/$defs/JsonValue"]);

const bad = [
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["NaN", Number.NaN],
  ["1e300", 1e300],
  ["-1e300", -1e300],
] as const;

describe("numbers in the schemas", () => {
  const fields = numericSubschemas();

  it("finds the numeric fields (a walk that finds none would prove nothing)", () => {
    expect(fields.length).toBeGreaterThanOrEqual(25);
    // Domains hold no number; every other document kind does.
    for (const f of Object.keys(validators).filter((f) => f !== "domain.schema.json"))
      expect(reachable(f).length, f).toBeGreaterThan(0);
  });

  it("every numeric field declares finite lower and upper bounds", () => {
    const missing = fields
      .filter((f) => !unbounded.has(`${f.file}${f.pointer}`))
      .filter((f) => {
        const lo = f.schema.minimum ?? f.schema.exclusiveMinimum;
        const hi = f.schema.maximum ?? f.schema.exclusiveMaximum;
        return !Number.isFinite(lo) || !Number.isFinite(hi);
      })
      .map((f) => `${f.file}${f.pointer}`);
    expect(missing).toEqual([]);
  });

  for (const file of Object.keys(validators)) {
    for (const field of reachable(file)) {
      const at = `/${field.path.join("/")}`;
      it(`${file} ${at}: refuses ${bad.map(([n]) => n).join(", ")}; accepts a sane value`, () => {
        const validate = validators[file] as (v: unknown) => { ok: boolean; paths: string[] };
        for (const [name, value] of bad) {
          const r = validate(setAt(field.path, value));
          expect(r.paths, `${name} at ${at}`).toContain(at);
        }
        const lo = Number.isFinite(field.min) ? field.min : 0;
        const hi = Number.isFinite(field.max) ? field.max : lo + 10;
        const sane = field.integer ? Math.ceil((lo + hi) / 2) : (lo + hi) / 2;
        expect(validate(setAt(field.path, sane)).paths, `${sane} at ${at}`).not.toContain(at);
      });
    }
  }
});

const bases: Record<string, { file: string; doc: Json }> = {
  "app.schema.json": {
    file: "apps/web.yaml",
    doc: { kind: "App", name: "web", image: "nginx:1.27", port: 8080, health: { path: "/healthz" } },
  },
  "node.schema.json": {
    file: "nodes/n1.yaml",
    doc: {
      kind: "Node",
      name: "n1",
      address: "10.0.0.1",
      roles: ["worker", "proxy"],
      runtime: "podman",
      capacity: { cpu: 4, memory: "8Gi" },
    },
  },
  "settings.schema.json": { file: "berth.yaml", doc: { kind: "Settings" } },
  "domain.schema.json": {
    file: "domains/www.yaml",
    doc: { kind: "Domain", host: "www.example.com", app: "web" },
  },
};

function withValue(doc: Json, path: Seg[], yamlValue: string): string {
  // The value is spliced in as YAML text, so .inf and .nan are read by the YAML parser itself.
  const marker = "__BERTH_NUMBER__";
  let target: unknown = structuredClone(doc);
  const root = target;
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    const next = typeof path[i + 1] === "number" ? [] : {};
    const holder = target as Record<Seg, unknown>;
    if (last) holder[seg] = marker;
    else {
      holder[seg] ??= next;
      target = holder[seg];
    }
  }
  if (path[0] === "portRange") (root as Json).portRange = [marker, 20100];
  return JSON.stringify(root, null, 2).replace(`"${marker}"`, yamlValue);
}

const label = (path: Seg[]) =>
  path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");

describe("numbers in config files, end to end", () => {
  const repo = Object.fromEntries(Object.values(bases).map((b) => [b.file, JSON.stringify(b.doc, null, 2)]));

  it("the base repo is valid", () => {
    expect(loadFromFiles(toFiles(repo)).diagnostics.map((d) => formatDiagnostic(d))).toEqual([]);
  });

  for (const [file, base] of Object.entries(bases)) {
    for (const field of reachable(file)) {
      for (const yamlValue of [".inf", "-.inf", ".nan", "1e300"]) {
        it(`${base.file}: ${label(field.path)}: ${yamlValue} is refused at the field`, () => {
          const files = { ...repo, [base.file]: withValue(base.doc, field.path, yamlValue) };
          const lines = loadFromFiles(toFiles(files)).diagnostics.map((d) => formatDiagnostic(d));
          expect(
            lines.some((l) => l.startsWith(`${base.file}:`) && l.includes(`: ${label(field.path)} `)),
          ).toBe(true);
          expect(lines.join("\n")).not.toMatch(/NaN|Infinity/);
        });
      }
    }
  }

  for (const memory of ["99999999999999999Ti", "1".repeat(400), "10000T", "1e9Gi"]) {
    it(`memory ${memory.slice(0, 20)}… is refused, and the message stays short`, () => {
      const node = { ...(bases["node.schema.json"]?.doc as Json), capacity: { cpu: 4, memory } };
      const lines = loadFromFiles(
        toFiles({ ...repo, "nodes/n1.yaml": JSON.stringify(node) }),
      ).diagnostics.map((d) => formatDiagnostic(d));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/capacity\.memory .* is not an amount of memory/);
      expect(lines[0]?.length).toBeLessThan(400);
    });
  }
  it("the largest memory amounts each unit allows are accepted", () => {
    for (const memory of [
      "9999999999999999",
      "9999999999999Ki",
      "9999999999M",
      "9999999Gi",
      "9999Ti",
      "0.5Gi",
    ]) {
      const node = { ...(bases["node.schema.json"]?.doc as Json), capacity: { cpu: 4, memory } };
      expect(loadFromFiles(toFiles({ ...repo, "nodes/n1.yaml": JSON.stringify(node) })).diagnostics).toEqual(
        [],
      );
    }
  });
});
