// Reads a commit's tree with the git binary, through the git dir's long-lived `git cat-file`
// (cat-file.ts): the commit, then its trees level by level, then the blobs, all pipelined. Tree
// listings are remembered by tree id, so the next commit re-reads only the trees it changed
// (a one-file commit: the root tree and one folder). About 20x faster than isomorphic-git for a
// cold read of thousands of files (bench/validate.bench.ts). I/O.
import { spawnSync } from "node:child_process";
import { type CatFile, catFileFor, type GitObject, type Unresolved } from "./cat-file.js";
import { RepoError } from "./errors.js";
import type { TreeEntry, TreeReader } from "./tree-entry.js";

let available: boolean | undefined;

/** True when a usable `git` binary is on PATH (checked once per process). */
export function hasGitBinary(): boolean {
  available ??= spawnSync("git", ["--version"], { stdio: "ignore" }).status === 0;
  return available;
}

/** Whether to read with the git binary: `auto` does when it is installed; BERTH_GIT_READER overrides auto. */
export function useGitBinary(choice: "auto" | "git" | "isomorphic-git" = "auto"): boolean {
  const forced = process.env.BERTH_GIT_READER;
  const want = choice === "auto" && (forced === "git" || forced === "isomorphic-git") ? forced : choice;
  return want === "git" || (want === "auto" && hasGitBinary());
}

/** The commit `name` resolves to (any revision git understands), or null when there is none. */
export async function resolveWithGit(gitdir: string, name: string): Promise<string | null> {
  // No ref or revision holds a line break, and cat-file reads one name per line.
  if (/[\n\r]/.test(name)) return null;
  const [plain, commit] = await catFileFor(gitdir).info([name, `${name}^{commit}`]);
  if (plain && "ambiguous" in plain && plain.ambiguous) {
    throw new RepoError(
      "ref-ambiguous",
      `commit id "${name}" is ambiguous`,
      "give more digits of the commit id",
    );
  }
  return commit && "oid" in commit ? commit.oid : null;
}

interface Listing {
  entries: TreeEntry[];
  used: number;
  /** Listings of the subtrees, reused with this one. */
  children: Listing[];
}

/** What one git dir's reader remembers between loads. */
interface ReaderState {
  cat: CatFile;
  /** Files under a tree (by tree id and path prefix), per keep function. */
  listings: WeakMap<(path: string) => boolean, Map<string, Listing>>;
  generation: number;
}

/** Listings not used by this many consecutive lists are dropped (base, head and a spare). */
const KEEP_LISTS = 4;

const states = new Map<string, ReaderState>();

/** What to do about an object a commit names but the repo lacks. */
export const MISSING_HINT =
  "the repo lacks objects its commits name (a shallow or partial clone, or damage): run git fsck there, or fetch its full history again";

export function nativeReader(gitdir: string): TreeReader {
  let state = states.get(gitdir);
  if (!state) {
    state = { cat: catFileFor(gitdir), listings: new WeakMap(), generation: 0 };
    states.set(gitdir, state);
  }
  const st = state;
  return {
    kind: "git",
    async list(commit, keep) {
      const [obj] = await st.cat.contents([commit]);
      const c = expect(obj, commit, "commit", gitdir);
      const text = c.data.toString("utf8");
      const tree = /^tree ([0-9a-f]+)$/m.exec(text)?.[1];
      if (!tree) throw new RepoError("git-failed", `commit ${commit} in ${gitdir} has no tree`);
      const body = text.indexOf("\n\n");
      const subject = body === -1 ? "" : (text.slice(body + 2).split("\n", 1)[0] ?? "");

      let memo = st.listings.get(keep);
      if (!memo) {
        memo = new Map();
        st.listings.set(keep, memo);
      }
      const gen = ++st.generation;
      const root = await listTree(st.cat, memo, gen, tree, "", keep, gitdir);
      for (const [key, l] of memo) if (l.used <= gen - KEEP_LISTS) memo.delete(key);
      return { subject, entries: root.entries };
    },
    async blobs(oids, maxBytes, onBlob) {
      // One pass: oversized blobs are skipped by cat-file as they stream by, so there is no
      // separate size lookup first (which cost a round trip of about 45 ms for 16,000 blobs).
      const answers = await st.cat.stream(
        oids,
        (_i, obj) => onBlob({ oid: obj.oid, size: obj.size, content: obj.data }),
        maxBytes,
      );
      answers.forEach((a, i) => {
        if ("missing" in a)
          throw new RepoError("git-failed", `blob ${oids[i]} is missing from ${gitdir}`, MISSING_HINT);
        if ("skipped" in a) onBlob({ oid: a.oid, size: a.size, content: undefined });
      });
    },
  };
}

/** Files under tree `oid` at `prefix`, in tree order; subtrees are read concurrently (pipelined). */
async function listTree(
  cat: CatFile,
  memo: Map<string, Listing>,
  gen: number,
  oid: string,
  prefix: string,
  keep: (path: string) => boolean,
  gitdir: string,
): Promise<Listing> {
  const key = `${oid}\u0000${prefix}`;
  const hit = memo.get(key);
  if (hit) {
    markUsed(hit, gen);
    return hit;
  }
  const [obj] = await cat.contents([oid]);
  const tree = expect(obj, oid, "tree", gitdir);
  const parts: (TreeEntry | Promise<Listing>)[] = [];
  for (const e of parseTree(tree.data, oid.length / 2)) {
    const path = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.mode === "40000") {
      // Dot-folders and node_modules are never config: their trees are not read.
      if (!e.name.startsWith(".") && e.name !== "node_modules")
        parts.push(listTree(cat, memo, gen, e.oid, path, keep, gitdir));
    } else if ((e.mode === "100644" || e.mode === "100755") && keep(path)) {
      // Regular files only: symlinks (120000) and submodules (160000) are not config.
      parts.push({ path, oid: e.oid });
    }
  }
  const listing: Listing = { entries: [], used: gen, children: [] };
  for (const p of parts) {
    if ("then" in p) {
      const child = await p;
      listing.children.push(child);
      for (const e of child.entries) listing.entries.push(e);
    } else {
      listing.entries.push(p);
    }
  }
  memo.set(key, listing);
  return listing;
}

/** A listing reused whole reuses its subtrees' listings too: they live as long as it does. */
function markUsed(listing: Listing, gen: number): void {
  listing.used = gen;
  for (const c of listing.children) if (c.used !== gen) markUsed(c, gen);
}

interface RawTreeEntry {
  mode: string;
  name: string;
  oid: string;
}

/** Git's binary tree format: "<mode> <name>\0<raw id>" per entry. */
function parseTree(data: Buffer, idBytes: number): RawTreeEntry[] {
  const out: RawTreeEntry[] = [];
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(32, p);
    const nul = data.indexOf(0, space + 1);
    if (space === -1 || nul === -1 || nul + 1 + idBytes > data.length)
      throw new Error("malformed git tree object");
    out.push({
      mode: data.toString("latin1", p, space),
      name: data.toString("utf8", space + 1, nul),
      oid: data.toString("hex", nul + 1, nul + 1 + idBytes),
    });
    p = nul + 1 + idBytes;
  }
  return out;
}

function expect(
  obj: GitObject | Unresolved | undefined,
  name: string,
  type: "commit" | "tree",
  gitdir: string,
): GitObject {
  if (!obj || "missing" in obj)
    throw new RepoError("git-failed", `${type} ${name} is missing from ${gitdir}`, MISSING_HINT);
  if (obj.type !== type)
    throw new RepoError("git-failed", `${name} in ${gitdir} is a ${obj.type}, not a ${type}`);
  return obj;
}
