// PURE: builds the whole Caddy JSON config of a proxy node from its routes, and its hash. Nothing
// here talks to Caddy (caddy-admin.ts does). Shape, and why:
// - Caddy's automatic HTTPS is disabled on both servers and done explicitly instead (TLS
//   listener, certificate automation, redirects), so the config is exactly what this file says
//   and tests can assert it; Caddy still answers ACME HTTP-01 challenges on every server.
// - Every upstream `addr:port` dials both slots (port and port+1): a start-first deploy runs the
//   new instance in the idle slot. Passive health checks plus retries within `try_duration` send a
//   request that hit a dead slot to a live one, so a switch loses no request.
// - A last catch-all answers 404 (Caddy otherwise answers 200 with an empty body).
// - admin.listen is always present: a /load without it would move the admin API away.
import { hashOf } from "../../core/canonical-json.js";
import type { Route, Workload } from "../../schema/index.js";

export interface CaddyConfigOptions {
  /** host:port of the admin API, e.g. 127.0.0.1:2019 (must be where the running Caddy listens). */
  adminListen: string;
  /** Plain-HTTP listener, e.g. ":80" or "127.0.0.1:18080". */
  httpListen: string;
  /** TLS listener, e.g. ":443"; only opened when some route has tls auto or internal. */
  httpsListen: string;
  /** Where Caddy keeps certificates and its local CA (default: Caddy's, under XDG_DATA_HOME). */
  storageDir?: string;
}

/** Load-balancing and health settings of every reverse proxy, in ms (see docs/runtimes.md). */
export const proxyTuning = {
  /** How long a request may wait for a live upstream before it fails (covers a slot switch). */
  tryDurationMs: 5_000,
  /** Pause between two tries; short, since a refused dial on a dead slot is immediate. */
  tryIntervalMs: 50,
  /** A failed upstream is skipped this long; shorter than tryDuration so a request outlives it. */
  failDurationMs: 500,
  maxFails: 1,
  /**
   * A LAN dial answers in well under a millisecond; a node whose packets vanish never answers.
   * Short, so a request that picked such a node is sent elsewhere at once instead of stalling.
   */
  dialTimeoutMs: 250,
} as const;

/**
 * How long a start-first replace keeps the old instance serving after the new one is healthy, so
 * every proxy routes to the new slot before the old one stops: an app with a health path is
 * checked by the proxies every interval (the new slot counts as down until its first passing
 * check), one without is skipped for failDuration after the refusal of its idle slot. Stopping
 * sooner loses no request either (it is retried), but makes some wait in Caddy's retry loop.
 */
export function slotSwitchDrainMs(w: Pick<Workload, "port" | "health">): number {
  if (w.port === undefined) return 0;
  if (w.health.path !== undefined) return Math.round(w.health.intervalSeconds * 1000) + 250;
  return proxyTuning.failDurationMs;
}

const ms = (n: number): string => `${n}ms`;

export const serverNames = { http: "berth-http", https: "berth-https" } as const;

const notFound = {
  handle: [
    {
      handler: "static_response",
      status_code: 404,
      headers: { "Content-Type": ["text/plain; charset=utf-8"] },
      body: "berth: no route for this host and path\n",
    },
  ],
  terminal: true,
};

/** Splits "addr:port" (IPv6 as "[::1]:port") and returns the dials of both slots. */
export function slotDials(upstream: string): string[] {
  const colon = upstream.lastIndexOf(":");
  const port = Number(upstream.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65534) {
    throw new Error(`route upstream ${JSON.stringify(upstream)} is not address:port (port 1-65534)`);
  }
  const addr = upstream.slice(0, colon);
  return [`${addr}:${port}`, `${addr}:${port + 1}`];
}

/** Path matchers of a prefix: "/" matches everything; "/api" matches /api and /api/…. */
function pathMatch(prefix: string): string[] | undefined {
  const p = prefix.replace(/\/+$/, "");
  return p === "" ? undefined : [p, `${p}/*`];
}

function proxyRoute(r: Route): object {
  const dials = [...new Set(r.upstreams.flatMap(slotDials))].sort();
  const path = pathMatch(r.path);
  const health: Record<string, unknown> = {
    passive: { fail_duration: ms(proxyTuning.failDurationMs), max_fails: proxyTuning.maxFails },
  };
  if (r.health) {
    // The app's own health check, from every proxy to every upstream: a slot or node that fails
    // it is skipped until it passes again, so requests do not walk into it (idle slots included).
    health.active = {
      uri: r.health.path,
      interval: ms(Math.round(r.health.intervalSeconds * 1000)),
      timeout: ms(Math.round(r.health.timeoutSeconds * 1000)),
    };
  }
  return {
    match: [{ host: [r.host], ...(path ? { path } : {}) }],
    handle: [
      {
        handler: "reverse_proxy",
        upstreams: dials.map((dial) => ({ dial })),
        load_balancing: {
          selection_policy: { policy: "round_robin" },
          try_duration: ms(proxyTuning.tryDurationMs),
          try_interval: ms(proxyTuning.tryIntervalMs),
        },
        health_checks: health,
        // No pooled connections to upstreams (as nginx by default): a request on a pooled
        // connection to a node that vanished waits for an answer that never comes, while a
        // fresh dial fails within dial_timeout and is retried elsewhere.
        transport: {
          protocol: "http",
          dial_timeout: ms(proxyTuning.dialTimeoutMs),
          keep_alive: { enabled: false },
        },
      },
    ],
    terminal: true,
  };
}

/** Most specific first: exact hosts before wildcards, longer path prefixes before shorter. */
function routeOrder(a: Route, b: Route): number {
  const wa = a.host.startsWith("*.") ? 1 : 0;
  const wb = b.host.startsWith("*.") ? 1 : 0;
  if (wa !== wb) return wa - wb;
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  const pa = a.path.replace(/\/+$/, "");
  const pb = b.path.replace(/\/+$/, "");
  if (pa.length !== pb.length) return pb.length - pa.length;
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

function portOf(listen: string): string {
  return listen.slice(listen.lastIndexOf(":") + 1);
}

/** Plain-HTTP requests for a TLS host go to the same URL over https (308 keeps the method). */
function redirectRoute(hosts: string[], httpsListen: string): object {
  const port = portOf(httpsListen);
  const authority = port === "443" ? "{http.request.host}" : `{http.request.host}:${port}`;
  return {
    match: [{ host: hosts }],
    handle: [
      {
        handler: "static_response",
        status_code: 308,
        headers: { Location: [`https://${authority}{http.request.uri}`] },
      },
    ],
    terminal: true,
  };
}

/** The whole Caddy config for `routes`. Same routes (in any order) → same config. */
export function buildCaddyConfig(routes: Route[], opts: CaddyConfigOptions): Record<string, unknown> {
  const sorted = [...routes].sort(routeOrder);
  const plain = sorted.filter((r) => r.tls === "off");
  const secure = sorted.filter((r) => r.tls !== "off");
  const hostsOf = (tls: Route["tls"]) =>
    [...new Set(sorted.filter((r) => r.tls === tls).map((r) => r.host))].sort();
  const autoHosts = hostsOf("auto");
  const internalHosts = hostsOf("internal");
  const secureHosts = [...new Set([...autoHosts, ...internalHosts])].sort();

  const servers: Record<string, unknown> = {
    [serverNames.http]: {
      listen: [opts.httpListen],
      automatic_https: { disable: true },
      routes: [
        ...(secureHosts.length ? [redirectRoute(secureHosts, opts.httpsListen)] : []),
        ...plain.map(proxyRoute),
        notFound,
      ],
    },
  };
  const apps: Record<string, unknown> = { http: { servers } };

  if (secure.length > 0) {
    servers[serverNames.https] = {
      listen: [opts.httpsListen],
      automatic_https: { disable: true },
      // One empty policy turns TLS on for the listener; certificates are picked by SNI.
      tls_connection_policies: [{}],
      routes: [...secure.map(proxyRoute), notFound],
    };
    const policies: object[] = [];
    if (internalHosts.length) policies.push({ subjects: internalHosts, issuers: [{ module: "internal" }] });
    if (autoHosts.length) policies.push({ subjects: autoHosts, issuers: [{ module: "acme" }] });
    apps.tls = { certificates: { automate: secureHosts }, automation: { policies } };
    // Never let Caddy add its local CA to this host's trust store (it would try as root).
    if (internalHosts.length) apps.pki = { certificate_authorities: { local: { install_trust: false } } };
  }

  return {
    admin: { listen: opts.adminListen, config: { persist: false } },
    ...(opts.storageDir ? { storage: { module: "file_system", root: opts.storageDir } } : {}),
    apps,
  };
}

/** `sha256:<hex>` of the canonical JSON: equal for a config and Caddy's read-back of it. */
export const caddyConfigHash = (config: object): string => hashOf(config);

/** "http://127.0.0.1:2019/" → "127.0.0.1:2019": the admin.listen that keeps that URL working. */
export function adminListenOf(adminUrl: string): string {
  const u = new URL(adminUrl);
  return `${u.hostname.includes(":") ? `[${u.hostname.replace(/^\[|\]$/g, "")}]` : u.hostname}:${u.port || "80"}`;
}
