// Builds one desired-state document per node from a placement: workloads with host ports, the
// routes of proxy nodes, and the node hash (canonical JSON of {workloads, routes}, not source).
//
// A DesiredBuilder remembers its last run and redoes only what changed: nodes whose set of
// replicas changed get new ports, nodes whose apps changed get new workloads, routes whose app
// moved get new upstreams, and only those nodes are hashed again. Objects that did not change
// are the same objects as last time (views and plans compare them by identity first). The
// output never depends on what was remembered. Pure: no I/O.
import { createHash } from "node:crypto";
import type { DesiredState, Route, Workload } from "../../schema/index.js";
import { canonicalJson, keyOf } from "../canonical-json.js";
import type { AppSpec, Config, DomainSpec } from "../config/model.js";
import { type AppPlacement, allocatePorts, type PlacementResult } from "../placement/index.js";
import { compareDomains, routeOf, upstreamOf } from "./routes.js";
import { type AppParts, appParts, workloadWithJson } from "./workload.js";

export interface Source {
  branch: string;
  commit: string;
}

interface AppState {
  spec: AppSpec;
  /** appParts(spec), made when a replica of this spec is first built. */
  parts?: AppParts;
  placement: AppPlacement;
  /** hostPort of each replica. */
  hostPorts: number[];
  seen: number;
}

interface NodeState {
  members: Set<string>;
  workloads: Workload[];
  /** Canonical JSON of each workload, same order. */
  json: string[];
  routes: Route[];
  hash: string;
  doc?: DesiredState;
}

interface CachedRoute {
  domain: DomainSpec;
  route: Route;
  json: string;
}

interface CachedWorkload {
  spec: AppSpec;
  workload: Workload;
  json: string;
}

/** Shared by every non-proxy node. */
const NO_ROUTES: Route[] = [];

export class DesiredBuilder {
  private tableKey: string | undefined;
  private apps = new Map<string, AppState>();
  private nodes: NodeState[] = [];
  private routes = new Map<string, CachedRoute>();
  private routeList: Route[] = NO_ROUTES;
  private workloads = new Map<string, CachedWorkload>();
  private routesJson = "[]";
  private generation = 0;

  /** Documents for every node of the placement's table, in node-name order. */
  build(
    config: Config,
    apps: readonly AppSpec[],
    placement: PlacementResult,
    source: Source,
  ): Map<string, DesiredState> {
    const { table } = placement;
    if (table.key !== this.tableKey) this.reset(table.key, table.nodes.length);
    const gen = ++this.generation;

    // 1. Apps whose spec or placement changed, and the nodes they were or are on.
    const changedApps = new Set<string>();
    const touched = new Set<number>();
    for (const app of apps) {
      const placed = placement.byApp.get(app.name) as AppPlacement;
      const st = this.apps.get(app.name);
      if (st && samePlacement(st.placement, placed)) {
        st.seen = gen;
        st.placement = placed;
        if (st.spec === app || keyOf(st.spec) === keyOf(app)) {
          st.spec = app;
          continue;
        }
        st.spec = app;
        st.parts = undefined;
        changedApps.add(app.name);
        for (const i of placed.nodes) touched.add(i);
        continue;
      }
      if (st) this.leave(app.name, st.placement, touched);
      this.apps.set(app.name, { spec: app, placement: placed, hostPorts: [], seen: gen });
      changedApps.add(app.name);
      for (const i of placed.nodes) {
        touched.add(i);
        this.nodes[i]!.members.add(app.name);
      }
    }
    for (const [name, st] of this.apps) {
      if (st.seen === gen) continue;
      this.leave(name, st.placement, touched);
      this.apps.delete(name);
      changedApps.add(name);
    }

    // 2. Ports and workloads of the touched nodes.
    const portsMoved = new Set<string>();
    for (const i of touched)
      this.rebuildNode(
        i,
        table.nodes[i]!.runtime,
        table.nodes[i]!.portLow,
        table.nodes[i]!.slots,
        portsMoved,
      );

    // 3. Routes: only those whose domain changed or whose app moved are rebuilt.
    const routesChanged = this.rebuildRoutes(config.domains, placement, changedApps, portsMoved);
    if (routesChanged) {
      this.routesJson = `[${this.routeList.map((r) => (this.routes.get(`${r.host}|${r.path}`) as CachedRoute).json).join(",")}]`;
    }

    // 4. Hash the nodes that changed (every proxy when routes changed) and assemble documents.
    let proxyPrefix: ReturnType<typeof createHash> | undefined;
    const out = new Map<string, DesiredState>();
    for (let i = 0; i < table.nodes.length; i++) {
      const node = table.nodes[i]!;
      const st = this.nodes[i]!;
      const routes = node.proxy ? this.routeList : NO_ROUTES;
      if (touched.has(i) || st.routes !== routes || st.hash === "") {
        let h: ReturnType<typeof createHash>;
        if (node.proxy) {
          // Every proxy node has the same routes: hash that prefix once and copy the hash state.
          proxyPrefix ??= createHash("sha256").update(`{"routes":${this.routesJson},"workloads":[`);
          h = proxyPrefix.copy();
        } else {
          h = createHash("sha256").update(`{"routes":[],"workloads":[`);
        }
        // One update per node: each call converts its string, so joining first is much cheaper.
        h.update(`${st.json.join(",")}]}`);
        const hash = `sha256:${h.digest("hex")}`;
        if (hash !== st.hash) st.doc = undefined;
        st.hash = hash;
        st.routes = routes;
      }
      if (!st.doc || st.doc.source.branch !== source.branch || st.doc.source.commit !== source.commit) {
        st.doc = {
          apiVersion: "berth/v1",
          node: node.name,
          source: { branch: source.branch, commit: source.commit },
          hash: st.hash,
          workloads: st.workloads,
          routes,
        };
      }
      out.set(node.name, st.doc);
    }
    this.pruneWorkloads();
    return out;
  }

  /** Forgets workloads of removed apps and replicas once they outnumber the live ones. */
  private pruneWorkloads(): void {
    let live = 0;
    for (const st of this.nodes) live += st.workloads.length;
    if (this.workloads.size <= 2 * live + 64) return;
    const keep = new Set<string>();
    for (const st of this.nodes) for (const w of st.workloads) keep.add(w.id);
    for (const id of this.workloads.keys()) if (!keep.has(id)) this.workloads.delete(id);
  }

  private reset(tableKey: string, n: number): void {
    this.tableKey = tableKey;
    this.apps.clear();
    this.routes.clear();
    this.routeList = NO_ROUTES;
    this.workloads.clear();
    this.nodes = Array.from({ length: n }, () => ({
      members: new Set(),
      workloads: [],
      json: [],
      routes: NO_ROUTES,
      hash: "",
    }));
  }

  private leave(app: string, placement: AppPlacement, touched: Set<number>): void {
    for (const i of placement.nodes) {
      touched.add(i);
      this.nodes[i]!.members.delete(app);
    }
  }

  /** New ports and workloads for node `i`; records apps whose host ports moved. */
  private rebuildNode(
    i: number,
    runtime: Workload["runtime"],
    portLow: number,
    slots: number,
    portsMoved: Set<string>,
  ): void {
    const st = this.nodes[i]!;
    const entries: { app: AppState; replica: number }[] = [];
    for (const name of [...st.members].sort()) {
      const app = this.apps.get(name) as AppState;
      app.placement.nodes.forEach((n, replica) => {
        if (n === i) entries.push({ app, replica });
      });
    }
    const ports = allocatePorts(
      entries.map((e) => `${e.app.spec.name}-${e.replica}`),
      portLow,
      slots,
    );
    const workloads: Workload[] = [];
    const texts: string[] = [];
    for (let k = 0; k < entries.length; k++) {
      const { app, replica } = entries[k]!;
      const hostPort = ports[k]!;
      if (app.hostPorts[replica] !== hostPort) {
        app.hostPorts[replica] = hostPort;
        portsMoved.add(app.spec.name);
      }
      const id = `${app.spec.name}-${replica}`;
      let hit = this.workloads.get(id);
      // Reuse the workload object when nothing it is made of changed (specs are compared by key).
      if (
        !hit ||
        hit.workload.hostPort !== hostPort ||
        hit.workload.runtime !== runtime ||
        (hit.spec !== app.spec && keyOf(hit.spec) !== keyOf(app.spec))
      ) {
        app.parts ??= appParts(app.spec);
        const built = workloadWithJson(app.spec, app.parts, replica, runtime, hostPort);
        hit = { spec: app.spec, workload: built.workload, json: built.json };
        this.workloads.set(id, hit);
      }
      workloads.push(hit.workload);
      texts.push(hit.json);
    }
    st.workloads = workloads;
    st.json = texts;
  }

  /** Rebuilds this.routeList when a route changed; returns whether it did. */
  private rebuildRoutes(
    domains: Config["domains"],
    placement: PlacementResult,
    changedApps: Set<string>,
    portsMoved: Set<string>,
  ): boolean {
    const sorted = sortedDomains(domains);
    const { nodes } = placement.table;
    let changed = sorted.length !== this.routeList.length;
    const list: Route[] = [];
    const live = new Set<string>();
    for (const domain of sorted) {
      const id = `${domain.host}|${domain.path}`;
      live.add(id);
      let hit = this.routes.get(id);
      const stale =
        !hit ||
        changedApps.has(domain.app) ||
        portsMoved.has(domain.app) ||
        (hit.domain !== domain && keyOf(hit.domain) !== keyOf(domain));
      if (stale) {
        const app = this.apps.get(domain.app);
        const upstreams = app
          ? app.placement.nodes.map((n, r) => upstreamOf(nodes[n]!.address, app.hostPorts[r]!))
          : [];
        const route = routeOf(domain, upstreams);
        const text = canonicalJson(route);
        // Same content keeps the same object, so unchanged proxies are recognised by identity.
        hit =
          hit && hit.json === text ? { domain, route: hit.route, json: text } : { domain, route, json: text };
        this.routes.set(id, hit);
      } else if (hit) {
        hit.domain = domain;
      }
      const route = (hit as CachedRoute).route;
      if (this.routeList[list.length] !== route) changed = true;
      list.push(route);
    }
    if (this.routes.size > live.size)
      for (const id of this.routes.keys()) if (!live.has(id)) this.routes.delete(id);
    if (changed) this.routeList = list;
    return changed;
  }
}

function samePlacement(a: AppPlacement, b: AppPlacement): boolean {
  if (a === b) return true;
  if (a.nodes.length !== b.nodes.length) return false;
  for (let k = 0; k < a.nodes.length; k++) if (a.nodes[k] !== b.nodes[k]) return false;
  return true;
}

function sortedDomains(domains: Config["domains"]): DomainSpec[] {
  const list = domains.map((d) => d.spec);
  for (let k = 1; k < list.length; k++) {
    if (compareDomains(list[k - 1]!, list[k]!) > 0) return list.sort(compareDomains);
  }
  return list;
}
