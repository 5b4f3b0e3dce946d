// The agent's loop end to end with real child processes (process driver) and a real HTTP server
// playing the reconciler: converge, scale, replace (healthy and never healthy), drift repair,
// rejected documents, a dead reconciler, and an agent restart that restarts nothing.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appWorkload,
  converged,
  type Harness,
  hit,
  makeHarness,
  SECRET,
  startConverged,
  statusFor,
} from "./helpers/agent-harness.js";
import { desiredDoc } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});
afterEach(async () => {
  await h.cleanup();
});

const actionsStarted = () => h.events.filter((e) => e.type === "action-started");

describe("agent loop with real processes", () => {
  it("converges from empty, reports converged with reasons logged and no secret in logs or status", async () => {
    const p0 = await freePortPair();
    const p1 = await freePortPair();
    const doc = desiredDoc(h.node, [
      appWorkload({ replica: 0, hostPort: p0, reply: "v1" }),
      appWorkload({ replica: 1, hostPort: p1, reply: "v1" }),
    ]);
    h.rec.publish(doc);
    await h.start();
    const s = await statusFor(h, doc.hash, converged(doc.hash));
    expect(s.workloads.map((w) => [w.id, w.state, w.health, w.specHash])).toEqual([
      ["web-0", "running", "healthy", doc.workloads[0]?.specHash],
      ["web-1", "running", "healthy", doc.workloads[1]?.specHash],
    ]);
    expect(s.appliedCommit).toBe(doc.source.commit);
    expect((await hit(p0))?.body).toBe("v1");
    expect((await hit(p1))?.body).toBe("v1");
    const all = h.logs.join("\n");
    expect(all).toContain(`create web-0: no instance running (slot a, port ${p0})`);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(h.rec.token);
    expect(JSON.stringify(h.rec.statuses)).not.toContain(SECRET);
    expect(h.rec.badStatuses).toEqual([]);
    await h.agent?.idle();
    expect(h.agent?.status().phase).toBe("converged");
  });

  it("scales up and down", async () => {
    const ports = [await freePortPair(), await freePortPair(), await freePortPair()];
    const ws = ports.map((p, i) => appWorkload({ replica: i, hostPort: p, reply: "v1" }));
    const one = desiredDoc(h.node, ws.slice(0, 1));
    await startConverged(h, one);
    const pid0 = (await hit(ports[0] as number))?.pid;

    const three = desiredDoc(h.node, ws);
    h.rec.publish(three);
    await statusFor(h, three.hash, converged(three.hash));
    for (const p of ports) expect((await hit(p))?.body).toBe("v1");
    expect((await hit(ports[0] as number))?.pid).toBe(pid0);

    const back = desiredDoc(h.node, ws.slice(0, 1));
    h.rec.publish(back);
    const s = await statusFor(h, back.hash, (st) => st.phase === "converged" && st.workloads.length === 1);
    expect(s.workloads.map((w) => w.id)).toEqual(["web-0"]);
    await waitFor("web-2 gone", async () => (await hit(ports[2] as number)) === null);
    expect(await hit(ports[1] as number)).toBeNull();
    expect((await hit(ports[0] as number))?.pid).toBe(pid0);
    expect(h.logs.join("\n")).toContain("remove web-2 (slot a): not in the desired document");
  });

  it("replaces start-first with a healthy new version in the other slot", async () => {
    const p = await freePortPair();
    const v1 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, v1);
    const old = await hit(p);

    const v2 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v2" })]);
    h.rec.publish(v2);
    const s = await statusFor(h, v2.hash, converged(v2.hash));
    expect(s.workloads[0]).toMatchObject({
      state: "running",
      hostPort: p + 1,
      specHash: v2.workloads[0]?.specHash,
    });
    expect((await hit(p + 1))?.body).toBe("v2");
    expect(old?.body).toBe("v1");
    // Applied means only the new version answers.
    expect(await hit(p)).toBeNull();
    expect(h.logs.join("\n")).toContain("replace web-0: env.REPLY changed");
  });

  it("with a drain, the old instance serves beside the new one a moment, then is removed", async () => {
    const p = await freePortPair();
    const v1 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, v1, { slotDrainMs: 1_500 });
    const v2 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v2" })]);
    h.rec.publish(v2);
    await statusFor(h, v2.hash, converged(v2.hash));
    expect((await hit(p + 1))?.body).toBe("v2");
    await waitFor("old instance removed after draining", async () => (await hit(p)) === null);
    expect(h.logs.join("\n")).toContain("remove web-0 (slot a): replaced by slot b, drained");
  });

  it("a never-healthy replace leaves the old one serving, reports failed with attempts, and backs off", async () => {
    const p = await freePortPair();
    const v1 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, v1);
    const old = await hit(p);

    const bad = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v2", unhealthy: true })]);
    h.rec.publish(bad);
    const s = await statusFor(h, bad.hash, (st) => st.workloads[0]?.state === "failed");
    expect(s.phase).toBe("degraded");
    expect(s.appliedHash).toBe(v1.hash);
    expect(s.workloads[0]).toMatchObject({
      state: "failed",
      health: "healthy",
      specHash: v1.workloads[0]?.specHash,
      operation: { status: "backoff", attempt: 1, retryable: true },
    });
    expect(s.workloads[0]?.operation?.lastError).toContain("never became healthy");
    expect(s.workloads[0]?.operation?.lastError).toContain("old one keeps serving");
    // Still the same old process serving; the broken one is not left in slot b.
    expect(await hit(p)).toEqual(old);
    await waitFor("slot b stopped", async () => (await hit(p + 1)) === null);
    // Retried with backoff (1 s, then 2 s…), never in a tight loop.
    await statusFor(h, bad.hash, (st) => (st.workloads[0]?.operation?.attempt ?? 0) >= 2);
    const attempts = actionsStarted().filter(
      (e) => e.type === "action-started" && e.kind === "replace",
    ).length;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(4);
    expect(await hit(p)).toEqual(old);
  });

  it("replaces stop-first in the same slot", async () => {
    const p = await freePortPair();
    const v1 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1", strategy: "stop-first" })]);
    await startConverged(h, v1);
    const v2 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v2", strategy: "stop-first" })]);
    h.rec.publish(v2);
    const s = await statusFor(h, v2.hash, converged(v2.hash));
    expect(s.workloads[0]).toMatchObject({ hostPort: p, state: "running", health: "healthy" });
    expect(await hit(p + 1)).toBeNull();
  });

  it("a never-healthy create keeps running, is reported failed, and is restarted after backoff", async () => {
    const p = await freePortPair();
    const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "sick", unhealthy: true })]);
    h.rec.publish(doc);
    await h.start();
    const s = await statusFor(h, doc.hash, (st) => st.workloads[0]?.state === "failed");
    expect(s.phase).toBe("failed");
    expect(s.appliedHash).toBeNull();
    expect(s.workloads[0]?.operation).toMatchObject({ status: "backoff", attempt: 1 });
    // Left running: its logs and port stay for a person to look at.
    const first = await hit(p);
    expect(first?.body).toBe("sick");
    await statusFor(h, doc.hash, (st) => (st.workloads[0]?.operation?.attempt ?? 0) >= 2);
    expect(h.logs.join("\n")).toContain("restart web-0: never became healthy");
    const second = await waitFor("restarted", async () => {
      const r = await hit(p);
      return r && r.pid !== first?.pid ? r : undefined;
    });
    expect(second.body).toBe("sick");
  });

  it("restores a process killed by hand and reports the repair as drift; a deploy is no repair", async () => {
    const p = await freePortPair();
    const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    const first = await startConverged(h, doc);
    // Deploying the document is not a repair.
    expect(first.drift).toEqual({ repaired: 0, lastAt: null, last: null });
    const before = await hit(p);
    const killedAt = Date.now();
    process.kill(before?.pid as number, "SIGKILL");
    const after = await waitFor("a new process serving", async () => {
      const r = await hit(p);
      return r && r.pid !== before?.pid ? r : undefined;
    });
    expect(after.body).toBe("v1");
    const s = await statusFor(
      h,
      doc.hash,
      (st) => st.phase === "converged" && (st.drift?.repaired ?? 0) >= 1,
    );
    expect(s.workloads[0]?.state).toBe("running");
    expect(s.drift).toMatchObject({
      repaired: 1,
      last: "restart web-0: process exited (killed by SIGKILL)",
    });
    expect(Date.parse(s.drift?.lastAt as string)).toBeGreaterThanOrEqual(killedAt - 1000);

    // A new version is a deploy: the count stays.
    const v2 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v2" })]);
    h.rec.publish(v2);
    const after2 = await statusFor(h, v2.hash, converged(v2.hash));
    expect(after2.drift).toEqual(s.drift);
  });

  it("rejects corrupt, wrong-node and hash-mismatch documents while apps keep serving", async () => {
    const p = await freePortPair();
    const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, doc);
    const before = await hit(p);

    h.rec.publish("{not json", '"corrupt-1"');
    let s = await waitFor("problem reported", () => {
      const st = h.rec.latest();
      return st?.problems?.some((x) => x.code === "document-invalid") ? st : undefined;
    });
    expect(s.appliedHash).toBe(doc.hash);
    expect(s.phase).toBe("degraded");

    const other = desiredDoc("node-b", [appWorkload({ hostPort: p, reply: "v9" })]);
    h.rec.publish(other);
    s = await waitFor("wrong node reported", () => {
      const st = h.rec.latest();
      return st?.problems?.some((x) => x.code === "document-wrong-node") ? st : undefined;
    });
    expect(s.problems?.[0]?.message).toContain('for node "node-b"');

    const tampered = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v9" })]);
    tampered.hash = doc.hash.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    h.rec.publish(tampered);
    await waitFor("hash mismatch reported", () =>
      h.rec.latest()?.problems?.some((x) => x.code === "document-hash-mismatch"),
    );
    expect(await hit(p)).toEqual(before);
    expect(actionsStarted().length).toBe(1);

    // A good document again clears the problem.
    h.rec.publish(doc);
    await waitFor("problem cleared", () => {
      const st = h.rec.latest();
      return st && !st.problems && st.phase === "converged";
    });
  });

  it("keeps serving when the reconciler dies or answers 500, and reports again when it is back", async () => {
    const p = await freePortPair();
    const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, doc);
    const before = await hit(p);

    h.rec.setMode("down5xx");
    await waitFor("unreachable noticed", () =>
      h.agent?.status().problems?.some((x) => x.code === "reconciler-unreachable"),
    );
    await h.rec.kill();
    // Drift is still repaired without the reconciler.
    process.kill(before?.pid as number, "SIGKILL");
    const again = await waitFor("restored without reconciler", async () => {
      const r = await hit(p);
      return r && r.pid !== before?.pid ? r : undefined;
    });
    expect(again.body).toBe("v1");
    expect(h.agent?.status().appliedHash).toBe(doc.hash);

    h.rec.setMode("ok");
    const seen = h.rec.statuses.length;
    await h.rec.revive();
    await waitFor("status after revival", () => h.rec.statuses.length > seen && !h.rec.latest()?.problems);
    expect(h.rec.latest()?.phase).toBe("converged");
  });

  it("an agent restart resumes from the state dir without restarting healthy workloads, even with the reconciler down", async () => {
    const p0 = await freePortPair();
    const p1 = await freePortPair();
    const doc = desiredDoc(h.node, [
      appWorkload({ replica: 0, hostPort: p0, reply: "v1" }),
      appWorkload({ replica: 1, hostPort: p1, reply: "v1" }),
    ]);
    await startConverged(h, doc);
    const pids = [(await hit(p0))?.pid, (await hit(p1))?.pid];
    await h.stopAgent();
    expect((await hit(p0))?.pid).toBe(pids[0]);

    await h.rec.kill();
    h.events.length = 0;
    const agent = await h.start();
    await agent.idle();
    expect(actionsStarted()).toEqual([]);
    expect(agent.status()).toMatchObject({ phase: "converged", appliedHash: doc.hash });
    expect([(await hit(p0))?.pid, (await hit(p1))?.pid]).toEqual(pids);

    // A killed process is restored from the stored document, still without the reconciler.
    process.kill(pids[1] as number, "SIGKILL");
    await waitFor("restored", async () => {
      const r = await hit(p1);
      return r && r.pid !== pids[1];
    });
    expect((await hit(p0))?.pid).toBe(pids[0]);
  });
});
