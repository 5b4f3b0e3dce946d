// Per app and node: what should serve (the desired document's workloads) against what serves (the
// agent's last report). Gives the revisions (a short hash over the workload specs, so "desired vs
// serving" is one comparable label), instance counts, crash-looping and failed workloads with their
// cause. Pure; read by the reconciler's /metrics and by the alert facts.
import { createHash } from "node:crypto";
import type { DesiredState, NodeStatus, WorkloadStatus } from "../../schema/index.js";

export interface FailingWorkload {
  id: string;
  /** Why, in words: the operation's last error, else the state. */
  cause: string;
}

export interface AppNode {
  app: string;
  node: string;
  /** Short hash of the app's desired workload specs on the node; null when none is desired. */
  desiredRevision: string | null;
  /** Same hash over the specs of the instances the agent reports running; null when none runs. */
  servingRevision: string | null;
  desired: number;
  /** Running, healthy and of the desired spec. */
  healthy: number;
  /** Reported but not healthy (unhealthy or failed), of any spec. */
  unhealthy: number;
  crashLooping: FailingWorkload[];
  /** Workloads whose last operation failed, or that are in state failed. */
  failed: FailingWorkload[];
  /** The node has a report at all (without one, nothing below desired is known). */
  reported: boolean;
}

/** 12 hex characters of SHA-256 over the sorted spec hashes. */
export function revisionOf(specHashes: readonly string[]): string | null {
  if (specHashes.length === 0) return null;
  const h = createHash("sha256");
  for (const s of [...specHashes].sort()) h.update(s).update("\n");
  return h.digest("hex").slice(0, 12);
}

/** The first line of a cause, short enough for a label-free message. */
function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function causeOf(w: WorkloadStatus): string {
  const op = w.operation;
  // Operations carry a cause {where, message} since issue 13; older agents only lastError.
  const cause = (op as { cause?: { where?: string; message?: string } } | null | undefined)?.cause;
  if (cause?.message) return firstLine(cause.where ? `${cause.where}: ${cause.message}` : cause.message);
  if (op?.lastError) return firstLine(op.lastError);
  const exit = (w as { lastExit?: { code?: number | null; signal?: string | null } }).lastExit;
  if (exit) return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return String(w.state);
}

/** Every app on every node that has desired workloads or reports some. Sorted by app, then node. */
export function appNodes(
  desired: ReadonlyMap<string, DesiredState | undefined>,
  statuses: ReadonlyMap<string, NodeStatus | null | undefined>,
): AppNode[] {
  const out = new Map<string, AppNode & { want: string[]; have: string[] }>();
  const entry = (app: string, node: string, reported: boolean) => {
    const key = `${app}\u0000${node}`;
    let e = out.get(key);
    if (!e) {
      e = {
        app,
        node,
        desiredRevision: null,
        servingRevision: null,
        desired: 0,
        healthy: 0,
        unhealthy: 0,
        crashLooping: [],
        failed: [],
        reported,
        want: [],
        have: [],
      };
      out.set(key, e);
    }
    return e;
  };
  const nodes = new Set([...desired.keys(), ...statuses.keys()]);
  for (const node of nodes) {
    const doc = desired.get(node);
    const st = statuses.get(node) ?? null;
    const wanted = new Set<string>();
    for (const w of doc?.workloads ?? []) {
      const e = entry(w.app, node, st !== null);
      e.desired++;
      e.want.push(w.specHash);
      wanted.add(w.specHash);
    }
    for (const w of st?.workloads ?? []) {
      const e = entry(w.app, node, true);
      // The state enum gains "crash-looping" (issue 13); compare as text so both schemas work.
      const state = String(w.state);
      if (state === "running" && w.specHash) e.have.push(w.specHash);
      if (state === "running" && w.health === "healthy" && w.specHash && wanted.has(w.specHash)) e.healthy++;
      if (w.health === "unhealthy" || state === "failed" || state === "crash-looping") e.unhealthy++;
      if (state === "crash-looping") e.crashLooping.push({ id: w.id, cause: causeOf(w) });
      else if (state === "failed" || w.operation?.status === "failed")
        e.failed.push({ id: w.id, cause: causeOf(w) });
    }
  }
  return [...out.values()]
    .map(({ want, have, ...e }) => ({
      ...e,
      desiredRevision: revisionOf(want),
      servingRevision: revisionOf(have),
    }))
    .sort((a, b) => (a.app === b.app ? a.node.localeCompare(b.node) : a.app.localeCompare(b.app)));
}
