// Commit statuses on the tracked branch: "berth/plan" goes pending ("planning") and then success
// ("published: Plan: …") or failure ("rejected: N errors: …"); "berth/deploy" says whether every
// affected node converged healthy. Calls return at once; statuses are sent in the background, in
// order per commit and context, and a status superseded before it was sent is skipped. A forge
// outage is logged and reported as an `error` event, never thrown at the reconciler.
import type { Logger } from "pino";
import type { EventSink } from "../contracts.js";
import type { CommitStatus, ForgeClient } from "../forge/client.js";
import { ForgeApiError } from "../forge/client.js";
import { errorsLine } from "./status-text.js";

export const PLAN_CONTEXT = "berth/plan";
export const DEPLOY_CONTEXT = "berth/deploy";

export interface DeployResult {
  ok: boolean;
  /** Failing workloads (e.g. "node-a/web-0") or nodes with the reason, when !ok. */
  failing: string[];
}

export interface CommitStatusReporter {
  planning(sha: string): void;
  published(sha: string, planSummary: string): void;
  rejected(sha: string, errorCount: number, first: string): void;
  /** Pending while agents apply the published documents (the deploy tracker calls it). */
  deploying(sha: string, nodeCount: number): void;
  deployed(sha: string, result: DeployResult): void;
  /** The deploy of `sha` was replaced by a newer publish before it finished. */
  superseded(sha: string, by: string): void;
  /** Settles when every status handed in so far was sent or given up on (tests, shutdown). */
  idle(): Promise<void>;
}

interface Lane {
  next?: CommitStatus;
  sending: boolean;
  timer?: NodeJS.Timeout;
}

/** How many times one status is re-sent after the client gave up on a rate limit. */
const maxResends = 3;

export function createCommitStatusReporter(
  forge: ForgeClient,
  logger: Logger,
  opts: { targetUrl?: string; events?: EventSink } = {},
): CommitStatusReporter {
  const lanes = new Map<string, Lane>();
  let waiters: (() => void)[] = [];
  const busy = () => [...lanes.values()].some((l) => l.sending || l.timer || l.next);
  const settle = () => {
    if (busy()) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  async function drain(key: string, sha: string, lane: Lane, resends = 0): Promise<void> {
    lane.sending = true;
    while (lane.next) {
      const status = lane.next;
      lane.next = undefined;
      try {
        await forge.setCommitStatus(sha, status);
        logger.debug({ sha, context: status.context, state: status.state }, "commit status set");
      } catch (e) {
        const err = e as Error;
        logger.error(
          { sha, context: status.context, state: status.state, err: err.message },
          "could not set the commit status",
        );
        opts.events?.emit("reconciler-error", {
          where: "commit-status",
          sha,
          context: status.context,
          message: err.message,
        });
        const wait = e instanceof ForgeApiError && e.transient ? (e.retryAfterMs ?? 30_000) : undefined;
        if (wait !== undefined && !lane.next && resends < maxResends) {
          lane.next = status;
          lane.sending = false;
          lane.timer = setTimeout(() => {
            lane.timer = undefined;
            void drain(key, sha, lane, resends + 1);
          }, wait);
          lane.timer.unref?.();
          return;
        }
      }
    }
    lane.sending = false;
    if (!lane.timer) lanes.delete(key);
    settle();
  }

  function set(sha: string, status: CommitStatus): void {
    const key = `${sha}\u0000${status.context}`;
    let lane = lanes.get(key);
    if (!lane) {
      lane = { sending: false };
      lanes.set(key, lane);
    }
    // Only the newest status of a commit and context matters: replace one not sent yet.
    lane.next = opts.targetUrl ? { targetUrl: opts.targetUrl, ...status } : status;
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    if (!lane.sending) void drain(key, sha, lane);
  }

  return {
    planning: (sha) => set(sha, { context: PLAN_CONTEXT, state: "pending", description: "planning" }),
    published: (sha, planSummary) =>
      set(sha, { context: PLAN_CONTEXT, state: "success", description: `published: ${planSummary}` }),
    rejected: (sha, errorCount, first) =>
      set(sha, {
        context: PLAN_CONTEXT,
        state: "failure",
        description: `rejected: ${errorsLine(errorCount, first)}`,
      }),
    deploying: (sha, nodeCount) =>
      set(sha, {
        context: DEPLOY_CONTEXT,
        state: "pending",
        description: `deploying to ${nodeCount} ${nodeCount === 1 ? "node" : "nodes"}`,
      }),
    deployed: (sha, result) =>
      set(sha, {
        context: DEPLOY_CONTEXT,
        state: result.ok ? "success" : "failure",
        description: result.ok
          ? "deployed: all affected nodes converged healthy"
          : `failing: ${result.failing.length > 0 ? result.failing.join(", ") : "deploy did not converge"}`,
      }),
    superseded: (sha, by) =>
      set(sha, {
        context: DEPLOY_CONTEXT,
        state: "error",
        description: `superseded by ${by.slice(0, 7)} before every node converged`,
      }),
    idle() {
      if (!busy()) return Promise.resolve();
      return new Promise<void>((r) => waiters.push(r));
    },
  };
}
