// The forge clients against the recording forge server, for GitHub, Gitea and GitLab: one plan
// comment found again by its marker, statuses in each forge's vocabulary, auth and User-Agent
// headers, pagination, rate limits honoured, creates never duplicated, and no token in any log.
import { afterEach, describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import {
  createForgeClient,
  ForgeApiError,
  type ForgeClient,
  PLAN_MARKER,
  webUrlFor,
} from "../../reconciler/forge/client.js";
import {
  type ForgeKind,
  type RecordingForge,
  rateLimited,
  startRecordingForge,
} from "../helpers/recording-forge.js";
import { captureLog } from "./log-capture.js";

const kinds: ForgeKind[] = ["github", "gitea", "gitlab"];
const sha = "0123456789abcdef0123456789abcdef01234567";
const fast = { baseDelayMs: 50, secondaryLimitDelayMs: 200 };

let forges: RecordingForge[] = [];
let clients: ForgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(forges.map((f) => f.close()));
  forges = [];
  clients = [];
});

async function setup(kind: ForgeKind, opts: { maxPerPage?: number; prefix?: string } = {}) {
  const forge = await startRecordingForge({ kind, ...opts });
  forges.push(forge);
  const log = captureLog();
  const make = () => {
    const c = createForgeClient({
      kind,
      apiUrl: forge.url,
      repo: forge.repo,
      token: forge.token,
      logger: log.logger,
      retry: fast,
    });
    clients.push(c);
    return c;
  };
  return { forge, log, client: make(), make };
}

describe.each(kinds)("%s client", (kind) => {
  it("creates one plan comment, then updates it in place, also from a fresh client", async () => {
    const { forge, client, make } = await setup(kind, { maxPerPage: 2 });
    // Other people's comments, spread over several pages, and one that merely mentions the marker.
    for (let i = 0; i < 5; i++) forge.addComment(7, `looks good ${i}`);
    forge.addComment(7, `quoting: ${PLAN_MARKER} is how berth finds its comment`);

    const first = await client.upsertPlanComment(7, `${PLAN_MARKER}\nplan one`);
    expect(first.created).toBe(true);
    const second = await client.upsertPlanComment(7, `${PLAN_MARKER}\nplan two`);
    expect(second).toMatchObject({ id: first.id, created: false });
    // A restarted reconciler knows no ids: it must find the comment again by listing every page.
    const third = await make().upsertPlanComment(7, "plan three without marker");
    expect(third).toMatchObject({ id: first.id, created: false });

    const ours = forge.comments(7).filter((c) => c.body.startsWith(PLAN_MARKER));
    expect(ours).toHaveLength(1);
    expect(ours[0]?.body).toBe(`${PLAN_MARKER}\nplan three without marker`);
    expect(ours[0]?.updates).toBe(2);
    expect(forge.comments(7)).toHaveLength(7);
    // The fresh client listed more than one page to find it.
    expect(forge.requests.filter((r) => r.route === "list-comments").length).toBeGreaterThan(1);
  });

  it("sends the forge's auth header, the berth User-Agent, and never logs the token", async () => {
    const { forge, client, log } = await setup(kind);
    await client.upsertPlanComment(3, `${PLAN_MARKER}\nx`);
    await client.setCommitStatus(sha, {
      context: "berth/plan",
      state: "success",
      description: "Plan: 1 to add",
    });
    expect(forge.requests.length).toBeGreaterThan(0);
    for (const r of forge.requests) {
      expect(r.authOk).toBe(true);
      expect(r.headers["user-agent"]).toBe(`berth/${pkg.version}`);
    }
    forge.failNext(1, { status: 403, body: { message: "Resource not accessible by integration" } });
    await expect(
      client.setCommitStatus(sha, { context: "berth/plan", state: "success", description: "x" }),
    ).rejects.toThrow(ForgeApiError);
    const text = log.lines.join("\n");
    expect(text).not.toContain(forge.token);
    const err = log.records().find((r) => r.level === 50);
    expect(err).toMatchObject({ method: "POST", status: 403 });
    expect(String(err?.endpoint)).toContain(`/statuses/${sha}`);
  });

  it("maps commit statuses to the forge's states and truncates descriptions", async () => {
    const { forge, client } = await setup(kind);
    const long = `12 errors: apps/web.yaml:7:13: ${"x".repeat(300)}`;
    await client.setCommitStatus(sha, { context: "berth/plan", state: "pending", description: "planning" });
    await client.setCommitStatus(sha, {
      context: "berth/plan",
      state: "failure",
      description: long,
      targetUrl: "https://x/y",
    });
    const got = forge.statuses(sha, "berth/plan");
    expect(got.map((s) => s.state)).toEqual(
      kind === "gitlab" ? ["running", "failed"] : ["pending", "failure"],
    );
    expect(got[1]?.description.length).toBeLessThanOrEqual(kind === "gitlab" ? 255 : 140);
    expect(got[1]?.description.startsWith("12 errors: apps/web.yaml:7:13: xxx")).toBe(true);
    expect(got[1]?.description.endsWith("…")).toBe(true);
    expect(got[1]?.targetUrl).toBe("https://x/y");
  });

  it("honours 403 + Retry-After: the call is retried later and nothing is lost", async () => {
    const { forge, client, log } = await setup(kind);
    forge.failNext(2, rateLimited.secondary(1));
    await client.setCommitStatus(sha, { context: "berth/deploy", state: "success", description: "deployed" });
    expect(forge.latestStatus(sha, "berth/deploy")?.state).toBe("success");
    const tries = forge.requests.filter((r) => r.route === "set-status" || r.status === 403);
    expect(tries.map((r) => r.status)).toEqual([403, 403, 201]);
    const waits = log.records().filter((r) => r.msg === "forge API call failed; retrying");
    expect(waits.map((w) => w.delayMs)).toEqual([1000, 1000]);
    expect(waits[0]?.reason).toBe("retry-after");
  });

  it("waits for the rate-limit reset when remaining is 0", async () => {
    const { forge, client, log } = await setup(kind);
    forge.failNext(1, rateLimited.primary(1), (r) => r.route === "list-comments");
    const r = await client.upsertPlanComment(9, `${PLAN_MARKER}\nafter the reset`);
    expect(r.created).toBe(true);
    expect(forge.comments(9)).toHaveLength(1);
    expect(log.records().some((l) => l.reason === "rate-limit-reset")).toBe(true);
  });

  it("retries a rate-limited create only after listing again: exactly one comment", async () => {
    const { forge, client } = await setup(kind);
    forge.failNext(1, rateLimited.secondary(1), (r) => r.route === "create-comment");
    await client.upsertPlanComment(4, `${PLAN_MARKER}\nplan`);
    expect(forge.comments(4)).toHaveLength(1);
    const routes = forge.requests.map((r) => `${r.route}:${r.status}`);
    expect(routes).toEqual([
      "list-comments:200",
      "create-comment:403",
      "list-comments:200",
      "create-comment:201",
    ]);
  });

  it("does not duplicate a comment whose create answer was lost", async () => {
    const { forge, client } = await setup(kind);
    forge.failNext(1, { status: 0, dropAfterProcessing: true }, (r) => r.route === "create-comment");
    const r = await client.upsertPlanComment(5, `${PLAN_MARKER}\nplan`);
    expect(forge.comments(5)).toHaveLength(1);
    expect(r.id).toBe(String(forge.comments(5)[0]?.id));
    // The comment was made by the lost create and then found by listing, so it is updated, not created.
    expect(r.created).toBe(false);
  });

  it("creates a new comment when ours was deleted", async () => {
    const { forge, client } = await setup(kind);
    const a = await client.upsertPlanComment(6, `${PLAN_MARKER}\none`);
    forge.deleteComment(Number(a.id));
    const b = await client.upsertPlanComment(6, `${PLAN_MARKER}\ntwo`);
    expect(b.created).toBe(true);
    expect(b.id).not.toBe(a.id);
    expect(forge.comments(6).map((c) => c.body)).toEqual([`${PLAN_MARKER}\ntwo`]);
  });

  it("rejects a wrong token with the endpoint and status in the error", async () => {
    const forge = await startRecordingForge({ kind });
    forges.push(forge);
    const log = captureLog();
    const c = createForgeClient({
      kind,
      apiUrl: forge.url,
      repo: forge.repo,
      token: "wrong-token-value",
      logger: log.logger,
    });
    clients.push(c);
    const err = await c.upsertPlanComment(1, "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeApiError);
    expect((err as ForgeApiError).status).toBe(401);
    expect((err as ForgeApiError).message).toMatch(/GET \/.*comments|GET \/.*notes/);
    expect(log.lines.join("\n")).not.toContain("wrong-token-value");
  });
});

describe("forge specifics", () => {
  it("GitLab: posting a status again in the state it has is not an error", async () => {
    const { forge, client } = await setup("gitlab");
    await client.setCommitStatus(sha, { context: "berth/plan", state: "pending", description: "planning" });
    await client.setCommitStatus(sha, { context: "berth/plan", state: "pending", description: "planning" });
    expect(forge.requests.map((r) => r.status)).toEqual([201, 400]);
    expect(forge.statuses(sha)).toHaveLength(1);
  });

  it("GitLab: the project path is URL-encoded and system notes are skipped", async () => {
    const { forge, client } = await setup("gitlab");
    forge.addComment(2, `${PLAN_MARKER}\nsystem notes never match`, { system: true });
    const r = await client.upsertPlanComment(2, `${PLAN_MARKER}\nplan`);
    expect(r.created).toBe(true);
    expect(forge.requests[0]?.path).toContain("/api/v4/projects/group%2Fsub%2Fconfig/merge_requests/2/notes");
  });

  it("GitHub Enterprise: the API base with /api/v3 is used as given", async () => {
    const { forge, client } = await setup("github", { prefix: "/api/v3" });
    await client.setCommitStatus(sha, { context: "berth/plan", state: "success", description: "ok" });
    expect(forge.requests[0]?.path).toBe(`/api/v3/repos/acme/config/statuses/${sha}`);
    expect(forge.requests[0]?.headers.accept).toBe("application/vnd.github+json");
  });

  it("a GitHub secondary limit without Retry-After backs off on its own", async () => {
    const { forge, client, log } = await setup("github");
    forge.failNext(1, rateLimited.secondaryNoHeader());
    await client.setCommitStatus(sha, { context: "berth/plan", state: "success", description: "ok" });
    expect(forge.statuses(sha)).toHaveLength(1);
    expect(log.records().find((r) => r.reason === "secondary-rate-limit")?.delayMs).toBe(200);
  });

  it("comment bodies over the forge limit are cut with a note", async () => {
    const { forge, client } = await setup("github");
    await client.upsertPlanComment(8, `${PLAN_MARKER}\n${"y".repeat(70_000)}`);
    const body = forge.comments(8)[0]?.body ?? "";
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body).toContain("Truncated");
  });

  it("derives web URLs for links", () => {
    expect(webUrlFor({ kind: "github", repo: "acme/config" })).toBe("https://github.com/acme/config");
    expect(webUrlFor({ kind: "github", apiUrl: "https://ghe.example.com/api/v3", repo: "a/b" })).toBe(
      "https://ghe.example.com/a/b",
    );
    expect(webUrlFor({ kind: "gitea", apiUrl: "https://git.example.com/api/v1/", repo: "a/b" })).toBe(
      "https://git.example.com/a/b",
    );
    expect(webUrlFor({ kind: "gitlab", repo: "g/s/p" })).toBe("https://gitlab.com/g/s/p");
    expect(webUrlFor({ kind: "gitlab", repo: "g/p", webUrl: "https://w/x/" })).toBe("https://w/x");
  });

  it("refuses an empty token and a malformed repo with a hint", () => {
    const { logger } = captureLog();
    expect(() => createForgeClient({ kind: "github", repo: "a/b", token: " \n", logger })).toThrow(
      /--forge-token-file/,
    );
    expect(() => createForgeClient({ kind: "github", repo: "nope", token: "t", logger })).toThrow(
      /owner\/name/,
    );
    expect(() => createForgeClient({ kind: "gitea", repo: "a/b", token: "t", logger })).toThrow(
      /apiUrl is required/,
    );
  });
});
