// The reconciler's event stream: a bounded ring buffer of recent events with strictly increasing
// ids, plus live subscribers. Serves `GET /v1/events` (SSE with Last-Event-ID resume) and metrics.
// In memory only: ids restart at 1 with the process, so a resume id from before a restart is
// answered as a gap. No I/O here.
import type { BerthEvent, EventSink, EventType } from "./contracts.js";

export type EventListener = (event: BerthEvent) => void;

export interface SinceResult {
  /** Buffered events with an id greater than the one asked for, oldest first. */
  events: BerthEvent[];
  /** True when events after the asked id were dropped from the buffer (or the id is from another process). */
  gap: boolean;
}

export class EventBus implements EventSink {
  readonly capacity: number;
  private readonly ring: (BerthEvent | undefined)[];
  /** Index in `ring` where the next event goes. */
  private head = 0;
  private size = 0;
  private lastId = 0;
  private readonly listeners = new Set<EventListener>();

  constructor(opts: { capacity?: number } = {}) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? 1000));
    this.ring = new Array(this.capacity);
  }

  emit(type: EventType, data: Record<string, unknown>): void {
    const event: BerthEvent = { id: ++this.lastId, type, time: new Date().toISOString(), data };
    this.ring[this.head] = event;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    for (const fn of this.listeners) {
      // A failing subscriber must not stop the others nor the reconciler that emitted.
      try {
        fn(event);
      } catch {
        // ignored on purpose: subscribers log their own failures
      }
    }
  }

  /** Id of the newest event (0 before the first). */
  latestId(): number {
    return this.lastId;
  }

  /** Id of the oldest buffered event (lastId + 1 when empty). */
  oldestId(): number {
    return this.lastId - this.size + 1;
  }

  since(lastId: number): SinceResult {
    const oldest = this.oldestId();
    if (lastId > this.lastId) {
      // An id this process never issued: the client saw an earlier process. Replay all we have.
      return { events: this.slice(oldest), gap: true };
    }
    const from = Math.max(lastId + 1, oldest);
    return { events: this.slice(from), gap: lastId + 1 < oldest };
  }

  /** Calls `fn` for every event emitted from now on; returns the unsubscribe function. */
  subscribe(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  subscriberCount(): number {
    return this.listeners.size;
  }

  private slice(fromId: number): BerthEvent[] {
    const out: BerthEvent[] = [];
    const tailIndex = (this.head - this.size + this.capacity) % this.capacity;
    const skip = fromId - this.oldestId();
    for (let i = Math.max(0, skip); i < this.size; i++) {
      const event = this.ring[(tailIndex + i) % this.capacity];
      if (event) out.push(event);
    }
    return out;
  }
}
