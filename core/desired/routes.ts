// Routes of the proxy nodes: one per domain, to the address:hostPort of every replica of its app.
// Pure.
import { healthDefaults, type Route } from "../../schema/index.js";
import type { AppSpec, DomainSpec } from "../config/model.js";

/** `address:port`, bracketing an IPv6 literal so the result parses as a host and port. */
export function upstreamOf(address: string, hostPort: number): string {
  const host = address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
  return `${host}:${hostPort}`;
}

/**
 * The route of `domain` to `upstreams`. When the app has an HTTP health path the route carries it,
 * so proxies check every upstream themselves and skip the ones that fail (docs/runtimes.md).
 */
export function routeOf(domain: DomainSpec, upstreams: string[], app?: AppSpec): Route {
  const route: Route = { host: domain.host, path: domain.path, tls: domain.tls, upstreams };
  const h = app?.health;
  if (h?.path !== undefined) {
    const d = healthDefaults();
    route.health = {
      path: h.path,
      intervalSeconds: h.intervalSeconds ?? d.intervalSeconds,
      timeoutSeconds: h.timeoutSeconds ?? d.timeoutSeconds,
    };
  }
  return route;
}

/** Canonical order of domains and routes: host, then path. */
export function compareDomains(a: { host: string; path: string }, b: { host: string; path: string }): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
