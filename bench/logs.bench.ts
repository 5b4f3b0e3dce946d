// Benchmark of `berth logs` (compiled JS, as shipped): `berth up` runs a 2-replica process app
// whose instances each have ~4 MiB of history and print a timestamped line every 100 ms; then
//   1. time to the first line of `berth logs -n 100` (process start → first line on stdout), 10 runs;
//   2. a line written by an app → the same line printed by `berth logs -f`, over 100 lines
//      (the app writes its own clock into each line; same machine, same clock).
// The agent's idle CPU with nobody watching is bench/agent.bench.ts's figure (no log work runs
// then: docs/agent.md gives it before and after `berth logs` existed).
// Run: npx tsx bench/logs.bench.ts
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../test/agent/helpers/wait.js";
import { makeRepo } from "../test/helpers/git-repo.js";
import { buildDist, machineSpeed, pct } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "berth-logs-bench-"));
const rows: [string, string, string][] = [];

// 40,000 lines of history (~4 MiB), then a line with the app's clock every 100 ms.
const app = `import { createServer } from "node:http";
const filler = "x".repeat(90);
let buf = "";
for (let i = 0; i < 40000; i++) buf += "history " + i + " " + filler + "\\n";
process.stdout.write(buf);
let n = 0;
setInterval(() => process.stdout.write("now " + Date.now() + " " + n++ + "\\n"), 100);
createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");
`;

async function main(): Promise<void> {
  const speed = machineSpeed();
  const dist = buildDist("logs-dist");
  const base = 40_000 + Math.floor(Math.random() * 100) * 100;
  const repo = await makeRepo({
    "berth.yaml": "kind: Settings\nbranch: main\n",
    "nodes/local.yaml": `kind: Node\nname: local\naddress: 127.0.0.1\nroles: [worker]\nruntime: process\nportRange: [${base}, ${base + 99}]\n`,
    "apps/talk.yaml":
      'kind: App\nname: talk\ncommand: ["node", "talk.mjs"]\nworkdir: apps/talk\nport: 8080\nreplicas: 2\nhealth:\n  path: /\n',
    "apps/talk/talk.mjs": app,
  });
  const stateDir = join(work, "state");
  const port = base + 98;
  const url = `http://127.0.0.1:${port}`;
  const up: ChildProcess = spawn(
    process.execPath,
    [
      join(dist, "cli/main.js"),
      "up",
      "--repo",
      repo.dir,
      "--listen",
      `127.0.0.1:${port}`,
      "--state-dir",
      stateDir,
      "--no-caddy",
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
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
    await new Promise((r) => setTimeout(r, 3_000));

    // 1. First line of `berth logs -n 100`.
    const first: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const child = spawn(
        process.execPath,
        [join(dist, "cli/main.js"), "logs", "talk", "-n", "100", "--url", url],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const ms = await new Promise<number>((resolve, reject) => {
        child.stdout?.once("data", () => resolve(performance.now() - t0));
        child.once("exit", (code) => reject(new Error(`berth logs exited ${code} before printing`)));
      });
      first.push(ms);
      await new Promise((r) => child.once("exit", r));
    }
    rows.push([
      "first line of `berth logs -n 100` (process start → stdout), p50 / p90 / max of 10",
      `${pct(first, 50).toFixed(0)} / ${pct(first, 90).toFixed(0)} / ${Math.max(...first).toFixed(0)} ms`,
      "≤ 300 ms",
    ]);

    // 1b. The same without the CLI's own start-up: HTTP request → first line event.
    const server: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      server.push(
        await new Promise<number>((resolve, reject) => {
          const req = httpGet(`${url}/v1/apps/talk/logs?lines=100`, (res) => {
            let text = "";
            res.on("data", (d: Buffer) => {
              text += d.toString();
              if (text.includes("event: line")) {
                resolve(performance.now() - t0);
                res.destroy();
              }
            });
          });
          req.once("error", reject);
        }),
      );
    }
    rows.push([
      "  of which the reconciler and agent (request → first line event), p50 / p90 / max",
      `${pct(server, 50).toFixed(0)} / ${pct(server, 90).toFixed(0)} / ${Math.max(...server).toFixed(0)} ms`,
      "-",
    ]);
    const bare: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      spawnSync(process.execPath, [join(dist, "cli/main.js"), "--version"], { stdio: "ignore" });
      bare.push(performance.now() - t0);
    }
    rows.push([
      "  for scale: `berth --version` (node and the CLI starting), p50 of 5",
      `${pct(bare, 50).toFixed(0)} ms`,
      "-",
    ]);

    // 2. A line written by the app → printed by `berth logs -f`.
    const lat: number[] = [];
    const f = spawn(
      process.execPath,
      [join(dist, "cli/main.js"), "logs", "talk", "-f", "-n", "0", "--url", url],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let partial = "";
    f.stdout?.on("data", (d: Buffer) => {
      const now = Date.now();
      partial += d.toString();
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        const m = / now (\d+) \d+$/.exec(line);
        if (m) lat.push(now - Number(m[1]));
      }
    });
    await waitFor("100 followed lines", () => lat.length >= 100, 120_000);
    f.kill("SIGTERM");
    rows.push([
      "app writes a line → `berth logs -f` prints it, p50 / p90 / max of 100",
      `${pct(lat, 50).toFixed(0)} / ${pct(lat, 90).toFixed(0)} / ${Math.max(...lat).toFixed(0)} ms`,
      "≤ 500 ms",
    ]);
  } finally {
    up.kill("SIGTERM");
    await new Promise((r) => (up.exitCode !== null ? r(null) : up.once("exit", r)));
    await repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`logs benchmark (machine speed ${speed.toFixed(0)} ms, load ${readLoad()})`);
  console.log(`${"figure".padEnd(width)}  ${"measured".padEnd(22)}  goal`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(width)}  ${b.padEnd(22)}  ${c}`);
}

const readLoad = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

await main();
