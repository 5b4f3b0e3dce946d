// Sentences that say why a workload or route changes, built from field changes and from where
// the same workload sits in the other state. Pure; the values shown are already masked.
import type { FieldChange } from "../../schema/index.js";
import type { AppSpec, DomainSpec, NodeSpec, SecretsSpec } from "../config/model.js";
import { appRequest } from "../placement/index.js";

/** What the reasons may consult about both sides. */
export interface ReasonContext {
  baseApps(): ReadonlyMap<string, AppSpec>;
  headApps(): ReadonlyMap<string, AppSpec>;
  baseNodes(): ReadonlyMap<string, NodeSpec>;
  headNodes(): ReadonlyMap<string, NodeSpec>;
  /** Domains by `host|path`. */
  baseDomains(): ReadonlyMap<string, DomainSpec>;
  headDomains(): ReadonlyMap<string, DomainSpec>;
  /** Secrets documents by app. */
  baseSecrets(): ReadonlyMap<string, SecretsSpec>;
  headSecrets(): ReadonlyMap<string, SecretsSpec>;
  /**
   * Nodes of each workload id in the base / head documents, in name order: usually one, two
   * while an old copy is kept during a move (core/handoff).
   */
  baseLocation(): ReadonlyMap<string, readonly string[]>;
  headLocation(): ReadonlyMap<string, readonly string[]>;
  /** Nodes whose replicas failover placed elsewhere in the base / head state. */
  baseFailedOver(): ReadonlySet<string>;
  headFailedOver(): ReadonlySet<string>;
}

const MAX_PARTS = 3;

/** `image nginx:1.25 → nginx:1.27, env.LOG_LEVEL changed` (at most three, then a count). */
export function changeReason(changes: readonly FieldChange[]): string {
  if (changes.length === 0) return "changed";
  const parts = changes.slice(0, MAX_PARTS).map(describe);
  const more = changes.length - MAX_PARTS;
  if (more > 0) parts.push(`${more} more change${more === 1 ? "" : "s"}`);
  return parts.join(", ");
}

function describe(c: FieldChange): string {
  if (c.secret) return `secret ${c.field.replace(/^secrets\./, "")} ${c.secret}`;
  if (c.before === undefined) return `${c.field} added`;
  if (c.after === undefined) return `${c.field} removed`;
  if (c.field.startsWith("env.") || c.field.includes(".env.")) return `${c.field} changed`;
  if (isShort(c.before) && isShort(c.after)) return `${c.field} ${String(c.before)} → ${String(c.after)}`;
  return `${c.field} changed`;
}

function isShort(v: unknown): boolean {
  return (
    (typeof v === "string" && v.length <= 60 && !/\s/.test(v)) ||
    typeof v === "number" ||
    typeof v === "boolean"
  );
}

/** Why a workload of `app` moved from node `from` to node `to`. */
export function moveCause(from: string, to: string, app: string, ctx: ReasonContext): string {
  if (ctx.headFailedOver().has(from)) return `${from} lost, failover`;
  if (ctx.baseFailedOver().has(to) && !ctx.headFailedOver().has(to)) return `${to} back, failover over`;
  const fromHead = ctx.headNodes().get(from);
  if (!fromHead) return `${from} removed`;
  const fromBase = ctx.baseNodes().get(from);
  if (fromHead.cordon && !fromBase?.cordon) return `${from} cordoned`;
  if (fromBase && !sameNode(fromBase, fromHead)) return `${from} changed`;
  const a = ctx.baseApps().get(app);
  const b = ctx.headApps().get(app);
  if (a && b && appRequest(a).key !== appRequest(b).key) return "placement or resources changed";
  if (!ctx.baseNodes().has(to)) return `rebalanced onto new node ${to}`;
  return "rebalanced";
}

function sameNode(a: NodeSpec, b: NodeSpec): boolean {
  return (
    JSON.stringify({ ...a, tokenSha256: undefined }) === JSON.stringify({ ...b, tokenSha256: undefined })
  );
}

export function createReason(
  id: string,
  app: string,
  replica: number,
  node: string,
  ctx: ReasonContext,
): string {
  const from = ctx
    .baseLocation()
    .get(id)
    ?.find((n) => n !== node);
  if (from !== undefined) return `moved from ${from} (${moveCause(from, node, app, ctx)})`;
  const before = ctx.baseApps().get(app);
  if (!before) return "new app";
  const after = ctx.headApps().get(app);
  if (after && replica >= before.replicas) return `scaled up ${before.replicas} → ${after.replicas}`;
  return "placed";
}

export function deleteReason(
  id: string,
  app: string,
  replica: number,
  node: string,
  ctx: ReasonContext,
): string {
  const to = ctx
    .headLocation()
    .get(id)
    ?.find((n) => n !== node);
  if (to !== undefined) return `moved to ${to} (${moveCause(node, to, app, ctx)})`;
  const after = ctx.headApps().get(app);
  if (!after) return "app removed";
  const before = ctx.baseApps().get(app);
  if (replica >= after.replicas) return `scaled down ${before?.replicas ?? "?"} → ${after.replicas}`;
  if (!ctx.headNodes().has(node)) return `node ${node} removed`;
  return "no longer placed here";
}

export function routeCreateReason(key: string, node: string, ctx: ReasonContext): string {
  if (!ctx.baseDomains().has(key)) return "domain added";
  const before = ctx.baseNodes().get(node);
  if (!before) return "new proxy node";
  if (!before.roles.includes("proxy")) return "node became a proxy";
  return "route added";
}

export function routeDeleteReason(key: string, node: string, ctx: ReasonContext): string {
  if (!ctx.headDomains().has(key)) return "domain removed";
  const after = ctx.headNodes().get(node);
  if (!after) return `node ${node} removed`;
  if (!after.roles.includes("proxy")) return "node is no longer a proxy";
  return "route removed";
}

/** `app web → api, upstreams: 2 added, 1 removed`-style summary of a route change. */
export function routeUpdateReason(
  key: string,
  changes: readonly FieldChange[],
  added: number,
  removed: number,
  ctx: ReasonContext,
): string {
  const parts: string[] = [];
  const a = ctx.baseDomains().get(key)?.app;
  const b = ctx.headDomains().get(key)?.app;
  if (a !== undefined && b !== undefined && a !== b) parts.push(`app ${a} → ${b}`);
  const health = changes.filter((c) => c.field.startsWith("health."));
  for (const c of changes)
    if (c.field !== "upstreams" && !c.field.startsWith("health.")) parts.push(describe(c));
  // The route's copy of the app's health check is one thing to a reader, however many fields moved.
  if (health.length > 0) {
    const all = (side: "before" | "after") => health.every((c) => c[side] === undefined);
    parts.push(
      all("before") ? "health check added" : all("after") ? "health check removed" : "health check changed",
    );
  }
  if (added > 0 || removed > 0) {
    const bits = [];
    if (added > 0) bits.push(`${added} added`);
    if (removed > 0) bits.push(`${removed} removed`);
    parts.push(`upstreams: ${bits.join(", ")}`);
  }
  return parts.length > 0 ? parts.join(", ") : "changed";
}
