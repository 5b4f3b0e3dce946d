// A start-first replace on each runtime across hosts: a process worker and a podman worker (with a
// podman store of its own) behind a proxy node's real Caddy, under load from a client host. No
// request fails while both apps roll to a new version, and afterwards only the new one answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarize } from "../helpers/load.js";
import { requireNamespaces } from "../helpers/netns.js";
import { buildTestImages, type TestImages } from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { type BerthCluster, boxApp, domainYaml, processApp, startBerthCluster } from "./cluster.js";

const ok =
  requireTool("caddy", ["version"]) &&
  requireTool("openssl", ["version"]) &&
  requireTool("podman") &&
  requireTool("ip", ["netns", "list"]) &&
  requireNamespaces();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ok)("start-first replaces on a process and a podman worker, under load", () => {
  let c: BerthCluster;
  let images: TestImages;
  beforeAll(async () => {
    c = await startBerthCluster({
      nodes: [
        { name: "w1", roles: ["worker"] },
        { name: "wp", roles: ["worker"], runtime: "podman" },
        { name: "edge", roles: ["proxy"] },
      ],
      files: {},
    });
    images = await buildTestImages(c.nodes.get("wp")!.host.podmanEnv ?? {});
    const first = await c.repo.commit(
      {
        "apps/web.yaml": processApp("web", { reply: "v1", extra: "placement:\n  nodes: [w1]" }),
        "domains/web.yaml": domainYaml("web.test", "web"),
        "apps/box.yaml": boxApp(images.v1, images.port),
        "domains/box.yaml": domainYaml("box.test", "box"),
      },
      "web and box",
    );
    await c.converged(first, 180_000);
  }, 300_000);
  afterAll(async () => {
    await c?.cleanup();
  }, 120_000);

  it("replaces both apps with no failed request", async () => {
    const load = { rate: 100, maxMs: 120_000 };
    await c.client.loadStart("web", { url: `${c.proxyUrl()}/`, headers: { host: "web.test" }, ...load });
    await c.client.loadStart("box", { url: `${c.proxyUrl()}/`, headers: { host: "box.test" }, ...load });
    await sleep(1_000);
    const v2 = await c.repo.commit(
      {
        "apps/web.yaml": processApp("web", { reply: "v2", extra: "placement:\n  nodes: [w1]" }),
        "apps/box.yaml": boxApp(images.v2, images.port),
      },
      "v2",
    );
    await c.converged(v2, 180_000);
    await sleep(1_000);
    const web = summarize(await c.client.loadStop("web"));
    const box = summarize(await c.client.loadStop("box"));
    expect(web.failures, JSON.stringify(web)).toEqual([]);
    expect(box.failures, JSON.stringify(box)).toEqual([]);
    expect(Object.keys(web.bodies).sort()).toEqual(["v1", "v2"]);
    expect(Object.keys(box.bodies).sort()).toEqual(["v1", "v2"]);
    // Converged means only the new version answers.
    for (const host of ["web.test", "box.test"]) {
      for (let i = 0; i < 6; i++) {
        expect((await c.client.get(`${c.proxyUrl()}/`, { headers: { host } })).body.trim()).toBe("v2");
      }
    }
  }, 300_000);
});
