// A real `berth serve` and a real `berth agent` as child processes (node --import tsx cli/main.ts),
// on a copy of examples/single-host whose node runs the apps as processes, for the operations
// page's browser tests and benchmark. Everything is stopped by process (group) id.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import { cliArgs, projectRoot } from "../helpers/berth-cli.js";
import { makeRepo, makeTempDir, type TestRepo } from "../helpers/git-repo.js";

export const exampleDir = join(projectRoot, "examples/single-host");

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Parsed JSON log lines (pino) of stderr. */
  lines: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function berthProcess(args: string[], cwd = projectRoot, cli?: string): Proc {
  const child = spawn(process.execPath, cliArgs(args, cli), {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  let partial = "";
  const lines: Record<string, unknown>[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p));
      } catch {
        lines.push({ msg: p });
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return {
    child,
    output: () => out,
    lines,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Cluster {
  repo: TestRepo;
  url: string;
  adminToken: string;
  serve: Proc;
  agent: Proc;
  stateDir: string;
  /** GET a read-API path with the admin token. */
  api<T>(path: string): Promise<T>;
  cleanup(): Promise<void>;
}

/**
 * The single-host example as a one-node cluster: hello (2 replicas) and site, run as processes,
 * health checks every second with a short start period, no proxy. The node's port range is
 * `[portBase, portBase + 99]`.
 */
export async function startCluster(portBase: number, opts: { cli?: string } = {}): Promise<Cluster> {
  const src = makeTempDir("berth-ui-src-");
  cpSync(exampleDir, src, { recursive: true });
  rmSync(join(src, "domains"), { recursive: true, force: true });
  const nodeToken = generateToken();
  const nodeFile = join(src, "nodes/local.yaml");
  writeFileSync(
    nodeFile,
    readFileSync(nodeFile, "utf8")
      .replace(/portRange: .*/, `portRange: [${portBase}, ${portBase + 99}]`)
      .replace(/roles: .*/, "roles: [worker]")
      .concat(`tokenSha256: ${sha256Hex(nodeToken)}\n`),
  );
  const settings = join(src, "berth.yaml");
  writeFileSync(
    settings,
    readFileSync(settings, "utf8").replace(/startPeriodSeconds: \d+/, "startPeriodSeconds: 3"),
  );
  const repo = await makeRepo({ fromDir: src });
  rmSync(src, { recursive: true, force: true });

  const secrets = makeTempDir("berth-ui-secrets-");
  const adminToken = generateToken();
  writeFileSync(join(secrets, "admin"), `${adminToken}\n`, { mode: 0o600 });
  writeFileSync(join(secrets, "node"), `${nodeToken}\n`, { mode: 0o600 });
  const stateDir = makeTempDir("berth-ui-agent-");

  const serve = berthProcess(
    [
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      "127.0.0.1:0",
      "--api-token-file",
      join(secrets, "admin"),
      "--interval",
      "2",
    ],
    projectRoot,
    opts.cli,
  );
  const url = await waitUntil(
    "berth serve to listen",
    () => serve.lines.find((l) => l.msg === "API listening")?.url as string | undefined,
    90_000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${serve.output().slice(-2000)}`);
  });
  const agent = berthProcess(
    [
      "agent",
      "--node",
      "local",
      "--url",
      url,
      "--token-file",
      join(secrets, "node"),
      "--state-dir",
      stateDir,
      "--base-dir",
      repo.dir,
      "--poll-wait",
      "10",
    ],
    projectRoot,
    opts.cli,
  );
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    repo,
    url,
    adminToken,
    serve,
    agent,
    stateDir,
    api,
    async cleanup() {
      await agent.stop();
      stopInstances(stateDir);
      await serve.stop();
      await repo.cleanup();
      rmSync(secrets, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Ends the app processes the agent started (they outlive the agent by design), by group id. */
function stopInstances(stateDir: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(join(stateDir, "processes"));
  } catch {
    return;
  }
  for (const f of files) {
    if (!f.endsWith(".json")) continue;
    try {
      const rec = JSON.parse(readFileSync(join(stateDir, "processes", f), "utf8")) as { pgid: number };
      process.kill(-rec.pgid, "SIGKILL");
    } catch {
      // gone already, or not ours to read
    }
  }
}

export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface NodesView {
  published: { commit: string | null };
  nodes: {
    node: string;
    inSync: boolean;
    phase: string | null;
    status: { appliedCommit: string | null } | null;
  }[];
}

/** Waits until the node applied the published documents of `commit` and reports converged. */
export function converged(c: Cluster, commit: string, timeoutMs = 90_000): Promise<true> {
  return waitUntil(
    `converged on ${commit.slice(0, 7)}`,
    async () => {
      const v = await c.api<NodesView>("/v1/nodes");
      const n = v.nodes.find((x) => x.node === "local");
      return v.published.commit === commit && n?.inSync === true && n.phase === "converged"
        ? true
        : undefined;
    },
    timeoutMs,
  );
}
