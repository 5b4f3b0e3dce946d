// Connection budgets and cheap-first webhook checks (reconciler/http/guard.ts, webhook-route.ts):
// a silent connection is cut at the header deadline, a client over its cap is closed at once, at
// the total cap an idle connection makes room for a newcomer (and only busy ones make it refuse),
// a webhook without a well-formed signature or beyond the bodies read at once is answered without
// reading its body, a slow body gets 408, and the caps fit under the open-file limit.
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type ConnectionBudget, fitToFdLimit } from "../../../reconciler/http/guard.js";
import { makeTempDir } from "../../helpers/git-repo.js";
import { makeCerts } from "../../helpers/tls.js";
import { requireTool } from "../../helpers/tools.js";
import { type Harness, startHarness, until } from "./harness.js";
import { makeDoc } from "./memory-backend.js";

let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.close();
  h = undefined;
});

function raw(
  port: number,
  localAddress = "127.0.0.1",
): Promise<Socket & { ended: Promise<number>; text: () => string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", localAddress });
    sockets.push(s);
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    const t0 = Date.now();
    const ended = new Promise<number>((r) => s.once("close", () => r(Date.now() - t0)));
    s.on("error", () => {});
    s.once("connect", () => resolve(Object.assign(s, { ended, text: () => text })));
    s.once("error", reject);
  });
}

const portOf = (url: string) => Number(new URL(url).port);
const refused = (hh: Harness, reason: string) =>
  hh.metrics.connectionsRefused
    .get()
    .then((m) => m.values.find((v) => v.labels.reason === reason)?.value ?? 0);

describe("connection budget", () => {
  it("cuts a connection that sends nothing at the header deadline", async () => {
    h = await startHarness({ budget: { headersTimeoutMs: 300 } });
    const s = await raw(portOf(h.server.url));
    expect(await s.ended).toBeLessThan(10_000);
    // A real request on a fresh connection is not affected.
    expect((await h.call("GET", "/healthz")).status).toBe(200);
  });

  it("closes a client's connections beyond its cap at once", async () => {
    h = await startHarness({ budget: { maxPerClient: 3 } });
    const port = portOf(h.server.url);
    const kept = await Promise.all([1, 2, 3].map(() => raw(port, "127.0.4.1")));
    const extra = await raw(port, "127.0.4.1");
    await extra.ended;
    expect(await refused(h, "per_client")).toBe(1);
    for (const k of kept) expect(k.destroyed).toBe(false);
    // Another address is its own client.
    const other = await raw(port, "127.0.4.2");
    other.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => other.text().startsWith("HTTP/1.1 200"), "an answer to another client");
  });

  it("at the total cap, closes the oldest idle connection to let a newcomer in", async () => {
    h = await startHarness({ budget: { maxConnections: 4, maxPerClient: 100 } });
    h.backend.publish([makeDoc("node-a", "v1")]);
    const port = portOf(h.server.url);
    const idle = [];
    for (let i = 0; i < 4; i++) idle.push(await raw(port, `127.0.4.${10 + i}`));
    const res = await request(`${h.server.url}/healthz`);
    expect(res.statusCode).toBe(200);
    await res.body.text();
    // The oldest idle one went first.
    await idle[0]?.ended;
    expect(await refused(h, "evicted")).toBeGreaterThanOrEqual(1);
    expect(idle[3]?.destroyed).toBe(false);
  });

  it("refuses a newcomer only when every connection is serving a request", async () => {
    h = await startHarness({ budget: { maxConnections: 2, maxPerClient: 100 } });
    h.backend.publish([makeDoc("node-a", "v1")]);
    const port = portOf(h.server.url);
    // Two event streams: requests in progress, never idle.
    const streams = await Promise.all([1, 2].map((i) => raw(port, `127.0.4.${20 + i}`)));
    for (const s of streams) s.write("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => streams.every((s) => s.text().includes("200 OK")), "two streams");
    const late = await raw(port, "127.0.4.30");
    await late.ended;
    expect(await refused(h, "total")).toBe(1);
    for (const s of streams) expect(s.destroyed).toBe(false);
  });
});

describe.skipIf(!requireTool("openssl", ["version"]))("connection budget under TLS", () => {
  const tls = () => {
    const certs = makeCerts(makeTempDir("berth-guard-tls-"), ["127.0.0.1"]);
    const read = (f: string) => readFileSync(f, "utf8");
    return { cert: read(certs.cert), key: read(certs.key), ca: read(certs.ca) };
  };
  const secure = (port: number, ca: string, localAddress: string) =>
    new Promise<TLSSocket & { text: () => string }>((resolve, reject) => {
      const tcp = connect({ port, host: "127.0.0.1", localAddress });
      sockets.push(tcp);
      const s = connectTls({ socket: tcp, host: "127.0.0.1", ca });
      sockets.push(s);
      let text = "";
      s.on("data", (d: Buffer) => {
        text += d.toString("latin1");
      });
      s.once("secureConnect", () => resolve(Object.assign(s, { text: () => text })));
      s.once("error", reject);
    });

  it("counts a TLS connection serving a request as busy: a newcomer is refused, not a stream", async () => {
    const t = tls();
    h = await startHarness({ tls: t, budget: { maxConnections: 2, maxPerClient: 100 } });
    const port = portOf(h.server.url);
    const streams = await Promise.all([1, 2].map((i) => secure(port, t.ca, `127.0.4.${40 + i}`)));
    for (const s of streams) s.write("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => streams.every((s) => s.text().includes("200 OK")), "two streams over TLS");
    const late = await raw(port, "127.0.4.50");
    await late.ended;
    expect(await refused(h, "total")).toBe(1);
    expect(await refused(h, "evicted")).toBe(0);
    for (const s of streams) expect(s.destroyed).toBe(false);
  });

  it("cuts a connection that never finishes its TLS handshake at the header deadline", async () => {
    h = await startHarness({ tls: tls(), budget: { headersTimeoutMs: 300 } });
    const s = await raw(portOf(h.server.url));
    expect(await s.ended).toBeLessThan(10_000);
  });
});

describe("webhook bodies are read only after cheap checks", () => {
  const secret = "flood-test-secret";

  it("refuses a delivery without a well-formed signature before its body arrives", async () => {
    h = await startHarness({ webhookSecret: secret });
    const s = await raw(portOf(h.server.url));
    s.write(
      "POST /v1/webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=nothex\r\nContent-Length: 100000\r\n\r\n",
    );
    await until(() => s.text().startsWith("HTTP/1.1 401"), "401 from the headers alone");
    expect(s.text()).toContain("X-Hub-Signature-256 is not sha256=<64 hex digits>");
    await s.ended;
  });

  it("answers 503 beyond the bodies read at once, and 408 to a body that does not arrive", async () => {
    h = await startHarness({ webhookSecret: secret, limits: { maxWebhookBodies: 2, bodyTimeoutMs: 500 } });
    const port = portOf(h.server.url);
    const head = `POST /v1/webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=${"0".repeat(64)}\r\nContent-Length: 100\r\n\r\nab`;
    const slow = await Promise.all([1, 2].map(() => raw(port)));
    for (const s of slow) s.write(head);
    // Both bodies are being read (the server has parsed both requests) before the third arrives.
    await until(() => slow.every((s) => s.bytesWritten > 0), "two slow bodies sent");
    await new Promise((r) => setTimeout(r, 100));
    const third = await raw(port);
    third.write(head);
    await until(() => third.text().startsWith("HTTP/1.1 503"), "503 for the third body");
    expect(third.text()).toMatch(/Retry-After: 10/i);
    await until(() => slow.every((s) => s.text().startsWith("HTTP/1.1 408")), "408 for the slow bodies");
    const counts = await h.metrics.webhooks.get();
    const of = (result: string) => counts.values.find((v) => v.labels.result === result)?.value;
    expect(of("busy")).toBe(1);
    expect(of("timeout")).toBe(2);
  });
});

describe("refused requests are logged in bounded numbers", () => {
  it("logs the first 20 refusals of a minute and counts the rest", async () => {
    h = await startHarness();
    h.backend.publish([makeDoc("node-a", "v1")], { "node-a": "0".repeat(64) });
    for (let i = 0; i < 50; i++) {
      const res = await h.call("GET", "/v1/nodes/node-a/desired", {
        headers: { authorization: "Bearer wrong" },
      });
      expect(res.status).toBe(401);
    }
    expect(h.logLines.filter((l) => l.includes('"msg":"request refused"'))).toHaveLength(20);
    const counted = await h.metrics.httpRequests.get();
    expect(counted.values.find((v) => v.labels.code === "401")?.value).toBe(50);
  });
});

describe("caps and the open-file limit", () => {
  const b = (maxConnections: number): ConnectionBudget => ({
    maxConnections,
    maxPerClient: 256,
    headersTimeoutMs: 1,
    requestTimeoutMs: 1,
    keepAliveTimeoutMs: 1,
  });

  it("keeps the caps when they fit, lowers them in proportion when they do not", () => {
    expect(fitToFdLimit([b(4096), b(512)], 65_536).lowered).toBe(false);
    expect(fitToFdLimit([b(4096), b(512)], null).lowered).toBe(false);
    const fitted = fitToFdLimit([b(4096), b(512)], 1024);
    expect(fitted.lowered).toBe(true);
    const total = fitted.budgets.reduce((n, x) => n + x.maxConnections, 0);
    expect(total + 256).toBeLessThanOrEqual(1024);
    expect(fitted.budgets[0]?.maxConnections).toBeGreaterThan(fitted.budgets[1]?.maxConnections ?? 0);
    expect(fitted.budgets[1]?.maxPerClient).toBeLessThanOrEqual(fitted.budgets[1]?.maxConnections ?? 0);
  });
});
