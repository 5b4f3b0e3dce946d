// Benchmark of the operations page (reconciler/ui) on generated repos (bench/gen-repo.ts) served by
// a real reconciler and API server in this process, with every node's status reported as an agent
// would (all healthy but a few failing apps):
//   1,000 apps / 100 nodes / 1,000 domains:
//     overview server time (the request log's duration, GET / with brotli) p50/p95 — goal p95 ≤ 100 ms;
//     bytes transferred compressed (brotli, and gzip for comparison) — goal ≤ 150 KB;
//     event → visible update in a real browser (Debian's chromium): a node reports an app
//     unhealthy (or healthy again) and the open overview shows it — goal ≤ 1 s, p95 of 20;
//   10,000 apps / 1,000 nodes / 5,000 domains: the overview (first page of 1,000 apps) and the
//     "needs attention" filter — goal ≤ 1 s and < 2 MB.
// Everything talks to 127.0.0.1. Run: npx tsx bench/ui.bench.ts [--no-large] [--no-browser]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { Agent, request } from "undici";
import { EventBus } from "../reconciler/events.js";
import { startApiServer } from "../reconciler/http/server.js";
import { createMetrics } from "../reconciler/metrics.js";
import { createReconciler, type Reconciler } from "../reconciler/reconciler.js";
import type { NodeStatus, WorkloadStatus } from "../schema/index.js";
import { launchBrowser } from "../test/helpers/browser.js";
import { generateRepo } from "./gen-repo.js";
import { machineSpeed, pct } from "./support.js";

const TOKEN = "berth_bench-admin-token";
const temps: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

interface Served {
  url: string;
  reconciler: Reconciler;
  /** Server-side durations (ms) of requests by route, from the API's request log. */
  durations: Map<string, number[]>;
  close(): Promise<void>;
}

async function serveRepo(opts: {
  apps: number;
  nodes: number;
  domains: number;
  failing: number;
}): Promise<Served> {
  const dir = temp("berth-bench-ui-");
  await generateRepo(dir, { ...opts, seed: 16 });
  const events = new EventBus({ capacity: 1000 });
  const quiet = pino({ level: "warn" }, pino.destination({ dest: "/dev/null", sync: false }));
  const reconciler = await createReconciler({ repoDir: dir, events, logger: quiet, statusBatchMs: 60_000 });
  const published = new Promise<void>((resolve) => {
    const off = events.subscribe((e) => {
      if (e.type === "published") {
        off();
        resolve();
      }
    });
  });
  await reconciler.start();
  await published;
  await reconciler.idle();
  // Every agent holds its long-poll open, as real agents do: the reconciler vouches for them.
  const releases = reconciler.nodes().map((n) => reconciler.contacts.hold(n.node, Date.now()));
  // Every node reports its workloads running and healthy, except `failing` apps' first replica.
  const failingApps = new Set<string>();
  for (const n of reconciler.nodes()) {
    const doc = reconciler.desired(n.node);
    if (!doc) continue;
    const workloads: WorkloadStatus[] = doc.workloads.map((w) => {
      const fail = failingApps.size < opts.failing && w.replica === 0 && !failingApps.has(w.app);
      if (fail) failingApps.add(w.app);
      return {
        id: w.id,
        app: w.app,
        state: fail ? "failed" : "running",
        health: "healthy",
        specHash: fail ? `sha256:${"0".repeat(64)}` : w.specHash,
        hostPort: w.hostPort,
        restarts: 0,
        operation: fail
          ? {
              status: "backoff",
              step: `replace ${w.id}: image changed`,
              attempt: 3,
              retryable: true,
              lastError: "new instance never became healthy: GET /healthz: HTTP 503",
            }
          : null,
      };
    });
    reconciler.reportStatus(n.node, status(n.node, doc.hash, doc.source.commit, workloads));
  }
  const durations = new Map<string, number[]>();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) {
        if (!line.includes('"route":"ui-')) continue;
        const l = JSON.parse(line) as { route: string; ms: number };
        const list = durations.get(l.route) ?? [];
        list.push(l.ms);
        durations.set(l.route, list);
      }
      cb();
    },
  });
  const api = await startApiServer({
    listen: "127.0.0.1:0",
    backend: reconciler,
    events,
    metrics: createMetrics({ processMetrics: false }),
    logger: pino({ level: "debug" }, sink),
    apiToken: TOKEN,
  });
  return {
    url: api.url,
    reconciler,
    durations,
    async close() {
      for (const release of releases) release(Date.now());
      await api.close();
      await reconciler.stop();
    },
  };
}

function status(node: string, hash: string, commit: string, workloads: WorkloadStatus[]): NodeStatus {
  const failing = workloads.some((w) => w.state !== "running" || w.health !== "healthy");
  return {
    node,
    agentVersion: "bench",
    desiredHash: hash,
    appliedHash: failing ? null : hash,
    appliedCommit: commit,
    phase: failing ? "degraded" : "converged",
    observedAt: new Date().toISOString(),
    workloads,
    ingress: null,
  };
}

const client = new Agent({ headersTimeout: 60_000, bodyTimeout: 60_000 });

async function get(url: string, enc: string): Promise<{ status: number; bytes: number; ms: number }> {
  const t = performance.now();
  const res = await request(url, {
    headers: { authorization: `Bearer ${TOKEN}`, accept: "text/html", "accept-encoding": enc },
    dispatcher: client,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, bytes: body.length, ms: performance.now() - t };
}

/** Server time and bytes of `path`, `n` requests after 5 warm-up ones. */
async function measure(s: Served, path: string, route: string, n: number) {
  for (let i = 0; i < 5; i++) await get(`${s.url}${path}`, "br");
  s.durations.set(route, []);
  const client: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const r = await get(`${s.url}${path}`, "br");
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
    client.push(r.ms);
    bytes = r.bytes;
  }
  const gz = await get(`${s.url}${path}`, "gzip");
  const plain = await get(`${s.url}${path}`, "identity");
  await new Promise((r) => setTimeout(r, 50)); // the request log line follows the response
  const server = s.durations.get(route) ?? [];
  return { server, client, br: bytes, gzip: gz.bytes, plain: plain.bytes };
}

/** A node reports one of its apps unhealthy (or healthy again); the open page must show it. */
async function eventToVisible(s: Served, rounds: number): Promise<number[]> {
  const b = await launchBrowser();
  const out: number[] = [];
  try {
    const login = await request(`${s.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${TOKEN}&next=/`,
      dispatcher: client,
    });
    await login.body.dump();
    const cookie = String(login.headers["set-cookie"]).split(";")[0] as string;
    const [name, value] = cookie.split("=") as [string, string];
    const ctx = b.browser.contexts()[0] ?? (await b.browser.newContext());
    await ctx.addCookies([{ name, value, url: s.url }]);
    const page = await ctx.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${s.url}/`);
    await page.waitForSelector("#live[data-state=open]");
    // An app that is healthy now, on its first node.
    const nodes = s.reconciler.nodes();
    const target = nodes.find((n) => n.status?.workloads.some((w) => w.state === "running"));
    if (!target?.status) throw new Error("no healthy node to change");
    const w0 = target.status.workloads.find((w) => w.state === "running") as WorkloadStatus;
    const doc = s.reconciler.desired(target.node);
    if (!doc) throw new Error("no document");
    for (let i = 0; i < rounds; i++) {
      const sick = i % 2 === 0;
      const want = sick ? "unhealthy" : "ok";
      const workloads = (
        s.reconciler.nodes().find((n) => n.node === target.node)?.status?.workloads ?? []
      ).map((w) =>
        w.id === w0.id ? { ...w, health: sick ? ("unhealthy" as const) : ("healthy" as const) } : w,
      );
      const t0 = performance.now();
      s.reconciler.reportStatus(target.node, status(target.node, doc.hash, doc.source.commit, workloads));
      await page.waitForFunction(
        ([id, attention]) =>
          (
            globalThis as unknown as {
              document: { getElementById(i: string): { dataset: Record<string, string> } | null };
            }
          ).document.getElementById(id)?.dataset.attention === attention,
        [`app-${w0.app}`, want] as const,
        { polling: "raf" },
      );
      // Visible means painted: the frame after the change has started, so the change's frame is done.
      await page.evaluate(
        () =>
          new Promise<void>((done) => {
            const raf = (globalThis as unknown as { requestAnimationFrame(cb: () => void): void })
              .requestAnimationFrame;
            raf(() => raf(() => done()));
          }),
      );
      out.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await b.close();
  }
  return out;
}

const f = (ms: number) => `${ms.toFixed(1)} ms`;
const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

function table(rows: [string, string, string][]): void {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${"figure".padEnd(w0)}  ${"measured".padEnd(w1)}  goal`);
  for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`);
}

async function main(): Promise<void> {
  console.log(
    `machine: load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; calibration ${machineSpeed().toFixed(0)} ms`,
  );
  const rows: [string, string, string][] = [];
  try {
    const s = await serveRepo({ apps: 1000, nodes: 100, domains: 1000, failing: 10 });
    const m = await measure(s, "/", "ui-overview", 60);
    rows.push(
      ["1,000 apps: overview server time p50", f(pct(m.server, 50)), ""],
      ["1,000 apps: overview server time p95", f(pct(m.server, 95)), "≤ 100 ms"],
      ["1,000 apps: overview round trip p95 (client)", f(pct(m.client, 95)), ""],
      ["1,000 apps: overview transferred (brotli)", kb(m.br), "≤ 150 KB"],
      ["1,000 apps: overview transferred (gzip)", kb(m.gzip), ""],
      ["1,000 apps: overview uncompressed", kb(m.plain), ""],
    );
    const frag = await measure(s, "/ui/fragments/overview?nodes=node-0001", "ui-fragment-overview", 40);
    rows.push(
      ["1,000 apps: one node's fragment server time p95", f(pct(frag.server, 95)), ""],
      ["1,000 apps: one node's fragment (brotli)", kb(frag.br), ""],
    );
    if (!process.argv.includes("--no-browser")) {
      const lat = await eventToVisible(s, 20);
      rows.push(
        ["1,000 apps: event → visible in chromium, p50", f(pct(lat, 50)), ""],
        ["1,000 apps: event → visible in chromium, p95", f(pct(lat, 95)), "≤ 1,000 ms"],
      );
    }
    await s.close();
    if (!process.argv.includes("--no-large")) {
      const l = await serveRepo({ apps: 10_000, nodes: 1_000, domains: 5_000, failing: 50 });
      const big = await measure(l, "/", "ui-overview", 20);
      rows.push(
        ["10,000 apps: overview (page 1 of 10) server time p95", f(pct(big.server, 95)), "≤ 1,000 ms"],
        ["10,000 apps: overview transferred (brotli)", kb(big.br), "< 2 MB"],
        ["10,000 apps: overview uncompressed", kb(big.plain), ""],
      );
      const att = await measure(l, "/?attention=1", "ui-overview", 20);
      rows.push(
        ["10,000 apps: needs-attention filter server time p95", f(pct(att.server, 95)), "≤ 1,000 ms"],
        ["10,000 apps: needs-attention filter transferred (brotli)", kb(att.br), "< 2 MB"],
      );
      await l.close();
    }
  } finally {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
    await client.close();
  }
  table(rows);
  console.log(
    `machine after: load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; calibration ${machineSpeed().toFixed(0)} ms`,
  );
}

await main();
