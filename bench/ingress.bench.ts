// Benchmark of the agent's runtimes and Caddy ingress (agent/runtime, agent/health, agent/ingress),
// all real and on 127.0.0.1:
//   1. a start-first slot switch through real Caddy under a steady 200 requests/s: failed requests
//      and latency, once stopping the old slot as soon as the new one is healthy and once after
//      waiting slotSwitchDrainMs (the route's health interval + 250 ms; goal: 0 failed requests);
//   2. Caddy admin API: POST /load of a 50-route config, GET /config/ + hash (the drift check);
//   3. process driver: start → healthy of a node app, list() with 20 instances;
//   4. podman (when installed): `ps` listing, start → healthy of a busybox httpd container, and the
//      same slot switch under load with containers.
// Run: npx tsx bench/ingress.bench.ts
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { waitHealthy } from "../agent/health/check.js";
import { buildCaddyConfig, caddyConfigHash, slotSwitchDrainMs } from "../agent/ingress/caddy-config.js";
import { createContainerDriver } from "../agent/runtime/container-driver.js";
import { createProcessDriver } from "../agent/runtime/process-driver.js";
import type { Route, Workload } from "../schema/index.js";
import { startTestCaddy } from "../test/helpers/caddy.js";
import { buildTestImages, removeNodeContainers, uniqueApp, uniqueNode } from "../test/helpers/podman.js";
import { hasTool } from "../test/helpers/tools.js";
import { freePortPair, workload } from "../test/runtime/support.js";
import { pct, steadyLoad } from "./support.js";

process.env.CONTAINERS_CONF ??= fileURLToPath(new URL("../test/fixtures/containers.conf", import.meta.url));
const appScript = fileURLToPath(new URL("../test/fixtures/apps/app.mjs", import.meta.url));
const health: Workload["health"] = {
  path: "/healthz",
  intervalSeconds: 0.5,
  timeoutSeconds: 1,
  startPeriodSeconds: 20,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
};
/** The route's copy of the app's health check: Caddy checks both slots with it. */
const routeHealth = {
  path: "/healthz",
  intervalSeconds: health.intervalSeconds,
  timeoutSeconds: health.timeoutSeconds,
};
const drainMs = slotSwitchDrainMs({ port: 8080, health });
const rows: [string, string, string][] = [];
const f1 = (n: number) => n.toFixed(1);

function startApp(port: number, reply: string): ChildProcess {
  return spawn(process.execPath, [appScript], {
    env: { ...process.env, PORT: String(port), REPLY: reply },
    stdio: "ignore",
  });
}
const exited = (c: ChildProcess) =>
  new Promise<void>((res) => (c.exitCode !== null ? res() : c.once("exit", () => res())));

/** How one slot's instance is started and stopped: a node process, or a podman container. */
interface SlotRunner {
  label: string;
  start(port: number, slot: "a" | "b"): Promise<() => Promise<void>>;
}

const processRunner: SlotRunner = {
  label: "process",
  async start(port, slot) {
    const child = startApp(port, slot);
    return async () => {
      child.kill("SIGTERM");
      await exited(child);
    };
  },
};

async function switchUnderLoad(runner: SlotRunner, drain: boolean): Promise<void> {
  const t = await startTestCaddy();
  try {
    const port = await freePortPair();
    const routes: Route[] = [
      { host: "web.test", path: "/", tls: "off", upstreams: [`127.0.0.1:${port}`], health: routeHealth },
    ];
    await t.admin.load(buildCaddyConfig(routes, t.configOptions));
    const stopOld = await runner.start(port, "a");
    await waitHealthy({ host: "127.0.0.1", port }, health);
    const load = steadyLoad(`http://127.0.0.1:${t.httpPort}/`, "web.test", { connections: 32 });
    await sleep(2_000);
    const stopNew = await runner.start(port + 1, "b");
    await waitHealthy({ host: "127.0.0.1", port: port + 1 }, health);
    if (drain) await sleep(drainMs);
    await stopOld();
    await sleep(2_000);
    const r = await load.stop();
    await stopNew();
    const label = `${runner.label} switch ${drain ? `after ${drainMs} ms drain` : "right when healthy"}`;
    rows.push([`${label}: failed / sent`, `${r.failures.length} / ${r.sent}`, "0 failed"]);
    rows.push([
      `${label}: latency p50 / p99 / max ms`,
      `${f1(pct(r.latencies, 50))} / ${f1(pct(r.latencies, 99))} / ${f1(pct(r.latencies, 100))}`,
      "-",
    ]);
  } finally {
    await t.stop();
  }
}

async function caddyAdminCosts(): Promise<void> {
  const t = await startTestCaddy();
  try {
    const port = await freePortPair();
    const routes = (n: number): Route[] =>
      Array.from({ length: 50 }, (_, i) => ({
        host: `app${i}.test`,
        path: "/",
        tls: "off" as const,
        upstreams: [`127.0.0.1:${port + n}`],
      }));
    const loads: number[] = [];
    const checks: number[] = [];
    for (let i = 0; i < 20; i++) {
      const cfg = buildCaddyConfig(routes(i % 2 ? 0 : 2), t.configOptions);
      let s = performance.now();
      await t.admin.load(cfg);
      loads.push(performance.now() - s);
      s = performance.now();
      const running = await t.admin.current();
      caddyConfigHash(running as object);
      checks.push(performance.now() - s);
    }
    rows.push(["Caddy POST /load, 50 routes, p50 ms", f1(pct(loads, 50)), "-"]);
    rows.push(["Caddy GET /config/ + hash, p50 ms", f1(pct(checks, 50)), "-"]);
  } finally {
    await t.stop();
  }
}

async function processDriverCosts(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-proc-"));
  const driver = createProcessDriver({ stateDir: dir });
  try {
    const startToHealthy: number[] = [];
    for (let i = 0; i < 20; i++) {
      const port = await freePortPair();
      const s = performance.now();
      const w = workload({ id: `b${i}-0`, hostPort: port, command: [process.execPath, appScript], health });
      await driver.start(w, "a");
      await waitHealthy({ host: "127.0.0.1", port }, health);
      startToHealthy.push(performance.now() - s);
    }
    const lists: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await driver.list();
      lists.push(performance.now() - s);
    }
    rows.push(["process start → healthy (node app) p50 ms", f1(pct(startToHealthy, 50)), "-"]);
    rows.push(["process driver list() of 20, p50 ms", pct(lists, 50).toFixed(3), "-"]);
  } finally {
    await driver.close({ stopAll: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function podmanCosts(): Promise<void> {
  if (!hasTool("podman")) {
    rows.push(["podman", "not installed", "-"]);
    return;
  }
  const images = await buildTestImages();
  const node = uniqueNode("bench");
  const driver = createContainerDriver({ engine: "podman", node, publishAddress: "127.0.0.1" });
  try {
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const port = await freePortPair();
      const w = workload({
        id: `c${i}-0`,
        hostPort: port,
        runtime: "podman",
        image: images.v1,
        port: images.port,
        health,
      });
      const s = performance.now();
      await driver.start(w, "a");
      await waitHealthy({ host: "127.0.0.1", port }, health);
      starts.push(performance.now() - s);
    }
    const lists: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = performance.now();
      await driver.list();
      lists.push(performance.now() - s);
    }
    rows.push(["podman run → healthy (busybox httpd) p50 ms", f1(pct(starts, 50)), "-"]);
    rows.push(["podman list (ps --format json, 5 ctrs) p50 ms", f1(pct(lists, 50)), "-"]);
    const app = uniqueApp("sw");
    const containerRunner: SlotRunner = {
      label: "podman",
      async start(port, slot) {
        // Both slots belong to one workload: slot b's hostPort + 1 is the `port` given here.
        const hostPort = slot === "a" ? port : port - 1;
        const image = slot === "a" ? images.v1 : images.v2;
        const w = workload({
          id: `${app}-0`,
          app,
          hostPort,
          runtime: "podman",
          image,
          port: images.port,
          health,
        });
        const inst = await driver.start(w, slot);
        return () => driver.stop(inst, 5_000);
      },
    };
    await switchUnderLoad(containerRunner, true);
  } finally {
    await removeNodeContainers(node);
    await images.remove();
  }
}

await switchUnderLoad(processRunner, false);
await switchUnderLoad(processRunner, true);
await caddyAdminCosts();
await processDriverCosts();
await podmanCosts();

const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${"figure".padEnd(w)}  ${"measured".padStart(18)}  goal`);
for (const [name, value, goal] of rows) console.log(`${name.padEnd(w)}  ${value.padStart(18)}  ${goal}`);
