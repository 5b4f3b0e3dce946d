// Starts the real API server on 127.0.0.1:0 over a MemoryBackend, with a silent logger that
// keeps every line (so tests can check that no secret is logged), and an undici client.
import { Writable } from "node:stream";
import pino from "pino";
import { Agent, request } from "undici";
import { EventBus } from "../../../reconciler/events.js";
import { type ApiServer, type ApiServerOptions, startApiServer } from "../../../reconciler/http/server.js";
import { createMetrics, type Metrics } from "../../../reconciler/metrics.js";
import { MemoryBackend } from "./memory-backend.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response JSON
type AnyJson = any;

export interface Harness {
  server: ApiServer;
  backend: MemoryBackend;
  events: EventBus;
  metrics: Metrics;
  logLines: string[];
  client: Agent;
  call(
    method: string,
    path: string,
    opts?: { headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    json: () => AnyJson;
  }>;
  close(): Promise<void>;
}

export async function startHarness(
  overrides: Partial<Omit<ApiServerOptions, "backend" | "events" | "logger">> = {},
  backend = new MemoryBackend(),
): Promise<Harness> {
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const events = new EventBus({ capacity: 50 });
  const metrics = overrides.metrics ?? createMetrics({ processMetrics: false });
  const server = await startApiServer({
    listen: "127.0.0.1:0",
    backend,
    events,
    metrics,
    logger,
    ...overrides,
  });
  const client = new Agent({ headersTimeout: 120_000, bodyTimeout: 120_000 });
  return {
    server,
    backend,
    events,
    metrics,
    logLines,
    client,
    async call(method, path, opts = {}) {
      const res = await request(`${server.url}${path}`, {
        method: method as "GET",
        headers: opts.headers,
        body: opts.body,
        dispatcher: client,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
    },
    async close() {
      await server.close();
      await client.close();
    },
  };
}

/** Polls `check` until it returns true or the deadline passes (no fixed sleeps in tests). */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
