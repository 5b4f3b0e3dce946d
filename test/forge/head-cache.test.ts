// The planner's bare cache against a real git smart-HTTP server: base branch, the forge's pull
// request refs (GitHub/Gitea refs/pull/N/head, GitLab refs/merge-requests/N/head), the fork
// fallback, a head that is gone, and token auth that only goes to the remote's own host.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openHeadCache } from "../../reconciler/pr/head-cache.js";
import { requireTool } from "../helpers/tools.js";
import { type ForgeRepo, makeForgeRepo } from "./git-fixture.js";

const ok = requireTool("git");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(token?: string): Promise<{ repo: ForgeRepo; cacheDir: string }> {
  const repo = await makeForgeRepo({ token });
  cleanups.push(() => repo.cleanup());
  const cacheDir = mkdtempSync(join(tmpdir(), "berth-pr-cache-"));
  cleanups.push(() => rmSync(cacheDir, { recursive: true, force: true }));
  return { repo, cacheDir };
}

describe.skipIf(!ok)("head cache", () => {
  it("fetches the base branch and a GitHub pull ref, then serves it from the cache", async () => {
    const { repo, cacheDir } = await setup();
    const base = await repo.commit({ "a.yaml": "kind: Settings\n" }, "base");
    await repo.push("refs/heads/main");
    await repo.git("checkout", "-q", "-b", "feature");
    const head = await repo.commit({ "b.yaml": "x: 1\n" }, "feature");
    await repo.push("refs/pull/1/head");

    const cache = await openHeadCache({ dir: cacheDir, remoteUrl: repo.url, kind: "github" });
    expect(await cache.fetchBranch("main")).toBe(base);
    expect(await cache.fetchPullHead({ kind: "github", number: 1, sha: head, baseRef: "main" })).toBe(
      "pull-ref",
    );
    const before = repo.server.requests();
    expect(await cache.fetchPullHead({ kind: "github", number: 1, sha: head, baseRef: "main" })).toBe(
      "cached",
    );
    expect(repo.server.requests()).toBe(before);
    // The cache reopens (reconciler restart) and still has it.
    const again = await openHeadCache({ dir: cacheDir, remoteUrl: repo.url, kind: "github" });
    expect(await again.fetchPullHead({ kind: "github", number: 1, sha: head, baseRef: "main" })).toBe(
      "cached",
    );
  });

  it("fetches GitLab's refs/merge-requests/N/head", async () => {
    const { repo, cacheDir } = await setup();
    await repo.commit({ "a.yaml": "a: 1\n" }, "base");
    await repo.push("refs/heads/main");
    const head = await repo.commit({ "a.yaml": "a: 2\n" }, "mr");
    await repo.push("refs/merge-requests/12/head");
    const cache = await openHeadCache({ dir: cacheDir, remoteUrl: repo.url, kind: "gitlab" });
    await cache.fetchBranch("main");
    expect(await cache.fetchPullHead({ kind: "gitlab", number: 12, sha: head, baseRef: "main" })).toBe(
      "pull-ref",
    );
  });

  it("falls back to the head repository's branch (a fork without a pull ref)", async () => {
    const { repo, cacheDir } = await setup();
    await repo.commit({ "a.yaml": "a: 1\n" }, "base");
    await repo.push("refs/heads/main");
    const head = await repo.commit({ "a.yaml": "a: 3\n" }, "fork change");
    const fork = await repo.forkUrl("fork");
    // A fork has its own default branch (isomorphic-git needs the remote's HEAD) and the topic.
    await repo.git("push", "-q", fork, "HEAD~1:refs/heads/main", "HEAD:refs/heads/topic");
    const cache = await openHeadCache({ dir: cacheDir, remoteUrl: repo.url, kind: "gitea" });
    await cache.fetchBranch("main");
    const got = await cache.fetchPullHead({
      kind: "gitea",
      number: 3,
      sha: head,
      baseRef: "main",
      headCloneUrl: fork,
      headRef: "topic",
    });
    expect(got).toBe("head-branch");
  });

  it("says missing when the announced head is nowhere (it moved on)", async () => {
    const { repo, cacheDir } = await setup();
    await repo.commit({ "a.yaml": "a: 1\n" }, "base");
    await repo.push("refs/heads/main");
    await repo.commit({ "a.yaml": "a: 4\n" }, "pr");
    await repo.push("refs/pull/4/head");
    const cache = await openHeadCache({ dir: cacheDir, remoteUrl: repo.url, kind: "github" });
    await cache.fetchBranch("main");
    const gone = "1111111111111111111111111111111111111111";
    expect(
      await cache.fetchPullHead({ kind: "github", number: 4, sha: gone, baseRef: "main", headRef: "nope" }),
    ).toBe("missing");
  });

  it("authenticates with the token against its own host only", async () => {
    const token = "git-remote-token-42";
    const { repo, cacheDir } = await setup(token);
    const base = await repo.commit({ "a.yaml": "a: 1\n" }, "base");
    await repo.push("refs/heads/main");
    const withToken = await openHeadCache({
      dir: cacheDir,
      remoteUrl: repo.plainUrl,
      remoteToken: token,
      kind: "github",
    });
    expect(await withToken.fetchBranch("main")).toBe(base);
    const dir2 = mkdtempSync(join(tmpdir(), "berth-pr-cache-"));
    cleanups.push(() => rmSync(dir2, { recursive: true, force: true }));
    const without = await openHeadCache({ dir: dir2, remoteUrl: repo.plainUrl, kind: "github" });
    await expect(without.fetchBranch("main")).rejects.toThrow();
  });
});
