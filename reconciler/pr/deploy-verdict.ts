// Whether a published generation is deployed: every affected node applied its new document and
// converged with no failing workload, or some node reports failing workloads for that document.
// Pure: plain data in, a verdict out.
import type { NodeStatus } from "../../schema/index.js";

export interface DeployTarget {
  /** Config commit that was published. */
  commit: string;
  /** Affected nodes (document hash changed by this publish) and the hash each must apply. */
  nodes: Map<string, string>;
}

export type DeployVerdict =
  /** `failing`: nodes that already report failing workloads while others are still applying. */
  | { state: "waiting"; waitingFor: string[]; failing: string[] }
  | { state: "succeeded" }
  | { state: "failed"; failing: string[] };

const failingState = (w: NodeStatus["workloads"][number]): boolean =>
  w.state === "failed" || w.state === "crash-looping";

/** Failing workloads of a node as "node/workload (reason)", or the node itself when none is named. */
function failingOf(node: string, s: NodeStatus): string[] {
  const out: string[] = [];
  for (const w of s.workloads) {
    if (failingState(w) || w.health === "unhealthy") {
      const why =
        w.operation?.cause?.message ?? w.operation?.lastError ?? (failingState(w) ? w.state : "unhealthy");
      out.push(`${node}/${w.id} (${why.split("\n")[0]})`);
    }
  }
  if (out.length === 0 && s.ingress?.lastError)
    out.push(`${node} ingress (${s.ingress.lastError.split("\n")[0]})`);
  if (out.length === 0) out.push(`${node} (${s.phase})`);
  return out;
}

export function deployVerdict(
  target: DeployTarget,
  statuses: ReadonlyMap<string, NodeStatus | null | undefined>,
): DeployVerdict {
  const waitingFor: string[] = [];
  const failing: string[] = [];
  for (const [node, hash] of [...target.nodes].sort(([a], [b]) => a.localeCompare(b))) {
    const s = statuses.get(node);
    if (!s) {
      waitingFor.push(node);
      continue;
    }
    const applied = s.appliedHash === hash;
    const workloadsOk = s.workloads.every((w) => !failingState(w) && w.health !== "unhealthy");
    if (applied && s.phase === "converged" && workloadsOk) continue;
    // The agent has this document and says it cannot get it healthy: that is a verdict, though
    // a later report (after a retry) may still turn it into success.
    if (s.desiredHash === hash && (s.phase === "failed" || s.phase === "degraded")) {
      failing.push(...failingOf(node, s));
      continue;
    }
    waitingFor.push(node);
  }
  if (failing.length > 0 && waitingFor.length === 0) return { state: "failed", failing };
  if (waitingFor.length > 0) return { state: "waiting", waitingFor, failing };
  return { state: "succeeded" };
}
