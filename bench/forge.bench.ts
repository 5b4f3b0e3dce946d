// Pull-request plan latency: from a signed pull_request webhook hitting the API server to the plan
// comment landing on the forge, on a generated repo of 10,000 apps / 1,000 nodes / 5,000 domains
// served by a real git smart-HTTP server, with the recording forge as GitHub (all on 127.0.0.1).
//   warm-up — at start the planner fetches the tracked branch and evaluates its tip (no goal);
//   first   — the first pull request after that;
//   push    — further pushes to the pull request (one app changed each time): the steady state;
//   new     — another pull request.
// Run: npx tsx bench/forge.bench.ts [--apps N --nodes N --domains N --rounds N]. Prints measured figures only.
import { execFile } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { request } from "undici";
import { EventBus } from "../reconciler/events.js";
import { startApiServer } from "../reconciler/http/server.js";
import { createMetrics } from "../reconciler/metrics.js";
import { createForgeIntegration } from "../reconciler/pr/forge-integration.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import { idleBackend } from "../test/helpers/idle-backend.js";
import { startRecordingForge } from "../test/helpers/recording-forge.js";
import { generateRepo, mutateOneApp } from "./gen-repo.js";
import { gitEnv } from "./support.js";

const exec = promisify(execFile);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const apps = arg("apps", 10_000);
const nodes = arg("nodes", 1_000);
const domains = arg("domains", 5_000);
const rounds = arg("rounds", 5);
const goalMs = 2000;
const secret = "bench-webhook-secret";

/** The API server needs a backend; this one publishes nothing (only webhooks are used). */
const backend = idleBackend();

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (
    await exec("git", ["-c", "gc.auto=0", ...args], { cwd, env: gitEnv, maxBuffer: 256 * 1024 * 1024 })
  ).stdout.trim();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "berth-forge-bench-"));
  const work = join(tmp, "work");
  const root = join(tmp, "served");
  const t0 = performance.now();
  await generateRepo(work, { apps, nodes, domains, seed: 7 });
  await exec("mkdir", ["-p", root]);
  await git(tmp, "clone", "-q", "--bare", work, join(root, "config.git"));
  const genMs = performance.now() - t0;

  const gitServer = await startGitHttpServer({ root });
  const remoteUrl = `${gitServer.url}/config.git`;
  const forge = await startRecordingForge({ kind: "github" });
  const logger = pino({ level: "silent" });
  const phases: { fetchMs: number; planMs: number; postMs: number }[] = [];
  const integration = createForgeIntegration({
    events: {
      emit: (type, data) => {
        if (type === "pull-request") phases.push(data as (typeof phases)[number]);
      },
    },
    forge: {
      kind: "github",
      apiUrl: forge.url,
      repo: forge.repo,
      webUrl: "https://github.example/acme/config",
    },
    token: forge.token,
    trackedBranch: "main",
    remoteUrl,
    prCacheDir: join(tmp, "pr-cache"),
    logger,
  });
  const warmStart = performance.now();
  await integration.ready();
  const warmUpMs = performance.now() - warmStart;
  const api = await startApiServer({
    listen: "127.0.0.1:0",
    backend,
    events: new EventBus(),
    metrics: createMetrics(),
    webhooks: { secret },
    logger,
    onPullRequest: (e) => integration.onPullRequest(e),
  });

  /** Pushes one more commit (one app changed) as pull request `n`'s head. */
  async function pushHead(n: number): Promise<string> {
    const { commit } = await mutateOneApp(work);
    if (!commit) throw new Error("mutateOneApp made no commit");
    await git(work, "push", "-q", "--force", remoteUrl, `${commit}:refs/pull/${n}/head`);
    return commit;
  }

  /** Webhook sent -> comment request answered by the forge, in ms. */
  async function webhookToComment(n: number, sha: string, action: "opened" | "synchronize"): Promise<number> {
    const body = JSON.stringify({
      action,
      number: n,
      pull_request: {
        number: n,
        head: { sha, ref: `bench-${n}`, repo: { clone_url: remoteUrl } },
        base: { ref: "main", repo: { clone_url: remoteUrl } },
      },
      repository: { full_name: forge.repo, clone_url: remoteUrl },
    });
    const posted = new Promise<number>((resolve) => {
      const off = forge.onRecord((r) => {
        if (
          (r.route === "create-comment" || r.route === "update-comment") &&
          JSON.stringify(r.body).includes(sha.slice(0, 7))
        ) {
          off();
          resolve(performance.now());
        }
      });
    });
    const start = performance.now();
    const res = await request(`${api.url}/v1/webhooks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
    await res.body.dump();
    if (res.statusCode !== 202) throw new Error(`webhook answered ${res.statusCode}`);
    const done = await posted;
    await integration.idle();
    return done - start;
  }

  // Pull-request commits live on their own branch of the work tree; main stays the base.
  await git(work, "checkout", "-q", "-b", "bench-pr");
  const cold = await webhookToComment(1, await pushHead(1), "opened");
  const coldPhases = phases.at(-1);
  const warm: number[] = [];
  for (let i = 0; i < rounds; i++) warm.push(await webhookToComment(1, await pushHead(1), "synchronize"));
  const warmPhases = phases.slice(-rounds);
  const fresh = await webhookToComment(2, await pushHead(2), "opened");
  const comment = forge.comments(1)[0]?.body ?? "";
  const rssMb = process.resourceUsage().maxRSS / 1024;

  await api.close();
  await integration.close();
  await forge.close();
  await gitServer.close();
  rmSync(tmp, { recursive: true, force: true });

  const fmt = (ms: number) => `${Math.round(ms)} ms`;
  const ok = (ms: number) => (ms <= goalMs ? "ok" : "MISSED");
  const rows: [string, string, string][] = [
    ["repo", `${apps} apps, ${nodes} nodes, ${domains} domains (generated in ${fmt(genMs)})`, ""],
    ["cache warm-up at start (fetch + evaluate main)", fmt(warmUpMs), "(no goal: once, in the background)"],
    ["first PR after start (webhook -> comment)", fmt(cold), `<= ${goalMs} ms ${ok(cold)}`],
    [
      "  of which fetch / plan / post",
      `${coldPhases?.fetchMs} / ${coldPhases?.planMs} / ${coldPhases?.postMs} ms`,
      "",
    ],
    [`push to the PR, median of ${rounds}`, fmt(median(warm)), `<= ${goalMs} ms ${ok(median(warm))}`],
    [
      `push to the PR, worst of ${rounds}`,
      fmt(Math.max(...warm)),
      `<= ${goalMs} ms ${ok(Math.max(...warm))}`,
    ],
    [
      "  median fetch / plan / post",
      `${median(warmPhases.map((p) => p.fetchMs))} / ${median(warmPhases.map((p) => p.planMs))} / ${median(warmPhases.map((p) => p.postMs))} ms`,
      "",
    ],
    ["another new PR (webhook -> comment)", fmt(fresh), `<= ${goalMs} ms ${ok(fresh)}`],
    ["comment size", `${comment.length} chars`, "<= 60000"],
    ["peak RSS of the bench process", `${Math.round(rssMb)} MB`, "(includes repo generation)"],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log("forge: webhook -> plan comment posted");
  for (const [a, b, c] of rows) console.log(`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
