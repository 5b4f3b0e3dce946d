// End to end in one process: the real API server (reconciler/http) on the real reconciler in
// remote mode against a real git HTTP server. A signed GitHub push webhook leads to a fetch and a
// publish; an agent's HTTP long-poll is woken by that publish; a push to another branch changes
// nothing; a status PUT lands on the remote's status branch.
import { createHmac, randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EventBus } from "../../reconciler/events.js";
import { startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { createReconciler } from "../../reconciler/reconciler.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { appYaml, baseConfig, desiredHistory, memoryLogger, tokenOf, waitFor } from "./helpers.js";

const ok = requireTool("git");
const SECRET = "e2e-webhook-secret";

function githubPush(url: string, branch: string, after: string): Promise<Response> {
  const body = JSON.stringify({
    ref: `refs/heads/${branch}`,
    after,
    repository: { full_name: "acme/hosts" },
  });
  const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
  return fetch(`${url}/v1/webhooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": signature,
    },
    body,
  });
}

describe.skipIf(!ok)("webhook → fetch → publish → agent woken (in process)", () => {
  const temp = useTempRepos();
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("publishes on a signed push and wakes the agent's long-poll", async () => {
    const root = temp.makeTempDir("berth-remote-");
    const bare = join(root, "cfg.git");
    runGit(root, "init", "-q", "--bare", "-b", "main", bare);
    const work = await temp.makeRepo(baseConfig());
    work.git("push", "-q", bare, "main");
    const git = await startGitHttpServer({ root });
    closers.push(() => git.close());

    const events = new EventBus();
    const { logger, lines } = memoryLogger();
    const reconciler = await createReconciler({
      remote: { url: `${git.url}/cfg.git`, cacheDir: temp.makeTempDir("berth-cache-") },
      // No interval fetch during the test: only the webhook can bring the new commit.
      pollIntervalMs: 3_600_000,
      events,
      logger,
      statusBatchMs: 100,
    });
    await reconciler.start();
    closers.push(() => reconciler.stop());
    const api = await startApiServer({
      listen: "127.0.0.1:0",
      backend: reconciler,
      events,
      metrics: createMetrics({ processMetrics: false }),
      logger,
      webhookSecret: SECRET,
    });
    closers.push(() => api.close());
    await waitFor("first publish", () => reconciler.published().generation === 1);

    const auth = { authorization: `Bearer ${tokenOf("node-a")}` };
    const first = await fetch(`${api.url}/v1/nodes/node-a/desired`, { headers: auth });
    const etag = first.headers.get("etag") as string;
    expect(first.status).toBe(200);
    await first.json();

    // The agent long-polls; then a commit is pushed and the forge's webhook arrives.
    const poll = fetch(`${api.url}/v1/nodes/node-a/desired?wait=30`, {
      headers: { ...auth, "if-none-match": etag },
    });
    const other = await work.commit({}, "unrelated");
    work.git("push", "-q", bare, `${other}:refs/heads/feature`);
    expect((await githubPush(api.url, "feature", other)).status).toBeLessThan(300);
    await reconciler.idle();
    expect(reconciler.published().generation).toBe(1);

    const c2 = await work.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "web 1.27");
    work.git("push", "-q", bare, "main");
    const hook = await githubPush(api.url, "main", c2);
    expect(hook.status).toBe(202);

    const woken = await poll;
    expect(woken.status).toBe(200);
    expect(woken.headers.get("etag")).not.toBe(etag);
    const doc = (await woken.json()) as { source: { commit: string }; workloads: { image: string }[] };
    expect(doc.source.commit).toBe(c2);
    expect(doc.workloads[0]?.image).toBe("nginx:1.27");
    expect(desiredHistory(bare).map((h) => h.generation)).toEqual([1, 2]);

    // The agent reports; the status reaches the remote's status branch.
    const status = {
      node: "node-a",
      agentVersion: "0.1.0",
      desiredHash: (woken.headers.get("etag") as string).replaceAll('"', ""),
      appliedHash: null,
      appliedCommit: null,
      phase: "applying",
      observedAt: new Date().toISOString(),
      workloads: [],
      ingress: null,
    };
    const put = await fetch(`${api.url}/v1/nodes/node-a/status`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(status),
    });
    expect(put.status).toBe(204);
    await reconciler.idle();
    expect(JSON.parse(runGit(bare, "show", "berth/status:nodes/node-a.json")).phase).toBe("applying");
    expect(lines.join("")).not.toContain(SECRET);
    expect(lines.join("")).not.toContain(tokenOf("node-a"));
  });
});
