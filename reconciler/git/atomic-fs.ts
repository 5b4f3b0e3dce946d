// The file system isomorphic-git writes the remote-mode cache through: node's fs, except that
// every whole-file write goes to a temporary file in the same folder and is renamed over the
// target. isomorphic-git writes pack files, their indexes, refs, packed-refs and the config in
// place; a kill -9 in the middle leaves a torn file (a truncated `.idx` makes every later object
// read of the cache fail: a stall no retry cures; test/reconciler/crash-remote.test.ts never
// recovers with in-place writes). With this, a crash leaves the old file or the new one, plus
// at worst a `*.berth-tmp` file that openRemoteSource removes at start. I/O.
import fs from "node:fs";
import { readdir, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { crashPoint } from "../crash-points.js";

const tmpSuffix = ".berth-tmp";

async function atomicWriteFile(
  path: fs.PathLike | fs.promises.FileHandle,
  data: string | Uint8Array,
  options?: fs.WriteFileOptions,
): Promise<void> {
  if (typeof path !== "string") return writeFile(path, data, options);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}-${Math.random().toString(36).slice(2, 10)}${tmpSuffix}`,
  );
  try {
    await writeFile(tmp, data, options);
    crashPoint("cache-tmp-written");
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  crashPoint("cache-renamed");
}

/** node's fs for isomorphic-git, with atomic whole-file writes. */
export const atomicFs = { promises: { ...fs.promises, writeFile: atomicWriteFile } };

/** Removes temporary files a crash left under `dir` (recursively). Returns how many. */
export async function removeCrashLeftovers(dir: string): Promise<number> {
  let removed = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith(tmpSuffix)) continue;
    await unlink(join(e.parentPath, e.name)).then(
      () => removed++,
      () => {},
    );
  }
  return removed;
}
