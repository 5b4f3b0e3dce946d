// Starts and owns one Caddy process (for `berth up` and tests): writes a boot config that only sets
// admin.listen, keeps Caddy's data/config dirs and log under `dir`, waits until the admin API
// answers, and stops it by pid (SIGTERM, then SIGKILL). It loads no routes: the agent does that
// through the admin API with the same admin.listen.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createCaddyAdmin } from "./caddy-admin.js";

export interface StartCaddyOptions {
  /** Caddy's own directory: boot.json, caddy.log, data/ and config/ (XDG dirs) live here. */
  dir: string;
  /** Admin API port on 127.0.0.1 (default: a free one). */
  adminPort?: number;
  /** caddy binary (default `caddy` on PATH). */
  bin?: string;
  /** How long to wait for the admin API (default 15 s). */
  readyTimeoutMs?: number;
}

export interface RunningCaddy {
  adminUrl: string;
  /** host:port to put in admin.listen of every config loaded into this Caddy. */
  adminListen: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((ok) => {
    const timer = setTimeout(() => ok(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      ok(true);
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startCaddy(opts: StartCaddyOptions): Promise<RunningCaddy> {
  const dir = opts.dir;
  mkdirSync(join(dir, "data"), { recursive: true });
  mkdirSync(join(dir, "config"), { recursive: true });
  const port = opts.adminPort ?? (await freePort());
  const adminListen = `127.0.0.1:${port}`;
  const adminUrl = `http://${adminListen}`;
  const bootFile = join(dir, "boot.json");
  const logFile = join(dir, "caddy.log");
  writeFileSync(
    bootFile,
    `${JSON.stringify({ admin: { listen: adminListen, config: { persist: false } } }, null, 2)}\n`,
  );

  const fd = openSync(logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(opts.bin ?? "caddy", ["run", "--config", bootFile], {
      env: { ...process.env, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") },
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const spawned = await new Promise<Error | null>((ok) => {
    child.once("spawn", () => ok(null));
    child.once("error", (e) => ok(e));
  });
  if (spawned)
    throw new Error(`cannot start caddy (${opts.bin ?? "caddy"}): ${spawned.message}; is Caddy installed?`);
  const pid = child.pid as number;

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (await waitExit(child, 5_000)) return;
    child.kill("SIGKILL");
    await waitExit(child, 5_000);
  };

  const admin = createCaddyAdmin(adminUrl);
  const exited = new Promise<string>((ok) =>
    child.once("exit", (code, sig) => ok(`exited (${sig ?? code})`)),
  );
  try {
    const outcome = await Promise.race([
      admin.ready(opts.readyTimeoutMs ?? 15_000).then(() => "ready"),
      exited,
    ]);
    if (outcome !== "ready") throw new Error(`caddy ${outcome} before its admin API answered`);
  } catch (e) {
    await stop();
    throw new Error(
      `starting Caddy with admin API at ${adminUrl}: ${(e as Error).message}\n${logFile}:\n${tail(logFile)}`,
    );
  } finally {
    await admin.close();
  }
  return { adminUrl, adminListen, pid, logFile, stop };
}
