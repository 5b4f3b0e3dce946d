// Places every replica of every app on a node: weighted rendezvous hashing (HRW) per replica,
// spreading an app's replicas over distinct nodes before doubling up, respecting cordon, cpu,
// memory and port-slot capacity. Apps are processed in name order, so the result depends only on the config.
//
// Incremental: a Placer remembers its last run. When the node table is the same, an app whose
// request is unchanged and whose decision only looked at nodes whose used capacity is unchanged
// at that point of the walk gets its previous result without scoring again. The result is
// identical to a cold run (tests check this); only the work differs. Pure: no I/O.
import { addReplica, applyFootprint, type CapacityState, emptyState, fits } from "./capacity.js";
import { type Candidates, candidateNodes } from "./eligibility.js";
import { explainShortfall } from "./explain.js";
import { combine } from "./hash32.js";
import type { NodeTable, PlacementNode } from "./nodes.js";
import type { AppRequest } from "./request.js";

export interface AppPlacement {
  /**
   * Node index of each replica, replica 0 first. When infeasible (shortfall set) only the nodes
   * of the replicas that were placed, not aligned with replica numbers.
   */
  nodes: readonly number[];
  /** Nodes whose used capacity the decision depended on (chosen ones and better ones that were full). */
  examined: readonly number[];
  /** Why not every replica could be placed. */
  shortfall?: string;
}

export interface PlacementResult {
  table: NodeTable;
  /** By app name, for every app of the run. */
  byApp: Map<string, AppPlacement>;
  /** Apps whose placement was computed afresh in this run (not reused). */
  recomputed: number;
}

interface Memory {
  table: NodeTable;
  apps: AppRequest[];
  byApp: Map<string, AppPlacement>;
}

const TWO_POW_32 = 4294967296;

/** Holds the previous run so the next one can reuse what did not change. */
export class Placer {
  private last: Memory | undefined;

  /** `apps` must be sorted by name (the canonical order) with unique names. */
  place(table: NodeTable, apps: readonly AppRequest[]): PlacementResult {
    const prev = this.last && this.last.table.key === table.key ? this.last : undefined;
    const result = walk(table, apps, prev);
    this.last = { table, apps: [...apps], byApp: result.byApp };
    return result;
  }
}

/** One run without memory: what a cold start computes. */
export function placeAll(table: NodeTable, apps: readonly AppRequest[]): PlacementResult {
  return walk(table, apps, undefined);
}

function walk(table: NodeTable, apps: readonly AppRequest[], prev: Memory | undefined): PlacementResult {
  const n = table.nodes.length;
  const state = emptyState(n);
  // delta = used capacity of this run minus that of the previous run at the same point of the
  // walk; a node with a non-zero delta is "dirty" and decisions that looked at it are redone.
  const delta = emptyState(n);
  const dirty = new Uint8Array(n);
  let dirtyCount = 0;
  const markDelta = (app: AppRequest, nodes: readonly number[], sign: 1 | -1) => {
    applyFootprint(delta, app, nodes, sign);
    for (const i of nodes) {
      const now = delta.cpu[i] !== 0 || delta.memory[i] !== 0 || delta.slots[i] !== 0 ? 1 : 0;
      if (now !== dirty[i]) {
        dirtyCount += now ? 1 : -1;
        dirty[i] = now;
      }
    }
  };
  const memo = new Map<string, Candidates>();
  const scratch = new Int32Array(n);
  const byApp = new Map<string, AppPlacement>();
  let recomputed = 0;

  const oldApps = prev?.apps ?? [];
  let j = 0;
  for (const app of apps) {
    // Apps of the previous run that sort before this one and are gone: take their usage out.
    while (j < oldApps.length && oldApps[j]!.name < app.name) {
      const gone = oldApps[j++]!;
      markDelta(gone, prev!.byApp.get(gone.name)!.nodes, -1);
    }
    let old: AppRequest | undefined;
    if (j < oldApps.length && oldApps[j]!.name === app.name) old = oldApps[j++];
    const oldPlacement = old ? prev!.byApp.get(old.name) : undefined;

    let placement: AppPlacement;
    if (
      old &&
      oldPlacement &&
      old.key === app.key &&
      (dirtyCount === 0 || !oldPlacement.examined.some((i) => dirty[i] === 1))
    ) {
      placement = oldPlacement;
      applyFootprint(state, app, placement.nodes, 1);
    } else {
      placement = placeOne(table, app, candidateNodes(table, app, memo), state, scratch);
      recomputed++;
      if (old && oldPlacement) markDelta(old, oldPlacement.nodes, -1);
      markDelta(app, placement.nodes, 1);
    }
    byApp.set(app.name, placement);
  }
  return { table, byApp, recomputed };
}

/**
 * Places the replicas of one app and adds them to `state`, in two rounds:
 * 1. Each replica's top node is its highest rendezvous score among the candidates, cordoned and
 *    full ones included. When several replicas have the same top, the highest score wins it. A
 *    winner gets its node unless the node is cordoned or has no room.
 * 2. Every other replica takes, among the nodes that have room, the one holding the fewest
 *    replicas of this app, then the highest score (equal scores: lower node name). They choose in
 *    this order: replicas that lost the contest for their top, then winners whose top is full,
 *    then winners whose top is cordoned; each group in replica order.
 * Ranking cordoned and full nodes in round 1 and letting their winners choose last is what keeps
 * moves minimal: a replica displaced by a cordon takes a node nobody else wants instead of
 * displacing replicas that sit where they were, so cordoning a node moves only the replicas it had.
 */
function placeOne(
  table: NodeTable,
  app: AppRequest,
  candidates: Candidates,
  state: CapacityState,
  count: Int32Array,
): AppPlacement {
  const r = app.replicas;
  const examined: number[] = [];
  // Plain arrays and a linear search: an app has a few replicas, and a Map and small typed arrays
  // per app cost more to make than to use (10,000 apps in a cold placement).
  const assigned: number[] = [];
  const topScore: number[] = [];
  // Round-2 group of each replica: 0 lost a claim (or won), 1 top full, 2 top cordoned.
  const group: number[] = [];
  for (let k = 0; k < r; k++) {
    assigned.push(-1);
    topScore.push(0);
    group.push(0);
  }
  // Each claimed top node, in the order it was first claimed, and the replica holding it.
  const tops: number[] = [];
  const holder: number[] = [];
  const byTop = r > 32 ? new Map<number, number>() : undefined;
  for (let k = 0; k < r; k++) {
    const { top, score } = topOf(candidates, combine(app.hash, k));
    if (top === -1) break;
    topScore[k] = score;
    const at = byTop ? (byTop.get(top) ?? -1) : tops.indexOf(top);
    if (at === -1) {
      byTop?.set(top, tops.length);
      tops.push(top);
      holder.push(k);
    } else if (score > topScore[holder[at]!]!) {
      holder[at] = k;
    }
  }
  // The contest above ignores cordon and capacity, so that its losers choose exactly as they did
  // before a node was cordoned or filled; only the winner of such a node is displaced.
  let placed = 0;
  for (let t = 0; t < tops.length; t++) {
    const i = tops[t]!;
    const k = holder[t]!;
    const node = table.nodes[i]!;
    if (node.cordon) {
      group[k] = 2;
      continue;
    }
    examined.push(i);
    if (!fits(state, node, app)) {
      group[k] = 1;
      continue;
    }
    assigned[k] = i;
    placed++;
    count[i]!++;
    addReplica(state, app, i);
  }

  let shortfall: string | undefined;
  for (let g = 0; g <= 2 && shortfall === undefined; g++) {
    for (let k = 0; k < r; k++) {
      if (assigned[k] !== -1 || group[k] !== g) continue;
      const i = pickFree(table, app, candidates, state, count, combine(app.hash, k), examined);
      if (i === -1) {
        shortfall = explainShortfall(app, placed, table.nodes, state);
        break;
      }
      assigned[k] = i;
      placed++;
      count[i]!++;
      addReplica(state, app, i);
    }
  }
  const nodes = assigned;
  for (const i of nodes) if (i !== -1) count[i] = 0;
  // On a shortfall the config is invalid and nothing is built from it: keep only what was placed,
  // for the capacity bookkeeping of the apps after it.
  return shortfall === undefined
    ? { nodes, examined }
    : { nodes: nodes.filter((i) => i !== -1), examined, shortfall };
}

/**
 * Round 2 of placeOne for one replica: the node with room holding the fewest replicas of the
 * app, then the highest score. Records in `examined` every full node that would have won.
 */
function pickFree(
  table: NodeTable,
  app: AppRequest,
  candidates: Candidates,
  state: CapacityState,
  count: Int32Array,
  replicaHash: number,
  examined: number[],
): number {
  let best = -1;
  let bestLevel = 0;
  let bestScore = 0;
  const failed: { i: number; level: number; score: number }[] = [];
  const all = candidates.all;
  for (let c = 0; c < all.length; c++) {
    const i = all[c]!;
    const node = table.nodes[i]!;
    if (node.cordon) continue;
    const level = count[i]!;
    if (best !== -1 && level > bestLevel) continue;
    const score = rendezvousScore(replicaHash, node);
    if (best !== -1 && level === bestLevel && score <= bestScore) continue;
    if (fits(state, node, app)) {
      best = i;
      bestLevel = level;
      bestScore = score;
    } else {
      failed.push({ i, level, score });
    }
  }
  // Every full node that would have beaten the winner decided this outcome as much as the winner did.
  for (const f of failed) {
    if (best === -1 || f.level < bestLevel || (f.level === bestLevel && f.score > bestScore))
      examined.push(f.i);
  }
  if (best !== -1) examined.push(best);
  return best;
}

/**
 * The candidate with the highest rendezvous score for a replica (equal scores: lower node index),
 * or top -1 when there is none. Within one weight the order of scores is the order of the hashes,
 * so this compares integers and takes one logarithm per weight group. This loop is the cost of a
 * cold placement (replicas x candidates), hence the inlined hash.
 */
function topOf(candidates: Candidates, replicaHash: number): { top: number; score: number } {
  let top = -1;
  let score = Number.NEGATIVE_INFINITY;
  for (const group of candidates.groups) {
    const { nodes, hashes } = group;
    let bestHash = -1;
    let bestNode = -1;
    for (let c = 0; c < nodes.length; c++) {
      const b = hashes[c]!;
      // combine(replicaHash, b), inlined.
      let h = replicaHash ^ Math.imul(b, 0x9e3779b1) ^ (b >>> 15);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      h >>>= 0;
      if (h > bestHash) {
        bestHash = h;
        bestNode = nodes[c]!;
      }
    }
    if (bestNode === -1) continue;
    const s = scoreOf(bestHash, group.invWeight);
    if (top === -1 || s > score || (s === score && bestNode < top)) {
      top = bestNode;
      score = s;
    }
  }
  return { top, score };
}

/**
 * Weighted rendezvous score: ln(u) / weight with u uniform in (0, 1) from the hash of (replica,
 * node). The highest score wins; a node of weight w wins w times as often as one of weight 1.
 */
function scoreOf(hash: number, invWeight: number): number {
  return Math.log((hash + 0.5) / TWO_POW_32) * invWeight;
}

function rendezvousScore(replicaHash: number, node: PlacementNode): number {
  return scoreOf(combine(replicaHash, node.hash), node.invWeight);
}
