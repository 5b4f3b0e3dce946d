// Benchmark of node liveness with the real programs on two "hosts" (network namespaces joined by a
// veth pair): `berth serve` with the default bounds on one, four `berth agent`s on the other.
//   1. Idle window (BENCH_IDLE_SECONDS, default 300): a healthy idle cluster must never be called
//      stale. Counts node-stale events and the largest lastSeen age seen in /v1/nodes.
//   2. Link down (BENCH_TRIALS, default 3): the agents' host loses its link the hard way (packets
//      vanish, nothing is refused); time from the link going down to `stale` and `lost` in
//      GET /v1/nodes, in /metrics and on the event stream, per node. Goals: stale ≤ 15 s, lost ≤ 45 s.
// A probe process inside the reconciler's namespace polls the API every 100 ms and prints what it
// sees (the bench's own namespace cannot reach it). BENCH_DEBUG=1 prints every node event per trial.
// Needs root and iproute2. Run: npx tsx
// bench/liveness.bench.ts
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { defaultLivenessBounds } from "../core/status/liveness.js";
import { type BerthProcess, spawnBerth } from "../test/helpers/berth-process.js";
import { createNetns, linkNetns, type Netns } from "../test/helpers/netns.js";
import { git, gitEnv, pct } from "./support.js";

const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 300);
const trials = Number(process.env.BENCH_TRIALS ?? 3);
const nodes = ["w1", "w2", "w3", "w4"];
const REC = "10.78.0.1";
const NODE = "10.78.0.2";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  /** When the /v1/nodes answer arrived (a sample counts when seen: a stalled server shows late). */
  t: number;
  /** When the /metrics answer arrived. */
  tm: number;
  /** The reconciler's event-loop lag, max since the last scrape (prom-client), seconds. */
  lag: number;
  api: Record<string, string | null>;
  metrics: Record<string, string | null>;
  events: { type: string; node: string; at: number; message: string }[];
}

// ---------------------------------------------------------------- probe (inside the reconciler's namespace)
async function probe(url: string): Promise<void> {
  const seen = new Set<string>();
  for (;;) {
    const started = Date.now();
    try {
      const body = (await (await fetch(`${url}/v1/nodes`)).json()) as {
        nodes: { node: string; liveness: string | null; lastSeen: string | null }[];
      };
      const t = Date.now();
      const text = await (await fetch(`${url}/metrics`)).text();
      const tm = Date.now();
      const lag = Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
      const metrics: Record<string, string | null> = {};
      for (const m of text.matchAll(/^berth_node_liveness\{node="([^"]+)",state="([^"]+)"\} 1$/gm))
        metrics[m[1] as string] = m[2] as string;
      const sse = await (await fetch(`${url}/v1/events?follow=0`)).text();
      const events: Sample["events"] = [];
      for (const block of sse.split("\n\n")) {
        const id = /^id: (.+)$/m.exec(block)?.[1];
        const type = /^event: (node-.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (!id || !type || !data || seen.has(id)) continue;
        seen.add(id);
        const e = JSON.parse(data) as { time: string; data: { node: string; message: string } };
        events.push({ type, node: e.data.node, at: Date.parse(e.time), message: e.data.message });
      }
      const api = Object.fromEntries(body.nodes.map((n) => [n.node, n.liveness]));
      const ages = Object.fromEntries(
        body.nodes.map((n) => [`age:${n.node}`, n.lastSeen ? String(t - Date.parse(n.lastSeen)) : null]),
      );
      process.stdout.write(`${JSON.stringify({ t, tm, lag, api: { ...api, ...ages }, metrics, events })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ t: started, error: (e as Error).message })}\n`);
    }
    await sleep(Math.max(0, 100 - (Date.now() - started)));
  }
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const dir = join(tmpdir(), `berth-liveness-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const tokens = Object.fromEntries(nodes.map((n) => [n, `token-of-${n}-for-the-liveness-bench`]));
  const sha = (s: string) => execFileSync("sha256sum", { input: s }).toString().split(" ")[0];
  const repo = join(dir, "repo");
  mkdirSync(join(repo, "nodes"), { recursive: true });
  writeFileSync(join(repo, "berth.yaml"), "kind: Settings\nbranch: main\n");
  for (const n of nodes) {
    writeFileSync(
      join(repo, "nodes", `${n}.yaml`),
      `kind: Node\nname: ${n}\naddress: ${NODE}\ntokenSha256: ${sha(tokens[n] as string)}\n`,
    );
    writeFileSync(join(dir, `${n}.token`), tokens[n] as string);
  }
  await git(repo, "init", "-q", "-b", "main");
  await git(repo, "add", "-A");
  await git(repo, "commit", "-q", "-m", "four nodes");
  void gitEnv;

  let rec: Netns | undefined;
  let host: Netns | undefined;
  const procs: BerthProcess[] = [];
  let probeProc: ReturnType<typeof spawn> | undefined;
  const cleanup = async () => {
    probeProc?.kill("SIGKILL");
    for (const p of procs) await p.kill();
    host?.remove();
    rec?.remove();
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    rec = createNetns({ tag: "rec" });
    host = createNetns({ tag: "host" });
    const link = linkNetns(host, `${NODE}/24`, rec, `${REC}/24`);
    // Test network: plain HTTP and an open read API on purpose (the opt-outs exist for this).
    const serve = spawnBerth(
      ["serve", "--repo", repo, "--listen", `${REC}:0`, "--allow-plain-http", "--allow-open-read-api"],
      { netns: rec },
    );
    procs.push(serve);
    const url = (await serve.waitForLine((l) => l.msg === "API listening", "the API")).url as string;
    for (const n of nodes) {
      mkdirSync(join(dir, `state-${n}`), { recursive: true });
      const a = spawnBerth(
        [
          "agent",
          "--node",
          n,
          "--url",
          url,
          "--token-file",
          join(dir, `${n}.token`),
          "--state-dir",
          join(dir, `state-${n}`),
        ],
        { netns: host },
      );
      procs.push(a);
    }
    probeProc = spawn(
      rec.argv([process.execPath, "--import", "tsx", self, "--probe", url])[0] as string,
      rec.argv([process.execPath, "--import", "tsx", self, "--probe", url]).slice(1),
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const samples: Sample[] = [];
    createInterface({ input: probeProc.stdout as NodeJS.ReadableStream }).on("line", (l) => {
      const s = JSON.parse(l) as Sample & { error?: string };
      if (!s.error) samples.push(s);
    });
    const allAlive = () => {
      const last = samples.at(-1);
      return last !== undefined && nodes.every((n) => last.api[n] === "alive");
    };
    const until = async (what: string, check: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    await until("every agent alive", allAlive, 60_000);

    // 1. Idle.
    const idleFrom = Date.now();
    const eventsBefore = samples.flatMap((s) => s.events).length;
    await sleep(idleSeconds * 1000);
    const idle = samples.filter((s) => s.t >= idleFrom);
    const idleEvents = samples.flatMap((s) => s.events).slice(eventsBefore);
    const staleEvents = idleEvents.filter((e) => e.type !== "node-back").length;
    const notAlive = idle.filter((s) => nodes.some((n) => s.api[n] !== "alive")).length;
    const maxAge = Math.max(...idle.flatMap((s) => nodes.map((n) => Number(s.api[`age:${n}`] ?? 0))));
    const idleLag = Math.max(...idle.map((s) => s.lag));
    const gaps = idle.slice(1).map((s, i) => s.t - (idle[i] as Sample).t);

    // 2. Link down, trials.
    const stale: Record<"api" | "metrics" | "event", number[]> = { api: [], metrics: [], event: [] };
    const lost: Record<"api" | "metrics" | "event", number[]> = { api: [], metrics: [], event: [] };
    let settleNotAlive = 0;
    for (let trial = 0; trial < trials; trial++) {
      // Down at a different moment of the agents' poll cycle each time.
      await sleep(Math.random() * defaultLivenessBounds.pollHoldMs);
      const t0 = Date.now();
      link.down();
      const first = (pred: (s: Sample, n: string) => boolean, n: string, at: "t" | "tm" = "t") =>
        samples.find((s) => s.t >= t0 && pred(s, n))?.[at];
      await until(
        "every node lost",
        () =>
          nodes.every(
            (n) =>
              first((s, m) => s.api[m] === "lost", n) !== undefined &&
              first((s, m) => s.events.some((e) => e.node === m && e.type === "node-lost"), n) !== undefined,
          ),
        90_000,
      );
      for (const n of nodes) {
        const ev = (type: string) =>
          samples.flatMap((s) => s.events).find((e) => e.node === n && e.type === type && e.at >= t0)?.at;
        stale.api.push((first((s, m) => s.api[m] === "stale" || s.api[m] === "lost", n) as number) - t0);
        stale.metrics.push(
          (first((s, m) => s.metrics[m] === "stale" || s.metrics[m] === "lost", n, "tm") as number) - t0,
        );
        stale.event.push((ev("node-stale") ?? Number.NaN) - t0);
        lost.api.push((first((s, m) => s.api[m] === "lost", n) as number) - t0);
        lost.metrics.push((first((s, m) => s.metrics[m] === "lost", n, "tm") as number) - t0);
        lost.event.push((ev("node-lost") ?? Number.NaN) - t0);
        if (process.env.BENCH_DEBUG) {
          const mine = samples.flatMap((x) => x.events).filter((e) => e.node === n && e.at >= t0 - 60_000);
          console.error(
            `trial ${trial} ${n}: api stale +${(stale.api.at(-1) as number) / 1000}s; events: ${mine.map((e) => `${e.type}@${((e.at - t0) / 1000).toFixed(1)} ${e.message}`).join(" | ")}`,
          );
        }
      }
      link.up();
      await until("every node back", allAlive, 90_000);
      // Settle: the next trial starts from nodes that have been alive for 10 s in a row (right
      // after an outage an agent may still be finishing its retries); what is not alive then is
      // counted and printed.
      const settleFrom = Date.now();
      await sleep(10_000);
      const unsettled = samples.filter((x) => x.t >= settleFrom && nodes.some((n) => x.api[n] !== "alive"));
      settleNotAlive += unsettled.length;
    }

    const trialLag = Math.max(
      ...samples.filter((x) => x.t > idleFrom + idleSeconds * 1000).map((x) => x.lag),
    );
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const row = (name: string, v: number[], goal: string) =>
      `  ${name.padEnd(28)} p50 ${s(pct(v, 50)).padStart(7)}  max ${s(Math.max(...v)).padStart(7)}   goal ${goal}`;
    console.log(
      `liveness benchmark: berth serve + ${nodes.length} berth agents on two network namespaces; bounds: stale after ${s(defaultLivenessBounds.staleAfterMs)}, lost after ${s(defaultLivenessBounds.lostAfterMs)}, long-polls held ≤ ${s(defaultLivenessBounds.pollHoldMs)}`,
    );
    console.log(`idle ${idleSeconds} s, ${idle.length} samples of every node:`);
    console.log(`  stale/lost events            ${staleEvents}   goal 0`);
    console.log(`  samples not alive            ${notAlive}   goal 0`);
    console.log(
      `  calibration: reconciler event-loop lag max ${s(idleLag * 1000)}; probe sample gap p50 ${s(pct(gaps, 50))}, max ${s(Math.max(...gaps))}`,
    );
    console.log(
      `  largest lastSeen age         ${s(maxAge)}   (stale after ${s(defaultLivenessBounds.staleAfterMs)})`,
    );
    for (const e of idleEvents) console.log(`  ${e.type} at +${s(e.at - idleFrom)}: ${e.message}`);
    console.log(`link down, ${trials} trials × ${nodes.length} nodes:`);
    console.log(row("→ stale in /v1/nodes", stale.api, "≤ 15 s"));
    console.log(row("→ stale in /metrics", stale.metrics, "≤ 15 s"));
    console.log(row("→ stale on the event stream", stale.event, "≤ 15 s"));
    console.log(row("→ lost in /v1/nodes", lost.api, "≤ 45 s"));
    console.log(row("→ lost in /metrics", lost.metrics, "≤ 45 s"));
    console.log(row("→ lost on the event stream", lost.event, "≤ 45 s"));
    console.log(`  calibration: reconciler event-loop lag max ${s(trialLag * 1000)} during the trials`);
    console.log(`  samples not alive in the 10 s after each recovery   ${settleNotAlive}   goal 0`);
    console.log(
      `machine: ${availableParallelism()} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} at the end`,
    );
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === "--probe") void probe(process.argv[3] as string);
else
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
