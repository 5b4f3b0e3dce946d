// Benchmark of the whole loop on one host: `git commit` → the reconciler publishes → the local
// agent replaces the workload and loads Caddy's routes → the node reports converged on the
// published document of that commit. It runs `startSingleHost` (reconciler + API + agent + Caddy
// when installed, process runtime) on a copy of examples/single-host with a port range of its own.
//   series  20 commits one after another (after 2 warm-up commits), each changing one env value
//           of the `site` app (1 replica: one workload replaced), then the same with the `hello`
//           app (2 replicas: two workloads replaced, one after the other);
//   floor   the same app spawned directly (`node server.mjs` with PORT) until its first healthy
//           GET /healthz, 20 times: what no deployer on this machine can beat.
// Convergence is observed on every agent and reconciler event and by a 5 ms poll; the floor is
// polled at 5 ms too. A breakdown per stage (from the `published` event and the agent's action
// events) says where the time goes. Run: npx tsx bench/loop.bench.ts [--commits N]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import type { AgentEvent } from "../agent/index.js";
import { freePort } from "../agent/ingress/caddy-process.js";
import { type SingleHost, startSingleHost } from "../cli/up/single-host.js";
import type { BerthEvent } from "../reconciler/contracts.js";
import { hasTool } from "../test/helpers/tools.js";
import { exampleRepo, git, pct, singleHostExample } from "./support.js";

const commitsArg = process.argv.indexOf("--commits");
const N = commitsArg > 0 ? Number(process.argv[commitsArg + 1]) : 20;
const warmup = 2;
const pollMs = 5;
const logger = pino({ level: "silent" });
const temps: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

/** The example in a temp git repo, its node on a port range of its own (as test/e2e/helpers.ts does). */
const newExampleRepo = () =>
  exampleRepo(temp("berth-loop-bench-repo-"), { portBase: 40000 + Math.floor(Math.random() * 200) * 100 });

/** Sets env BENCH_REV of `app` (adding an env block when the app has none) and commits it. */
async function bump(dir: string, app: string, rev: string): Promise<void> {
  const file = join(dir, `apps/${app}.yaml`);
  const text = await readFile(file, "utf8");
  const next = /\n {2}BENCH_REV: .*/.test(text)
    ? text.replace(/\n {2}BENCH_REV: .*/, `\n  BENCH_REV: "${rev}"`)
    : /\nenv:\n/.test(text)
      ? text.replace(/\nenv:\n/, `\nenv:\n  BENCH_REV: "${rev}"\n`)
      : `${text.trimEnd()}\nenv:\n  BENCH_REV: "${rev}"\n`;
  await writeFile(file, next);
  await git(dir, "commit", "-q", "-am", `${app}: rev ${rev}`);
}

/** What happened between one commit and its convergence, in ms since the commit finished. */
interface Timeline {
  published?: number;
  publishLatencyMs?: number;
  publishTimings?: Record<string, number>;
  accepted?: number;
  firstAction?: number;
  lastActionDone?: number;
  actions: { kind: string; workloadId: string; ms: number }[];
  failures: string[];
  converged?: number;
}

/**
 * Observes the host: calls `check` on every agent and reconciler event and every 5 ms, and keeps
 * the timeline of the commit being measured.
 */
class Observer {
  host!: SingleHost;
  t0 = 0;
  line: Timeline = { actions: [], failures: [] };
  private check: (() => void) | null = null;

  onAgentEvent = (e: AgentEvent): void => {
    const t = performance.now() - this.t0;
    if (e.type === "document-accepted") this.line.accepted ??= t;
    if (e.type === "action-started") this.line.firstAction ??= t;
    if (e.type === "action-succeeded") {
      this.line.actions.push({ kind: e.kind, workloadId: e.workloadId, ms: e.ms });
      this.line.lastActionDone = t;
    }
    if (e.type === "action-failed") this.line.failures.push(`${e.kind} ${e.workloadId}: ${e.error}`);
    this.check?.();
  };

  onEvent = (e: BerthEvent): void => {
    if (e.type === "published") {
      this.line.published ??= performance.now() - this.t0;
      this.line.publishLatencyMs = e.data.latencyMs as number;
      this.line.publishTimings = e.data.timings as Record<string, number>;
    }
    this.check?.();
  };

  /** True when the node reports converged with appliedHash = the published document of `commit`. */
  isConverged(commit: string): boolean {
    const h = this.host;
    if (h.reconciler.published().commit !== commit) return false;
    const doc = h.reconciler.desired(h.node);
    const st = h.agent.status();
    return doc !== undefined && st.phase === "converged" && st.appliedHash === doc.hash;
  }

  /** Resolves with the time (performance.now()) the node was first seen converged on `commit`. */
  converged(commit: string, timeoutMs = 60_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearInterval(poll);
        clearTimeout(timer);
        this.check = null;
        fn();
      };
      const check = () => {
        if (this.isConverged(commit)) {
          const at = performance.now();
          done(() => resolve(at));
        }
      };
      const poll = setInterval(check, pollMs);
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(
                `not converged on ${commit.slice(0, 7)} within ${timeoutMs} ms: ${JSON.stringify(this.host.agent.status().workloads.map((w) => w.operation))}`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.check = check;
      check();
    });
  }

  begin(): void {
    this.line = { actions: [], failures: [] };
    this.t0 = performance.now();
  }
}

interface Series {
  app: string;
  total: number[];
  lines: Timeline[];
}

async function series(obs: Observer, dir: string, app: string): Promise<Series> {
  const total: number[] = [];
  const lines: Timeline[] = [];
  for (let i = 0; i < N + warmup; i++) {
    const commitDone = bump(dir, app, String(i)).then(() => performance.now());
    // The timeline starts when `git commit` finishes; events that arrive while git still runs
    // (the reconciler may see the ref before git exits) get negative times.
    obs.begin();
    const started = obs.t0;
    const finishedAt = await commitDone;
    obs.t0 = finishedAt;
    obs.line = shift(obs.line, finishedAt - started);
    const commit = await git(dir, "rev-parse", "HEAD");
    const at = await obs.converged(commit);
    obs.line.converged = at - finishedAt;
    if (i >= warmup) {
      total.push(at - finishedAt);
      lines.push(obs.line);
    }
    // Let the old instance's exit and the status report settle before the next commit.
    await obs.host.agent.idle();
    await sleep(200);
  }
  return { app, total, lines };
}

/** Re-bases the times of a timeline recorded from an earlier origin. */
function shift(line: Timeline, by: number): Timeline {
  const s = (v: number | undefined) => (v === undefined ? undefined : v - by);
  const out: Timeline = { ...line };
  for (const k of ["published", "accepted", "firstAction", "lastActionDone"] as const) {
    const v = s(line[k]);
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** One GET like the agent's health check (fresh connection); true on 2xx/3xx. */
function healthy(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (res) => {
      res.resume();
      const s = res.statusCode ?? 0;
      done(s >= 200 && s < 400);
      req.destroy();
    });
    req.setTimeout(2_000, () => req.destroy());
    req.on("error", () => done(false));
    req.end();
  });
}

/** Spawn → first healthy /healthz of the app's server, polled every 5 ms, `n` times. */
async function floor(app: string, n: number): Promise<number[]> {
  const cwd = join(singleHostExample, "apps", app);
  const args = app === "site" ? ["server.mjs", "public"] : ["server.mjs"];
  const out: number[] = [];
  for (let i = 0; i < n + warmup; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn("node", args, {
      cwd,
      env: { ...process.env, PORT: String(port) },
      stdio: "ignore",
    });
    try {
      for (;;) {
        if (await healthy(port)) break;
        if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}`);
        if (performance.now() - t0 > 30_000) throw new Error(`${app} not healthy within 30 s`);
        await sleep(pollMs);
      }
      if (i >= warmup) out.push(performance.now() - t0);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    }
  }
  return out;
}

function stageRows(s: Series): [string, number][] {
  const p50 = (xs: (number | undefined)[]) =>
    pct(
      xs.filter((x): x is number => x !== undefined),
      50,
    );
  const rows: [string, number][] = [
    ["commit finished → published event", p50(s.lines.map((l) => l.published))],
    ["  reconciler watch → published (its latencyMs)", p50(s.lines.map((l) => l.publishLatencyMs))],
    [
      "published → agent accepted the document (long-poll)",
      p50(s.lines.map((l) => (l.accepted ?? Number.NaN) - (l.published ?? Number.NaN))),
    ],
    [
      "accepted → first action started",
      p50(s.lines.map((l) => (l.firstAction ?? Number.NaN) - (l.accepted ?? Number.NaN))),
    ],
  ];
  const kinds = new Map<string, number[]>();
  for (const l of s.lines) {
    const sum = new Map<string, number>();
    for (const a of l.actions) sum.set(a.kind, (sum.get(a.kind) ?? 0) + a.ms);
    for (const [k, v] of sum) kinds.set(k, [...(kinds.get(k) ?? []), v]);
  }
  for (const [k, v] of kinds) rows.push([`action ${k} (sum per commit, agent's ms)`, pct(v, 50)]);
  rows.push([
    "last action done → converged seen",
    p50(s.lines.map((l) => (l.converged ?? Number.NaN) - (l.lastActionDone ?? Number.NaN))),
  ]);
  const timings = new Map<string, number[]>();
  for (const l of s.lines)
    for (const [k, v] of Object.entries(l.publishTimings ?? {}))
      timings.set(k, [...(timings.get(k) ?? []), v]);
  for (const [k, v] of timings) rows.push([`  reconciler stage ${k}`, pct(v, 50)]);
  return rows;
}

async function main(): Promise<void> {
  const caddy = hasTool("caddy", ["version"]);
  const dir = await newExampleRepo();
  const obs = new Observer();
  const stateDir = temp("berth-loop-bench-state-");
  const notices: string[] = [];
  const host = await startSingleHost({
    repo: dir,
    listen: "127.0.0.1:0",
    stateDir,
    httpListen: `127.0.0.1:${await freePort()}`,
    httpsListen: `127.0.0.1:${await freePort()}`,
    caddy: caddy ? "auto" : "off",
    logger,
    onAgentEvent: obs.onAgentEvent,
    onEvent: obs.onEvent,
    onNotice: (m) => notices.push(m),
  });
  obs.host = host;
  let one: Series;
  let two: Series;
  try {
    obs.begin();
    const head = await git(dir, "rev-parse", "HEAD");
    const firstMs = (await obs.converged(head, 120_000)) - obs.t0;
    await host.agent.idle();
    one = await series(obs, dir, "site");
    two = await series(obs, dir, "hello");
    console.log(`first convergence after start (3 workloads + routes): ${firstMs.toFixed(0)} ms`);
  } finally {
    await host.stop();
  }
  const floorSite = await floor("site", N);
  const floorHello = await floor("hello", N);

  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  const trio = (xs: number[]) => `${f(pct(xs, 50))} / ${f(pct(xs, 95))} / ${f(Math.max(...xs))}`;
  const rows: [string, string, string][] = [
    [
      `commit → converged, site env (1 workload replaced), p50 / p95 / max (${one.total.length})`,
      trio(one.total),
      "p50 ≤ 300 ms",
    ],
    ["floor: spawn site's server.mjs → first healthy /healthz, p50 / p95 / max", trio(floorSite), "-"],
    [
      "  commit → converged p50 ÷ floor p50 (site)",
      `${(pct(one.total, 50) / pct(floorSite, 50)).toFixed(2)} ×`,
      "≤ 2 ×",
    ],
    [
      `commit → converged, hello env (2 workloads replaced), p50 / p95 / max (${two.total.length})`,
      trio(two.total),
      "-",
    ],
    ["floor: spawn hello's server.mjs → first healthy /healthz, p50 / p95 / max", trio(floorHello), "-"],
    [
      "  commit → converged p50 ÷ floor p50 (hello)",
      `${(pct(two.total, 50) / pct(floorHello, 50)).toFixed(2)} ×`,
      "-",
    ],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(
    `loop benchmark: process runtime, ${caddy ? "real Caddy" : "no Caddy (not installed)"}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  for (const n of notices) console.log(`notice: ${n}`);
  console.log(`${"figure".padEnd(w0)}  ${"measured".padEnd(w1)}  goal`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);

  const p50 = pct(one.total, 50);
  const ratio = p50 / pct(floorSite, 50);
  console.log(`goal p50 ≤ 300 ms: ${p50 <= 300 ? "met" : "MISSED"} (${f(p50)})`);
  console.log(`goal p50 ≤ 2 × floor p50: ${ratio <= 2 ? "met" : "MISSED"} (${ratio.toFixed(2)} ×)`);

  for (const s of [one, two]) {
    console.log(`\nwhere the time goes, ${s.app} series, p50 ms:`);
    const st = stageRows(s);
    const ws = Math.max(...st.map((r) => r[0].length));
    for (const [name, v] of st) console.log(`  ${name.padEnd(ws)}  ${Number.isNaN(v) ? "-" : v.toFixed(1)}`);
    const failed = s.lines.flatMap((l) => l.failures);
    if (failed.length) console.log(`  failed actions: ${failed.length}, e.g. ${failed[0]}`);
  }
}

try {
  await main();
} finally {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
}
