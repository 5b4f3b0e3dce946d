// Reading and compare-and-swap updating of refs in a git directory, with git's own locking
// protocol (`<ref>.lock` created exclusively, then renamed over the ref), so a concurrent native
// git or a second berth never sees a torn or lost update. Only the ref asked for is touched: never
// HEAD, the index or a working tree. I/O.
//
// A lock left behind by a crash (kill -9 between creating `<ref>.lock` and renaming it) would stop
// every later update. git holds a ref lock for milliseconds and itself gives up waiting after
// 100 ms (core.filesRefLockTimeout), so a lock that has not changed for `staleMs` (10 s by default)
// belongs to no live writer: it is moved aside atomically and removed (see breakStale), and the
// update goes on. See docs/reconciler.md "Crash safety".
import fs from "node:fs";
import { link, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import git from "isomorphic-git";
import { crashPoint } from "../crash-points.js";

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

/** A lock that was found stale and removed (for the caller's log). */
export interface BrokenLock {
  lock: string;
  ref: string;
  /** How long the lock file had existed, by its modification time, ms. */
  ageMs: number;
}

export interface LockPolicy {
  /** A lock file unchanged for this long is a crash's leftover and is removed. Default 10 s. */
  staleMs?: number;
  /** How long to wait for a lock that is not stale before giving up (RefLockedError). Default 2 s. */
  waitMs?: number;
  /** Told of every stale lock removed. */
  onStaleLock?: (broken: BrokenLock) => void;
}

export const defaultLockStaleMs = 10_000;

/**
 * Sets `ref` to `next` only if it currently points at `expected` (null: must not exist).
 * Returns false when it points elsewhere. Waits briefly for a lock held by another process.
 */
export async function compareAndSwapRef(
  gitdir: string,
  ref: string,
  next: string,
  expected: string | null,
  policy: LockPolicy = {},
): Promise<boolean> {
  const path = join(gitdir, ref);
  const lock = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true });
  const handle = await acquire(lock, ref, policy);
  crashPoint("ref-locked");
  let renamed = false;
  try {
    const current = await readRef(gitdir, ref);
    if (current !== expected) return false;
    await handle.writeFile(`${next}\n`);
    await handle.close();
    crashPoint("ref-lock-written");
    await rename(lock, path);
    renamed = true;
    crashPoint("ref-renamed");
    return true;
  } finally {
    if (!renamed) {
      await handle.close().catch(() => {});
      await unlink(lock).catch(() => {});
    }
  }
}

/** Sets `ref` to `next` whatever it pointed at (for refs only berth writes, e.g. a cache mirror). */
export async function forceRef(
  gitdir: string,
  ref: string,
  next: string,
  policy: LockPolicy = {},
): Promise<void> {
  for (;;) {
    const current = await readRef(gitdir, ref);
    if (current === next) return;
    if (await compareAndSwapRef(gitdir, ref, next, current, policy)) return;
  }
}

/** What a lock file looked like when first seen, to notice one that never changes. */
interface Sighting {
  ino: number;
  mtimeMs: number;
  size: number;
  firstSeen: number;
}

// Per lock path: the same file seen unchanged for staleMs of our own clock is stale even when its
// mtime cannot be trusted (a clock set back would make an old lock look young forever).
const sightings = new Map<string, Sighting>();

async function acquire(lock: string, ref: string, policy: LockPolicy) {
  const staleMs = policy.staleMs ?? defaultLockStaleMs;
  const deadline = performance.now() + (policy.waitMs ?? 2_000);
  for (;;) {
    try {
      const handle = await open(lock, "wx");
      sightings.delete(lock);
      return handle;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const verdict = await breakStale(lock, ref, staleMs);
    if (verdict === "gone") continue;
    if (typeof verdict === "object") {
      policy.onStaleLock?.(verdict);
      continue;
    }
    if (performance.now() > deadline) {
      throw new RefLockedError(
        `cannot update ${ref}: ${lock} exists (${Math.round(verdict / 1000)} s old); another git process holds it. berth removes a lock left by a crash once it is ${Math.round(staleMs / 1000)} s old and retries by itself`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Removes `lock` when it is stale. Returns the removed lock, "gone" when the lock disappeared
 * meanwhile, or the lock's age in ms when it is still live.
 *
 * The lock is renamed aside (atomic: of two berths breaking it at once, one wins) and the file
 * moved is checked to be the one judged stale; if a live writer replaced it in between, it is put
 * back (link fails rather than overwrite a newer lock) and counted as live. The aside name ends in
 * `.lock`, which git and berth's watcher skip as a ref.
 */
async function breakStale(lock: string, ref: string, staleMs: number): Promise<BrokenLock | "gone" | number> {
  let st: fs.Stats;
  try {
    st = await stat(lock);
  } catch {
    return "gone";
  }
  const now = performance.now();
  const seen = sightings.get(lock);
  const same = seen && seen.ino === st.ino && seen.mtimeMs === st.mtimeMs && seen.size === st.size;
  if (!same) sightings.set(lock, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, firstSeen: now });
  const ageMs = Math.max(Date.now() - st.mtimeMs, same ? now - seen.firstSeen : 0);
  if (ageMs < staleMs) return ageMs;

  const aside = `${lock.slice(0, -".lock".length)}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.stale.lock`;
  try {
    await rename(lock, aside);
  } catch {
    return "gone";
  }
  const moved = await stat(aside).catch(() => null);
  if (!moved || moved.ino !== st.ino || moved.mtimeMs !== st.mtimeMs) {
    await link(aside, lock).catch(() => {});
    await unlink(aside).catch(() => {});
    return 0;
  }
  await unlink(aside).catch(() => {});
  sightings.delete(lock);
  return { lock, ref, ageMs: Math.round(ageMs) };
}
