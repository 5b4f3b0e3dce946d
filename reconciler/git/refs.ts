// Reading and compare-and-swap updating of refs in a git directory, with git's own locking
// protocol (`<ref>.lock` created exclusively, then renamed over the ref), so a concurrent native
// git or a second berth never sees a torn or lost update. Only the ref asked for is touched: never
// HEAD, the index or a working tree. I/O.
import fs from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import git from "isomorphic-git";

/** The commit a full ref name (refs/heads/x) points at, or null when the ref does not exist. */
export async function readRef(gitdir: string, ref: string): Promise<string | null> {
  try {
    return await git.resolveRef({ fs, gitdir, ref });
  } catch (err) {
    if ((err as { code?: string }).code === "NotFoundError") return null;
    throw err;
  }
}

/** Error thrown when a ref stays locked by someone else. */
export class RefLockedError extends Error {
  override name = "RefLockedError";
}

/**
 * Sets `ref` to `next` only if it currently points at `expected` (null: must not exist).
 * Returns false when it points elsewhere. Waits briefly for a lock held by another process.
 */
export async function compareAndSwapRef(
  gitdir: string,
  ref: string,
  next: string,
  expected: string | null,
): Promise<boolean> {
  const path = join(gitdir, ref);
  const lock = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true });
  const handle = await acquire(lock, ref);
  let renamed = false;
  try {
    const current = await readRef(gitdir, ref);
    if (current !== expected) return false;
    await handle.writeFile(`${next}\n`);
    await handle.close();
    await rename(lock, path);
    renamed = true;
    return true;
  } finally {
    if (!renamed) {
      await handle.close().catch(() => {});
      await unlink(lock).catch(() => {});
    }
  }
}

/** Sets `ref` to `next` whatever it pointed at (for refs only berth writes, e.g. a cache mirror). */
export async function forceRef(gitdir: string, ref: string, next: string): Promise<void> {
  for (;;) {
    const current = await readRef(gitdir, ref);
    if (current === next) return;
    if (await compareAndSwapRef(gitdir, ref, next, current)) return;
  }
}

async function acquire(lock: string, ref: string) {
  // git holds ref locks for milliseconds; 2 s of patience covers a busy machine.
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(lock, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 200) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
          throw new RefLockedError(
            `cannot update ${ref}: ${lock} exists; another git process holds it, or it was left by a crash (remove it if no git is running)`,
          );
        }
        throw err;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
