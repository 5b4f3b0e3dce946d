// Opens the config repo the reconciler reads and writes: a local repository (watched; branches
// written into its .git) or a remote one fetched into a bare cache (branches pushed). Both take
// ref locks that a crash may leave behind; a lock unchanged for `lockStaleMs` is removed, loudly.
import type { Logger } from "pino";
import { type BrokenLock, defaultLockStaleMs, type LockPolicy } from "../git/refs.js";
import { openLocalSource } from "./local.js";
import { openRemoteSource } from "./remote.js";
import type { ConfigSource } from "./types.js";

export interface SourceOptions {
  repoDir?: string;
  remote?: { url: string; token?: string; cacheDir: string };
  pollIntervalMs?: number;
  lockStaleMs?: number;
  lockWaitMs?: number;
}

export async function openConfigSource(opts: SourceOptions, log: Logger): Promise<ConfigSource> {
  if ((opts.repoDir === undefined) === (opts.remote === undefined)) {
    throw new Error("createReconciler needs exactly one of repoDir (local mode) or remote (remote mode)");
  }
  const lockPolicy: LockPolicy = {
    staleMs: opts.lockStaleMs ?? defaultLockStaleMs,
    ...(opts.lockWaitMs !== undefined ? { waitMs: opts.lockWaitMs } : {}),
    onStaleLock: (b: BrokenLock) =>
      log.warn(
        { lock: b.lock, ref: b.ref, ageMs: b.ageMs },
        "removed a ref lock left by a crash (no git process held it); going on",
      ),
  };
  if (opts.remote) {
    const cacheDir = opts.remote.cacheDir;
    return openRemoteSource({
      ...opts.remote,
      pollIntervalMs: opts.pollIntervalMs ?? 60_000,
      lockPolicy,
      onLeftovers: (count) =>
        log.warn({ count, cacheDir }, "removed temporary files a crash left in the cache"),
    });
  }
  return openLocalSource({
    repoDir: opts.repoDir as string,
    pollIntervalMs: opts.pollIntervalMs ?? 5_000,
    lockPolicy,
  });
}
