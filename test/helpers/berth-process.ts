// Runs a long-lived berth command (`berth serve`, `berth agent`) from source as a real child
// process, as an operator would, and keeps its JSON log lines (pino, stderr) for assertions and
// for waiting on what it says. stop() sends SIGTERM, kill() SIGKILL; both wait for the exit.
import { type ChildProcess, spawn } from "node:child_process";
import { cliArgs, projectRoot } from "./berth-cli.js";
import type { Netns } from "./netns.js";

export interface BerthProcess {
  child: ChildProcess;
  pid: number;
  /** Parsed log lines (a line that is not JSON is kept as {msg}). */
  lines: Record<string, unknown>[];
  raw(): string;
  /** Resolves with the first log line matching, or rejects after timeoutMs. */
  waitForLine(
    match: (l: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<number | null>;
}

export function spawnBerth(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; netns?: Netns } = {},
): BerthProcess {
  const argv = [process.execPath, ...cliArgs(args)];
  const [cmd, ...rest] = opts.netns ? opts.netns.argv(argv) : argv;
  const child = spawn(cmd as string, rest, {
    cwd: opts.cwd ?? projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
  });
  const lines: Record<string, unknown>[] = [];
  let raw = "";
  let partial = "";
  const listeners = new Set<() => void>();
  child.stderr?.on("data", (d: Buffer) => {
    raw += d.toString();
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
    for (const fn of listeners) fn();
  });
  child.stdout?.on("data", (d: Buffer) => {
    raw += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const end = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    pid: child.pid as number,
    lines,
    raw: () => raw,
    waitForLine(match, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(match);
          if (!hit) return false;
          cleanup();
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${raw.slice(-3000)}`),
          );
        }, timeoutMs);
        const onExit = () => {
          if (check()) return;
          cleanup();
          reject(new Error(`process exited while waiting for ${what}; output:\n${raw.slice(-3000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(onLine);
          child.off("exit", onExit);
        };
        const onLine = () => void check();
        listeners.add(onLine);
        child.once("exit", onExit);
        check();
      });
    },
    exited,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
  };
}
