// The demo behind `npm run demo`: a config repo from examples/single-host in a temp dir, `berth up`,
// the plan, convergence, requests through Caddy, a committed change and its convergence, a rollback,
// then a clean stop of everything it started. Uses only the CLI and the HTTP API, like a person would.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";

const cli = fileURLToPath(new URL("./main.js", import.meta.url));
// Bold headings only on a terminal, and never with NO_COLOR set (https://no-color.org).
const bold = process.stdout.isTTY === true && !process.env.NO_COLOR;
const say = (s: string) => process.stdout.write(bold ? `\n\x1b[1m▶ ${s}\x1b[0m\n` : `\n▶ ${s}\n`);

function berth(args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(process.execPath, [cli, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; status?: number };
    if (opts.allowFail) return `${e.stdout ?? ""}${e.stderr ?? ""}`;
    throw new Error(`berth ${args.join(" ")} failed (exit ${e.status}):\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

function git(repo: string, args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface LiveNode {
  node: string;
  status: { phase: string; appliedHash: string | null; appliedCommit: string | null } | null;
}

async function waitConverged(api: string, commit: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await request(`${api}/v1/nodes`);
      const body = (await res.body.json()) as { nodes: LiveNode[] } | LiveNode[];
      const nodes = Array.isArray(body) ? body : body.nodes;
      const phases = nodes.map((n) => `${n.node}: ${n.status?.phase ?? "no report"}`).join(", ");
      if (phases !== last) process.stdout.write(`  … ${phases}\n`);
      last = phases;
      if (
        nodes.length > 0 &&
        nodes.every((n) => n.status?.phase === "converged" && n.status.appliedCommit === commit)
      ) {
        return Date.now() - started;
      }
      if (nodes.some((n) => n.status?.phase === "failed" && n.status.appliedCommit === commit)) {
        throw new Error(`a node failed to converge: ${phases}`);
      }
    } catch (err) {
      if ((err as Error).message.startsWith("a node failed")) throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not converged on ${commit.slice(0, 7)} after ${timeoutMs / 1000} s (last: ${last})`);
}

async function show(url: string, host: string): Promise<void> {
  const res = await request(url, { headers: { host } });
  const text = (await res.body.text()).trim().replace(/\s+/g, " ").slice(0, 120);
  // The address really called, and the Host header that picks the site in Caddy.
  process.stdout.write(`  GET ${url} (Host: ${host}) → ${res.statusCode} ${text}\n`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "berth-demo-"));
  const repo = join(work, "infra");
  let up: ChildProcess | undefined;
  const stopUp = async () => {
    if (!up || up.exitCode !== null) return;
    const exited = new Promise((r) => up!.once("exit", r));
    up.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (up.exitCode === null) up.kill("SIGKILL");
  };
  process.once("SIGINT", () => void stopUp().then(() => process.exit(130)));
  try {
    say("berth init: a config repo from examples/single-host");
    process.stdout.write(berth(["init", repo]));

    say("berth validate");
    process.stdout.write(berth(["validate", "--repo", repo]));

    say("berth plan (nothing is published yet, so everything is new)");
    process.stdout.write(berth(["plan", "--repo", repo], { allowFail: true }));

    const [apiPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
    const api = `http://127.0.0.1:${apiPort}`;
    say("berth up: reconciler + local agent (+ Caddy when installed)");
    up = spawn(
      process.execPath,
      [
        cli,
        "up",
        "--repo",
        repo,
        "--listen",
        `127.0.0.1:${apiPort}`,
        "--http-listen",
        `127.0.0.1:${httpPort}`,
        "--https-listen",
        `127.0.0.1:${httpsPort}`,
        "--state-dir",
        join(work, "state"),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    up.stdout?.on("data", (d: Buffer) => process.stdout.write(prefix(d, "  up │ ")));
    up.stderr?.on("data", (d: Buffer) => process.stdout.write(prefix(d, "  up │ ")));
    const first = git(repo, ["rev-parse", "HEAD"]);
    const ms1 = await waitConverged(api, first);
    process.stdout.write(`  converged on ${first.slice(0, 7)} in ${ms1} ms\n`);

    const caddy = !/no ingress/i.test(upOutput);
    const hosts = domains(repo);
    say(caddy ? "requests through Caddy" : "Caddy is not installed: requests go straight to the apps");
    for (const host of hosts) await show(`http://127.0.0.1:${httpPort}/`, host).catch((e) => say(String(e)));

    say("a change: a new greeting for hello, committed");
    const appFile = join(repo, "apps", "hello.yaml");
    const before = readFileSync(appFile, "utf8");
    writeFileSync(appFile, before.replace(/GREETING: .*/, 'GREETING: "Hello again from berth"'));
    git(repo, ["commit", "-qam", "hello: new greeting"]);
    process.stdout.write(
      berth(["plan", "--repo", repo, "--base", "HEAD~1", "--head", "HEAD"], { allowFail: true }),
    );
    const second = git(repo, ["rev-parse", "HEAD"]);
    const ms2 = await waitConverged(api, second);
    process.stdout.write(`  converged on ${second.slice(0, 7)} in ${ms2} ms\n`);
    if (caddy) await show(`http://127.0.0.1:${httpPort}/`, hosts[0] ?? "hello.localhost");

    say(`berth rollback ${first.slice(0, 7)}`);
    process.stdout.write(berth(["rollback", first, "--repo", repo]));
    const third = git(repo, ["rev-parse", "HEAD"]);
    const ms3 = await waitConverged(api, third);
    process.stdout.write(
      `  converged on ${third.slice(0, 7)} (the config of ${first.slice(0, 7)}) in ${ms3} ms\n`,
    );
    if (caddy) await show(`http://127.0.0.1:${httpPort}/`, hosts[0] ?? "hello.localhost");

    say("berth status / berth history");
    process.stdout.write(berth(["status", "--repo", repo, "--url", api]));
    process.stdout.write(berth(["history", "--repo", repo]));
    say("done: stopping berth up");
  } finally {
    await stopUp();
    rmSync(work, { recursive: true, force: true });
  }
}

let upOutput = "";
function prefix(d: Buffer, p: string): string {
  const text = d.toString("utf8");
  upOutput += text;
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => `${p}${l}\n`)
    .join("");
}

function domains(repo: string): string[] {
  const out = git(repo, ["grep", "-h", "^host:", "--", "domains"]);
  return out
    .split("\n")
    .map((l) => l.replace(/^host:\s*/, "").trim())
    .filter(Boolean);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
