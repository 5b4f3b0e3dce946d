// Pairs each desired instance with what its node reported and says, per instance, whether it runs
// the desired version, whether it is healthy, and what is wrong in one line. A report from a node
// the reconciler cannot vouch for (stale, lost) is not trusted: its instances are unknown. Pure.
import type { InstanceRow, Liveness, NodeInput, ReportedWorkload } from "./types.js";

const failingStates = new Set(["failed", "crash-looping"]);

/** The node's liveness as the page shows it; absent means the reconciler does not say. */
export function livenessOf(n: NodeInput): Liveness | "unknown" {
  return n.liveness ?? "unknown";
}

/** Whether the node's report can be believed now (stale and lost nodes' reports are old news). */
export function vouched(n: NodeInput): boolean {
  return n.status !== null && n.liveness !== "stale" && n.liveness !== "lost";
}

/** One line, at most `max` characters: the first non-empty line of `text`. */
export function oneLine(text: string | null | undefined, max = 240): string | null {
  if (!text) return null;
  const line =
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== "") ?? "";
  if (line === "") return null;
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Why a reported instance is not right, in words, or null when it is. */
export function problemOf(r: ReportedWorkload | undefined, current: boolean | null): string | null {
  if (!r) return "no report for this instance";
  const op = r.operation;
  if (op && (op.status === "failed" || op.status === "backoff")) {
    const cause = op.cause ? `${op.cause.where}: ${op.cause.message}` : op.lastError;
    return oneLine(cause) ?? oneLine(op.step) ?? `operation ${op.status}`;
  }
  if (failingStates.has(r.state)) return exitLine(r) ?? oneLine(op?.lastError) ?? `instance ${r.state}`;
  if (r.health === "unhealthy") return oneLine(op?.lastError) ?? exitLine(r) ?? "health check failing";
  if (current === false) return op?.status === "running" ? oneLine(op.step) : "runs another version";
  return null;
}

function exitLine(r: ReportedWorkload): string | null {
  const e = r.lastExit;
  if (!e) return null;
  const how = e.signal ? `killed by ${e.signal}` : e.code === null ? "exited" : `exited with code ${e.code}`;
  const last = [...(e.output ?? [])].reverse().find((l) => l.trim() !== "");
  return oneLine(last ? `${how}: ${last}` : how);
}

/** The desired instances of one node, paired with its report. */
export function instancesOf(n: NodeInput): InstanceRow[] {
  const doc = n.desired;
  if (!doc) return [];
  const trusted = vouched(n);
  const reported = new Map<string, ReportedWorkload>();
  for (const w of n.status?.workloads ?? []) reported.set(w.id, w);
  const liveness = livenessOf(n);
  return doc.workloads.map((w): InstanceRow => {
    const r = trusted ? reported.get(w.id) : undefined;
    const current = r ? (r.specHash === null ? null : r.specHash === w.specHash) : null;
    // Agents report `failed` or `crash-looping` for a new version that fails while the previous
    // version keeps serving; `health` is then that version's (unknown when nothing runs). A stopped
    // instance serves nothing.
    const serving =
      r?.state === "running" ||
      r?.state === "starting" ||
      r?.state === "failed" ||
      r?.state === "crash-looping";
    const health = r ? (serving ? r.health : "unhealthy") : "unknown";
    return {
      node: n.node,
      app: w.app,
      id: w.id,
      replica: w.replica,
      slot: r?.slot ?? null,
      port: r?.hostPort ?? w.hostPort ?? null,
      state: r ? r.state : "unknown",
      health,
      current,
      restarts: r?.restarts ?? null,
      since: r?.startedAt ?? null,
      operation: r?.operation ?? null,
      lastExit: r?.lastExit ?? null,
      problem: trusted
        ? problemOf(r, current)
        : n.status === null
          ? "the agent has not reported yet"
          : `node ${liveness}: its last report cannot be vouched for`,
      liveness,
    };
  });
}
