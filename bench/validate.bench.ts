// Benchmark of config loading and `berth validate` on a generated repo of 10,000 apps, 1,000
// nodes and 5,000 domains (bench/gen-repo.ts, committed and packed). Every figure comes from a
// fresh child process, so nothing is warm that a real run would not have warm:
//   1. `berth validate` from the working tree and `--ref HEAD` from the commit: wall time from
//      spawn to exit (node start-up and placement included) and peak RSS (/usr/bin/time -f %M);
//   2. the loader alone (loadWorktree / loadCommit, timed inside the child after its imports),
//      and loader + placement (what validate does, without the CLI's start-up);
//   3. the reconciler's warm path: loadCommit of the next commit (one app changed) with the
//      ParseCache of the previous one;
//   4. the isomorphic-git fallback reader, cold, for reference.
// The repo is kept in .bench/validate-repo-secrets (.bench/validate-repo without secrets) and
// reused while its parameters match. Runs the CLI as shipped, the bundle in dist/bin (the `berth`
// executable; npm run bench builds it), else through tsx.
// Run: npx tsx bench/validate.bench.ts   (BENCH_RUNS=5 by default; BENCH_SECRETS=0: no secrets)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateRepo, mutateOneApp } from "./gen-repo.js";
import { machineSpeed } from "./support.js";

const root = fileURLToPath(new URL("../", import.meta.url));
// Every app takes an encrypted secret (secrets/<app>.yaml, real age ciphertext): validation reads
// their armor and headers and checks recipients against placement, and must stay within its goal.
// BENCH_SECRETS=0 measures the same repo without them (kept in its own directory, so switching
// does not regenerate either: the secrets take about 150 s to encrypt).
const params = {
  apps: 10_000,
  nodes: 1_000,
  domains: 5_000,
  seed: 1,
  secrets: process.env.BENCH_SECRETS !== "0",
};
const runs = Number(process.env.BENCH_RUNS ?? 5);
const built = existsSync(join(root, "dist/bin/main.js"));
const cli = built ? [join(root, "dist/bin/main.js")] : ["--import", "tsx", join(root, "cli/main.ts")];

type Mode = "worktree" | "commit" | "warm" | "iso" | "evaluate";

if (process.argv[2] === "--child") {
  await child(process.argv[3] as Mode, process.argv[4] as string);
} else {
  await main();
}

async function main(): Promise<void> {
  const dir = join(root, params.secrets ? ".bench/validate-repo-secrets" : ".bench/validate-repo");
  const files = await ensureRepo(dir);
  const load = loadavg()[0]?.toFixed(1);
  const speedBefore = machineSpeed();
  console.log(
    `validate: ${params.apps} apps${params.secrets ? " each with an encrypted secret" : ""}, ${params.nodes} nodes, ${params.domains} domains (${files} files); ${runs} runs each, median (min); load average ${load} on ${availableParallelism()} cores; CLI from ${built ? "dist/bin" : "tsx"}`,
  );
  const rows: [string, string, string][] = [];
  const cliRun = (args: string[]) =>
    median(runs, () => timeCli([...cli, "validate", "--repo", dir, ...args]));
  const wt = cliRun([]);
  rows.push(["berth validate (working tree): time", fmt(wt), "≤ 1000 ms"]);
  rows.push(["berth validate (working tree): peak RSS", mb(wt.rss), "≤ 300 MB"]);
  const startup = median(runs, () => timeCli([...cli, "--version"]));
  rows.push(["  of which CLI start-up (berth --version)", fmt(startup), ""]);
  const ref = cliRun(["--ref", "HEAD"]);
  rows.push(["berth validate --ref HEAD (commit): time", fmt(ref), "≤ 2000 ms"]);
  rows.push(["berth validate --ref HEAD (commit): peak RSS", mb(ref.rss), "≤ 300 MB"]);
  const lw = median(runs, () => timeChild("worktree", dir));
  rows.push(["loadWorktree alone (in process): time", fmt(lw), "(part of 1 s)"]);
  rows.push(["loadWorktree alone: peak RSS of the process", mb(lw.rss), ""]);
  const ev = median(runs, () => timeChild("evaluate", dir));
  rows.push(["loadWorktree + placement (validate without CLI start-up)", fmt(ev), "≤ 1000 ms"]);
  const lc = median(runs, () => timeChild("commit", dir));
  rows.push(["loadCommit alone (git reader, cold): time", fmt(lc), "(part of 2 s)"]);
  const warm = median(runs, () => timeChild("warm", dir));
  rows.push(["loadCommit, next commit, warm cache (1 app changed)", fmt(warm), "(reconciler path)"]);
  const iso = timeChild("iso", dir);
  rows.push([
    "loadCommit with the isomorphic-git reader, cold (1 run)",
    `${iso.ms.toFixed(0)} ms`,
    "(fallback)",
  ]);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [name, value, goal] of rows)
    console.log(`  ${name.padEnd(width)}  ${value.padStart(18)}  ${goal}`);
  console.log(
    `  machine speed (bench/support.ts machineSpeed, lower is faster): ${speedBefore.toFixed(0)} ms before, ${machineSpeed().toFixed(0)} ms after`,
  );
}

/** Generates the repo once; later runs reuse it while the parameters are the same. */
async function ensureRepo(dir: string): Promise<number> {
  const marker = join(dir, ".git/berth-bench.json");
  const want = JSON.stringify(params);
  if (existsSync(marker) && readFileSync(marker, "utf8") === want) {
    // Undo what warm runs committed, so every run starts from the same commit.
    execFileSync("git", ["-C", dir, "reset", "-q", "--hard", "bench-base"]);
    return 1 + params.apps + params.nodes + params.domains + (params.secrets ? params.apps : 0);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  const repo = await generateRepo(dir, params);
  execFileSync("git", ["-C", dir, "tag", "bench-base"]);
  writeFileSync(marker, want);
  console.log(`generated ${repo.files} files in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return repo.files;
}

interface Sample {
  ms: number;
  rss: number;
}

function timeCli(args: string[]): Sample {
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "BENCH_RSS_KB %M", process.execPath, ...args], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - t;
  if (r.status !== 0)
    throw new Error(`berth validate failed (${r.status}): ${r.stdout.slice(-500)}${r.stderr.slice(-500)}`);
  const kb = Number(/BENCH_RSS_KB (\d+)/.exec(r.stderr)?.[1] ?? Number.NaN);
  return { ms, rss: kb * 1024 };
}

function timeChild(mode: Mode, dir: string): Sample {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ["--import", "tsx", self, "--child", mode, dir], {
    cwd: root,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as Sample;
}

/** Runs inside the child: imports first (from dist when built), then times only the load. */
async function child(mode: Mode, dir: string): Promise<void> {
  const base = built ? "../dist/" : "../";
  const { loadCommit, loadWorktree } = (await import(
    new URL(`${base}reconciler/repo/load.js`, import.meta.url).href
  )) as typeof import("../reconciler/repo/load.js");
  const { ParseCache } = (await import(
    new URL(`${base}core/config/index.js`, import.meta.url).href
  )) as typeof import("../core/config/index.js");
  let ms: number;
  if (mode === "evaluate") {
    const { checkPlacement } = (await import(
      new URL(`${base}core/evaluate.js`, import.meta.url).href
    )) as typeof import("../core/evaluate.js");
    const t = performance.now();
    const r = await loadWorktree(dir);
    const problems = checkPlacement(r);
    ms = performance.now() - t;
    if (problems.length > 0) throw new Error(`generated repo does not place: ${JSON.stringify(problems[0])}`);
  } else if (mode === "warm") {
    const cache = new ParseCache();
    await loadCommit(dir, "HEAD", { cache });
    await mutateOneApp(dir);
    const t = performance.now();
    const r = await loadCommit(dir, "HEAD", { cache });
    ms = performance.now() - t;
    if (r.diagnostics.length > 0) throw new Error("generated repo is invalid");
  } else {
    const t = performance.now();
    const r =
      mode === "worktree"
        ? await loadWorktree(dir)
        : await loadCommit(dir, "HEAD", { reader: mode === "iso" ? "isomorphic-git" : "git" });
    ms = performance.now() - t;
    if (r.diagnostics.length > 0)
      throw new Error(`generated repo is invalid: ${JSON.stringify(r.diagnostics[0])}`);
  }
  console.log(JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024 }));
}

function median(n: number, fn: () => Sample): { ms: number; rss: number; min: number } {
  const samples = Array.from({ length: n }, fn);
  const times = samples.map((s) => s.ms).sort((a, b) => a - b);
  const rss = samples.map((s) => s.rss).sort((a, b) => a - b);
  const mid = Math.floor(n / 2);
  return { ms: times[mid] as number, min: times[0] as number, rss: rss[mid] as number };
}

function fmt(s: { ms: number; min: number }): string {
  return `${s.ms.toFixed(0)} ms (${s.min.toFixed(0)})`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
