// Benchmark of the reconciler's publish latency on the single-host example (examples/single-host):
//   local   a repo on disk, watched: `git commit` (native git) → desired state published, over 50
//           commits that each change an app's env (so every commit is a real publish);
//   remote  a bare repo behind a real git smart-HTTP server (git http-backend): commit, `git push`,
//           then a signed GitHub push webhook to the real API server → fetch into the bare cache →
//           evaluate → commit → push of the desired branch → published, over 50 pushes.
// Figures are p50/p95 in ms beside the goals (local p50 ≤ 50 ms, remote p50 ≤ 250 ms), plus the
// reconciler's own detection → published time from its `published` events. The local case runs
// twice more with berth's alerting busy beside it: a deploy-failed alert reminding every 250 ms (a
// state commit on the alerts branch each time), sent to two receivers that answer at once, then
// to one that answers after 2 s and one that answers 500 (retried): slow or failing receivers
// must not slow publishing down (the two runs compare). Everything talks to 127.0.0.1
// only. Run: npx tsx bench/reconciler.bench.ts [--commits N]
import { fork } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { createAlerting } from "../reconciler/alerts/wire.js";
import type { BerthEvent } from "../reconciler/contracts.js";
import { EventBus } from "../reconciler/events.js";
import { startApiServer } from "../reconciler/http/server.js";
import { createMetrics } from "../reconciler/metrics.js";
import { createReconciler } from "../reconciler/reconciler.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import { exampleRepo, git, pct } from "./support.js";

const commitsArg = process.argv.indexOf("--commits");
const N = commitsArg > 0 ? Number(process.argv[commitsArg + 1]) : 50;
const secret = "bench-webhook-secret";
const logger = pino({ level: "info" }, pino.destination({ dest: "/dev/null", sync: false }));
const temps: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

const newExampleRepo = () => exampleRepo(temp("berth-bench-repo-"));

/** Changes hello's GREETING, which changes its workloads: every commit is a real publish. */
async function bump(dir: string, i: number): Promise<void> {
  const { readFile, writeFile } = await import("node:fs/promises");
  const file = join(dir, "apps/hello.yaml");
  const text = await readFile(file, "utf8");
  await writeFile(file, text.replace(/GREETING: .*/, `GREETING: Hello number ${i}`));
  await git(dir, "commit", "-q", "-am", `greeting ${i}`);
}

function nextPublish(events: EventBus): Promise<BerthEvent> {
  return new Promise((resolve) => {
    const off = events.subscribe((e) => {
      if (e.type === "published") {
        off();
        resolve(e);
      }
    });
  });
}

/** Per-stage times of the reconciler's runs (from published events), for the breakdown line. */
type Stages = Record<string, number[]>;
function addStages(into: Stages, e: BerthEvent): void {
  for (const [k, v] of Object.entries((e.data.timings ?? {}) as Record<string, number>)) {
    const list = into[k] ?? [];
    list.push(v);
    into[k] = list;
  }
}
function stagesLine(stages: Stages): string {
  return Object.entries(stages)
    .map(([k, v]) => `${k} ${pct(v, 50).toFixed(1)}`)
    .join(", ");
}

/** Wall-clock now in ms with sub-ms precision, comparable with file mtimes. */
const wallNow = () => performance.timeOrigin + performance.now();

/** A receiver that answers after `delayMs` with `status`; counts requests. */
async function receiver(
  delayMs: number,
  status: number,
): Promise<{ url: string; count: () => number; server: Server }> {
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    req.resume();
    setTimeout(() => res.writeHead(status).end(), delayMs).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, count: () => n, server };
}

async function benchLocal(alerts: "none" | "fast" | "slow" = "none"): Promise<{
  total: number[];
  fromRef: number[];
  inside: number[];
  stages: Stages;
  deliveries?: number;
}> {
  const dir = await newExampleRepo();
  const events = new EventBus();
  const withAlerts = alerts !== "none";
  const slow = withAlerts ? await receiver(alerts === "slow" ? 2_000 : 0, 204) : undefined;
  const failing = withAlerts ? await receiver(0, alerts === "slow" ? 500 : 204) : undefined;
  if (slow && failing) {
    appendFileSync(
      join(dir, "berth.yaml"),
      [
        "alerts:",
        "  receivers:",
        `    - { name: slow, kind: webhook, url: "${slow.url}" }`,
        `    - { name: failing, kind: webhook, url: "${failing.url}" }`,
        "  rules:",
        "    - { kind: deploy-failed, repeatInterval: 250ms }",
        "",
      ].join("\n"),
    );
    await git(dir, "commit", "-q", "-am", "alerts to a slow and a failing receiver");
  }
  const alerting = withAlerts
    ? createAlerting({ events, logger, secrets: new Map(), owner: "bench", tickMs: 50 })
    : undefined;
  const r = await createReconciler({
    repoDir: dir,
    events,
    logger,
    ...(alerting
      ? {
          observers: [alerting.observer],
          extraRoles: alerting.extraRoles,
          onConfig: (s) => alerting.service.configure(s),
        }
      : {}),
  });
  const first = nextPublish(events);
  await r.start();
  if (alerting) await alerting.service.start(r, r.branches());
  await first;
  // No agent runs here: one report (as the API would hand it in) says hello failed, and stays.
  if (alerting) {
    r.reportStatus("local", {
      node: "local",
      agentVersion: "bench",
      desiredHash: null,
      appliedHash: null,
      appliedCommit: null,
      phase: "failed",
      ingress: null,
      workloads: [
        {
          id: "hello-0",
          app: "hello",
          state: "failed",
          health: "unhealthy",
          specHash: null,
          operation: {
            status: "failed",
            step: "start hello-0",
            attempt: 1,
            retryable: true,
            lastError: "exit 1",
          },
        },
      ],
    });
  }
  const total: number[] = [];
  const fromRef: number[] = [];
  const inside: number[] = [];
  const stages: Stages = {};
  for (let i = 0; i < N + 3; i++) {
    const published = nextPublish(events).then((e) => ({ e, at: wallNow() }));
    const t0 = performance.now();
    await bump(dir, i);
    const { e, at } = await published;
    const ms = performance.now() - t0;
    // The commit exists from the moment git renames the new ref into place.
    const refWritten = statSync(join(dir, ".git/refs/heads/main")).mtimeMs;
    const head = await git(dir, "rev-parse", "HEAD");
    if (e.data.commit !== head) throw new Error(`published ${String(e.data.commit)}, expected ${head}`);
    // The first few warm the caches and the JIT.
    if (i >= 3) {
      total.push(ms);
      fromRef.push(at - refWritten);
      inside.push(e.data.latencyMs as number);
      addStages(stages, e);
    }
    await r.idle();
  }
  await r.stop();
  await alerting?.close();
  for (const s of [slow, failing]) s?.server.close();
  for (const s of [slow, failing]) s?.server.closeAllConnections();
  const deliveries = (slow?.count() ?? 0) + (failing?.count() ?? 0);
  return { total, fromRef, inside, stages, ...(withAlerts ? { deliveries } : {}) };
}

type RequestInfo = { method: string; path: string; status: number; ms: number };

/** Starts test/helpers/git-http-server.ts in a child process (this file with --git-server). */
async function gitServerProcess(
  root: string,
  onRequest: (info: RequestInfo) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), ["--git-server", root], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.on("message", (m: { url?: string; request?: RequestInfo }) => {
      if (m.url) resolve(m.url);
      if (m.request) onRequest(m.request);
    });
  });
  return {
    url,
    close: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

async function serveGit(root: string): Promise<void> {
  const send = (m: object) => process.send?.(m);
  const server = await startGitHttpServer({ root, onRequest: (request) => send({ request }) });
  send({ url: server.url });
  process.once("SIGTERM", () => {
    void server.close().then(() => process.exit(0));
  });
}

async function benchRemote(): Promise<{
  total: number[];
  inside: number[];
  ack: number[];
  stages: Stages;
  serverMs: Stages;
}> {
  const work = await newExampleRepo();
  const root = temp("berth-bench-remote-");
  const bare = join(root, "cfg.git");
  await git(root, "init", "-q", "--bare", "-b", "main", bare);
  await git(work, "push", "-q", bare, "main");
  const serverMs: Record<string, number[]> = {};
  let counting = false;
  // The git server runs in a child process, as a forge would: its CGI spawns must not be
  // charged to the reconciler's event loop.
  const server = await gitServerProcess(root, ({ method, path, ms }) => {
    if (!counting) return;
    const key = `${method} ${path.replace(/^.*\.git/, "")}`;
    const list = serverMs[key] ?? [];
    list.push(ms);
    serverMs[key] = list;
  });
  const events = new EventBus();
  const r = await createReconciler({
    remote: { url: `${server.url}/cfg.git`, cacheDir: temp("berth-bench-cache-") },
    pollIntervalMs: 3_600_000,
    events,
    logger,
  });
  const first = nextPublish(events);
  await r.start();
  await first;
  const api = await startApiServer({
    listen: "127.0.0.1:0",
    backend: r,
    events,
    metrics: createMetrics({ processMetrics: false }),
    logger,
    webhookSecret: secret,
  });
  const total: number[] = [];
  const inside: number[] = [];
  const ack: number[] = [];
  const stages: Stages = {};
  for (let i = 0; i < N + 3; i++) {
    await bump(work, i);
    await git(work, "push", "-q", bare, "main");
    const head = await git(work, "rev-parse", "HEAD");
    const body = JSON.stringify({
      ref: "refs/heads/main",
      after: head,
      repository: { full_name: "bench/hosts" },
    });
    const published = nextPublish(events);
    const t0 = performance.now();
    const res = await fetch(`${api.url}/v1/webhooks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
    const acked = performance.now() - t0;
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    const e = await published;
    const ms = performance.now() - t0;
    if (e.data.commit !== head) throw new Error(`published ${String(e.data.commit)}, expected ${head}`);
    counting = i >= 2;
    if (i >= 3) {
      total.push(ms);
      inside.push(e.data.latencyMs as number);
      ack.push(acked);
      addStages(stages, e);
    }
    await r.idle();
  }
  await api.close();
  await r.stop();
  await server.close();
  return { total, inside, ack, stages, serverMs };
}

/**
 * The large repo of the plan benchmark (10,000 apps, 1,000 nodes, 5,000 domains): the first
 * publish (cold caches) and one-app changes with warm caches, timed by the reconciler itself
 * (watch event → published) since committing 16,000 files takes git a while on its own.
 */
async function benchLarge(): Promise<{ cold: number; warm: number[]; stages: Stages }> {
  const { generateRepo, mutateOneApp } = await import("./gen-repo.js");
  const dir = temp("berth-bench-large-");
  await generateRepo(dir, { apps: 10_000, nodes: 1_000, domains: 5_000, seed: 7 });
  const events = new EventBus();
  const r = await createReconciler({ repoDir: dir, events, logger });
  const first = nextPublish(events);
  await r.start();
  const cold = (await first).data.latencyMs as number;
  const warm: number[] = [];
  const stages: Stages = {};
  for (let i = 0; i < 6; i++) {
    const published = nextPublish(events);
    await mutateOneApp(dir);
    const e = await published;
    if (i >= 1) {
      warm.push(e.data.latencyMs as number);
      addStages(stages, e);
    }
    await r.idle();
  }
  await r.stop();
  return { cold, warm, stages };
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  try {
    const local = await benchLocal();
    const fast = await benchLocal("fast");
    const busy = await benchLocal("slow");
    const remote = await benchRemote();
    const large = process.argv.includes("--no-large") ? undefined : await benchLarge();
    const rows: [string, string, string][] = [
      [
        `local: commit (ref written) → published, p50 (${local.fromRef.length} commits)`,
        fmt(pct(local.fromRef, 50)),
        "≤ 50 ms",
      ],
      ["local: commit (ref written) → published, p95", fmt(pct(local.fromRef, 95)), ""],
      ["local: `git commit` started → published, p50", fmt(pct(local.total, 50)), ""],
      ["local: watch event → published (reconciler), p50", fmt(pct(local.inside, 50)), ""],
      [
        `local, alert reminders to 2 fast receivers (${fast.deliveries} requests): commit → published, p50`,
        fmt(pct(fast.fromRef, 50)),
        "",
      ],
      ["local, alert reminders to 2 fast receivers: p95", fmt(pct(fast.fromRef, 95)), ""],
      [
        `local, same to a 2 s and a failing receiver (${busy.deliveries} requests): p50`,
        fmt(pct(busy.fromRef, 50)),
        "same as with fast receivers",
      ],
      ["local, same to a 2 s and a failing receiver: p95", fmt(pct(busy.fromRef, 95)), ""],
      [
        `remote: webhook → published, p50 (${remote.total.length} pushes)`,
        fmt(pct(remote.total, 50)),
        "≤ 250 ms",
      ],
      ["remote: webhook → published, p95", fmt(pct(remote.total, 95)), ""],
      ["remote: trigger → fetched, published, pushed (reconciler), p50", fmt(pct(remote.inside, 50)), ""],
      ["remote: webhook acknowledged (202), p50", fmt(pct(remote.ack, 50)), ""],
    ];
    if (large) {
      rows.push(
        ["large repo (10k apps, 1k nodes): first publish, cold", fmt(large.cold), ""],
        [`large repo: one-app change → published, p50 (${large.warm.length})`, fmt(pct(large.warm, 50)), ""],
      );
    }
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`${"figure".padEnd(width)}  ${"measured".padStart(10)}  goal`);
    for (const [name, value, goal] of rows)
      console.log(`${name.padEnd(width)}  ${value.padStart(10)}  ${goal}`);
    console.log(`local stages, p50 ms: ${stagesLine(local.stages)}`);
    console.log(`remote stages, p50 ms: ${stagesLine(remote.stages)}`);
    console.log(`git server time per request, p50 ms: ${stagesLine(remote.serverMs)}`);
    if (large) console.log(`large repo stages, p50 ms: ${stagesLine(large.stages)}`);
  } finally {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  }
}

const gitServerArg = process.argv.indexOf("--git-server");
if (gitServerArg > 0) await serveGit(process.argv[gitServerArg + 1] as string);
else await main();
