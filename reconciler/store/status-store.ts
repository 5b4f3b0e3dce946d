// Reads the statuses and liveness verdicts committed on the status branch and writes a batch of
// changed ones as one commit on top of a given tip (other nodes' files are kept). The caller
// moves the branch with compare-and-swap. I/O over git objects.
import type { NodeLiveness } from "../../core/status/liveness.js";
import type { LivenessRecord, NodeStatus } from "../../schema/index.js";
import {
  type GitDir,
  readCommitInfo,
  readFilesOf,
  writeCommitObject,
  writeTreeWith,
} from "../git/objects.js";
import {
  LIVENESS_DIR,
  livenessPath,
  parseLivenessRecord,
  STATUS_NODES_DIR,
  statusFileContent,
  statusMessage,
  statusPath,
} from "./status-layout.js";

const decoder = new TextDecoder();

export interface CommittedStatus {
  /** node → committed status (observedAt absent). */
  statuses: Map<string, NodeStatus>;
  /** node → committed liveness verdict. */
  liveness: Map<string, NodeLiveness>;
  problems: string[];
}

/** What the status branch holds at commit `commit`. */
export async function readCommittedStatuses(gd: GitDir, commit: string): Promise<CommittedStatus> {
  const files = await readFilesOf(gd, commit, [STATUS_NODES_DIR, LIVENESS_DIR]);
  const statuses = new Map<string, NodeStatus>();
  const liveness = new Map<string, NodeLiveness>();
  const problems: string[] = [];
  for (const [path, bytes] of files) {
    const m = /^(nodes|liveness)\/([^/]+)\.json$/.exec(path);
    if (!m?.[2]) continue;
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes));
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    if (m[1] === "nodes") {
      statuses.set(m[2], value as NodeStatus);
      continue;
    }
    const verdict = parseLivenessRecord(value);
    if (verdict) liveness.set(m[2], verdict);
    else problems.push(`${path}: not a liveness record (status.schema.json#/$defs/LivenessRecord)`);
  }
  return { statuses, liveness, problems };
}

/**
 * Writes a commit on top of `parent` (null: first status commit) replacing the files of the nodes
 * in `batch` and the liveness files in `liveness`. Returns null when the tree would not change
 * (e.g. the tip already holds the batch).
 */
export async function writeStatusCommit(
  gd: GitDir,
  parent: string | null,
  batch: ReadonlyMap<string, NodeStatus>,
  liveness: ReadonlyMap<string, LivenessRecord> = new Map(),
): Promise<string | null> {
  const baseTree = parent ? (await readCommitInfo(gd, parent)).tree : null;
  const changes = new Map<string, string>();
  for (const [node, status] of batch) changes.set(statusPath(node), statusFileContent(status));
  for (const [node, record] of liveness)
    changes.set(livenessPath(node), `${JSON.stringify(record, null, 2)}\n`);
  const tree = await writeTreeWith(gd, baseTree, changes);
  if (tree === baseTree) return null;
  return writeCommitObject(gd, {
    tree,
    parents: parent ? [parent] : [],
    message: statusMessage(batch, liveness),
  });
}
