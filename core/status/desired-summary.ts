// The part of a node's desired document that a status view compares reports against: its hash,
// source commit and, per workload, what should run (id, app, replica, specHash, hostPort). The
// reconciler serves it in GET /v1/nodes, so `berth status --url` needs no config repo. Pure.
import type { DesiredState } from "../../schema/index.js";

export interface DesiredWorkloadSummary {
  id: string;
  app: string;
  replica: number;
  specHash: string;
  hostPort: number;
}

export interface DesiredSummary {
  hash: string;
  commit: string;
  workloads: DesiredWorkloadSummary[];
  routes: number;
}

/** Summaries by document object: a thousand nodes asking about an unchanged document cost one. */
const cache = new WeakMap<DesiredState, DesiredSummary>();

export function summariseDesired(doc: DesiredState): DesiredSummary {
  let s = cache.get(doc);
  if (!s) {
    s = {
      hash: doc.hash,
      commit: doc.source.commit,
      workloads: doc.workloads.map((w) => ({
        id: w.id,
        app: w.app,
        replica: w.replica,
        specHash: w.specHash,
        hostPort: w.hostPort,
      })),
      routes: doc.routes.length,
    };
    cache.set(doc, s);
  }
  return s;
}
