// `berth restart` of a 2-replica app under steady load through a real Caddy (berth up on the
// single-host example, process runtime): not one request fails while every instance is replaced
// start-first, one at a time. The figure under heavier load is measured by bench/restart.bench.ts.

import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBerth } from "../helpers/berth-cli.js";
import { requireTool } from "../helpers/tools.js";
import { type Bed, instancePids, singleHostBed, waitFor } from "./helpers.js";

const ok = requireTool("git") && requireTool("caddy", ["version"]);

describe.skipIf(!ok)("berth restart under load through Caddy", () => {
  let bed: Bed;

  beforeAll(async () => {
    bed = await singleHostBed();
    await bed.start();
    await bed.converged(bed.repo.git("rev-parse", "HEAD"));
  }, 120_000);
  afterAll(async () => {
    await bed?.cleanup();
  }, 60_000);

  it("restarts both replicas of hello without one failed request", async () => {
    const before = instancePids(bed.stateDir);
    expect([...before.keys()].filter((n) => n.startsWith("berth-hello-")).sort()).toEqual([
      "berth-hello-0-a",
      "berth-hello-1-a",
    ]);
    // Open-loop load: a request every 10 ms (100/s) through Caddy until the restart is over.
    const dispatcher = new Agent({ connections: 32 });
    const failures: string[] = [];
    let sent = 0;
    const inflight = new Set<Promise<void>>();
    const timer = setInterval(() => {
      sent++;
      const p: Promise<void> = request(`http://127.0.0.1:${bed.httpPort}/`, {
        headers: { host: "hello.localhost" },
        dispatcher,
        headersTimeout: 15_000,
      })
        .then(async (r) => {
          const body = await r.body.text();
          if (r.statusCode !== 200) failures.push(`HTTP ${r.statusCode}: ${body.slice(0, 100)}`);
        })
        .catch((e: Error) => {
          failures.push(e.message);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }, 10);
    let r: Awaited<ReturnType<typeof runBerth>>;
    try {
      await new Promise((ok) => setTimeout(ok, 500));
      r = await runBerth(["restart", "hello", "--url", bed.host.url], { timeoutMs: 120_000 });
      await new Promise((ok) => setTimeout(ok, 500));
    } finally {
      clearInterval(timer);
      await Promise.all(inflight);
      await dispatcher.close();
    }
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/restart succeeded: restarted hello on local/);
    expect(sent).toBeGreaterThan(100);
    expect(failures).toEqual([]);
    // Both replicas run new processes now, in their other slots (the last old one is stopped once
    // it has drained: a health interval and a bit after its successor turned healthy).
    const helloOf = (m: Map<string, unknown>) =>
      [...m.keys()].filter((n) => n.startsWith("berth-hello-")).sort();
    const after = await waitFor("the old instances stopped", () => {
      const m = instancePids(bed.stateDir);
      return helloOf(m).length === 2 ? m : undefined;
    });
    expect(helloOf(after)).toEqual(["berth-hello-0-b", "berth-hello-1-b"]);
    expect([...after.values()]).not.toContain(before.get("berth-hello-0-a"));
  }, 180_000);
});
