// Fetches the requests the reconciler holds for this node when a poll answer says there are some,
// and hands each one to its handler (a log session, a restart), once: ids already seen are
// ignored. At most one fetch runs at a time; a poll answer that arrives meanwhile fetches again
// right after. A failed fetch is logged and retried at the next poll answer that flags requests.
import type pino from "pino";
import type { AgentRequest, LogRequest, RestartRequest } from "../../schema/index.js";

export interface RequestDispatcher {
  /** A poll answer said requests are waiting. */
  pending(): void;
}

export function createRequestDispatcher(deps: {
  fetch(signal: AbortSignal): Promise<AgentRequest[]>;
  onLogs(req: LogRequest): void;
  onRestart(req: RestartRequest): void;
  logger: pino.Logger;
  signal: AbortSignal;
}): RequestDispatcher {
  const seen = new Set<string>();
  let running = false;
  let again = false;

  function dispatch(req: AgentRequest): void {
    if (seen.has(req.id)) return;
    seen.add(req.id);
    // Ids are kept to ignore repeats; the oldest are forgotten beyond a bound.
    if (seen.size > 1_000) seen.delete(seen.values().next().value as string);
    deps.logger.info(
      { request: req.id, kind: req.kind, app: req.app },
      `request from the reconciler: ${req.kind} ${req.app}`,
    );
    if (req.kind === "logs") deps.onLogs(req);
    else deps.onRestart(req);
  }

  async function run(): Promise<void> {
    running = true;
    try {
      do {
        again = false;
        try {
          for (const req of await deps.fetch(deps.signal)) dispatch(req);
        } catch (e) {
          if (deps.signal.aborted) return;
          deps.logger.warn(
            { err: (e as Error).message },
            "cannot fetch the reconciler's requests; will retry",
          );
        }
      } while (again && !deps.signal.aborted);
    } finally {
      running = false;
    }
  }

  return {
    pending() {
      if (deps.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      void run();
    },
  };
}
