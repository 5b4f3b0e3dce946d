// Loads a config repo from its working tree or from a commit: reads the files (the commit's
// through a blob-id cache, so only changed blobs are read and parsed) and hands them to the pure
// loader (core/config). I/O.
import { stat } from "node:fs/promises";
import {
  isConfigPath,
  type LoadResult,
  loadFromFiles,
  MAX_FILE_BYTES,
  ParseCache,
  preparse,
} from "../../core/config/index.js";
import type { ConfigFile } from "../../core/config/model.js";
import type { ParsedFile } from "../../core/config/parsed.js";
import { RepoError } from "./errors.js";
import { findGitdir } from "./gitdir.js";
import { isoReader } from "./iso-reader.js";
import { MISSING_HINT, nativeReader, useGitBinary } from "./native-reader.js";
import { resolveRef } from "./refs.js";
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
  const commit = await resolveRef(dir, ref, { reader: opts.reader ?? "auto" });
  if (commit === null) {
    throw new RepoError(
      "ref-not-found",
      `ref "${ref}" does not exist in ${dir}`,
      "use a branch, tag or commit id of that repo (see git log --oneline)",
    );
  }
  const reader = useGitBinary(opts.reader) ? nativeReader(gitdir) : isoReader(gitdir);
  const cache = opts.cache ?? new ParseCache({ keepLoads: 1 });

  const { subject, entries } = await reader.list(commit, isConfigPath);
  // Only blobs the cache lacks are read, and each is parsed into the cache as it arrives, while
  // git is still sending the rest. Oversized ones are never read (their size says enough). The
  // parsed files travel with the list, so loadFromFiles needs no second lookup and nothing a
  // concurrent load evicts meanwhile can go missing.
  const parsed = entries.map((e) => cache.peek(e.oid));
  const wanted = new Set<string>();
  entries.forEach((e, i) => {
    if (parsed[i] === undefined) wanted.add(e.oid);
  });
  const fresh = new Map<string, ParsedFile>();
  const oversized = new Map<string, number>();
  if (wanted.size > 0) {
    await reader.blobs([...wanted], MAX_FILE_BYTES, (blob) => {
      if (blob.content === undefined) oversized.set(blob.oid, blob.size);
      else fresh.set(blob.oid, preparse(cache, blob.oid, blob.content));
    });
  }
  const empty = new Uint8Array(0);
  const files: ConfigFile[] = entries.map((e, i) => {
    const file: ConfigFile = { path: e.path, blobId: e.oid, content: empty };
    const done = parsed[i] ?? fresh.get(e.oid);
    if (done) file.parsed = done;
    const size = oversized.get(e.oid);
    if (size !== undefined) file.size = size;
    else if (!done)
      throw new RepoError(
        "git-failed",
        `blob ${e.oid} (${e.path}) was not read from ${gitdir}`,
        MISSING_HINT,
      );
    return file;
  });
  return { ...loadFromFiles(files, cache), commit, subject };
}
