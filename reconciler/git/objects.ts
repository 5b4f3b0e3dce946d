// Small isomorphic-git helpers that write and read git objects directly in a git directory,
// without a worktree or index: blobs, nested trees from a map of paths, commits, and reading the
// files of a commit back. They never touch refs, HEAD or a working tree. I/O.
import fs from "node:fs";
import git from "isomorphic-git";
import { commitContent, type TreeItem, treeContent, writeLooseObject } from "./loose.js";

/** A git directory plus the isomorphic-git object cache shared by every call on it. */
export interface GitDir {
  gitdir: string;
  cache: object;
}

export function openGitDir(gitdir: string): GitDir {
  return { gitdir, cache: {} };
}

const encoder = new TextEncoder();

/** The identity berth writes its commits as. */
export const berthAuthor = { name: "berth", email: "berth@localhost" };

/**
 * Writes the tree that results from applying `changes` (path → content, or null to delete) to
 * `baseTree` (null: an empty tree). Only the subtrees on changed paths are read and rewritten;
 * a directory left empty disappears. Returns the new tree id.
 */
export async function writeTreeWith(
  gd: GitDir,
  baseTree: string | null,
  changes: ReadonlyMap<string, string | Uint8Array | null>,
): Promise<string> {
  const blobs = new Map<string, string | null>();
  const pending = [...changes];
  // A few writes in flight at once: a first publish of a large fleet writes a blob per node.
  for (let i = 0; i < pending.length; i += 32) {
    await Promise.all(
      pending.slice(i, i + 32).map(async ([path, content]) => {
        if (content === null) blobs.set(path, null);
        else {
          const bytes = typeof content === "string" ? encoder.encode(content) : content;
          blobs.set(path, await writeLooseObject(gd.gitdir, "blob", bytes));
        }
      }),
    );
  }
  return (
    (await updateTree(gd, baseTree, blobs)) ?? (await writeLooseObject(gd.gitdir, "tree", treeContent([])))
  );
}

/** Returns the new tree id, or null when the tree ends up empty. */
async function updateTree(
  gd: GitDir,
  treeOid: string | null,
  changes: ReadonlyMap<string, string | null>,
): Promise<string | null> {
  const entries = new Map<string, TreeItem>();
  if (treeOid !== null) {
    const { tree } = await git.readTree({ fs, gitdir: gd.gitdir, oid: treeOid, cache: gd.cache });
    for (const e of tree) {
      // Only files and folders are kept as they were; berth's branches hold nothing else.
      if (e.type === "tree") entries.set(e.path, { mode: "40000", name: e.path, oid: e.oid });
      else if (e.type === "blob") entries.set(e.path, { mode: "100644", name: e.path, oid: e.oid });
    }
  }
  const subdirs = new Map<string, Map<string, string | null>>();
  for (const [path, oid] of changes) {
    const slash = path.indexOf("/");
    if (slash < 0) {
      if (oid === null) entries.delete(path);
      else entries.set(path, { mode: "100644", name: path, oid });
      continue;
    }
    const dir = path.slice(0, slash);
    let sub = subdirs.get(dir);
    if (!sub) {
      sub = new Map();
      subdirs.set(dir, sub);
    }
    sub.set(path.slice(slash + 1), oid);
  }
  for (const [dir, sub] of subdirs) {
    const existing = entries.get(dir);
    const base = existing?.mode === "40000" ? existing.oid : null;
    const oid = await updateTree(gd, base, sub);
    if (oid === null) entries.delete(dir);
    else entries.set(dir, { mode: "40000", name: dir, oid });
  }
  if (entries.size === 0) return null;
  return writeLooseObject(gd.gitdir, "tree", treeContent([...entries.values()]));
}

/** Writes a commit object (no ref is moved) and returns its id. */
export async function writeCommitObject(
  gd: GitDir,
  opts: { tree: string; parents: string[]; message: string; time?: Date },
): Promise<string> {
  const when = opts.time ?? new Date();
  const author = { ...berthAuthor, time: Math.floor(when.getTime() / 1000) };
  const message = opts.message.endsWith("\n") ? opts.message : `${opts.message}\n`;
  return writeLooseObject(
    gd.gitdir,
    "commit",
    commitContent({ tree: opts.tree, parents: opts.parents, author, message }),
  );
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  message: string;
  /** Committer time, ms since the epoch. */
  time: number;
}

export async function readCommitInfo(gd: GitDir, oid: string): Promise<CommitInfo> {
  const { commit } = await git.readCommit({ fs, gitdir: gd.gitdir, oid, cache: gd.cache });
  return {
    oid,
    tree: commit.tree,
    parents: commit.parent,
    message: commit.message,
    time: commit.committer.timestamp * 1000,
  };
}

/**
 * Reads the files of a commit whose path is `prefix` or lies under the folder `prefix/` ("" for
 * every file), as path → bytes. Missing folders give an empty map.
 */
export async function readFilesOf(
  gd: GitDir,
  commit: string,
  prefixes: string[],
): Promise<Map<string, Uint8Array>> {
  const { tree } = await readCommitInfo(gd, commit);
  const out = new Map<string, Uint8Array>();
  for (const prefix of prefixes) await collect(gd, tree, "", prefix, out);
  return out;
}

async function collect(
  gd: GitDir,
  treeOid: string,
  at: string,
  prefix: string,
  out: Map<string, Uint8Array>,
): Promise<void> {
  const { tree } = await git.readTree({ fs, gitdir: gd.gitdir, oid: treeOid, cache: gd.cache });
  for (const e of tree) {
    const path = at === "" ? e.path : `${at}/${e.path}`;
    const inside = prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
    const above = prefix.startsWith(`${path}/`);
    if (!inside && !above) continue;
    if (e.type === "tree") await collect(gd, e.oid, path, prefix, out);
    else if (e.type === "blob" && inside) {
      const { blob } = await git.readBlob({ fs, gitdir: gd.gitdir, oid: e.oid, cache: gd.cache });
      out.set(path, blob);
    }
  }
}

/** True when `ancestor` is `descendant` or one of its ancestors (both must be present locally). */
export async function isAncestorOrSelf(gd: GitDir, ancestor: string, descendant: string): Promise<boolean> {
  if (ancestor === descendant) return true;
  try {
    return await git.isDescendent({
      fs,
      gitdir: gd.gitdir,
      oid: descendant,
      ancestor,
      depth: -1,
      cache: gd.cache,
    });
  } catch {
    // A commit we do not have (or a shallow cut) cannot be proven to be an ancestor.
    return false;
  }
}
