// Takes turns between long-polls that all wake at once. A publish wakes every waiting agent in
// the same tick; answering a thousand of them in one go would hold every other request (status
// reports, webhooks) until the last is written. Woken polls instead resume at most `perTurn` per
// event-loop turn, with I/O handled between turns. No I/O of its own; only ordering.

export class Turns {
  private used = 0;
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  constructor(readonly perTurn = 50) {}

  /** Resolves when the caller may go on: at once while this turn has room, else in a later turn. */
  take(): Promise<void> {
    if (this.queue.length === 0 && this.used < this.perTurn) {
      this.used++;
      this.schedule();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.schedule();
    });
  }

  /** Callers waiting for a later turn. */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the poll phase: pending requests are read between two turns.
    setImmediate(() => this.nextTurn());
  }

  private nextTurn(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.perTurn);
    this.used = batch.length;
    for (const resolve of batch) resolve();
    if (this.used > 0) this.schedule();
  }
}
