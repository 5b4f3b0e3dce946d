// The reconciler's event stream: a bounded ring buffer of recent events plus live subscribers.
// Serves `GET /v1/events` (SSE with Last-Event-ID resume) and metrics. In memory only, so every
// id names the process that issued it: `<epoch>-<seq>`, where the epoch is made when the process
// starts (start time + randomness) and seq counts from 1. An id from another epoch (an earlier
// reconciler process) can never be mistaken for one of ours: resuming from it is answered with an
// explicit gap, as is resuming from an id that fell out of the buffer. No I/O here.
import { randomBytes } from "node:crypto";
import type { BerthEvent, EventSink, EventType } from "./contracts.js";

export type EventListener = (event: BerthEvent) => void;

export interface Gap {
  /** "restarted": the id is from another reconciler process; "dropped": the buffer moved past it. */
  reason: "restarted" | "dropped";
  /** The cursor asked for. */
  requested: string;
  /** Oldest event still buffered, null when none is. */
  oldestAvailable: string | null;
  /** Newest event, null before the first. */
  latest: string | null;
  /**
   * A cursor in this epoch just before the oldest buffered event: a client that stores it as its
   * Last-Event-ID resumes without being told about the same gap again.
   */
  resumeFrom: string;
}

export interface SinceResult {
  /** Buffered events after the cursor, oldest first (all buffered events after a gap). */
  events: BerthEvent[];
  gap: Gap | null;
}

/** `<epoch>-<seq>` → its parts, or null when it is not an id of that form. */
export function parseEventId(id: string): { epoch: string; seq: number } | null {
  const m = /^([0-9a-z]{1,32})-(\d{1,15})$/.exec(id);
  return m ? { epoch: m[1] as string, seq: Number(m[2]) } : null;
}

/** A Last-Event-ID a client may send: one of ours (any epoch), or a bare number from older berth versions. */
export const isResumeId = (id: string): boolean => parseEventId(id) !== null || /^\d{1,15}$/.test(id);

export const newEpoch = (now = Date.now()): string => `${now.toString(36)}${randomBytes(3).toString("hex")}`;

export class EventBus implements EventSink {
  readonly capacity: number;
  readonly epoch: string;
  private readonly ring: (BerthEvent | undefined)[];
  /** Index in `ring` where the next event goes. */
  private head = 0;
  private size = 0;
  private lastSeq = 0;
  private readonly listeners = new Set<EventListener>();

  constructor(opts: { capacity?: number; epoch?: string } = {}) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? 1000));
    this.ring = new Array(this.capacity);
    this.epoch = opts.epoch ?? newEpoch();
  }

  private idOf(seq: number): string {
    return `${this.epoch}-${seq}`;
  }

  emit(type: EventType, data: Record<string, unknown>): void {
    const event: BerthEvent = { id: this.idOf(++this.lastSeq), type, time: new Date().toISOString(), data };
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

  /** Id of the newest event (null before the first). */
  latestId(): string | null {
    return this.lastSeq === 0 ? null : this.idOf(this.lastSeq);
  }

  /** Id of the oldest buffered event (null when the buffer is empty). */
  oldestId(): string | null {
    return this.size === 0 ? null : this.idOf(this.oldestSeq());
  }

  private oldestSeq(): number {
    return this.lastSeq - this.size + 1;
  }

  /**
   * Events after `cursor` (undefined or 0: every buffered event), with a gap when some are lost.
   * Another number is an id of an older berth version's numbering: answered as a gap.
   */
  since(at: string | number | undefined): SinceResult {
    const oldest = this.oldestSeq();
    if (at === undefined || at === 0) return { events: this.slice(oldest), gap: null };
    const cursor = String(at);
    const parsed = parseEventId(cursor);
    const gap = (reason: Gap["reason"]): SinceResult => ({
      events: this.slice(oldest),
      gap: {
        reason,
        requested: cursor,
        oldestAvailable: this.oldestId(),
        latest: this.latestId(),
        resumeFrom: this.idOf(oldest - 1),
      },
    });
    // Another process's id (or one this process never issued): whatever followed it is gone.
    if (!parsed || parsed.epoch !== this.epoch || parsed.seq > this.lastSeq) return gap("restarted");
    if (parsed.seq + 1 < oldest) return gap("dropped");
    return { events: this.slice(parsed.seq + 1), gap: null };
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

  private slice(fromSeq: number): BerthEvent[] {
    const out: BerthEvent[] = [];
    const tailIndex = (this.head - this.size + this.capacity) % this.capacity;
    const skip = fromSeq - this.oldestSeq();
    for (let i = Math.max(0, skip); i < this.size; i++) {
      const event = this.ring[(tailIndex + i) % this.capacity];
      if (event) out.push(event);
    }
    return out;
  }
}
