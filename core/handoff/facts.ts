// The facts handoffs wait for, read from the agents' last status reports: which workloads each
// node runs healthy, and which proxies run the routes of the document they are served. Pure.
import type { DesiredState, NodeStatus } from "../../schema/index.js";
import type { HandoffFacts, WorkloadFact } from "./types.js";

export function factsFrom(
  statuses: Iterable<readonly [string, NodeStatus | null]>,
  published: ReadonlyMap<string, DesiredState>,
  lost: Iterable<string> = [],
): HandoffFacts {
  const workloads = new Map<string, Map<string, WorkloadFact>>();
  const routesLoaded = new Set<string>();
  for (const [node, st] of statuses) {
    if (!st) continue;
    const mine = new Map<string, WorkloadFact>();
    for (const w of st.workloads) {
      mine.set(w.id, {
        specHash: w.specHash,
        state: w.state,
        health: w.health,
        ...(w.operation?.lastError ? { lastError: w.operation.lastError } : {}),
      });
    }
    workloads.set(node, mine);
    // Caddy runs the routes of the served document; an agent without a Caddy (ingress null)
    // routes nothing, so there is nothing to wait for from it either.
    const doc = published.get(node);
    if (doc && st.desiredHash === doc.hash && (st.ingress === null || st.ingress.applied))
      routesLoaded.add(node);
  }
  return { workloads, routesLoaded, lost: new Set(lost) };
}
