// GET /v1/events as Server-Sent Events over real HTTP: live events, resume with Last-Event-ID,
// the explicit gap event when the id fell out of the ring buffer, and heartbeats.
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, until } from "./harness.js";

interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Opens the stream and collects parsed frames until closed. */
async function openStream(h: Harness, headers: Record<string, string> = {}, path = "/v1/events") {
  const abort = new AbortController();
  const res = await request(`${h.server.url}${path}`, {
    headers,
    signal: abort.signal,
    dispatcher: h.client,
  });
  const frames: SseFrame[] = [];
  let buffer = "";
  const done = (async () => {
    try {
      for await (const chunk of res.body) {
        buffer += chunk.toString();
        let end = buffer.indexOf("\n\n");
        while (end !== -1) {
          const frame: SseFrame = {};
          for (const line of buffer.slice(0, end).split("\n")) {
            if (line.startsWith(":")) frame.comment = line.slice(1).trim();
            const m = /^(id|event|data): (.*)$/.exec(line);
            if (m) frame[m[1] as "id" | "event" | "data"] = m[2];
          }
          frames.push(frame);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return {
    res,
    frames,
    events: () => frames.filter((f) => f.event !== undefined),
    async close() {
      abort.abort();
      await done;
    },
  };
}

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe("GET /v1/events", () => {
  it("streams new events with id, event and data lines", async () => {
    h = await startHarness();
    const base = h.events.subscriberCount(); // the metrics observer
    const s = await openStream(h);
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers["content-type"]).toMatch(/^text\/event-stream/);
    await until(() => h.events.subscriberCount() === base + 1, "the subscription");
    h.events.emit("published", { generation: 1 });
    h.events.emit("rejected", { errors: 2 });
    await until(() => s.events().length === 2, "two events");
    const [first, second] = s.events();
    const ep = h.events.epoch;
    expect(first).toMatchObject({ id: `${ep}-1`, event: "published" });
    expect(JSON.parse(first?.data ?? "")).toMatchObject({
      id: `${ep}-1`,
      type: "published",
      data: { generation: 1 },
    });
    expect(second).toMatchObject({ id: `${ep}-2`, event: "rejected" });
    await s.close();
    await until(() => h.events.subscriberCount() === base, "the subscription to end");
  });

  it("resumes after Last-Event-ID with the events missed", async () => {
    h = await startHarness();
    for (let i = 1; i <= 5; i++) h.events.emit("detected", { n: i });
    const ep = h.events.epoch;
    const s = await openStream(h, { "last-event-id": `${ep}-3` });
    await until(() => s.events().length === 2, "the replay");
    expect(s.events().map((f) => f.id)).toEqual([`${ep}-4`, `${ep}-5`]);
    h.events.emit("published", {});
    await until(() => s.events().length === 3, "the live event");
    expect(s.events()[2]).toMatchObject({ id: `${ep}-6`, event: "published" });
    await s.close();
  });

  it("with ?follow=0 sends the buffered events (after Last-Event-ID when given) and ends", async () => {
    h = await startHarness();
    for (let i = 1; i <= 4; i++) h.events.emit("detected", { n: i });
    // Reading the whole body only finishes because the server ends the stream.
    const ids = async (headers: Record<string, string>) => {
      const res = await request(`${h.server.url}/v1/events?follow=0`, { headers, dispatcher: h.client });
      const text = await res.body.text();
      return [...text.matchAll(/^id: \w+-(\d+)$/gm)].map((m) => m[1]);
    };
    expect(await ids({})).toEqual(["1", "2", "3", "4"]);
    expect(await ids({ "last-event-id": `${h.events.epoch}-2` })).toEqual(["3", "4"]);
  });

  it("with ?backlog=1 a new stream starts with every buffered event, then follows", async () => {
    h = await startHarness();
    for (let i = 1; i <= 3; i++) h.events.emit("detected", { n: i });
    const s = await openStream(h, {}, "/v1/events?backlog=1");
    await until(() => s.events().length === 3, "the backlog");
    h.events.emit("published", {});
    await until(() => s.events().length === 4, "the live event");
    expect(s.events().map((f) => f.event)).toEqual(["detected", "detected", "detected", "published"]);
    await s.close();
  });

  it("accepts ?lastEventId= for clients that cannot set headers", async () => {
    h = await startHarness();
    for (let i = 1; i <= 3; i++) h.events.emit("detected", { n: i });
    const s = await openStream(h, {}, `/v1/events?lastEventId=${h.events.epoch}-2`);
    await until(() => s.events().length === 1, "the replay");
    expect(s.events()[0]?.id).toBe(`${h.events.epoch}-3`);
    await s.close();
  });

  it("sends a gap event when the asked id fell out of the buffer", async () => {
    h = await startHarness(); // buffer capacity 50 in the harness
    for (let i = 1; i <= 60; i++) h.events.emit("detected", { n: i });
    const ep = h.events.epoch;
    const s = await openStream(h, { "last-event-id": `${ep}-5` });
    await until(() => s.events().length === 51, "gap + 50 events");
    const [gap, firstKept] = s.events();
    expect(gap?.event).toBe("gap");
    // The gap carries a cursor just before the oldest kept event.
    expect(gap?.id).toBe(`${ep}-10`);
    expect(JSON.parse(gap?.data ?? "")).toMatchObject({
      reason: "dropped",
      requested: `${ep}-5`,
      oldestAvailable: `${ep}-11`,
      latest: `${ep}-60`,
    });
    expect(firstKept?.id).toBe(`${ep}-11`);
    await s.close();
  });

  it("sends a restart gap for an id of another reconciler process, then everything buffered", async () => {
    h = await startHarness();
    h.events.emit("detected", {});
    const s = await openStream(h, { "last-event-id": "0123abc-7" });
    await until(() => s.events().length === 2, "gap + the buffered event");
    const [gap, kept] = s.events();
    expect(gap?.event).toBe("gap");
    expect(JSON.parse(gap?.data ?? "")).toMatchObject({ reason: "restarted", requested: "0123abc-7" });
    expect(JSON.parse(gap?.data ?? "").message).toMatch(/restarted/);
    expect(kept?.event).toBe("detected");
    await s.close();
  });

  it("rejects a malformed Last-Event-ID with 400", async () => {
    h = await startHarness();
    const res = await h.call("GET", "/v1/events", { headers: { "last-event-id": "abc" } });
    expect(res.status).toBe(400);
  });

  it("sends heartbeat comments", async () => {
    h = await startHarness({ limits: { sseHeartbeatMs: 50 } });
    const s = await openStream(h);
    await until(() => s.frames.some((f) => f.comment === "heartbeat"), "a heartbeat");
    await s.close();
  });

  it("ends open streams when the server closes", async () => {
    h = await startHarness();
    const base = h.events.subscriberCount(); // the metrics observer and the operations page's tracker
    const s = await openStream(h);
    await until(() => h.events.subscriberCount() === base + 1, "the subscription");
    await h.server.close();
    expect(h.events.subscriberCount()).toBe(0);
    await s.close();
  });
});
