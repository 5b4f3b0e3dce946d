// Status reports batched onto the status branch: 50 nodes at once land in few commits, a report
// that differs only in observedAt writes nothing, a restart does not rewrite what is committed,
// and two reconcilers writing statuses to one remote both land (the loser rebases its batch).
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReconciler, type Reconciler } from "../../reconciler/reconciler.js";
import { type NodeStatus, validateStatus } from "../../schema/index.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { baseConfig, memoryLogger, recordingSink, waitFor } from "./helpers.js";

const ok = requireTool("git");

function report(node: string, phase: NodeStatus["phase"], observedAt: string): NodeStatus {
  const hash = `sha256:${"a".repeat(64)}`;
  const status: NodeStatus = {
    node,
    agentVersion: "0.1.0",
    desiredHash: hash,
    appliedHash: phase === "converged" ? hash : null,
    appliedCommit: null,
    phase,
    observedAt,
    workloads: [
      {
        id: "web-0",
        app: "web",
        state: phase === "converged" ? "running" : "starting",
        health: "unknown",
        specHash: null,
      },
    ],
    ingress: null,
  };
  if (!validateStatus()(status)) throw new Error("test status does not match the schema");
  return status;
}

function statusCommits(cwd: string, branch = "berth/status"): string[] {
  if (!runGit(cwd, "for-each-ref", `refs/heads/${branch}`)) return [];
  return runGit(cwd, "rev-list", branch).split("\n").filter(Boolean);
}

describe.skipIf(!ok)("status branch", () => {
  const temp = useTempRepos();
  const running: Reconciler[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    for (const c of closers.splice(0)) await c();
  });

  async function startLocal(dir: string) {
    const events = recordingSink();
    const r = await createReconciler({
      repoDir: dir,
      events,
      logger: memoryLogger().logger,
      statusBatchMs: 300,
    });
    running.push(r);
    await r.start();
    return { r, events };
  }

  it("commits 50 simultaneous reports in few commits and nothing for timestamp-only changes", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const { r, events } = await startLocal(repo.dir);
    const nodes = Array.from({ length: 50 }, (_, i) => `node-${String(i).padStart(2, "0")}`);
    await Promise.all(
      nodes.map(async (n) => r.reportStatus(n, report(n, "applying", "2026-01-01T00:00:00Z"))),
    );
    await r.idle();

    const commits = statusCommits(repo.dir);
    expect(commits.length).toBeGreaterThanOrEqual(1);
    expect(commits.length).toBeLessThanOrEqual(3);
    const files = runGit(repo.dir, "ls-tree", "--name-only", "berth/status", "nodes/").split("\n");
    expect(files).toHaveLength(50);
    const stored = JSON.parse(runGit(repo.dir, "show", "berth/status:nodes/node-07.json"));
    expect(stored).toMatchObject({ node: "node-07", phase: "applying" });
    expect(stored.observedAt).toBeUndefined();
    expect(events.of("node-reported")).toHaveLength(50);
    expect(r.nodes().find((n) => n.node === "node-07")?.lastSeen).toBeGreaterThan(0);

    // Only observedAt differs: no commit, no event.
    for (const n of nodes) r.reportStatus(n, report(n, "applying", "2026-01-01T00:05:00Z"));
    await r.idle();
    expect(statusCommits(repo.dir)).toEqual(commits);
    expect(events.of("node-reported")).toHaveLength(50);

    // One real change: one more commit, holding only that file's change.
    r.reportStatus("node-07", report("node-07", "converged", "2026-01-01T00:06:00Z"));
    await r.idle();
    const after = statusCommits(repo.dir);
    expect(after).toHaveLength(commits.length + 1);
    expect(runGit(repo.dir, "diff", "--name-only", `${after[1]}`, `${after[0]}`)).toBe("nodes/node-07.json");
    expect(runGit(repo.dir, "log", "-1", "--format=%s", "berth/status")).toBe("Status: node-07 converged");
  });

  it("does not rewrite committed statuses after a restart", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const first = await startLocal(repo.dir);
    // Published first, so node-a is a known node whose first contact records its liveness too.
    await first.r.idle();
    first.r.reportStatus("node-a", report("node-a", "converged", "2026-01-01T00:00:00Z"));
    await first.r.idle();
    await first.r.stop();
    running.splice(0);
    const commits = statusCommits(repo.dir);
    expect(commits).toHaveLength(1);
    expect(runGit(repo.dir, "ls-tree", "-r", "--name-only", "berth/status").split("\n")).toEqual([
      "liveness/node-a.json",
      "nodes/node-a.json",
    ]);

    const second = await startLocal(repo.dir);
    expect(second.r.nodes().find((n) => n.node === "node-a")?.status?.phase).toBe("converged");
    second.r.reportStatus("node-a", report("node-a", "converged", "2026-01-02T00:00:00Z"));
    await second.r.idle();
    expect(statusCommits(repo.dir)).toEqual(commits);
  });

  async function remoteRepo() {
    const root = temp.makeTempDir("berth-remote-");
    const bare = join(root, "cfg.git");
    runGit(root, "init", "-q", "--bare", "-b", "main", bare);
    const work = await temp.makeRepo(baseConfig());
    work.git("push", "-q", bare, "main");
    const server = await startGitHttpServer({ root });
    closers.push(() => server.close());
    return { bare, url: `${server.url}/cfg.git` };
  }

  it("writes the queued statuses when stopped (remote: pushed before the connection closes)", async () => {
    const { bare, url } = await remoteRepo();
    const r = await createReconciler({
      remote: { url, cacheDir: temp.makeTempDir("berth-cache-") },
      events: recordingSink(),
      logger: memoryLogger().logger,
      statusBatchMs: 3_600_000,
    });
    await r.start();
    await r.idle();
    r.reportStatus("node-a", report("node-a", "degraded", "2026-01-01T00:00:00Z"));
    await r.stop();
    expect(JSON.parse(runGit(bare, "show", "berth/status:nodes/node-a.json")).phase).toBe("degraded");
  });

  it("lands the statuses of two reconcilers sharing one remote (rebasing on a moved tip)", async () => {
    const { bare, url } = await remoteRepo();

    const make = async () => {
      const r = await createReconciler({
        remote: { url, cacheDir: temp.makeTempDir("berth-cache-") },
        events: recordingSink(),
        logger: memoryLogger().logger,
        statusBatchMs: 100,
      });
      running.push(r);
      await r.start();
      return r;
    };
    const a = await make();
    const b = await make();
    for (let round = 0; round < 3; round++) {
      const phase = round === 2 ? "converged" : "applying";
      for (let i = 0; i < 5; i++) {
        a.reportStatus(`a-${i}`, report(`a-${i}`, phase, `2026-01-01T00:0${round}:00Z`));
        b.reportStatus(`b-${i}`, report(`b-${i}`, phase, `2026-01-01T00:0${round}:00Z`));
      }
      await Promise.all([a.idle(), b.idle()]);
    }
    await waitFor("all statuses on the remote", () => {
      const files = runGit(bare, "ls-tree", "--name-only", "berth/status", "nodes/").split("\n");
      return files.length === 10;
    });
    for (const n of ["a-0", "b-4"]) {
      expect(JSON.parse(runGit(bare, "show", `berth/status:nodes/${n}.json`)).phase).toBe("converged");
    }
  });
});
