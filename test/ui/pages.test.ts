// The operations page over HTTP (the real API server on 127.0.0.1, an in-memory backend): the
// admin token is required and exchanged for a session cookie with the right attributes; unknown
// apps, generations and paths answer a 404 page with a way back; text from the repo or the agents
// is escaped; pages are compressed and carry a strict Content-Security-Policy.
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { GenerationInput } from "../../core/views/ops/index.js";
import type { HistoryBackend } from "../../reconciler/contracts.js";
import type { DesiredState, Workload } from "../../schema/index.js";
import { type Harness, startHarness } from "../reconciler/http/harness.js";
import { MemoryBackend, makeDoc, makeStatus } from "../reconciler/http/memory-backend.js";

const TOKEN = "berth_test-admin-token";
const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const EVIL = `<img src=x onerror=alert(1)>`;

class HistoryMemory extends MemoryBackend implements HistoryBackend {
  gens: GenerationInput[] = [];
  async readGenerations(opts: { limit: number; before?: number }): Promise<GenerationInput[]> {
    return this.gens
      .filter((g) => opts.before === undefined || g.generation < opts.before)
      .sort((a, b) => b.generation - a.generation)
      .slice(0, opts.limit);
  }
  async readGeneration(n: number): Promise<GenerationInput | null> {
    return this.gens.find((g) => g.generation === n) ?? null;
  }
  forgeWeb() {
    return { kind: "github" as const, webUrl: "https://forge.example.com/acme/config" };
  }
}

function workload(app: string, replica: number): Workload {
  return {
    id: `${app}-${replica}`,
    app,
    replica,
    runtime: "process",
    command: ["x"],
    env: {},
    hostPort: 20000 + replica * 2,
    health: {
      intervalSeconds: 2,
      timeoutSeconds: 2,
      startPeriodSeconds: 30,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    },
    volumes: [],
    strategy: "start-first",
    specHash: `sha256:${app.length.toString(16).padEnd(64, "a")}`,
  };
}

function world(): HistoryMemory {
  const b = new HistoryMemory();
  const doc: DesiredState = { ...makeDoc("n1", "x", C2), workloads: [workload("web", 0), workload(EVIL, 1)] };
  b.publish([{ ...doc, hash: `sha256:${"0".repeat(64)}` }], {}, C1);
  b.publish([doc], {}, C2);
  b.statuses.set(
    "n1",
    makeStatus("n1", {
      desiredHash: doc.hash,
      appliedHash: doc.hash,
      appliedCommit: C2,
      workloads: doc.workloads.map((w) => ({
        id: w.id,
        app: w.app,
        state: "running" as const,
        health: "healthy" as const,
        specHash: w.specHash,
      })),
    }),
  );
  b.gens = [
    {
      generation: 1,
      desiredCommit: "d".repeat(40),
      at: "2025-01-01T00:00:00.000Z",
      source: { branch: "main", commit: C1, subject: `first ${EVIL}` },
      plan: null,
    },
    {
      generation: 2,
      desiredCommit: "e".repeat(40),
      at: "2025-01-02T00:00:00.000Z",
      source: { branch: "main", commit: C2, subject: "second" },
      plan: null,
    },
  ];
  return b;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const browser = { accept: "text/html,application/xhtml+xml" };

describe("operations page: auth", () => {
  it("requires the admin token: 401 page says how to log in; the login form gives a session cookie", async () => {
    h = await startHarness({ apiToken: TOKEN }, world());
    const anon = await h.call("GET", "/apps/web?x=1", { headers: browser });
    expect(anon.status).toBe(401);
    expect(anon.headers["content-type"]).toMatch(/text\/html/);
    expect(anon.text).toContain('action="/login"');
    expect(anon.text).toContain("--api-token-file");
    expect(anon.text).toContain('name="next" value="/apps/web?x=1"');
    expect(anon.text).not.toContain("web-0");
    expect((await h.call("GET", "/ui/fragments/overview")).status).toBe(401);
    const api = await h.call("GET", "/v1/nodes");
    expect(api.status).toBe(401);
    expect(api.json().error).toContain("/login");

    const wrong = await h.call("POST", "/login", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=nope&next=%2F",
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("That is not this reconciler&#39;s admin token");
    expect(wrong.headers["set-cookie"]).toBeUndefined();

    const ok = await h.call("POST", "/login", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${encodeURIComponent(TOKEN)}&next=${encodeURIComponent("/apps/web")}`,
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe("/apps/web");
    const cookie = String(ok.headers["set-cookie"]);
    expect(cookie).toMatch(/^berth_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain("Secure");
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(";")[0]!;

    const page = await h.call("GET", "/apps/web", { headers: { ...browser, cookie: session } });
    expect(page.status).toBe(200);
    expect(page.text).toContain("web-0");
    expect(page.text).toContain('action="/logout"');
    // The cookie opens the read API too (EventSource cannot send a bearer token).
    expect((await h.call("GET", "/v1/nodes", { headers: { cookie: session } })).status).toBe(200);
    // A wrong bearer token is refused even beside a valid cookie.
    expect(
      (await h.call("GET", "/", { headers: { ...browser, cookie: session, authorization: "Bearer nope" } }))
        .status,
    ).toBe(401);
    expect(
      (await h.call("GET", "/v1/nodes", { headers: { cookie: session, authorization: "Bearer nope" } }))
        .status,
    ).toBe(401);
    // A made-up session does not.
    expect((await h.call("GET", "/v1/nodes", { headers: { cookie: "berth_session=forged" } })).status).toBe(
      401,
    );

    const out = await h.call("POST", "/logout", { headers: { cookie: session } });
    expect(out.status).toBe(303);
    expect(String(out.headers["set-cookie"])).toContain("Max-Age=0");
    expect((await h.call("GET", "/", { headers: { ...browser, cookie: session } })).status).toBe(401);
    // Scripts keep using the bearer token.
    expect(
      (await h.call("GET", "/", { headers: { ...browser, authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
  });

  it("marks the cookie Secure behind HTTPS, never redirects off-site, refuses cross-site logins", async () => {
    h = await startHarness({ apiToken: TOKEN }, world());
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const tls = await h.call("POST", "/login", {
      headers: { ...form, "x-forwarded-proto": "https" },
      body: `token=${TOKEN}&next=${encodeURIComponent("//evil.example/x")}`,
    });
    expect(tls.status).toBe(303);
    expect(tls.headers.location).toBe("/");
    expect(String(tls.headers["set-cookie"])).toContain("Secure");
    const cross = await h.call("POST", "/login", {
      headers: { ...form, origin: "https://evil.example" },
      body: `token=${TOKEN}`,
    });
    expect(cross.status).toBe(403);
    expect(cross.headers["set-cookie"]).toBeUndefined();
  });

  it("is open like the read API when no admin token is configured", async () => {
    h = await startHarness({}, world());
    expect((await h.call("GET", "/", { headers: browser })).status).toBe(200);
    expect((await h.call("GET", "/login", { headers: browser })).text).toContain("No login needed");
  });
});

describe("operations page: content, bad input, transport", () => {
  const auth = { ...browser, authorization: `Bearer ${TOKEN}` };

  it("escapes an app name with HTML in it, in the overview, the app page and the 404 page", async () => {
    h = await startHarness({ apiToken: TOKEN }, world());
    const page = await h.call("GET", "/", { headers: auth });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(EVIL);
    expect(page.text).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(page.text).not.toMatch(/<img/i);
    const app = await h.call("GET", `/apps/${encodeURIComponent(EVIL)}`, { headers: auth });
    expect(app.status).toBe(200);
    expect(app.text).not.toMatch(/<img/i);
    const missing = await h.call("GET", "/apps/%3Cscript%3Ealert(1)%3C%2Fscript%3E", { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(missing.text).not.toContain("<script>alert");
    expect(missing.text).toContain('href="/"');
    const hist = await h.call("GET", "/history", { headers: auth });
    expect(hist.text).toContain("first &lt;img src=x onerror=alert(1)&gt;");
  });

  it("the node page: liveness, commits, drift repaired (escaped), its instances; 404 for an unknown node; token required", async () => {
    const b = world();
    const st = b.statuses.get("n1")!;
    b.statuses.set("n1", {
      ...st,
      drift: {
        repaired: 3,
        lastAt: "2025-01-01T00:00:00.000Z",
        last: `restart web-0: process exited ${EVIL}`,
      },
    });
    h = await startHarness({ apiToken: TOKEN }, b);
    expect((await h.call("GET", "/nodes/n1", { headers: browser })).status).toBe(401);
    expect((await h.call("GET", "/ui/fragments/node/n1")).status).toBe(401);
    const page = await h.call("GET", "/nodes/n1", { headers: auth });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Node <span class="mono">n1</span></h1>');
    expect(page.text).toContain('data-live="node:n1"');
    expect(page.text).toMatch(
      /<dd id="drift">3 since the agent started; the last .*restart web-0: process exited &lt;img/,
    );
    expect(page.text).toContain(
      `desired <code>${C2.slice(0, 7)}</code>, last applied completely <code>${C2.slice(0, 7)}</code>`,
    );
    expect(page.text).not.toMatch(/<img/i);
    // Its instances, each linking to its app.
    expect(page.text).toContain('<td><a href="/apps/web">web</a></td>');
    expect(page.text).toContain(`<td><a href="/apps/${encodeURIComponent(EVIL)}">&lt;img`);
    // The overview links the node to it and shows the count.
    const overview = await h.call("GET", "/", { headers: auth });
    expect(overview.text).toContain('<a href="/nodes/n1">n1</a>');
    expect(overview.text).toMatch(/title="last: restart web-0: process exited &lt;img[^"]*">3<\/span>/);
    const fragment = await h.call("GET", "/ui/fragments/node/n1", { headers: auth });
    expect(fragment.status).toBe(200);
    expect(fragment.text).toMatch(/^<div id="node-main">/);
    const missing = await h.call("GET", `/nodes/${encodeURIComponent(EVIL)}`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain("No node named “&lt;img");
    expect(missing.text).toContain('href="/"');
    expect((await h.call("GET", "/ui/fragments/node/nope", { headers: auth })).status).toBe(404);
  });

  it("the overview's Drift repaired column: unknown for an agent that does not report it, the count, the count with when and what", async () => {
    const b = world();
    const st = b.statuses.get("n1")!;
    const { drift: _none, ...older } = st;
    b.statuses.set("n1", older);
    h = await startHarness({ apiToken: TOKEN }, b);
    const cell = async () => {
      const text = (await h!.call("GET", "/", { headers: auth })).text;
      const row = /<tr id="node-n1"[^>]*>([\s\S]*?)<\/tr>/.exec(text)?.[1] ?? "";
      return [...row.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1])[5];
    };
    // An older agent sends no drift: unknown, never 0.
    expect(await cell()).toBe(
      '<span class="muted" title="this agent does not report the drift it repairs">unknown</span>',
    );
    b.statuses.set("n1", { ...st, drift: { repaired: 0, lastAt: null, last: null } });
    expect(await cell()).toBe("0");
    const lastAt = new Date(Date.now() - 180_000).toISOString();
    b.statuses.set("n1", {
      ...st,
      drift: { repaired: 2, lastAt, last: "restart web-0: process exited (killed by SIGKILL)" },
    });
    expect(await cell()).toBe(
      `<span title="last: restart web-0: process exited (killed by SIGKILL)">2</span> <span class="muted">last <time datetime="${lastAt}" title="${lastAt}" data-ago>3 min ago</time></span>`,
    );
  });

  it("shows berth's open alerts above everything, escaped", async () => {
    const alerts = {
      view: () => ({
        enabled: true,
        alerts: [
          {
            summary: "node web-1 lost",
            cause: `no contact since 10:00 ${EVIL}`,
            status: "firing",
            since: "2025-01-01T00:00:00.000Z",
          },
        ],
      }),
    };
    h = await startHarness({ apiToken: TOKEN, alerts }, world());
    const page = await h.call("GET", "/", { headers: auth });
    expect(page.text).toContain("1 open alert");
    expect(page.text).toContain("node web-1 lost");
    expect(page.text).toContain("no contact since 10:00 &lt;img");
    expect(page.text).not.toMatch(/<img/i);
  });

  it("answers unknown generations and paths with a 404 page and a way back; API clients keep JSON", async () => {
    h = await startHarness({ apiToken: TOKEN }, world());
    for (const path of ["/history/99", "/history/abc", "/history/0"]) {
      const r = await h.call("GET", path, { headers: auth });
      expect(r.status, path).toBe(404);
      expect(r.text, path).toContain('href="/history"');
    }
    const gen = await h.call("GET", "/history/1", { headers: auth });
    expect(gen.status).toBe(200);
    expect(gen.text).toContain(`berth rollback ${C1}`);
    expect(gen.text).toContain(`https://forge.example.com/acme/config/commit/${C1}`);
    const page = await h.call("GET", "/no/such/page", { headers: browser });
    expect(page.status).toBe(404);
    expect(page.text).toContain('href="/"');
    const api = await h.call("GET", "/no/such/page");
    expect(api.status).toBe(404);
    expect(api.json().error).toBe("no route GET /no/such/page");
  });

  it("compresses pages (brotli, gzip) and sends a strict Content-Security-Policy", async () => {
    h = await startHarness({ apiToken: TOKEN }, world());
    const plain = await h.call("GET", "/", { headers: auth });
    expect(plain.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(plain.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(plain.headers["cache-control"]).toBe("no-store");
    const raw = async (enc: string) => {
      const res = await request(`${h!.server.url}/`, { headers: { ...auth, "accept-encoding": enc } });
      return { enc: res.headers["content-encoding"], body: Buffer.from(await res.body.arrayBuffer()) };
    };
    const res = await raw("gzip, deflate, br");
    expect(res.enc).toBe("br");
    const br = brotliDecompressSync(res.body).toString();
    const gz = await raw("gzip, br;q=0");
    expect(gz.enc).toBe("gzip");
    const gunzipped = gunzipSync(gz.body).toString();
    // Same page apart from the relative times.
    const strip = (s: string) => s.replace(/\d+ s ago/g, "");
    expect(strip(br)).toBe(strip(plain.text));
    expect(strip(gunzipped)).toBe(strip(plain.text));
    const css = await h.call("GET", "/ui/assets/style.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toMatch(/text\/css/);
  });
});
