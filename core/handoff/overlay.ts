// Start-first across nodes, and routes that change before instances stop: decides which old
// copies of workloads the next generation keeps beside what the commit places, and builds the
// documents that keep them. Pure: the same commit, published state and facts give the same
// documents and notes.
//
// A workload the commit takes off node N (moved to T, scaled down, app removed) is not dropped
// from N's document at once:
//   1. moved, start-first, T not yet running it healthy → N keeps it, proxies route to both
//      ("starting");
//   2. T runs it healthy (or nothing replaces it) → N keeps it but proxies stop routing to it
//      ("draining"): an instance is never stopped while a proxy may still send it requests;
//   3. every proxy loaded those routes → N's document drops it and its agent stops it.
// Each step is a generation; the reconciler runs the next one when a fact it waits for changes.
// Stop-first apps move at once, as before. A copy that is not serving (its node lost, or not
// healthy) is not waited for. A copy whose host ports the commit gave to another workload on N
// cannot stay and stops at once. A lost node's document keeps its copies ("held", unrouted) until
// it is back: it cannot be told anything meanwhile, and then runs what it ran (failover returns).
import type { DesiredState, Route, Workload } from "../../schema/index.js";
import { hashOf } from "../canonical-json.js";
import { sameContent, upstreamOf, workloadIdsOf } from "../desired/index.js";
import type { Handoff, HandoffInput, HandoffNote, HandoffResult } from "./types.js";

type Phase = Handoff["phase"] | "drop";

interface Decision {
  node: string;
  workload: Workload;
  phase: Phase;
  to?: string;
  /** null: an ordinary removal the plan shows anyway, nothing to say about it. */
  note: HandoffNote | null;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Upstreams every proxy route of the published documents sends to. */
function routedUpstreams(published: HandoffInput["published"]): Set<string> {
  const out = new Set<string>();
  for (const doc of published.values()) for (const r of doc.routes) for (const u of r.upstreams) out.add(u);
  return out;
}

/** Node of each workload id in the target, looked at only for nodes that changed. */
function locator(target: HandoffInput["target"]): (id: string) => string | undefined {
  let index: Map<string, string> | undefined;
  return (id) => {
    if (!index) {
      index = new Map();
      for (const [node, doc] of target) for (const w of workloadIdsOf(doc)) index.set(w, node);
    }
    return index.get(id);
  };
}

export function applyHandoffs(input: HandoffInput): HandoffResult {
  const { target, published, facts } = input;
  const pending = new Map(input.pending.map((h) => [`${h.node}|${h.id}`, h]));
  const locate = locator(target);
  const routed = routedUpstreams(published);
  const report = (node: string, id: string) => facts.workloads.get(node)?.get(id);
  const ready = (node: string, w: Workload): boolean => {
    const r = report(node, w.id);
    return (
      !facts.lost.has(node) && r?.specHash === w.specHash && r.state === "running" && r.health === "healthy"
    );
  };
  const serving = (node: string, w: Workload): boolean => {
    const r = report(node, w.id);
    return r?.state === "running" && r.health === "healthy";
  };
  const waitingProxies = input.proxies.filter((p) => !facts.lost.has(p) && !facts.routesLoaded.has(p));

  const decisions: Decision[] = [];
  for (const [node, before] of [...published].sort(([a], [b]) => byName(a, b))) {
    const after = target.get(node);
    // A node the commit removed gets no document: there is nothing to keep a copy in.
    if (!after || sameContent(before, after)) continue;
    const stays = new Set(workloadIdsOf(after));
    for (const w of before.workloads) {
      if (stays.has(w.id)) continue;
      decisions.push(decide(node, w, after));
    }
  }

  function decide(node: string, w: Workload, after: DesiredState): Decision {
    const prev = pending.get(`${node}|${w.id}`);
    const to = locate(w.id);
    const tw =
      to !== undefined ? (target.get(to) as DesiredState).workloads.find((x) => x.id === w.id) : undefined;
    const base = { id: w.id, app: w.app, node, ...(to !== undefined ? { to } : {}) };
    const mk = (phase: Phase, event: HandoffNote["event"] | null, message = ""): Decision => ({
      node,
      workload: w,
      phase,
      ...(to !== undefined ? { to } : {}),
      note: event ? { ...base, event, message } : null,
    });
    const move = to !== undefined ? `${w.id} ${node} → ${to}` : "";
    const taken = after.workloads.find((x) => Math.abs(x.hostPort - w.hostPort) <= 1);
    if (taken) {
      return mk(
        "drop",
        "skipped",
        `${w.id} leaves ${node} at once: its ports ${w.hostPort}-${w.hostPort + 1} there are now ${taken.id}'s`,
      );
    }
    if (tw && to !== undefined && tw.strategy === "stop-first") return mk("drop", null);
    if (facts.lost.has(node)) {
      // A lost node cannot be told anything: its document keeps the copy (unrouted) so that when
      // it returns it runs what it ran, and the copy is decided again then.
      const meanwhile = to !== undefined ? ` (${to} runs it meanwhile)` : "";
      return mk(
        "held",
        "waiting",
        `${node} is lost: its document keeps ${w.id} until it is back${meanwhile}`,
      );
    }
    if (prev?.phase === "draining") {
      if (waitingProxies.length === 0)
        return mk("drop", "completed", `${w.id} stops on ${node}: every proxy loaded routes without it`);
      return mk(
        "draining",
        "waiting",
        `${w.id} stays on ${node} until ${waitingProxies.join(", ")} load${waitingProxies.length === 1 ? "s" : ""} routes without it`,
      );
    }
    const upstream = upstreamOf(input.addresses.get(node) ?? "", w.hostPort);
    const isRouted = input.addresses.has(node) && routed.has(upstream);
    if (tw && to !== undefined && !ready(to, tw)) {
      if (prev?.phase !== "starting" && !serving(node, w)) {
        return mk(
          "drop",
          "skipped",
          `move ${move}: ${w.id} is not serving on ${node} (${node} does not report it running healthy), nothing to wait for`,
        );
      }
      if (prev?.phase === "starting")
        return mk("starting", "waiting", `move ${move}: ${w.id} keeps serving on ${node}; ${why(to, tw)}`);
      return mk(
        "starting",
        "started",
        `move ${move}: ${w.id} keeps serving on ${node} until ${to} runs it healthy`,
      );
    }
    if (!isRouted) {
      if (to === undefined && prev === undefined) return mk("drop", null);
      const done = to !== undefined ? `handoff: ${move} completed (${to} runs it healthy); ` : "";
      return mk("drop", "completed", `${done}${w.id} stops on ${node} (no proxy routes to it)`);
    }
    if (to !== undefined)
      return mk(
        "draining",
        "unrouted",
        `handoff: ${move} completed (${to} runs it healthy); proxies stop routing to ${node}, then it stops there`,
      );
    return mk("draining", "unrouted", `${w.id} leaves ${node}: proxies stop routing to it, then it stops`);
  }

  function why(to: string, tw: Workload): string {
    if (facts.lost.has(to)) return `${to} is lost`;
    const r = report(to, tw.id);
    if (!r) return `${to} has not reported ${tw.id} yet`;
    if (r.specHash !== tw.specHash) return `${to} has not started it yet`;
    const err = r.lastError ? `: ${r.lastError}` : "";
    return `${to} reports it ${r.state}, ${r.health}${err}`;
  }

  // Documents: the kept copies join their nodes' workloads; proxies route to the starting ones.
  const kept = new Map<string, Workload[]>();
  /** Old copy's upstream → the upstream of its replacement: it joins the routes that have that one. */
  const addUpstreams = new Map<string, string>();
  const handoffs: Handoff[] = [];
  for (const d of decisions) {
    if (d.phase === "drop") continue;
    (kept.get(d.node) ?? kept.set(d.node, []).get(d.node))?.push(d.workload);
    handoffs.push({
      id: d.workload.id,
      app: d.workload.app,
      node: d.node,
      ...(d.to !== undefined ? { to: d.to } : {}),
      phase: d.phase,
    });
    if (d.phase === "starting" && d.to !== undefined) {
      const tw = (target.get(d.to) as DesiredState).workloads.find((x) => x.id === d.workload.id) as Workload;
      addUpstreams.set(
        upstreamOf(input.addresses.get(d.node) ?? "", d.workload.hostPort),
        upstreamOf(input.addresses.get(d.to) ?? "", tw.hostPort),
      );
    }
  }
  const docs = new Map(target);
  const routesFor = amendRoutes(addUpstreams);
  for (const [node, doc] of target) {
    const extra = kept.get(node);
    const routes = doc.routes.length > 0 && routesFor ? routesFor(doc.routes) : doc.routes;
    if (!extra && routes === doc.routes) continue;
    const workloads = extra ? [...doc.workloads, ...extra].sort(byAppReplica) : doc.workloads;
    const address = doc.upstreamAddress !== undefined ? { upstreamAddress: doc.upstreamAddress } : {};
    docs.set(node, {
      apiVersion: doc.apiVersion,
      node: doc.node,
      ...address,
      source: { ...doc.source },
      // What agents check (agent/core/document.ts): over workloads, routes and upstreamAddress.
      hash: hashOf({ workloads, routes, ...address }),
      workloads,
      routes,
    });
  }
  return { docs, handoffs, notes: decisions.flatMap((d) => (d.note ? [d.note] : [])) };
}

/**
 * Adds each old copy's upstream to the routes that send to its replacement (by upstream), or null
 * when there is nothing to add. Every proxy has the same routes, so the result is shared.
 */
function amendRoutes(upstreams: ReadonlyMap<string, string>): ((routes: readonly Route[]) => Route[]) | null {
  if (upstreams.size === 0) return null;
  const memo = new WeakMap<readonly Route[], Route[]>();
  return (routes) => {
    const hit = memo.get(routes);
    if (hit) return hit;
    const out = routes.map((r) => {
      const extra = [...upstreams]
        .filter(([old, replacement]) => r.upstreams.includes(replacement) && !r.upstreams.includes(old))
        .map(([old]) => old)
        .sort();
      return extra.length ? { ...r, upstreams: [...r.upstreams, ...extra] } : r;
    });
    memo.set(routes, out);
    return out;
  };
}

function byAppReplica(x: Workload, y: Workload): number {
  if (x.app !== y.app) return x.app < y.app ? -1 : 1;
  return x.replica - y.replica;
}
