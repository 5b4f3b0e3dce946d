// Client of Caddy's admin API: load a whole config, read the running one back, wait until the API
// answers. Errors name the endpoint and carry Caddy's own response text. It decides nothing about
// when to load (the agent compares hashes first: an identical /load is a no-op anyway, but a
// reload is not free for in-flight requests).
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";

export interface CaddyAdmin {
  /** POST /load: replaces Caddy's whole config. Rejects with Caddy's error text on 4xx/5xx. */
  load(config: object): Promise<void>;
  /** GET /config/: the running config, or null when Caddy has none. */
  current(): Promise<Record<string, unknown> | null>;
  /** GET /reverse_proxy/upstreams: every upstream Caddy knows, its requests in flight and counted failures. */
  upstreams(): Promise<{ address: string; numRequests: number; fails: number }[]>;
  /** Resolves once the admin API answers; rejects after timeoutMs saying what was last seen. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const requestTimeoutMs = 10_000;

export function createCaddyAdmin(adminUrl: string): CaddyAdmin {
  const base = adminUrl.replace(/\/+$/, "");
  const dispatcher = new Agent({
    keepAliveTimeout: 10_000,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    connectTimeout: 2_000,
  });

  async function send(method: "GET" | "POST", url: string, body?: string) {
    const res = await request(url, {
      method,
      dispatcher,
      body,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    return { status: res.statusCode, text: await res.body.text(), url };
  }

  async function call(method: "GET" | "POST", path: string, body?: string) {
    const url = `${base}${path}`;
    try {
      try {
        return await send(method, url, body);
      } catch (e) {
        // Caddy may close a kept-alive connection while it reloads; both calls are idempotent
        // (a /load of the same config is a no-op), so one retry on a fresh connection is safe.
        if (!isStaleConnection(e)) throw e;
        return await send(method, url, body);
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      const code = err.code ?? err.cause?.code ?? err.name;
      throw new Error(
        `Caddy admin API ${method} ${url} failed: ${code}: ${err.message} (is Caddy running with admin.listen there?)`,
      );
    }
  }

  return {
    async load(config) {
      const r = await call("POST", "/load", JSON.stringify(config));
      if (r.status < 200 || r.status >= 300) {
        throw new Error(
          `Caddy rejected the config (POST ${r.url} → HTTP ${r.status}): ${caddyMessage(r.text)}`,
        );
      }
    },
    async current() {
      const r = await call("GET", "/config/");
      if (r.status !== 200) throw new Error(`GET ${r.url} → HTTP ${r.status}: ${caddyMessage(r.text)}`);
      const v = JSON.parse(r.text || "null") as unknown;
      return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
    },
    async upstreams() {
      const r = await call("GET", "/reverse_proxy/upstreams");
      if (r.status !== 200) throw new Error(`GET ${r.url} → HTTP ${r.status}: ${caddyMessage(r.text)}`);
      const list = JSON.parse(r.text || "[]") as { address: string; num_requests: number; fails: number }[];
      return list.map((u) => ({ address: u.address, numRequests: u.num_requests, fails: u.fails }));
    },
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = "no answer yet";
      for (;;) {
        try {
          const r = await call("GET", "/config/");
          if (r.status === 200) return;
          last = `HTTP ${r.status}: ${caddyMessage(r.text)}`;
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() >= deadline)
          throw new Error(`Caddy admin API at ${base} not ready after ${timeoutMs} ms: ${last}`);
        await sleep(25);
      }
    },
    // destroy, not close: an unanswered request (something else on the port) must not hold us up.
    close: () => dispatcher.destroy(),
  };
}

function isStaleConnection(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

/** Caddy answers errors as {"error": "..."}; show just the message. */
function caddyMessage(text: string): string {
  try {
    const v = JSON.parse(text) as { error?: unknown };
    if (typeof v.error === "string") return v.error;
  } catch {
    // not JSON: show as is
  }
  return text.trim().slice(0, 2000);
}
