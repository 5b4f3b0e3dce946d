// applyHandoffs as a table: published documents + the commit's documents + facts → the documents
// of the next generation, what it waits for, and the notes that say why.
import { describe, expect, it } from "vitest";
import { documentHash } from "../../agent/core/document.js";
import {
  applyHandoffs,
  type Handoff,
  type HandoffFacts,
  type HandoffInput,
  type WorkloadFact,
} from "../../core/handoff/index.js";
import type { DesiredState, Route, Workload } from "../../schema/index.js";

const addresses = new Map([
  ["w1", "10.0.0.1"],
  ["w2", "10.0.0.2"],
  ["w3", "10.0.0.3"],
  ["p1", "10.0.0.9"],
]);

function wl(id: string, hostPort: number, over: Partial<Workload> = {}): Workload {
  const [app, replica] = [id.replace(/-\d+$/, ""), Number(id.replace(/^.*-/, ""))];
  return {
    id,
    app,
    replica,
    runtime: "process",
    command: ["app"],
    env: {},
    port: 8080,
    hostPort,
    health: {
      path: "/healthz",
      intervalSeconds: 1,
      timeoutSeconds: 1,
      startPeriodSeconds: 5,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    },
    volumes: [],
    strategy: "start-first",
    specHash: `sha256:${id}-${hostPort}`,
    ...over,
  };
}

function doc(node: string, workloads: Workload[], routes: Route[] = []): DesiredState {
  const upstreamAddress = addresses.get(node) as string;
  return {
    apiVersion: "berth/v1",
    node,
    upstreamAddress,
    source: { branch: "main", commit: "c".repeat(40) },
    hash: documentHash({ workloads, routes, upstreamAddress }),
    workloads,
    routes,
  };
}

const route = (...upstreams: string[]): Route => ({ host: "web.test", path: "/", tls: "off", upstreams });

function state(nodes: Record<string, Workload[]>, upstreams: string[] | null): Map<string, DesiredState> {
  const m = new Map<string, DesiredState>();
  for (const [n, ws] of Object.entries(nodes)) m.set(n, doc(n, ws));
  m.set("p1", doc("p1", [], upstreams ? [route(...upstreams)] : []));
  return m;
}

const healthy = (w: Workload): WorkloadFact => ({
  specHash: w.specHash,
  state: "running",
  health: "healthy",
});

function facts(
  reports: Record<string, Workload[]>,
  opts: { routesLoaded?: string[]; lost?: string[]; failing?: Record<string, WorkloadFact> } = {},
): HandoffFacts {
  const workloads = new Map<string, Map<string, WorkloadFact>>();
  for (const [n, ws] of Object.entries(reports)) workloads.set(n, new Map(ws.map((w) => [w.id, healthy(w)])));
  for (const [key, f] of Object.entries(opts.failing ?? {})) {
    const [n, id] = key.split("/") as [string, string];
    (workloads.get(n) ?? workloads.set(n, new Map()).get(n))?.set(id, f);
  }
  return { workloads, routesLoaded: new Set(opts.routesLoaded ?? []), lost: new Set(opts.lost ?? []) };
}

const input = (
  over: Partial<HandoffInput> & Pick<HandoffInput, "target" | "published" | "facts">,
): HandoffInput => ({
  pending: [],
  addresses,
  proxies: ["p1"],
  ...over,
});

const ids = (d: DesiredState | undefined) => d?.workloads.map((w) => w.id) ?? [];
const ups = (d: DesiredState | undefined) => d?.routes[0]?.upstreams ?? [];

// web-0 runs on w1 at 20000; the commit moves it to w2 (20010 there).
const old0 = wl("web-0", 20000);
const new0 = wl("web-0", 20010, { specHash: "sha256:web-0-on-w2" });
const web1 = wl("web-1", 20002);
const before = state({ w1: [old0, web1], w2: [] }, ["10.0.0.1:20000", "10.0.0.1:20002"]);
const after = state({ w1: [web1], w2: [new0] }, ["10.0.0.2:20010", "10.0.0.1:20002"]);

describe("applyHandoffs: a start-first move", () => {
  it("1. keeps the old copy serving and routes to both while the target is not ready", () => {
    const r = applyHandoffs(input({ target: after, published: before, facts: facts({ w1: [old0, web1] }) }));
    expect(ids(r.docs.get("w1"))).toEqual(["web-0", "web-1"]);
    expect(r.docs.get("w1")?.workloads[0]).toBe(old0);
    expect(ids(r.docs.get("w2"))).toEqual(["web-0"]);
    expect(ups(r.docs.get("p1"))).toEqual(["10.0.0.2:20010", "10.0.0.1:20002", "10.0.0.1:20000"]);
    expect(r.handoffs).toEqual([{ id: "web-0", app: "web", node: "w1", to: "w2", phase: "starting" }]);
    expect(r.notes).toEqual([
      expect.objectContaining({
        event: "started",
        message: "move web-0 w1 → w2: web-0 keeps serving on w1 until w2 runs it healthy",
      }),
    ]);
    // Every document's hash is over what it holds, as agents check.
    for (const d of r.docs.values()) expect(d.hash).toBe(documentHash(d));
  });

  const starting: Handoff[] = [{ id: "web-0", app: "web", node: "w1", to: "w2", phase: "starting" }];
  const gen2 = applyHandoffs(
    input({ target: after, published: before, facts: facts({ w1: [old0, web1] }) }),
  ).docs;

  it("2. says why it still waits: the target's own report", () => {
    const f = facts(
      { w1: [old0, web1] },
      {
        failing: {
          "w2/web-0": {
            specHash: new0.specHash,
            state: "failed",
            health: "unhealthy",
            lastError: "never became healthy",
          },
        },
      },
    );
    const r = applyHandoffs(input({ target: after, published: gen2, pending: starting, facts: f }));
    expect(r.docs.get("w1")).toEqual(gen2.get("w1"));
    expect(r.docs.get("p1")).toEqual(gen2.get("p1"));
    expect(r.notes[0]?.event).toBe("waiting");
    expect(r.notes[0]?.message).toBe(
      "move web-0 w1 → w2: web-0 keeps serving on w1; w2 reports it failed, unhealthy: never became healthy",
    );
  });

  it("3. once the target runs it healthy, unroutes the old copy but keeps it running", () => {
    const r = applyHandoffs(
      input({
        target: after,
        published: gen2,
        pending: starting,
        facts: facts({ w1: [old0, web1], w2: [new0] }),
      }),
    );
    expect(ids(r.docs.get("w1"))).toEqual(["web-0", "web-1"]);
    expect(ups(r.docs.get("p1"))).toEqual(["10.0.0.2:20010", "10.0.0.1:20002"]);
    expect(r.handoffs).toEqual([{ id: "web-0", app: "web", node: "w1", to: "w2", phase: "draining" }]);
    expect(r.notes[0]).toMatchObject({ event: "unrouted" });
    expect(r.notes[0]?.message).toMatch(/^handoff: web-0 w1 → w2 completed \(w2 runs it healthy\)/);
  });

  const draining: Handoff[] = [{ id: "web-0", app: "web", node: "w1", to: "w2", phase: "draining" }];
  const gen3 = applyHandoffs(
    input({
      target: after,
      published: gen2,
      pending: starting,
      facts: facts({ w1: [old0, web1], w2: [new0] }),
    }),
  ).docs;

  it("4. waits for every proxy to load the routes without it, naming those it waits for", () => {
    const r = applyHandoffs(
      input({ target: after, published: gen3, pending: draining, facts: facts({ w2: [new0] }) }),
    );
    expect(ids(r.docs.get("w1"))).toEqual(["web-0", "web-1"]);
    expect(r.notes[0]?.message).toBe("web-0 stays on w1 until p1 loads routes without it");
  });

  it("5. then drops it: the documents are the commit's own", () => {
    const r = applyHandoffs(
      input({
        target: after,
        published: gen3,
        pending: draining,
        facts: facts({ w2: [new0] }, { routesLoaded: ["p1"] }),
      }),
    );
    for (const [n, d] of after) expect(r.docs.get(n)).toBe(d);
    expect(r.handoffs).toEqual([]);
    expect(r.notes[0]).toMatchObject({
      event: "completed",
      message: "web-0 stops on w1: every proxy loaded routes without it",
    });
  });

  it("6. does not wait for a lost proxy", () => {
    const r = applyHandoffs(
      input({ target: after, published: gen3, pending: draining, facts: facts({}, { lost: ["p1"] }) }),
    );
    expect(r.handoffs).toEqual([]);
  });

  it("7. keeps waiting while the target is lost, and says so", () => {
    const r = applyHandoffs(
      input({
        target: after,
        published: gen2,
        pending: starting,
        facts: facts({ w1: [old0], w2: [new0] }, { lost: ["w2"] }),
      }),
    );
    expect(r.handoffs[0]?.phase).toBe("starting");
    expect(r.notes[0]?.message).toBe("move web-0 w1 → w2: web-0 keeps serving on w1; w2 is lost");
  });

  it("8. gives the same documents for the same commit, published state and facts, whatever the map order", () => {
    const f = facts({ w1: [old0, web1] });
    const a = applyHandoffs(input({ target: after, published: before, facts: f }));
    const b = applyHandoffs(
      input({ target: new Map([...after].reverse()), published: new Map([...before].reverse()), facts: f }),
    );
    expect([...b.docs].sort()).toEqual([...a.docs].sort());
    expect(b.notes).toEqual(a.notes);
  });
});

describe("applyHandoffs: what is not handed off", () => {
  it("a stop-first app moves at once", () => {
    const sf0 = { ...old0, strategy: "stop-first" as const };
    const sfNew = { ...new0, strategy: "stop-first" as const };
    const pub = state({ w1: [sf0], w2: [] }, ["10.0.0.1:20000"]);
    const tgt = state({ w1: [], w2: [sfNew] }, ["10.0.0.2:20010"]);
    const r = applyHandoffs(input({ target: tgt, published: pub, facts: facts({ w1: [sf0] }) }));
    expect(ids(r.docs.get("w1"))).toEqual([]);
    expect(r.handoffs).toEqual([]);
    expect(r.notes).toEqual([]);
  });

  it("a copy that is not serving is not waited for", () => {
    const r = applyHandoffs(input({ target: after, published: before, facts: facts({}) }));
    expect(ids(r.docs.get("w1"))).toEqual(["web-1"]);
    expect(r.notes[0]).toMatchObject({ event: "skipped" });
    expect(r.notes[0]?.message).toBe(
      "move web-0 w1 → w2: web-0 is not serving on w1 (w1 does not report it running healthy), nothing to wait for",
    );
  });

  it("a lost node's document keeps its copies, unrouted, until it is back; then they are decided again", () => {
    const lost = applyHandoffs(
      input({ target: after, published: before, facts: facts({ w1: [old0] }, { lost: ["w1"] }) }),
    );
    expect(ids(lost.docs.get("w1"))).toEqual(["web-0", "web-1"]);
    expect(ups(lost.docs.get("p1"))).toEqual(["10.0.0.2:20010", "10.0.0.1:20002"]);
    expect(lost.handoffs).toEqual([{ id: "web-0", app: "web", node: "w1", to: "w2", phase: "held" }]);
    expect(lost.notes[0]?.message).toBe(
      "w1 is lost: its document keeps web-0 until it is back (w2 runs it meanwhile)",
    );
    // Back, and w2 runs it healthy by then: w1's copy is not routed, so it stops.
    const back = applyHandoffs(
      input({
        target: after,
        published: lost.docs,
        pending: lost.handoffs,
        facts: facts({ w1: [old0], w2: [new0] }),
      }),
    );
    expect(ids(back.docs.get("w1"))).toEqual(["web-1"]);
    expect(back.notes[0]?.message).toMatch(
      /^handoff: web-0 w1 → w2 completed \(w2 runs it healthy\); web-0 stops on w1/,
    );
    // Back before w2 runs it: w1's copy serves again until then.
    const early = applyHandoffs(
      input({ target: after, published: lost.docs, pending: lost.handoffs, facts: facts({ w1: [old0] }) }),
    );
    expect(early.handoffs[0]?.phase).toBe("starting");
    expect(ups(early.docs.get("p1"))).toContain("10.0.0.1:20000");
  });

  it("a copy whose ports the commit gave to another workload stops at once", () => {
    const api0 = wl("api-0", 20000);
    const tgt = state({ w1: [api0, web1], w2: [new0] }, ["10.0.0.2:20010", "10.0.0.1:20002"]);
    const r = applyHandoffs(input({ target: tgt, published: before, facts: facts({ w1: [old0] }) }));
    expect(ids(r.docs.get("w1"))).toEqual(["api-0", "web-1"]);
    expect(r.notes[0]?.message).toBe("web-0 leaves w1 at once: its ports 20000-20001 there are now api-0's");
  });
});

describe("applyHandoffs: a routed workload that goes away drains first", () => {
  it("scale down: unrouted first, stopped once the proxies loaded that", () => {
    const tgt = state({ w1: [web1], w2: [] }, ["10.0.0.1:20002"]);
    const r1 = applyHandoffs(input({ target: tgt, published: before, facts: facts({ w1: [old0, web1] }) }));
    expect(ids(r1.docs.get("w1"))).toEqual(["web-0", "web-1"]);
    expect(ups(r1.docs.get("p1"))).toEqual(["10.0.0.1:20002"]);
    expect(r1.handoffs).toEqual([{ id: "web-0", app: "web", node: "w1", phase: "draining" }]);
    expect(r1.notes[0]?.message).toBe("web-0 leaves w1: proxies stop routing to it, then it stops");
    const r2 = applyHandoffs(
      input({
        target: tgt,
        published: r1.docs,
        pending: r1.handoffs,
        facts: facts({}, { routesLoaded: ["p1"] }),
      }),
    );
    expect(ids(r2.docs.get("w1"))).toEqual(["web-1"]);
    expect(r2.handoffs).toEqual([]);
  });

  it("an app no proxy routes to is removed at once, without a note", () => {
    const pub = state({ w1: [old0, web1] }, null);
    const tgt = state({ w1: [web1] }, null);
    const r = applyHandoffs(input({ target: tgt, published: pub, facts: facts({ w1: [old0, web1] }) }));
    expect(ids(r.docs.get("w1"))).toEqual(["web-1"]);
    expect(r.notes).toEqual([]);
  });
});
