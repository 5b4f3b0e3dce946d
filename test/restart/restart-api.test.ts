// `berth restart` through the real HTTP API and a real agent running real processes (the API over
// the in-memory backend of the API tests): a rolling start-first restart that succeeds and shows
// in events, status and the app's journal; refusals (no such app, a deploy under way); a restart
// dropped because a new generation changed the app first; a restart whose new instance never
// becomes healthy fails and leaves the old one serving; a restart step and the agent's restart lane
// (which restarts exited instances while a pass waits) never act on one workload at once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type AgentEvent, type RunningAgent, startAgent } from "../../agent/index.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import type { BerthEvent } from "../../reconciler/contracts.js";
import { EventBus } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import type { DesiredState, RestartAccepted, Workload } from "../../schema/index.js";
import { appScript, hit } from "../agent/helpers/agent-harness.js";
import { desiredDoc, workload } from "../agent/helpers/docs.js";
import { freePortPair } from "../agent/helpers/ports.js";
import { waitFor } from "../agent/helpers/wait.js";
import { MemoryBackend } from "../reconciler/http/memory-backend.js";

const node = "node-a";
let server: ApiServer | undefined;
let agent: RunningAgent | undefined;
let stateDir = "";
let backend: MemoryBackend;
let events: BerthEvent[] = [];
/** What the agent did (its own events), in order. */
let agentEvents: AgentEvent[] = [];
let bus: EventBus;
let scratch = "";

afterEach(async () => {
  await agent?.stop({ stopWorkloads: true });
  agent = undefined;
  await createProcessDriver({ stateDir }).close({ stopAll: true });
  await server?.close();
  server = undefined;
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

function app(
  replica: number,
  hostPort: number,
  env: Record<string, string> = {},
  name = "web",
  startPeriodSeconds = 2,
): Workload {
  return workload({
    app: name,
    replica,
    runtime: "process",
    command: [process.execPath, appScript],
    env: { REPLY: "v1", API_TOKEN: "restart-secret-value", ...env },
    port: 8080,
    hostPort,
    health: {
      path: "/healthz",
      intervalSeconds: 0.2,
      timeoutSeconds: 1,
      startPeriodSeconds,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    },
  });
}

async function setUp(workloads: Workload[]): Promise<DesiredState> {
  stateDir = mkdtempSync(join(tmpdir(), "berth-restart-"));
  scratch = mkdtempSync(join(tmpdir(), "berth-restart-x-"));
  backend = new MemoryBackend();
  const token = generateToken();
  const doc = desiredDoc(node, workloads);
  backend.publish([doc], { [node]: sha256Hex(token) });
  bus = new EventBus();
  events = [];
  agentEvents = [];
  bus.subscribe((e) => events.push(e));
  server = await startApiServer({
    listen: "127.0.0.1:0",
    backend,
    events: bus,
    metrics: createMetrics({ processMetrics: false }),
    logger: pino({ level: "silent" }),
    restarts: { pickupMs: 15_000, nodeTimeoutMs: 60_000 },
  });
  agent = await startAgent({
    node,
    url: server.url,
    token,
    stateDir,
    logger: pino({ level: "silent" }),
    pollWaitSeconds: 20,
    driftIntervalMs: 300,
    deadlines: { stopGraceMs: 3_000 },
    onEvent: (e) => agentEvents.push(e),
  });
  await convergedOn(doc);
  return doc;
}

const convergedOn = (doc: DesiredState) =>
  waitFor(
    `converged on ${doc.hash.slice(0, 19)}`,
    () => {
      const s = backend.statuses.get(node);
      return s?.phase === "converged" && s.appliedHash === doc.hash && s.desiredHash === doc.hash;
    },
    60_000,
  );

async function restart(
  appName: string,
): Promise<{ status: number; body: RestartAccepted & { error?: string; code?: string } }> {
  const res = await fetch(`${server?.url}/v1/apps/${appName}/restart`, { method: "POST" });
  return {
    status: res.status,
    body: (await res.json()) as RestartAccepted & { error?: string; code?: string },
  };
}

const finished = (id: string) =>
  waitFor(
    `restart ${id} to finish`,
    () => events.find((e) => e.type === "restart-finished" && e.data.restart === id),
    90_000,
  );

describe("berth restart through the API and a real agent", () => {
  it("restarts every instance start-first, one at a time, and says so in events, status and the journal", async () => {
    const p0 = await freePortPair();
    const p1 = await freePortPair();
    await setUp([app(0, p0), app(1, p1)]);
    const before = [(await hit(p0))?.pid, (await hit(p1))?.pid];
    expect(before.every((p) => typeof p === "number" && p > 0)).toBe(true);

    const r = await restart("web");
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ app: "web", generation: 1, nodes: [node] });
    expect(r.body.restart).toMatch(/^restart-[0-9a-f]{12}$/);
    const requested = events.find((e) => e.type === "restart-requested");
    expect(requested?.id).toBe(r.body.eventId);

    const end = await finished(r.body.restart);
    expect(end.data).toMatchObject({ outcome: "succeeded", message: `restarted web on ${node}` });
    const progress = events
      .filter((e) => e.type === "restart-progress" && e.data.restart === r.body.restart)
      .map((e) => `${e.data.state}${e.data.workload ? ` ${e.data.workload}` : ""}`);
    expect(progress).toEqual(["accepted", "running web-0", "succeeded web-1"]);

    // New processes answer in the other slots; the old ones are gone (each once it has drained: a
    // health interval and a bit after its successor turned healthy).
    const after = [await hit(p0 + 1), await hit(p1 + 1)];
    expect(after.map((a) => a?.body)).toEqual(["v1", "v1"]);
    expect(after.map((a) => a?.pid)).not.toContain(before[0]);
    expect(after.map((a) => a?.pid)).not.toContain(before[1]);
    await waitFor(
      "the old instances to stop after draining",
      async () => (await hit(p0)) === null && (await hit(p1)) === null,
    );

    const st = await waitFor("the outcome in status", () => {
      const s = backend.statuses.get(node);
      return s?.restarts?.[0]?.state === "succeeded" && s.phase === "converged" ? s : undefined;
    });
    expect(st.restarts?.[0]).toMatchObject({ id: r.body.restart, app: "web", done: 2, total: 2 });

    const journal = readFileSync(join(stateDir, "logs", "apps", "web.log"), "utf8");
    expect(journal).toContain(
      `restart ${r.body.restart} accepted: restarting 2 instances of web, one at a time`,
    );
    expect(journal).toContain(`restart web-1: asked with berth restart (${r.body.restart}, 2 of 2)`);
    expect(journal).toContain(`restart ${r.body.restart} succeeded: restarted 2 of 2 instances of web`);
  }, 120_000);

  it("refuses an app that runs nowhere, and a restart while a deploy of the app is under way", async () => {
    const p0 = await freePortPair();
    const doc = await setUp([app(0, p0)]);
    const none = await restart("nope");
    expect(none.status).toBe(409);
    expect(none.body).toMatchObject({ code: "not-running" });
    expect(none.body.error).toMatch(/nope runs on no node in generation 1/);

    // A new version that takes a while to start: while it is being deployed, restart is refused.
    const slow = desiredDoc(node, [app(0, p0, { REPLY: "v2", START_DELAY_MS: "1200" })]);
    expect(slow.hash).not.toBe(doc.hash);
    backend.publish([slow]);
    await waitFor("the deploy under way in status", () =>
      backend.statuses.get(node)?.workloads.some((w) => w.operation?.status === "running"),
    );
    const busy = await restart("web");
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe("deploy-in-progress");
    expect(busy.body.error).toMatch(
      /a deploy of web is in progress on node node-a \(web-0: replace web-0: env\.REPLY changed/,
    );
    await convergedOn(slow);
    expect(events.some((e) => e.type.startsWith("restart-"))).toBe(false);
  }, 120_000);

  it("drops the restart when a new generation changes the app first", async () => {
    const p0 = await freePortPair();
    const p1 = await freePortPair();
    // Slow starts, so the generation arrives while the first instance restarts.
    await setUp([app(0, p0, { START_DELAY_MS: "1500" }), app(1, p1, { START_DELAY_MS: "1500" })]);
    const r = await restart("web");
    expect(r.status).toBe(202);
    await waitFor("the first step under way", () =>
      events.some((e) => e.type === "restart-progress" && e.data.state === "accepted"),
    );
    const next = desiredDoc(node, [app(0, p0, { REPLY: "v2" }), app(1, p1, { REPLY: "v2" })]);
    backend.publish([next]);
    // The real reconciler emits this when it publishes; the in-memory backend does not.
    bus.emit("published", { generation: backend.generation });
    const end = await finished(r.body.restart);
    expect(end.data.outcome).toBe("dropped");
    expect(String(end.data.message)).toMatch(
      /^generation 2 changed web \(on node-a\) before the restart finished; dropped/,
    );
    // The agent drops its part too, and says so in its status.
    const st = await waitFor("the drop in the agent's status", () =>
      backend.statuses.get(node)?.restarts?.find((x) => x.id === r.body.restart && x.state === "dropped"),
    );
    expect(st.message).toMatch(/^dropped: a new document \(c{7}\) changed web before the restart finished/);
    await convergedOn(next);
    expect((await hit(p0))?.body ?? (await hit(p0 + 1))?.body).toBe("v2");
  }, 120_000);

  it("the restart lane restarts other apps beside a restart step, never the workload the step restarts", async () => {
    const p0 = await freePortPair();
    const q = await freePortPair();
    // web starts slowly (8 s before it listens), so its restart step is waited on for that long.
    await setUp([app(0, p0, { START_DELAY_MS: "8000" }, "web", 60), app(0, q, {}, "jobs")]);
    const [web, jobs] = [await hit(p0), await hit(q)];
    const r = await restart("web");
    expect(r.status).toBe(202);
    const isStep = (e: AgentEvent) => "kind" in e && e.kind === "restart" && e.workloadId === "web-0";
    await waitFor("web-0's restart step to be under way", () =>
      agentEvents.some((e) => e.type === "action-started" && isStep(e)),
    );
    const stepEnded = () =>
      agentEvents.some((e) => (e.type === "action-succeeded" || e.type === "action-failed") && isStep(e));
    // Both die during the step: the old web-0 (the step's own workload) and jobs-0 (another app's).
    process.kill(web?.pid as number, "SIGKILL");
    process.kill(jobs?.pid as number, "SIGKILL");
    const back = await waitFor(
      "jobs-0 to serve again",
      async () => {
        const x = await hit(q);
        return x && x.pid !== jobs?.pid ? x : undefined;
      },
      30_000,
    );
    expect(back.body).toBe("v1");
    // Restarted by the lane beside the step, which still waits for web-0's new instance.
    expect(stepEnded()).toBe(false);
    const end = await finished(r.body.restart);
    expect(end.data.outcome).toBe("succeeded");
    // While the step ran, nothing but the step acted on web-0 (the lane left its dead old instance).
    const from = agentEvents.findIndex((e) => e.type === "action-started" && isStep(e));
    const to = agentEvents.findIndex(
      (e) => (e.type === "action-succeeded" || e.type === "action-failed") && isStep(e),
    );
    expect(to).toBeGreaterThan(from);
    const during = agentEvents
      .slice(from + 1, to)
      .flatMap((e) => (e.type === "action-started" ? [`${e.kind} ${e.workloadId}`] : []));
    expect(during).toContain("start jobs-0");
    expect(during.filter((d) => d.endsWith(" web-0"))).toEqual([]);
    // web answers from its restarted instance in the other slot.
    expect((await hit(p0 + 1))?.body).toBe("v1");
  }, 120_000);

  it("a new instance that never becomes healthy fails the restart; the old one keeps serving", async () => {
    const p0 = await freePortPair();
    scratch = mkdtempSync(join(tmpdir(), "berth-restart-x-"));
    const flag = join(scratch, "broken");
    await setUp([app(0, p0, { UNHEALTHY_FILE: flag })]);
    const old = await hit(p0);
    writeFileSync(flag, "");
    const r = await restart("web");
    expect(r.status).toBe(202);
    const end = await finished(r.body.restart);
    expect(end.data.outcome).toBe("failed");
    expect(String(end.data.message)).toMatch(
      /^node-a: web-0 could not be restarted: (new instance )?never became healthy: .*HTTP 503.*; stopped it, the old one keeps serving \(0 of 1 restarted/,
    );
    // The old instance still answers where it was.
    expect((await hit(p0))?.pid).toBe(old?.pid);
    expect(await hit(p0 + 1)).toBeNull();
    const st = await waitFor("the failure in status", () =>
      backend.statuses.get(node)?.restarts?.find((x) => x.state === "failed"),
    );
    expect(st.message).toMatch(/could not be restarted/);
    rmSync(flag, { force: true });
  }, 120_000);
});
