// A work queue keyed by pull request where only the newest item of a key matters: items of one key
// run one at a time, an item pushed while its key is busy replaces any item still waiting, and the
// running job can ask whether it is still the newest (to drop a stale result). Different keys run
// concurrently up to a bound. No I/O; timers only for delayed re-runs.

export interface JobContext {
  /** False once a newer item was pushed for the same key: the job must not publish its result. */
  isCurrent(): boolean;
}

export interface LatestQueue<K, T> {
  push(key: K, item: T): void;
  /** Pushes `item` again after `delayMs` unless a newer item for `key` arrived meanwhile. */
  retryLater(key: K, item: T, delayMs: number): void;
  /** Forgets a key (its waiting item and any delayed re-run); a running job finishes as stale. */
  drop(key: K): void;
  /** Settles when nothing is running, waiting or scheduled. */
  idle(): Promise<void>;
  /** Cancels delayed re-runs and stops taking new work. */
  close(): void;
}

interface Slot<T> {
  version: number;
  waiting?: T;
  running: boolean;
  timer?: NodeJS.Timeout;
}

export function createLatestQueue<K, T>(opts: {
  concurrency: number;
  run(key: K, item: T, ctx: JobContext): Promise<void>;
  /** Called when run() throws; the queue itself never throws. */
  onError(key: K, item: T, error: unknown): void;
}): LatestQueue<K, T> {
  const slots = new Map<K, Slot<T>>();
  const ready: K[] = [];
  let active = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const busy = () =>
    active > 0 || ready.length > 0 || [...slots.values()].some((s) => s.timer || s.waiting !== undefined);

  function settle(): void {
    if (busy()) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const f of w) f();
  }

  function pump(): void {
    while (active < opts.concurrency && ready.length > 0) {
      const key = ready.shift() as K;
      const slot = slots.get(key);
      if (!slot || slot.running || slot.waiting === undefined) continue;
      const item = slot.waiting;
      slot.waiting = undefined;
      slot.running = true;
      active++;
      const version = slot.version;
      const ctx: JobContext = { isCurrent: () => slots.get(key) === slot && slot.version === version };
      void opts
        .run(key, item, ctx)
        .catch((e: unknown) => opts.onError(key, item, e))
        .finally(() => {
          active--;
          slot.running = false;
          if (slot.waiting !== undefined && slots.get(key) === slot) ready.push(key);
          else if (!slot.timer && slots.get(key) === slot) slots.delete(key);
          pump();
          settle();
        });
    }
  }

  function push(key: K, item: T): void {
    if (closed) return;
    let slot = slots.get(key);
    if (!slot) {
      slot = { version: 0, running: false };
      slots.set(key, slot);
    }
    slot.version++;
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    const wasWaiting = slot.waiting !== undefined;
    slot.waiting = item;
    if (!slot.running && !wasWaiting) ready.push(key);
    pump();
  }

  return {
    push,
    retryLater(key, item, delayMs) {
      if (closed) return;
      let s = slots.get(key);
      if (!s) {
        s = { version: 0, running: false };
        slots.set(key, s);
      }
      const slot = s;
      const version = slot.version;
      if (s.timer) clearTimeout(s.timer);
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        // A newer item arrived meanwhile (version moved on): it supersedes this re-run.
        if (slots.get(key) === slot && slot.version === version) push(key, item);
        else if (slots.get(key) === slot && !slot.running && slot.waiting === undefined) slots.delete(key);
        settle();
      }, delayMs);
      slot.timer.unref?.();
    },
    drop(key) {
      const slot = slots.get(key);
      if (!slot) return;
      if (slot.timer) clearTimeout(slot.timer);
      slots.delete(key);
      settle();
    },
    idle() {
      if (!busy()) return Promise.resolve();
      return new Promise<void>((r) => idleWaiters.push(r));
    },
    close() {
      closed = true;
      for (const s of slots.values()) {
        if (s.timer) clearTimeout(s.timer);
        s.timer = undefined;
        s.waiting = undefined;
      }
      ready.length = 0;
      settle();
    },
  };
}
