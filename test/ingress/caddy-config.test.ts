// The Caddy JSON built from routes, asserted exactly against golden files (test/ingress/golden),
// plus its invariants: route order does not matter, both slots are dialled, admin.listen is kept.
import { describe, expect, it } from "vitest";
import {
  adminListenOf,
  buildCaddyConfig,
  caddyConfigHash,
  slotDials,
} from "../../agent/ingress/caddy-config.js";
import type { Route } from "../../schema/index.js";

const local = {
  adminListen: "127.0.0.1:2019",
  httpListen: "127.0.0.1:18080",
  httpsListen: "127.0.0.1:18443",
};
const prod = {
  adminListen: "127.0.0.1:2019",
  httpListen: ":80",
  httpsListen: ":443",
  storageDir: "/var/lib/berth/caddy",
};

const offRoutes: Route[] = [
  { host: "www.example.com", path: "/", tls: "off", upstreams: ["10.0.0.5:20017", "10.0.0.6:20003"] },
  { host: "www.example.com", path: "/api/", tls: "off", upstreams: ["10.0.0.6:20100", "10.0.0.6:20100"] },
  { host: "*.apps.example.com", path: "/", tls: "off", upstreams: ["[fd00::1]:20200"] },
];
const mixedRoutes: Route[] = [
  { host: "shop.example.com", path: "/", tls: "auto", upstreams: ["10.0.0.5:20017"] },
  { host: "intra.example.com", path: "/", tls: "internal", upstreams: ["10.0.0.5:20030"] },
  { host: "plain.example.com", path: "/", tls: "off", upstreams: ["10.0.0.7:20040"] },
];

const pretty = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

describe("buildCaddyConfig (golden)", () => {
  it("no routes: only the HTTP listener with the 404 catch-all", async () => {
    await expect(pretty(buildCaddyConfig([], local))).toMatchFileSnapshot("golden/caddy-empty.golden.json");
  });

  it("plain-HTTP routes: specific first, both slots dialled, duplicates merged", async () => {
    await expect(pretty(buildCaddyConfig(offRoutes, local))).toMatchFileSnapshot(
      "golden/caddy-off.golden.json",
    );
  });

  it("auto, internal and off together: TLS listener, redirects, certificate automation", async () => {
    await expect(pretty(buildCaddyConfig(mixedRoutes, prod))).toMatchFileSnapshot(
      "golden/caddy-mixed.golden.json",
    );
  });
});

describe("buildCaddyConfig invariants", () => {
  it("is the same config whatever the order of the routes", () => {
    const a = buildCaddyConfig([...offRoutes, ...mixedRoutes], local);
    const b = buildCaddyConfig([...mixedRoutes, ...offRoutes].reverse(), local);
    expect(caddyConfigHash(a)).toBe(caddyConfigHash(b));
    expect(caddyConfigHash(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("always carries admin.listen", () => {
    expect(buildCaddyConfig([], { ...local, adminListen: "127.0.0.1:4444" }).admin).toEqual({
      listen: "127.0.0.1:4444",
      config: { persist: false },
    });
  });

  it("redirects to the https port when it is not 443", () => {
    const cfg = buildCaddyConfig([mixedRoutes[1] as Route], local) as {
      apps: {
        http: { servers: Record<string, { routes: { handle: { headers?: { Location: string[] } }[] }[] }> };
      };
    };
    expect(cfg.apps.http.servers["berth-http"]?.routes[0]?.handle[0]?.headers?.Location).toEqual([
      "https://{http.request.host}:18443{http.request.uri}",
    ]);
  });
});

describe("helpers", () => {
  it.each([
    ["10.0.0.5:20017", ["10.0.0.5:20017", "10.0.0.5:20018"]],
    ["[::1]:9000", ["[::1]:9000", "[::1]:9001"]],
    ["node-a.internal:20000", ["node-a.internal:20000", "node-a.internal:20001"]],
  ])("slotDials(%s)", (upstream, dials) => {
    expect(slotDials(upstream)).toEqual(dials);
  });

  it.each(["10.0.0.5", "10.0.0.5:65535", ":80", "host:x"])("rejects upstream %s", (upstream) => {
    expect(() => slotDials(upstream)).toThrow(
      `route upstream ${JSON.stringify(upstream)} is not address:port`,
    );
  });

  it.each([
    ["http://127.0.0.1:2019", "127.0.0.1:2019"],
    ["http://localhost:2019/", "localhost:2019"],
    ["http://[::1]:2019", "[::1]:2019"],
  ])("adminListenOf(%s)", (url, listen) => {
    expect(adminListenOf(url)).toBe(listen);
  });
});
