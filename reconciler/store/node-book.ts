// What the reconciler remembers about each node's agent, in memory: its last status report
// (seeded from the status branch at start). Says whether a report changed anything but its
// timestamp. Contact times live in reconciler/liveness/contacts.ts. No I/O.
import type { NodeStatus } from "../../schema/index.js";
import { statusKey } from "./status-layout.js";

export interface NodeEntry {
  node: string;
  status: NodeStatus | null;
}

export class NodeBook {
  private readonly status = new Map<string, NodeStatus>();
  private readonly keys = new Map<string, string>();

  /** Statuses read from the status branch. */
  seed(statuses: ReadonlyMap<string, NodeStatus>): void {
    for (const [node, s] of statuses) {
      this.status.set(node, s);
      this.keys.set(node, statusKey(s));
    }
  }

  /** Records a report; true when it differs from the node's previous one (observedAt ignored). */
  report(node: string, status: NodeStatus): boolean {
    this.status.set(node, status);
    const key = statusKey(status);
    if (this.keys.get(node) === key) return false;
    this.keys.set(node, key);
    return true;
  }

  /** The node's last status report, if any. */
  statusOf(node: string): NodeStatus | null {
    return this.status.get(node) ?? null;
  }

  /** Every node in `known` or that reported, by name. */
  list(known: Iterable<string>): NodeEntry[] {
    const names = new Set([...known, ...this.status.keys()]);
    return [...names].sort().map((node) => ({ node, status: this.status.get(node) ?? null }));
  }
}
