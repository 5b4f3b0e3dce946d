// Tests of the agent's other pure modules: document checks, backoff bookkeeping, health tracking,
// status building and the observed-state fingerprint.
import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  clearEntry,
  defaultBackoffPolicy,
  nextDue,
  pruneBook,
  recordFailure,
} from "../../agent/core/backoff.js";
import { healthDeadlineMs } from "../../agent/core/deadlines.js";
import { checkDocument } from "../../agent/core/document.js";
import { recordCheck } from "../../agent/core/health-track.js";
import { observedFingerprint } from "../../agent/core/observed.js";
import { buildStatus, type StatusInput } from "../../agent/core/status.js";
import { validateStatus } from "../../schema/index.js";
import { desiredDoc, instance, workload } from "./helpers/docs.js";

const web0 = workload({ app: "web", command: ["srv"], hostPort: 20000, port: 8080 });
const web1 = workload({ app: "web", replica: 1, command: ["srv"], hostPort: 20002, port: 8080 });

describe("checkDocument", () => {
  const good = desiredDoc("node-a", [web0, web1]);
  it("accepts a document that matches its hashes", () => {
    const r = checkDocument(structuredClone(good), "node-a");
    expect(r.ok).toBe(true);
  });
  it("rejects a schema failure, saying where", () => {
    const bad = structuredClone(good) as unknown as { workloads: { hostPort: unknown }[] };
    (bad.workloads[0] as { hostPort: unknown }).hostPort = "x";
    const r = checkDocument(bad, "node-a");
    expect(r).toMatchObject({ ok: false, code: "document-invalid" });
    expect(r.ok || r.message).toContain("/workloads/0/hostPort");
  });
  it("rejects garbage", () => {
    expect(checkDocument("<html>", "node-a")).toMatchObject({
      ok: false,
      code: "document-invalid",
      hash: null,
    });
  });
  it("rejects a document for another node", () => {
    const r = checkDocument(structuredClone(good), "node-b");
    expect(r).toMatchObject({ ok: false, code: "document-wrong-node", hash: good.hash });
  });
  it("rejects a document whose content does not match its hash", () => {
    const tampered = structuredClone(good);
    tampered.routes.push({ host: "x.example.com", path: "/", tls: "off", upstreams: [] });
    expect(checkDocument(tampered, "node-a")).toMatchObject({ ok: false, code: "document-hash-mismatch" });
  });
  it("rejects a workload whose specHash does not match (even with a recomputed document hash)", () => {
    const w = { ...web0, env: { X: "1" } };
    const r = checkDocument(desiredDoc("node-a", [w]), "node-a");
    expect(r).toMatchObject({ ok: false, code: "document-hash-mismatch" });
    expect(r.ok || r.message).toContain("workload web-0");
  });
  it("rejects duplicate workload ids", () => {
    expect(checkDocument(desiredDoc("node-a", [web0, web0]), "node-a")).toMatchObject({
      ok: false,
      code: "document-invalid",
    });
  });
});

describe("backoff", () => {
  const p = { ...defaultBackoffPolicy, jitter: 0 };
  it("doubles from 1 s and caps at 5 min", () => {
    expect([1, 2, 3, 4, 9, 10, 30].map((n) => backoffDelayMs(n, p, 0.5))).toEqual([
      1000, 2000, 4000, 8000, 256000, 300000, 300000,
    ]);
  });
  it("jitters within ±20% and never above the cap", () => {
    expect(backoffDelayMs(1, defaultBackoffPolicy, 0)).toBe(800);
    expect(backoffDelayMs(1, defaultBackoffPolicy, 0.999999)).toBe(1200);
    expect(backoffDelayMs(20, defaultBackoffPolicy, 0.999999)).toBe(300000);
  });
  it("counts attempts per key, clears and prunes", () => {
    const f = {
      key: "web-0@h",
      kind: "create" as const,
      step: "create web-0",
      workloadId: "web-0",
      error: "boom",
      cause: { where: "workload" as const, message: "boom" },
    };
    let book = recordFailure(new Map(), f, 0, 0.5, p);
    book = recordFailure(book, f, 10_000, 0.5, p);
    expect(book.get("web-0@h")).toMatchObject({ attempt: 2, nextAttemptAt: 12_000, lastError: "boom" });
    expect(nextDue(book, 11_000)).toBe(12_000);
    expect(nextDue(book, 12_000)).toBeUndefined();
    expect(clearEntry(book, "web-0@h").size).toBe(0);
    expect(pruneBook(book, new Set(["other"])).size).toBe(0);
    expect(pruneBook(book, new Set(["web-0@h"]))).toBe(book);
  });
});

describe("recordCheck", () => {
  const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
  it("needs thresholds in a row", () => {
    let r = recordCheck(undefined, true, "HTTP 200", t);
    expect(r.health).toBe("unknown");
    r = recordCheck(r, true, "HTTP 200", t);
    expect(r.health).toBe("healthy");
    r = recordCheck(r, false, "HTTP 500", t);
    r = recordCheck(r, false, "HTTP 500", t);
    expect(r.health).toBe("healthy");
    r = recordCheck(r, false, "HTTP 500", t);
    expect(r).toMatchObject({ health: "unhealthy", failStreak: 3, detail: "HTTP 500" });
  });
});

describe("healthDeadlineMs", () => {
  it("covers the start period and enough checks", () => {
    expect(
      healthDeadlineMs({
        intervalSeconds: 2,
        timeoutSeconds: 1,
        startPeriodSeconds: 10,
        healthyThreshold: 1,
        unhealthyThreshold: 3,
      }),
    ).toBe(10_000 + 4 * 3_000 + 5_000);
  });
});

describe("observedFingerprint", () => {
  it("ignores order, sees a restart or a config edit", () => {
    const a = instance(web0, "a");
    const b = instance(web1, "a");
    const base = observedFingerprint({ instances: [a, b], ingressHash: "sha256:x" });
    expect(observedFingerprint({ instances: [b, a], ingressHash: "sha256:x" })).toBe(base);
    expect(observedFingerprint({ instances: [a], ingressHash: "sha256:x" })).not.toBe(base);
    expect(observedFingerprint({ instances: [a, { ...b, ref: "pid:9" }], ingressHash: "sha256:x" })).not.toBe(
      base,
    );
    expect(observedFingerprint({ instances: [a, b], ingressHash: "sha256:y" })).not.toBe(base);
  });
});

describe("buildStatus", () => {
  const doc = desiredDoc("node-a", [web0, web1]);
  it("reports the slot's host port of a container that publishes none (its instance port is 0)", () => {
    const s = buildStatus(
      base({ instances: [instance(web0, "b", { port: 0 }), instance(web1, "a", { port: 0 })] }),
    );
    expect(validateStatus()(s)).toBe(true);
    expect(s.workloads.map((w) => w.hostPort)).toEqual([20001, 20002]);
  });
  const base = (over: Partial<StatusInput> = {}): StatusInput => ({
    node: "node-a",
    agentVersion: "0.1.0",
    desiredHash: doc.hash,
    applied: null,
    doc,
    instances: [instance(web0, "a"), instance(web1, "a")],
    health: new Map([
      ["pid:20000", "healthy"],
      ["pid:20002", "healthy"],
    ]),
    backoff: new Map(),
    running: null,
    pending: false,
    ingress: null,
    problems: [],
    now: 0,
    ...over,
  });
  const valid = validateStatus();

  it("converged when every workload runs its spec and is healthy", () => {
    const s = buildStatus(base({ applied: { hash: doc.hash, commit: doc.source.commit } }));
    expect(valid(s)).toBe(true);
    expect(s).toMatchObject({ phase: "converged", appliedHash: doc.hash, appliedCommit: "c".repeat(40) });
    expect(s.workloads[0]).toEqual({
      id: "web-0",
      app: "web",
      state: "running",
      health: "healthy",
      specHash: web0.specHash,
      hostPort: 20000,
      restarts: 0,
      operation: null,
      slot: "a",
    });
  });
  it("applying while work is pending, with the running step", () => {
    const s = buildStatus(
      base({ pending: true, running: { workloadId: "web-1", step: "create web-1: x", attempt: 1 } }),
    );
    expect(s.phase).toBe("applying");
    expect(s.workloads[1]).toMatchObject({
      state: "starting",
      operation: { status: "running", step: "create web-1: x" },
    });
    expect(valid(s)).toBe(true);
  });
  it("degraded when one failed while the old version keeps serving; the backoff is shown", () => {
    const v2 = workload({ ...web0, env: { V: "2" } });
    const d2 = desiredDoc("node-a", [v2, web1]);
    const s = buildStatus(
      base({
        doc: d2,
        backoff: new Map([
          [
            `web-0@${v2.specHash}`,
            {
              key: `web-0@${v2.specHash}`,
              kind: "replace",
              step: "replace web-0: env.V added",
              workloadId: "web-0",
              attempt: 2,
              lastError: "never healthy: HTTP 500",
              cause: { where: "workload", message: "never became healthy after 3 checks: GET / answers 500" },
              nextAttemptAt: 4000,
            },
          ],
        ]),
      }),
    );
    expect(valid(s)).toBe(true);
    expect(s.phase).toBe("degraded");
    expect(s.workloads[0]).toMatchObject({
      state: "failed",
      health: "healthy",
      specHash: web0.specHash,
      operation: {
        status: "backoff",
        attempt: 2,
        retryable: true,
        lastError: "never healthy: HTTP 500",
        nextAttemptAt: "1970-01-01T00:00:04.000Z",
        cause: { where: "workload", message: "never became healthy after 3 checks: GET / answers 500" },
      },
    });
  });
  it("failed when nothing serves and something failed", () => {
    const key = `web-0@${web0.specHash}`;
    const s = buildStatus(
      base({
        doc: desiredDoc("node-a", [web0]),
        instances: [],
        backoff: new Map([
          [
            key,
            {
              key,
              kind: "create",
              step: "create web-0",
              workloadId: "web-0",
              attempt: 1,
              lastError: "x",
              cause: { where: "runtime", message: "x" },
              nextAttemptAt: 1,
            },
          ],
        ]),
      }),
    );
    expect(s.phase).toBe("failed");
  });
  it("degraded when a workload is unhealthy, stopped, or a document was rejected", () => {
    expect(buildStatus(base({ health: new Map([["pid:20000", "unhealthy"]]) })).phase).toBe("degraded");
    expect(buildStatus(base({ instances: [instance(web0, "a")] })).phase).toBe("degraded");
    const rejected = base({ problems: [{ code: "document-wrong-node", message: "m" }] });
    const s = buildStatus(rejected);
    expect(s.phase).toBe("degraded");
    expect(s.problems).toEqual([{ code: "document-wrong-node", message: "m" }]);
    expect(valid(s)).toBe(true);
  });
  it("an unreachable reconciler alone does not degrade the node", () => {
    expect(buildStatus(base({ problems: [{ code: "reconciler-unreachable", message: "m" }] })).phase).toBe(
      "converged",
    );
  });
  it("ingress that failed to load makes it degraded", () => {
    const s = buildStatus(
      base({ ingress: { hash: "sha256:" + "a".repeat(64), applied: false, lastError: "400" } }),
    );
    expect(s.phase).toBe("degraded");
    expect(valid(s)).toBe(true);
  });
});
