// The agent-facing routes over real HTTP: tokens (401/403/404), ETag and 304, long-polls woken by
// a publish or ended by the client, and status reports (204, 400 with the reason, 413).
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, until } from "./harness.js";
import { makeDoc, makeStatus } from "./memory-backend.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const tokenA = "berth_token-of-node-a";
const tokenB = "berth_token-of-node-b";
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let h: Harness;
beforeEach(async () => {
  h = await startHarness({
    limits: { maxBodyBytes: 1024 * 1024, maxWaitSeconds: 60, sseHeartbeatMs: 15_000 },
  });
  h.backend.publish([makeDoc("node-a", "v1"), makeDoc("node-b", "v1")], {
    "node-a": sha(tokenA),
    "node-b": sha(tokenB),
  });
});
afterEach(async () => {
  await h.close();
});

describe("GET /v1/nodes/{node}/desired", () => {
  it("serves the document with its hash as a quoted ETag", async () => {
    const res = await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer(tokenA) });
    expect(res.status).toBe(200);
    const doc = h.backend.docs.get("node-a");
    expect(res.json()).toEqual(doc);
    expect(res.headers.etag).toBe(`"${doc?.hash}"`);
    expect(String(res.headers["content-type"])).toContain("application/json");
  });

  it("answers 401 with WWW-Authenticate without a token or with a bad one", async () => {
    const none = await h.call("GET", "/v1/nodes/node-a/desired");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.json().error).toMatch(/Authorization: Bearer/);
    const bad = await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer("berth_wrong") });
    expect(bad.status).toBe(401);
    expect(bad.json().error).toMatch(/matches no node/);
    const basic = await h.call("GET", "/v1/nodes/node-a/desired", {
      headers: { authorization: `Basic ${tokenA}` },
    });
    expect(basic.status).toBe(401);
  });

  it("answers 403 when the token belongs to another node", async () => {
    const res = await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer(tokenB) });
    expect(res.status).toBe(403);
    expect(res.json().error).toContain("node-b");
  });

  it("answers 403 for another node's token even before that node ever called", async () => {
    // node-b's token was never used on node-b's own route: the index must come from the config.
    const res = await h.call("PUT", "/v1/nodes/node-a/status", {
      headers: bearer(tokenB),
      body: JSON.stringify(makeStatus("node-a")),
    });
    expect(res.status).toBe(403);
  });

  it("answers 404 for an unknown node to a caller with a valid token, 401 to anyone else", async () => {
    const known = await h.call("GET", "/v1/nodes/node-z/desired", { headers: bearer(tokenA) });
    expect(known.status).toBe(404);
    expect(known.json().error).toMatch(/not in the published config/);
    const stranger = await h.call("GET", "/v1/nodes/node-z/desired", { headers: bearer("berth_nobody") });
    expect(stranger.status).toBe(401);
    const badName = await h.call("GET", "/v1/nodes/Not_A_Name/desired", { headers: bearer(tokenA) });
    expect(badName.status).toBe(404);
  });

  it("uses the new token hash after a publish that rotates it", async () => {
    h.backend.publish([makeDoc("node-a", "v2")], { "node-a": sha("berth_rotated") });
    expect((await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer(tokenA) })).status).toBe(401);
    expect(
      (await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer("berth_rotated") })).status,
    ).toBe(200);
  });

  it("answers 304 to If-None-Match with the current ETag, 200 to a stale one", async () => {
    const first = await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer(tokenA) });
    const etag = String(first.headers.etag);
    const same = await h.call("GET", "/v1/nodes/node-a/desired", {
      headers: { ...bearer(tokenA), "if-none-match": etag },
    });
    expect(same.status).toBe(304);
    expect(same.text).toBe("");
    expect(same.headers.etag).toBe(etag);
    const stale = await h.call("GET", "/v1/nodes/node-a/desired", {
      headers: { ...bearer(tokenA), "if-none-match": '"sha256:old"' },
    });
    expect(stale.status).toBe(200);
  });

  it("records lastSeen for every authenticated call", async () => {
    expect(h.backend.lastSeen.has("node-a")).toBe(false);
    await h.call("GET", "/v1/nodes/node-a/desired", { headers: bearer(tokenA) });
    expect(h.backend.lastSeen.get("node-a")).toBeGreaterThan(0);
    await h.call("GET", "/v1/nodes/node-b/desired", { headers: bearer(tokenA) });
    expect(h.backend.lastSeen.has("node-b")).toBe(false);
  });

  it("holds a long-poll until a publish changes the document, then serves the new one", async () => {
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const pending = h.call("GET", "/v1/nodes/node-a/desired?wait=30", {
      headers: { ...bearer(tokenA), "if-none-match": etag },
    });
    await until(() => h.backend.waiters.size === 1, "the long-poll to wait");
    const gauge = await h.metrics.agentsConnected.get();
    expect(gauge.values[0]?.value).toBe(1);
    const next = makeDoc("node-a", "v2");
    h.backend.publish([next]);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json().hash).toBe(next.hash);
    expect(res.headers.etag).toBe(`"${next.hash}"`);
    expect((await h.metrics.agentsConnected.get()).values[0]?.value).toBe(0);
  });

  it("is not woken by a publish that leaves its document unchanged", async () => {
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const pending = h.call("GET", "/v1/nodes/node-a/desired?wait=30", {
      headers: { ...bearer(tokenA), "if-none-match": etag },
    });
    await until(() => h.backend.waiters.size === 1, "the long-poll to wait");
    h.backend.publish([makeDoc("node-b", "v2")]);
    expect(h.backend.waiters.size).toBe(1);
    h.backend.publish([makeDoc("node-a", "v3")]);
    expect((await pending).json().hash).toBe(makeDoc("node-a", "v3").hash);
  });

  it("answers every long-poll woken by one publish, more than one turn's worth", async () => {
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const polls = Array.from({ length: 120 }, () =>
      h.call("GET", "/v1/nodes/node-a/desired?wait=30", {
        headers: { ...bearer(tokenA), "if-none-match": etag },
      }),
    );
    await until(() => h.backend.waiters.size === 120, "120 long-polls to wait");
    const next = makeDoc("node-a", "burst");
    h.backend.publish([next]);
    const answers = await Promise.all(polls);
    expect(answers.map((a) => a.status)).toEqual(Array(120).fill(200));
    expect(new Set(answers.map((a) => a.json().hash))).toEqual(new Set([next.hash]));
  });

  it("answers 304 when the wait ends without a change", async () => {
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const res = await h.call("GET", "/v1/nodes/node-a/desired?wait=0.2", {
      headers: { ...bearer(tokenA), "if-none-match": etag },
    });
    expect(res.status).toBe(304);
  });

  it("answers at once when the client's ETag is already stale, even with ?wait", async () => {
    const res = await h.call("GET", "/v1/nodes/node-a/desired?wait=60", {
      headers: { ...bearer(tokenA), "if-none-match": '"sha256:older"' },
    });
    expect(res.status).toBe(200);
    expect(h.backend.waiters.size).toBe(0);
  });

  it("holds a long-poll no longer than pollHold, whatever the wait asked for", async () => {
    await h.close();
    h = await startHarness({ limits: { pollHoldMs: 300 } });
    h.backend.publish([makeDoc("node-a", "v1")], { "node-a": sha(tokenA) });
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const t0 = Date.now();
    const res = await h.call("GET", "/v1/nodes/node-a/desired?wait=30", {
      headers: { ...bearer(tokenA), "if-none-match": etag },
    });
    expect(res.status).toBe(304);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("asks the backend to catch up before answering an ETag it does not serve", async () => {
    const asked: string[] = [];
    h.backend.catchUp = async (node, etag) => {
      asked.push(`${node} ${etag}`);
      return etag === "sha256:unknown-but-fetched" ? "serve" : "behind";
    };
    const fetched = await h.call("GET", "/v1/nodes/node-a/desired", {
      headers: { ...bearer(tokenA), "if-none-match": '"sha256:unknown-but-fetched"' },
    });
    expect(fetched.status).toBe(200);
    const behind = await h.call("GET", "/v1/nodes/node-a/desired?wait=5", {
      headers: { ...bearer(tokenA), "if-none-match": '"sha256:newer-elsewhere"' },
    });
    expect(behind.status).toBe(503);
    expect(behind.json().error).toContain("try another reconciler");
    // The current ETag needs no catching up.
    const current = await h.call("GET", "/v1/nodes/node-a/desired", {
      headers: { ...bearer(tokenA), "if-none-match": `"${h.backend.docs.get("node-a")?.hash}"` },
    });
    expect(current.status).toBe(304);
    expect(asked).toEqual(["node-a sha256:unknown-but-fetched", "node-a sha256:newer-elsewhere"]);
  });

  it("rejects a malformed wait with 400", async () => {
    const res = await h.call("GET", "/v1/nodes/node-a/desired?wait=soon", { headers: bearer(tokenA) });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/wait must be a number/);
  });

  it("stops waiting when the client goes away", async () => {
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const abort = new AbortController();
    const pending = request(`${h.server.url}/v1/nodes/node-a/desired?wait=60`, {
      headers: { ...bearer(tokenA), "if-none-match": etag },
      signal: abort.signal,
      dispatcher: h.client,
    }).catch((e: Error) => e);
    await until(() => h.backend.waiters.size === 1, "the long-poll to wait");
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until(() => h.backend.abortedWaits === 1, "the server to abort the wait");
    expect(h.backend.waiters.size).toBe(0);
    expect((await h.metrics.agentsConnected.get()).values[0]?.value).toBe(0);
  });

  it("ends open long-polls with 304 when the server closes", async () => {
    const etag = `"${h.backend.docs.get("node-a")?.hash}"`;
    const pending = h.call("GET", "/v1/nodes/node-a/desired?wait=60", {
      headers: { ...bearer(tokenA), "if-none-match": etag },
    });
    await until(() => h.backend.waiters.size === 1, "the long-poll to wait");
    await h.server.close();
    expect((await pending).status).toBe(304);
  });
});

describe("PUT /v1/nodes/{node}/status", () => {
  const put = (node: string, body: unknown, token = tokenA) =>
    h.call("PUT", `/v1/nodes/${node}/status`, {
      headers: { ...bearer(token), "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("hands a valid report to the backend and answers 204", async () => {
    const status = makeStatus("node-a", { phase: "degraded", observedAt: new Date().toISOString() });
    const res = await put("node-a", status);
    expect(res.status).toBe(204);
    expect(h.backend.reports).toEqual([{ node: "node-a", status }]);
  });

  it("answers 400 naming the field for a report that fails the schema", async () => {
    const res = await put("node-a", { ...makeStatus("node-a"), phase: "sleeping", extra: 1 });
    expect(res.status).toBe(400);
    const body = res.json();
    expect(body.error).toContain("/phase: must be one of converged, applying, degraded, failed");
    expect(body.errors).toContain('(root): unknown field "extra"');
    expect(h.backend.reports).toHaveLength(0);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const res = await put("node-a", "{not json");
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/not JSON/);
  });

  it("answers 400 when the report names another node than the path", async () => {
    const res = await put("node-a", makeStatus("node-b"));
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/node "node-b".*\/v1\/nodes\/node-a\/status/);
  });

  it("answers 413 beyond 1 MiB without passing anything on", async () => {
    const big = JSON.stringify({ ...makeStatus("node-a"), agentVersion: "x".repeat(1024 * 1024 + 10) });
    const res = await put("node-a", big);
    expect(res.status).toBe(413);
    expect(res.json().error).toMatch(/larger than 1048576 bytes/);
    expect(h.backend.reports).toHaveLength(0);
  });

  it("answers 413 to a chunked body that grows past the limit", async () => {
    async function* chunks() {
      for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, 0x20);
    }
    const res = await request(`${h.server.url}/v1/nodes/node-a/status`, {
      method: "PUT",
      headers: bearer(tokenA),
      body: Readable.from(chunks()),
      dispatcher: h.client,
    }).catch((e: Error) => e);
    // The server may drop the connection while the client is still sending; either way nothing is accepted.
    if (!(res instanceof Error)) {
      expect(res.statusCode).toBe(413);
      await res.body.dump();
    }
    expect(h.backend.reports).toHaveLength(0);
    expect((await h.call("GET", "/healthz")).status).toBe(200);
  });

  it("needs the node's own token", async () => {
    expect((await put("node-a", makeStatus("node-a"), tokenB)).status).toBe(403);
    expect((await put("node-a", makeStatus("node-a"), "berth_nope")).status).toBe(401);
    const metrics = await h.call("GET", "/metrics");
    expect(metrics.text).toMatch(/berth_status_reports_total\{result="forbidden"\} 1/);
    expect(metrics.text).toMatch(/berth_status_reports_total\{result="unauthorized"\} 1/);
  });

  it("never logs a token or a body", async () => {
    await put("node-a", makeStatus("node-a", { agentVersion: "secret-looking-body-value" }));
    await put("node-a", makeStatus("node-a"), tokenB);
    const all = h.logLines.join("\n");
    expect(h.logLines.length).toBeGreaterThan(0);
    expect(all).not.toContain(tokenA);
    expect(all).not.toContain(tokenB);
    expect(all).not.toContain("secret-looking-body-value");
  });
});
