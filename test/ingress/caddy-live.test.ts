// Real Caddy driven through its admin API with configs from buildCaddyConfig: requests by Host
// header reach real upstreams, unknown hosts get 404, a rejected config keeps the old routes and
// the admin port, drift made by hand is seen by comparing hashes, `internal` TLS serves with
// Caddy's local CA, and a start-first switch between two slots loses no request.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitHealthy } from "../../agent/health/check.js";
import { buildCaddyConfig, caddyConfigHash, slotSwitchDrainMs } from "../../agent/ingress/caddy-config.js";
import type { Route } from "../../schema/index.js";
import { startTestCaddy, type TestCaddy } from "../helpers/caddy.js";
import { requireTool } from "../helpers/tools.js";
import { appScript, fastHealth, freePortPair, httpGet, waitFor } from "../runtime/support.js";

const ok = requireTool("caddy", ["version"]);

const apps: ChildProcess[] = [];
function startApp(port: number, reply: string): ChildProcess {
  const child = spawn(process.execPath, [appScript], {
    env: { ...process.env, PORT: String(port), REPLY: reply },
    stdio: "ignore",
  });
  apps.push(child);
  return child;
}
const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((res) => c.once("exit", () => res()));

describe.skipIf(!ok)("Caddy ingress (real Caddy)", () => {
  let t: TestCaddy;
  let port: number; // slot a of the upstream; slot b is port + 1
  let routes: Route[];
  const via = (host: string, path = "/") => httpGet(`http://127.0.0.1:${t.httpPort}${path}`, host);

  beforeAll(async () => {
    t = await startTestCaddy();
    port = await freePortPair();
    startApp(port, "slot-a");
    expect((await waitHealthy({ host: "127.0.0.1", port }, fastHealth)).ok).toBe(true);
    routes = [{ host: "web.test", path: "/", tls: "off", upstreams: [`127.0.0.1:${port}`] }];
  });

  afterAll(async () => {
    for (const a of apps) if (a.exitCode === null && a.signalCode === null) a.kill("SIGKILL");
    await t?.stop();
  });

  it("routes by Host header to the upstream and answers 404 for unknown hosts", async () => {
    const config = buildCaddyConfig(routes, t.configOptions);
    await t.admin.load(config);
    const res = await via("web.test", "/anything?q=1");
    expect(res.status).toBe(200);
    expect(res.body).toBe("slot-a");
    const unknown = await via("nope.test");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toBe("berth: no route for this host and path\n");
  });

  it("reads back the same config (equal hash) and keeps the admin API on its port", async () => {
    const config = buildCaddyConfig(routes, t.configOptions);
    await t.admin.load(config);
    const running = await t.admin.current();
    expect(running).not.toBeNull();
    expect(caddyConfigHash(running as object)).toBe(caddyConfigHash(config));
    expect((running as { admin: { listen: string } }).admin.listen).toBe(t.caddy.adminListen);
  });

  it("sees a route edited by hand as drift, and a load repairs it", async () => {
    const config = buildCaddyConfig(routes, t.configOptions);
    await t.admin.load(config);
    // Someone points the route elsewhere through the admin API.
    const edit = await request(
      `${t.caddy.adminUrl}/config/apps/http/servers/berth-http/routes/0/handle/0/upstreams`,
      {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([{ dial: "127.0.0.1:9" }]),
      },
    );
    await edit.body.dump();
    expect(edit.statusCode).toBe(200);
    expect(caddyConfigHash((await t.admin.current()) as object)).not.toBe(caddyConfigHash(config));
    await t.admin.load(config);
    expect(caddyConfigHash((await t.admin.current()) as object)).toBe(caddyConfigHash(config));
    expect((await via("web.test")).body).toBe("slot-a");
  });

  it("a config Caddy rejects: the error carries Caddy's text, old routes and admin port stay", async () => {
    const good = buildCaddyConfig(routes, t.configOptions);
    await t.admin.load(good);
    const bad = { ...good, apps: { http: { servers: { x: { listen: ["127.0.0.1:notaport"] } } } } };
    await expect(t.admin.load(bad)).rejects.toThrow(
      /^Caddy rejected the config \(POST http:\/\/127\.0\.0\.1:\d+\/load → HTTP 400\): .*notaport/,
    );
    expect(caddyConfigHash((await t.admin.current()) as object)).toBe(caddyConfigHash(good));
    expect((await via("web.test")).body).toBe("slot-a");
  });

  it("tls internal: serves HTTPS with Caddy's local CA and redirects plain HTTP there", async () => {
    const secure: Route[] = [
      ...routes,
      { host: "secure.test", path: "/", tls: "internal", upstreams: [`127.0.0.1:${port}`] },
    ];
    await t.admin.load(buildCaddyConfig(secure, t.configOptions));
    const redirect = await via("secure.test", "/a?b=c");
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe(`https://secure.test:${t.httpsPort}/a?b=c`);

    const ca = readFileSync(
      join(t.configOptions.storageDir as string, "pki", "authorities", "local", "root.crt"),
    );
    const get = () =>
      new Promise<string>((res, rej) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: t.httpsPort,
            path: "/",
            servername: "secure.test",
            headers: { host: "secure.test" },
            ca,
            agent: false,
          },
          (r) => {
            let b = "";
            r.on("data", (c) => {
              b += c;
            });
            r.on("end", () => res(`${r.statusCode} ${b}`));
          },
        );
        req.on("error", rej);
        req.end();
      });
    // Caddy obtains the certificate from its local CA right after the load, asynchronously: until
    // then the handshake fails, so poll for the first good answer.
    const body = await waitFor("an HTTPS answer with the internal certificate", get);
    expect(body).toBe("200 slot-a");
  });

  it("start-first switch between the two slots loses no request", async () => {
    // With the app's health path the proxy checks both slots itself (active health checks).
    const health = { path: "/healthz", intervalSeconds: 0.5, timeoutSeconds: 1 };
    await t.admin.load(buildCaddyConfig([{ ...routes[0]!, health }], t.configOptions));
    const old = apps[0] as ChildProcess;
    const dispatcher = new Agent({ connections: 8 });
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await request(`http://127.0.0.1:${t.httpPort}/`, {
            headers: { host: "web.test" },
            dispatcher,
          });
          const b = await r.body.text();
          if (r.statusCode !== 200) failures.push(`HTTP ${r.statusCode} ${b}`);
          else seen.set(b, (seen.get(b) ?? 0) + 1);
        } catch (e) {
          failures.push((e as Error).message);
        }
        await sleep(10);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await sleep(500);
    startApp(port + 1, "slot-b");
    expect((await waitHealthy({ host: "127.0.0.1", port: port + 1 }, fastHealth)).ok).toBe(true);
    // Let Caddy's next health check see the new slot before the old one goes away.
    await sleep(slotSwitchDrainMs({ port: 8080, health: { ...fastHealth, ...health } }));
    old.kill("SIGTERM");
    await exited(old);
    await sleep(1_000);
    stop = true;
    await Promise.all(workers);
    await dispatcher.close();
    expect(failures).toEqual([]);
    expect(seen.get("slot-a")).toBeGreaterThan(0);
    expect(seen.get("slot-b")).toBeGreaterThan(0);
    // After the switch every answer comes from the new slot.
    expect((await via("web.test")).body).toBe("slot-b");
  });
});
