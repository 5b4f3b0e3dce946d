// Where alert state lives: one file, alerts.json, on its own branch of the config repo (default
// berth/alerts; in local mode a ref of the repo's .git, in remote mode pushed like the status
// branch). It holds every alert that is pending or open and the outbox of notifications decided
// but not yet delivered. Written with compare-and-swap, so two reconcilers sharing a repo cannot
// both record the same transition: the one whose write lands owns its notifications; the other
// adopts the state it finds. Survives a restart and a lost cache directory alike.
import type { AlertState, Notification } from "../../core/alerts/index.js";
import { readCommitInfo, readFilesOf, writeCommitObject, writeTreeWith } from "../git/objects.js";
import type { ConfigSource } from "../source/types.js";

export const alertsFile = "alerts.json";

/** A notification for one receiver, recorded before it is sent and removed once delivered (or dropped). */
export interface OutboxEntry {
  /** Stable across retries and restarts: the X-Berth-Delivery header. */
  id: string;
  receiver: string;
  notification: Notification;
  /** The reconciler that decided it (host and state location): only it sends it at once after a restart. */
  owner: string;
  queuedAt: number;
}

export interface AlertsDocument {
  version: 1;
  alerts: AlertState[];
  outbox: OutboxEntry[];
}

export type BranchAccess = Pick<ConfigSource, "git" | "mode" | "refresh" | "tip" | "publish">;

export const emptyDocument = (): AlertsDocument => ({ version: 1, alerts: [], outbox: [] });

export interface Loaded {
  tip: string | null;
  doc: AlertsDocument;
  problem?: string;
}

/** Reads the branch's tip (fetching it first in remote mode). An unreadable file starts empty, with a problem. */
export async function loadAlerts(source: BranchAccess, branch: string): Promise<Loaded> {
  const tip = source.mode === "remote" ? await source.refresh(branch) : await source.tip(branch);
  if (tip === null) return { tip, doc: emptyDocument() };
  const files = await readFilesOf(source.git, tip, [alertsFile]);
  const bytes = files.get(alertsFile);
  if (!bytes) return { tip, doc: emptyDocument(), problem: `${branch} has no ${alertsFile}` };
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as AlertsDocument;
    if (doc.version !== 1 || !Array.isArray(doc.alerts) || !Array.isArray(doc.outbox))
      throw new Error("not an alerts document of version 1");
    return { tip, doc };
  } catch (err) {
    return {
      tip,
      doc: emptyDocument(),
      problem: `${branch}:${alertsFile} is unreadable (${(err as Error).message}); starting empty`,
    };
  }
}

/**
 * Commits `doc` on top of `expected` and moves the branch with compare-and-swap. "moved": someone
 * else wrote first (reload and decide again). Unchanged content writes nothing.
 */
export async function saveAlerts(
  source: BranchAccess,
  branch: string,
  expected: string | null,
  doc: AlertsDocument,
  message: string,
): Promise<{ result: "ok"; tip: string | null } | { result: "moved" }> {
  const baseTree = expected ? (await readCommitInfo(source.git, expected)).tree : null;
  const content = `${JSON.stringify(doc, null, 1)}\n`;
  const tree = await writeTreeWith(source.git, baseTree, new Map([[alertsFile, content]]));
  if (tree === baseTree) return { result: "ok", tip: expected };
  const commit = await writeCommitObject(source.git, { tree, parents: expected ? [expected] : [], message });
  const r = await source.publish(branch, commit, expected);
  return r === "ok" ? { result: "ok", tip: commit } : { result: "moved" };
}
