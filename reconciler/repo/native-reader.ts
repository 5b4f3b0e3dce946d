// Reads a commit's tree with the git binary: `ls-tree -r -z -l` lists every file with its size,
// `cat-file --batch` streams the blobs. About 20x faster than isomorphic-git for a cold read of
// thousands of files (bench/validate.bench.ts), which is what keeps a cold load of a 16,000-file
// commit under its goal. I/O.
import { spawn, spawnSync } from "node:child_process";
import { RepoError } from "./errors.js";
import type { TreeEntry, TreeReader } from "./tree-entry.js";

let available: boolean | undefined;

/** True when a usable `git` binary is on PATH (checked once per process). */
export function hasGitBinary(): boolean {
  available ??= spawnSync("git", ["--version"], { stdio: "ignore" }).status === 0;
  return available;
}

export function nativeReader(gitdir: string): TreeReader {
  return {
    kind: "git",
    async list(commit, keep) {
      const out = await run(gitdir, ["ls-tree", "-r", "-z", "-l", "--full-tree", commit]);
      const entries: TreeEntry[] = [];
      for (const record of out.toString("utf8").split("\0")) {
        if (record === "") continue;
        // "<mode> <type> <oid> <size>\t<path>"
        const tab = record.indexOf("\t");
        const [mode, type, oid, size] = record.slice(0, tab).split(/\s+/);
        const path = record.slice(tab + 1);
        // Regular files only: symlinks (120000) and submodules (commit) are not config.
        if (type !== "blob" || mode === "120000" || !oid || !keep(path)) continue;
        entries.push({ path, oid, size: Number(size) });
      }
      return entries;
    },
    async blobs(oids) {
      const result = new Map<string, Uint8Array>();
      if (oids.length === 0) return result;
      const out = await run(gitdir, ["cat-file", "--batch"], `${oids.join("\n")}\n`);
      // Each object: "<oid> <type> <size>\n<content>\n" (or "<oid> missing\n").
      let pos = 0;
      while (pos < out.length) {
        const eol = out.indexOf(10, pos);
        if (eol === -1) break;
        const [oid, type, size] = out.toString("utf8", pos, eol).split(" ");
        pos = eol + 1;
        if (type === "missing" || !oid) continue;
        const n = Number(size);
        result.set(oid, out.subarray(pos, pos + n));
        pos += n + 1;
      }
      return result;
    },
  };
}

function run(gitdir: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // safe.directory: reading a repo owned by another user is fine for a read-only command.
    const child = spawn("git", ["-c", "safe.directory=*", `--git-dir=${gitdir}`, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
    });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => errors.push(c));
    child.on("error", (err) =>
      reject(new RepoError("git-failed", `could not run git ${args[0]}: ${err.message}`)),
    );
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(chunks));
      else {
        const stderr = Buffer.concat(errors).toString("utf8").trim();
        reject(new RepoError("git-failed", `git ${args[0]} failed in ${gitdir} (exit ${code}): ${stderr}`));
      }
    });
    child.stdin.on("error", () => {
      // git exited before reading all input; the close handler reports why.
    });
    child.stdin.end(input ?? "");
  });
}
