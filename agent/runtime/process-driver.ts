// RuntimeDriver for the "process" runtime: supervised child processes. Each instance runs detached
// in its own process group (so it outlives the agent and can be stopped as a whole), writes
// stdout/stderr straight into `<stateDir>/logs/<instance>.log` (rotated by copy-truncate), and is
// restarted with capped exponential backoff when it exits. Every instance is recorded in
// `<stateDir>/processes/<instance>.json`; a new driver adopts the recorded processes that still run
// (same pid and start time) and supervises them by polling. It never signals a process it did not
// record. Deciding what should run is the agent core's job, not this file's.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Workload } from "../../schema/index.js";
import { createTimeIndexer } from "../logs/time-index.js";
import { type Instance, type RuntimeDriver, type Slot, slotPort } from "./driver.js";
import { assertPortFree } from "./port-check.js";
import { isSameProcessAlive, readProcStat } from "./proc-stat.js";
import { stopGroup } from "./process-group.js";
import {
  ensureDirs,
  logPath,
  logsDir,
  type ProcessRecord,
  readRecords,
  removeRecord,
  writeRecord,
} from "./process-records.js";
import { appendMarker, openAppend, rotateIfNeeded } from "./rotating-log.js";

export interface ProcessDriverOptions {
  stateDir: string;
  /** Resolves a relative workdir (default: the agent's cwd). */
  baseDir?: string;
  /** Rotate a log once it reaches this size (default 10 MiB). */
  logMaxBytes?: number;
  /** Rotated files kept besides the live one (default 3). */
  logFiles?: number;
  /** Restart delay after an exit: initial, doubled per consecutive failure, capped (default 500 ms → 30 s). */
  restartBackoffMs?: { initial?: number; max?: number };
  /** A run that lasted this long resets the backoff (default 10 s). */
  stableAfterMs?: number;
  /** How often adopted processes are checked for liveness and logs for size (default 1 s). */
  pollMs?: number;
  /**
   * Logs of running instances are stamped in their time index this long after a write is noticed
   * (default 200 ms): the precision of the times `berth logs` gives their lines. Writes are
   * noticed through inotify; when the logs directory cannot be watched, the poll above stamps.
   */
  stampSettleMs?: number;
  /** Grace period used by close({stopAll: true}) (default 10 s). */
  stopAllGraceMs?: number;
  /** Told about starts, exits, restarts and adoptions (for the agent's log). Never carries env values. */
  onEvent?: (e: ProcessEvent) => void;
  /**
   * The node's address, given to each new process as HOST (unless its env sets HOST): where it
   * should listen so proxies on other nodes reach it (PORT says on which port).
   */
  host?: () => string | undefined;
}

export interface ProcessEvent {
  kind: "started" | "exited" | "restart-scheduled" | "adopted" | "stopped" | "log-rotated" | "problem";
  name: string;
  pid?: number;
  detail?: string;
}

/** Variables passed through from the agent's environment; the workload's env and PORT win. */
const inheritedEnv = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"] as const;

export const instanceName = (workloadId: string, slot: Slot): string => `berth-${workloadId}-${slot}`;

interface Supervised {
  rec: ProcessRecord;
  /** Set when this driver spawned the current process; adopted ones are polled instead. */
  child?: ChildProcess;
  running: boolean;
  stopping: boolean;
  restartTimer?: NodeJS.Timeout;
  failures: number;
  lastStartMs: number;
  lastError?: string;
  /** Removal of what the previous process left in its group; a restart waits for it. */
  cleanup?: Promise<unknown>;
}

/** HOST for a new process: the node's address, unless the workload's env names one. */
function hostOf(opts: ProcessDriverOptions, env: Record<string, string>): Record<string, string> {
  if (env.HOST !== undefined) return {};
  const host = opts.host?.();
  return host ? { HOST: host } : {};
}

export function createProcessDriver(opts: ProcessDriverOptions): RuntimeDriver {
  const { stateDir } = opts;
  const maxBytes = opts.logMaxBytes ?? 10 * 1024 * 1024;
  const keep = opts.logFiles ?? 3;
  const initialDelay = opts.restartBackoffMs?.initial ?? 500;
  const maxDelay = opts.restartBackoffMs?.max ?? 30_000;
  const stableAfter = opts.stableAfterMs ?? 10_000;
  const emit = (e: ProcessEvent) => opts.onEvent?.(e);
  const instances = new Map<string, Supervised>();
  const stamps = createTimeIndexer();
  let closed = false;

  ensureDirs(stateDir);

  function childEnv(rec: ProcessRecord): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of inheritedEnv) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
    return { ...env, ...rec.env };
  }

  /** Spawns rec's command; resolves with the child once it runs, rejects when it cannot start. */
  function spawnChild(s: Supervised): Promise<void> {
    const { rec } = s;
    const log = logPath(stateDir, rec.name);
    rotate(log, rec.name);
    appendMarker(log, `starting ${rec.name} (${rec.command[0]}, port ${rec.port}, restart ${rec.restarts})`);
    const fd = openAppend(log);
    let child: ChildProcess;
    try {
      child = spawn(rec.command[0] as string, rec.command.slice(1), {
        cwd: rec.cwd,
        env: childEnv(rec),
        detached: true,
        stdio: ["ignore", fd, fd],
      });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    return new Promise((ok, fail) => {
      child.once("error", (err) => {
        const msg = `cannot run ${JSON.stringify(rec.command[0])} in ${rec.cwd}: ${(err as NodeJS.ErrnoException).code ?? err.message}`;
        appendMarker(log, msg);
        fail(new Error(`starting ${rec.name}: ${msg} (is it installed and on PATH?)`));
      });
      child.once("spawn", () => {
        const pid = child.pid as number;
        const stat = readProcStat(pid);
        s.child = child;
        s.running = true;
        s.lastStartMs = Date.now();
        s.rec = {
          ...rec,
          pid,
          pgid: pid,
          startTime: stat?.startTime ?? 0,
          startedAt: new Date().toISOString(),
        };
        writeRecord(stateDir, s.rec);
        child.unref();
        child.once("exit", (code, signal) => {
          if (s.child !== child) return;
          onExit(s, signal ? `killed by ${signal}` : `exited with code ${code}`);
        });
        emit({ kind: "started", name: rec.name, pid });
        ok();
      });
    });
  }

  function onExit(s: Supervised, why: string): void {
    if (closed || s.stopping || !s.running) return;
    s.running = false;
    s.child = undefined;
    s.lastError = why;
    const { rec } = s;
    const log = logPath(stateDir, rec.name);
    stamps.tick([log]);
    appendMarker(log, `${rec.name} (pid ${rec.pid}) ${why}`);
    emit({ kind: "exited", name: rec.name, pid: rec.pid, detail: why });
    // Whatever the dead leader left in its group belongs to the dead instance (and may hold the port).
    s.cleanup = stopGroup({ pgid: rec.pgid, startTime: rec.startTime }, 1_000).catch(() => {});
    if (Date.now() - s.lastStartMs >= stableAfter) s.failures = 0;
    const delay = Math.min(maxDelay, initialDelay * 2 ** s.failures);
    s.failures++;
    emit({ kind: "restart-scheduled", name: rec.name, detail: `in ${delay} ms after it ${why}` });
    s.restartTimer = setTimeout(() => void restart(s), delay);
    s.restartTimer.unref();
  }

  async function restart(s: Supervised): Promise<void> {
    s.restartTimer = undefined;
    await s.cleanup;
    if (closed || s.stopping || instances.get(s.rec.name) !== s) return;
    s.rec = { ...s.rec, restarts: s.rec.restarts + 1 };
    spawnChild(s).catch((e: Error) => {
      s.lastStartMs = Date.now();
      s.running = true; // let onExit schedule the next try with a longer delay
      onExit(s, e.message);
    });
  }

  /** Notices adopted processes that died (no exit event reaches us for them). */
  function checkAdopted(): void {
    for (const s of instances.values()) {
      if (s.running && !s.child && !isSameProcessAlive(s.rec.pid, s.rec.startTime)) {
        onExit(s, "exited (adopted process: exit status unknown)");
      }
    }
  }

  /** Rotates a log that reached its size, stamping its last lines first so the copy keeps their times. */
  function rotate(log: string, name: string): void {
    stamps.tick([log]);
    if (rotateIfNeeded(log, maxBytes, keep)) {
      stamps.forget(log);
      emit({ kind: "log-rotated", name });
    }
  }

  function rotateLogs(): void {
    for (const s of instances.values()) {
      try {
        rotate(logPath(stateDir, s.rec.name), s.rec.name);
      } catch {
        // A log that cannot be rotated now is retried on the next tick; it never stops supervision.
      }
    }
  }

  function toInstance(s: Supervised): Instance {
    const { rec } = s;
    return {
      ref: `pid:${rec.pid}`,
      name: rec.name,
      workloadId: rec.workloadId,
      app: rec.app,
      specHash: rec.specHash,
      slot: rec.slot,
      port: rec.port,
      state: s.running ? "running" : "exited",
      restarts: rec.restarts,
      ...(s.running ? {} : { lastError: s.lastError ?? "not running" }),
    };
  }

  // Adopt what a previous driver (or agent) recorded.
  const { records, problems } = readRecords(stateDir);
  for (const p of problems) emit({ kind: "problem", name: "-", detail: `ignored unreadable record ${p}` });
  for (const rec of records) {
    const alive = isSameProcessAlive(rec.pid, rec.startTime);
    const s: Supervised = { rec, running: alive, stopping: false, failures: 0, lastStartMs: Date.now() };
    instances.set(rec.name, s);
    if (alive) {
      emit({ kind: "adopted", name: rec.name, pid: rec.pid });
    } else {
      s.lastError = "was not running when the driver started";
      s.running = true;
      s.lastStartMs = 0;
      onExit(s, s.lastError);
    }
  }

  const poll = setInterval(() => {
    checkAdopted();
    rotateLogs();
  }, opts.pollMs ?? 1_000);
  poll.unref();
  // Writes to the logs are stamped as the kernel reports them: no work while apps print nothing.
  // Only logs of instances that run can grow (a dead one's last lines were stamped when it exited).
  const watching = stamps.watch(
    logsDir(stateDir),
    (path) => instances.get(basename(path, ".log"))?.running === true,
    opts.stampSettleMs ?? 200,
  );
  if (!watching)
    emit({
      kind: "problem",
      name: "-",
      detail: "cannot watch the logs directory; log lines get times at the poll interval",
    });

  async function start(w: Workload, slot: Slot, signal?: AbortSignal): Promise<Instance> {
    if (closed) throw new Error("process driver is closed");
    signal?.throwIfAborted();
    const name = instanceName(w.id, slot);
    if (!w.command || w.command.length === 0) {
      throw new Error(
        `cannot start ${name}: workload ${w.id} has no command (the process runtime runs commands, not images)`,
      );
    }
    const old = instances.get(name);
    if (old?.running) {
      throw new Error(`cannot start ${name}: it is already running (pid ${old.rec.pid}); stop it first`);
    }
    if (old) {
      clearTimeout(old.restartTimer);
      old.stopping = true;
      instances.delete(name);
    }
    const cwd = resolve(opts.baseDir ?? process.cwd(), w.workdir ?? ".");
    if (!isDirectory(cwd)) {
      throw new Error(
        `cannot start ${name}: workdir ${cwd} is not a directory (workload ${w.id}; set workdir to an existing directory)`,
      );
    }
    const port = slotPort(w, slot);
    await assertPortFree(port, name);
    const s: Supervised = {
      rec: {
        version: 1,
        name,
        workloadId: w.id,
        app: w.app,
        specHash: w.specHash,
        slot,
        port,
        command: [...w.command],
        cwd,
        env: { ...hostOf(opts, w.env), ...w.env, PORT: String(port) },
        pid: 0,
        pgid: 0,
        startTime: 0,
        startedAt: new Date().toISOString(),
        restarts: 0,
      },
      running: false,
      stopping: false,
      failures: 0,
      lastStartMs: Date.now(),
    };
    await spawnChild(s);
    instances.set(name, s);
    return toInstance(s);
  }

  async function stop(instance: Instance, graceMs: number): Promise<void> {
    const s = instances.get(instance.name);
    if (!s) return; // not ours, or already stopped
    s.stopping = true;
    clearTimeout(s.restartTimer);
    const how = await stopGroup({ pgid: s.rec.pgid, startTime: s.rec.startTime }, graceMs);
    removeRecord(stateDir, s.rec.name);
    if (instances.get(s.rec.name) === s) instances.delete(s.rec.name);
    const log = logPath(stateDir, s.rec.name);
    stamps.tick([log]);
    appendMarker(log, `${s.rec.name} stopped (${how})`);
    emit({ kind: "stopped", name: s.rec.name, pid: s.rec.pid, detail: how });
  }

  return {
    kind: "process",
    list: async () => {
      checkAdopted();
      return [...instances.values()].map(toInstance);
    },
    start,
    stop,
    close: async (o) => {
      clearInterval(poll);
      stamps.close();
      if (o?.stopAll) {
        for (const s of [...instances.values()]) await stop(toInstance(s), opts.stopAllGraceMs ?? 10_000);
      }
      closed = true;
      for (const s of instances.values()) clearTimeout(s.restartTimer);
      instances.clear();
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
