// Placement: deterministic, stable when nodes come and go, honouring eligibility and capacity,
// with stable host-port pairs; the incremental placer gives exactly what a cold run gives.
import { describe, expect, it } from "vitest";
import type { AppSpec, Config, NodeSpec } from "../../core/config/model.js";
import { Evaluator } from "../../core/evaluate.js";
import { allocatePorts, appRequest, buildNodeTable, Placer, placeAll } from "../../core/placement/index.js";
import { parseMemory } from "../../core/placement/resources.js";
import { app, config, domain, loaded, node, workers } from "./builders.js";

/** workload id → node of a config evaluated from scratch. */
function locations(cfg: Config): Map<string, string> {
  const ev = new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: "c".repeat(40) });
  expect(ev.diagnostics).toEqual([]);
  const out = new Map<string, string>();
  for (const [n, doc] of ev.desired) for (const w of doc.workloads) out.set(w.id, n);
  return out;
}

function moved(a: Map<string, string>, b: Map<string, string>): { id: string; from: string; to?: string }[] {
  return [...a].filter(([id, n]) => b.get(id) !== n).map(([id, from]) => ({ id, from, to: b.get(id) }));
}

function manyApps(n: number, extra: Partial<AppSpec> = {}): AppSpec[] {
  return Array.from({ length: n }, (_, i) => app({ name: `app-${i}`, replicas: 1 + (i % 3), ...extra }));
}

/** A deterministic shuffle (LCG), so a failure is reproducible. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("determinism", () => {
  it("gives byte-identical documents whatever the order of files and documents", () => {
    const nodes = [
      ...workers(12, { capacity: { cpu: 8, memory: "16Gi" } }),
      node({ name: "edge", roles: ["proxy"] }),
    ];
    const apps = manyApps(60, { port: 8080, resources: { cpu: 0.25, memory: "256Mi" } });
    const domains = apps.slice(0, 20).map((a) => domain({ host: `${a.name}.example.com`, app: a.name }));
    const docs = (cfg: Config) =>
      JSON.stringify([
        ...new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: "a".repeat(40) }).desired,
      ]);
    const reference = docs(config({ apps, nodes, domains }));
    for (const seed of [1, 2, 3]) {
      const cfg = config({
        apps: shuffled(apps, seed),
        nodes: shuffled(nodes, seed + 7),
        domains: shuffled(domains, seed + 13),
      });
      cfg.apps.forEach((e, i) => {
        e.origin = { file: `all-${seed}.yaml`, index: i };
      });
      expect(docs(cfg)).toBe(reference);
    }
  });
});

describe("stability", () => {
  const nodes = workers(100, { capacity: { cpu: 64, memory: "64Gi" } });
  const apps = manyApps(600, { resources: { cpu: 0.1, memory: "64Mi" } });
  const base = locations(config({ apps, nodes }));

  it("adding one node to 100 moves about 1/101 of the replicas, all onto the new node", () => {
    const after = locations(
      config({ apps, nodes: [...nodes, node({ name: "node-new", capacity: { cpu: 64, memory: "64Gi" } })] }),
    );
    const m = moved(base, after);
    expect(m.every((x) => x.to === "node-new")).toBe(true);
    expect(m.length).toBeGreaterThan(0);
    expect(m.length).toBeLessThanOrEqual(Math.ceil((base.size / 101) * 1.6));
  });

  for (const victim of ["node-003", "node-050", "node-099"]) {
    it(`removing ${victim} moves only the replicas it had`, () => {
      const had = [...base]
        .filter(([, n]) => n === victim)
        .map(([id]) => id)
        .sort();
      const after = locations(config({ apps, nodes: nodes.filter((n) => n.name !== victim) }));
      expect(
        moved(base, after)
          .map((x) => x.id)
          .sort(),
      ).toEqual(had);
    });

    it(`cordoning ${victim} moves only the replicas it had`, () => {
      const had = [...base]
        .filter(([, n]) => n === victim)
        .map(([id]) => id)
        .sort();
      const after = locations(
        config({ apps, nodes: nodes.map((n) => (n.name === victim ? { ...n, cordon: true } : n)) }),
      );
      const m = moved(base, after);
      expect(m.map((x) => x.id).sort()).toEqual(had);
      expect(m.every((x) => x.to !== victim)).toBe(true);
    });
  }

  it("weights nodes by capacity: a node twice as big gets about twice the replicas", () => {
    const mixed = [
      ...workers(20, { capacity: { cpu: 8 } }),
      ...workers(20, { capacity: { cpu: 16 } }).map((n) => ({ ...n, name: `big-${n.name}` })),
    ];
    const loc = locations(config({ apps: manyApps(2000), nodes: mixed }));
    let small = 0;
    let big = 0;
    for (const n of loc.values()) n.startsWith("big-") ? big++ : small++;
    expect(big / small).toBeGreaterThan(1.6);
    expect(big / small).toBeLessThan(2.5);
  });
});

describe("eligibility and spreading", () => {
  it("spreads replicas over distinct nodes first, then wraps around", () => {
    const loc = locations(config({ apps: [app({ name: "web", replicas: 5 })], nodes: workers(3) }));
    const perNode = new Map<string, number>();
    for (const n of loc.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([1, 2, 2]);
    const three = locations(config({ apps: [app({ name: "web", replicas: 3 })], nodes: workers(5) }));
    expect(new Set(three.values()).size).toBe(3);
  });

  it("honours placement.nodes, placement.labels, runtime, cordon and roles", () => {
    const nodes = [
      node({ name: "eu-1", labels: { zone: "eu" } }),
      node({ name: "eu-2", labels: { zone: "eu" }, cordon: true }),
      node({ name: "us-1", labels: { zone: "us" } }),
      node({ name: "proc-1", runtime: "process" }),
      node({ name: "proxy-1", roles: ["proxy"] }),
    ];
    const loc = locations(
      config({
        nodes,
        apps: [
          app({ name: "eu", replicas: 3, placement: { labels: { zone: "eu" } } }),
          app({ name: "pinned", replicas: 2, placement: { nodes: ["us-1"] } }),
          app({ name: "script", command: ["node", "s.js"], replicas: 2 }),
          app({ name: "any", replicas: 4 }),
        ],
      }),
    );
    expect(["eu-0", "eu-1", "eu-2"].map((id) => loc.get(id))).toEqual(["eu-1", "eu-1", "eu-1"]);
    expect([loc.get("pinned-0"), loc.get("pinned-1")]).toEqual(["us-1", "us-1"]);
    expect([loc.get("script-0"), loc.get("script-1")]).toEqual(["proc-1", "proc-1"]);
    for (let r = 0; r < 4; r++) expect(["eu-1", "us-1"]).toContain(loc.get(`any-${r}`));
  });

  it("never puts more on a node than its capacity", () => {
    const nodes = workers(6, { capacity: { cpu: 2, memory: "2Gi" } });
    const apps = manyApps(30, { resources: { cpu: 0.25, memory: "256Mi" } }).map((a, i) => ({
      ...a,
      replicas: 1 + (i % 2),
    }));
    const cfg = config({ apps, nodes });
    const ev = new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: "x" });
    expect(ev.valid).toBe(true);
    for (const doc of ev.desired.values()) {
      expect(doc.workloads.length * 0.25).toBeLessThanOrEqual(2);
      expect(doc.workloads.length * parseMemory("256Mi")).toBeLessThanOrEqual(parseMemory("2Gi"));
    }
  });
});

describe("infeasible placement", () => {
  const diagnose = (cfg: Config) => new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: "x" });

  it("names the app, how many fit and which resource is short", () => {
    const ev = diagnose(
      config({
        apps: [app({ name: "big", replicas: 3, resources: { cpu: 3 } })],
        nodes: workers(2, { capacity: { cpu: 4 } }),
      }),
    );
    expect(ev.valid).toBe(false);
    expect(ev.desired.size).toBe(0);
    expect(ev.diagnostics).toEqual([
      {
        file: "apps/big.yaml",
        line: 1,
        col: 1,
        rule: "placement",
        message:
          'app "big" needs 3 replicas but only 2 fit: not enough cpu on all 2 eligible nodes (needs 3, at most 1 free); add capacity, relax placement, or lower replicas or resources',
      },
    ]);
  });

  it("explains why no node is eligible", () => {
    const ev = diagnose(
      config({
        apps: [app({ name: "web", placement: { labels: { zone: "eu" } } })],
        nodes: [
          node({ name: "a", cordon: true, labels: { zone: "eu" } }),
          node({ name: "b" }),
          node({ name: "p", runtime: "process" }),
        ],
      }),
    );
    expect(ev.diagnostics.map((d) => d.message)).toEqual([
      'app "web" needs 1 replica but none fits: no node may run it (cordoned: a; labels do not match zone=eu: b; runtime process (an image needs podman or docker): p); change the app\'s placement or the nodes',
    ]);
  });

  it("reports a full port range", () => {
    const ev = diagnose(
      config({
        apps: [app({ name: "web", replicas: 3 })],
        nodes: [node({ name: "a", portRange: [20000, 20003] })],
      }),
    );
    expect(ev.diagnostics[0]?.message).toContain(
      'app "web" needs 3 replicas but only 2 fit: portRange full on all 1 eligible node',
    );
  });
});

describe("host ports", () => {
  it("hands out pairs inside the range, distinct per node", () => {
    const ports = allocatePorts(
      Array.from({ length: 50 }, (_, i) => `w-${i}`),
      30000,
      50,
    );
    expect(new Set(ports).size).toBe(50);
    for (const p of ports) {
      expect((p - 30000) % 2).toBe(0);
      expect(p + 1).toBeLessThanOrEqual(30099);
    }
  });

  it("keeps a workload's port when other workloads come to its node", () => {
    const nodes = workers(1);
    const before = new Evaluator().evaluate(
      loaded(config({ apps: [app({ name: "web", replicas: 2 })], nodes })),
      {
        branch: "main",
        commit: "x",
      },
    );
    const after = new Evaluator().evaluate(
      loaded(config({ apps: [app({ name: "web", replicas: 2 }), ...manyApps(20)], nodes })),
      { branch: "main", commit: "x" },
    );
    const port = (ev: typeof before, id: string) =>
      [...ev.desired.values()].flatMap((d) => d.workloads).find((w) => w.id === id)?.hostPort;
    expect(port(after, "web-0")).toBe(port(before, "web-0"));
    expect(port(after, "web-1")).toBe(port(before, "web-1"));
  });
});

describe("incremental placement", () => {
  it("equals a cold run after every change of a random sequence, capacity tight", () => {
    let seed = 42;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let nodes: NodeSpec[] = workers(15, { capacity: { cpu: 4, memory: "4Gi" } });
    const apps: AppSpec[] = manyApps(80).map((a) => ({
      ...a,
      resources: { cpu: 0.25 + (a.name.length % 3) * 0.25, memory: "256Mi" },
    }));
    const placer = new Placer();
    let shortfalls = 0;
    let reused = 0;
    for (let step = 0; step < 60; step++) {
      const pick = Math.floor(rand() * apps.length);
      const what = rand();
      if (what < 0.4) apps[pick] = { ...apps[pick]!, replicas: Math.floor(rand() * 4) };
      else if (what < 0.6) apps[pick] = { ...apps[pick]!, resources: { cpu: Math.ceil(rand() * 4) * 0.25 } };
      else if (what < 0.7) apps.splice(pick, 1);
      else if (what < 0.8) apps.push(app({ name: `new-${step}`, replicas: 2, resources: { cpu: 0.5 } }));
      else if (what < 0.9)
        nodes = nodes.map((n, i) => (i === step % nodes.length ? { ...n, cordon: !n.cordon } : n));
      else apps[pick] = { ...apps[pick]!, image: `img:${step}` };
      const sorted = [...apps].sort((a, b) => (a.name < b.name ? -1 : 1)).map(appRequest);
      const table = buildNodeTable(nodes);
      const warm = placer.place(table, sorted);
      const cold = placeAll(table, sorted);
      expect([...warm.byApp].map(([k, v]) => [k, v.nodes, v.shortfall])).toEqual(
        [...cold.byApp].map(([k, v]) => [k, v.nodes, v.shortfall]),
      );
      if ([...cold.byApp.values()].some((p) => p.shortfall)) shortfalls++;
      if (warm.recomputed < sorted.length) reused++;
    }
    // The sequence really exercised full nodes and reuse.
    expect(shortfalls).toBeGreaterThan(5);
    expect(reused).toBeGreaterThan(5);
  });

  it("recomputes only the changed app when nothing is tight", () => {
    const nodes = workers(50, { capacity: { cpu: 64 } });
    const apps = manyApps(500, { resources: { cpu: 0.1 } }).map(appRequest);
    const placer = new Placer();
    const table = buildNodeTable(nodes);
    expect(placer.place(table, apps).recomputed).toBe(500);
    const changed = [...apps];
    changed[10] = appRequest(app({ name: "app-10", replicas: 3, resources: { cpu: 0.1 } }));
    const again = placer.place(table, changed);
    // The changed app plus the few apps that looked at the nodes it now also uses.
    expect(again.recomputed).toBeLessThan(60);
  });
});
