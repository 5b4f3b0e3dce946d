// Resolves what a person types as a ref — branch, tag, remote branch, HEAD, full or short commit
// id, with ~N / ^N suffixes — to a commit id: with the git binary's long-lived cat-file when git
// is installed (which understands every revision form git does), else with isomorphic-git. I/O.
import fs from "node:fs";
import { RepoError } from "./errors.js";
import { findGitdir } from "./gitdir.js";
import { isoGit } from "./iso-git.js";
import { resolveWithGit, useGitBinary } from "./native-reader.js";

/** The commit `ref` names in the repo at `dir` (working tree or bare), or null when there is none. */
export async function resolveRef(
  dir: string,
  ref: string,
  opts: { reader?: "auto" | "git" | "isomorphic-git" } = {},
): Promise<string | null> {
  const gitdir = await findGitdir(dir);
  const name = ref.trim();
  if (name === "") return null;
  if (useGitBinary(opts.reader)) return resolveWithGit(gitdir, name);
  const m = /^(.*?)((?:[~^][0-9]*)*)$/.exec(name);
  const base = m?.[1] ?? "";
  const suffix = m?.[2] ?? "";
  if (base === "") return null;
  let oid = await resolveBase(gitdir, base);
  if (oid === null) return null;
  oid = await peelToCommit(gitdir, oid);
  if (oid === null) return null;
  for (const step of suffix.match(/[~^][0-9]*/g) ?? []) {
    const n = step.length > 1 ? Number(step.slice(1)) : 1;
    if (step[0] === "~") {
      for (let i = 0; i < n && oid !== null; i++) oid = await parent(gitdir, oid, 1);
    } else if (n > 0) {
      oid = await parent(gitdir, oid, n);
    }
    if (oid === null) return null;
  }
  return oid;
}

async function resolveBase(gitdir: string, base: string): Promise<string | null> {
  const git = await isoGit();
  if (/^[0-9a-f]{40}$/.test(base)) return (await exists(gitdir, base)) ? base : null;
  try {
    return await git.resolveRef({ fs, gitdir, ref: base });
  } catch {
    // Not a ref name: maybe a short commit id.
  }
  if (!/^[0-9a-f]{4,39}$/.test(base)) return null;
  try {
    return await git.expandOid({ fs, gitdir, oid: base });
  } catch (err) {
    if ((err as { code?: string }).code === "AmbiguousError") {
      throw new RepoError(
        "ref-ambiguous",
        `commit id "${base}" is ambiguous`,
        "give more digits of the commit id",
      );
    }
    return null;
  }
}

async function peelToCommit(gitdir: string, oid: string): Promise<string | null> {
  const git = await isoGit();
  let current = oid;
  // Annotated tags point at a tag object; follow them to the commit (bounded: tags of tags).
  for (let hops = 0; hops < 10; hops++) {
    let obj: { type: string; object: unknown };
    try {
      obj = (await git.readObject({ fs, gitdir, oid: current, format: "parsed" })) as typeof obj;
    } catch {
      return null;
    }
    if (obj.type === "commit") return current;
    if (obj.type !== "tag") return null;
    current = (obj.object as { object: string }).object;
  }
  return null;
}

async function parent(gitdir: string, oid: string, n: number): Promise<string | null> {
  const git = await isoGit();
  const { commit } = await git.readCommit({ fs, gitdir, oid });
  return commit.parent[n - 1] ?? null;
}

async function exists(gitdir: string, oid: string): Promise<boolean> {
  const git = await isoGit();
  try {
    await git.readObject({ fs, gitdir, oid, format: "deflated" });
    return true;
  } catch {
    return false;
  }
}
