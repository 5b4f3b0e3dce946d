// The kill -9 sweep shared by the local and remote crash tests. A scenario (a publish, or a status
// batch) is run by `berth serve` as a child process with BERTH_TEST_CRASH_AT=N, for N = 1, 2, …:
// the child kills itself (SIGKILL) at the Nth crash point it passes (reconciler/crash-points.ts:
// ref locks, object and cache writes, git HTTP answers). After each crash a fresh reconciler is
// started on what the crash left, and must finish the work by itself: the commit published once,
// the status committed, health back to ok — and, when the crash left a ref lock behind, health
// must have said `degraded` while the lock stopped it, then `recovered`. The sweep ends at the
// first N the child survives: every point of the scenario has then been a crash site once.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { expect } from "vitest";
import type { BerthEvent } from "../../reconciler/contracts.js";
import { createReconciler, type Reconciler, type ReconcilerOptions } from "../../reconciler/reconciler.js";
import type { NodeStatus } from "../../schema/index.js";
import { cliArgs, projectRoot } from "../helpers/berth-cli.js";
import { memoryLogger, recordingSink, tokenOf, waitFor } from "./helpers.js";

export type Scenario = "publish" | "status";

export interface SweepTarget {
  /** serve's arguments that pick the repo (--repo DIR, or --remote URL --cache-dir D). */
  serveArgs: string[];
  /** The same, for the in-process reconciler that recovers. */
  source: Pick<ReconcilerOptions, "repoDir" | "remote">;
  /** Where ref locks live: the repo's .git, or the cache. */
  gitdir: string;
  /** Makes the next commit of the tracked branch (pushed, in remote mode); returns it. */
  commit(n: number): Promise<string>;
  /** First-parent desired history: [generation, source commit], oldest first. */
  desired(): [number, string][];
  /** The committed status of node-a (its agentVersion), or null. */
  committedStatusVersion(): string | null;
  /** `git fsck` of every repo involved; throws when one is corrupt. */
  fsck(): void;
}

export interface SweepResult {
  /** Crash points hit, in order (the run that survived is not counted). */
  points: string[];
  /** Runs whose crash left a ref lock behind. */
  locksLeft: number;
}

export function statusReport(version: string): NodeStatus {
  return {
    node: "node-a",
    agentVersion: version,
    desiredHash: `sha256:${"a".repeat(64)}`,
    appliedHash: null,
    appliedCommit: null,
    phase: "applying",
    observedAt: new Date().toISOString(),
    workloads: [],
    ingress: null,
  };
}

interface ChildRun {
  crashedAt: string | null;
}

/** Runs `berth serve` with the crash hook until it dies or `done` shows in its log. */
async function runChild(
  args: string[],
  crashAt: number,
  scenario: Scenario,
  tip: string,
  version: string,
): Promise<ChildRun> {
  const child: ChildProcess = spawn(
    process.execPath,
    cliArgs(["serve", ...args, "--listen", "127.0.0.1:0", "--status-batch", "0.1"]),
    {
      cwd: projectRoot,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NO_COLOR: "1", BERTH_TEST_CRASH_AT: String(crashAt) },
    },
  );
  let stderr = "";
  let url: string | undefined;
  let put = false;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (!url) url = /"url":"(http:[^"]+)"/.exec(stderr)?.[1];
    if (scenario === "status" && url && !put) {
      put = true;
      fetch(`${url}/v1/nodes/node-a/status`, {
        method: "PUT",
        headers: { authorization: `Bearer ${tokenOf("node-a")}`, "content-type": "application/json" },
        body: JSON.stringify(statusReport(version)),
      }).catch(() => {});
    }
  });
  const done = () =>
    scenario === "publish"
      ? stderr.includes(`"msg":"published"`) && stderr.includes(`"commit":"${tip}"`)
      : stderr.includes(`"msg":"statuses committed"`);
  try {
    await Promise.race([
      exited,
      waitFor(
        `serve to finish the ${scenario} (crash point ${crashAt})`,
        () => done() || child.exitCode !== null || child.signalCode !== null,
        60_000,
      ),
    ]);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  }
  const crashed = /berth-test-crash: ([a-z-]+) #\d+/.exec(stderr)?.[1] ?? null;
  if (crashed === null && !done()) throw new Error(`serve exited without finishing nor crashing:\n${stderr}`);
  if (crashed !== null) expect(child.signalCode).toBe("SIGKILL");
  return { crashedAt: crashed };
}

function locksUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".lock"));
}

/** A reconciler on what the crash left; resolves once it has done the scenario's work. */
async function recover(
  target: SweepTarget,
  scenario: Scenario,
  tip: string,
  version: string,
  lockLeft: boolean,
): Promise<void> {
  const events = recordingSink();
  const log = memoryLogger();
  let r: Reconciler | undefined;
  try {
    r = await createReconciler({
      ...target.source,
      events,
      logger: log.logger,
      statusBatchMs: 100,
      pollIntervalMs: 200,
      // A left lock blocks the first attempts (200 ms wait each) until it is 1.5 s old: long
      // enough past the 300 ms bound for the health check to have said so.
      lockStaleMs: 1_500,
      lockWaitMs: 200,
      degradedAfterMs: 300,
    });
    await r.start();
    const rec = r;
    await waitFor(`recovery publishes ${tip.slice(0, 7)}`, () => rec.published().commit === tip, 30_000);
    if (scenario === "status") {
      rec.reportStatus("node-a", statusReport(version));
      await waitFor("recovery commits the status", () => target.committedStatusVersion() === version, 30_000);
    }
    await rec.idle();
    await waitFor("health back to ok", () => rec.health?.().status === "ok", 10_000);
    const kinds = events.events.map((e: BerthEvent) => e.type);
    if (lockLeft) {
      // Stopped by the lock for > 300 ms: degraded was said, then recovered.
      const degraded = kinds.indexOf("degraded");
      expect(
        degraded,
        `a degraded event while the lock blocked (log: ${log.lines.join("")})`,
      ).toBeGreaterThanOrEqual(0);
      expect(kinds.indexOf("recovered", degraded)).toBeGreaterThan(degraded);
      expect(log.lines.join("")).toContain("removed a ref lock left by a crash");
    }
  } finally {
    await r?.stop();
  }
}

export async function crashSweep(
  target: SweepTarget,
  scenario: Scenario,
  maxPoints = 150,
): Promise<SweepResult> {
  const points: string[] = [];
  let locksLeft = 0;
  let tip = "";
  if (scenario === "status") {
    // Statuses are swept on a published config: publish it first, without crashes.
    tip = await target.commit(0);
    await recover(target, "publish", tip, "0.0.0", false);
  }
  for (let n = 1; n <= maxPoints; n++) {
    const version = `0.1.${n}`;
    if (scenario === "publish") tip = await target.commit(n);
    const run = await runChild(target.serveArgs, n, scenario, tip, version);
    const left = locksUnder(target.gitdir).length > 0;
    if (left) locksLeft++;
    await recover(target, scenario, tip, version, left);
    expect(locksUnder(target.gitdir)).toEqual([]);
    target.fsck();
    // Published exactly once, generations without gaps: a crash never causes a republish.
    const history = target.desired();
    expect(history.map(([g]) => g)).toEqual(history.map((_, i) => i + 1));
    expect(history.filter(([, source]) => source === tip)).toHaveLength(1);
    if (run.crashedAt === null) return { points, locksLeft };
    points.push(run.crashedAt);
  }
  throw new Error(`the ${scenario} scenario still crashed after ${maxPoints} points: ${points.join(", ")}`);
}
