// Benchmark of `berth restart` under load: `berth up` (compiled JS, real Caddy) on the single-host
// example, whose hello app has 2 process replicas; 200 requests/s, open loop, through Caddy while
// `berth restart hello` replaces both replicas start-first, one at a time, 5 times in a row.
// Reports failed requests (goal 0), request latency during the restarts and how long one takes.
// Run: npx tsx bench/restart.bench.ts
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../agent/ingress/caddy-process.js";
import { waitFor } from "../test/agent/helpers/wait.js";
import { hasTool } from "../test/helpers/tools.js";
import { buildDist, exampleRepo, machineSpeed, pct, steadyLoad } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "berth-restart-bench-"));

async function main(): Promise<void> {
  if (!hasTool("caddy", ["version"])) throw new Error("caddy is not installed: run scripts/setup");
  const speed = machineSpeed();
  const dist = buildDist("restart-dist");
  const repoDir = join(work, "repo");
  await exampleRepo(repoDir, { portBase: 42_000 + Math.floor(Math.random() * 50) * 100 });
  const apiPort = await freePort();
  const httpPort = await freePort();
  const url = `http://127.0.0.1:${apiPort}`;
  const up: ChildProcess = spawn(
    process.execPath,
    [
      join(dist, "cli/main.js"),
      "up",
      "--repo",
      repoDir,
      "--listen",
      `127.0.0.1:${apiPort}`,
      "--state-dir",
      join(work, "state"),
      "--http-listen",
      `127.0.0.1:${httpPort}`,
      "--https-listen",
      `127.0.0.1:${await freePort()}`,
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  const durations: number[] = [];
  let result: Awaited<ReturnType<ReturnType<typeof steadyLoad>["stop"]>> | null = null;
  try {
    await waitFor(
      "berth up converged",
      async () => {
        const r = await fetch(`${url}/v1/nodes`).catch(() => null);
        const body = (await r?.json()) as { nodes?: { phase: string; inSync: boolean }[] } | undefined;
        return body?.nodes?.[0]?.phase === "converged" && body.nodes[0].inSync;
      },
      120_000,
    );
    const load = steadyLoad(`http://127.0.0.1:${httpPort}/`, "hello.localhost");
    await new Promise((r) => setTimeout(r, 2_000));
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(dist, "cli/main.js"), "restart", "hello", "--url", url], {
        encoding: "utf8",
        timeout: 180_000,
      });
      if (r.status !== 0) throw new Error(`berth restart failed: ${r.stdout}${r.stderr}`);
      durations.push(performance.now() - t0);
      await new Promise((ok) => setTimeout(ok, 1_000));
    }
    result = await load.stop();
  } finally {
    up.kill("SIGTERM");
    await new Promise((r) => (up.exitCode !== null ? r(null) : up.once("exit", r)));
    rmSync(work, { recursive: true, force: true });
  }
  const rows: [string, string, string][] = [
    [
      "failed requests, 5 restarts of 2 replicas at 200 req/s through Caddy",
      `${result.failures.length} of ${result.sent}${result.failures.length ? ` (${[...new Set(result.failures)].slice(0, 3).join("; ")})` : ""}`,
      "0",
    ],
    [
      "  request latency during those restarts (p50 / p99 / max)",
      `${pct(result.latencies, 50).toFixed(1)} / ${pct(result.latencies, 99).toFixed(1)} / ${Math.max(...result.latencies).toFixed(0)} ms`,
      "-",
    ],
    [
      "`berth restart hello` (2 replicas, start-first) from start to its outcome, p50 / max",
      `${pct(durations, 50).toFixed(0)} / ${Math.max(...durations).toFixed(0)} ms`,
      "-",
    ],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const loadavg = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`restart benchmark (machine speed ${speed.toFixed(0)} ms, load ${loadavg})`);
  console.log(`${"figure".padEnd(width)}  ${"measured".padEnd(24)}  goal`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(width)}  ${b.padEnd(24)}  ${c}`);
}

await main();
