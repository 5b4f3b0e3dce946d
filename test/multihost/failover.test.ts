// Failover on hosts as network namespaces (issue 12 item 2): with `failover` on in berth.yaml, a
// worker whose link goes down is lost, and after the grace period its replica runs on the other
// worker; proxies route around it all along, so no request fails. When its link comes back the
// replica goes back to it (its document kept it while it was lost: nothing is restarted there).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarize } from "../helpers/load.js";
import { requireNamespaces } from "../helpers/netns.js";
import { requireTool } from "../helpers/tools.js";
import {
  type BerthCluster,
  domainYaml,
  type NodesView,
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

const healthyOn = (v: NodesView, node: string): string[] =>
  (v.nodes.find((n) => n.node === node)?.status?.workloads ?? [])
    .filter((w) => w.state === "running" && w.health === "healthy")
    .map((w) => w.id)
    .sort();

describe.skipIf(!ok)("failover when a worker's link goes down", () => {
  let c: BerthCluster;
  beforeAll(async () => {
    c = await startBerthCluster({
      nodes: [
        { name: "w1", roles: ["worker"] },
        { name: "w2", roles: ["worker"] },
        { name: "edge", roles: ["proxy"] },
      ],
      files: {
        "berth.yaml": "kind: Settings\nbranch: main\nfailover:\n  enabled: true\n  graceSeconds: 2\n",
        "apps/web.yaml": processApp("web", { replicas: 2, extra: "placement:\n  nodes: [w1, w2]" }),
        "domains/web.yaml": domainYaml("web.test", "web"),
      },
      serveArgs: ["--stale-after", "1", "--lost-after", "3"],
    });
    await c.converged(c.repo.git("rev-parse", "HEAD"));
  }, 180_000);
  afterAll(async () => {
    await c?.cleanup();
  }, 60_000);

  it("runs the lost node's replica elsewhere after the grace period and back when it returns, losing no request", async () => {
    const before = await c.nodesView();
    const [mine] = healthyOn(before, "w1");
    expect(mine).toBeDefined();
    const t0 = Date.now();
    await c.client.loadStart("fo", {
      url: `${c.proxyUrl()}/`,
      headers: { host: "web.test" },
      rate: 200,
      maxMs: 120_000,
      timeoutMs: 90_000,
    });
    await sleep(1_000);
    await c.nodes.get("w1")!.host.linkDown();
    const down = Date.now();

    // Lost, grace over: a generation says so and w2 runs both replicas.
    const failed = await waitForView(c, "w2 running both replicas after failover", (v) =>
      v.published.failover?.[0]?.node === "w1" && healthyOn(v, "w2").length === 2 ? v : false,
    );
    const took = Date.now() - down;
    expect(failed.published.failover?.[0]?.message).toMatch(/^failover: w1 lost since .* \(grace 2 s\)/);
    expect(took).toBeGreaterThan(2_000);

    await sleep(2_000);
    await c.nodes.get("w1")!.host.linkUp();
    // Back: failover over, the replica on w1 again, w2's copy drained.
    const back = await waitForView(c, "the replica back on w1", (v) =>
      !v.published.failover &&
      !v.published.handoffs?.length &&
      healthyOn(v, "w1").includes(mine as string) &&
      healthyOn(v, "w2").length === 1
        ? v
        : false,
    );
    expect(healthyOn(back, "w2")).not.toContain(mine);
    await c.converged(c.repo.git("rev-parse", "HEAD"));
    const s = summarize(await c.client.loadStop("fo"));
    expect(s.count).toBeGreaterThan(1_000);
    expect(
      s.failures,
      `${JSON.stringify({ ...s, down: down - t0 })}\n${c.repo.git("log", "--format=%ci %s", "berth/desired")}\n${c.logs()}`,
    ).toEqual([]);
    const h = await c.berth(["history", "--repo", c.repo.dir, "--limit", "10"]);
    expect(h.stdout).toMatch(/failover: w1 lost since/);
    expect(h.stdout).toMatch(/failover over: w1 is back/);
  }, 240_000);
});
