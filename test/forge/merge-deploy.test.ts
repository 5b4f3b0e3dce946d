// The whole pull-request life on one forge, through the real reconciler and API server: a PR
// webhook gets its plan comment; the merge (a push to main, then the push webhook) is published
// with berth/plan pending -> success on the merged commit; the agent's status report (PUT
// /v1/nodes/n1/status) turns berth/deploy from pending into success.
import { createHash, createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { EventBus } from "../../reconciler/events.js";
import { startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { createForgeIntegration } from "../../reconciler/pr/forge-integration.js";
import { createReconciler, type Reconciler, type ReconcilerHooks } from "../../reconciler/reconciler.js";
import { type NodeStatus, validateStatus } from "../../schema/index.js";
import { requireTool } from "../helpers/tools.js";
import { app, makePrWorld, type PrWorld } from "./pr-fixture.js";

const ok = requireTool("git");
const secret = "merge-test-webhook-secret";
const agentToken = "agent-token-of-n1-for-tests";
const tokenSha = createHash("sha256").update(agentToken).digest("hex");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  await res.body.dump();
  return res.statusCode;
}

describe.skipIf(!ok)("pull request -> merge -> publish -> deploy", () => {
  it("posts the plan, then berth/plan and berth/deploy on the merged commit", async () => {
    const w: PrWorld = await makePrWorld("github");
    cleanups.push(() => w.cleanup());
    // The node gets an agent token, on main, before the pull request.
    const withToken = `kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker, proxy]\nruntime: podman\ncapacity:\n  cpu: 64\n  memory: 256Gi\ntokenSha256: ${tokenSha}\n`;
    const main = await w.pushHead(0, { "nodes/n1.yaml": withToken }, "give n1 a token");
    await w.repo.push("refs/heads/main", main);

    const cacheDir = mkdtempSync(join(tmpdir(), "berth-reconciler-cache-"));
    cleanups.push(() => rmSync(cacheDir, { recursive: true, force: true }));
    const reconcilerCache = join(cacheDir, "reconciler");
    // What berth serve wires: commit statuses as reconciler hooks, pull requests from the API.
    const forge = createForgeIntegration({
      forge: {
        kind: "github",
        apiUrl: w.forge.url,
        repo: w.forge.repo,
        webUrl: "https://forge.example.com/acme/config",
      },
      token: w.forge.token,
      trackedBranch: "main",
      remoteUrl: w.repo.url,
      prCacheDir: join(cacheDir, "pr"),
      logger: w.log.logger,
    });
    cleanups.push(() => forge.close());
    const hooks: ReconcilerHooks = {};
    forge.attach(hooks);
    const events = new EventBus();
    const reconciler: Reconciler = await createReconciler({
      remote: { url: w.repo.url, cacheDir: reconcilerCache },
      pollIntervalMs: 3_600_000,
      events,
      logger: w.log.logger,
      statusBatchMs: 100,
      hooks,
    });
    await reconciler.start();
    cleanups.push(() => reconciler.stop());
    await reconciler.idle();
    const server = await startApiServer({
      listen: "127.0.0.1:0",
      backend: reconciler,
      events,
      metrics: createMetrics(),
      webhooks: { secret },
      logger: w.log.logger,
      onPullRequest: (e) => forge.onPullRequest(e),
    });
    cleanups.push(() => server.close());
    const sign = (body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

    // 1. The pull request: its plan comment and status.
    const head = await w.pushHead(1, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api", main);
    const prBody = JSON.stringify({
      action: "opened",
      number: 1,
      pull_request: {
        number: 1,
        head: { sha: head, ref: "feature-1", repo: { clone_url: w.repo.url } },
        base: { ref: "main", repo: { clone_url: w.repo.url } },
      },
      repository: { full_name: w.forge.repo, clone_url: w.repo.url },
    });
    const prHeaders = {
      "x-github-event": "pull_request",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": sign(prBody),
    };
    expect(await post(`${server.url}/v1/webhooks/github`, prHeaders, prBody)).toBe(202);
    await until("the plan comment", () => w.forge.comments(1).length === 1);
    await forge.idle();
    expect(w.forge.comments(1)[0]?.body).toContain("Plan: 1 to add, 0 to change, 0 to remove.");

    // 2. The merge: main moves to the head, the forge sends a push webhook.
    await w.repo.push("refs/heads/main", head);
    const pushBody = JSON.stringify({
      ref: "refs/heads/main",
      after: head,
      repository: { full_name: w.forge.repo },
    });
    const pushHeaders = {
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": sign(pushBody),
    };
    expect(await post(`${server.url}/v1/webhooks/github`, pushHeaders, pushBody)).toBe(202);
    await until("the publish", () => reconciler.published().commit === head);
    await forge.idle();
    // The PR planner set berth/plan on this very commit (a fast-forward merge); the publish follows.
    expect(w.forge.statuses(head, "berth/plan").map((s) => s.state)).toEqual([
      "pending",
      "success",
      "pending",
      "success",
    ]);
    expect(w.forge.latestStatus(head, "berth/plan")?.description).toBe(
      "published: Plan: 1 to add, 0 to change, 0 to remove.",
    );
    expect(w.forge.latestStatus(head, "berth/deploy")).toMatchObject({
      state: "pending",
      description: "deploying to 1 node",
    });

    // 3. The agent applied it and reports converged: berth/deploy success.
    const doc = reconciler.desired("n1");
    expect(doc).toBeDefined();
    const report: NodeStatus = {
      node: "n1",
      agentVersion: "0.1.0",
      desiredHash: doc?.hash ?? null,
      appliedHash: doc?.hash ?? null,
      appliedCommit: head,
      phase: "converged",
      workloads: (doc?.workloads ?? []).map((wl) => ({
        id: wl.id,
        app: wl.app,
        state: "running",
        health: "healthy",
        specHash: wl.specHash,
      })),
      ingress: { hash: null, applied: true },
    };
    expect(validateStatus()(report)).toBe(true);
    const put = await request(`${server.url}/v1/nodes/n1/status`, {
      method: "PUT",
      headers: { authorization: `Bearer ${agentToken}`, "content-type": "application/json" },
      body: JSON.stringify(report),
    });
    await put.body.dump();
    expect(put.statusCode).toBe(204);
    await until(
      "berth/deploy success",
      () => w.forge.latestStatus(head, "berth/deploy")?.state === "success",
    );
    expect(w.forge.latestStatus(head, "berth/deploy")?.description).toBe(
      "deployed: all affected nodes converged healthy",
    );
    expect(w.log.lines.join("\n")).not.toContain(w.forge.token);
    expect(w.log.lines.join("\n")).not.toContain(agentToken);
  });
});
