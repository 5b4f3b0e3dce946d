// The pull-request planner end to end with real git (a smart-HTTP server holding refs/pull/N/head
// or refs/merge-requests/N/head) and the recording forge, for GitHub, Gitea and GitLab: one comment
// per pull request updated in place, statuses on every head, the newest head wins, invalid heads
// fail with diagnostics, rate limits are waited out, long plans are truncated.
import { afterEach, describe, expect, it } from "vitest";
import { PLAN_MARKER } from "../../reconciler/forge/client.js";
import type { ForgeKind } from "../helpers/recording-forge.js";
import { rateLimited } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { app, makePrWorld, type PrWorld, webUrl } from "./pr-fixture.js";

const ok = requireTool("git");
const kinds: ForgeKind[] = ["github", "gitea", "gitlab"];
const states = {
  github: { pending: "pending", failure: "failure", error: "error" },
  gitea: { pending: "pending", failure: "failure", error: "error" },
  gitlab: { pending: "running", failure: "failed", error: "failed" },
} as const;

let worlds: PrWorld[] = [];
afterEach(async () => {
  for (const w of worlds) await w.cleanup();
  worlds = [];
});
async function world(kind: ForgeKind, opts: Parameters<typeof makePrWorld>[1] = {}): Promise<PrWorld> {
  const w = await makePrWorld(kind, opts);
  worlds.push(w);
  return w;
}

describe.skipIf(!ok).each(kinds)("pull-request plans on %s", (kind) => {
  it("opened -> one comment with the plan and a success status on the head", async () => {
    const w = await world(kind);
    const head = await w.pushHead(1, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api");
    w.planner.handle(w.event(1, head));
    await w.planner.idle();

    const comments = w.forge.comments(1);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body.startsWith(PLAN_MARKER)).toBe(true);
    expect(comments[0]?.body).toContain("Plan: 1 to add, 0 to change, 0 to remove.");
    expect(comments[0]?.body).toContain("api-0");
    const statuses = w.forge.statuses(head, "berth/plan");
    expect(statuses.map((s) => s.state)).toEqual([states[kind].pending, "success"]);
    expect(statuses[1]?.description).toBe("Plan: 1 to add, 0 to change, 0 to remove.");
    expect(statuses[1]?.targetUrl).toMatch(/^(http|https):\/\//);
    expect(w.events.find((e) => e.type === "pull-request")?.data).toMatchObject({
      number: 1,
      headSha: head,
      valid: true,
    });
  });

  it("two more pushes -> still one comment, updated in place, the last head wins", async () => {
    const w = await world(kind);
    const h1 = await w.pushHead(2, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api");
    w.planner.handle(w.event(2, h1));
    await w.planner.idle();
    const h2 = await w.pushHead(2, { "apps/web.yaml": app("web", "nginx:1.27") }, "bump web", h1);
    w.planner.handle(w.event(2, h2, "synchronize"));
    await w.planner.idle();
    const h3 = await w.pushHead(2, { "apps/api.yaml": null }, "drop api again", h2);
    w.planner.handle(w.event(2, h3, "synchronize"));
    await w.planner.idle();

    const comments = w.forge.comments(2);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.updates).toBe(2);
    expect(comments[0]?.body).toContain(h3.slice(0, 7));
    expect(comments[0]?.body).not.toContain("api-0");
    expect(comments[0]?.body).toContain("Plan: 0 to add, 1 to change, 0 to remove.");
    for (const h of [h1, h2, h3]) expect(w.forge.latestStatus(h, "berth/plan")?.state).toBe("success");
    expect(w.forge.requests.filter((r) => r.route === "create-comment")).toHaveLength(1);
  });

  it("an invalid head -> failure status with the first error and diagnostics with links in the comment", async () => {
    const w = await world(kind);
    const head = await w.pushHead(
      3,
      { "apps/bad.yaml": "kind: App\nname: bad\nimage: x:1\nreplicas: -1\n" },
      "break it",
    );
    w.planner.handle(w.event(3, head));
    await w.planner.idle();

    const s = w.forge.latestStatus(head, "berth/plan");
    expect(s?.state).toBe(states[kind].failure);
    expect(s?.description).toMatch(/^1 error: apps\/bad\.yaml:4:\d+: /);
    const body = w.forge.comments(3)[0]?.body ?? "";
    expect(body).toContain("apps/bad.yaml:4:");
    const blob = kind === "gitlab" ? "-/blob" : kind === "gitea" ? "src/commit" : "blob";
    expect(body).toContain(`${webUrl}/${blob}/${head}/apps/bad.yaml#L4`);
  });

  it("403 with Retry-After on the comment -> retried later, nothing lost", async () => {
    const w = await world(kind);
    w.forge.failNext(1, rateLimited.secondary(1), (r) => r.route === "list-comments");
    w.forge.failNext(1, rateLimited.secondary(1), (r) => r.route === "create-comment");
    const head = await w.pushHead(4, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api");
    w.planner.handle(w.event(4, head));
    await w.planner.idle();
    expect(w.forge.comments(4)).toHaveLength(1);
    expect(w.forge.latestStatus(head, "berth/plan")?.state).toBe("success");
    expect(w.forge.requests.filter((r) => r.status === 403)).toHaveLength(2);
  });
});

describe.skipIf(!ok)("pull-request planner behaviour", () => {
  it("drops a stale plan: the older head finishes after a newer push and is never posted", async () => {
    const w = await world("github");
    const old = await w.pushHead(5, { "apps/api.yaml": app("api", "example/api:1.0") }, "old head");
    const mid = await w.pushHead(5, { "apps/api.yaml": app("api", "example/api:2.0") }, "middle head", old);
    const newest = await w.pushHead(
      5,
      { "apps/api.yaml": app("api", "example/api:3.0") },
      "newest head",
      mid,
    );
    // Hold the old head's work at its first forge call, deliver two newer pushes, then let it finish.
    const hold = w.forge.hold((r) => r.route === "set-status" && r.path.includes(old));
    w.planner.handle(w.event(5, old));
    await hold.arrived;
    w.planner.handle(w.event(5, mid, "synchronize"));
    w.planner.handle(w.event(5, newest, "synchronize"));
    hold.release();
    await w.planner.idle();

    const comments = w.forge.comments(5);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.updates).toBe(0);
    expect(comments[0]?.body).toContain(newest.slice(0, 7));
    // No comment request ever carried the old or the middle head.
    const bodies = w.forge.requests.filter(
      (r) => r.route === "create-comment" || r.route === "update-comment",
    );
    expect(bodies).toHaveLength(1);
    expect(JSON.stringify(bodies[0]?.body)).toContain("example/api:3.0");
    expect(w.forge.latestStatus(old, "berth/plan")).toMatchObject({ state: "error" });
    expect(w.forge.latestStatus(old, "berth/plan")?.description).toContain(
      `superseded by ${newest.slice(0, 7)}`,
    );
    // The middle head was replaced while it was still waiting: it never started.
    expect(w.forge.statuses(mid)).toHaveLength(0);
    expect(w.forge.latestStatus(newest, "berth/plan")?.state).toBe("success");
  });

  it("plans several pull requests, each with its own comment", async () => {
    const w = await world("gitea");
    const heads: string[] = [];
    for (let n = 10; n < 14; n++) {
      heads.push(await w.pushHead(n, { [`apps/a${n}.yaml`]: app(`a${n}`, `example/a:${n}`) }, `add a${n}`));
    }
    for (const [i, h] of heads.entries()) w.planner.handle(w.event(10 + i, h));
    await w.planner.idle();
    for (let i = 0; i < heads.length; i++) {
      const c = w.forge.comments(10 + i);
      expect(c).toHaveLength(1);
      expect(c[0]?.body).toContain(`a${10 + i}-0`);
    }
  });

  it("truncates a plan over 60,000 characters with a note", async () => {
    const w = await world("github");
    const files: Record<string, string> = {};
    const env = Array.from({ length: 12 }, (_, i) => `  VAR_${i}: "${"v".repeat(40)}-${i}"`).join("\n");
    for (let i = 0; i < 400; i++)
      files[`apps/bulk-${i}.yaml`] = app(`bulk-${i}`, `example/bulk:${i}`, `env:\n${env}\n`);
    // Spread over many nodes so the comment keeps some whole node sections before the cut.
    for (let n = 2; n <= 20; n++) {
      files[`nodes/n${n}.yaml`] =
        `kind: Node\nname: n${n}\naddress: 10.0.0.${n}\nruntime: podman\ncapacity:\n  cpu: 64\n  memory: 256Gi\n`;
    }
    const head = await w.pushHead(6, files, "add 400 apps");
    w.planner.handle(w.event(6, head));
    await w.planner.idle();
    const body = w.forge.comments(6)[0]?.body ?? "";
    expect(body.length).toBeLessThanOrEqual(60_000);
    expect(body.startsWith(PLAN_MARKER)).toBe(true);
    expect(body).toMatch(/Plan: 40\d to add/);
    expect(body).toMatch(/Truncated/);
    expect(body).toContain("berth plan --format text");
    expect(w.forge.latestStatus(head, "berth/plan")?.description).toMatch(/^Plan: 40\d to add/);
  });

  it("ignores pull requests into other branches, other forges, and closed ones", async () => {
    const w = await world("github");
    const head = await w.pushHead(7, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api");
    w.planner.handle({ ...w.event(7, head), baseRef: "release" });
    w.planner.handle({ ...w.event(7, head), forge: "gitlab" });
    w.planner.handle(w.event(7, head, "other"));
    w.planner.handle(w.event(7, head, "closed"));
    await w.planner.idle();
    expect(w.forge.requests).toHaveLength(0);
  });

  it("retries the whole plan when the forge keeps failing, then succeeds", async () => {
    const w = await world("github");
    // Five 502s exhaust the client's tries for the first listing; the planner tries again later.
    w.forge.failNext(
      5,
      { status: 502, body: { message: "bad gateway" } },
      (r) => r.route === "list-comments",
    );
    const head = await w.pushHead(8, { "apps/api.yaml": app("api", "example/api:1.0") }, "add api");
    w.planner.handle(w.event(8, head));
    await w.planner.idle();
    expect(w.forge.comments(8)).toHaveLength(1);
    expect(w.forge.latestStatus(head, "berth/plan")?.state).toBe("success");
    expect(w.events.some((e) => e.type === "reconciler-error")).toBe(true);
    expect(w.log.lines.join("\n")).not.toContain(w.forge.token);
  });

  it("falls back to the head branch when the forge does not advertise the pull ref", async () => {
    const w = await world("github");
    await w.repo.git("checkout", "-q", "--detach", w.base);
    const head = await w.repo.commit({ "apps/api.yaml": app("api", "example/api:1.0") }, "on a branch");
    await w.repo.push("refs/heads/feature-9", head);
    w.planner.handle(w.event(9, head));
    await w.planner.idle();
    expect(w.forge.comments(9)[0]?.body).toContain("Plan: 1 to add");
  });
});
