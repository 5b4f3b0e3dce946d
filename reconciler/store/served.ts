// The desired state the API serves, in memory: the current generation's documents and token
// hashes, plus the long-poll waiters woken when a node's document hash changes. Replaced as a
// whole on every publish or adoption. No I/O.
import type { Handoff } from "../../core/handoff/index.js";
import type { DesiredState } from "../../schema/index.js";
import type { DesiredSnapshot, FailoverEntry, SourceRef } from "./desired-layout.js";

/** Earlier hashes remembered per node. */
const keptHashes = 8;

interface Waiter {
  etag: string | undefined;
  done: () => void;
}

export class ServedState {
  generation = 0;
  source: SourceRef | null = null;
  desiredCommit: string | null = null;
  docs: ReadonlyMap<string, DesiredState> = new Map();
  tokens: ReadonlyMap<string, string> = new Map();
  /** Old copies the served generation keeps while moves and drains finish. */
  handoffs: readonly Handoff[] = [];
  /** With failover on: the lost nodes whose replicas the served generation places elsewhere. */
  failover: readonly FailoverEntry[] = [];
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Each node's recent earlier document hashes (newest last): an agent holding one is behind. */
  private readonly earlier = new Map<string, string[]>();

  /** Serves `snap` from now on; wakes the waiters of every node whose document hash changed. */
  replace(snap: DesiredSnapshot, desiredCommit: string): string[] {
    const before = this.docs;
    this.generation = snap.generation;
    this.source = snap.source;
    this.desiredCommit = desiredCommit;
    this.docs = snap.docs;
    this.tokens = snap.tokens;
    this.handoffs = snap.handoffs;
    this.failover = snap.failover ?? [];
    const changed: string[] = [];
    for (const node of new Set([...before.keys(), ...snap.docs.keys()])) {
      if (before.get(node)?.hash !== snap.docs.get(node)?.hash) changed.push(node);
    }
    for (const node of changed) {
      const old = before.get(node)?.hash;
      if (old !== undefined) {
        const list = this.earlier.get(node) ?? [];
        list.push(old);
        if (list.length > keptHashes) list.shift();
        this.earlier.set(node, list);
      }
      this.wake(node);
    }
    return changed;
  }

  /** Whether `etag` is the node's current document hash or one served earlier by this process. */
  knows(node: string, etag: string): boolean {
    const hash = normalizeEtag(etag);
    if (hash === undefined) return false;
    return this.docs.get(node)?.hash === hash || (this.earlier.get(node)?.includes(hash) ?? false);
  }

  /**
   * Resolves once the node's document hash differs from `etag` (at once if it already does), after
   * `timeoutMs`, or when `signal` aborts. `etag` may be quoted or weak, as in If-None-Match.
   */
  waitForChange(
    node: string,
    etag: string | undefined,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const want = normalizeEtag(etag);
    if (this.docs.get(node)?.hash !== want || signal.aborted || timeoutMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(node);
      if (!set) {
        set = new Set();
        this.waiters.set(node, set);
      }
      const waiter: Waiter = {
        etag: want,
        done: () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", waiter.done);
          const current = this.waiters.get(node);
          current?.delete(waiter);
          if (current?.size === 0) this.waiters.delete(node);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, timeoutMs);
      signal.addEventListener("abort", waiter.done, { once: true });
      set.add(waiter);
    });
  }

  /** Number of open long-polls (tests, metrics). */
  waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Ends every long-poll (shutdown). */
  wakeEveryone(): void {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.done();
  }

  private wake(node: string): void {
    const set = this.waiters.get(node);
    if (!set) return;
    const hash = this.docs.get(node)?.hash;
    for (const w of [...set]) if (w.etag !== hash) w.done();
  }
}

export function normalizeEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const m = /^(?:W\/)?"(.*)"$/.exec(etag.trim());
  return m ? m[1] : etag.trim();
}
