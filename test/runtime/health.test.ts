// Health checks against real local servers: HTTP status classes, refused and silent ports, TCP
// connect, and waitHealthy's start period, thresholds and deadline.
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkOnce, waitHealthy } from "../../agent/health/check.js";
import type { Workload } from "../../schema/index.js";
import { freePortPair } from "./support.js";

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function httpServer(handler: Parameters<typeof createHttpServer>[1], port = 0): Promise<number> {
  const srv: Server = createHttpServer(handler);
  servers.push({
    close: () => {
      srv.closeAllConnections();
      srv.close();
    },
  });
  await new Promise<void>((res) => srv.listen(port, "127.0.0.1", res));
  return (srv.address() as AddressInfo).port;
}

const health = (over: Partial<Workload["health"]> = {}): Workload["health"] => ({
  path: "/healthz",
  intervalSeconds: 0.1,
  timeoutSeconds: 1,
  startPeriodSeconds: 0,
  healthyThreshold: 1,
  unhealthyThreshold: 2,
  ...over,
});

describe("checkOnce", () => {
  it("treats 2xx and 3xx as healthy, 4xx/5xx as not, and says what it saw", async () => {
    const port = await httpServer((req, res) => {
      const code = Number(req.url?.slice(1));
      res.writeHead(code, code === 302 ? { location: "/x" } : {}).end();
    });
    const at = (path: string) => checkOnce({ host: "127.0.0.1", port, path, timeoutMs: 2_000 });
    expect(await at("/204")).toEqual({
      ok: true,
      detail: `GET http://127.0.0.1:${port}/204: HTTP 204`,
      status: 204,
    });
    expect(await at("/302")).toEqual({
      ok: true,
      detail: `GET http://127.0.0.1:${port}/302: HTTP 302`,
      status: 302,
    });
    expect(await at("/404")).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${port}/404: HTTP 404`,
      status: 404,
    });
    expect(await at("/503")).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${port}/503: HTTP 503`,
      status: 503,
    });
  });

  it("reports a refused port and a server that never answers", async () => {
    const refused = await freePortPair();
    expect(await checkOnce({ host: "127.0.0.1", port: refused, path: "/", timeoutMs: 2_000 })).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${refused}/: ECONNREFUSED`,
      error: "ECONNREFUSED",
    });
    const silent = await httpServer(() => {
      // never answers
    });
    expect(await checkOnce({ host: "127.0.0.1", port: silent, path: "/", timeoutMs: 200 })).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${silent}/: no answer within 200 ms`,
      error: "timeout",
    });
  });

  it("without a path, checks that a TCP connection opens", async () => {
    const tcp = createTcpServer((s) => s.end());
    servers.push(tcp);
    await new Promise<void>((res) => tcp.listen(0, "127.0.0.1", res));
    const port = (tcp.address() as AddressInfo).port;
    expect(await checkOnce({ host: "127.0.0.1", port, timeoutMs: 1_000 })).toEqual({
      ok: true,
      detail: `TCP 127.0.0.1:${port}: connected`,
    });
    const refused = await freePortPair();
    expect(await checkOnce({ host: "127.0.0.1", port: refused, timeoutMs: 1_000 })).toEqual({
      ok: false,
      detail: `TCP 127.0.0.1:${refused}: ECONNREFUSED`,
      error: "ECONNREFUSED",
    });
  });
});

describe("waitHealthy", () => {
  it("waits through the start period for an app that comes up late", async () => {
    const port = await freePortPair();
    const later = setTimeout(() => void httpServer((_q, r) => r.end("ok"), port), 300);
    servers.push({ close: () => clearTimeout(later) });
    const r = await waitHealthy({ host: "127.0.0.1", port }, health({ startPeriodSeconds: 20 }));
    expect(r.ok).toBe(true);
    expect(r.attempts).toBeGreaterThan(1);
    expect(r.detail).toBe(`GET http://127.0.0.1:${port}/healthz: HTTP 200`);
  });

  it("needs healthyThreshold passes in a row", async () => {
    let n = 0;
    const port = await httpServer((_q, res) => {
      n++;
      res.writeHead(n === 2 ? 500 : 200).end();
    });
    const r = await waitHealthy(
      { host: "127.0.0.1", port },
      health({ healthyThreshold: 2, unhealthyThreshold: 5 }),
    );
    // pass, fail (resets), pass, pass
    expect(r).toMatchObject({ ok: true, attempts: 4 });
  });

  it("gives up after unhealthyThreshold failures once the start period is over", async () => {
    const port = await httpServer((_q, res) => res.writeHead(503).end());
    const r = await waitHealthy({ host: "127.0.0.1", port }, health({ unhealthyThreshold: 3 }));
    expect(r).toMatchObject({
      ok: false,
      attempts: 3,
      detail: `unhealthy after 3 checks; last: GET http://127.0.0.1:${port}/healthz: HTTP 503`,
      last: { status: 503 },
    });
  });

  it("counts a 404 on the health path at once, even during the start period (the app is up)", async () => {
    const port = await httpServer((_q, res) => res.writeHead(404).end());
    const t0 = Date.now();
    const r = await waitHealthy(
      { host: "127.0.0.1", port },
      health({ startPeriodSeconds: 600, unhealthyThreshold: 3 }),
    );
    expect(r).toMatchObject({ ok: false, attempts: 3, last: { status: 404 } });
    // Three checks intervalSeconds (0.1 s) apart, not the 600 s start period.
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it("a 503 during the start period does not count (the app may still be warming up)", async () => {
    let n = 0;
    const port = await httpServer((_q, res) => res.writeHead(++n < 4 ? 503 : 200).end());
    const r = await waitHealthy(
      { host: "127.0.0.1", port },
      health({ startPeriodSeconds: 30, unhealthyThreshold: 2 }),
    );
    expect(r).toMatchObject({ ok: true, attempts: 4 });
  });

  it("ends with ok: false when the caller's deadline aborts it", async () => {
    const port = await freePortPair();
    const r = await waitHealthy(
      { host: "127.0.0.1", port },
      health({ startPeriodSeconds: 600 }),
      AbortSignal.timeout(300),
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(
      new RegExp(
        `^gave up \\(deadline\\) after \\d+ checks; last: GET http://127.0.0.1:${port}/healthz: ECONNREFUSED$`,
      ),
    );
  });

  it("uses the target's path over the health path, and TCP when neither has one", async () => {
    const port = await httpServer((req, res) => res.writeHead(req.url === "/ready" ? 200 : 404).end());
    expect((await waitHealthy({ host: "127.0.0.1", port, path: "/ready" }, health())).ok).toBe(true);
    const tcp = await waitHealthy({ host: "127.0.0.1", port }, health({ path: undefined }));
    expect(tcp).toMatchObject({ ok: true, attempts: 1, detail: `TCP 127.0.0.1:${port}: connected` });
  });
});
