// POST /v1/webhooks/{forge} over real HTTP with deliveries signed here, per forge: a push to the
// tracked branch triggers one reconcile (202), a replay is answered 200 duplicate without a second
// trigger, forged or missing signatures get 401, other branches no trigger, pings 200, 413 beyond
// 1 MiB, pull requests go to the PR hook.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PullRequestEvent } from "../../reconciler/webhooks/parse.js";
import { type Harness, startHarness, until } from "../reconciler/http/harness.js";
import {
  bitbucketPullRequest,
  bitbucketPush,
  giteaPullRequest,
  giteaPush,
  githubExample,
  gitlabMergeRequest,
  gitlabPush,
  hmacHex,
  sha1,
} from "./payloads.js";

const secret = "webhook-secret-0123456789";
type ForgeCase = {
  forge: "github" | "gitea" | "gitlab" | "bitbucket";
  push: (branch: string) => unknown;
  pushHeaders: Record<string, string>;
  ping?: { headers: Record<string, string>; body: unknown };
  pr: { headers: Record<string, string>; body: unknown };
  deliveryHeader: string;
  sign: (body: string, key: string) => Record<string, string>;
};

function githubPush(branch: string) {
  const p = githubExample("push", (e) => e.ref === "refs/heads/master");
  p.ref = `refs/heads/${branch}`;
  p.after = sha1;
  return p;
}

const cases: ForgeCase[] = [
  {
    forge: "github",
    push: githubPush,
    pushHeaders: { "x-github-event": "push" },
    ping: { headers: { "x-github-event": "ping" }, body: githubExample("ping") },
    pr: {
      headers: { "x-github-event": "pull_request" },
      body: githubExample("pull_request", (p) => p.action === "opened"),
    },
    deliveryHeader: "x-github-delivery",
    sign: (body, key) => ({ "x-hub-signature-256": `sha256=${hmacHex(key, body)}` }),
  },
  {
    forge: "gitea",
    push: (b) => giteaPush(b),
    pushHeaders: { "x-gitea-event": "push" },
    pr: { headers: { "x-gitea-event": "pull_request" }, body: giteaPullRequest("opened") },
    deliveryHeader: "x-gitea-delivery",
    sign: (body, key) => ({ "x-gitea-signature": hmacHex(key, body) }),
  },
  {
    forge: "gitlab",
    push: (b) => gitlabPush(b),
    pushHeaders: { "x-gitlab-event": "Push Hook" },
    ping: { headers: { "x-gitlab-event": "Test Hook" }, body: {} },
    pr: { headers: { "x-gitlab-event": "Merge Request Hook" }, body: gitlabMergeRequest("open", false) },
    deliveryHeader: "x-gitlab-event-uuid",
    sign: (_body, key) => ({ "x-gitlab-token": key }),
  },
  {
    forge: "bitbucket",
    push: (b) => bitbucketPush([b]),
    pushHeaders: { "x-event-key": "repo:push" },
    ping: { headers: { "x-event-key": "diagnostics:ping" }, body: {} },
    pr: { headers: { "x-event-key": "pullrequest:created" }, body: bitbucketPullRequest() },
    deliveryHeader: "x-request-uuid",
    sign: (body, key) => ({ "x-hub-signature": `sha256=${hmacHex(key, body)}` }),
  },
];

let h: Harness;
let prs: PullRequestEvent[];
let delivery = 0;
beforeEach(async () => {
  prs = [];
  h = await startHarness({ webhooks: { secret }, onPullRequest: (e) => prs.push(e) });
});
afterEach(async () => {
  await h.close();
});

describe.each(cases)("$forge webhooks", (c) => {
  const send = (
    headers: Record<string, string>,
    payload: unknown,
    opts: { key?: string; id?: string; unsigned?: boolean } = {},
  ) => {
    const body = JSON.stringify(payload);
    const id = opts.id ?? `delivery-${++delivery}`;
    return h.call("POST", `/v1/webhooks/${c.forge}`, {
      headers: {
        "content-type": "application/json",
        [c.deliveryHeader]: id,
        ...headers,
        ...(opts.unsigned ? {} : c.sign(body, opts.key ?? secret)),
      },
      body,
    });
  };

  it("a push to the tracked branch triggers one reconcile and answers 202", async () => {
    const res = await send(c.pushHeaders, c.push("main"));
    expect(res.status).toBe(202);
    expect(res.json()).toEqual({ accepted: true, branch: "main", after: sha1 });
    expect(h.backend.triggers).toEqual([{ source: "webhook", forge: c.forge, branch: "main", after: sha1 }]);
    expect(h.events.since(0).events.map((e) => e.type)).toEqual(["webhook"]);
  });

  it("a replayed delivery is answered 200 duplicate and triggers nothing more", async () => {
    const first = await send(c.pushHeaders, c.push("main"), { id: `replay-${c.forge}` });
    expect(first.status).toBe(202);
    const again = await send(c.pushHeaders, c.push("main"), { id: `replay-${c.forge}` });
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true });
    expect(h.backend.triggers).toHaveLength(1);
  });

  it("a forged signature gets 401 and triggers nothing", async () => {
    const res = await send(c.pushHeaders, c.push("main"), { key: "not-the-secret" });
    expect(res.status).toBe(401);
    expect(res.json().error).toMatch(/signature check failed/);
    expect(h.backend.triggers).toHaveLength(0);
  });

  it("a missing signature gets 401", async () => {
    const res = await send(c.pushHeaders, c.push("main"), { unsigned: true });
    expect(res.status).toBe(401);
    expect(res.json().error).toMatch(/missing X-/);
    expect(h.backend.triggers).toHaveLength(0);
  });

  it("a forged delivery does not use up its id: the genuine one is still processed", async () => {
    await send(c.pushHeaders, c.push("main"), { key: "forger", id: `same-${c.forge}` });
    const genuine = await send(c.pushHeaders, c.push("main"), { id: `same-${c.forge}` });
    expect(genuine.status).toBe(202);
    expect(h.backend.triggers).toHaveLength(1);
  });

  it("a push to another branch triggers nothing", async () => {
    const res = await send(c.pushHeaders, c.push("feature/x"));
    expect([200, 202]).toContain(res.status);
    expect(res.json().ignored).toMatch(/branch feature\/x is not tracked/);
    expect(h.backend.triggers).toHaveLength(0);
  });

  it("a body over 1 MiB gets 413", async () => {
    const payload = { ...(c.push("main") as object), padding: "x".repeat(1024 * 1024) };
    const res = await send(c.pushHeaders, payload);
    expect(res.status).toBe(413);
    expect(h.backend.triggers).toHaveLength(0);
  });

  it("a pull request goes to the PR hook with 202", async () => {
    const res = await send(c.pr.headers, c.pr.body);
    expect(res.status).toBe(202);
    await until(() => prs.length === 1, "the PR hook");
    expect(prs[0]).toMatchObject({
      kind: "pull_request",
      forge: c.forge,
      action: "opened",
      baseRef: expect.any(String),
    });
    expect(h.backend.triggers).toHaveLength(0);
  });

  it("counts deliveries by forge and result in /metrics", async () => {
    await send(c.pushHeaders, c.push("main"));
    await send(c.pushHeaders, c.push("main"), { key: "bad" });
    const text = (await h.call("GET", "/metrics")).text;
    expect(text).toContain(`berth_webhooks_total{forge="${c.forge}",result="accepted"} 1`);
    expect(text).toContain(`berth_webhooks_total{forge="${c.forge}",result="unauthorized"} 1`);
  });
});

describe.each(cases.filter((c) => c.ping))("$forge ping", (c) => {
  it("is answered 200 and triggers nothing", async () => {
    const ping = c.ping as NonNullable<ForgeCase["ping"]>;
    const body = JSON.stringify(ping.body);
    const res = await h.call("POST", `/v1/webhooks/${c.forge}`, {
      headers: { [c.deliveryHeader]: `ping-${c.forge}`, ...ping.headers, ...c.sign(body, secret) },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ok: true, ping: true });
    expect(h.backend.triggers).toHaveLength(0);
  });
});

describe("webhooks without a configured secret", () => {
  it("are refused with 401, and the log says how to configure one", async () => {
    const open = await startHarness({});
    try {
      const body = JSON.stringify(githubPush("main"));
      const res = await open.call("POST", "/v1/webhooks/github", {
        headers: { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmacHex("x", body)}` },
        body,
      });
      expect(res.status).toBe(401);
      expect(res.json().error).toMatch(/--webhook-secret-file/);
      expect(open.backend.triggers).toHaveLength(0);
      await until(() => open.logLines.some((l) => l.includes("--webhook-secret-file")), "the warning");
    } finally {
      await open.close();
    }
  });
});

describe("webhook routing", () => {
  it("answers 404 for an unknown forge and 405 for GET", async () => {
    expect((await h.call("POST", "/v1/webhooks/sourcehut", { body: "{}" })).status).toBe(404);
    const get = await h.call("GET", "/v1/webhooks/github");
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
  });

  it("answers 400 for a signed delivery whose body is not JSON, and lets its retry through", async () => {
    const body = "not json";
    const headers = {
      "x-github-event": "push",
      "x-github-delivery": "broken-1",
      "x-hub-signature-256": `sha256=${hmacHex(secret, body)}`,
    };
    const res = await h.call("POST", "/v1/webhooks/github", { headers, body });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/not JSON/);
    expect((await h.call("POST", "/v1/webhooks/github", { headers, body })).status).toBe(400);
  });

  it("never logs the secret or a signature", async () => {
    const body = JSON.stringify(githubPush("main"));
    const sig = `sha256=${hmacHex(secret, body)}`;
    await h.call("POST", "/v1/webhooks/github", {
      headers: { "x-github-event": "push", "x-github-delivery": "log-1", "x-hub-signature-256": sig },
      body,
    });
    const all = h.logLines.join("\n");
    expect(all).toContain("log-1");
    expect(all).not.toContain(secret);
    expect(all).not.toContain(sig.slice(7));
  });
});
