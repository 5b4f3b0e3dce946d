// What the reconciler asks of agents outside their desired documents (send an app's logs, restart
// an app), held per node until the node's agent fetches it. Agents only connect out: a request
// ends the agent's desired long-poll early, the answer says requests are waiting (header
// Berth-Requests), and the agent fetches them. A request is announced on one poll answer and
// handed out once; a request nobody fetched is dropped by whoever made it (they time out). In
// memory only: a reconciler restart drops pending requests, and their askers see them time out.
import type { AgentRequest } from "../../schema/index.js";

interface Pending {
  req: AgentRequest;
  /** A poll answer has told the agent about it: polls wait again instead of answering at once. */
  announced: boolean;
}

export class NodeRequests {
  private readonly byNode = new Map<string, Pending[]>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly takenListeners = new Set<(node: string, ids: string[]) => void>();

  /** Queues `req` for `node` and wakes the node's held poll. */
  push(node: string, req: AgentRequest): void {
    const list = this.byNode.get(node) ?? [];
    list.push({ req, announced: false });
    this.byNode.set(node, list);
    for (const wake of [...(this.waiters.get(node) ?? [])]) wake();
  }

  /** Requests the node's agent has not been told about yet (a poll then answers at once). */
  fresh(node: string): boolean {
    return (this.byNode.get(node) ?? []).some((p) => !p.announced);
  }

  /** Marks the node's requests as told and returns how many wait (the Berth-Requests header). */
  announce(node: string): number {
    const list = this.byNode.get(node) ?? [];
    for (const p of list) p.announced = true;
    return list.length;
  }

  /** Hands the node's requests out (once). */
  take(node: string): AgentRequest[] {
    const list = this.byNode.get(node) ?? [];
    this.byNode.delete(node);
    const reqs = list.map((p) => p.req);
    if (reqs.length > 0)
      for (const fn of this.takenListeners)
        fn(
          node,
          reqs.map((r) => r.id),
        );
    return reqs;
  }

  /** Withdraws a request the agent has not fetched yet; false when it was fetched already (or never queued). */
  cancel(node: string, id: string): boolean {
    const list = this.byNode.get(node);
    if (!list) return false;
    const i = list.findIndex((p) => p.req.id === id);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.byNode.delete(node);
    return true;
  }

  pending(node: string): number {
    return this.byNode.get(node)?.length ?? 0;
  }

  /** Tells `fn` which requests a node's agent fetched. Returns the unsubscribe function. */
  onTaken(fn: (node: string, ids: string[]) => void): () => void {
    this.takenListeners.add(fn);
    return () => this.takenListeners.delete(fn);
  }

  /** Resolves when a request is queued for `node`, or when `signal` aborts. */
  waitFor(node: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.waiters.get(node) ?? new Set();
      this.waiters.set(node, set);
      const done = () => {
        signal.removeEventListener("abort", done);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(node);
        resolve();
      };
      set.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
