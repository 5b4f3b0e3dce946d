// The per-pull-request queue on its own: newest item wins, one job per key, bounded concurrency
// across keys, delayed re-runs that a newer item cancels, dropped keys, idle().
import { describe, expect, it } from "vitest";
import { createLatestQueue, type JobContext } from "../../reconciler/pr/latest-queue.js";

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

describe("latest queue", () => {
  it("runs one job per key, replaces waiting items, and tells a running job it is stale", async () => {
    const started: string[] = [];
    const stale: string[] = [];
    const g = gate();
    const q = createLatestQueue<number, string>({
      concurrency: 4,
      async run(_k, item, ctx: JobContext) {
        started.push(item);
        if (item === "a") await g.p;
        if (!ctx.isCurrent()) stale.push(item);
      },
      onError: () => undefined,
    });
    q.push(1, "a");
    q.push(1, "b");
    q.push(1, "c");
    g.open();
    await q.idle();
    expect(started).toEqual(["a", "c"]);
    expect(stale).toEqual(["a"]);
  });

  it("bounds concurrency across keys", async () => {
    let running = 0;
    let most = 0;
    const q = createLatestQueue<number, number>({
      concurrency: 2,
      async run() {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
      },
      onError: () => undefined,
    });
    for (let k = 0; k < 6; k++) q.push(k, k);
    await q.idle();
    expect(most).toBe(2);
  });

  it("re-runs later unless a newer item came; errors go to onError; drop forgets", async () => {
    const runs: string[] = [];
    const errors: string[] = [];
    const q = createLatestQueue<number, string>({
      concurrency: 1,
      async run(k, item) {
        runs.push(item);
        if (item === "fail") {
          q.retryLater(k, "retry", 20);
          throw new Error("boom");
        }
      },
      onError: (_k, item) => errors.push(item),
    });
    q.push(1, "fail");
    await q.idle();
    expect(runs).toEqual(["fail", "retry"]);
    expect(errors).toEqual(["fail"]);

    q.push(2, "x");
    await q.idle();
    q.retryLater(2, "late", 50);
    q.push(2, "newer"); // supersedes the scheduled re-run
    await q.idle();
    expect(runs.slice(-2)).toEqual(["x", "newer"]);

    q.retryLater(3, "never", 20);
    q.drop(3);
    await q.idle();
    expect(runs).not.toContain("never");
  });
});
