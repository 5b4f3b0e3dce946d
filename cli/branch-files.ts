// Reads the JSON files berth keeps on its own branches (berth/status, berth/desired) straight from
// the git object store, so `berth status` and `berth history` work with no reconciler running.
import * as fs from "node:fs";
import git from "isomorphic-git";

export function gitArgs(repo: string): { fs: typeof fs; dir?: string; gitdir: string } {
  const dotGit = `${repo}/.git`;
  return fs.existsSync(dotGit) ? { fs, dir: repo, gitdir: dotGit } : { fs, gitdir: repo };
}

/** The commit a branch points at: the local branch, else origin's copy of it; null when neither exists. */
export async function branchTip(repo: string, branch: string): Promise<string | null> {
  for (const ref of [`refs/heads/${branch}`, `refs/remotes/origin/${branch}`]) {
    try {
      return await git.resolveRef({ ...gitArgs(repo), ref });
    } catch {
      // try the next place the branch may live
    }
  }
  return null;
}

/** Parsed `*.json` files directly under `folder` in `commit` (empty when the folder does not exist). */
export async function readJsonFolder<T>(
  repo: string,
  commit: string,
  folder: string,
): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  let tree: Awaited<ReturnType<typeof git.readTree>>;
  try {
    tree = await git.readTree({ ...gitArgs(repo), oid: commit, filepath: folder });
  } catch {
    return out;
  }
  for (const entry of tree.tree) {
    if (entry.type !== "blob" || !entry.path.endsWith(".json")) continue;
    const { blob } = await git.readBlob({ ...gitArgs(repo), oid: entry.oid });
    out.set(entry.path.replace(/\.json$/, ""), JSON.parse(Buffer.from(blob).toString("utf8")) as T);
  }
  return out;
}

/** One parsed JSON file of a commit, or null when it is not there. */
export async function readJsonFile<T>(repo: string, commit: string, path: string): Promise<T | null> {
  try {
    const { blob } = await git.readBlob({ ...gitArgs(repo), oid: commit, filepath: path });
    return JSON.parse(Buffer.from(blob).toString("utf8")) as T;
  } catch {
    return null;
  }
}
