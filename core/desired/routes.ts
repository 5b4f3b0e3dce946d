// Routes of the proxy nodes: one per domain, to the address:hostPort of every replica of its app.
// Pure.
import type { Route } from "../../schema/index.js";
import type { DomainSpec } from "../config/model.js";

/** `address:port`, bracketing an IPv6 literal so the result parses as a host and port. */
export function upstreamOf(address: string, hostPort: number): string {
  const host = address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
  return `${host}:${hostPort}`;
}

export function routeOf(domain: DomainSpec, upstreams: string[]): Route {
  return { host: domain.host, path: domain.path, tls: domain.tls, upstreams };
}

/** Canonical order of domains and routes: host, then path. */
export function compareDomains(a: { host: string; path: string }, b: { host: string; path: string }): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
