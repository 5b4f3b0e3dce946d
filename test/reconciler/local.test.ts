// The reconciler on a local repo (real git, real file watching): publishing, rejection of an
// invalid commit, unchanged commits, bursts, long-poll wake-up, plans between refs, and that the
// user's worktree, index and HEAD are never touched.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { createReconciler, type Reconciler } from "../../reconciler/reconciler.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import {
  appYaml,
  baseConfig,
  desiredHistory,
  invalidApp,
  isAncestor,
  memoryLogger,
  nodeYaml,
  recordingSink,
  sha256,
  tokenOf,
  waitFor,
} from "./helpers.js";

const ok = requireTool("git");

describe.skipIf(!ok)("reconciler, local repo", () => {
  const temp = useTempRepos();
  const running: Reconciler[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  async function start(dir: string, extra: { statusBatchMs?: number; pollIntervalMs?: number } = {}) {
    const events = recordingSink();
    const log = memoryLogger();
    const r = await createReconciler({ repoDir: dir, events, logger: log.logger, ...extra });
    running.push(r);
    await r.start();
    return { r, events, log };
  }

  it("publishes a commit to the desired branch and serves it", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const { r, events } = await start(repo.dir);
    await waitFor("first publish", () => r.published().commit === c1);

    expect(r.published().generation).toBe(1);
    const doc = r.desired("node-a");
    expect(doc?.source.commit).toBe(c1);
    expect(doc?.workloads.map((w) => w.id)).toEqual(["web-0"]);
    expect(r.tokenSha256("node-a")).toBe(sha256(tokenOf("node-a")));
    const [first] = desiredHistory(repo.dir);
    expect(first?.subject).toMatch(
      new RegExp(`^Publish main@${c1.slice(0, 7)}: Plan: \\d+ to add, 0 to change, 0 to remove\\.$`),
    );
    expect(first?.generation).toBe(1);
    expect(first?.parents).toEqual([]);
    const plan = JSON.parse(repo.git("show", "berth/desired:plan.json"));
    expect(plan.head.commit).toBe(c1);
    expect(JSON.parse(repo.git("show", "berth/desired:nodes/node-a.json"))).toEqual(doc);
    expect(events.of("published")[0]?.data).toMatchObject({ generation: 1, commit: c1 });

    // A change: the next generation, on top of the previous one.
    const c2 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "web 1.27");
    await waitFor("second publish", () => r.published().commit === c2);
    const history = desiredHistory(repo.dir);
    expect(history.map((h) => h.generation)).toEqual([1, 2]);
    expect(history[1]?.parents).toEqual([history[0]?.oid]);
    expect(history[1]?.subject).toContain("0 to add, 1 to change, 0 to remove");
    expect(r.desired("node-a")?.workloads[0]?.image).toBe("nginx:1.27");

    // The user's checkout is untouched: same HEAD, branch, clean index and worktree.
    expect(repo.git("rev-parse", "HEAD")).toBe(c2);
    expect(repo.git("symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect(repo.git("status", "--porcelain")).toBe("");
  });

  it("keeps the very same document for a node the commit does not change", async () => {
    const repo = await temp.makeRepo({
      ...baseConfig(),
      "nodes/node-b.yaml": nodeYaml("node-b").replace("roles: [worker, proxy]", "roles: [worker]"),
      "apps/web.yaml": `${appYaml("web", "nginx:1.25")}placement:\n  nodes: [node-a]\n`,
    });
    const c1 = repo.git("rev-parse", "HEAD");
    const { r } = await start(repo.dir);
    await waitFor("first publish", () => r.published().commit === c1);
    const docB = r.desired("node-b");
    expect(docB?.source.commit).toBe(c1);

    const c2 = await repo.commit(
      { "apps/web.yaml": `${appYaml("web", "nginx:1.27")}placement:\n  nodes: [node-a]\n` },
      "web 1.27 on node-a",
    );
    await waitFor("second publish", () => r.published().commit === c2);
    expect(r.desired("node-a")?.source.commit).toBe(c2);
    // node-b: same document object, same bytes on the branch, its source still the commit that made it.
    expect(r.desired("node-b")).toBe(docB);
    expect(repo.git("rev-parse", "berth/desired:nodes/node-b.json")).toBe(
      repo.git("rev-parse", "berth/desired~1:nodes/node-b.json"),
    );
    expect(JSON.parse(repo.git("show", "berth/desired:meta.json")).nodes["node-b"].hash).toBe(docB?.hash);

    // A node removed from the config loses its document file and its token.
    const c3 = await repo.commit({ "nodes/node-b.yaml": null }, "retire node-b");
    await waitFor("third publish", () => r.published().commit === c3);
    expect(r.desired("node-b")).toBeUndefined();
    expect(r.tokenSha256("node-b")).toBeUndefined();
    expect(repo.git("ls-tree", "--name-only", "berth/desired", "nodes/")).toBe("nodes/node-a.json");
  });

  it("publishes nothing for an invalid commit between two valid ones", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const { r, events, log } = await start(repo.dir);
    await waitFor("first publish", () => r.published().commit === c1);
    const before = r.desired("node-a");

    const bad = await repo.commit({ "apps/web.yaml": invalidApp }, "broken");
    const rejected = await waitFor("rejected event", () =>
      events.of("rejected").find((e) => e.data.commit === bad),
    );
    expect(rejected.data.errors).toBeGreaterThan(0);
    const diags = rejected.data.diagnostics as { file: string; line: number; message: string }[];
    expect(diags[0]?.file).toBe("apps/web.yaml");
    expect(diags[0]?.line).toBe(5);
    expect(r.published()).toMatchObject({ generation: 1, commit: c1 });
    expect(r.desired("node-a")).toEqual(before);
    expect(desiredHistory(repo.dir)).toHaveLength(1);
    expect(log.lines.join("")).toContain("apps/web.yaml:5:");

    const c3 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "fixed");
    await waitFor("publish after the fix", () => r.published().commit === c3);
    const history = desiredHistory(repo.dir);
    expect(history.map((h) => [h.generation, h.source])).toEqual([
      [1, c1],
      [2, c3],
    ]);
  });

  it("keeps the generation for a commit that changes no document", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const { r, events } = await start(repo.dir);
    await waitFor("first publish", () => r.published().commit === c1);

    const readme = await repo.commit({ "README.md": "# my hosts\n" }, "docs only");
    const unchanged = await waitFor("unchanged event", () =>
      events.of("unchanged").find((e) => e.data.commit === readme),
    );
    expect(unchanged.data).toMatchObject({ published: c1, generation: 1 });
    expect(r.published()).toMatchObject({ generation: 1, commit: c1 });
    expect(desiredHistory(repo.dir)).toHaveLength(1);
  });

  it("coalesces a burst and never publishes an older commit after a newer one", async () => {
    const repo = await temp.makeRepo(baseConfig());
    // No periodic check to fall back on: every commit of the burst must be seen by the watch.
    const { r } = await start(repo.dir, { pollIntervalMs: 3_600_000 });
    await waitFor("first publish", () => r.published().generation === 1);

    const commits: string[] = [];
    for (let i = 0; i < 6; i++) {
      commits.push(await repo.commit({ "apps/web.yaml": appYaml("web", `nginx:1.${30 + i}`) }, `bump ${i}`));
    }
    const last = commits[commits.length - 1] as string;
    await waitFor("newest publish", () => r.published().commit === last);
    await r.idle();

    const history = desiredHistory(repo.dir);
    // Fewer publishes than commits is fine (coalesced); going back in history never is.
    for (let i = 1; i < history.length; i++) {
      const prev = history[i - 1] as (typeof history)[number];
      const cur = history[i] as (typeof history)[number];
      expect(cur.generation).toBe(prev.generation + 1);
      expect(cur.source).not.toBe(prev.source);
      expect(isAncestor(repo.dir, prev.source, cur.source)).toBe(true);
    }
    expect(history[history.length - 1]?.source).toBe(last);
  });

  it("notices commits a few ms apart by the watch alone (no periodic check)", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const { r, events } = await start(repo.dir, { pollIntervalMs: 3_600_000 });
    await waitFor("first publish", () => r.published().generation === 1);
    const run = promisify(execFile);
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    };
    // README commits publish nothing, so no write of ours wakes the loop by accident: only the
    // watch can notice the second commit of each pair, landing a few ms after the first.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 2; i++) {
        writeFileSync(join(repo.dir, "README.md"), `round ${round}.${i}\n`);
        await run("git", ["-C", repo.dir, "add", "README.md"], { env });
        await run("git", ["-C", repo.dir, "commit", "-q", "-m", `docs ${round}.${i}`], { env });
      }
      const last = repo.git("rev-parse", "HEAD");
      await waitFor(
        `the watch noticing commit ${round}.1`,
        () => events.of("unchanged").some((e) => e.data.commit === last),
        15_000,
      );
    }
    expect(r.published().generation).toBe(1);
  });

  it("wakes a long-poll when the node's document changes", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const { r } = await start(repo.dir);
    await waitFor("first publish", () => r.published().generation === 1);
    const hash = r.desired("node-a")?.hash as string;

    // Same hash: waits (here it times out quickly); another hash: returns at once.
    const ac = new AbortController();
    let woke = false;
    const waiting = r.waitForChange("node-a", `"${hash}"`, 60_000, ac.signal).then(() => {
      woke = true;
    });
    await new Promise((res) => setTimeout(res, 50));
    expect(woke).toBe(false);
    await r.waitForChange("node-a", "sha256:other", 60_000, ac.signal);

    await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.99") }, "bump");
    await waiting;
    expect(woke).toBe(true);
    expect(r.desired("node-a")?.hash).not.toBe(hash);
  });

  it("computes plans between refs and refuses unknown ones with a 400-class error", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const { r } = await start(repo.dir);
    await waitFor("first publish", () => r.published().commit === c1);

    const same = await r.plan(undefined, undefined);
    expect(same.base.commit).toBe(c1);
    expect(same.head.commit).toBe(c1);
    expect(same.summary).toEqual({ add: 0, change: 0, remove: 0 });

    const c2 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27", 2) }, "two replicas");
    const between = await r.plan(c1, c2);
    expect(between.head.commit).toBe(c2);
    expect(between.summary.add + between.summary.change).toBeGreaterThan(0);

    // Uncommitted edits are visible with head=worktree.
    repo.git("checkout", "-q", "-b", "scratch");
    await repo.commit({}, "noop");
    const worktree = await r.plan(undefined, "worktree");
    expect(worktree.head.ref).toBe("worktree");

    await expect(r.plan("no-such-branch", undefined)).rejects.toMatchObject({ statusCode: 400 });
  });
});
