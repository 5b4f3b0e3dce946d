// kill -9 of `berth serve --remote` (the real git smart-HTTP server) at every crash point of a
// publish and of a status batch (see crash-sweep.ts), including the writes isomorphic-git makes in
// the bare cache (packs, indexes, refs, config) and the moment a push was accepted by the server
// but not yet recorded: publishing and status writing resume by themselves, nothing is published
// twice, and the cache and the remote stay sound (git fsck).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { crashSweep, type SweepTarget } from "./crash-sweep.js";
import { appYaml, baseConfig, desiredHistory } from "./helpers.js";

const ok = requireTool("git");

describe.skipIf(!ok)("kill -9 sweep, remote repo", () => {
  const temp = useTempRepos();

  async function target(): Promise<SweepTarget & { close(): Promise<void> }> {
    const root = temp.makeTempDir("berth-remote-");
    const bare = join(root, "cfg.git");
    runGit(root, "init", "-q", "--bare", "-b", "main", bare);
    const work = await temp.makeRepo(baseConfig());
    work.git("push", "-q", bare, "main");
    const server = await startGitHttpServer({ root });
    const url = `${server.url}/cfg.git`;
    const cacheDir = join(temp.makeTempDir("berth-cache-"), "cache");
    return {
      serveArgs: ["--remote", url, "--cache-dir", cacheDir],
      source: { remote: { url, cacheDir } },
      gitdir: cacheDir,
      async commit(n) {
        const sha = await work.commit({ "apps/web.yaml": appYaml("web", `nginx:1.${n}`) }, `web 1.${n}`);
        work.git("push", "-q", bare, "main");
        return sha;
      },
      desired: () => desiredHistory(bare).map((h) => [h.generation, h.source]),
      committedStatusVersion() {
        try {
          return JSON.parse(runGit(bare, "show", "berth/status:nodes/node-a.json")).agentVersion;
        } catch {
          return null;
        }
      },
      fsck() {
        runGit(bare, "fsck", "--no-dangling", "--no-progress");
        runGit(cacheDir, "fsck", "--no-dangling", "--no-progress");
      },
      close: () => server.close(),
    };
  }

  it("a publish resumes after a crash at any point", { timeout: 900_000 }, async () => {
    const t = await target();
    try {
      const result = await crashSweep(t, "publish");
      console.log(
        `remote publish: ${result.points.length} crash points (${result.locksLeft} left a lock): ${result.points.join(", ")}`,
      );
      expect(result.points).toContain("cache-tmp-written");
      expect(result.points).toContain("git-http-answered");
      expect(result.points).toContain("ref-lock-written");
      expect(result.locksLeft).toBeGreaterThanOrEqual(2);
    } finally {
      await t.close();
    }
  });

  it("a status batch resumes after a crash at any point", { timeout: 900_000 }, async () => {
    const t = await target();
    try {
      const result = await crashSweep(t, "status");
      console.log(
        `remote status: ${result.points.length} crash points (${result.locksLeft} left a lock): ${result.points.join(", ")}`,
      );
      expect(result.points).toContain("git-http-answered");
      expect(result.locksLeft).toBeGreaterThanOrEqual(2);
    } finally {
      await t.close();
    }
  });
});
