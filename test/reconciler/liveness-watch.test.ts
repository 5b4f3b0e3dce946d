// The liveness watch's timing: after this process was stalled, agents' calls that arrived
// meanwhile count before the check that would otherwise call them stale.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ContactBook } from "../../reconciler/liveness/contacts.js";
import { type LivenessChange, LivenessWatch } from "../../reconciler/liveness/watch.js";

const bounds = { staleAfterMs: 200, lostAfterMs: 5_000, startupGraceMs: 5_000, pollHoldMs: 100 };

describe("LivenessWatch", () => {
  let server: Server | undefined;
  let client: Socket | undefined;
  let watch: LivenessWatch | undefined;
  afterEach(async () => {
    watch?.stop();
    client?.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("records calls that arrived while the process was stalled before it checks", async () => {
    const contacts = new ContactBook();
    const changes: LivenessChange[] = [];
    watch = new LivenessWatch({
      bounds,
      contacts,
      nodes: () => ["w1"],
      announce: (c) => changes.push(c),
      checkMs: 20,
    });
    // An agent's call is a connection here: it touches w1 when this process gets to it.
    server = createServer((socket) => {
      contacts.touch("w1", Date.now());
      socket.destroy();
    });
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    contacts.touch("w1", Date.now());
    watch.start();
    await new Promise((r) => setTimeout(r, 60));
    expect(changes.map((c) => c.kind)).toEqual(["record"]);

    // The next call is on its way (the kernel accepts it) while this process is stalled for
    // longer than the stale bound.
    client = connect(port, "127.0.0.1");
    const until = Date.now() + 2 * bounds.staleAfterMs;
    while (Date.now() < until) {
      // a stalled event loop (a long synchronous publish)
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(changes.map((c) => c.kind)).toEqual(["record"]);
    expect(watch.view("w1").state).toBe("alive");
  });
});
