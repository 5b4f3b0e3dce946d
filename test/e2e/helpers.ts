// Helpers for the end-to-end tests: a single-host berth (reconciler + API + agent + Caddy) on a
// copy of examples/single-host with its own port range (or on a config repo the test wrote), and
// waiting on real outcomes.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import type { AgentEvent } from "../../agent/index.js";
import { type SingleHost, startSingleHost } from "../../cli/up/single-host.js";
import { makeRepo, makeTempDir, type TestRepo } from "../helpers/git-repo.js";
import { freePort, randomPortBase } from "../helpers/ports.js";

export const exampleDir = new URL("../../examples/single-host/", import.meta.url).pathname;

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > until) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Bed {
  repo: TestRepo;
  host: SingleHost;
  stateDir: string;
  httpPort: number;
  start(): Promise<SingleHost>;
  /** GET through Caddy with a Host header; returns status and body. */
  get(host: string, path?: string): Promise<{ status: number; body: string }>;
  /** Waits until the node applied the published documents of `commit` and reports converged. */
  converged(commit: string, timeoutMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

export { randomPortBase };

/** A single-host test bed on a copy of examples/single-host whose node uses a fresh port range. */
export async function singleHostBed(opts: { caddy?: boolean } = {}): Promise<Bed> {
  const src = makeTempDir("berth-e2e-src-");
  cpSync(exampleDir, src, { recursive: true });
  const base = randomPortBase();
  const nodeFile = join(src, "nodes/local.yaml");
  writeFileSync(
    nodeFile,
    readFileSync(nodeFile, "utf8").replace(/portRange: .*/, `portRange: [${base}, ${base + 99}]`),
  );
  const repo = await makeRepo({ fromDir: src });
  rmSync(src, { recursive: true, force: true });
  return repoBed(repo, opts);
}

export interface RepoBedOptions {
  /** false: no Caddy (ingress off). Default: Caddy when installed. */
  caddy?: boolean;
  /** Host address container ports are published on (tests: 127.0.0.1). */
  publishAddress?: string;
  onAgentEvent?: (e: AgentEvent) => void;
}

/**
 * A single-host test bed on a config repo the caller made (its node should have a port range of
 * its own, see randomPortBase). cleanup() stops berth and its workloads and removes the repo.
 */
export async function repoBed(repo: TestRepo, opts: RepoBedOptions = {}): Promise<Bed> {
  const stateDir = makeTempDir("berth-e2e-state-");
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const bed: Bed = {
    repo,
    host: undefined as unknown as SingleHost,
    stateDir,
    httpPort,
    async start() {
      bed.host = await startSingleHost({
        repo: repo.dir,
        listen: "127.0.0.1:0",
        stateDir,
        httpListen: `127.0.0.1:${httpPort}`,
        httpsListen: `127.0.0.1:${httpsPort}`,
        caddy: opts.caddy === false ? "off" : "auto",
        logger: pino({ level: "silent" }),
        pollWaitSeconds: 10,
        ...(opts.publishAddress ? { publishAddress: opts.publishAddress } : {}),
        ...(opts.onAgentEvent ? { onAgentEvent: opts.onAgentEvent } : {}),
      });
      return bed.host;
    },
    async get(host, path = "/") {
      const res = await request(`http://127.0.0.1:${httpPort}${path}`, { headers: { host } });
      return { status: res.statusCode, body: await res.body.text() };
    },
    async converged(commit, timeoutMs = 45_000) {
      await waitFor(
        `node converged on ${commit.slice(0, 7)}`,
        () => {
          const h = bed.host;
          if (h.reconciler.published().commit !== commit) return false;
          const doc = h.reconciler.desired(h.node);
          const st = h.agent.status();
          return st.phase === "converged" && doc !== undefined && st.appliedHash === doc.hash;
        },
        timeoutMs,
      );
    },
    async cleanup() {
      await bed.host?.stop().catch(() => {});
      await repo.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return bed;
}

/** pids of the supervised process instances, by instance name (from the driver's records). */
export function instancePids(stateDir: string): Map<string, number> {
  const dir = join(stateDir, "agent", "processes");
  const out = new Map<string, number>();
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return out;
  }
  for (const f of files) {
    if (!f.endsWith(".json")) continue;
    const rec = JSON.parse(readFileSync(join(dir, f), "utf8")) as { pid: number };
    out.set(f.replace(/\.json$/, ""), rec.pid);
  }
  return out;
}
