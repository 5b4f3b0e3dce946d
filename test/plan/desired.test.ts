// Desired documents: valid against the schema, hashes that are what the contract says, health
// defaults, routes on proxy nodes, and a warm evaluator that gives what a cold one gives.
import { describe, expect, it } from "vitest";
import { canonicalJson, hashOf, sha256Hex } from "../../core/canonical-json.js";
import type { AppSpec, Config, DomainSpec, NodeSpec } from "../../core/config/model.js";
import { sameContent, workloadIdsOf } from "../../core/desired/index.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan, type PlanInput } from "../../core/plan/index.js";
import { type DesiredState, healthDefaults, validateDesired } from "../../schema/index.js";
import { app, config, domain, loaded, node, workers } from "./builders.js";

const source = { branch: "main", commit: "a".repeat(40) };

describe("desired documents", () => {
  const cfg = config({
    nodes: [
      node({ name: "w1", address: "10.1.0.1" }),
      node({ name: "w2", address: "fd00::2" }),
      node({ name: "p1", runtime: "process", address: "10.1.0.3" }),
      node({ name: "edge", address: "10.1.0.9", roles: ["proxy", "worker"] }),
    ],
    apps: [
      app({
        name: "web",
        image: "nginx:1.27",
        port: 80,
        replicas: 2,
        health: { path: "/healthz", intervalSeconds: 5 },
      }),
      app({ name: "job", image: "busybox", env: { B: "2", A: "1" } }),
      app({
        name: "script",
        command: ["node", "server.js"],
        workdir: "apps/script",
        port: 3000,
        volumes: [{ name: "data", path: "/data" }],
      }),
    ],
    domains: [
      domain({ host: "www.example.com", app: "web" }),
      domain({ host: "s.example.com", app: "script", tls: "off" }),
    ],
  });
  const ev = new Evaluator().evaluate(loaded(cfg), source);
  const docs = [...ev.desired.values()];

  it("has one schema-valid document per node, in name order", () => {
    expect(ev.valid).toBe(true);
    expect([...ev.desired.keys()]).toEqual(["edge", "p1", "w1", "w2"]);
    const validate = validateDesired();
    for (const d of docs) expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
  });

  it("hashes workloads without specHash and nodes without source", () => {
    for (const d of docs) {
      expect(d.hash).toBe(
        hashOf({ workloads: d.workloads, routes: d.routes, upstreamAddress: d.upstreamAddress }),
      );
      for (const w of d.workloads) {
        const { specHash, ...body } = w;
        expect(specHash).toBe(hashOf(body));
      }
    }
    const other = new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: "b".repeat(40) });
    for (const d of docs) expect(other.desired.get(d.node)?.hash).toBe(d.hash);
  });

  it("fills health defaults, runtime, env, volumes, command and workdir", () => {
    const all = docs.flatMap((d) => d.workloads.map((w) => ({ ...w, node: d.node })));
    const web = all.find((w) => w.id === "web-0")!;
    expect(web.health).toEqual({ ...healthDefaults(), path: "/healthz", intervalSeconds: 5 });
    const job = all.find((w) => w.id === "job-0")!;
    expect(job.health).toEqual(healthDefaults());
    expect(Object.keys(job.env)).toEqual(["A", "B"]);
    expect(job.volumes).toEqual([]);
    const script = all.find((w) => w.id === "script-0")!;
    expect(script).toMatchObject({
      node: "p1",
      runtime: "process",
      command: ["node", "server.js"],
      workdir: "apps/script",
    });
    expect(script.image).toBeUndefined();
    expect(script.volumes).toEqual([{ name: "data", path: "/data" }]);
  });

  it("routes every domain on proxy nodes to address:hostPort of every replica", () => {
    const edge = ev.desired.get("edge")!;
    expect(edge.routes.map((r) => r.host)).toEqual(["s.example.com", "www.example.com"]);
    const webPorts = docs.flatMap((d) => d.workloads.filter((w) => w.app === "web").map((w) => ({ d, w })));
    const www = edge.routes.find((r) => r.host === "www.example.com")!;
    expect(www.upstreams).toHaveLength(2);
    for (const { d, w } of webPorts) {
      const addr = d.node === "w2" ? "[fd00::2]" : `10.1.0.${{ w1: 1, edge: 9, p1: 3 }[d.node as "w1"]}`;
      expect(www.upstreams).toContain(`${addr}:${w.hostPort}`);
    }
    for (const name of ["w1", "w2", "p1"]) expect(ev.desired.get(name)?.routes).toEqual([]);
  });

  it("writes the canonical JSON of a workload exactly as canonicalJson does", () => {
    // The builder assembles it from per-app fragments (see workload.ts): odd values must not
    // make it differ from the generic serialiser, or hashes would not be what the contract says.
    const odd = new Evaluator().evaluate(
      loaded(
        config({
          nodes: [node({ name: "c" }), node({ name: "p", runtime: "process" })],
          apps: [
            app({ name: "t", env: { strategy: "x", ZZ: ',"strategy":', é: 'ü\u0001\n"', a: "" }, port: 1 }),
            app({
              name: "u",
              command: ["sh", "-c", 'echo "\\ \u2028"'],
              workdir: "/srv/ü",
              volumes: [{ name: "data", path: "/var/lib/ü x" }],
              health: { path: '/h?x="1"', timeoutSeconds: 0.5 },
              strategy: "stop-first",
              replicas: 3,
            }),
          ],
        }),
      ),
      source,
    );
    expect(odd.valid).toBe(true);
    for (const doc of odd.desired.values()) {
      expect(doc.hash).toBe(
        `sha256:${sha256Hex(canonicalJson({ routes: doc.routes, upstreamAddress: doc.upstreamAddress, workloads: doc.workloads }))}`,
      );
      for (const { specHash, ...body } of doc.workloads) expect(specHash).toBe(hashOf(body));
    }
    expect([...odd.desired.values()].flatMap((d) => d.workloads)).toHaveLength(4);
  });
});

describe("warm evaluation", () => {
  it("gives the same documents as a cold one after every change of a random sequence", () => {
    let seed = 7;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let nodes: NodeSpec[] = [
      // Room for every replica the walk can make, so nearly every step is valid and has documents.
      ...workers(8, { capacity: { cpu: 16, memory: "16Gi" }, portRange: [20000, 20039] }),
      node({ name: "edge", roles: ["proxy"] }),
    ];
    let apps: AppSpec[] = Array.from({ length: 40 }, (_, i) =>
      app({ name: `a${i}`, port: 8080, replicas: 1 + (i % 3), resources: { cpu: 0.5 } }),
    );
    let domains: DomainSpec[] = apps
      .slice(0, 15)
      .map((a) => domain({ host: `${a.name}.example.com`, app: a.name }));
    const warm = new Evaluator();
    // The plan between consecutive steps from the warm evaluator's documents (consecutive builds
    // share the content of unchanged nodes, which the plan skips unmade) must equal the plan from
    // plain copies of the same documents, which it compares in full.
    let prev: { lazy: PlanInput; plain: PlanInput } | undefined;
    let valid = 0;
    let planned = 0;
    for (let step = 0; step < 80; step++) {
      const i = Math.floor(rand() * apps.length);
      const what = rand();
      if (what < 0.25) apps[i] = { ...apps[i]!, env: { V: String(step) } };
      else if (what < 0.45) apps[i] = { ...apps[i]!, replicas: Math.floor(rand() * 4) };
      else if (what < 0.55) nodes = nodes.map((n, k) => (k === step % 8 ? { ...n, cordon: !n.cordon } : n));
      else if (what < 0.65)
        nodes = nodes.map((n, k) => (k === step % 8 ? { ...n, address: `10.9.0.${step}` } : n));
      else if (what < 0.75)
        domains = domains.map((d, k) =>
          k === step % domains.length ? { ...d, tls: d.tls === "auto" ? "off" : "auto" } : d,
        );
      else if (what < 0.85)
        domains = domains.map((d, k) => (k === step % domains.length ? { ...d, app: apps[i]!.name } : d));
      else if (what < 0.92) apps = apps.filter((_, k) => k !== i);
      else apps = [...apps, app({ name: `n${step}`, port: 80, replicas: 2, resources: { cpu: 0.5 } })];
      domains = domains.filter((d) => apps.some((a) => a.name === d.app));
      const cfg: Config = config({ apps, nodes, domains });
      const src = { branch: "main", commit: String(step).padStart(40, "0") };
      const a = warm.evaluate(loaded(cfg), src);
      const side = { ref: "main", commit: src.commit };
      const lazy: PlanInput = { side, config: cfg, desired: a.desired, diagnostics: a.diagnostics };
      const lazyPlan = prev && computePlan(prev.lazy, lazy);
      const b = new Evaluator().evaluate(loaded(cfg), src);
      expect(a.diagnostics).toEqual(b.diagnostics);
      expect(JSON.stringify([...a.desired])).toBe(JSON.stringify([...b.desired]));
      const plain: PlanInput = {
        ...lazy,
        desired: new Map([...a.desired].map(([k, d]) => [k, JSON.parse(JSON.stringify(d)) as DesiredState])),
      };
      if (prev) expect(lazyPlan).toEqual(computePlan(prev.plain, plain));
      if (a.valid) valid++;
      if (lazyPlan && lazyPlan.nodes.length > 0) planned++;
      prev = { lazy, plain };
    }
    // Not a walk through invalid configs, where there would be nothing to compare.
    expect(valid).toBeGreaterThan(50);
    expect(planned).toBeGreaterThan(40);
  });

  it("keeps unchanged documents as the same objects when only the source moves", () => {
    const cfg = config({ apps: [app({ name: "web", replicas: 3 })], nodes: workers(5) });
    const ev = new Evaluator();
    const one = ev.evaluate(loaded(cfg), source);
    const two = ev.evaluate(loaded(cfg), { branch: "main", commit: "b".repeat(40) });
    for (const [name, doc] of one.desired) {
      expect(two.desired.get(name)?.workloads).toBe(doc.workloads);
      expect(two.desired.get(name)?.source.commit).toBe("b".repeat(40));
    }
  });
});

describe("documents made on first read", () => {
  const cfg = config({
    apps: [app({ name: "web", replicas: 3, port: 80 }), app({ name: "api", replicas: 2 })],
    nodes: [...workers(3), node({ name: "edge", roles: ["proxy"] })],
    domains: [domain({ host: "www.example.com", app: "web" })],
  });

  it("make their workloads and hash when first read, then read and write like plain data", () => {
    const { desired } = new Evaluator().evaluate(loaded(cfg), source);
    const doc = desired.get("node-001") as DesiredState;
    expect(Object.getOwnPropertyDescriptor(doc, "workloads")?.get).toBeDefined();
    const unmadeIds = workloadIdsOf(doc);
    expect(unmadeIds.length).toBeGreaterThan(0);
    // Serialising makes them, in the key order of a document written in one go.
    const text = JSON.stringify(doc);
    expect(Object.keys(JSON.parse(text))).toEqual([
      "apiVersion",
      "node",
      "upstreamAddress",
      "source",
      "hash",
      "workloads",
      "routes",
    ]);
    expect(Object.getOwnPropertyDescriptor(doc, "workloads")?.value).toBe(doc.workloads);
    expect(workloadIdsOf(doc)).toEqual(doc.workloads.map((w) => w.id));
    expect(unmadeIds).toEqual(doc.workloads.map((w) => w.id));
    expect(doc.hash).toBe(
      hashOf({ workloads: doc.workloads, routes: doc.routes, upstreamAddress: doc.upstreamAddress }),
    );
    // Writing before reading works too (tests and tools corrupt documents on purpose).
    const other = new Evaluator().evaluate(loaded(cfg), source).desired.get("edge") as DesiredState;
    const twin = new Evaluator().evaluate(loaded(cfg), source).desired.get("edge") as DesiredState;
    other.hash = "sha256:0";
    expect(other.hash).toBe("sha256:0");
    expect(other.routes.map((r) => r.host)).toEqual(["www.example.com"]);
    expect(Object.keys(other)).toEqual([
      "apiVersion",
      "node",
      "upstreamAddress",
      "source",
      "hash",
      "workloads",
      "routes",
    ]);
    // A written document no longer counts as equal to others over the same content.
    const ev = new Evaluator();
    const a = ev.evaluate(loaded(cfg), source).desired.get("edge") as DesiredState;
    const b = ev
      .evaluate(loaded(cfg), { branch: "main", commit: "c".repeat(40) })
      .desired.get("edge") as DesiredState;
    expect(sameContent(a, b)).toBe(true);
    b.routes = [];
    expect(sameContent(a, b)).toBe(false);
    expect(twin.routes).toHaveLength(1);
  });

  it("share their content across builds while it does not change, which the plan sees unmade", () => {
    const ev = new Evaluator();
    const one = ev.evaluate(loaded(cfg), source).desired;
    const moved = {
      ...cfg,
      apps: cfg.apps.map((e) => (e.spec.name === "api" ? { ...e, spec: { ...e.spec, image: "api:2" } } : e)),
    };
    const two = ev.evaluate(loaded(moved), { branch: "main", commit: "b".repeat(40) }).desired;
    for (const [name, doc] of one) {
      const next = two.get(name) as DesiredState;
      const apiThere = doc.workloads.some((w) => w.app === "api");
      expect(sameContent(doc, next)).toBe(!apiThere);
      if (!apiThere) expect(next.hash).toBe(doc.hash);
      else expect(next.hash).not.toBe(doc.hash);
    }
    // A document never shares content with a plain copy of itself.
    const w1 = two.get("node-001") as DesiredState;
    expect(sameContent(w1, JSON.parse(JSON.stringify(w1)))).toBe(false);
  });
});

describe("invalid input", () => {
  it("passes load diagnostics through and builds nothing", () => {
    const diag = { file: "apps/web.yaml", line: 3, col: 1, rule: "schema", message: "bad" };
    const ev = new Evaluator().evaluate(loaded(config({}), [diag]), source);
    expect(ev).toEqual({ valid: false, diagnostics: [diag], desired: new Map() });
  });
});
