// The Deliverer on its own: a receiver that refuses connections is retried with backoff and then
// dropped, a 4xx is dropped at once, and no log line carries the receiver's URL (a chat webhook
// URL is a credential) or its signing key.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { Deliverer, type DeliveryResult } from "../../reconciler/alerts/delivery.js";
import type { OutboxEntry } from "../../reconciler/alerts/store.js";
import { memoryLogger } from "../reconciler/helpers.js";

const entry = (id: string, receiver: string): OutboxEntry => ({
  id,
  receiver,
  owner: "test",
  queuedAt: 0,
  notification: {
    kind: "firing",
    fingerprint: "0123456789abcdef",
    rule: "node-lost",
    ruleKind: "node-lost",
    subject: { node: "n1" },
    summary: "node n1 is lost",
    cause: "no contact",
    path: "/",
    startedAt: 0,
    at: 0,
    receivers: [],
  },
});

describe("alert delivery", () => {
  it("retries a refused connection, drops it after the last attempt, and logs no URL or key", async () => {
    const log = memoryLogger();
    const counted: [string, DeliveryResult][] = [];
    const done: string[] = [];
    const d = new Deliverer({
      logger: log.logger,
      publicUrl: () => undefined,
      done: (e, r) => done.push(`${e.id} ${r}`),
      count: (r, result) => counted.push([r, result]),
      retry: { baseMs: 10, capMs: 40, attempts: 3 },
      timeoutMs: 5_000,
    });
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const secretUrl = "http://127.0.0.1:9/services/T000/B000/SECRETTOKENVALUE";
    d.setReceivers([{ name: "chat", kind: "slack", url: secretUrl, signingKey: "SIGNINGKEYVALUE" }]);
    d.enqueue(entry("a", "chat"));
    d.enqueue(entry("a", "chat")); // the same id twice is sent once
    await d.idle();
    expect(done).toEqual(["a dropped"]);
    expect(counted).toEqual([
      ["chat", "retried"],
      ["chat", "retried"],
      ["chat", "dropped"],
    ]);
    const text = log.lines.join("");
    expect(text).toContain("alert notification dropped after every retry");
    expect(text).not.toContain("SECRETTOKENVALUE");
    expect(text).not.toContain("SIGNINGKEYVALUE");
    d.close();
  });

  it("drops at once what a receiver refuses with a 4xx, and what goes to a receiver no longer configured", async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const log = memoryLogger();
    const done: string[] = [];
    const d = new Deliverer({
      logger: log.logger,
      publicUrl: () => undefined,
      done: (e, r) => done.push(`${e.id} ${r}`),
    });
    d.setReceivers([{ name: "bad", kind: "webhook", url }]);
    d.enqueue(entry("a", "bad"));
    d.enqueue(entry("b", "gone"));
    await d.idle();
    expect(done.sort()).toEqual(["a dropped", "b dropped"]);
    expect(requests).toBe(1);
    expect(log.lines.join("")).toContain("alert receiver refused the notification; dropped");
    expect(log.lines.join("")).toContain("receiver no longer in berth.yaml");
    d.close();
    server.close();
  });
});
