// Pure pieces of the API: routing table, listen addresses, ETag matching, wait parsing, schema
// error text, the event ring buffer, tokens and the delivery log.
import { describe, expect, it } from "vitest";
import {
  bearerToken,
  generateToken,
  secretsEqual,
  sha256Hex,
  sha256HexEqual,
} from "../../../reconciler/auth.js";
import { EventBus } from "../../../reconciler/events.js";
import { parseListen } from "../../../reconciler/http/listen.js";
import { etagMatches, parseWait } from "../../../reconciler/http/node-routes.js";
import { matchRoute } from "../../../reconciler/http/router.js";
import { formatSchemaErrors } from "../../../reconciler/http/schema-errors.js";
import { Turns } from "../../../reconciler/http/turns.js";
import { DeliveryLog } from "../../../reconciler/webhooks/dedupe.js";
import { validateStatus } from "../../../schema/index.js";

describe("matchRoute", () => {
  it.each([
    ["GET", "/healthz", { kind: "route", route: "healthz", params: {} }],
    ["HEAD", "/metrics", { kind: "route", route: "metrics", params: {} }],
    ["GET", "/v1/nodes", { kind: "route", route: "nodes", params: {} }],
    ["GET", "/v1/nodes/web-1/desired", { kind: "route", route: "desired", params: { node: "web-1" } }],
    ["GET", "/v1/nodes/web-1/desired/", { kind: "route", route: "desired", params: { node: "web-1" } }],
    ["PUT", "/v1/nodes/web-1/status", { kind: "route", route: "status", params: { node: "web-1" } }],
    ["POST", "/v1/webhooks/github", { kind: "route", route: "webhook", params: { forge: "github" } }],
    ["GET", "/v1/plan", { kind: "route", route: "plan", params: {} }],
    ["GET", "/v1/events", { kind: "route", route: "events", params: {} }],
    ["GET", "/v1/nodes/web-1/status", { kind: "method_not_allowed", allow: ["PUT"] }],
    ["PUT", "/v1/nodes/web-1/desired", { kind: "method_not_allowed", allow: ["GET", "HEAD"] }],
    ["GET", "/v1/nodes//desired", { kind: "not_found" }],
    ["GET", "/v1/nodes/%E0%A4%A/desired", { kind: "not_found" }],
    ["GET", "/", { kind: "route", route: "ui-overview", params: {} }],
    ["GET", "/apps/web", { kind: "route", route: "ui-app", params: { app: "web" } }],
    ["GET", "/history/12", { kind: "route", route: "ui-generation", params: { generation: "12" } }],
    ["POST", "/login", { kind: "route", route: "ui-login", params: {} }],
    ["GET", "/logout", { kind: "method_not_allowed", allow: ["POST"] }],
    ["GET", "/nope", { kind: "not_found" }],
  ])("%s %s", (method, path, expected) => {
    expect(matchRoute(method, path)).toEqual(expected);
  });
});

describe("parseListen", () => {
  it.each([
    ["127.0.0.1:7070", { host: "127.0.0.1", port: 7070 }],
    ["127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
    [":8080", { host: "127.0.0.1", port: 8080 }],
    ["[::1]:7070", { host: "::1", port: 7070 }],
    ["0.0.0.0:80", { host: "0.0.0.0", port: 80 }],
  ])("%s", (listen, expected) => {
    expect(parseListen(listen)).toEqual(expected);
  });
  it.each(["7070", "host:99999", "a:b"])("rejects %s with an example", (listen) => {
    expect(() => parseListen(listen)).toThrow(/HOST:PORT, e.g. 127.0.0.1:7070/);
  });
});

describe("etagMatches / parseWait", () => {
  const hash = "sha256:abc";
  it.each([
    [undefined, false],
    ['"sha256:abc"', true],
    ['W/"sha256:abc"', true],
    ["sha256:abc", true],
    ['"x", "sha256:abc"', true],
    ["*", true],
    ['"sha256:abd"', false],
  ])("If-None-Match %s → %s", (header, expected) => {
    expect(etagMatches(header, hash)).toBe(expected);
  });
  it("caps the wait and rejects garbage", () => {
    expect(parseWait(null, 60)).toBeUndefined();
    expect(parseWait("30", 60)).toBe(30_000);
    expect(parseWait("600", 60)).toBe(60_000);
    expect(parseWait("0.5", 60)).toBe(500);
    expect(parseWait("-1", 60)).toMatch(/between 0 and 60/);
    expect(parseWait("x", 60)).toMatch(/got "x"/);
  });
});

describe("formatSchemaErrors", () => {
  it("says where and what for each problem", () => {
    const validate = validateStatus();
    const report = {
      node: "a",
      agentVersion: "1",
      desiredHash: null,
      appliedHash: "nope",
      appliedCommit: null,
      phase: "x",
      workloads: [{ id: "w", app: "a", state: "running", health: "ok", specHash: null }],
      ingress: null,
      surprise: true,
    };
    expect(validate(report)).toBe(false);
    const lines = formatSchemaErrors(validate.errors ?? []);
    expect(lines).toContain('(root): unknown field "surprise"');
    expect(lines).toContain("/phase: must be one of converged, applying, degraded, failed");
    expect(lines).toContain("/workloads/0/health: must be one of healthy, unhealthy, unknown");
    expect(lines.some((l) => l.startsWith("/appliedHash: "))).toBe(true);
  });
});

describe("EventBus", () => {
  it("numbers events and replays those after an id", () => {
    const bus = new EventBus({ capacity: 3 });
    expect(bus.since(0)).toEqual({ events: [], gap: false });
    bus.emit("detected", { n: 1 });
    bus.emit("planned", { n: 2 });
    expect(bus.since(0).events.map((e) => e.id)).toEqual([1, 2]);
    expect(bus.since(1)).toMatchObject({ gap: false, events: [{ id: 2, type: "planned", data: { n: 2 } }] });
    expect(bus.since(2)).toEqual({ events: [], gap: false });
  });

  it("reports a gap when the ring dropped what was asked for, or the id is from another process", () => {
    const bus = new EventBus({ capacity: 3 });
    for (let i = 0; i < 5; i++) bus.emit("detected", { i });
    expect(bus.oldestId()).toBe(3);
    expect(bus.since(1)).toMatchObject({ gap: true });
    expect(bus.since(1).events.map((e) => e.id)).toEqual([3, 4, 5]);
    expect(bus.since(2)).toMatchObject({ gap: false });
    expect(bus.since(99)).toMatchObject({ gap: true });
    expect(bus.since(99).events.map((e) => e.id)).toEqual([3, 4, 5]);
  });

  it("calls subscribers until they unsubscribe, and survives a throwing one", () => {
    const bus = new EventBus();
    const seen: number[] = [];
    bus.subscribe(() => {
      throw new Error("bad subscriber");
    });
    const off = bus.subscribe((e) => seen.push(e.id));
    bus.emit("detected", {});
    off();
    bus.emit("detected", {});
    expect(seen).toEqual([1]);
  });
});

describe("tokens", () => {
  it("generates distinct prefixed tokens and hashes them like sha256sum", () => {
    const a = generateToken();
    expect(a).toMatch(/^berth_[A-Za-z0-9_-]{43}$/);
    expect(generateToken()).not.toBe(a);
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("compares secrets and digests", () => {
    expect(secretsEqual("x", "x")).toBe(true);
    expect(secretsEqual("x", "xx")).toBe(false);
    expect(sha256HexEqual(sha256Hex("a"), sha256Hex("a"))).toBe(true);
    expect(sha256HexEqual(sha256Hex("a"), sha256Hex("b"))).toBe(false);
    expect(sha256HexEqual("short", "short")).toBe(false);
  });
  it("reads bearer tokens", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe("DeliveryLog", () => {
  it("remembers ids up to its capacity, forgetting the least recent", () => {
    const log = new DeliveryLog(2);
    expect(log.seenBefore("a")).toBe(false);
    expect(log.seenBefore("b")).toBe(false);
    expect(log.seenBefore("a")).toBe(true); // refreshes a
    expect(log.seenBefore("c")).toBe(false); // evicts b
    expect(log.size).toBe(2);
    expect(log.seenBefore("b")).toBe(false);
    log.forget("b");
    expect(log.seenBefore("b")).toBe(false);
  });
});

describe("Turns", () => {
  it("lets perTurn callers through at once and the rest in later event-loop turns, in order", async () => {
    const turns = new Turns(2);
    const order: number[] = [];
    const all = Array.from({ length: 5 }, (_, i) => turns.take().then(() => order.push(i)));
    expect(turns.waiting).toBe(3);
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2, 3]);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(turns.waiting).toBe(0);
  });
});
