// Time order for log lines from several instances and nodes. History arrives as one sorted list per
// source (an instance's file, a node's answer) and is merged k-way, ties kept in source order, so
// lines with the same millisecond never swap within an instance. Live lines from several nodes
// arrive out of step: a short reorder window holds them and releases them sorted. Pure: the time
// comes in.

/** What merging needs of a line: its time in epoch milliseconds. */
export interface Timed {
  ms: number;
}

/**
 * Merges lists that are each sorted by `ms` into one sorted list. Equal times keep the order of
 * the lists as given (then each list's own order): callers pass sources in a fixed order (node,
 * then instance) so the result does not depend on who answered first.
 */
export function mergeSorted<T extends Timed>(lists: readonly (readonly T[])[]): T[] {
  const out: T[] = [];
  const heads = lists.map(() => 0);
  // k is small (instances of one app, nodes of a cluster): a linear pick beats a heap here.
  for (;;) {
    let best = -1;
    let bestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < lists.length; i++) {
      const item = (lists[i] as readonly T[])[heads[i] as number];
      if (item !== undefined && item.ms < bestMs) {
        best = i;
        bestMs = item.ms;
      }
    }
    if (best < 0) return out;
    out.push((lists[best] as readonly T[])[heads[best] as number] as T);
    heads[best] = (heads[best] as number) + 1;
  }
}

/** The newest `n` of a sorted list (all of them when n is larger). */
export const newest = <T>(sorted: readonly T[], n: number): T[] =>
  n <= 0 ? [] : sorted.slice(Math.max(0, sorted.length - n));

/**
 * Holds live lines for `windowMs` after they arrive, so that lines from a node whose batch came a
 * little later still print in time order; `release` hands over, sorted, every line that has waited
 * long enough. A line older than one already released is released at once (order within it kept):
 * late lines are never dropped, only their position is best effort.
 */
export class ReorderWindow<T extends Timed> {
  private held: { item: T; arrived: number; seq: number }[] = [];
  private seq = 0;

  constructor(readonly windowMs: number) {}

  push(items: readonly T[], now: number): void {
    for (const item of items) this.held.push({ item, arrived: now, seq: this.seq++ });
  }

  /** Lines whose wait is over (all of them with `all`), in time order. */
  release(now: number, all = false): T[] {
    if (this.held.length === 0) return [];
    const due = all ? this.held : this.held.filter((h) => now - h.arrived >= this.windowMs);
    if (due.length === 0) return [];
    this.held = all ? [] : this.held.filter((h) => now - h.arrived < this.windowMs);
    // Held lines not yet due but older than a due one go out with it, so order is kept within them.
    const cut = Math.max(...due.map((h) => h.item.ms));
    const early = this.held.filter((h) => h.item.ms <= cut);
    if (early.length > 0) this.held = this.held.filter((h) => h.item.ms > cut);
    return [...due, ...early].sort((a, b) => a.item.ms - b.item.ms || a.seq - b.seq).map((h) => h.item);
  }

  /** When the oldest held line falls due (ms epoch), or null when nothing is held. */
  nextDue(): number | null {
    if (this.held.length === 0) return null;
    return Math.min(...this.held.map((h) => h.arrived)) + this.windowMs;
  }

  get size(): number {
    return this.held.length;
  }
}
