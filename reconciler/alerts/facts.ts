// The alert engine's input, gathered from what the reconciler already knows: node liveness (from
// the node book; derived from lastSeen where the book does not give it), per app and node what
// should serve against what serves (served documents + agents' reports), the invalid tip of the
// tracked branch, and git trouble seen by this LoopObserver (a run of failed fetches or pushes,
// cleared by the next success). Reads only; never blocks the loop.
import { type Facts, type GitTrouble, livenessDefaults, livenessOf } from "../../core/alerts/index.js";
import { appNodes } from "../../core/status/app-nodes.js";
import type { DesiredState, NodeStatus } from "../../schema/index.js";
import type { ApiBackend, BranchRole, LoopObserver, ReconcileOutcome } from "../contracts.js";

export type FactsBackend = Pick<ApiBackend, "nodes" | "desired" | "published" | "trackedBranch">;

/** Failed fetches and pushes by branch, until the next success (a LoopObserver). */
export class GitTroubleTracker implements LoopObserver {
  private readonly open = new Map<string, GitTrouble>();
  /** A run of the loop has read the tracked tip since this process started. */
  tipChecked = false;
  constructor(private readonly clock: () => number = Date.now) {}

  reconciled(outcome: ReconcileOutcome, _seconds?: number): void {
    if (outcome !== "failed") this.tipChecked = true;
  }
  published(): void {}
  fetched(role: BranchRole, result: "ok" | "error", message?: string): void {
    this.record("fetch", role, result === "error", message);
  }
  pushed(role: BranchRole, result: "ok" | "rejected" | "error", message?: string): void {
    // "rejected" is a lost compare-and-swap race: git works, someone else wrote first.
    this.record("push", role, result === "error", message);
  }
  list(): GitTrouble[] {
    return [...this.open.values()];
  }

  /** `degraded` / `recovered` events ({problem, message}, issue 14): trouble the reconciler announced. */
  event(type: string, data: Record<string, unknown>): void {
    if (type !== "degraded" && type !== "recovered") return;
    const problem = typeof data.problem === "string" ? data.problem : "unknown";
    const message = typeof data.message === "string" ? data.message : problem;
    this.record("degraded", problem, type === "degraded", message);
  }

  private record(op: GitTrouble["op"], branch: string, failed: boolean, message = "failed"): void {
    const key = `${op}:${branch}`;
    if (!failed) {
      this.open.delete(key);
      return;
    }
    const since = this.open.get(key)?.since ?? this.clock();
    this.open.set(key, { op, branch, message, since });
  }
}

export interface FactsOptions {
  startedAt: number;
  /** Whether the tracked tip was checked since the start (default true). */
  tipChecked?: boolean;
  liveness?: { staleAfterMs: number; lostAfterMs: number };
}

export function gatherFacts(
  backend: FactsBackend,
  git: readonly GitTrouble[],
  now: number,
  opts: FactsOptions,
): Facts {
  const desired = new Map<string, DesiredState | undefined>();
  const statuses = new Map<string, NodeStatus | null>();
  const nodes: Facts["nodes"] = [];
  for (const n of backend.nodes()) {
    desired.set(n.node, backend.desired(n.node));
    statuses.set(n.node, n.status);
    nodes.push({
      node: n.node,
      liveness: livenessOf(n, now, opts.startedAt, opts.liveness ?? livenessDefaults),
      lastSeen: n.lastSeen,
    });
  }
  const r = backend.published().rejected;
  return {
    nodes,
    apps: appNodes(desired, statuses),
    rejected: r
      ? {
          branch: backend.trackedBranch(),
          commit: r.commit,
          errors: r.errors,
          diagnostics: r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`),
        }
      : null,
    git: [...git],
    tipChecked: opts.tipChecked ?? true,
    trackedBranch: backend.trackedBranch(),
  };
}
