// Where the agent health-checks and publishes: the node's address checked against this host's
// interfaces (agent/core/address.ts), the loopback-only diagnosis of a health check, and the
// publish address in the container command line.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { healthPlace, isLoopback, reachOf } from "../../agent/core/address.js";
import { checkOnce } from "../../agent/health/check.js";
import { runArgv } from "../../agent/runtime/container-commands.js";
import { workload } from "./helpers/docs.js";

describe("reachOf", () => {
  const local = ["127.0.0.1", "::1", "10.0.0.11", "fe80::1"];
  it("takes an address of this host", () => {
    expect(reachOf({ address: "10.0.0.11", resolved: ["10.0.0.11"], local, node: "w1" })).toEqual({
      kind: "local",
      address: "10.0.0.11",
      host: "10.0.0.11",
    });
  });
  it("takes a name that resolves to an address of this host, checking at that address", () => {
    expect(reachOf({ address: "w1.lan", resolved: ["10.0.0.11"], local, node: "w1" })).toMatchObject({
      kind: "local",
      host: "10.0.0.11",
    });
  });
  it("takes loopback (a single host)", () => {
    expect(reachOf({ address: "127.0.0.1", resolved: ["127.0.0.1"], local, node: "w1" }).kind).toBe("local");
  });
  it("refuses an address of another host, naming this host's addresses and the fix", () => {
    const r = reachOf({ address: "10.0.0.12", resolved: ["10.0.0.12"], local, node: "w1" });
    expect(r).toEqual({
      kind: "not-local",
      address: "10.0.0.12",
      message:
        "the address of node w1, 10.0.0.12, is not an address of this host (its addresses: 10.0.0.11, fe80::1): proxies would send w1's traffic to another machine; fix `address` in nodes/w1.yaml (or start the agent with --publish-address)",
    });
  });
  it("says what a name resolved to, and when it does not resolve", () => {
    const other = reachOf({ address: "w2.lan", resolved: ["10.0.0.12"], local, node: "w1" });
    expect(other.kind === "not-local" && other.message).toContain("w2.lan (resolves to 10.0.0.12)");
    const none = reachOf({ address: "nope.lan", resolved: [], local, node: "w1", resolveError: "ENOTFOUND" });
    expect(none.kind === "not-local" && none.message).toContain(
      "(nope.lan, nodes/w1.yaml) does not resolve here: ENOTFOUND",
    );
  });
  it("keeps the old loopback checks for a document without an address", () => {
    expect(reachOf({ address: undefined, resolved: [], local, node: "w1" })).toEqual({
      kind: "none",
      host: "127.0.0.1",
    });
  });
  it("knows loopback", () => {
    expect(["127.0.0.1", "127.8.0.1", "::1", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["10.0.0.1", "::", "0.0.0.0"].some(isLoopback)).toBe(false);
  });
});

describe("healthPlace", () => {
  it("checks at the address; looks at loopback only for processes off loopback", () => {
    const reach = { kind: "local", address: "10.0.0.11", host: "10.0.0.11" } as const;
    expect(healthPlace(reach, "process")).toEqual({ host: "10.0.0.11", loopbackHint: true });
    expect(healthPlace(reach, "podman")).toEqual({ host: "10.0.0.11", loopbackHint: false });
    expect(healthPlace({ kind: "local", address: "127.0.0.1", host: "127.0.0.1" }, "process")).toEqual({
      host: "127.0.0.1",
      loopbackHint: false,
    });
  });
  it("never probes an address of another host", () => {
    expect(healthPlace({ kind: "not-local", address: "10.0.0.12", message: "m" }, "process")).toEqual({
      error: "m",
    });
  });
});

describe("checkOnce with loopbackHint", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });
  it("says an app listens on 127.0.0.1 only when the address fails and loopback answers", async () => {
    server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    // 127.0.0.2 stands in for the node's address: nothing listens there, loopback answers.
    const r = await checkOnce({
      host: "127.0.0.2",
      port,
      path: "/healthz",
      timeoutMs: 2_000,
      loopbackHint: true,
    });
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      `listens on 127.0.0.1 only: proxies on other nodes cannot reach it at 127.0.0.2:${port} (GET http://127.0.0.2:${port}/healthz: ECONNREFUSED); make it listen on 0.0.0.0 or on $HOST, which berth sets to 127.0.0.2`,
    );
    const plain = await checkOnce({ host: "127.0.0.2", port, path: "/healthz", timeoutMs: 2_000 });
    expect(plain.detail).toBe(`GET http://127.0.0.2:${port}/healthz: ECONNREFUSED`);
  });
});

describe("container publish address", () => {
  const w = workload({ app: "web", image: "img:1", hostPort: 20000, port: 80 });
  it("publishes on the given address, bracketing IPv6", () => {
    expect(runArgv(w, "a", { engine: "podman", node: "n", publishAddress: "10.0.0.11" })).toContain(
      "10.0.0.11:20000:80",
    );
    expect(runArgv(w, "a", { engine: "podman", node: "n", publishAddress: "fd00::11" })).toContain(
      "[fd00::11]:20000:80",
    );
    expect(runArgv(w, "a", { engine: "podman", node: "n" })).toContain("20000:80");
  });
});
