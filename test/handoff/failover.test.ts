// Failover as a setting: the pure decision (which lost nodes are past the grace period) as a
// table, then the reconciler with a real git repo and short liveness bounds — a node whose agent
// stops calling is lost, and after the grace period a new generation places its replicas on the
// remaining node, saying why in its plan and commit subject; when it calls again they go back.
// Off by default: the same silence then changes no document.
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../core/config/model.js";
import { decideFailover, failoverConfig, failoverMessage } from "../../core/handoff/failover.js";
import { createReconciler, type Reconciler } from "../../reconciler/reconciler.js";
import type { Plan } from "../../schema/index.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { appYaml, memoryLogger, nodeYaml, recordingSink, waitFor } from "../reconciler/helpers.js";

describe("decideFailover", () => {
  const on = { enabled: true, graceSeconds: 30 };
  const lost = [
    { node: "w2", since: 1_000 },
    { node: "w1", since: 10_000 },
  ];
  it.each([
    ["off: nothing fails over", null, 100_000, [], null],
    ["within the grace period: nothing yet, the next due time", on, 20_000, [], 31_000],
    ["one past the grace period, the other due later", on, 31_000, ["w2"], 40_000],
    ["both past it, in name order", on, 40_000, ["w1", "w2"], null],
  ] as const)("%s", (_what, settings, now, names, nextAt) => {
    const d = decideFailover(settings, lost, now);
    expect(d.failedOver.map((l) => l.node)).toEqual(names);
    expect(d.nextAt).toBe(nextAt);
  });

  it("cordons the failed-over nodes for placement, nothing else", () => {
    const node = (name: string) => ({ spec: { name, cordon: false } }) as unknown as Config["nodes"][number];
    const config = { nodes: [node("w1"), node("w2")] } as unknown as Config;
    const out = failoverConfig(config, [{ node: "w2", since: 0 }]);
    expect(out.nodes.map((e) => [e.spec.name, e.spec.cordon])).toEqual([
      ["w1", false],
      ["w2", true],
    ]);
    expect(config.nodes[1]?.spec.cordon).toBe(false);
    expect(failoverConfig(config, [])).toBe(config);
    expect(failoverMessage({ node: "w2", since: 0 }, on)).toBe(
      "failover: w2 lost since 1970-01-01T00:00:00.000Z (grace 30 s): its replicas run on the remaining nodes until it returns",
    );
  });
});

const ok = requireTool("git");
const bounds = { staleAfterMs: 300, lostAfterMs: 1_000, startupGraceMs: 1_000, pollHoldMs: 300 };

describe.skipIf(!ok)("failover in the reconciler", () => {
  const temp = useTempRepos();
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  async function bed(failover: string) {
    const repo = await temp.makeRepo({
      "berth.yaml": `kind: Settings\nbranch: main\n${failover}`,
      "nodes/w1.yaml": nodeYaml("w1", "roles: [worker]\n").replace("roles: [worker, proxy]\n", ""),
      "nodes/w2.yaml": nodeYaml("w2", "roles: [worker]\n").replace("roles: [worker, proxy]\n", ""),
      "apps/web.yaml": appYaml("web", "nginx:1.25", 2),
    });
    const sink = recordingSink();
    const r: Reconciler = await createReconciler({
      repoDir: repo.dir,
      events: sink,
      logger: memoryLogger().logger,
      statusBatchMs: 100,
      liveness: bounds,
    });
    await r.start();
    await r.idle();
    // Agents calling: a node whose agent calls stays alive.
    const calling = new Set(["w1", "w2"]);
    const timer = setInterval(() => {
      for (const n of calling) r.contacts.touch(n, Date.now());
    }, 50);
    stops.push(async () => {
      clearInterval(timer);
      await r.stop();
    });
    const ids = (node: string) => r.desired(node)?.workloads.map((w) => w.id) ?? [];
    const plan = () => JSON.parse(runGit(repo.dir, "show", "berth/desired:plan.json")) as Plan;
    const subject = () => runGit(repo.dir, "log", "-1", "--format=%s", "berth/desired");
    return { repo, r, sink, calling, ids, plan, subject };
  }

  it("places a lost node's replicas on the remaining node after the grace period, and back when it returns", async () => {
    const b = await bed("failover:\n  enabled: true\n  graceSeconds: 0.5\n");
    await waitFor("w1 and w2 alive", () => b.r.nodes().every((n) => n.liveness?.state === "alive"), 10_000);
    const onW1 = b.ids("w1");
    expect(onW1).toHaveLength(1);
    const gen = b.r.published().generation;

    b.calling.delete("w1");
    await waitFor("the failover generation", () => b.r.published().failover?.length, 15_000);
    const lostAt = Date.parse(b.r.published().failover?.[0]?.lostSince as string);
    expect(b.r.published().generation).toBe(gen + 1);
    // w1's document keeps its replica (it cannot be told anything while lost); w2 runs both.
    expect(b.ids("w1")).toEqual(onW1);
    expect(b.ids("w2").sort()).toEqual(["web-0", "web-1"]);
    const p = b.plan();
    expect(p.failover).toEqual([
      {
        node: "w1",
        lostSince: new Date(lostAt).toISOString(),
        message: `failover: w1 lost since ${new Date(lostAt).toISOString()} (grace 0.5 s): its replicas run on the remaining nodes until it returns`,
      },
    ]);
    expect(p.moves).toEqual([
      { id: onW1[0], app: "web", from: "w1", to: "w2", order: "start-first", reason: "w1 lost, failover" },
    ]);
    expect(p.handoffs?.[0]?.message).toBe(
      `w1 is lost: its document keeps ${onW1[0]} until it is back (w2 runs it meanwhile)`,
    );
    expect(b.subject()).toMatch(/^Publish main@[0-9a-f]{7}: failover: w1 lost since /);
    expect(b.sink.of("published").at(-1)?.data.generation).toBe(gen + 1);

    // w1 calls again: its replica goes back (the commit's own placement).
    b.calling.add("w1");
    await waitFor(
      "the replica back on w1",
      () => b.ids("w2").length === 1 && !b.r.published().failover,
      15_000,
    );
    expect(b.ids("w1")).toEqual(onW1);
    const back = b.plan();
    // w1 kept its replica while lost; w2's copy goes (here at once: no agent reports it serving).
    expect(back.nodes.find((n) => n.node === "w2")?.workloads).toEqual([
      expect.objectContaining({
        id: onW1[0],
        action: "delete",
        reason: "moved to w1 (w1 back, failover over)",
      }),
    ]);
    expect(b.subject()).toContain("failover over: w1 is back");
  }, 60_000);

  it("off by default: a lost node changes no document", async () => {
    const b = await bed("");
    await waitFor("w1 and w2 alive", () => b.r.nodes().every((n) => n.liveness?.state === "alive"), 10_000);
    const gen = b.r.published().generation;
    const before = b.r.desired("w1")?.hash;
    b.calling.delete("w1");
    await waitFor(
      "w1 lost",
      () => b.r.nodes().find((n) => n.node === "w1")?.liveness?.state === "lost",
      10_000,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    await b.r.idle();
    expect(b.r.published().generation).toBe(gen);
    expect(b.r.desired("w1")?.hash).toBe(before);
  }, 60_000);
});
