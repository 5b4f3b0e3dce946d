// The pure decisions about failures: the words and the address of each cause, crash-loop
// classification and the growth of the restart delay, and what status says about a workload whose
// instances keep exiting. Table tests, no I/O.
import { describe, expect, it } from "vitest";
import type { BackoffBook } from "../../agent/core/backoff.js";
import { causeOf, describeExit, type FailureFact, tellingLine } from "../../agent/core/cause.js";
import {
  type CrashBook,
  defaultCrashPolicy,
  isCrashLooping,
  nextRestartDue,
  pruneCrashes,
  recordExit,
  recordStart,
  restartDelayMs,
  settleCrashes,
} from "../../agent/core/crash-loop.js";
import { buildStatus } from "../../agent/core/status.js";
import { validateStatus } from "../../schema/index.js";
import { desiredDoc, instance, workload } from "./helpers/docs.js";

const obs = (o: Partial<Extract<FailureFact, { kind: "never-healthy" }>["last"]>) => ({
  detail: "x",
  path: "/healthz" as string | null,
  port: 20017,
  timeoutMs: 2000,
  ...o,
});

describe("causeOf", () => {
  const cases: { name: string; fact: FailureFact; where: string; message: string | RegExp }[] = [
    {
      name: "an exit during start, with the telling output line",
      fact: {
        kind: "exited",
        code: 1,
        signal: null,
        ranMs: 25,
        duringStart: true,
        output: [
          "node:internal/modules/cjs/loader:1228",
          "Error: Cannot find module '/srv/x.js'",
          "",
          "Node.js v20.20.0",
        ],
      },
      where: "workload",
      message:
        "exited with code 1 25 ms after it started (before it became healthy); it printed: Error: Cannot find module '/srv/x.js'",
    },
    {
      name: "killed by a signal after a while, no output",
      fact: { kind: "exited", code: null, signal: "SIGKILL", ranMs: 12_345, duringStart: false, output: [] },
      where: "workload",
      message: "was killed by SIGKILL (e.g. out of memory, or killed by hand) 12 s after it started",
    },
    {
      name: "a container's 128 + signal exit code",
      fact: { kind: "exited", code: 137, signal: null, ranMs: null, duringStart: false, output: ["booting"] },
      where: "workload",
      message: "exited with code 137 (128 + SIGKILL: it was killed, e.g. out of memory); it printed: booting",
    },
    {
      name: "an adopted process whose exit status nobody saw",
      fact: { kind: "exited", code: null, signal: null, ranMs: null, duringStart: false, output: [] },
      where: "workload",
      message: "exited (exit status not known: it was not started by this agent process)",
    },
    {
      name: "a health path that answers 404",
      fact: { kind: "never-healthy", last: obs({ status: 404 }), checks: 3, runtime: "process", output: [] },
      where: "workload",
      message:
        "never became healthy after 3 checks: GET /healthz on port 20017 answers 404 Not Found: the app runs but has no /healthz (check health.path)",
    },
    {
      name: "a health path behind a login",
      fact: { kind: "never-healthy", last: obs({ status: 401 }), checks: 3, runtime: "process", output: [] },
      where: "workload",
      message: /answers 401: the health path must answer without credentials$/,
    },
    {
      name: "an app that says it is unhealthy",
      fact: { kind: "never-healthy", last: obs({ status: 503 }), checks: 5, runtime: "process", output: [] },
      where: "workload",
      message: /after 5 checks: GET \/healthz on port 20017 answers 503: the app says it is not healthy$/,
    },
    {
      name: "a process that listens on the wrong port",
      fact: {
        kind: "never-healthy",
        last: obs({ error: "ECONNREFUSED" }),
        checks: 1,
        runtime: "process",
        output: [],
      },
      where: "workload",
      message:
        "never became healthy after 1 check: nothing listens on port 20017: the app must listen on $PORT (20017)",
    },
    {
      name: "a container that listens on the wrong port",
      fact: {
        kind: "never-healthy",
        last: obs({ error: "ECONNREFUSED", path: null }),
        checks: 4,
        runtime: "container",
        containerPort: 8080,
        output: [],
      },
      where: "workload",
      message:
        /nothing answers on host port 20017: the app must listen on port 8080 inside the container, on 0\.0\.0\.0$/,
    },
    {
      name: "a health check that times out",
      fact: {
        kind: "never-healthy",
        last: obs({ error: "timeout" }),
        checks: 3,
        runtime: "process",
        output: [],
      },
      where: "workload",
      message: /GET \/healthz on port 20017 gets no answer within 2\.0 s$/,
    },
    {
      name: "an image that is not on the node",
      fact: { kind: "image-missing", image: "registry.example/app:2" },
      where: "runtime",
      message: /^image registry\.example\/app:2 is not on this node/,
    },
    {
      name: "an image that cannot be pulled",
      fact: {
        kind: "image-pull",
        image: "127.0.0.1:1/app:2",
        detail: "pinging container registry 127.0.0.1:1: connection refused",
      },
      where: "runtime",
      message:
        "cannot pull image 127.0.0.1:1/app:2: pinging container registry 127.0.0.1:1: connection refused",
    },
    {
      name: "a taken port",
      fact: { kind: "port-in-use", port: 20018 },
      where: "runtime",
      message: /^host port 20018 is taken by a program berth did not start/,
    },
    {
      name: "a missing workdir",
      fact: { kind: "workdir-missing", path: "/srv/app" },
      where: "runtime",
      message: /^workdir \/srv\/app does not exist on this node/,
    },
    {
      name: "a missing binary",
      fact: { kind: "command-missing", command: "./server", detail: "ENOENT (no such file) in /srv/app" },
      where: "runtime",
      message:
        'cannot run "./server": ENOENT (no such file) in /srv/app (is it installed, on PATH, and executable?)',
    },
    {
      name: "a Caddy load that timed out",
      fact: { kind: "deadline", step: "loading the Caddy config", ms: 15_000, where: "agent" },
      where: "agent",
      message: "loading the Caddy config took longer than 15 s; gave up",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = causeOf(c.fact);
      expect(got.where).toBe(c.where);
      if (typeof c.message === "string") expect(got.message).toBe(c.message);
      else expect(got.message).toMatch(c.message);
    });
  }

  it("keeps the output of a never-healthy instance beside the message", () => {
    const c = causeOf({
      kind: "never-healthy",
      last: obs({ status: 503 }),
      checks: 1,
      runtime: "process",
      output: ["a", "b"],
    });
    expect(c.output).toEqual(["a", "b"]);
  });

  it("picks the line that sounds like an error, else the last one", () => {
    expect(tellingLine(["starting", "ERROR: bad config", "bye"])).toBe("ERROR: bad config");
    expect(tellingLine(["starting", "bye", ""])).toBe("bye");
    expect(tellingLine([])).toBeNull();
    expect(describeExit(0, null)).toBe("exited with code 0");
  });
});

describe("crash loops", () => {
  const p = { ...defaultCrashPolicy, jitter: 0 };
  const exit = (at: number, code = 1) => ({ code, signal: null, at, output: [`exit at ${at}`] });

  it("the restart delay doubles with the streak up to the cap", () => {
    expect([1, 2, 3, 4, 5, 9, 10, 20].map((n) => restartDelayMs(n, p, 0.5))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 256_000, 300_000, 300_000,
    ]);
  });

  it("counts each instance's exit once, across fresh instances; quick exits in a row are a loop", () => {
    let book: CrashBook = new Map();
    const key = "web-0@h";
    const rows: {
      startAt: number;
      ref: string;
      exitAt: number;
      streak: number;
      restarts: number;
      next: number;
      looping: boolean;
    }[] = [
      { startAt: 0, ref: "pid:1", exitAt: 100, streak: 1, restarts: 1, next: 1_100, looping: false },
      { startAt: 1_100, ref: "pid:2", exitAt: 1_200, streak: 2, restarts: 2, next: 3_200, looping: true },
      { startAt: 3_200, ref: "pid:3", exitAt: 3_300, streak: 3, restarts: 3, next: 7_300, looping: true },
      // A run of more than stableAfterMs: a single crash, not part of the loop.
      {
        startAt: 7_300,
        ref: "pid:4",
        exitAt: 7_300 + 120_000,
        streak: 1,
        restarts: 4,
        next: 128_300,
        looping: false,
      },
    ];
    for (const r of rows) {
      book = recordStart(book, key, "web-0", r.startAt);
      book = recordExit(book, { key, workloadId: "web-0", ref: r.ref, exit: exit(r.exitAt) }, 0.5, p);
      // Seen again by the next observation: not counted twice.
      book = recordExit(book, { key, workloadId: "web-0", ref: r.ref, exit: exit(r.exitAt + 5) }, 0.5, p);
      const rec = book.get(key);
      expect({
        streak: rec?.streak,
        restarts: rec?.restarts,
        next: rec?.nextRestartAt,
        looping: isCrashLooping(rec, p),
      }).toEqual({
        streak: r.streak,
        restarts: r.restarts,
        next: r.next,
        looping: r.looping,
      });
    }
  });

  it("an exit seen first without output takes the output read later", () => {
    let book: CrashBook = new Map();
    book = recordExit(
      book,
      { key: "k", workloadId: "w", ref: "c1", exit: { ...exit(5), output: [] } },
      0.5,
      p,
    );
    book = recordExit(book, { key: "k", workloadId: "w", ref: "c1", exit: exit(5) }, 0.5, p);
    expect(book.get("k")?.lastExit?.output).toEqual(["exit at 5"]);
    expect(book.get("k")?.restarts).toBe(1);
  });

  it("a healthy run of stableAfterMs ends the streak; history stays; unknown keys are pruned", () => {
    let book: CrashBook = new Map();
    book = recordStart(book, "k", "w", 0);
    book = recordExit(book, { key: "k", workloadId: "w", ref: "a", exit: exit(10) }, 0.5, p);
    book = recordStart(book, "k", "w", 1_010);
    book = recordExit(book, { key: "k", workloadId: "w", ref: "b", exit: exit(1_020) }, 0.5, p);
    book = recordStart(book, "k", "w", 3_020);
    expect(isCrashLooping(book.get("k"), p)).toBe(true);
    expect(nextRestartDue(book, 1_500)).toBe(3_020);
    expect(settleCrashes(book, new Set(["k"]), 3_020 + 59_000, p)).toBe(book);
    expect(settleCrashes(book, new Set(), 3_020 + 61_000, p)).toBe(book);
    const settled = settleCrashes(book, new Set(["k"]), 3_020 + 61_000, p);
    expect(settled.get("k")).toMatchObject({ streak: 0, restarts: 2, lastExit: { code: 1 } });
    expect(isCrashLooping(settled.get("k"), p)).toBe(false);
    expect(pruneCrashes(settled, new Set(["k"]))).toBe(settled);
    expect(pruneCrashes(settled, new Set()).size).toBe(0);
  });
});

describe("status of a crash-looping workload", () => {
  const w = workload({ app: "web", port: 8080, hostPort: 20000 });
  const doc = desiredDoc("node-a", [w]);
  const key = `web-0@${w.specHash}`;
  const valid = validateStatus();
  const crashes = (streak: number): CrashBook =>
    new Map([
      [
        key,
        {
          key,
          workloadId: "web-0",
          restarts: 5,
          streak,
          lastExit: { code: 3, signal: null, at: 9_000, output: ["Error: boom"] },
          lastExitRef: "pid:9",
          lastStartAt: 8_000,
          nextRestartAt: 13_000,
        },
      ],
    ]);
  const input = (over: Partial<Parameters<typeof buildStatus>[0]>) => ({
    node: "node-a",
    agentVersion: "t",
    desiredHash: doc.hash,
    applied: null,
    doc,
    instances: [instance(w, "a", { state: "exited", ref: "pid:9", lastError: "exited with code 3" })],
    health: new Map(),
    backoff: new Map() as BackoffBook,
    running: null,
    pending: false,
    ingress: null,
    problems: [],
    now: 10_000,
    ...over,
  });

  it("says crash-looping, with restarts, the last exit, the next retry and the cause", () => {
    const s = buildStatus(
      input({ crashes: crashes(3), specCommits: new Map([[w.specHash, "a".repeat(40)]]) }),
    );
    expect(valid(s)).toBe(true);
    expect(s.phase).toBe("failed");
    expect(s.workloads[0]).toMatchObject({
      state: "crash-looping",
      restarts: 5,
      commit: "a".repeat(40),
      lastExit: { code: 3, signal: null, at: "1970-01-01T00:00:09.000Z" },
      operation: {
        status: "backoff",
        step: "restart web-0: process exited with code 3",
        attempt: 3,
        nextAttemptAt: "1970-01-01T00:00:13.000Z",
        cause: {
          where: "workload",
          message: "exited with code 3 1.0 s after it started; it printed: Error: boom",
        },
      },
    });
  });

  it("an exited instance serves nothing: no slot, no start time", () => {
    const s = buildStatus(input({ crashes: crashes(1) }));
    expect(s.workloads[0]?.slot).toBeUndefined();
    expect(s.workloads[0]?.startedAt).toBeUndefined();
  });

  it("a single exit waiting for its restart is failed, not crash-looping; the restart delay of an action failure wins when later", () => {
    const s = buildStatus(input({ crashes: crashes(1) }));
    expect(s.workloads[0]?.state).toBe("failed");
    const backoff: BackoffBook = new Map([
      [
        key,
        {
          key,
          kind: "start",
          step: "restart web-0",
          workloadId: "web-0",
          attempt: 2,
          lastError: "exited before it became healthy (exit code 3)",
          cause: { where: "workload", message: "exited with code 3" },
          nextAttemptAt: 20_000,
        },
      ],
    ]);
    const s2 = buildStatus(input({ crashes: crashes(2), backoff }));
    expect(s2.workloads[0]).toMatchObject({
      state: "crash-looping",
      operation: { attempt: 2, nextAttemptAt: "1970-01-01T00:00:20.000Z", cause: { where: "workload" } },
    });
  });

  it("stays crash-looping (never running or converged) after a restart until the streak ends", () => {
    const running = instance(w, "a", { state: "running", ref: "pid:10" });
    const s = buildStatus(
      input({
        crashes: crashes(2),
        instances: [running],
        health: new Map([["pid:10", "healthy"]]),
        now: 14_000,
      }),
    );
    expect(s.phase).not.toBe("converged");
    expect(s.workloads[0]).toMatchObject({
      state: "crash-looping",
      health: "healthy",
      restarts: 5,
      operation: { status: "succeeded", attempt: 2, cause: { where: "workload" } },
    });
    expect(s.workloads[0]?.operation?.nextAttemptAt).toBeUndefined();
    // Once the streak has ended (settled), it is running again, history kept.
    const settled = settleCrashes(crashes(2), new Set([key]), 8_000 + 61_000);
    const s2 = buildStatus(
      input({ crashes: settled, instances: [running], health: new Map([["pid:10", "healthy"]]) }),
    );
    expect(s2.workloads[0]).toMatchObject({
      state: "running",
      slot: "a",
      startedAt: "1970-01-01T00:00:08.000Z",
      restarts: 5,
      lastExit: { code: 3 },
      operation: null,
    });
    expect(s2.phase).toBe("converged");
  });

  it("bounds the output excerpt", () => {
    const many = crashes(2);
    const rec = many.get(key);
    if (rec?.lastExit) rec.lastExit.output = Array.from({ length: 40 }, (_, i) => `${i}`.repeat(2000));
    const s = buildStatus(input({ crashes: many }));
    expect(valid(s)).toBe(true);
    expect(s.workloads[0]?.lastExit?.output).toHaveLength(10);
    for (const l of s.workloads[0]?.lastExit?.output ?? []) expect(l.length).toBeLessThanOrEqual(500);
  });
});
