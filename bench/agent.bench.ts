// Benchmark of the node agent (`berth agent` run as a real child process against a small real HTTP
// server playing the reconciler, all on 127.0.0.1):
//   1. idle cost with 20 process workloads: CPU (utime+stime from /proc/<pid>/stat) and RSS
//      (VmRSS) of the agent process over BENCH_IDLE_SECONDS (default 60);
//   2. publish → applied latency of a process app: from the moment the reconciler answers the
//      long-poll with a changed document to the status PUT saying converged with that hash
//      (start-first replace of a busybox httpd), over 20 changes;
//   3. failed requests through a real Caddy at 200 requests/s while the agent replaces the app
//      behind it start-first, 5 times in a row.
// The agent is compiled to .bench/agent-dist first and runs as plain JS, both as `berth agent`
// (the bundle, as shipped) and alone (startAgent from tsc's modules, in a process that loads
// nothing else).
// Run: npx tsx bench/agent.bench.ts   (BENCH_IDLE_SECONDS=15 for a quick look)

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { slotSwitchDrainMs } from "../agent/ingress/caddy-config.js";
import { startCaddy } from "../agent/ingress/caddy-process.js";
import { createProcessDriver } from "../agent/runtime/process-driver.js";
import type { NodeStatus, Workload } from "../schema/index.js";
import { desiredDoc, workload } from "../test/agent/helpers/docs.js";
import { type FakeReconciler, startFakeReconciler } from "../test/agent/helpers/fake-reconciler.js";
import { freePortPair } from "../test/agent/helpers/ports.js";
import { waitFor } from "../test/agent/helpers/wait.js";
import { hasTool } from "../test/helpers/tools.js";
import { pct, steadyLoad } from "./support.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const appScript = join(root, "test/fixtures/apps/app.mjs");
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const rows: [string, string, string][] = [];
const work = mkdtempSync(join(tmpdir(), "berth-agent-bench-"));
const children: ChildProcess[] = [];

/**
 * Compiles the project into .bench/agent-dist (git-ignored) so the agent runs as shipped — plain
 * JS, no tsx loader in the process — from the sources as they are now.
 */
function buildDist(): string {
  const out = join(root, ".bench", "agent-dist");
  rmSync(out, { recursive: true, force: true });
  // Type errors elsewhere in the tree do not stop tsc from emitting; the files are checked below.
  spawnSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out],
    {
      cwd: root,
      stdio: "ignore",
    },
  );
  // `berth agent` runs the bundle, as the shipped executable does (package.json bin).
  spawnSync(process.execPath, [join(root, "scripts/bundle.mjs"), join(out, "bin")], {
    cwd: root,
    stdio: "inherit",
  });
  for (const f of ["bin/main.js", "agent/index.js"]) {
    if (!existsSync(join(out, f))) throw new Error(`building ${out} produced no ${f}`);
  }
  return out;
}
const dist = buildDist();

type Host = "cli" | "bare";
/** `berth agent` as a user runs it, or startAgent in a process that loads nothing else. */
function hostArgv(
  host: Host,
  a: { node: string; url: string; tokenFile: string; stateDir: string; extra: string[] },
): string[] {
  if (host === "cli") {
    return [
      join(dist, "bin/main.js"),
      "agent",
      "--node",
      a.node,
      "--url",
      a.url,
      "--token-file",
      a.tokenFile,
      "--state-dir",
      a.stateDir,
      ...a.extra,
    ];
  }
  const opts = JSON.stringify({ node: a.node, url: a.url, stateDir: a.stateDir });
  const code = [
    `import { readFileSync } from "node:fs";`,
    `const { startAgent } = await import(${JSON.stringify(join(dist, "agent/index.js"))});`,
    `const agent = await startAgent({ ...${opts}, token: readFileSync(${JSON.stringify(a.tokenFile)}, "utf8").trim() });`,
    `process.once("SIGTERM", () => agent.stop().then(() => process.exit(0)));`,
  ].join("\n");
  return ["--input-type=module", "-e", code];
}

function spawnAgent(
  host: Host,
  rec: FakeReconciler,
  node: string,
  stateDir: string,
  extra: string[] = [],
): ChildProcess {
  const tokenFile = join(work, `${node}.token`);
  writeFileSync(tokenFile, rec.token);
  const argv = hostArgv(host, { node, url: rec.url, tokenFile, stateDir, extra });
  const child = spawn(process.execPath, argv, {
    cwd: root,
    stdio: [
      "ignore",
      process.env.BENCH_DEBUG ? "inherit" : "ignore",
      process.env.BENCH_DEBUG ? "inherit" : "ignore",
    ],
  });
  children.push(child);
  return child;
}

async function stopAgent(child: ChildProcess, stateDir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  await createProcessDriver({ stateDir }).close({ stopAll: true });
}

const clockTicks = 100; // USER_HZ on Linux
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
}
/** Memory only this process uses (no shared pages of the node binary or libraries). */
function privateMb(pid: number): number {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(t)?.[1] ?? 0);
  return (kb("Private_Clean") + kb("Private_Dirty")) / 1024;
}
/** RSS of a node process that runs nothing, for scale. */
function bareNodeRss(): number {
  const r = spawnSync(process.execPath, ["-e", "console.log(process.memoryUsage().rss)"], {
    encoding: "utf8",
  });
  return Number(r.stdout.trim()) / 1024 / 1024;
}

const www = join(work, "www");
mkdirSync(www);
writeFileSync(join(www, "index.html"), "ok\n");
const fastHealth: Workload["health"] = {
  path: "/",
  intervalSeconds: 2,
  timeoutSeconds: 2,
  startPeriodSeconds: 10,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
};
const busybox = (app: string, hostPort: number, version: string): Workload =>
  workload({
    app,
    runtime: "process",
    command: ["/bin/busybox", "sh", "-c", 'exec /bin/busybox httpd -f -p 127.0.0.1:$PORT -h "$WWW"'],
    env: { WWW: www, VERSION: version },
    port: 8080,
    hostPort,
    health: fastHealth,
  });

const convergedOn = (hash: string) => (s: NodeStatus | undefined) =>
  s?.phase === "converged" && s.appliedHash === hash;

/**
 * With `metricsPort`, the agent serves /metrics there (`--metrics-listen`) and the bench scrapes
 * it every 15 s (Prometheus' usual interval) while measuring idle cost.
 */
async function idleAndLatency(host: Host, latency: boolean, metricsPort?: number): Promise<void> {
  const node = `bench-${host}${metricsPort ? "-metrics" : ""}`;
  const rec = await startFakeReconciler({ node });
  const stateDir = join(work, `state-${host}`);
  const idle: Workload[] = [];
  for (let i = 0; i < 20; i++) idle.push(busybox(`idle${i}`, await freePortPair(), "1"));
  const latPort = await freePortPair();
  let doc = desiredDoc(node, [...idle, busybox("lat", latPort, "0")]);
  rec.publish(doc);
  const extra = metricsPort ? ["--metrics-listen", `127.0.0.1:${metricsPort}`] : [];
  const agent = spawnAgent(host, rec, node, stateDir, extra);
  const label =
    (host === "cli" ? "`berth agent`" : "agent alone (startAgent, no CLI)") +
    (metricsPort ? " with --metrics-listen, scraped every 15 s" : "");
  let scrapes = 0;
  const scrape = async () => {
    if (!metricsPort) return;
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    if (res.status !== 200 || !(await res.text()).includes("berth_agent_info"))
      throw new Error("bad /metrics answer");
    scrapes++;
  };
  try {
    await waitFor("20 workloads converged", () => convergedOn(doc.hash)(rec.latest()), 120_000);
    await sleep(3_000); // let start-up work settle before measuring
    const pid = agent.pid as number;
    const rss: number[] = [];
    const own: number[] = [];
    const t0 = performance.now();
    const c0 = cpuTicks(pid);
    let tick = 0;
    while (performance.now() - t0 < idleSeconds * 1000) {
      if (tick++ % 15 === 0) await scrape();
      rss.push(rssMb(pid));
      own.push(privateMb(pid));
      await sleep(1_000);
    }
    const cpu = ((cpuTicks(pid) - c0) / clockTicks / ((performance.now() - t0) / 1000)) * 100;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push([
      `${label}: idle CPU, 21 process workloads, ${idleSeconds} s`,
      `${cpu.toFixed(2)} % of a core`,
      "≤ 0.5 %",
    ]);
    rows.push([
      `${label}: RSS max / mean`,
      `${Math.max(...rss).toFixed(1)} / ${mean(rss).toFixed(1)} MB`,
      "≤ 60 MB",
    ]);
    if (metricsPort) rows.push([`${label}: scrapes answered`, String(scrapes), "all"]);
    rows.push([
      `${label}: private memory (RSS without shared pages) max`,
      `${Math.max(...own).toFixed(1)} MB`,
      "-",
    ]);
    if (!latency) return;

    // Two moments: the new version serves (its report says the new spec runs healthy), and the
    // document is applied completely — after the old instance has drained for the health interval
    // + 250 ms (slotSwitchDrainMs: proxies on other nodes see the switch before it goes).
    const serving: number[] = [];
    const lat: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const w = busybox("lat", latPort, String(i));
      doc = desiredDoc(node, [...idle, w]);
      const want = doc.hash;
      let servedAt: number | undefined;
      const done = new Promise<number>((resolve) => {
        rec.onStatus = (s) => {
          const ws = s.workloads.find((x) => x.id === w.id);
          if (servedAt === undefined && ws?.specHash === w.specHash && ws.health === "healthy")
            servedAt = performance.now() - rec.publishedAt();
          if (convergedOn(want)(s)) resolve(performance.now() - rec.publishedAt());
        };
      });
      rec.publish(doc);
      const applied = await done;
      lat.push(applied);
      serving.push(servedAt ?? applied);
      await sleep(1_000);
    }
    rec.onStatus = undefined;
    const drain = slotSwitchDrainMs(busybox("lat", latPort, "0"));
    rows.push([
      "publish → new version serving, process app start-first (p50 / p90 / max, 20 changes)",
      `${pct(serving, 50).toFixed(0)} / ${pct(serving, 90).toFixed(0)} / ${Math.max(...serving).toFixed(0)} ms`,
      "p50 ≤ 150 ms",
    ]);
    rows.push([
      `publish → applied (the old instance drained ${drain} ms first)`,
      `${pct(lat, 50).toFixed(0)} / ${pct(lat, 90).toFixed(0)} / ${Math.max(...lat).toFixed(0)} ms`,
      `p50 ≤ ${drain + 150} ms`,
    ]);
  } finally {
    await stopAgent(agent, stateDir);
    await rec.close();
  }
}

async function replaceUnderLoad(): Promise<void> {
  if (!hasTool("caddy", ["version"])) {
    rows.push(["failed requests during start-first replaces via Caddy", "skipped: caddy not installed", "0"]);
    return;
  }
  const node = "bench-proxy";
  const rec = await startFakeReconciler({ node });
  const stateDir = join(work, "state-proxy");
  const caddy = await startCaddy({ dir: join(work, "caddy") });
  const httpPort = await freePortPair();
  const port = await freePortPair();
  const front = (reply: string): Workload =>
    workload({
      app: "front",
      runtime: "process",
      command: [process.execPath, appScript],
      env: { REPLY: reply },
      port: 8080,
      hostPort: port,
      health: { ...fastHealth, path: "/healthz" },
    });
  const routes = [{ host: "front.test", path: "/", tls: "off" as const, upstreams: [`127.0.0.1:${port}`] }];
  let doc = desiredDoc(node, [front("r0")], routes);
  rec.publish(doc);
  const agent = spawnAgent("cli", rec, node, stateDir, [
    "--caddy-admin",
    caddy.adminUrl,
    "--http-listen",
    `127.0.0.1:${httpPort}`,
    "--https-listen",
    `127.0.0.1:${httpPort + 1}`,
  ]);
  try {
    await waitFor("proxy converged", () => convergedOn(doc.hash)(rec.latest()), 60_000);
    const load = steadyLoad(`http://127.0.0.1:${httpPort}/`, "front.test");
    await sleep(2_000);
    for (let i = 1; i <= 5; i++) {
      doc = desiredDoc(node, [front(`r${i}`)], routes);
      rec.publish(doc);
      await waitFor(`replace ${i} converged`, () => convergedOn(doc.hash)(rec.latest()), 60_000);
      await sleep(1_000);
    }
    const r = await load.stop();
    const kinds = [...new Set(r.failures)].slice(0, 3).join("; ");
    rows.push([
      "failed requests, 5 start-first replaces at 200 req/s through Caddy",
      `${r.failures.length} of ${r.sent}${kinds ? ` (${kinds})` : ""}`,
      "0",
    ]);
    rows.push([
      "  request latency during those replaces (p50 / p99 / max)",
      `${pct(r.latencies, 50).toFixed(1)} / ${pct(r.latencies, 99).toFixed(1)} / ${Math.max(...r.latencies).toFixed(0)} ms`,
      "-",
    ]);
  } finally {
    await stopAgent(agent, stateDir);
    await caddy.stop();
    await rec.close();
  }
}

try {
  await idleAndLatency("bare", false);
  await idleAndLatency("cli", true);
  await idleAndLatency("cli", false, await freePortPair());
  await replaceUnderLoad();
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 8);
  console.log(
    `agent benchmark (compiled to ${dist}; a bare \`node -e 0\` here has ${bareNodeRss().toFixed(1)} MB RSS)`,
  );
  console.log(`${"figure".padEnd(w0)}  ${"measured".padEnd(w1)}  goal`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
