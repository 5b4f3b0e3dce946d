// Ingress on proxy nodes: builds the whole Caddy config from the desired routes (pure builder in
// agent/ingress/caddy-config.ts), reads the hash of what Caddy runs now, and loads a new config
// through the admin API, checking afterwards that Caddy runs exactly what was sent.
import type { Route } from "../../schema/index.js";
import { type GateVerdict, reloadGate } from "../core/reload-gate.js";
import { createCaddyAdmin } from "../ingress/caddy-admin.js";
import { adminListenOf, buildCaddyConfig, caddyConfigHash, proxyTuning } from "../ingress/caddy-config.js";

export interface Ingress {
  /** The config for `routes` and its hash (pure, cheap). */
  build(routes: Route[]): { config: object; hash: string };
  /** Hash of the running config; null when Caddy has no config. Throws when Caddy cannot be reached. */
  runningHash(): Promise<string | null>;
  /**
   * Loads `config` at a quiet moment (agent/core/reload-gate.ts: no request waits to retry; at
   * most quietWaitMs later) and verifies Caddy now runs it. Says how it went.
   */
  load(config: object, hash: string): Promise<string>;
  close(): Promise<void>;
}

export interface IngressOptions {
  adminUrl: string;
  httpListen: string;
  httpsListen: string;
  storageDir?: string;
  /** How long a load waits for a quiet moment before it goes ahead anyway (default 2 s). */
  quietWaitMs?: number;
}

export function createCaddyIngress(opts: IngressOptions): Ingress {
  const admin = createCaddyAdmin(opts.adminUrl);
  // Caddy's admin listener must be part of every config we load, or a load moves it (COMPONENTS.md).
  const adminListen = adminListenOf(opts.adminUrl);
  let lastLoad: number | null = null;
  const quietWaitMs = opts.quietWaitMs ?? 2_000;
  /** Waits (bounded) for a moment when a load cuts no request short; says what it saw. */
  const quietMoment = async (): Promise<string> => {
    const started = performance.now();
    const settleMs = proxyTuning.dialTimeoutMs + proxyTuning.tryIntervalMs;
    let verdict: GateVerdict = { quiet: false, why: "not checked" };
    for (;;) {
      const since = lastLoad === null ? null : performance.now() - lastLoad;
      // An older Caddy without the upstreams endpoint: nothing to wait for.
      const ups = await admin.upstreams().catch(() => []);
      verdict = reloadGate(ups, since, settleMs);
      const waited = performance.now() - started;
      if (verdict.quiet)
        return waited < 1
          ? "loaded at once"
          : `loaded after waiting ${Math.round(waited)} ms for a quiet moment`;
      if (waited >= quietWaitMs)
        return `loaded after ${Math.round(waited)} ms without a quiet moment (${verdict.why})`;
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const runningHash = async (): Promise<string | null> => {
    const current = await admin.current();
    return current === null ? null : caddyConfigHash(current);
  };
  return {
    build(routes) {
      const config = buildCaddyConfig(routes, {
        adminListen,
        httpListen: opts.httpListen,
        httpsListen: opts.httpsListen,
        ...(opts.storageDir ? { storageDir: opts.storageDir } : {}),
      });
      return { config, hash: caddyConfigHash(config) };
    },
    runningHash,
    async load(config, hash) {
      const waited = await quietMoment();
      await admin.load(config);
      lastLoad = performance.now();
      const now = await runningHash();
      if (now !== hash) {
        throw new Error(
          `Caddy at ${opts.adminUrl} accepted the config but runs a different one (${now ?? "none"})`,
        );
      }
      return waited;
    },
    close: () => admin.close(),
  };
}
