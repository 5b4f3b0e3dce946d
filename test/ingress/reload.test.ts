// Route changes without dropped requests (issue 12 item 5), against a real Caddy under load: an
// upstream dies (its requests are being retried on the other one) right when the agent loads a new
// config. Caddy cancels the retries of the config it unloads (agent/core/reload-gate.ts), so the
// agent's ingress waits for a quiet moment before it loads: Caddy answers no request with an error
// (without the wait: 8-10 502s per run).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitHealthy } from "../../agent/health/check.js";
import { createCaddyIngress, type Ingress } from "../../agent/loop/ingress.js";
import type { Route } from "../../schema/index.js";
import { startTestCaddy, type TestCaddy } from "../helpers/caddy.js";
import { requireTool } from "../helpers/tools.js";
import { appScript, fastHealth, freePortPair } from "../runtime/support.js";

const ok = requireTool("caddy", ["version"]);

function startApp(port: number, reply: string): ChildProcess {
  return spawn(process.execPath, [appScript], {
    env: { ...process.env, PORT: String(port), REPLY: reply },
    stdio: "ignore",
  });
}
const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once("exit", () => r()));

describe.skipIf(!ok)("Caddy config loads under load (real Caddy)", () => {
  let t: TestCaddy;
  let ingress: Ingress;
  const apps: ChildProcess[] = [];
  let a: number;
  let b: number;
  beforeAll(async () => {
    t = await startTestCaddy();
    ingress = createCaddyIngress({
      adminUrl: t.caddy.adminUrl,
      httpListen: t.configOptions.httpListen,
      httpsListen: t.configOptions.httpsListen,
    });
    a = await freePortPair();
    b = await freePortPair();
    apps.push(startApp(a, "a"));
    expect((await waitHealthy({ host: "127.0.0.1", port: a }, fastHealth)).ok).toBe(true);
  });
  afterAll(async () => {
    for (const p of apps) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await ingress?.close();
    await t?.stop();
  });

  it("an upstream dying right before each of 8 loads costs no request", async () => {
    const health = { path: "/healthz", intervalSeconds: 0.5, timeoutSeconds: 1 };
    const routes = (extra: boolean): Route[] => [
      { host: "web.test", path: "/", tls: "off", upstreams: [`127.0.0.1:${a}`, `127.0.0.1:${b}`], health },
      ...(extra
        ? [{ host: "other.test", path: "/", tls: "off" as const, upstreams: [`127.0.0.1:${a}`], health }]
        : []),
    ];
    const load = async (extra: boolean) => {
      const { config, hash } = ingress.build(routes(extra));
      return ingress.load(config, hash);
    };
    await load(false);

    // 200 requests/s, a new connection each (no keep-alive race with Caddy closing idle ones).
    const agent = new Agent({ keepAlive: false });
    const failures: string[] = [];
    const resets: string[] = [];
    let sent = 0;
    let stop = false;
    const inflight = new Set<Promise<void>>();
    const fire = () => {
      sent++;
      const p = new Promise<void>((done) => {
        const req = request(
          { host: "127.0.0.1", port: t.httpPort, path: "/", headers: { host: "web.test" }, agent },
          (res) => {
            res.resume();
            res.on("end", () => {
              if (res.statusCode !== 200) failures.push(`HTTP ${res.statusCode}`);
              done();
            });
          },
        );
        req.on("error", (e: NodeJS.ErrnoException) => {
          (e.code === "ECONNRESET" ? resets : failures).push(e.message);
          done();
        });
        req.end();
      });
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    };
    const ticker = (async () => {
      while (!stop) {
        fire();
        await sleep(5);
      }
    })();

    const notes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const other = startApp(b, "b");
      apps.push(other);
      await waitHealthy({ host: "127.0.0.1", port: b }, fastHealth);
      await sleep(800); // Caddy's checks see it up; requests go to both
      other.kill("SIGKILL"); // refused from now on: requests to it are retried on a
      await exited(other);
      await sleep(20);
      notes.push(await load(i % 2 === 0));
    }
    await sleep(500);
    stop = true;
    await ticker;
    await Promise.all(inflight);
    expect(sent).toBeGreaterThan(1_000);
    // Caddy never answered an error: no request waiting to retry was cut by a load.
    expect(failures, notes.join("\n")).toEqual([]);
    // Connections reset at a load are the listener's (agent/ingress/reload-sysctl.ts): none where
    // net.ipv4.tcp_migrate_req is 1. Tests do not change the machine's own namespace.
    if (readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() === "1") expect(resets).toEqual([]);
    // The loads did wait for quiet moments (requests were being retried when they were asked for).
    expect(notes.some((n) => /waiting \d+ ms for a quiet moment/.test(n))).toBe(true);
  }, 120_000);
});
