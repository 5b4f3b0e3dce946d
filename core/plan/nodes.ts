// Per-node changes between two sets of desired documents: workloads created, replaced or
// deleted, and routes created, updated or deleted, each with a reason. Nodes whose document
// hash is equal (or that share their content) are skipped without looking inside. Pure.
import type {
  DesiredState,
  NodeChange,
  Route,
  RouteChange,
  Workload,
  WorkloadChange,
} from "../../schema/index.js";
import { compareDomains, sameContent } from "../desired/index.js";
import { diffFields } from "./fields.js";
import {
  changeReason,
  createReason,
  deleteReason,
  type ReasonContext,
  routeCreateReason,
  routeDeleteReason,
  routeUpdateReason,
} from "./reasons.js";
import { foldWorkloadSecrets } from "./secrets.js";

const workloadIdentity = ["id", "app", "replica", "specHash"];

export function nodeChanges(
  base: ReadonlyMap<string, DesiredState>,
  head: ReadonlyMap<string, DesiredState>,
  ctx: ReasonContext,
): NodeChange[] {
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  const out: NodeChange[] = [];
  for (const node of names) {
    const before = base.get(node);
    const after = head.get(node);
    // Documents over the same content are equal without making either (desired/content.ts).
    if (before && after && (sameContent(before, after) || before.hash === after.hash)) continue;
    out.push({
      node,
      hashBefore: before?.hash ?? null,
      hashAfter: after?.hash ?? null,
      workloads: workloadChanges(node, before?.workloads ?? [], after?.workloads ?? [], ctx),
      routes: routeChanges(node, before?.routes ?? [], after?.routes ?? [], ctx),
    });
  }
  return out;
}

function workloadChanges(
  node: string,
  before: readonly Workload[],
  after: readonly Workload[],
  ctx: ReasonContext,
): WorkloadChange[] {
  if (before === after) return [];
  const a = new Map(before.map((w) => [w.id, w]));
  const b = new Map(after.map((w) => [w.id, w]));
  const all = [...new Map([...a, ...b]).values()].sort(byAppReplica);
  const out: WorkloadChange[] = [];
  for (const w of all) {
    const was = a.get(w.id);
    const will = b.get(w.id);
    if (was && will) {
      if (was === will || was.specHash === will.specHash) continue;
      const changes = foldWorkloadSecrets(
        diffFields(was, will, workloadIdentity),
        was,
        will,
        ctx.baseSecrets().get(w.app),
        ctx.headSecrets().get(w.app),
      );
      out.push({ id: w.id, app: w.app, action: "replace", reason: changeReason(changes), changes });
    } else if (will) {
      out.push({
        id: w.id,
        app: w.app,
        action: "create",
        reason: createReason(w.id, w.app, w.replica, node, ctx),
        changes: [],
      });
    } else {
      out.push({
        id: w.id,
        app: w.app,
        action: "delete",
        reason: deleteReason(w.id, w.app, w.replica, node, ctx),
        changes: [],
      });
    }
  }
  return out;
}

function routeChanges(
  node: string,
  before: readonly Route[],
  after: readonly Route[],
  ctx: ReasonContext,
): RouteChange[] {
  if (before === after) return [];
  // Documents list routes sorted by host then path: merge-walk them.
  const out: RouteChange[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const order = i >= before.length ? 1 : j >= after.length ? -1 : compareDomains(before[i]!, after[j]!);
    const was = order <= 0 ? before[i++] : undefined;
    const will = order >= 0 ? after[j++] : undefined;
    if (was === will) continue;
    const { host, path } = (will ?? was) as Route;
    const key = `${host}|${path}`;
    if (was && will) {
      const changes = diffFields(was, will, ["host", "path"]);
      if (changes.length === 0) continue;
      const added = will.upstreams.filter((u) => !was.upstreams.includes(u)).length;
      const removed = was.upstreams.filter((u) => !will.upstreams.includes(u)).length;
      out.push({
        host,
        path,
        action: "update",
        reason: routeUpdateReason(key, changes, added, removed, ctx),
        changes,
      });
    } else if (will) {
      const changes = diffFields(null, will, ["host", "path"]);
      out.push({ host, path, action: "create", reason: routeCreateReason(key, node, ctx), changes });
    } else {
      out.push({ host, path, action: "delete", reason: routeDeleteReason(key, node, ctx), changes: [] });
    }
  }
  return out;
}

function byAppReplica(x: Workload, y: Workload): number {
  if (x.app !== y.app) return x.app < y.app ? -1 : 1;
  return x.replica - y.replica;
}
