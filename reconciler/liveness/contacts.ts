// When each node's agent was last in contact with this reconciler: every authenticated call
// touches it, and a long-poll held open counts as contact for as long as it is held (the server
// answers within the liveness pollHold, so a vanished peer cannot hide behind it for longer). In
// memory only: these times change with every call and never go to git. No I/O, no timers.

export type ContactListener = (node: string, at: number) => void;

export class ContactBook {
  private readonly last = new Map<string, number>();
  private readonly open = new Map<string, number>();
  private readonly listeners = new Set<ContactListener>();
  private first: number | null = null;

  /** An authenticated call of `node`'s agent arrived at `at` (ms epoch). */
  touch(node: string, at: number): void {
    this.first ??= at;
    const before = this.last.get(node) ?? 0;
    if (at > before) this.last.set(node, at);
    for (const fn of this.listeners) fn(node, at);
  }

  /** A long-poll of `node` is held from `at`; call the returned function when it ends. */
  hold(node: string, at: number): (endedAt: number) => void {
    this.touch(node, at);
    this.open.set(node, (this.open.get(node) ?? 0) + 1);
    let ended = false;
    return (endedAt) => {
      if (ended) return;
      ended = true;
      const n = (this.open.get(node) ?? 1) - 1;
      if (n > 0) this.open.set(node, n);
      else this.open.delete(node);
      this.touch(node, endedAt);
    };
  }

  /** The last contact (ms epoch) as of `now`: `now` while a long-poll is held; null when none. */
  lastSeen(node: string, now: number): number | null {
    if (this.open.has(node)) return now;
    return this.last.get(node) ?? null;
  }

  /** Long-polls of `node` held right now. */
  holding(node: string): number {
    return this.open.get(node) ?? 0;
  }

  /** Time of the first contact of any node, for the restart grace (null: none yet). */
  firstContact(): number | null {
    return this.first;
  }

  /** Calls `fn` on every contact (touch, start and end of a held poll); returns the unsubscribe. */
  onContact(fn: ContactListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
