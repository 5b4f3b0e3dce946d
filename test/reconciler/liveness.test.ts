// Liveness in the reconciler (reconciler/liveness/) over its real HTTP API, a real git repo and
// short bounds: a held long-poll counts as contact; silence turns a node stale, then lost, with
// events, /v1/nodes, metrics and status-branch commits saying so (and never "converged"); a call
// brings it back. After a restart, nodes not heard from yet are not alive but are not announced
// either, until the grace after the first agent called.
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { BerthEvent } from "../../reconciler/contracts.js";
import { EventBus, parseEventId } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { createReconciler, type Reconciler } from "../../reconciler/reconciler.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { baseConfig, memoryLogger, nodeYaml, tokenOf, waitFor } from "./helpers.js";

const ok = requireTool("git");
const bounds = { staleAfterMs: 400, lostAfterMs: 1_500, startupGraceMs: 2_000, pollHoldMs: 600 };

interface Bed {
  r: Reconciler;
  api: ApiServer;
  events: BerthEvent[];
  nodes(): Promise<Record<string, Record<string, unknown>>>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

describe.skipIf(!ok)("node liveness", () => {
  const temp = useTempRepos();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const client = new Agent({ keepAliveTimeout: 1_000 });

  async function start(dir: string): Promise<Bed> {
    const bus = new EventBus();
    const events: BerthEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const r = await createReconciler({
      repoDir: dir,
      events: bus,
      logger: memoryLogger().logger,
      statusBatchMs: 100,
      liveness: bounds,
    });
    await r.start();
    await r.idle();
    const api = await startApiServer({
      listen: "127.0.0.1:0",
      backend: r,
      events: bus,
      metrics: createMetrics({ processMetrics: false }),
      logger: memoryLogger().logger,
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await api.close();
      await r.stop();
    };
    cleanup.push(stop);
    return {
      r,
      api,
      events,
      async nodes() {
        const res = await request(`${api.url}/v1/nodes`, { dispatcher: client });
        const body = (await res.body.json()) as { nodes: Record<string, unknown>[] };
        return Object.fromEntries(body.nodes.map((n) => [n.node as string, n]));
      },
      async metrics() {
        return (await request(`${api.url}/metrics`, { dispatcher: client })).body.text();
      },
      stop,
    };
  }

  /** An agent's long-poll loop (what agent/loop/poller.ts does), until stopped. */
  function poll(url: string, node: string): { stop(): void } {
    const abort = new AbortController();
    void (async () => {
      let etag: string | undefined;
      while (!abort.signal.aborted) {
        try {
          const res = await request(`${url}/v1/nodes/${node}/desired?wait=30`, {
            dispatcher: client,
            signal: abort.signal,
            headers: { authorization: `Bearer ${tokenOf(node)}`, ...(etag ? { "if-none-match": etag } : {}) },
          });
          etag = (res.headers.etag as string | undefined) ?? etag;
          await res.body.text();
        } catch {
          return;
        }
      }
    })();
    return { stop: () => abort.abort() };
  }

  const ofType = (events: BerthEvent[], type: string) => events.filter((e) => e.type === type);

  it("counts a held long-poll as contact, then says stale and lost, and back, everywhere", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const bed = await start(repo.dir);
    const agent = poll(bed.api.url, "node-a");
    await waitFor("node-a alive", async () => (await bed.nodes())["node-a"]?.liveness === "alive");
    bed.r.reportStatus("node-a", {
      node: "node-a",
      agentVersion: "test",
      desiredHash: bed.r.desired("node-a")?.hash ?? null,
      appliedHash: bed.r.desired("node-a")?.hash ?? null,
      appliedCommit: null,
      phase: "converged",
      workloads: [],
      ingress: null,
    });

    // Polls are held 600 ms, longer than the 400 ms stale bound: only counting a held poll as
    // contact keeps the node alive. Sample for 2.5 s, several holds.
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      const n = (await bed.nodes())["node-a"] as Record<string, unknown>;
      expect(n.liveness).toBe("alive");
      expect(Date.now() - Date.parse(n.lastSeen as string)).toBeLessThan(bounds.staleAfterMs);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ofType(bed.events, "node-stale")).toEqual([]);
    const live = (await bed.nodes())["node-a"] as Record<string, unknown>;
    expect(live).toMatchObject({ phase: "converged", inSync: true });

    // The agent goes away: stale, then lost.
    const gone = Date.now();
    agent.stop();
    await waitFor("node-stale event", () => ofType(bed.events, "node-stale").length > 0, 10_000);
    await waitFor("node-lost event", () => ofType(bed.events, "node-lost").length > 0, 10_000);
    const stale = ofType(bed.events, "node-stale")[0] as BerthEvent;
    const lost = ofType(bed.events, "node-lost")[0] as BerthEvent;
    expect(stale.data).toMatchObject({
      node: "node-a",
      message: expect.stringContaining("node-a is stale since"),
    });
    const lastSeen = Date.parse(stale.data.lastSeen as string);
    expect(Math.abs(lastSeen - gone)).toBeLessThan(1_000);
    expect(Date.parse(stale.data.since as string)).toBe(lastSeen + bounds.staleAfterMs);
    expect(Date.parse(lost.data.since as string)).toBe(lastSeen + bounds.lostAfterMs);
    expect(parseEventId(stale.id)?.seq).toBeLessThan(parseEventId(lost.id)?.seq as number);

    // The API never shows a lost node converged or in sync, and says what is known.
    const n = (await bed.nodes())["node-a"] as Record<string, unknown>;
    expect(n).toMatchObject({
      liveness: "lost",
      livenessSince: lost.data.since,
      lastSeen: stale.data.lastSeen,
      phase: null,
      reportedPhase: "converged",
      inSync: false,
    });
    expect(n.livenessMessage).toContain("no contact for more than 2 s");
    const text = await bed.metrics();
    expect(text).toContain('berth_node_liveness{node="node-a",state="lost"} 1');
    expect(text).toContain('berth_node_liveness{node="node-a",state="alive"} 0');
    expect(text).toContain('berth_node_status{node="node-a",phase="converged"} 0');
    expect(text).toContain(`berth_node_last_seen_timestamp_seconds{node="node-a"} ${lastSeen / 1000}`);

    // Committed: the verdicts, not the contacts.
    await bed.r.idle();
    await waitFor("lost committed", () => {
      if (!runGit(repo.dir, "for-each-ref", "refs/heads/berth/status")) return false;
      const file = runGit(repo.dir, "show", "berth/status:liveness/node-a.json");
      return JSON.parse(file).liveness === "lost";
    });
    expect(JSON.parse(runGit(repo.dir, "show", "berth/status:liveness/node-a.json"))).toEqual({
      node: "node-a",
      liveness: "lost",
      since: lost.data.since,
      lastSeen: stale.data.lastSeen,
    });
    const subjects = runGit(repo.dir, "log", "--format=%B", "berth/status");
    expect(subjects).toContain("Liveness: node-a lost");

    // It calls again: back at once.
    const again = poll(bed.api.url, "node-a");
    cleanup.push(async () => again.stop());
    await waitFor("node-back event", () => ofType(bed.events, "node-back").length > 0, 5_000);
    expect((await bed.nodes())["node-a"]).toMatchObject({
      liveness: "alive",
      phase: "converged",
      inSync: true,
    });
    expect(ofType(bed.events, "node-stale")).toHaveLength(1);
    expect(ofType(bed.events, "node-lost")).toHaveLength(1);
  });

  it("after a restart: not alive until heard from, announced lost only after the grace", async () => {
    const repo = await temp.makeRepo({ ...baseConfig(), "nodes/node-b.yaml": nodeYaml("node-b") });
    const first = await start(repo.dir);
    const a = poll(first.api.url, "node-a");
    const b = poll(first.api.url, "node-b");
    await waitFor("both alive committed", async () => {
      await first.r.idle();
      if (!runGit(repo.dir, "for-each-ref", "refs/heads/berth/status")) return false;
      const out = runGit(repo.dir, "ls-tree", "-r", "--name-only", "berth/status");
      return out.includes("liveness/node-a.json") && out.includes("liveness/node-b.json");
    });
    a.stop();
    b.stop();
    await first.stop();

    // Restarted, nobody has called yet: both not alive, nothing announced, even past the grace.
    const second = await start(repo.dir);
    const quiet = await second.nodes();
    expect(quiet["node-a"]).toMatchObject({ liveness: "stale", inSync: false, phase: null });
    expect(quiet["node-a"]?.livenessMessage).toContain("nor has any other agent");
    await new Promise((r) => setTimeout(r, bounds.startupGraceMs + 300));
    expect((await second.nodes())["node-b"]?.liveness).toBe("stale");
    expect(second.events.filter((e) => e.type.startsWith("node-"))).toEqual([]);

    // node-a comes back (no event: it was alive when last announced); node-b stays silent and
    // is announced lost once the grace after node-a's call has passed.
    const a2 = poll(second.api.url, "node-a");
    cleanup.push(async () => a2.stop());
    const called = Date.now();
    await waitFor("node-a alive", async () => (await second.nodes())["node-a"]?.liveness === "alive");
    expect((await second.nodes())["node-b"]?.liveness).toBe("stale");
    await waitFor("node-b lost", () => ofType(second.events, "node-lost").length > 0, 10_000);
    expect(Date.now() - called).toBeGreaterThanOrEqual(bounds.startupGraceMs - 100);
    expect(ofType(second.events, "node-lost")[0]?.data.node).toBe("node-b");
    expect(ofType(second.events, "node-back")).toEqual([]);
    expect(ofType(second.events, "node-stale")).toEqual([]);
  });

  it("keeps a lost verdict across a restart, and announces the node back when it calls", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const first = await start(repo.dir);
    const a = poll(first.api.url, "node-a");
    await waitFor("alive", async () => (await first.nodes())["node-a"]?.liveness === "alive");
    a.stop();
    await waitFor("lost", () => ofType(first.events, "node-lost").length > 0, 10_000);
    const since = ofType(first.events, "node-lost")[0]?.data.since;
    await first.r.idle();
    await first.stop();

    const second = await start(repo.dir);
    expect((await second.nodes())["node-a"]).toMatchObject({ liveness: "lost", livenessSince: since });
    const a2 = poll(second.api.url, "node-a");
    cleanup.push(async () => a2.stop());
    await waitFor("back", () => ofType(second.events, "node-back").length > 0, 5_000);
    expect(ofType(second.events, "node-back")[0]?.data).toMatchObject({ node: "node-a" });
  });
});
