// A config repo at an https URL (`berth serve --remote URL`): a bare cache dir holds the objects;
// `refresh` fetches one branch (on a webhook, on the interval, after a lost push race) and
// mirrors it as refs/heads/<branch> in the cache, so refs resolve there as they would in a clone;
// `publish` pushes with compare-and-swap. The token only ever travels in request headers. I/O.
import { mkdir } from "node:fs/promises";
import git from "isomorphic-git";
import { atomicFs as fs, removeCrashLeftovers } from "../git/atomic-fs.js";
import { openGitDir } from "../git/objects.js";
import { forceRef, type LockPolicy, readRef } from "../git/refs.js";
import {
  fetchBranch,
  initCache,
  openRemote,
  pushBranch,
  redactUrl,
  remoteDefaultBranch,
} from "../git/remote.js";
import type { ConfigSource, PublishResult } from "./types.js";

export interface RemoteSourceOptions {
  url: string;
  token?: string;
  cacheDir: string;
  /** Interval of the safety-net fetch, ms. */
  pollIntervalMs: number;
  /** How stale ref locks in the cache (a crash's leftovers) are recognised and reported. */
  lockPolicy?: LockPolicy;
  /** Told how many temporary files a crash had left in the cache (removed at open). */
  onLeftovers?: (count: number) => void;
}

export async function openRemoteSource(opts: RemoteSourceOptions): Promise<ConfigSource> {
  await mkdir(opts.cacheDir, { recursive: true });
  const leftovers = await removeCrashLeftovers(opts.cacheDir);
  if (leftovers > 0) opts.onLeftovers?.(leftovers);
  const gd = openGitDir(opts.cacheDir);
  const policy = opts.lockPolicy;
  await initCache(gd);
  // The fetch refspec lets isomorphic-git record remote-tracking refs; the URL is stored without
  // credentials (the real one, and the token, are passed on each call).
  await git.setConfig({ fs, gitdir: gd.gitdir, path: "remote.origin.url", value: redactUrl(opts.url) });
  await git.setConfig({
    fs,
    gitdir: gd.gitdir,
    path: "remote.origin.fetch",
    value: "+refs/heads/*:refs/remotes/origin/*",
  });
  const remote = openRemote(opts.url, opts.token);
  let timer: NodeJS.Timeout | undefined;

  const tip = (branch: string) => readRef(gd.gitdir, `refs/heads/${branch}`);
  return {
    mode: "remote",
    git: gd,
    loadDir: opts.cacheDir,
    describe: redactUrl(opts.url),
    tip,
    defaultBranch: () => remoteDefaultBranch(remote),
    async refresh(branch: string): Promise<string | null> {
      const oid = await fetchBranch(gd, remote, branch);
      const ref = `refs/heads/${branch}`;
      if (oid === null) await git.deleteRef({ fs, gitdir: gd.gitdir, ref }).catch(() => {});
      else await forceRef(gd.gitdir, ref, oid, policy);
      return oid;
    },
    async publish(branch: string, commit: string, expected: string | null): Promise<PublishResult> {
      // Pushed from a scratch ref, so the cache's branch only moves once the remote accepted it.
      const scratch = `refs/berth/push/${branch}`;
      await forceRef(gd.gitdir, scratch, commit, policy);
      try {
        const result = await pushBranch(gd, remote, scratch, branch, expected);
        if (result === "ok") await forceRef(gd.gitdir, `refs/heads/${branch}`, commit, policy);
        return result;
      } finally {
        await git.deleteRef({ fs, gitdir: gd.gitdir, ref: scratch }).catch(() => {});
      }
    },
    async watch(onChange) {
      timer = setInterval(() => onChange("poll"), opts.pollIntervalMs);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      await remote.http.close();
    },
  };
}
