// Benchmark of the reconciler's HTTP API (reconciler/http) with an in-memory backend and undici
// clients. Three processes, so that neither the load nor the measuring client shares an event
// loop with the server (whose RSS is then its own):
//   server  (--serve)   the API server over test/reconciler/http/memory-backend.ts, 1,000 nodes;
//   agents  (--agents)  1,000 agents long-polling their desired document (?wait=30, If-None-Match);
//   main                sends the webhooks and the status PUTs, measures, publishes, prints.
// Figures: webhook acknowledgement p50/p99 one at a time and throughput with 32 connections
// (goal p99 ≤ 5 ms, ≥ 2,000/s); status PUT p99 at 100/s while 1,000 agents long-poll and every
// 5 s a publish wakes them all (goal p99 ≤ 50 ms), publish → agents notified, server RSS (≤ 300 MB).
// Run: npx tsx bench/api.bench.ts
import { type ChildProcess, fork } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";

const secret = "bench-webhook-secret";
const nodeCount = 1000;
const tokenOf = (i: number) => `berth_bench-token-${i}`;
const nodeOf = (i: number) => `node-${i}`;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** Wall-clock time in ms with sub-ms precision, comparable between processes. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Msg = { cmd: string } & Record<string, unknown>;

// ---------------------------------------------------------------- server process
async function serve(): Promise<void> {
  const pino = (await import("pino")).default;
  const { EventBus } = await import("../reconciler/events.js");
  const { createMetrics } = await import("../reconciler/metrics.js");
  const { startApiServer } = await import("../reconciler/http/server.js");
  const { MemoryBackend, makeDoc } = await import("../test/reconciler/http/memory-backend.js");
  const backend = new MemoryBackend();
  const tokens = Object.fromEntries(
    Array.from({ length: nodeCount }, (_, i) => [nodeOf(i), sha(tokenOf(i))]),
  );
  let round = 0;
  const publishAll = () => {
    round++;
    backend.publish(
      Array.from({ length: nodeCount }, (_, i) => makeDoc(nodeOf(i), `round-${round}`)),
      tokens,
    );
  };
  publishAll();
  // Logs as `berth serve` writes them (info level, JSON), into /dev/null.
  const logger = pino({ level: "info" }, pino.destination({ dest: "/dev/null", sync: false }));
  const server = await startApiServer({
    listen: "127.0.0.1:0",
    backend,
    events: new EventBus(),
    metrics: createMetrics(),
    logger,
    webhooks: { secret },
    // BENCH_WAKE_BATCH compares pacing of woken long-polls (a huge value turns it off).
    limits: process.env.BENCH_WAKE_BATCH ? { wakeBatch: Number(process.env.BENCH_WAKE_BATCH) } : {},
  });
  let cpuAtPublish = process.cpuUsage();
  process.on("message", (msg: Msg) => {
    if (msg.cmd === "publish") {
      cpuAtPublish = process.cpuUsage();
      publishAll();
      process.send?.({ cmd: "published" });
    } else if (msg.cmd === "cpu") {
      const used = process.cpuUsage(cpuAtPublish);
      process.send?.({ cmd: "cpu", ms: (used.user + used.system) / 1000 });
    } else if (msg.cmd === "stats") {
      process.send?.({
        cmd: "stats",
        rss: process.memoryUsage().rss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        triggers: backend.triggers.length,
        reports: backend.reports.length,
      });
    } else if (msg.cmd === "exit") {
      void server.close().then(() => process.exit(0));
    }
  });
  process.send?.({ cmd: "ready", url: server.url });
}

// ---------------------------------------------------------------- agents process
async function agents(url: string): Promise<void> {
  const dispatcher = new Agent({
    connections: nodeCount + 10,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  const etags = new Map<number, string>();
  let running = true;
  let errors = 0;
  let received: number[] | undefined;
  const poll = async (i: number) => {
    while (running) {
      try {
        const etag = etags.get(i);
        const res = await request(`${url}/v1/nodes/${nodeOf(i)}/desired?wait=30`, {
          dispatcher,
          headers: { authorization: `Bearer ${tokenOf(i)}`, ...(etag ? { "if-none-match": etag } : {}) },
        });
        await res.body.dump();
        if (res.statusCode === 200) {
          etags.set(i, String(res.headers.etag));
          received?.push(now());
        } else if (res.statusCode !== 304) errors++;
      } catch {
        if (running) errors++;
        await sleep(100);
      }
    }
  };
  const loops = Array.from({ length: nodeCount }, (_, i) => poll(i));
  while (etags.size < nodeCount) await sleep(20);
  process.on("message", async (msg: Msg) => {
    if (msg.cmd === "watch") {
      received = [];
      process.send?.({ cmd: "watching" });
    } else if (msg.cmd === "collect") {
      const deadline = now() + 5_000;
      while ((received?.length ?? 0) < nodeCount && now() < deadline) await sleep(5);
      const at = msg.at as number;
      const delays = (received ?? []).map((t) => t - at).sort((a, b) => a - b);
      received = undefined;
      process.send?.({ cmd: "collected", delays, errors });
    } else if (msg.cmd === "exit") {
      running = false;
      await dispatcher.destroy();
      await Promise.allSettled(loops);
      process.exit(0);
    }
  });
  process.send?.({ cmd: "ready" });
}

// ---------------------------------------------------------------- main process
interface Child {
  child: ChildProcess;
  ready: Msg;
  ask(cmd: Msg, reply: string): Promise<Msg>;
  stop(): Promise<void>;
}

function spawnSelf(args: string[]): Promise<Child> {
  const child = fork(fileURLToPath(import.meta.url), args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ask = (cmd: Msg, reply: string) =>
    new Promise<Msg>((resolve) => {
      const on = (msg: Msg) => {
        if (msg.cmd !== reply) return;
        child.off("message", on);
        resolve(msg);
      };
      child.on("message", on);
      child.send(cmd);
    });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.send({ cmd: "exit" });
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${args[0]} process exited with ${code}`)));
    child.on("message", (msg: Msg) => {
      if (msg.cmd === "ready") resolve({ child, ready: msg, ask, stop });
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
const ms = (n: number) => `${n.toFixed(2)} ms`;

function githubPushBody(): string {
  const require = createRequire(import.meta.url);
  const examples = require("@octokit/webhooks-examples") as {
    name: string;
    examples: Record<string, unknown>[];
  }[];
  const push = examples.find((e) => e.name === "push")?.examples.find((p) => p.ref === "refs/heads/master");
  if (!push) throw new Error("no GitHub push example");
  return JSON.stringify({ ...push, ref: "refs/heads/main", after: "1".repeat(40) });
}

async function webhookBench(url: string) {
  const body = githubPushBody();
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  let delivery = 0;
  const send = async (dispatcher: Agent) => {
    const t0 = performance.now();
    const res = await request(`${url}/v1/webhooks/github`, {
      method: "POST",
      dispatcher,
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": `bench-${++delivery}`,
        "x-hub-signature-256": signature,
      },
      body,
    });
    await res.body.dump();
    if (res.statusCode !== 202) throw new Error(`webhook answered ${res.statusCode}`);
    return performance.now() - t0;
  };
  const single = new Agent({ connections: 1 });
  for (let i = 0; i < 500; i++) await send(single); // warm-up: JIT, keep-alive
  const sequential: number[] = [];
  for (let i = 0; i < 5000; i++) sequential.push(await send(single));
  await single.close();

  const concurrency = 32;
  const total = 20_000;
  const pool = new Agent({ connections: concurrency });
  const loaded: number[] = [];
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        loaded.push(await send(pool));
      }
    }),
  );
  const rate = loaded.length / ((performance.now() - t0) / 1000);
  await pool.close();
  return {
    sequential: sequential.sort((a, b) => a - b),
    loaded: loaded.sort((a, b) => a - b),
    rate,
    bodyBytes: body.length,
    sent: delivery,
  };
}

function statusBody(i: number, n: number): string {
  return JSON.stringify({
    node: nodeOf(i),
    agentVersion: "0.1.0",
    desiredHash: `sha256:${"a".repeat(64)}`,
    appliedHash: `sha256:${"a".repeat(64)}`,
    appliedCommit: "b".repeat(40),
    phase: n % 10 === 0 ? "applying" : "converged",
    observedAt: new Date().toISOString(),
    workloads: Array.from({ length: 5 }, (_, w) => ({
      id: `app${w}-0`,
      app: `app${w}`,
      state: "running",
      health: "healthy",
      specHash: `sha256:${"c".repeat(64)}`,
      hostPort: 20000 + w,
      restarts: 0,
      operation: null,
    })),
    ingress: null,
  });
}

async function statusBench(url: string, server: Child, fleet: Child) {
  const durationMs = 30_000;
  const publishEveryMs = 5_000;
  const dispatcher = new Agent({ connections: 64 });
  const puts: { start: number; ms: number }[] = [];
  const wakes: number[][] = [];
  const windows: [number, number][] = [];
  const cpuPerPublish: number[] = [];
  let errors = 0;
  let sent = 0;
  const inflight: Promise<void>[] = [];
  const put = async (i: number, n: number) => {
    const t0 = performance.now();
    const start = now();
    try {
      const res = await request(`${url}/v1/nodes/${nodeOf(i)}/status`, {
        method: "PUT",
        dispatcher,
        headers: { authorization: `Bearer ${tokenOf(i)}`, "content-type": "application/json" },
        body: statusBody(i, n),
      });
      await res.body.dump();
      if (res.statusCode !== 204) errors++;
      puts.push({ start, ms: performance.now() - t0 });
    } catch {
      errors++;
    }
  };
  // Warm-up: one publish and a few hundred PUTs before measuring (JIT, ajv compile, buffers).
  for (let n = 0; n < 300; n++) await put(n % nodeCount, n);
  puts.length = 0;
  await fleet.ask({ cmd: "watch" }, "watching");
  await server.ask({ cmd: "publish" }, "published");
  await fleet.ask({ cmd: "collect", at: now() }, "collected");
  // Publishes run beside the PUTs: the PUT pacing below never waits for them.
  const publisher = (async () => {
    for (let t = publishEveryMs; t < durationMs; t += publishEveryMs) {
      await sleep(publishEveryMs);
      await fleet.ask({ cmd: "watch" }, "watching");
      const at = now();
      await server.ask({ cmd: "publish" }, "published");
      const reply = await fleet.ask({ cmd: "collect", at }, "collected");
      const delays = reply.delays as number[];
      wakes.push(delays);
      windows.push([at, at + (delays.at(-1) ?? 0)]);
      cpuPerPublish.push((await server.ask({ cmd: "cpu" }, "cpu")).ms as number);
    }
  })();
  const t0 = performance.now();
  while (performance.now() - t0 < durationMs) {
    const due = Math.floor((performance.now() - t0) / 10); // 100 per second
    while (sent < due) {
      const n = sent++;
      inflight.push(put(n % nodeCount, n));
    }
    await sleep(2);
  }
  await Promise.all(inflight);
  await publisher;
  await dispatcher.close();
  const during = (p: { start: number; ms: number }) =>
    windows.some(([a, b]) => p.start + p.ms >= a && p.start <= b);
  const sorted = (list: { ms: number }[]) => list.map((p) => p.ms).sort((a, b) => a - b);
  return {
    latencies: sorted(puts),
    quiet: sorted(puts.filter((p) => !during(p))),
    busy: sorted(puts.filter(during)),
    errors,
    rate: sent / (durationMs / 1000),
    wakes,
    cpuPerPublish,
  };
}

async function main(): Promise<void> {
  const server = await spawnSelf(["--serve"]);
  const url = server.ready.url as string;
  let fleet: Child | undefined;
  try {
    const wh = await webhookBench(url);
    const afterWebhooks = await server.ask({ cmd: "stats" }, "stats");
    fleet = await spawnSelf(["--agents", url]);
    const st = await statusBench(url, server, fleet);
    const stats = await server.ask({ cmd: "stats" }, "stats");
    const fleetErrors = ((await fleet.ask({ cmd: "collect", at: now() }, "collected")).errors as number) ?? 0;
    const wakeP99 = st.wakes.map((d) => percentile(d, 99));
    const wakeP50 = st.wakes.map((d) => percentile(d, 50));
    const rows: [string, string, string][] = [
      [
        `webhook ack p50, one at a time (${wh.sequential.length} GitHub pushes of ${wh.bodyBytes} B)`,
        ms(percentile(wh.sequential, 50)),
        "",
      ],
      ["webhook ack p99, one at a time", ms(percentile(wh.sequential, 99)), "≤ 5 ms"],
      [
        `webhook throughput, 32 connections (${wh.loaded.length} deliveries)`,
        `${Math.round(wh.rate)}/s`,
        "≥ 2,000/s",
      ],
      ["webhook ack p99 at that throughput", ms(percentile(wh.loaded, 99)), ""],
      ["reconciles triggered / deliveries sent", `${afterWebhooks.triggers} / ${wh.sent}`, "equal"],
      [
        `status PUT p50 (${st.latencies.length} at ${Math.round(st.rate)}/s; ${nodeCount} agents long-polling)`,
        ms(percentile(st.latencies, 50)),
        "",
      ],
      ["status PUT p99 (publishes waking all agents included)", ms(percentile(st.latencies, 99)), "≤ 50 ms"],
      ["status PUT max", ms(st.latencies.at(-1) ?? Number.NaN), ""],
      [
        `status PUT p99 while a publish wakes the agents (${st.busy.length} PUTs)`,
        ms(percentile(st.busy, 99)),
        "",
      ],
      [`status PUT p99 between publishes (${st.quiet.length} PUTs)`, ms(percentile(st.quiet, 99)), ""],
      ["status PUT errors / agent long-poll errors", `${st.errors} / ${fleetErrors}`, "0 / 0"],
      [
        `publish → agent holds the new document, p50 (${st.wakes.length} publishes)`,
        ms(Math.max(...wakeP50)),
        "",
      ],
      ["publish → agent holds the new document, p99 (worst publish)", ms(Math.max(...wakeP99)), ""],
      [
        "agents notified per publish (fewest)",
        String(Math.min(...st.wakes.map((d) => d.length))),
        String(nodeCount),
      ],
      [
        "server CPU from a publish until all agents notified (median; incl. PUTs)",
        ms(
          [...st.cpuPerPublish].sort((a, b) => a - b)[Math.floor(st.cpuPerPublish.length / 2)] ?? Number.NaN,
        ),
        "",
      ],
      [
        "server RSS at the end / peak",
        `${((stats.rss as number) / 2 ** 20).toFixed(0)} / ${((stats.maxRss as number) / 2 ** 20).toFixed(0)} MB`,
        "≤ 300 MB",
      ],
    ];
    console.log(
      `machine: ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)} at the end`,
    );
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`${"figure".padEnd(width)}  ${"measured".padStart(12)}  goal`);
    for (const [name, value, goal] of rows)
      console.log(`${name.padEnd(width)}  ${value.padStart(12)}  ${goal}`);
  } finally {
    await fleet?.stop();
    await server.stop();
  }
}

if (process.argv.includes("--serve")) await serve();
else if (process.argv.includes("--agents"))
  await agents(process.argv[process.argv.indexOf("--agents") + 1] as string);
else await main();
