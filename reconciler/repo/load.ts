// Loads a config repo from its working tree or from a commit: reads the files (the commit's
// through a blob-id cache, so only changed blobs are read and parsed) and hands them to the pure
// loader (core/config). I/O.
import fs from "node:fs";
import { stat } from "node:fs/promises";
import {
  isConfigPath,
  type LoadResult,
  loadFromFiles,
  MAX_FILE_BYTES,
  ParseCache,
} from "../../core/config/index.js";
import type { ConfigFile } from "../../core/config/model.js";
import { RepoError } from "./errors.js";
import { findGitdir } from "./gitdir.js";
import { isoGit } from "./iso-git.js";
import { isoReader } from "./iso-reader.js";
import { hasGitBinary, nativeReader } from "./native-reader.js";
import { resolveRef } from "./refs.js";
import type { TreeReader } from "./tree-entry.js";
import { readWorktreeFiles } from "./worktree.js";

export { RepoError } from "./errors.js";
export { findGitdir } from "./gitdir.js";
export { resolveRef } from "./refs.js";

export interface LoadOptions {
  /** Parsed documents by blob id, kept between loads (the reconciler keeps one for its lifetime). */
  cache?: ParseCache;
}

export interface CommitLoadOptions extends LoadOptions {
  /** How to read git objects: "auto" (default) uses the git binary when installed, else isomorphic-git. */
  reader?: "auto" | "git" | "isomorphic-git";
}

/** Loads the working tree at `dir` (uncommitted edits included; no git needed). */
export async function loadWorktree(
  dir: string,
  opts: LoadOptions = {},
): Promise<LoadResult & { commit: null }> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new RepoError(
      "not-a-dir",
      `${dir} is not a directory`,
      "point --repo at the config repo's directory",
    );
  }
  return { ...loadFromFiles(readWorktreeFiles(dir), opts.cache), commit: null };
}

/**
 * Loads the commit `ref` names (branch, tag, HEAD, full or short id) of the repo at `dir`, a
 * working tree or a bare repo. Throws RepoError "ref-not-found" when there is no such commit.
 */
export async function loadCommit(
  dir: string,
  ref: string,
  opts: CommitLoadOptions = {},
): Promise<LoadResult & { commit: string; subject: string }> {
  const gitdir = await findGitdir(dir);
  const commit = await resolveRef(dir, ref);
  if (commit === null) {
    throw new RepoError(
      "ref-not-found",
      `ref "${ref}" does not exist in ${dir}`,
      "use a branch, tag or commit id of that repo (see git log --oneline)",
    );
  }
  const git = await isoGit();
  const { commit: info } = await git.readCommit({ fs, gitdir, oid: commit });
  const subject = info.message.split("\n", 1)[0] ?? "";
  const reader = pickReader(gitdir, opts.reader ?? "auto");
  const cache = opts.cache ?? new ParseCache({ keepLoads: 1 });

  const entries = await reader.list(commit, isConfigPath);
  // Only blobs the cache lacks are read; oversized ones are never read (their size says enough).
  // Another load sharing the cache may evict entries while we await, so check again until every
  // entry is either read or cached; loadFromFiles then runs without a pause in between.
  const blobs = new Map<string, Uint8Array>();
  for (;;) {
    const wanted = entries.filter(
      (e) => !blobs.has(e.oid) && !cache.has(e.oid) && (e.size === undefined || e.size <= MAX_FILE_BYTES),
    );
    if (wanted.length === 0) break;
    for (const [oid, data] of await reader.blobs([...new Set(wanted.map((e) => e.oid))]))
      blobs.set(oid, data);
  }
  const empty = new Uint8Array(0);
  const files: ConfigFile[] = entries.map((e) => {
    const file: ConfigFile = { path: e.path, blobId: e.oid, content: blobs.get(e.oid) ?? empty };
    if (e.size !== undefined) file.size = e.size;
    return file;
  });
  return { ...loadFromFiles(files, cache), commit, subject };
}

function pickReader(gitdir: string, choice: "auto" | "git" | "isomorphic-git"): TreeReader {
  const forced = process.env.BERTH_GIT_READER;
  const want = choice === "auto" && (forced === "git" || forced === "isomorphic-git") ? forced : choice;
  if (want === "git" || (want === "auto" && hasGitBinary())) return nativeReader(gitdir);
  return isoReader(gitdir);
}
