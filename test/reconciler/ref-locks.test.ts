// Ref locks left by a crash: a lock file unchanged for the stale bound is removed and the update
// goes on (reported once); a younger lock is waited for and then refused with a message that says
// what berth will do; a live writer's lock is never taken over.
import { readdirSync, utimesSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type BrokenLock, compareAndSwapRef, RefLockedError, readRef } from "../../reconciler/git/refs.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";

const ok = requireTool("git");

describe.skipIf(!ok)("ref locks", () => {
  const temp = useTempRepos();

  it("removes a lock left by a crash once it is stale, and reports it", async () => {
    const repo = await temp.makeRepo({ "a.txt": "1\n" });
    const gitdir = `${repo.dir}/.git`;
    const c1 = repo.git("rev-parse", "HEAD");
    const lock = `${gitdir}/refs/heads/main.lock`;
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const c2 = await repo.commit({ "a.txt": "2\n" }, "two").catch(() => null);
    // git itself refuses while the lock is there: this is the stall berth must not share.
    expect(c2).toBeNull();
    const tree = repo.git("rev-parse", "HEAD^{tree}");
    const next = repo.git("commit-tree", tree, "-p", c1, "-m", "next");
    const broken: BrokenLock[] = [];
    const moved = await compareAndSwapRef(gitdir, "refs/heads/main", next, c1, {
      staleMs: 5_000,
      onStaleLock: (b) => broken.push(b),
    });
    expect(moved).toBe(true);
    expect(await readRef(gitdir, "refs/heads/main")).toBe(next);
    expect(broken).toHaveLength(1);
    expect(broken[0]?.ageMs).toBeGreaterThanOrEqual(59_000);
    // Nothing is left next to the ref: no lock, no aside file.
    expect(readdirSync(`${gitdir}/refs/heads`)).toEqual(["main"]);
  });

  it("waits for a young lock, then refuses with what it will do", async () => {
    const repo = await temp.makeRepo({ "a.txt": "1\n" });
    const gitdir = `${repo.dir}/.git`;
    const c1 = repo.git("rev-parse", "HEAD");
    writeFileSync(`${gitdir}/refs/heads/main.lock`, "");
    const err = await compareAndSwapRef(gitdir, "refs/heads/main", c1, c1, {
      staleMs: 60_000,
      waitMs: 100,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefLockedError);
    expect(String(err)).toMatch(/main\.lock exists .*removes a lock left by a crash once it is 60 s old/);
  });

  it("never takes over a lock a live writer keeps changing", async () => {
    const repo = await temp.makeRepo({ "a.txt": "1\n" });
    const gitdir = `${repo.dir}/.git`;
    const c1 = repo.git("rev-parse", "HEAD");
    const lock = `${gitdir}/refs/heads/main.lock`;
    writeFileSync(lock, "");
    // A writer that keeps its lock fresh (as a hung but live process touching it would).
    const touch = setInterval(() => {
      const now = new Date();
      utimesSync(lock, now, now);
    }, 20);
    try {
      const err = await compareAndSwapRef(gitdir, "refs/heads/main", c1, c1, {
        staleMs: 300,
        waitMs: 1_000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefLockedError);
    } finally {
      clearInterval(touch);
    }
  });
});
