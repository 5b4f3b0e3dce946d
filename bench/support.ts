// Shared pieces of the benchmarks: percentiles, git with a fixed identity, the single-host example
// in a temp repo, and an open-loop HTTP load. Benchmarks talk only to 127.0.0.1.
import { execFile, spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Agent, request } from "undici";

const projectRoot = fileURLToPath(new URL("../", import.meta.url));

/**
 * Compiles the project into .bench/<name> (git-ignored) the way `npm run build` does — tsc, then
 * the operations page's assets beside their module (`berth serve`/`berth up` read them at start) —
 * so what a bench runs is plain JS as shipped, from the sources as they are now.
 */
export function buildDist(name: string): string {
  const out = join(projectRoot, ".bench", name);
  rmSync(out, { recursive: true, force: true });
  // Type errors elsewhere in the tree do not stop tsc from emitting; the entry point is checked below.
  spawnSync(
    process.execPath,
    [join(projectRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out],
    { cwd: projectRoot, stdio: "ignore" },
  );
  if (!existsSync(join(out, "cli/main.js"))) throw new Error(`building ${out} produced no cli/main.js`);
  cpSync(join(projectRoot, "reconciler/ui/assets"), join(out, "reconciler/ui/assets"), { recursive: true });
  return out;
}

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN when there are none. */
export function pct(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const run = promisify(execFile);
/** A fixed git identity and no user/system config, so benchmarks behave the same on every machine. */
export const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@berth.invalid",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@berth.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

/** Runs git in `cwd` and returns its trimmed stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const res = await run("git", ["-c", "gc.auto=0", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    env: gitEnv,
  });
  return res.stdout.trim();
}

export const singleHostExample = fileURLToPath(new URL("../examples/single-host", import.meta.url));

/**
 * Copies examples/single-host into `dir` and commits it on main. With `portBase`, the node gets
 * the port range [portBase, portBase + 99] so runs never collide with other users of the example.
 */
export async function exampleRepo(dir: string, opts: { portBase?: number } = {}): Promise<string> {
  cpSync(singleHostExample, dir, { recursive: true });
  if (opts.portBase !== undefined) {
    const nodeFile = join(dir, "nodes/local.yaml");
    const text = readFileSync(nodeFile, "utf8");
    writeFileSync(
      nodeFile,
      text.replace(/portRange: .*/, `portRange: [${opts.portBase}, ${opts.portBase + 99}]`),
    );
  }
  await git(dir, "init", "-q", "-b", "main");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", "single-host example");
  return dir;
}

/** Open-loop load: one GET with this Host every 5 ms (200/s) until stopped; failures and latencies. */
export function steadyLoad(url: string, host: string, opts: { connections?: number } = {}) {
  const dispatcher = new Agent({ connections: opts.connections ?? 64 });
  let sent = 0;
  const failures: string[] = [];
  const latencies: number[] = [];
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    sent++;
    const t = performance.now();
    const p: Promise<void> = request(url, { headers: { host }, dispatcher, headersTimeout: 10_000 })
      .then(async (r) => {
        await r.body.text();
        if (r.statusCode !== 200) failures.push(`HTTP ${r.statusCode}`);
      })
      .catch((e: Error) => {
        failures.push(e.message);
      })
      .finally(() => {
        latencies.push(performance.now() - t);
        inflight.delete(p);
      });
    inflight.add(p);
  }, 5);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      await dispatcher.close();
      return { sent, failures, latencies };
    },
  };
}

/**
 * How fast this machine is right now, in milliseconds for a fixed allocation-heavy JavaScript
 * workload (objects, JSON, string sorting: what loading a repo does), median of 5. Shared VMs
 * vary by half within an hour; printing this before and after the figures says which state
 * they were measured in (docs/config.md gives reference figures).
 */
export function machineSpeed(): number {
  const once = () => {
    const t = performance.now();
    const docs = Array.from({ length: 50_000 }, (_, i) => ({
      kind: "App",
      name: `app-${i}`,
      replicas: i % 5,
      env: { REVISION: String(i), LOG_LEVEL: "info" },
      labels: [`zone=z${i % 5}`, "pool=container"],
    }));
    const back = JSON.parse(JSON.stringify(docs)) as { name: string }[];
    back.map((d) => d.name).sort();
    return performance.now() - t;
  };
  const runs = [once(), once(), once(), once(), once()].sort((a, b) => a - b);
  return runs[2] as number;
}
