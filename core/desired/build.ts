// Builds one desired-state document per node from a placement: workloads with host ports, the
// routes of proxy nodes, and the node hash (canonical JSON of {routes, upstreamAddress, workloads},
// not source).
//
// A DesiredBuilder remembers its last run and redoes only what changed: nodes whose set of
// replicas changed get new ports, nodes whose apps changed get new workloads, routes whose app
// moved get new upstreams, and only those nodes are hashed again. Objects that did not change
// are the same objects as last time (views and plans compare them by identity first). The
// output never depends on what was remembered. Pure: no I/O.
//
// A document's workloads and hash are made when first read (content.ts): placement, ports and
// routes are decided up front, but the 20,000 workloads of a large repo, their JSON and hashes
// wait until someone looks. A plan between two commits looks only at the nodes whose content
// differs (sameContent), so a cold plan builds the few nodes that changed, not all of them;
// publishing reads every document and so builds them all, as before.
import { createHash } from "node:crypto";
import type { DesiredState, Route, Workload } from "../../schema/index.js";
import { canonicalJson, keyOf } from "../canonical-json.js";
import type { AppSpec, Config, DomainSpec } from "../config/model.js";
import { type AppPlacement, allocatePorts, type PlacementResult } from "../placement/index.js";
import { lazyDocument, NO_ROUTES, type NodeContent, type RouteSet } from "./content.js";
import { compareDomains, routeOf, upstreamOf } from "./routes.js";
import { type AppParts, appParts, workloadWithJson } from "./workload.js";

export interface Source {
  branch: string;
  commit: string;
}

interface AppState {
  spec: AppSpec;
  placement: AppPlacement;
  /** hostPort of each replica. */
  hostPorts: number[];
  seen: number;
}

interface NodeState {
  members: Set<string>;
  /** What the node's document is made of; a new object whenever that changes. */
  content: NodeContent | undefined;
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

export class DesiredBuilder {
  private tableKey: string | undefined;
  private apps = new Map<string, AppState>();
  private nodes: NodeState[] = [];
  private routes = new Map<string, CachedRoute>();
  private routeSet: RouteSet = NO_ROUTES;
  private workloads = new Map<string, CachedWorkload>();
  private parts = new WeakMap<AppSpec, AppParts>();
  private generation = 0;
  private readonly make = (content: NodeContent) => this.makeWorkloads(content);

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

    // 2. Ports of the touched nodes' replicas.
    const portsMoved = new Set<string>();
    const entries = new Map<number, NodeContent["entries"]>();
    for (const i of touched)
      entries.set(i, this.placeReplicas(i, table.nodes[i]!.portLow, table.nodes[i]!.slots, portsMoved));

    // 3. Routes: only those whose domain changed or whose app moved are rebuilt.
    this.rebuildRoutes(config.domains, placement, changedApps, portsMoved);

    // 4. New content for the nodes that changed (every proxy when routes changed); documents.
    const out = new Map<string, DesiredState>();
    for (let i = 0; i < table.nodes.length; i++) {
      const node = table.nodes[i]!;
      const st = this.nodes[i]!;
      const routes = node.proxy ? this.routeSet : NO_ROUTES;
      const placed = entries.get(i);
      if (placed || !st.content || st.content.routes !== routes) {
        st.content = {
          runtime: node.runtime,
          address: node.address,
          entries: placed ?? st.content?.entries ?? [],
          routes,
        };
        st.doc = undefined;
      }
      if (!st.doc || st.doc.source.branch !== source.branch || st.doc.source.commit !== source.commit) {
        st.doc = lazyDocument(node.name, source, st.content, this.make);
      }
      out.set(node.name, st.doc);
    }
    this.pruneWorkloads();
    return out;
  }

  /** The workloads of `content` and the node hash, made once per content object. */
  private makeWorkloads(content: NodeContent): { workloads: Workload[]; hash: string } {
    const workloads: Workload[] = [];
    const texts: string[] = [];
    const { runtime } = content;
    for (const { spec, replica, hostPort } of content.entries) {
      const id = `${spec.name}-${replica}`;
      let hit = this.workloads.get(id);
      // Reuse the workload object when nothing it is made of changed (specs are compared by key).
      if (
        !hit ||
        hit.workload.hostPort !== hostPort ||
        hit.workload.runtime !== runtime ||
        (hit.spec !== spec && keyOf(hit.spec) !== keyOf(spec))
      ) {
        let parts = this.parts.get(spec);
        if (!parts) {
          parts = appParts(spec);
          this.parts.set(spec, parts);
        }
        const built = workloadWithJson(spec, parts, replica, runtime, hostPort);
        hit = { spec, workload: built.workload, json: built.json };
        this.workloads.set(id, hit);
      }
      workloads.push(hit.workload);
      texts.push(hit.json);
    }
    const { routes } = content;
    let h: ReturnType<typeof createHash>;
    if (routes.list.length > 0) {
      // Every proxy node has the same routes: hash that prefix once and copy the hash state.
      // (Canonical key order: routes, upstreamAddress, workloads — the shared part comes first.)
      routes.prefix ??= createHash("sha256").update(`{"routes":${routes.json},`);
      h = routes.prefix.copy();
    } else {
      h = createHash("sha256").update(`{"routes":[],`);
    }
    h.update(`"upstreamAddress":${JSON.stringify(content.address)},"workloads":[`);
    // One update per node: each call converts its string, so joining first is much cheaper.
    h.update(`${texts.join(",")}]}`);
    return { workloads, hash: `sha256:${h.digest("hex")}` };
  }

  /** Forgets workloads of removed apps and replicas once they outnumber the live ones. */
  private pruneWorkloads(): void {
    let live = 0;
    for (const st of this.nodes) live += st.content?.entries.length ?? 0;
    if (this.workloads.size <= 2 * live + 64) return;
    const keep = new Set<string>();
    for (const st of this.nodes)
      for (const e of st.content?.entries ?? []) keep.add(`${e.spec.name}-${e.replica}`);
    for (const id of this.workloads.keys()) if (!keep.has(id)) this.workloads.delete(id);
  }

  private reset(tableKey: string, n: number): void {
    this.tableKey = tableKey;
    this.apps.clear();
    this.routes.clear();
    this.routeSet = NO_ROUTES;
    this.workloads.clear();
    this.nodes = Array.from({ length: n }, () => ({ members: new Set(), content: undefined }));
  }

  private leave(app: string, placement: AppPlacement, touched: Set<number>): void {
    for (const i of placement.nodes) {
      touched.add(i);
      this.nodes[i]!.members.delete(app);
    }
  }

  /** The replicas on node `i` in canonical order with their host ports; records apps whose ports moved. */
  private placeReplicas(
    i: number,
    portLow: number,
    slots: number,
    portsMoved: Set<string>,
  ): NodeContent["entries"] {
    const st = this.nodes[i]!;
    const on: { app: AppState; replica: number }[] = [];
    for (const name of [...st.members].sort()) {
      const app = this.apps.get(name) as AppState;
      app.placement.nodes.forEach((n, replica) => {
        if (n === i) on.push({ app, replica });
      });
    }
    const ports = allocatePorts(
      on.map((e) => `${e.app.spec.name}-${e.replica}`),
      portLow,
      slots,
    );
    return on.map(({ app, replica }, k) => {
      const hostPort = ports[k]!;
      if (app.hostPorts[replica] !== hostPort) {
        app.hostPorts[replica] = hostPort;
        portsMoved.add(app.spec.name);
      }
      return { spec: app.spec, replica, hostPort };
    });
  }

  /** Makes a new this.routeSet when a route changed. */
  private rebuildRoutes(
    domains: Config["domains"],
    placement: PlacementResult,
    changedApps: Set<string>,
    portsMoved: Set<string>,
  ): void {
    const sorted = sortedDomains(domains);
    const { nodes } = placement.table;
    const current = this.routeSet.list;
    let changed = sorted.length !== current.length;
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
        const route = routeOf(domain, upstreams, app?.spec);
        const text = canonicalJson(route);
        // Same content keeps the same object, so unchanged proxies are recognised by identity.
        hit =
          hit && hit.json === text ? { domain, route: hit.route, json: text } : { domain, route, json: text };
        this.routes.set(id, hit);
      } else if (hit) {
        hit.domain = domain;
      }
      const route = (hit as CachedRoute).route;
      if (current[list.length] !== route) changed = true;
      list.push(route);
    }
    if (this.routes.size > live.size)
      for (const id of this.routes.keys()) if (!live.has(id)) this.routes.delete(id);
    if (changed) {
      const json = `[${list.map((r) => (this.routes.get(`${r.host}|${r.path}`) as CachedRoute).json).join(",")}]`;
      this.routeSet = list.length === 0 ? NO_ROUTES : { list, json };
    }
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
