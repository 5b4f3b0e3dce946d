// Benchmark: what a slow-connection flood costs berth's agents. `berth serve` (a child process, on
// a repo of 20 nodes, each with one app pinned to it) serves 20 agents that long-poll their
// desired document and report statuses (20 PUTs per second in all, fresh keep-alive connections).
// A commit every 3 s changes every node's document; the figure is the time from the commit to the
// agent holding the new document (long-poll p99), and the status PUT p99. Both are measured 30 s
// without a flood, then 30 s during a sustained flood run by a third process: 1,500 connections on
// the API listener from 94 loopback addresses (idle, slowloris headers) and 900 on the webhook
// listener (idle, slowloris, trickled signed-looking bodies); every connection the server cuts is
// replaced. Goal: the p99s during the flood stay within 2× the quiet ones (and no request fails).
// Run: npx tsx bench/flood.bench.ts   (127.0.0.1 only)
import { type ChildProcess, fork, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { type Flood, startFlood } from "../test/helpers/flood.js";
import { git, machineSpeed, pct } from "./support.js";

const nodes = 20;
const phaseMs = 30_000;
const root = fileURLToPath(new URL("../", import.meta.url));
const tokenOf = (i: number) => `bench-flood-token-${i}`;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ---------------------------------------------------------------- flood process
if (process.argv[2] === "--flood") {
  const [api, hooks] = [Number(process.argv[3]), Number(process.argv[4])];
  const common = { tickMs: 1_000, maxMs: phaseMs + 10_000, sustain: true };
  const floods: Flood[] = [
    startFlood({ ...common, port: api, count: 1500, kinds: ["idle", "headers"], octet: 10 }),
    startFlood({ ...common, port: hooks, count: 900, kinds: ["idle", "headers", "body"], octet: 1 }),
  ];
  process.on("message", () => {
    for (const f of floods) f.stop();
    process.send?.({
      opened: floods.reduce((n, f) => n + f.started(), 0),
      cut: floods.reduce((n, f) => n + f.stats.closedByServer, 0),
    });
    setTimeout(() => process.exit(0), 100);
  });
  process.send?.({ ready: true });
} else {
  await main();
}

function app(i: number, tag: number): string {
  return `kind: App\nname: app-${i}\nimage: nginx:1.${tag}\nport: 8080\nreplicas: 1\nplacement:\n  nodes: [node-${i}]\n`;
}

async function makeRepo(dir: string): Promise<void> {
  mkdirSync(join(dir, "nodes"), { recursive: true });
  mkdirSync(join(dir, "apps"), { recursive: true });
  writeFileSync(join(dir, "berth.yaml"), "kind: Settings\nbranch: main\n");
  for (let i = 0; i < nodes; i++) {
    writeFileSync(
      join(dir, `nodes/node-${i}.yaml`),
      `kind: Node\nname: node-${i}\naddress: 10.0.1.${i + 1}\nruntime: podman\nroles: [worker]\ntokenSha256: ${sha(tokenOf(i))}\n`,
    );
    writeFileSync(join(dir, `apps/app-${i}.yaml`), app(i, 0));
  }
  await git(dir, "init", "-q", "-b", "main");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "flood bench");
}

async function commitAll(dir: string, tag: number): Promise<number> {
  for (let i = 0; i < nodes; i++) writeFileSync(join(dir, `apps/app-${i}.yaml`), app(i, tag));
  await git(dir, "commit", "-q", "-am", `tag ${tag}`);
  return performance.timeOrigin + performance.now();
}

function statusBody(i: number, n: number): string {
  return JSON.stringify({
    node: `node-${i}`,
    agentVersion: `0.1.${n}`,
    desiredHash: `sha256:${"a".repeat(64)}`,
    appliedHash: null,
    appliedCommit: null,
    phase: "applying",
    observedAt: new Date().toISOString(),
    workloads: [],
    ingress: null,
  });
}

interface Phase {
  notify: number[];
  puts: number[];
  errors: string[];
}

/** 20 agents long-polling and a 20/s status load for `phaseMs`; a commit every 3 s. */
async function phase(url: string, repo: string, tagFrom: number): Promise<Phase> {
  const out: Phase = { notify: [], puts: [], errors: [] };
  const dispatcher = new Agent({ connections: nodes * 2, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const etags = new Map<number, string>();
  let committedAt = 0;
  let running = true;
  const poll = async (i: number) => {
    while (running) {
      try {
        const etag = etags.get(i);
        const res = await request(`${url}/v1/nodes/node-${i}/desired?wait=30`, {
          dispatcher,
          headers: { authorization: `Bearer ${tokenOf(i)}`, ...(etag ? { "if-none-match": etag } : {}) },
        });
        await res.body.dump();
        if (res.statusCode === 200) {
          if (etag && committedAt) out.notify.push(performance.timeOrigin + performance.now() - committedAt);
          etags.set(i, String(res.headers.etag));
        } else if (res.statusCode !== 304) out.errors.push(`long-poll ${res.statusCode}`);
      } catch (err) {
        if (running) out.errors.push(`long-poll ${(err as Error).message}`);
        await sleep(100);
      }
    }
  };
  const polls = Array.from({ length: nodes }, (_, i) => poll(i));
  while (etags.size < nodes) await sleep(20);
  const t0 = performance.now();
  let sent = 0;
  const inflight: Promise<void>[] = [];
  let tag = tagFrom;
  let nextCommit = 3_000;
  while (performance.now() - t0 < phaseMs) {
    const elapsed = performance.now() - t0;
    if (elapsed >= nextCommit) {
      nextCommit += 3_000;
      committedAt = await commitAll(repo, ++tag);
    }
    const due = Math.floor(elapsed / 50); // 20 per second
    while (sent < due) {
      const n = sent++;
      const i = n % nodes;
      const start = performance.now();
      inflight.push(
        request(`${url}/v1/nodes/node-${i}/status`, {
          method: "PUT",
          dispatcher,
          headers: { authorization: `Bearer ${tokenOf(i)}`, "content-type": "application/json" },
          body: statusBody(i, n),
        })
          .then(async (r) => {
            await r.body.dump();
            if (r.statusCode !== 204) out.errors.push(`PUT ${r.statusCode}`);
            out.puts.push(performance.now() - start);
          })
          .catch((err: Error) => {
            out.errors.push(`PUT ${err.message}`);
          }),
      );
    }
    await sleep(5);
  }
  await Promise.all(inflight);
  await sleep(3_000); // the last commit's notifications
  running = false;
  await dispatcher.destroy();
  await Promise.allSettled(polls);
  return out;
}

async function main(): Promise<void> {
  const speed = machineSpeed();
  const work = mkdtempSync(join(tmpdir(), "berth-flood-bench-"));
  const repo = join(work, "repo");
  mkdirSync(repo);
  await makeRepo(repo);
  const secretFile = join(work, "secret");
  writeFileSync(secretFile, "flood-bench-secret");
  const built = existsSync(join(root, "dist/bin/main.js"));
  const cli = built ? [join(root, "dist/bin/main.js")] : ["--import", "tsx", join(root, "cli/main.ts")];
  const serve: ChildProcess = spawn(
    process.execPath,
    [
      ...cli,
      "serve",
      "--repo",
      repo,
      "--listen",
      "127.0.0.1:0",
      "--webhook-listen",
      "127.0.0.1:0",
      "--webhook-secret-file",
      secretFile,
      "--status-batch",
      "2",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  serve.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  let flood: ChildProcess | undefined;
  try {
    const deadline = Date.now() + 60_000;
    while (!/"msg":"published"/.test(log) || !/"webhookUrl"/.test(log)) {
      if (Date.now() > deadline || serve.exitCode !== null) throw new Error(`serve did not start:\n${log}`);
      await sleep(50);
    }
    const url = /"url":"(http:[^"]+)"/.exec(log)?.[1] as string;
    const hooks = /"webhookUrl":"(http:[^"]+)"/.exec(log)?.[1] as string;
    const pid = serve.pid as number;
    let cpu0 = cpuSeconds(pid);
    let wall0 = performance.now();
    const quiet = await phase(url, repo, 0);
    const quietCpu = (cpuSeconds(pid) - cpu0) / ((performance.now() - wall0) / 1000);
    flood = fork(fileURLToPath(import.meta.url), ["--flood", new URL(url).port, new URL(hooks).port], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    await new Promise((r) => flood?.once("message", r));
    await sleep(2_000); // the flood is in place
    cpu0 = cpuSeconds(pid);
    const flood0 = cpuSeconds(flood.pid as number);
    wall0 = performance.now();
    const busy = await phase(url, repo, 100);
    const wall = (performance.now() - wall0) / 1000;
    const busyCpu = (cpuSeconds(pid) - cpu0) / wall;
    const floodCpu = (cpuSeconds(flood.pid as number) - flood0) / wall;
    const floodStats = await new Promise<{ opened: number; cut: number }>((resolve) => {
      flood?.once("message", (m) => resolve(m as { opened: number; cut: number }));
      flood?.send("stop");
    });
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const rows: [string, string, string][] = [
      [
        `long-poll: commit → agent holds the new document, p99 (${quiet.notify.length} notifications), no flood`,
        ms(pct(quiet.notify, 99)),
        "",
      ],
      [
        `long-poll p99 during the flood (${busy.notify.length} notifications)`,
        ms(pct(busy.notify, 99)),
        `≤ 2 × ${ms(pct(quiet.notify, 99))}`,
      ],
      [`status PUT p99 (${quiet.puts.length} PUTs at 20/s), no flood`, ms(pct(quiet.puts, 99)), ""],
      [
        `status PUT p99 during the flood (${busy.puts.length} PUTs)`,
        ms(pct(busy.puts, 99)),
        `≤ 2 × ${ms(pct(quiet.puts, 99))}`,
      ],
      ["status PUT p50 no flood / flood", `${ms(pct(quiet.puts, 50))} / ${ms(pct(busy.puts, 50))}`, ""],
      ["failed agent requests no flood / flood", `${quiet.errors.length} / ${busy.errors.length}`, "0 / 0"],
      [
        `flood connections opened / cut by the server`,
        `${floodStats.opened} / ${floodStats.cut}`,
        "(2,400 open at once)",
      ],
      [
        "CPU of berth serve no flood / flood (of one core)",
        `${(quietCpu * 100).toFixed(0)} % / ${(busyCpu * 100).toFixed(0)} %`,
        "",
      ],
      ["CPU of the flooding process (of one core)", `${(floodCpu * 100).toFixed(0)} %`, ""],
    ];
    console.log(
      `flood bench: ${nodes} agents, ${phaseMs / 1000} s per phase; ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)}, calibration ${speed.toFixed(0)} ms (machineSpeed; lower is faster); CLI from ${built ? "dist/bin" : "tsx"}`,
    );
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`${"figure".padEnd(width)}  ${"measured".padStart(16)}  goal`);
    for (const [name, value, goal] of rows)
      console.log(`${name.padEnd(width)}  ${value.padStart(16)}  ${goal}`);
    for (const e of [...quiet.errors, ...busy.errors].slice(0, 5)) console.log(`  error: ${e}`);
  } finally {
    flood?.kill("SIGKILL");
    serve.kill("SIGTERM");
    await new Promise((r) => serve.once("exit", r));
    rmSync(work, { recursive: true, force: true });
  }
}
