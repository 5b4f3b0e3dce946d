// The multi-host tier's own check: a reconciler host, two process workers and a proxy node with a
// real Caddy, each in its own network namespace; a client host reaches the app through the proxy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarize } from "../helpers/load.js";
import { canMakeNamespaces } from "../helpers/netns.js";
import { requireTool } from "../helpers/tools.js";
import { type BerthCluster, domainYaml, processApp, startBerthCluster } from "./cluster.js";

const ok = requireTool("caddy", ["version"]) && requireTool("ip", ["netns", "list"]) && canMakeNamespaces();

describe.skipIf(!ok)("multi-host smoke", () => {
  let c: BerthCluster;
  beforeAll(async () => {
    c = await startBerthCluster({
      nodes: [
        { name: "w1", roles: ["worker"] },
        { name: "w2", roles: ["worker"] },
        { name: "edge", roles: ["proxy"] },
      ],
      files: { "apps/web.yaml": processApp("web"), "domains/web.yaml": domainYaml("web.test", "web") },
    });
  }, 120_000);
  afterAll(async () => {
    await c?.cleanup();
  }, 60_000);

  it("serves through the proxy from both workers, with no failed request", async () => {
    const head = c.repo.git("rev-parse", "HEAD");
    const view = await c.converged(head);
    expect(view.nodes.map((n) => n.node).sort()).toEqual(["edge", "w1", "w2"]);
    const r = await c.client.get(`${c.proxyUrl()}/`, { headers: { host: "web.test" } });
    expect(r.status).toBe(200);
    expect(r.body).toBe("web");
    const s = summarize(
      await c.client.load({
        url: `${c.proxyUrl()}/`,
        headers: { host: "web.test" },
        rate: 100,
        maxMs: 2_000,
      }),
    );
    expect(s.count).toBeGreaterThan(150);
    expect(s.failed).toBe(0);
  }, 120_000);
});
