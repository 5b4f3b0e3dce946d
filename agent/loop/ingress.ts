// Ingress on proxy nodes: builds the whole Caddy config from the desired routes (pure builder in
// agent/ingress/caddy-config.ts), reads the hash of what Caddy runs now, and loads a new config
// through the admin API, checking afterwards that Caddy runs exactly what was sent.
import type { Route } from "../../schema/index.js";
import { createCaddyAdmin } from "../ingress/caddy-admin.js";
import { adminListenOf, buildCaddyConfig, caddyConfigHash } from "../ingress/caddy-config.js";

export interface Ingress {
  /** The config for `routes` and its hash (pure, cheap). */
  build(routes: Route[]): { config: object; hash: string };
  /** Hash of the running config; null when Caddy has no config. Throws when Caddy cannot be reached. */
  runningHash(): Promise<string | null>;
  /** Loads `config` and verifies Caddy now runs it. */
  load(config: object, hash: string): Promise<void>;
  close(): Promise<void>;
}

export interface IngressOptions {
  adminUrl: string;
  httpListen: string;
  httpsListen: string;
  storageDir?: string;
}

export function createCaddyIngress(opts: IngressOptions): Ingress {
  const admin = createCaddyAdmin(opts.adminUrl);
  // Caddy's admin listener must be part of every config we load, or a load moves it (COMPONENTS.md).
  const adminListen = adminListenOf(opts.adminUrl);
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
      await admin.load(config);
      const now = await runningHash();
      if (now !== hash) {
        throw new Error(
          `Caddy at ${opts.adminUrl} accepted the config but runs a different one (${now ?? "none"})`,
        );
      }
    },
    close: () => admin.close(),
  };
}
