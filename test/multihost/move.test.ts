// Start-first across nodes (issue 12 item 4) and route changes without dropped requests (item 5),
// on hosts as network namespaces under load through a real Caddy: a cordon moves a one-replica app
// with a slow start to the other worker — the new replica is started, healthy and routed before
// the old one is unrouted and stopped; a scale up and down and a new domain lose nothing either.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../schema/index.js";
import { summarize } from "../helpers/load.js";
import { requireNamespaces } from "../helpers/netns.js";
import { requireTool } from "../helpers/tools.js";
import {
  type BerthCluster,
  domainYaml,
  type NodesView,
  nodeYaml,
  processApp,
  startBerthCluster,
  waitForView,
} from "./cluster.js";

const ok =
  requireTool("caddy", ["version"]) &&
  requireTool("openssl", ["version"]) &&
  requireTool("ip", ["netns", "list"]) &&
  requireNamespaces();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The nodes whose agents report the workload running healthy. */
function runningOn(view: NodesView, id: string): string[] {
  return view.nodes
    .filter((n) =>
      n.status?.workloads.some((w) => w.id === id && w.state === "running" && w.health === "healthy"),
    )
    .map((n) => n.node)
    .sort();
}

describe.skipIf(!ok)("moves and route changes under load", () => {
  let c: BerthCluster;
  const slowApp = () =>
    processApp("slow", {
      replicas: 1,
      env: { START_DELAY_MS: "3000" },
      // Long enough for the 3 s start on a busy machine, short enough that a broken one fails soon.
      startPeriodSeconds: 8,
      extra: "placement:\n  nodes: [w1, w2]",
    });
  beforeAll(async () => {
    c = await startBerthCluster({
      nodes: [
        { name: "w1", roles: ["worker"] },
        { name: "w2", roles: ["worker"] },
        { name: "edge", roles: ["proxy"] },
      ],
      files: {
        "apps/slow.yaml": slowApp(),
        "domains/slow.yaml": domainYaml("slow.test", "slow"),
      },
    });
    await c.converged(c.repo.git("rev-parse", "HEAD"));
  }, 180_000);
  afterAll(async () => {
    await c?.cleanup();
  }, 60_000);

  const desiredPlan = (rev: string): Plan => JSON.parse(c.repo.git("show", `${rev}:plan.json`)) as Plan;

  it("a cordon moves a one-replica app with a slow start: started and routed before stopped, no request lost", async () => {
    const before = await c.nodesView();
    const [from] = runningOn(before, "slow-0");
    expect(from).toBeDefined();
    const to = from === "w1" ? "w2" : "w1";
    const n = c.nodes.get(from as string)!;
    const genBefore = before.generation;

    await c.client.loadStart("move", {
      url: `${c.proxyUrl()}/`,
      headers: { host: "slow.test" },
      rate: 200,
      maxMs: 60_000,
    });
    await sleep(1_000);
    const commit = await c.repo.commit(
      { [`nodes/${from}.yaml`]: nodeYaml({ ...n.def, extra: "cordon: true" }, n.host.address, n.token) },
      `cordon ${from}`,
    );
    // Converged on the commit: the replica runs on the other node only and the handoff is over.
    const view = await c.converged(commit, 120_000);
    await sleep(1_000);
    const s = summarize(await c.client.loadStop("move"));
    expect(s.count).toBeGreaterThan(1_000);
    // On failure, the logs say what each proxy load waited for (agent/core/reload-gate.ts).
    expect(s.failures, `${JSON.stringify(s)}\n${c.logs()}`).toEqual([]);
    expect(
      runningOn(view, "slow-0"),
      JSON.stringify(view.nodes.map((x) => [x.node, x.appliedHash, x.desiredHash, x.status?.workloads])) +
        c.repo.git("log", "--format=%s", "berth/desired") +
        c.repo.git("show", "berth/desired:nodes/w2.json") +
        c.repo.git("show", "berth/desired:meta.json"),
    ).toEqual([to]);

    // The desired branch tells the story: the move as one step, then the handoff's generations.
    const log = c.repo.git("log", "--format=%H %s", "berth/desired").split("\n");
    const gens = log.slice(0, view.generation - genBefore).reverse();
    expect(gens.length).toBeGreaterThanOrEqual(3);
    const first = desiredPlan(gens[0]!.split(" ")[0]!);
    expect(first.moves).toEqual([
      { id: "slow-0", app: "slow", from, to, order: "start-first", reason: `${from} cordoned` },
    ]);
    expect(first.handoffs?.[0]?.message).toBe(
      `move slow-0 ${from} → ${to}: slow-0 keeps serving on ${from} until ${to} runs it healthy`,
    );
    const notes = gens.flatMap((g) => desiredPlan(g.split(" ")[0]!).handoffs ?? []).map((h) => h.message);
    expect(
      notes.some((m) => m.startsWith(`handoff: slow-0 ${from} → ${to} completed (${to} runs it healthy)`)),
    ).toBe(true);
    expect(notes.at(-1)).toBe(`slow-0 stops on ${from}: every proxy loaded routes without it`);
    expect(gens.some((g) => g.includes(`handoff: slow-0 ${from} → ${to} completed`))).toBe(true);
    // berth history lists the move and each step.
    const h = await c.berth(["history", "--repo", c.repo.dir, "--limit", "5"]);
    expect(h.stdout).toContain(
      `move slow-0 ${from} → ${to}: start on ${to}, then stop on ${from} (${from} cordoned)`,
    );
    expect(h.stdout).toContain(`slow-0 stops on ${from}: every proxy loaded routes without it`);
  }, 240_000);

  it("a move whose target never becomes healthy leaves the old replica serving, and says why", async () => {
    const before = await c.nodesView();
    const [from] = runningOn(before, "slow-0");
    const to = from === "w1" ? "w2" : "w1";
    const nf = c.nodes.get(from as string)!;
    const nt = c.nodes.get(to)!;
    await c.client.loadStart("stuck", {
      url: `${c.proxyUrl()}/`,
      headers: { host: "slow.test" },
      rate: 200,
      maxMs: 90_000,
    });
    // Back to `to`, where the new spec answers 503 on /healthz.
    const broken = await c.repo.commit(
      {
        [`nodes/${from}.yaml`]: nodeYaml({ ...nf.def, extra: "cordon: true" }, nf.host.address, nf.token),
        [`nodes/${to}.yaml`]: nodeYaml(nt.def, nt.host.address, nt.token),
        "apps/slow.yaml": slowApp().replace(
          "  START_DELAY_MS:",
          `  UNHEALTHY_ON: "${nt.host.address}"\n  START_DELAY_MS:`,
        ),
      },
      "back, broken",
    );
    const waiting = await waitForView(c, "the handoff to say the target is failing", (v) => {
      const h = v.published.handoffs?.find((x) => x.id === "slow-0");
      return v.published.commit === broken && h && /reports it (failed|running, unhealthy)/.test(h.message)
        ? h
        : false;
    });
    expect(waiting.message).toMatch(
      new RegExp(`^move slow-0 ${from} → ${to}: slow-0 keeps serving on ${from}; ${to} reports it`),
    );
    // Fixed: the new spec comes up on `to`, the handoff completes.
    const fixed = await c.repo.commit({ "apps/slow.yaml": slowApp() }, "fixed");
    const view = await c.converged(fixed, 120_000);
    await sleep(500);
    const s = summarize(await c.client.loadStop("stuck"));
    // On failure, the logs say what each proxy load waited for (agent/core/reload-gate.ts).
    expect(s.failures, `${JSON.stringify(s)}\n${c.logs()}`).toEqual([]);
    expect(runningOn(view, "slow-0")).toEqual([to]);
  }, 240_000);

  it("scaling up and down and adding a domain lose no request", async () => {
    const web = (replicas: number) => processApp("web", { replicas });
    const added = await c.repo.commit(
      { "apps/web.yaml": web(2), "domains/web.yaml": domainYaml("web.test", "web") },
      "web",
    );
    await c.converged(added, 120_000);
    await c.client.loadStart("scale", {
      url: `${c.proxyUrl()}/`,
      headers: { host: "web.test" },
      rate: 200,
      maxMs: 120_000,
    });
    await sleep(1_000);
    await c.converged(await c.repo.commit({ "apps/web.yaml": web(4) }, "web: 4"), 120_000);
    await c.converged(await c.repo.commit({ "apps/web.yaml": web(1) }, "web: 1"), 120_000);
    const domain = await c.repo.commit({ "domains/web2.yaml": domainYaml("web2.test", "web") }, "web2");
    await c.converged(domain, 120_000);
    expect((await c.client.get(`${c.proxyUrl()}/`, { headers: { host: "web2.test" } })).body).toBe("web");
    await c.converged(await c.repo.commit({ "domains/web2.yaml": null }, "no web2"), 120_000);
    await sleep(500);
    const s = summarize(await c.client.loadStop("scale"));
    expect(s.count).toBeGreaterThan(400);
    // On failure, the logs say what each proxy load waited for (agent/core/reload-gate.ts).
    expect(s.failures, `${JSON.stringify(s)}\n${c.logs()}`).toEqual([]);
  }, 300_000);
});
