// The liveness facts placement depends on: which nodes are lost and since when (failover places
// around them, handoffs stop waiting for them), and a timer that runs the loop again when the next
// lost node's failover grace period ends. Wiring over LivenessWatch; the decisions are
// core/handoff's.
import type { LivenessWatch } from "./watch.js";

export interface LostNodes {
  /** Lost nodes and since when (ms epoch), now. */
  since(): { node: string; since: number }[];
  /** Calls `due` once at `at` (ms epoch; a previous schedule is replaced), or never for null. */
  schedule(at: number | null): void;
  stop(): void;
}

export function lostNodes(opts: {
  liveness: Pick<LivenessWatch, "view">;
  nodes: () => Iterable<string>;
  /** What to do when a scheduled grace period ends (the reconciler plans again). */
  due: () => void;
}): LostNodes {
  let timer: NodeJS.Timeout | undefined;
  const since = () => {
    const now = Date.now();
    return [...opts.nodes()].flatMap((node) => {
      const v = opts.liveness.view(node, now);
      return v.state === "lost" ? [{ node, since: v.since }] : [];
    });
  };
  return {
    since,
    schedule(at) {
      clearTimeout(timer);
      timer = undefined;
      if (at === null) return;
      // 20 ms past the end, so the run sees the grace period over.
      timer = setTimeout(opts.due, Math.max(0, at - Date.now()) + 20);
      timer.unref();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
