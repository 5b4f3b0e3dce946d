// Several reconcilers on one remote: an agent that failed over may hold a document this one has
// not fetched yet (another published it). Before such an agent is answered, the desired branch is
// fetched (through the loop's single-flight run, bounded in time), so it is never handed an older
// document. "behind" when the branch could not be fetched: the API answers 503 and the agent
// tries another reconciler. The decision over the served state; the fetch is the loop's.
import type { Logger } from "pino";
import type { ServedState } from "./served.js";

/** How long an agent's poll waits for the desired branch when it names a document unknown here. */
const catchUpMs = 5_000;

export function catchUpper(opts: {
  served: ServedState;
  /** Only several reconcilers on one remote can disagree; a local repo has one publisher. */
  remote: boolean;
  /** Asks the loop to fetch the desired branch first on its next run, and runs it. */
  refresh: () => void;
  idle: () => Promise<void>;
  /** When the desired branch was last fetched successfully (ms epoch). */
  fetchedAt: () => number;
  log: Logger;
}): (node: string, etag: string) => Promise<"serve" | "behind"> {
  return async (node, etag) => {
    if (!opts.remote || opts.served.knows(node, etag)) return "serve";
    const asked = Date.now();
    opts.refresh();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      opts.idle(),
      new Promise<void>((r) => {
        timer = setTimeout(r, catchUpMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (opts.served.knows(node, etag) || opts.fetchedAt() >= asked) return "serve";
    opts.log.warn(
      { node, etag },
      "an agent holds a document this reconciler does not know and the desired branch cannot be fetched",
    );
    return "behind";
  };
}
