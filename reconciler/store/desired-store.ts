// Reads a generation from the desired branch and writes the next one as a commit object (the
// caller moves the branch with compare-and-swap through its ConfigSource). I/O over git objects.
import { renderJson } from "../../core/views/json.js";
import type { DesiredState } from "../../schema/index.js";
import {
  type GitDir,
  readCommitInfo,
  readFilesOf,
  writeCommitObject,
  writeTreeWith,
} from "../git/objects.js";
import {
  type DesiredSnapshot,
  desiredFiles,
  META_FILE,
  NODES_DIR,
  type ParsedDesired,
  PLAN_FILE,
  parseDesiredFiles,
} from "./desired-layout.js";

export interface PublishedCommit extends ParsedDesired {
  /** The desired-branch commit read. */
  desiredCommit: string;
  /** Its commit time, ms since the epoch. */
  time: number;
}

/** The snapshot stored in desired-branch commit `commit`. */
export async function readDesiredCommit(gd: GitDir, commit: string): Promise<PublishedCommit> {
  const [files, info] = await Promise.all([
    readFilesOf(gd, commit, [META_FILE, PLAN_FILE, NODES_DIR]),
    readCommitInfo(gd, commit),
  ]);
  return { ...parseDesiredFiles(files), desiredCommit: commit, time: info.time };
}

/**
 * Writes `snap` as a commit on top of `parent` (null for the first generation), whose documents
 * are `parent.docs`: only the node files whose document object changed are written.
 */
export async function writeDesiredCommit(
  gd: GitDir,
  snap: DesiredSnapshot,
  parent: { commit: string; docs: ReadonlyMap<string, DesiredState> } | null,
  message: string,
): Promise<string> {
  const baseTree = parent ? (await readCommitInfo(gd, parent.commit)).tree : null;
  const tree = await writeTreeWith(gd, baseTree, desiredFiles(snap, renderJson, parent?.docs));
  return writeCommitObject(gd, { tree, parents: parent ? [parent.commit] : [], message });
}
