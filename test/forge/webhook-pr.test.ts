// Pull-request webhooks end to end: a signed delivery to the real API server (POST
// /v1/webhooks/{forge}) reaches the planner through onPullRequest, which fetches the head from the
// real git server and posts the plan comment and status on the recording forge. One per forge.
import { createHmac, randomUUID } from "node:crypto";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { EventBus } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { idleBackend } from "../helpers/idle-backend.js";
import type { ForgeKind } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { app, makePrWorld, type PrWorld } from "./pr-fixture.js";

const ok = requireTool("git");
const secret = "webhook-secret-for-tests";

function githubPayload(w: PrWorld, n: number, sha: string): unknown {
  const pr = (examples as { name: string; examples: Record<string, unknown>[] }[])
    .find((e) => e.name === "pull_request")
    ?.examples.find((x) => x.action === "opened");
  // GitHub's own example payload, pointed at this test's repo, commit and branches.
  type Repo = { clone_url: string; full_name: string };
  type Payload = {
    number: number;
    pull_request: {
      number: number;
      head: { sha: string; ref: string; repo: Repo };
      base: { ref: string; repo: Repo };
    };
    repository: Repo;
  };
  const p = structuredClone(pr) as unknown as Payload;
  p.number = n;
  p.pull_request.number = n;
  p.pull_request.head.sha = sha;
  p.pull_request.head.ref = `feature-${n}`;
  p.pull_request.head.repo.clone_url = w.repo.url;
  p.pull_request.base.ref = "main";
  p.pull_request.base.repo.clone_url = w.repo.url;
  p.repository.clone_url = w.repo.url;
  p.repository.full_name = w.forge.repo;
  return p;
}

function giteaPayload(w: PrWorld, n: number, sha: string): unknown {
  const repo = { full_name: w.forge.repo, clone_url: w.repo.url };
  return {
    action: "opened",
    number: n,
    pull_request: { number: n, head: { sha, ref: `feature-${n}`, repo }, base: { ref: "main", repo } },
    repository: repo,
  };
}

function gitlabPayload(w: PrWorld, n: number, sha: string): unknown {
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    project: { path_with_namespace: w.forge.repo, git_http_url: w.repo.url },
    object_attributes: {
      iid: n,
      action: "open",
      last_commit: { id: sha },
      source_branch: `feature-${n}`,
      target_branch: "main",
      source: { git_http_url: w.repo.url },
      target: { git_http_url: w.repo.url },
    },
  };
}

function signed(kind: ForgeKind, body: string): Record<string, string> {
  const hmac = createHmac("sha256", secret).update(body).digest("hex");
  const id = randomUUID();
  if (kind === "github") {
    return {
      "x-github-event": "pull_request",
      "x-github-delivery": id,
      "x-hub-signature-256": `sha256=${hmac}`,
    };
  }
  if (kind === "gitea")
    return { "x-gitea-event": "pull_request", "x-gitea-delivery": id, "x-gitea-signature": hmac };
  return { "x-gitlab-event": "Merge Request Hook", "x-gitlab-event-uuid": id, "x-gitlab-token": secret };
}

const payloads = { github: githubPayload, gitea: giteaPayload, gitlab: gitlabPayload };

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe.skipIf(!ok).each(["github", "gitea", "gitlab"] as ForgeKind[])("%s pull-request webhook", (kind) => {
  it("a signed delivery -> 202, then one plan comment and a success status", async () => {
    const w = await makePrWorld(kind);
    cleanups.push(() => w.cleanup());
    const server: ApiServer = await startApiServer({
      listen: "127.0.0.1:0",
      backend: idleBackend(),
      events: new EventBus(),
      metrics: createMetrics(),
      webhooks: { secret },
      logger: w.log.logger,
      onPullRequest: (e) => w.planner.handle(e),
    });
    cleanups.push(() => server.close());
    const head = await w.pushHead(21, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api");

    const body = JSON.stringify(payloads[kind](w, 21, head));
    const res = await request(`${server.url}/v1/webhooks/${kind}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...signed(kind, body) },
      body,
    });
    expect(res.statusCode).toBe(202);
    await res.body.dump();

    // The planner starts right after the acknowledgement; wait for it to have work, then for idle.
    const deadline = Date.now() + 30_000;
    while (w.forge.requests.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await w.planner.idle();
    expect(w.forge.comments(21)).toHaveLength(1);
    expect(w.forge.comments(21)[0]?.body).toContain("Plan: 1 to add, 0 to change, 0 to remove.");
    expect(w.forge.latestStatus(head, "berth/plan")?.state).toBe("success");

    // A forged signature plans nothing.
    const forged = await request(`${server.url}/v1/webhooks/${kind}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signed(kind, `${body} `),
        ...(kind === "gitlab" ? { "x-gitlab-token": "wrong" } : {}),
      },
      body,
    });
    expect(forged.statusCode).toBe(401);
    await forged.body.dump();
  });
});
