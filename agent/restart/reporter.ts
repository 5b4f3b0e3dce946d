// Tells the reconciler how a restart goes on this node (POST /v1/nodes/{node}/requests/{id}/report)
// and notes it in the app's journal (so `berth logs` shows it). Reports of one request go out in
// order, each retried a few times; a report that cannot be delivered is logged and dropped (the
// reconciler then times the restart out and says so). Never blocks the loop.
import type pino from "pino";
import type { RequestReport } from "../../schema/index.js";
import type { RestartJob } from "../core/restart.js";
import type { Journal } from "../logs/journal.js";

export interface RestartReporter {
  /** The job changed (accepted, a step done, finished); `state` overrides the report's state. */
  changed(job: RestartJob, state?: RequestReport["state"], workload?: string): void;
  /** Reports still being sent (stop waits for them). */
  flush(): Promise<void>;
}

export function createRestartReporter(deps: {
  send(id: string, report: RequestReport, signal: AbortSignal): Promise<void>;
  journal: Journal;
  logger: pino.Logger;
  signal: AbortSignal;
}): RestartReporter {
  let chain: Promise<void> = Promise.resolve();
  return {
    changed(job, state, workload) {
      const report: RequestReport = {
        state: state ?? (job.state === "queued" ? "accepted" : job.state),
        message: job.message,
        done: job.done,
        total: job.total,
        ...(workload ? { workload } : {}),
      };
      const final = report.state === "succeeded" || report.state === "failed" || report.state === "dropped";
      if (report.state === "accepted" || final)
        deps.journal.note(job.app, `restart ${job.id} ${report.state}: ${job.message}`);
      const log =
        final && report.state !== "succeeded"
          ? deps.logger.warn.bind(deps.logger)
          : deps.logger.info.bind(deps.logger);
      log(
        { request: job.id, app: job.app, state: report.state, done: job.done, total: job.total },
        `restart ${report.state}: ${job.message}`,
      );
      chain = chain.then(async () => {
        for (let attempt = 1; attempt <= 3 && !deps.signal.aborted; attempt++) {
          try {
            await deps.send(job.id, report, deps.signal);
            return;
          } catch (e) {
            if (attempt === 3) {
              deps.logger.warn(
                { request: job.id, err: (e as Error).message },
                "cannot tell the reconciler how the restart goes",
              );
            } else {
              await new Promise((ok) => setTimeout(ok, 500 * attempt).unref());
            }
          }
        }
      });
    },
    flush: () => chain,
  };
}
