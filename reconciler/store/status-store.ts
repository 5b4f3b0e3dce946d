// Reads the statuses committed on the status branch and writes a batch of changed statuses as
// one commit on top of a given tip (other nodes' files are kept). The caller moves the branch
// with compare-and-swap. I/O over git objects.
import type { NodeStatus } from "../../schema/index.js";
import {
  type GitDir,
  readCommitInfo,
  readFilesOf,
  writeCommitObject,
  writeTreeWith,
} from "../git/objects.js";
import { STATUS_NODES_DIR, statusFileContent, statusMessage, statusPath } from "./status-layout.js";

const decoder = new TextDecoder();

/** node → committed status (observedAt absent) at status-branch commit `commit`. */
export async function readCommittedStatuses(
  gd: GitDir,
  commit: string,
): Promise<{ statuses: Map<string, NodeStatus>; problems: string[] }> {
  const files = await readFilesOf(gd, commit, [STATUS_NODES_DIR]);
  const statuses = new Map<string, NodeStatus>();
  const problems: string[] = [];
  for (const [path, bytes] of files) {
    const m = /^nodes\/([^/]+)\.json$/.exec(path);
    if (!m?.[1]) continue;
    try {
      statuses.set(m[1], JSON.parse(decoder.decode(bytes)) as NodeStatus);
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
    }
  }
  return { statuses, problems };
}

/**
 * Writes a commit on top of `parent` (null: first status commit) replacing the files of the nodes
 * in `batch`. Returns null when the tree would not change (e.g. the tip already holds the batch).
 */
export async function writeStatusCommit(
  gd: GitDir,
  parent: string | null,
  batch: ReadonlyMap<string, NodeStatus>,
): Promise<string | null> {
  const baseTree = parent ? (await readCommitInfo(gd, parent)).tree : null;
  const changes = new Map<string, string>();
  for (const [node, status] of batch) changes.set(statusPath(node), statusFileContent(status));
  const tree = await writeTreeWith(gd, baseTree, changes);
  if (tree === baseTree) return null;
  return writeCommitObject(gd, { tree, parents: parent ? [parent] : [], message: statusMessage(batch) });
}
