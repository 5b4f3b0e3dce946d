// The reconciler on a remote repo served by a real git smart-HTTP server (git http-backend) with
// token auth: fetch into a bare cache, publish by push, restart from the remote's desired
// branch, and two reconcilers racing to publish on one remote.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReconciler } from "../../reconciler/reconciler.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import {
  appYaml,
  baseConfig,
  desiredHistory,
  isAncestor,
  memoryLogger,
  recordingSink,
  waitFor,
} from "./helpers.js";

const ok = requireTool("git");
const TOKEN = "remote-secret-token-42";

describe.skipIf(!ok)("reconciler, remote repo over smart HTTP", () => {
  const temp = useTempRepos();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A bare repo behind a git HTTP server, and a working clone that pushes to it. */
  async function remoteSetup() {
    const root = temp.makeTempDir("berth-remote-");
    const bare = join(root, "cfg.git");
    runGit(root, "init", "-q", "--bare", "-b", "main", bare);
    const work = await temp.makeRepo(baseConfig());
    work.git("push", "-q", bare, "main");
    const server = await startGitHttpServer({ root, token: TOKEN });
    cleanups.push(() => server.close());
    const push = async (files: Record<string, string | null>, message: string) => {
      const sha = await work.commit(files, message);
      work.git("push", "-q", bare, "main");
      return sha;
    };
    return { bare, work, server, url: `${server.url}/cfg.git`, push };
  }

  async function reconcilerOn(url: string, cacheDir: string, token = TOKEN) {
    const events = recordingSink();
    const log = memoryLogger();
    const r = await createReconciler({
      remote: { url, token, cacheDir },
      events,
      logger: log.logger,
      statusBatchMs: 200,
    });
    let stopped = false;
    const stop = async () => {
      if (!stopped) await r.stop();
      stopped = true;
    };
    cleanups.push(stop);
    await r.start();
    return { r, events, log, stop };
  }

  it("fetches, publishes by push, and republishes on a webhook trigger", async () => {
    const { bare, work, url, push } = await remoteSetup();
    const c1 = work.git("rev-parse", "HEAD");
    const cache = temp.makeTempDir("berth-cache-");
    const { r, events, log } = await reconcilerOn(url, cache);
    await waitFor("first publish", () => r.published().commit === c1);
    await r.idle();

    const remoteHistory = desiredHistory(bare);
    expect(remoteHistory.map((h) => [h.generation, h.source])).toEqual([[1, c1]]);
    expect(r.published().desiredCommit).toBe(remoteHistory[0]?.oid);

    const c2 = await push({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "web 1.27");
    r.trigger({ source: "webhook", forge: "github", branch: "main", after: c2 });
    await waitFor("webhook publish", () => r.published().commit === c2);
    expect(desiredHistory(bare).map((h) => h.generation)).toEqual([1, 2]);
    expect(events.of("published").map((e) => e.data.generation)).toEqual([1, 2]);

    // The token is in no log line and not in the cache's git config.
    expect(log.lines.join("")).not.toContain(TOKEN);
    expect(readFileSync(join(cache, "config"), "utf8")).not.toContain(TOKEN);
  });

  it("reports a refused token as an error and publishes nothing", async () => {
    const { bare, url } = await remoteSetup();
    const { r, events, log } = await reconcilerOn(url, temp.makeTempDir("berth-cache-"), "wrong-token");
    await waitFor("reconciler-error event", () => events.of("reconciler-error").length > 0);
    expect(r.published().generation).toBe(0);
    expect(desiredHistory(bare)).toEqual([]);
    expect(log.lines.join("")).not.toContain("wrong-token");
  });

  it("resumes after a restart without a new desired commit, with the same or a fresh cache", async () => {
    const { bare, work, url } = await remoteSetup();
    const c1 = work.git("rev-parse", "HEAD");
    const cache = temp.makeTempDir("berth-cache-");
    const first = await reconcilerOn(url, cache);
    await waitFor("first publish", () => first.r.published().commit === c1);
    await first.r.idle();
    await first.stop();
    const tip = desiredHistory(bare).at(-1)?.oid;

    for (const dir of [cache, temp.makeTempDir("berth-cache-")]) {
      const again = await reconcilerOn(url, dir);
      // Served at once from the desired branch, before any new work.
      expect(again.r.published()).toMatchObject({ generation: 1, commit: c1, desiredCommit: tip });
      expect(again.r.desired("node-a")?.source.commit).toBe(c1);
      await again.r.idle();
      expect(again.events.of("published")).toEqual([]);
      expect(desiredHistory(bare).at(-1)?.oid).toBe(tip);
      await again.stop();
    }
    // Each fetch adds packs; the fresh cache got its objects too.
    expect(readdirSync(join(cache, "objects", "pack")).some((f) => f.endsWith(".pack"))).toBe(true);
  });

  it("keeps the desired branch strictly ordered when two reconcilers race on one remote", async () => {
    const { bare, url, push } = await remoteSetup();
    const a = await reconcilerOn(url, temp.makeTempDir("berth-cache-a-"));
    const b = await reconcilerOn(url, temp.makeTempDir("berth-cache-b-"));
    await Promise.all([a.r.idle(), b.r.idle()]);

    const pushed: string[] = [];
    for (let i = 0; i < 8; i++) {
      pushed.push(await push({ "apps/web.yaml": appYaml("web", `nginx:1.${40 + i}`) }, `bump ${i}`));
      // Both hear of every push at the same moment, as with a webhook to two replicas.
      a.r.trigger({ source: "webhook" });
      b.r.trigger({ source: "webhook" });
      if (i % 3 === 2) await Promise.all([a.r.idle(), b.r.idle()]);
    }
    const last = pushed.at(-1) as string;
    await waitFor("both serve the newest commit", async () => {
      a.r.trigger({ source: "poll" });
      b.r.trigger({ source: "poll" });
      await Promise.all([a.r.idle(), b.r.idle()]);
      return a.r.published().commit === last && b.r.published().commit === last;
    });

    const history = desiredHistory(bare);
    expect(history[0]?.generation).toBe(1);
    for (let i = 1; i < history.length; i++) {
      const prev = history[i - 1] as (typeof history)[number];
      const cur = history[i] as (typeof history)[number];
      expect(cur.parents[0]).toBe(prev.oid);
      expect(cur.generation).toBe(prev.generation + 1);
      expect(cur.source).not.toBe(prev.source);
      expect(isAncestor(bare, prev.source, cur.source)).toBe(true);
    }
    expect(history.at(-1)?.source).toBe(last);
    expect(a.r.published()).toEqual(b.r.published());
  });
});
