// The layout of the status branch (SPEC §7): `nodes/<node>.json` holds the node's last reported
// status without `observedAt` (timestamps live in memory, not in git history). Says when two
// reports differ and how a batch commit is described. Pure.
import { canonicalJson } from "../../core/canonical-json.js";
import type { NodeStatus } from "../../schema/index.js";

export const STATUS_NODES_DIR = "nodes";

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

/** `Status: node-a converged` / `Status of 3 nodes: 2 converged, 1 applying`. */
export function statusMessage(batch: ReadonlyMap<string, NodeStatus>): string {
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
