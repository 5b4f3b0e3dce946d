// Follows the newest published generation until its deploy is decided and reports it as the
// "berth/deploy" commit status: pending when published, success once every affected node
// converged healthy, failure naming the failing workloads (updated to success if the agents
// recover before the deadline), failure naming silent nodes at the deadline, and "superseded" when
// a newer publish replaces it first. The reconciler feeds it publishes and node reports.
import type { Logger } from "pino";
import type { NodeStatus } from "../../schema/index.js";
import type { CommitStatusReporter } from "./commit-status.js";
import { type DeployTarget, deployVerdict } from "./deploy-verdict.js";

export interface DeployTracker {
  /** A generation was published: `affected` maps each node whose document changed to its new hash. */
  published(commit: string, affected: ReadonlyMap<string, string>): void;
  /** An agent reported (the reconciler calls this for every validated status report). */
  nodeStatus(node: string, status: NodeStatus): void;
  close(): void;
}

export function createDeployTracker(
  reporter: CommitStatusReporter,
  logger: Logger,
  opts: { timeoutMs?: number } = {},
): DeployTracker {
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  const statuses = new Map<string, NodeStatus>();
  let target: DeployTarget | undefined;
  let reported: string | undefined; // the last verdict reported for `target`, as text
  let timer: NodeJS.Timeout | undefined;

  function finish(): void {
    target = undefined;
    reported = undefined;
    if (timer) clearTimeout(timer);
    timer = undefined;
  }

  function evaluate(deadline: boolean): void {
    if (!target) return;
    const v = deployVerdict(target, statuses);
    if (v.state === "succeeded") {
      logger.info({ commit: target.commit }, "deploy converged on every affected node");
      reporter.deployed(target.commit, { ok: true, failing: [] });
      finish();
      return;
    }
    if (v.state === "failed" || deadline) {
      const failing =
        v.state === "failed" ? v.failing : [...v.failing, ...v.waitingFor.map((n) => `${n} (not converged)`)];
      const text = failing.join(", ");
      if (text !== reported) {
        logger.warn({ commit: target.commit, failing }, "deploy failing");
        reporter.deployed(target.commit, { ok: false, failing });
        reported = text;
      }
      if (deadline) finish();
    }
  }

  return {
    published(commit, affected) {
      if (target && target.commit !== commit) reporter.superseded(target.commit, commit);
      finish();
      target = { commit, nodes: new Map(affected) };
      if (affected.size === 0) {
        reporter.deployed(commit, { ok: true, failing: [] });
        finish();
        return;
      }
      reporter.deploying(commit, affected.size);
      timer = setTimeout(() => evaluate(true), timeoutMs);
      timer.unref?.();
      evaluate(false);
    },
    nodeStatus(node, status) {
      statuses.set(node, status);
      if (target?.nodes.has(node)) evaluate(false);
    },
    close: finish,
  };
}
