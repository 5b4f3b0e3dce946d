// The reconciler client and the status reporter against real HTTP servers on 127.0.0.1: ETag and
// long-poll handling, how each kind of answer is classified, that the token never shows up in a
// message, and that failed status PUTs are retried with the newest report and never re-sent
// unchanged.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createReconcilerClient } from "../../agent/loop/reconciler-client.js";
import { createStatusReporter } from "../../agent/loop/status-reporter.js";
import type { NodeStatus } from "../../schema/index.js";
import { desiredDoc } from "./helpers/docs.js";
import { type FakeReconciler, startFakeReconciler } from "./helpers/fake-reconciler.js";
import { waitFor } from "./helpers/wait.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A server that answers every request with `status` and `body`. */
async function rawServer(status: number, body: string): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const signal = () => AbortSignal.timeout(20_000);

describe("reconciler client", () => {
  let rec: FakeReconciler;
  const client = (url: string, token: string) => {
    const c = createReconcilerClient({ url, node: "node-a", token });
    closers.push(() => c.close());
    return c;
  };

  it("gets the document, then long-polls with its ETag until it changes", async () => {
    rec = await startFakeReconciler({ node: "node-a" });
    closers.push(() => rec.close());
    const doc = desiredDoc("node-a", []);
    rec.publish(doc);
    const c = client(rec.url, rec.token);
    const first = await c.poll(null, 5, signal());
    expect(first).toEqual({ kind: "document", body: doc, etag: `"${doc.hash}"`, requests: false });
    const waiting = c.poll(doc.hash, 5, signal());
    const next = desiredDoc("node-a", [], [{ host: "a.test", path: "/", tls: "off", upstreams: [] }]);
    await waitFor("poll is waiting", () => rec.gets >= 2);
    rec.publish(next);
    expect(await waiting).toMatchObject({ kind: "document", etag: `"${next.hash}"` });
    expect(await c.poll(`"${next.hash}"`, 1, signal())).toEqual({ kind: "unchanged", requests: false });
  });

  it("classifies 401, 404, 500, garbage and a dead server; never shows the token", async () => {
    rec = await startFakeReconciler({ node: "node-a" });
    closers.push(() => rec.close());
    const token = "very-secret-token-value";
    const bad = await client(rec.url, token).poll(null, 1, signal());
    expect(bad.kind).toBe("unauthorized");
    expect(JSON.stringify(bad)).not.toContain(token);
    expect(bad.kind === "unauthorized" && bad.message).toContain("/v1/nodes/node-a/desired");

    expect((await client(rec.url, rec.token).poll(null, 1, signal())).kind).toBe("not-found");
    rec.publish(desiredDoc("node-a", []));
    rec.setMode("down5xx");
    const down = await client(rec.url, rec.token).poll(null, 1, signal());
    expect(down).toMatchObject({ kind: "unavailable" });
    expect(down.kind === "unavailable" && down.message).toContain("HTTP 500");

    const garbage = await rawServer(200, "<html>oops");
    expect(await client(garbage, token).poll(null, 1, signal())).toMatchObject({
      kind: "corrupt",
      etag: null,
    });

    await rec.kill();
    const dead = await client(rec.url, token).poll(null, 1, signal());
    expect(dead).toMatchObject({ kind: "unavailable" });
    expect(dead.kind === "unavailable" && dead.message).toContain("ECONNREFUSED");
  });
});

describe("status reporter", () => {
  const status = (phase: NodeStatus["phase"], at = "2026-01-01T00:00:00.000Z"): NodeStatus => ({
    node: "node-a",
    agentVersion: "0",
    desiredHash: null,
    appliedHash: null,
    appliedCommit: null,
    phase,
    observedAt: at,
    workloads: [],
    ingress: null,
  });

  it("sends changes only, retries failures with the newest report", async () => {
    const sent: string[] = [];
    let fail = 2;
    const r = createStatusReporter({
      logger: pino({ level: "silent" }),
      put: async (s) => {
        if (fail > 0) {
          fail--;
          throw new Error("HTTP 503");
        }
        sent.push(s.phase);
      },
    });
    closers.push(async () => r.close());
    r.report(status("applying"));
    r.report(status("converged"));
    await waitFor("delivered after retries", () => sent.length === 1, 20_000);
    expect(sent).toEqual(["converged"]);
    r.report(status("converged", "2026-01-01T00:00:09.000Z"));
    await r.flush(5_000);
    expect(sent).toEqual(["converged"]);
    r.report(status("converged"), true);
    await r.flush(5_000);
    expect(sent).toEqual(["converged", "converged"]);
    expect(r.lastSent()?.phase).toBe("converged");
  });
});
