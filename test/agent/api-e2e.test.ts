// The agent against the real reconciler HTTP API (reconciler/http/server.ts over the API tests'
// in-memory backend): token auth, quoted ETags, long-poll wake-up on publish and schema-checked
// status PUTs all work between the two real ends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningAgent, startAgent } from "../../agent/index.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import { EventBus } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { MemoryBackend } from "../reconciler/http/memory-backend.js";
import { appWorkload, hit } from "./helpers/agent-harness.js";
import { desiredDoc } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

let server: ApiServer | undefined;
let agent: RunningAgent | undefined;
let stateDir: string;
afterEach(async () => {
  await agent?.stop({ stopWorkloads: true });
  await createProcessDriver({ stateDir }).close({ stopAll: true });
  await server?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("agent ↔ real reconciler API", () => {
  it("converges, reports status the API accepts, and wakes on publish", async () => {
    stateDir = mkdtempSync(join(tmpdir(), "berth-agent-api-"));
    const backend = new MemoryBackend();
    const token = generateToken();
    const p = await freePortPair();
    const v1 = desiredDoc("node-a", [appWorkload({ hostPort: p, reply: "v1" })]);
    backend.publish([v1], { "node-a": sha256Hex(token) });
    server = await startApiServer({
      listen: "127.0.0.1:0",
      backend,
      events: new EventBus(),
      metrics: createMetrics({ processMetrics: false }),
      logger: pino({ level: "silent" }),
    });
    agent = await startAgent({
      node: "node-a",
      url: server.url,
      token,
      stateDir,
      logger: pino({ level: "silent" }),
      pollWaitSeconds: 20,
    });
    const converged = (hash: string) =>
      waitFor(`converged on ${hash.slice(0, 19)}`, () => {
        const s = backend.statuses.get("node-a");
        return s?.phase === "converged" && s.appliedHash === hash ? s : undefined;
      });
    await converged(v1.hash);
    expect((await hit(p))?.body).toBe("v1");

    // The agent is now parked in a long-poll with If-None-Match; a publish wakes it.
    await waitFor("agent long-polling", () => backend.waiters.size === 1);
    const v2 = desiredDoc("node-a", [appWorkload({ hostPort: p, reply: "v2" })]);
    backend.publish([v2]);
    const s = await converged(v2.hash);
    expect(s.workloads[0]).toMatchObject({ hostPort: p + 1, state: "running", health: "healthy" });
    expect((await hit(p + 1))?.body).toBe("v2");
    expect(backend.lastSeen.has("node-a")).toBe(true);
  });
});
