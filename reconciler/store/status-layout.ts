// The layout of the status branch (SPEC §7): `nodes/<node>.json` holds the node's last reported
// status without `observedAt` (timestamps live in memory, not in git history);
// `liveness/<node>.json` the reconciler's liveness verdict, rewritten only when the verdict changes
// (alive → stale → lost → alive), never on a contact. Says when two reports differ and how a
// batch commit is described. Pure.
import { canonicalJson } from "../../core/canonical-json.js";
import type { NodeLiveness } from "../../core/status/liveness.js";
import type { LivenessRecord, NodeStatus } from "../../schema/index.js";

export const STATUS_NODES_DIR = "nodes";
export const LIVENESS_DIR = "liveness";

export function livenessPath(node: string): string {
  return `${LIVENESS_DIR}/${node}.json`;
}

export function livenessRecord(node: string, v: NodeLiveness): LivenessRecord {
  return {
    node,
    liveness: v.state,
    since: new Date(v.since).toISOString(),
    lastSeen: v.lastSeen === null ? null : new Date(v.lastSeen).toISOString(),
  };
}

/** A committed record back as a verdict; null when the file is not one. */
export function parseLivenessRecord(value: unknown): NodeLiveness | null {
  const r = value as Partial<LivenessRecord> | null;
  if (!r || typeof r !== "object") return null;
  if (r.liveness !== "alive" && r.liveness !== "stale" && r.liveness !== "lost") return null;
  const since = typeof r.since === "string" ? Date.parse(r.since) : Number.NaN;
  const lastSeen = typeof r.lastSeen === "string" ? Date.parse(r.lastSeen) : null;
  if (!Number.isFinite(since) || (lastSeen !== null && !Number.isFinite(lastSeen))) return null;
  return { state: r.liveness, since, lastSeen };
}

/** The status as committed: the report minus its timestamp. */
export function committedForm(status: NodeStatus): Omit<NodeStatus, "observedAt"> {
  const { observedAt: _ignored, ...rest } = status;
  return rest;
}

/** A key equal for two reports exactly when their committed forms are equal. */
export function statusKey(status: NodeStatus): string {
  return canonicalJson(committedForm(status));
}

export function statusPath(node: string): string {
  return `${STATUS_NODES_DIR}/${node}.json`;
}

export function statusFileContent(status: NodeStatus): string {
  return `${JSON.stringify(committedForm(status), null, 2)}\n`;
}

/**
 * `Status: node-a converged` / `Status of 3 nodes: 2 converged, 1 applying`; liveness changes
 * alone: `Liveness: w1 lost`; both: the status line, then the liveness changes in the body.
 */
export function statusMessage(
  batch: ReadonlyMap<string, NodeStatus>,
  liveness: ReadonlyMap<string, LivenessRecord> = new Map(),
): string {
  const live = [...liveness.values()]
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .map((r) => `${r.node} ${r.liveness}`);
  const liveLine = `Liveness: ${live.length > 20 ? `${live.slice(0, 20).join(", ")}, … and ${live.length - 20} more` : live.join(", ")}`;
  if (batch.size === 0) return `${liveLine}\n`;
  const text = statusesMessage(batch);
  return live.length === 0 ? text : `${text.trimEnd()}\n\n${liveLine}\n`;
}

function statusesMessage(batch: ReadonlyMap<string, NodeStatus>): string {
  const entries = [...batch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 1) {
    const [node, s] = entries[0] as [string, NodeStatus];
    return `Status: ${node} ${s.phase}\n`;
  }
  const byPhase = new Map<string, number>();
  for (const [, s] of entries) byPhase.set(s.phase, (byPhase.get(s.phase) ?? 0) + 1);
  const phases = [...byPhase].map(([p, n]) => `${n} ${p}`).join(", ");
  const names = entries.map(([n, s]) => `${n}: ${s.phase}`);
  const listed = names.length > 100 ? [...names.slice(0, 100), `… and ${names.length - 100} more`] : names;
  return `Status of ${entries.length} nodes: ${phases}\n\n${listed.join("\n")}\n`;
}
