// The event stream seen by a real EventSource client (the `eventsource` package) across a real
// restart of `berth serve` (a child process killed -9 and started again on the same address): the
// client resumes with its Last-Event-ID, is told about the gap explicitly, then receives every
// event the new process emitted. No berth event is named like EventSource's own `error` event.
// Also `berth events --follow` prints the backlog before it follows.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it } from "vitest";
import { cliArgs } from "../helpers/berth-cli.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { freePort } from "../helpers/ports.js";
import { requireTool } from "../helpers/tools.js";
import { appYaml, baseConfig, waitFor } from "./helpers.js";

const ok = requireTool("git");
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Every event type berth emits, plus the stream's own gap notice. */
const berthTypes = [
  "detected",
  "planned",
  "published",
  "rejected",
  "unchanged",
  "node-reported",
  "workload-failed",
  "status-committed",
  "webhook",
  "pull-request",
  "restart-requested",
  "restart-progress",
  "restart-finished",
  "node-stale",
  "node-lost",
  "node-back",
  "reconciler-error",
  "gap",
];

function spawnBerth(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<unknown> } {
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return { child, out: () => out, exited: new Promise((r) => child.once("exit", r)) };
}

interface Seen {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

async function allEvents(url: string): Promise<Seen[]> {
  const res = await fetch(`${url}/v1/events?follow=0`);
  const text = await res.text();
  const out: Seen[] = [];
  for (const frame of text.split("\n\n")) {
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    const type = /^event: (.*)$/m.exec(frame)?.[1];
    const id = /^id: (.*)$/m.exec(frame)?.[1];
    if (data && type && id) out.push({ type, id, data: JSON.parse(data) });
  }
  return out;
}

describe.skipIf(!ok)("event stream across a reconciler restart (real EventSource client)", () => {
  const temp = useTempRepos();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }
    }
  });

  it("resumes with Last-Event-ID, gets an explicit gap, and then every event of the new process", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const serveArgs = ["serve", "--repo", repo.dir, "--listen", `127.0.0.1:${port}`, "--interval", "1"];
    const first = spawnBerth(serveArgs);
    children.push(first.child);

    const seen: Seen[] = [];
    const ownErrors: Event[] = [];
    const es = new EventSource(`${url}/v1/events?backlog=1`);
    try {
      for (const type of berthTypes) {
        es.addEventListener(type, (e) => {
          const m = e as MessageEvent;
          seen.push({ type, id: m.lastEventId, data: JSON.parse(m.data) });
        });
      }
      // EventSource's own connection errors: they carry no berth data and are never berth events.
      es.addEventListener("error", (e) => ownErrors.push(e));

      await waitFor(
        "the first publish on the stream",
        () =>
          seen.some(
            (e) =>
              e.type === "published" && e.data.data && (e.data.data as { commit?: string }).commit === c1,
          ),
        60_000,
      );
      const beforeRestart = seen.length;
      const lastIdBefore = seen.at(-1)?.id as string;

      first.child.kill("SIGKILL");
      await first.exited;
      await waitFor("EventSource to notice the disconnect", () => ownErrors.length > 0, 30_000);
      // Something happens while the reconciler is down; the next process publishes it.
      const c2 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "while down");
      const second = spawnBerth(serveArgs);
      children.push(second.child);

      const pub2 = await waitFor(
        "the publish of the commit made while down, on the resumed stream",
        () =>
          seen.find(
            (e) => e.type === "published" && (e.data.data as { commit?: string } | undefined)?.commit === c2,
          ),
        60_000,
      );
      const after = seen.slice(beforeRestart);
      // The first thing after the restart is the gap, naming the id the client resumed from.
      expect(after[0]?.type).toBe("gap");
      expect(after[0]?.data).toMatchObject({ reason: "restarted", requested: lastIdBefore });
      expect(String(after[0]?.data.message)).toMatch(/restarted/);
      // Ids of the new process never repeat one of the old process.
      const oldIds = new Set(seen.slice(0, beforeRestart).map((e) => e.id));
      for (const e of after) expect(oldIds.has(e.id)).toBe(false);
      // Nothing the new process emitted up to that publish is missing on the client.
      const server = await allEvents(url);
      const upTo = server.findIndex((e) => e.id === pub2.id);
      expect(upTo).toBeGreaterThanOrEqual(0);
      // (A type added to berth must be added to the listeners above, or this says so.)
      expect(server.map((e) => e.type).filter((t) => !berthTypes.includes(t))).toEqual([]);
      const clientIds = new Set(after.map((e) => e.id));
      expect(server.slice(0, upTo + 1).filter((e) => !clientIds.has(e.id))).toEqual([]);
      // EventSource's own error events never carried berth data.
      for (const e of ownErrors) expect((e as MessageEvent).data).toBeUndefined();
    } finally {
      es.close();
    }
  });

  it("berth events --follow prints the backlog first, then new events", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const served = spawnBerth([
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      `127.0.0.1:${port}`,
      "--interval",
      "1",
    ]);
    children.push(served.child);
    await waitFor(
      "the first publish",
      async () => (await allEvents(url).catch(() => [])).some((e) => e.type === "published"),
      60_000,
    );

    const follow = spawnBerth(["events", "--follow", "--url", url]);
    children.push(follow.child);
    await waitFor(
      "the backlog printed by --follow",
      () => /published\s+.*generation=1/.test(follow.out()),
      30_000,
    );
    const c2 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "second");
    await waitFor("a new event printed while following", () => follow.out().includes(`commit=${c2}`), 60_000);
    expect(follow.out()).not.toMatch(/events were missed/);
  });
});
