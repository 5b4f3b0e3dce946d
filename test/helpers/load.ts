// The test side of ns-client.ts: starts the client inside a host's namespace and speaks its JSON
// lines; and summaries of a load's samples (failed requests, latency percentiles, bodies seen).
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { NetHost } from "./netns.js";

const script = fileURLToPath(new URL("./ns-client.ts", import.meta.url));

export interface Sample {
  t: number;
  ms: number;
  outcome: number | string;
  body?: string;
  resent?: boolean;
}

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  /** Requests per second (open loop). */
  rate: number;
  /** Bounds: the load stops by itself after this long or this many requests. */
  maxMs: number;
  maxCount?: number;
  /** Per-request deadline (default 30 s); a request over it counts as failed (ETIMEDOUT). */
  timeoutMs?: number;
  /** false: a new connection for every request (default: kept alive, as a browser does). */
  keepAlive?: boolean;
}

export interface NsClient {
  get(url: string, opts?: { headers?: Record<string, string>; timeoutMs?: number }): Promise<Answer>;
  request(
    method: string,
    url: string,
    opts?: { headers?: Record<string, string>; body?: string; timeoutMs?: number },
  ): Promise<Answer>;
  loadStart(name: string, opts: LoadOptions): Promise<void>;
  /** Ends the load now and returns its samples. */
  loadStop(name: string): Promise<Sample[]>;
  /** Runs a load to the end of its own bounds and returns its samples. */
  load(opts: LoadOptions): Promise<Sample[]>;
  close(): Promise<void>;
}

/** Starts ns-client.ts on `host` (tsx) and waits until it is ready. */
export async function startNsClient(host: NetHost, env: Record<string, string> = {}): Promise<NsClient> {
  const child: ChildProcess = host.spawn(process.execPath, ["--import", "tsx", script], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
  });
  const waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  let nextId = 1;
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const ready = new Promise<void>((ok, fail) => {
    waiting.set(0, { ok: () => ok(), fail });
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let msg: { id: number; ok: boolean; result?: unknown; error?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.ok) w.ok(msg.result);
    else w.fail(new Error(msg.error));
  });
  child.once("exit", (code, sig) => {
    for (const w of waiting.values())
      w.fail(new Error(`ns-client on ${host.name} exited (${sig ?? code}): ${stderr}`));
    waiting.clear();
  });
  const call = <T>(op: string, args: Record<string, unknown>): Promise<T> =>
    new Promise<T>((ok, fail) => {
      const id = nextId++;
      waiting.set(id, { ok: ok as (v: unknown) => void, fail });
      child.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  await ready;
  return {
    get: (url, opts = {}) => call<Answer>("get", { url, ...opts }),
    request: (method, url, opts = {}) => call<Answer>("request", { method, url, ...opts }),
    loadStart: (name, opts) =>
      call<void>("loadStart", { name, maxCount: Math.ceil((opts.rate * opts.maxMs) / 1000) + 1, ...opts }),
    loadStop: async (name) => (await call<{ samples: Sample[] }>("loadStop", { name })).samples,
    async load(opts) {
      const name = `run-${nextId}`;
      await call<void>("loadStart", {
        name,
        maxCount: Math.ceil((opts.rate * opts.maxMs) / 1000) + 1,
        ...opts,
      });
      return (await call<{ samples: Sample[] }>("loadStop", { name, wait: true })).samples;
    },
    async close() {
      child.stdin?.end();
      await new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          ok();
        }, 3_000);
        child.once("exit", () => {
          clearTimeout(t);
          ok();
        });
      });
    },
  };
}

export interface LoadSummary {
  count: number;
  ok: number;
  failed: number;
  /** Requests resent by the client after the server closed a reused connection (see ns-client.ts). */
  resent: number;
  /** Outcome → count, e.g. {200: 1980, 502: 2, ECONNRESET: 1}. */
  outcomes: Record<string, number>;
  /** Body → count of successful answers. */
  bodies: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** The first failures, for messages: start time (ms into the load) and outcome. */
  failures: { t: number; outcome: number | string; ms: number }[];
}

const isOk = (s: Sample): boolean => typeof s.outcome === "number" && s.outcome >= 200 && s.outcome < 400;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Summary of the samples started in [fromMs, toMs) of the load (all by default). */
export function summarize(
  samples: readonly Sample[],
  fromMs = 0,
  toMs = Number.POSITIVE_INFINITY,
): LoadSummary {
  const within = samples.filter((s) => s.t >= fromMs && s.t < toMs);
  const outcomes: Record<string, number> = {};
  const bodies: Record<string, number> = {};
  for (const s of within) {
    outcomes[String(s.outcome)] = (outcomes[String(s.outcome)] ?? 0) + 1;
    if (isOk(s) && s.body !== undefined) bodies[s.body] = (bodies[s.body] ?? 0) + 1;
  }
  const lat = within.map((s) => s.ms).sort((a, b) => a - b);
  const failed = within.filter((s) => !isOk(s));
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    count: within.length,
    ok: within.length - failed.length,
    failed: failed.length,
    resent: within.filter((s) => s.resent).length,
    outcomes,
    bodies,
    p50: round(percentile(lat, 50)),
    p99: round(percentile(lat, 99)),
    max: round(lat.at(-1) ?? Number.NaN),
    failures: failed
      .slice(0, 20)
      .map((s) => ({ t: Math.round(s.t), outcome: s.outcome, ms: Math.round(s.ms) })),
  };
}
