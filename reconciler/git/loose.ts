// Writes git objects (blobs, trees, commits) as loose objects the way git does: SHA-1 over
// "<type> <size>\0<content>", zlib-deflated, written to a temporary file and renamed into
// objects/xx/yyyy, so a crash (kill -9) never leaves a torn object behind. Synchronous zlib and
// one rename per object keep a publish of a few files in the low milliseconds (isomorphic-git's
// writer goes through web streams and writes in place). I/O.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { crashPoint } from "../crash-points.js";

export type ObjectType = "blob" | "tree" | "commit";

export async function writeLooseObject(
  gitdir: string,
  type: ObjectType,
  content: Uint8Array,
): Promise<string> {
  const header = Buffer.from(`${type} ${content.byteLength}\0`, "latin1");
  const full = Buffer.concat([header, content]);
  const oid = createHash("sha1").update(full).digest("hex");
  const dir = join(gitdir, "objects", oid.slice(0, 2));
  const path = join(dir, oid.slice(2));
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  )
    return oid;
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `tmp_obj_${process.pid}_${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(tmp, deflateSync(full, { level: 1 }), { mode: 0o444 });
    crashPoint("object-tmp-written");
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return oid;
}

export interface TreeItem {
  /** "100644" for a file, "40000" for a directory. */
  mode: "100644" | "40000";
  name: string;
  oid: string;
}

/** The bytes of a tree object; entries sorted as git sorts them (directories as "name/"). */
export function treeContent(items: readonly TreeItem[]): Uint8Array {
  const key = (i: TreeItem) => (i.mode === "40000" ? `${i.name}/` : i.name);
  const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))));
  return Buffer.concat(
    sorted.flatMap((i) => [Buffer.from(`${i.mode} ${i.name}\0`, "utf8"), Buffer.from(i.oid, "hex")]),
  );
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
}

/** The bytes of a commit object (UTC timestamps). */
export function commitContent(opts: {
  tree: string;
  parents: string[];
  author: Signature;
  message: string;
}): Uint8Array {
  const sig = (s: Signature) => `${s.name} <${s.email}> ${s.time} +0000`;
  const lines = [`tree ${opts.tree}`, ...opts.parents.map((p) => `parent ${p}`)];
  lines.push(`author ${sig(opts.author)}`, `committer ${sig(opts.author)}`, "", opts.message);
  return Buffer.from(lines.join("\n"), "utf8");
}
