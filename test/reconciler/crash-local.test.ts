// kill -9 of `berth serve` on a local repo at every crash point of a publish and of a status batch
// (see crash-sweep.ts): publishing and status writing resume by themselves, a left ref lock is
// removed once stale, health says degraded while it blocks, and nothing is published twice.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { crashSweep, type SweepTarget } from "./crash-sweep.js";
import { appYaml, baseConfig, desiredHistory } from "./helpers.js";

const ok = requireTool("git");

describe.skipIf(!ok)("kill -9 sweep, local repo", () => {
  const temp = useTempRepos();

  async function target(): Promise<SweepTarget> {
    const repo = await temp.makeRepo(baseConfig());
    return {
      serveArgs: ["--repo", repo.dir],
      source: { repoDir: repo.dir },
      gitdir: join(repo.dir, ".git"),
      commit: (n) => repo.commit({ "apps/web.yaml": appYaml("web", `nginx:1.${n}`) }, `web 1.${n}`),
      desired: () => desiredHistory(repo.dir).map((h) => [h.generation, h.source]),
      committedStatusVersion() {
        try {
          return JSON.parse(runGit(repo.dir, "show", "berth/status:nodes/node-a.json")).agentVersion;
        } catch {
          return null;
        }
      },
      fsck: () => void runGit(repo.dir, "fsck", "--no-dangling", "--no-progress"),
    };
  }

  it("a publish resumes after a crash at any point", { timeout: 600_000 }, async () => {
    const result = await crashSweep(await target(), "publish");
    console.log(
      `local publish: ${result.points.length} crash points (${result.locksLeft} left a lock): ${result.points.join(", ")}`,
    );
    expect(result.points).toContain("ref-locked");
    expect(result.points).toContain("ref-lock-written");
    expect(result.points).toContain("object-tmp-written");
    expect(result.locksLeft).toBeGreaterThanOrEqual(2);
  });

  it("a status batch resumes after a crash at any point", { timeout: 600_000 }, async () => {
    const result = await crashSweep(await target(), "status");
    console.log(
      `local status: ${result.points.length} crash points (${result.locksLeft} left a lock): ${result.points.join(", ")}`,
    );
    expect(result.points).toContain("ref-lock-written");
    expect(result.locksLeft).toBeGreaterThanOrEqual(2);
  });
});
