// What the reconciler remembers about each node's agent, in memory: when it was last seen and
// its last status report (seeded from the status branch at start). Says whether a report
// changed anything but its timestamp. No I/O.
import type { NodeStatus } from "../../schema/index.js";
import { statusKey } from "./status-layout.js";

export interface NodeEntry {
  node: string;
  lastSeen: number | null;
  status: NodeStatus | null;
}

export class NodeBook {
  private readonly lastSeen = new Map<string, number>();
  private readonly status = new Map<string, NodeStatus>();
  private readonly keys = new Map<string, string>();

  /** Statuses read from the status branch (no lastSeen: nobody has called yet). */
  seed(statuses: ReadonlyMap<string, NodeStatus>): void {
    for (const [node, s] of statuses) {
      this.status.set(node, s);
      this.keys.set(node, statusKey(s));
    }
  }

  seen(node: string, at: number): void {
    this.lastSeen.set(node, at);
  }

  /** Records a report; true when it differs from the node's previous one (observedAt ignored). */
  report(node: string, status: NodeStatus, at: number): boolean {
    this.lastSeen.set(node, at);
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
    return [...names].sort().map((node) => ({
      node,
      lastSeen: this.lastSeen.get(node) ?? null,
      status: this.status.get(node) ?? null,
    }));
  }
}
