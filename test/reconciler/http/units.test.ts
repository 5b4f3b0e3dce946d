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
import { EventBus, isResumeId, parseEventId } from "../../../reconciler/events.js";
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
    ["GET", "/nodes/n1", { kind: "route", route: "ui-node", params: { node: "n1" } }],
    ["GET", "/ui/fragments/node/n1", { kind: "route", route: "ui-fragment-node", params: { node: "n1" } }],
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
  it("numbers events <epoch>-<seq> and replays those after an id", () => {
    const bus = new EventBus({ capacity: 3, epoch: "ep1" });
    expect(bus.since(undefined)).toEqual({ events: [], gap: null });
    bus.emit("detected", { n: 1 });
    bus.emit("planned", { n: 2 });
    expect(bus.since(undefined).events.map((e) => e.id)).toEqual(["ep1-1", "ep1-2"]);
    expect(bus.since("ep1-1")).toMatchObject({
      gap: null,
      events: [{ id: "ep1-2", type: "planned", data: { n: 2 } }],
    });
    expect(bus.since("ep1-2")).toEqual({ events: [], gap: null });
    expect(bus.since("ep1-0").events).toHaveLength(2);
  });

  it("reports a gap when the ring dropped what was asked for, with a cursor past it", () => {
    const bus = new EventBus({ capacity: 3, epoch: "ep1" });
    for (let i = 0; i < 5; i++) bus.emit("detected", { i });
    expect(bus.oldestId()).toBe("ep1-3");
    const r = bus.since("ep1-1");
    expect(r.gap).toEqual({
      reason: "dropped",
      requested: "ep1-1",
      oldestAvailable: "ep1-3",
      latest: "ep1-5",
      resumeFrom: "ep1-2",
    });
    expect(r.events.map((e) => e.id)).toEqual(["ep1-3", "ep1-4", "ep1-5"]);
    expect(bus.since("ep1-2")).toMatchObject({ gap: null });
    // The cursor a gap hands out resumes without a second gap.
    expect(bus.since(r.gap?.resumeFrom)).toMatchObject({ gap: null });
  });

  it("an id of another process (another epoch, an old numeric id, or one never issued) is a restart gap", () => {
    const before = new EventBus({ epoch: "old" });
    before.emit("detected", {});
    const seen = before.latestId() as string;
    const after = new EventBus({ epoch: "new" });
    expect(after.since(seen).gap).toMatchObject({
      reason: "restarted",
      requested: "old-1",
      latest: null,
      resumeFrom: "new-0",
    });
    after.emit("published", {});
    expect(after.since(seen)).toMatchObject({
      gap: { reason: "restarted", oldestAvailable: "new-1" },
      events: [{ id: "new-1" }],
    });
    expect(after.since("42").gap?.reason).toBe("restarted");
    expect(after.since("new-7").gap?.reason).toBe("restarted");
    // Two processes never share ids, even started in the same millisecond.
    expect(new EventBus().epoch).not.toBe(new EventBus().epoch);
  });

  it("tells ids it can resume from apart from garbage", () => {
    expect(parseEventId("m9x2k1ab12cd-42")).toEqual({ epoch: "m9x2k1ab12cd", seq: 42 });
    expect(isResumeId("m9x2k1ab12cd-42")).toBe(true);
    expect(isResumeId("17")).toBe(true);
    expect(isResumeId("abc")).toBe(false);
    expect(isResumeId("x-1-2")).toBe(false);
  });

  it("calls subscribers until they unsubscribe, and survives a throwing one", () => {
    const bus = new EventBus({ epoch: "e" });
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error("bad subscriber");
    });
    const off = bus.subscribe((e) => seen.push(e.id));
    bus.emit("detected", {});
    off();
    bus.emit("detected", {});
    expect(seen).toEqual(["e-1"]);
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
