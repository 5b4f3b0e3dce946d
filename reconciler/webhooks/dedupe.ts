// Remembers the delivery ids of recent webhooks so a forge's retry of a delivery we already
// handled is answered without doing the work twice. Bounded: the oldest ids are forgotten first
// (a Map iterates in insertion order, which makes it an LRU when hits are re-inserted). No I/O.

export class DeliveryLog {
  private readonly ids = new Map<string, true>();

  constructor(readonly capacity = 10_000) {}

  /** True when `key` was seen before (and refreshes it); otherwise remembers it and returns false. */
  seenBefore(key: string): boolean {
    if (this.ids.has(key)) {
      this.ids.delete(key);
      this.ids.set(key, true);
      return true;
    }
    this.ids.set(key, true);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return false;
  }

  /** Forgets `key`, so a delivery we could not act on may be retried. */
  forget(key: string): void {
    this.ids.delete(key);
  }

  get size(): number {
    return this.ids.size;
  }
}
