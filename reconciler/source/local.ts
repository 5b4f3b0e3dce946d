// A config repo on this machine (`berth serve --repo PATH`): objects and refs are read in place
// from its git directory, the desired and status branches are updated there with compare-and-
// swap on the ref file, and commits are noticed by watching the refs (chokidar) plus a cheap
// periodic check. Never touches the working tree, the index or HEAD. I/O.
import fs from "node:fs";
import { watch as chokidarWatch, type FSWatcher } from "chokidar";
import git from "isomorphic-git";
import { openGitDir } from "../git/objects.js";
import { compareAndSwapRef, type LockPolicy, readRef } from "../git/refs.js";
import { findGitdir } from "../repo/gitdir.js";
import type { ConfigSource, PublishResult } from "./types.js";

export interface LocalSourceOptions {
  repoDir: string;
  /** Interval of the safety-net ref check, ms. */
  pollIntervalMs: number;
  /** Branches berth writes itself: changes under them are not worth a look. */
  ownBranches?: string[];
  /** How stale ref locks (a crash's leftovers) are recognised and reported. */
  lockPolicy?: LockPolicy;
}

export async function openLocalSource(opts: LocalSourceOptions): Promise<ConfigSource> {
  const gitdir = await findGitdir(opts.repoDir);
  const gd = openGitDir(gitdir);
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const own = (opts.ownBranches ?? []).map((b) => `${gitdir}/refs/heads/${b}`);

  const tip = (branch: string) => readRef(gitdir, `refs/heads/${branch}`);
  return {
    mode: "local",
    git: gd,
    loadDir: opts.repoDir,
    describe: opts.repoDir,
    refresh: tip,
    tip,
    async defaultBranch() {
      return (await git.currentBranch({ fs, gitdir, fullname: false, test: true })) ?? null;
    },
    async publish(branch: string, commit: string, expected: string | null): Promise<PublishResult> {
      return (await compareAndSwapRef(gitdir, `refs/heads/${branch}`, commit, expected, opts.lockPolicy))
        ? "ok"
        : "rejected";
    },
    async watch(onChange) {
      // Any event means "re-read the refs": the loop compares the tip and does nothing when it
      // did not move. Lock files are git's temporary state; our own branches are our own writes.
      const ignoredRef = (p: string) =>
        p.endsWith(".lock") || own.some((o) => p === o || p.startsWith(`${o}/`));
      const fire = () => onChange("watch");
      // chokidar drops a second "change" of the same file within 50 ms (two quick commits would
      // wait for the periodic check), so the unthrottled raw events drive us; lock files are
      // skipped here as the `ignored` option does not apply to raw events.
      const fireRaw = (_event: string, path: string) => {
        if (!path.endsWith(".lock")) fire();
      };
      const refs = chokidarWatch(`${gitdir}/refs/heads`, {
        ignoreInitial: true,
        atomic: false,
        ignored: ignoredRef,
      });
      // By name: the git dir's other entries (index, logs, objects) change all the time and say
      // nothing about the tracked branch; chokidar also notices packed-refs appearing later.
      const top = chokidarWatch([`${gitdir}/HEAD`, `${gitdir}/packed-refs`], {
        ignoreInitial: true,
        atomic: false,
      });
      const ready = [refs, top].map((w) => {
        watchers.push(w);
        w.on("add", fire).on("unlink", fire).on("raw", fireRaw);
        return new Promise<void>((resolve) => w.once("ready", () => resolve()));
      });
      await Promise.all(ready);
      timer = setInterval(() => onChange("poll"), opts.pollIntervalMs);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      await Promise.all(watchers.map((w) => w.close()));
      watchers.length = 0;
    },
  };
}
