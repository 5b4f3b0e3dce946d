// Why it failed, with real processes: a v1 serves, a v2 fails in one way, and the status the agent
// reports names the cause in words (whose failure, exit code or signal, the last output lines),
// the restart count and the next retry, while v1 keeps answering. Exits fail an attempt at once:
// the apps here have a 10-minute start period, so a test only passes if the agent did not wait it
// out. A crash loop is named as one, its restarts counted across fresh processes with a growing
// delay; a newer document stops the wait for a doomed attempt.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import type { NodeStatus, Workload, WorkloadStatus } from "../../schema/index.js";
import { encryptTo, keypair } from "../secrets/age-fixture.js";
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
import { desiredDoc, workload } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

let h: Harness;
afterEach(async () => {
  await h?.cleanup();
});

/** v2 of web-0: the app fixture with `env`, a 10-minute start period unless told otherwise. */
function v2(p: number, env: Record<string, string>, over: Partial<Workload> = {}): Workload {
  const base = appWorkload({ hostPort: p, reply: "v2" });
  return workload({
    ...base,
    env: { ...base.env, ...env },
    health: { ...base.health, startPeriodSeconds: 600 },
    ...over,
  });
}

const web = (s: NodeStatus): WorkloadStatus => s.workloads.find((w) => w.id === "web-0") as WorkloadStatus;

/** Waits for a status of `hash` whose web-0 operation has a cause, and returns web-0. */
async function failureOf(hash: string, pred: (w: WorkloadStatus) => boolean = () => true) {
  const s = await statusFor(h, hash, (st) => {
    const w = web(st);
    return Boolean(w?.operation?.cause && pred(w));
  });
  return web(s);
}

/** Publishes v1, converges, publishes v2 and returns its hash; v1's body is checked to be served. */
async function v1ThenV2(p: number, next: Workload): Promise<string> {
  await startConverged(h, desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]));
  const doc = desiredDoc(h.node, [next]);
  h.rec.publish(doc);
  return doc.hash;
}

const noSecretIn = (x: unknown) => expect(JSON.stringify(x)).not.toContain(SECRET);

describe("failures with real processes: the cause, where people look", () => {
  it("a missing command file: exit code and the module error, at once; v1 keeps serving", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const hash = await v1ThenV2(
      p,
      v2(p, {}, { command: [process.execPath, "/nonexistent/berth-missing.js"] }),
    );
    const w = await failureOf(hash);
    expect(w.operation?.cause).toMatchObject({ where: "workload" });
    expect(w.operation?.cause?.message).toMatch(
      /^exited with code 1 .*after it started \(before it became healthy\)/,
    );
    expect(w.operation?.cause?.message).toContain("Cannot find module '/nonexistent/berth-missing.js'");
    expect(w.lastExit).toMatchObject({ code: 1, signal: null });
    expect(w.lastExit?.output.join("\n")).toContain("Cannot find module");
    expect(w.restarts).toBeGreaterThanOrEqual(1);
    expect(w.operation).toMatchObject({ status: "backoff", retryable: true });
    expect(Date.parse(w.operation?.nextAttemptAt ?? "")).toBeGreaterThan(Date.parse(w.lastExit?.at ?? ""));
    // What serves is v1, healthy, apart from the failing v2.
    expect(w).toMatchObject({
      health: "healthy",
      specHash: appWorkload({ hostPort: p, reply: "v1" }).specHash,
    });
    expect((await hit(p))?.body).toBe("v1");
    noSecretIn(h.rec.statuses);
  });

  it("a crash that prints a decrypted secret: its excerpt redacts the value, whatever the env key's name", async () => {
    h = await makeHarness();
    const node = await keypair();
    const keyDir = mkdtempSync(join(tmpdir(), "berth-identity-"));
    const identityFile = join(keyDir, "identity.key");
    writeFileSync(identityFile, `${node.identity}\n`, { mode: 0o600 });
    onTestFinished(() => rmSync(keyDir, { recursive: true, force: true }));
    const canary = `db-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const p = await freePortPair();
    // CRASH_MESSAGE does not look secret by its name: only the decrypted value tells it is one.
    const next = v2(p, { CRASH_AFTER_MS: "200", CRASH_BEFORE_LISTEN: "1" });
    const secrets = {
      CRASH_MESSAGE: {
        secret: "CRASH_MESSAGE",
        ciphertext: await encryptTo([node.recipient], `fatal: cannot log in to db as ${canary}`),
      },
    };
    await startConverged(h, desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]), {
      identityFile,
    });
    const doc = desiredDoc(h.node, [workload({ ...next, secrets })]);
    h.rec.publish(doc);
    const w = await failureOf(doc.hash, (x) => Boolean(x.lastExit));
    // The line is the secret itself: all of it is redacted.
    expect(w.lastExit?.output.at(-1)).toBe("[redacted]");
    expect(JSON.stringify(h.rec.statuses)).not.toContain(canary);
    expect(h.logs.join("\n")).not.toContain(canary);
    expect((await hit(p))?.body).toBe("v1");
  });

  it("a crash 2 s after start, before it became healthy: reported at once with its code and last line", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const next = v2(p, {
      CRASH_AFTER_MS: "2000",
      CRASH_MESSAGE: `fatal: lost the database connection (password ${SECRET})`,
    });
    // Five passes a second apart: healthy at the earliest 4 s after listening, after the crash.
    const hash = await v1ThenV2(
      p,
      workload({ ...next, health: { ...next.health, healthyThreshold: 5, intervalSeconds: 1 } }),
    );
    const w = await failureOf(hash);
    expect(w.lastExit).toMatchObject({ code: 7, signal: null });
    expect(w.operation?.cause?.message).toMatch(/^exited with code 7 \d+(\.\d)? s after it started/);
    expect(w.operation?.cause?.message).toContain(
      "fatal: lost the database connection (password [redacted])",
    );
    expect(w.lastExit?.output.at(-1)).toBe("fatal: lost the database connection (password [redacted])");
    expect((await hit(p))?.body).toBe("v1");
    noSecretIn(h.rec.statuses);
  });

  it("a crash loop is named as one: restarts survive fresh processes, the delay grows, v1 keeps serving", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const hash = await v1ThenV2(
      p,
      v2(p, {
        CRASH_AFTER_MS: "200",
        CRASH_BEFORE_LISTEN: "1",
        CRASH_MESSAGE: "panic: config file is invalid",
      }),
    );
    const looping = await failureOf(hash, (w) => w.state === "crash-looping" && (w.restarts ?? 0) >= 3);
    expect(looping.operation?.cause?.where).toBe("workload");
    expect(looping.operation?.cause?.message).toContain("panic: config file is invalid");
    expect(looping.operation?.attempt).toBeGreaterThanOrEqual(3);
    // The delay between attempts grows: gaps between successive exits, as reported.
    const exits = [
      ...new Set(h.rec.statuses.filter((s) => s.desiredHash === hash).map((s) => web(s)?.lastExit?.at)),
    ]
      .filter((t): t is string => typeof t === "string")
      .map((t) => Date.parse(t));
    expect(exits.length).toBeGreaterThanOrEqual(3);
    const gaps = exits.slice(1).map((t, i) => t - (exits[i] as number));
    expect(gaps[1] as number).toBeGreaterThan(gaps[0] as number);
    // Restarting a version that never converged repairs no drift.
    expect(h.rec.latest()?.drift).toEqual({ repaired: 0, lastAt: null, last: null });
    expect((await hit(p))?.body).toBe("v1");
    expect((await hit(p + 1)) === null).toBe(true);
  });

  it("an app that crashes after it became healthy is crash-looping, not converged with restarts 0", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const w = workload({
      ...appWorkload({ hostPort: p, reply: "flaky" }),
      env: { CRASH_AFTER_MS: "700", CRASH_MESSAGE: "fatal: out of memory (simulated)" },
    });
    const doc = desiredDoc(h.node, [w]);
    h.rec.publish(doc);
    await h.start();
    const pids = new Set<number>();
    const ws = await waitFor(
      "crash-looping with 3 restarts",
      async () => {
        const r = await hit(p);
        if (r) pids.add(r.pid);
        const s = h.rec.latest();
        const st = s && web(s);
        return st && st.state === "crash-looping" && (st.restarts ?? 0) >= 3 ? { s, st } : undefined;
      },
      60_000,
      20,
    );
    expect(ws.s.phase).not.toBe("converged");
    // At most its first crash (from converged: like a kill by hand) counts as drift, not each restart.
    expect(ws.s.drift?.repaired ?? 0).toBeLessThanOrEqual(1);
    expect(ws.st.lastExit).toMatchObject({ code: 7 });
    expect(ws.st.operation?.cause?.message).toContain("fatal: out of memory (simulated)");
    // Each restart was a fresh process, yet the count went on.
    expect(pids.size).toBeGreaterThanOrEqual(2);
  });

  it("a host port taken by another program: says which, whose failure (runtime), v1 keeps serving", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    await startConverged(h, desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]));
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(p + 1, "127.0.0.1", r));
    try {
      const doc = desiredDoc(h.node, [v2(p, {})]);
      h.rec.publish(doc);
      const w = await failureOf(doc.hash);
      expect(w.operation?.cause).toEqual({
        where: "runtime",
        message: `host port ${p + 1} is taken by a program berth did not start: stop it, or give the node a portRange that does not overlap other services`,
      });
      expect(w.state).toBe("failed");
      expect((await hit(p))?.body).toBe("v1");
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it("a health path that answers 404: said in words, without waiting out the start period", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const hash = await v1ThenV2(p, v2(p, { HEALTHZ_STATUS: "404" }));
    const w = await failureOf(hash);
    expect(w.operation?.cause?.where).toBe("workload");
    expect(w.operation?.cause?.message).toMatch(
      /^never became healthy after \d+ checks: GET \/healthz on port \d+ answers 404 Not Found: the app runs but has no \/healthz \(check health\.path\)$/,
    );
    // It ran: its output is there, though it never exited.
    expect(w.operation?.cause?.output?.join("\n")).toContain("app listening on");
    expect(w.lastExit).toBeUndefined();
    expect((await hit(p))?.body).toBe("v1");
  });

  it("a never-healthy app: after its start period, the last check's answer in words, with its output", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const next = v2(p, { UNHEALTHY: "1" });
    const hash = await v1ThenV2(p, workload({ ...next, health: { ...next.health, startPeriodSeconds: 1 } }));
    const w = await failureOf(hash);
    expect(w.operation?.cause?.message).toMatch(/answers 503: the app says it is not healthy$/);
    expect(w.operation?.cause?.output?.join("\n")).toContain("app listening on");
    expect((await hit(p))?.body).toBe("v1");
  });

  it("a missing workdir and a missing binary: the runtime's failure, in words", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const hash = await v1ThenV2(p, v2(p, {}, { workdir: "/nonexistent/berth-workdir" }));
    const w = await failureOf(hash);
    expect(w.operation?.cause).toEqual({
      where: "runtime",
      message:
        "workdir /nonexistent/berth-workdir does not exist on this node (or is not a directory): create it, or fix workdir",
    });
    const doc3 = desiredDoc(h.node, [v2(p, {}, { command: ["/nonexistent/berth-binary"] })]);
    h.rec.publish(doc3);
    const w3 = await failureOf(doc3.hash);
    expect(w3.operation?.cause?.where).toBe("runtime");
    expect(w3.operation?.cause?.message).toMatch(
      /^cannot run "\/nonexistent\/berth-binary": ENOENT \(no such file\)/,
    );
    expect((await hit(p))?.body).toBe("v1");
  });

  it("restart counts survive an agent restart (kept in the state dir)", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const hash = await v1ThenV2(p, v2(p, { CRASH_AFTER_MS: "100", CRASH_BEFORE_LISTEN: "1" }));
    const before = await failureOf(hash, (w) => (w.restarts ?? 0) >= 2);
    await h.stopAgent();
    const from = h.rec.statuses.length;
    await h.start();
    await statusFor(
      h,
      hash,
      (s) => h.rec.statuses.indexOf(s) >= from && web(s)?.operation?.cause !== undefined,
    );
    // Every report of the restarted agent counts on from where the last one stopped.
    const counts = h.rec.statuses.slice(from).map((s) => web(s)?.restarts ?? 0);
    expect(counts.length).toBeGreaterThan(0);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(before.restarts ?? 0);
    expect((await hit(p))?.body).toBe("v1");
  });
});

describe("a newer document pre-empts a doomed attempt", () => {
  it("a rollback published while a never-healthy version is waited on stops the wait at once", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const v1doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, v1doc);
    const doomed = desiredDoc(h.node, [v2(p, { UNHEALTHY: "1" })]);
    h.rec.publish(doomed);
    await waitFor("the doomed attempt to be waited on", () =>
      h.events.some((e) => e.type === "action-started" && e.kind === "replace"),
    );
    // Roll back: the document of v1 again (its hash differs from the doomed one).
    const from = h.rec.statuses.length;
    h.rec.publish(desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })], [], "d".repeat(40)));
    // The wait for the doomed version is abandoned (the test would otherwise wait out its
    // 10-minute start period), then v1 is reported converged again.
    await waitFor("the doomed attempt abandoned", () => h.events.some((e) => e.type === "action-superseded"));
    await statusFor(h, v1doc.hash, (st) => h.rec.statuses.indexOf(st) >= from && converged(v1doc.hash)(st));
    // Not counted as a failure of the doomed version, and nothing of it is left running.
    expect(h.events.some((e) => e.type === "action-failed")).toBe(false);
    await waitFor("slot b free", async () => (await hit(p + 1)) === null);
    expect((await hit(p))?.body).toBe("v1");
  });
});
