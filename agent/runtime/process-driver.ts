// RuntimeDriver for the "process" runtime: supervised child processes. Each instance runs detached
// in its own process group (so it outlives the agent and can be stopped as a whole) and writes
// stdout/stderr straight into `<stateDir>/logs/<instance>.log` (rotated by copy-truncate). When it
// exits, the driver records how (code or signal, when), cleans up its group and tells the agent at
// once (onExit); it does not restart it: the agent does, with a delay that grows per spec across
// restarts (agent/core/crash-loop.ts), so one policy covers processes and containers. Every
// instance is recorded in `<stateDir>/processes/<instance>.json`; a new driver adopts the recorded
// processes that still run (same pid and start time) and notices their death by polling. It never
// signals a process it did not record. Deciding what should run is the agent core's job.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Workload } from "../../schema/index.js";
import { createTimeIndexer } from "../logs/time-index.js";
import {
  type Instance,
  type InstanceExit,
  type RuntimeDriver,
  type Slot,
  StartError,
  slotPort,
} from "./driver.js";
import { readLogTail } from "./log-tail.js";
import { assertPortFree } from "./port-check.js";
import { isSameProcessAlive, readProcStat } from "./proc-stat.js";
import { stopGroup } from "./process-group.js";
import { agentMarker, findMarked, markerEnv } from "./process-markers.js";
import {
  ensureDirs,
  logPath,
  logsDir,
  type ProcessRecord,
  readRecords,
  removeRecord,
  setAside,
  writeRecord,
} from "./process-records.js";
import { planRecovery } from "./process-recovery.js";
import { appendMarker, openAppend, rotateIfNeeded } from "./rotating-log.js";

export interface ProcessDriverOptions {
  stateDir: string;
  /** Resolves a relative workdir (default: the agent's cwd). */
  baseDir?: string;
  /** Rotate a log once it reaches this size (default 10 MiB). */
  logMaxBytes?: number;
  /** Rotated files kept besides the live one (default 3). */
  logFiles?: number;
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
  /**
   * Decrypts the secrets a workload's env takes (agent/secrets), at every start and restart: the
   * plaintext goes to the child's environment and is not kept. Without it such a workload cannot start.
   */
  resolveSecrets?: (
    app: string,
    secrets: NonNullable<Workload["secrets"]>,
  ) => Promise<Record<string, string>>;
  /** Told about starts, exits and adoptions (for the agent's log). Never carries env values. */
  onEvent?: (e: ProcessEvent) => void;
  /** Called as soon as an instance exits by itself (not stopped by berth): the agent wakes up. */
  onExit?: (name: string) => void;
  /**
   * The node's address, given to each new process as HOST (unless its env sets HOST): where it
   * should listen so proxies on other nodes reach it (PORT says on which port).
   */
  host?: () => string | undefined;
}

export interface ProcessEvent {
  kind:
    | "started"
    | "exited"
    | "adopted"
    | "stopped"
    | "log-rotated"
    | "problem"
    // A record was lost or unreadable and the driver adopted or stopped what it found by marker.
    | "recovered";
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
  lastError?: string;
  /** How it ended, once it has. */
  exit?: InstanceExit;
  /** waitExit() callers. */
  exitWaiters: Set<(e: InstanceExit) => void>;
  /** Removal of what the dead process left in its group (it may hold the port); stop waits for it. */
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
  const emit = (e: ProcessEvent) => opts.onEvent?.(e);
  const instances = new Map<string, Supervised>();
  const stamps = createTimeIndexer();
  const agent = agentMarker(stateDir);
  let closed = false;

  ensureDirs(stateDir);

  function inherited(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of inheritedEnv) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
    return env;
  }

  async function childEnv(rec: ProcessRecord): Promise<Record<string, string>> {
    const env = inherited();
    const markers = markerEnv(agent, rec.name, rec.specHash);
    if (!rec.secrets || Object.keys(rec.secrets).length === 0) return { ...env, ...rec.env, ...markers };
    if (!opts.resolveSecrets)
      throw new Error(`cannot start ${rec.name}: its env takes secrets, and this agent cannot decrypt any`);
    const secrets = await opts.resolveSecrets(rec.app, rec.secrets);
    // PORT is the driver's: a secret never replaces it.
    return { ...env, ...rec.env, ...secrets, PORT: rec.env.PORT as string, ...markers };
  }

  /** Spawns rec's command; resolves with the child once it runs, rejects when it cannot start. */
  async function spawnChild(s: Supervised): Promise<void> {
    const childEnvironment = await childEnv(s.rec);
    if (closed || s.stopping) throw new Error(`${s.rec.name} was stopped while it started`);
    const { rec } = s;
    const log = logPath(stateDir, rec.name);
    rotate(log, rec.name);
    appendMarker(log, `${startMarker(rec.name)} (${rec.command[0]}, port ${rec.port})`);
    const fd = openAppend(log);
    let child: ChildProcess;
    try {
      child = spawn(rec.command[0] as string, rec.command.slice(1), {
        cwd: rec.cwd,
        env: childEnvironment,
        detached: true,
        stdio: ["ignore", fd, fd],
      });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    return new Promise((ok, fail) => {
      child.once("error", (err) => {
        const code = (err as NodeJS.ErrnoException).code ?? err.message;
        const msg = `cannot run ${JSON.stringify(rec.command[0])} in ${rec.cwd}: ${code}`;
        appendMarker(log, msg);
        const detail =
          code === "ENOENT"
            ? `${code} (no such file)`
            : code === "EACCES"
              ? `${code} (not executable)`
              : code;
        fail(
          new StartError(`starting ${rec.name}: ${msg} (is it installed and on PATH?)`, {
            kind: "command-missing",
            command: rec.command[0] as string,
            detail: `${detail} in ${rec.cwd}`,
          }),
        );
      });
      child.once("spawn", () => {
        const pid = child.pid as number;
        const stat = readProcStat(pid);
        s.child = child;
        s.running = true;
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
          onExit(s, { code: signal ? null : code, signal: signal ?? null, at: Date.now() });
        });
        emit({ kind: "started", name: rec.name, pid });
        ok();
      });
    });
  }

  function onExit(s: Supervised, exit: InstanceExit, why?: string): void {
    if (closed || s.stopping || !s.running) return;
    s.running = false;
    s.child = undefined;
    s.exit = exit;
    s.lastError =
      why ??
      (exit.signal
        ? `killed by ${exit.signal}`
        : exit.code === null
          ? "exited"
          : `exited with code ${exit.code}`);
    const { rec } = s;
    const log = logPath(stateDir, rec.name);
    stamps.tick([log]);
    appendMarker(log, `${rec.name} (pid ${rec.pid}) ${s.lastError}`);
    emit({ kind: "exited", name: rec.name, pid: rec.pid, detail: s.lastError });
    // Whatever the dead leader left in its group belongs to the dead instance (and may hold the port).
    s.cleanup = stopGroup({ pgid: rec.pgid, startTime: rec.startTime }, 1_000).catch(() => {});
    for (const w of s.exitWaiters) w(exit);
    s.exitWaiters.clear();
    opts.onExit?.(rec.name);
  }

  /** Notices adopted processes that died (no exit event reaches us for them). */
  function checkAdopted(): void {
    for (const s of instances.values()) {
      if (s.running && !s.child && !isSameProcessAlive(s.rec.pid, s.rec.startTime)) {
        onExit(
          s,
          { code: null, signal: null, at: Date.now() },
          "exited (adopted from an earlier agent process: exit status unknown)",
        );
      }
    }
  }

  /**
   * Rotates a log that reached its size, stamping its last lines first so the copy keeps their
   * times. Called every poll for every instance: one stat of the log, as before the time index (a
   * stamp and a stat of the index here each poll cost about 0.05 % of a core with 21 idle
   * instances, bench/agent.bench.ts).
   */
  function rotate(log: string, name: string): void {
    const rotated = rotateIfNeeded(log, maxBytes, keep, {
      indexBytes: stamps.indexSize(log),
      beforeRotate: () => stamps.tick([log]),
    });
    if (rotated) {
      stamps.forget(log);
      emit({ kind: "log-rotated", name });
    }
  }

  function rotateLogs(): void {
    // Without the kernel's notices (no inotify, or the watch failed) this poll stamps instead.
    const stampHere = !stamps.watching();
    for (const s of instances.values()) {
      try {
        const log = logPath(stateDir, s.rec.name);
        if (stampHere && s.running) stamps.tick([log]);
        rotate(log, s.rec.name);
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
      ...(s.exit && !s.running ? { exit: s.exit } : {}),
    };
  }

  // Adopt what a previous driver (or agent) recorded. A record that is unreadable or missing (a
  // crash between spawning and writing it, a truncated file) does not strand its process: the
  // process is found by its marker and adopted with a rebuilt record, or stopped (see
  // process-recovery.ts); either way the node's status says so.
  const read = readRecords(stateDir);
  const now = new Date();
  const aside = new Map(read.unreadable.map((u) => [u.name, setAside(stateDir, u, now)]));
  const plan = planRecovery({
    records: read.records,
    unreadable: read.unreadable,
    marked: findMarked(agent),
    alive: (r) => isSameProcessAlive(r.pid, r.startTime),
    now,
  });
  for (const rec of plan.records) if (plan.rewrite.has(rec.name)) writeRecord(stateDir, rec);
  for (const n of plan.notes) {
    const moved = aside.get(n.name);
    emit({
      kind: "recovered",
      name: n.name,
      detail: moved ? `${n.message} (the unreadable file is kept as ${moved})` : n.message,
    });
  }
  // Stops finish before anything is listed or started: a leftover may hold the port.
  const recovering = Promise.all(
    plan.stop.map((st) =>
      stopGroup({ pgid: st.pgid, startTime: st.startTime }, 2_000).catch((e: Error) =>
        emit({ kind: "problem", name: st.instance, detail: e.message }),
      ),
    ),
  );
  for (const rec of plan.records) {
    const alive = isSameProcessAlive(rec.pid, rec.startTime);
    const s: Supervised = { rec, running: alive, stopping: false, exitWaiters: new Set() };
    instances.set(rec.name, s);
    if (alive) {
      emit({ kind: "adopted", name: rec.name, pid: rec.pid });
    } else {
      // Died while no agent watched: listed as exited, so the agent starts it again.
      s.exit = { code: null, signal: null, at: Date.now() };
      s.lastError = "was not running when the agent started (exit status unknown)";
      s.cleanup = stopGroup({ pgid: rec.pgid, startTime: rec.startTime }, 1_000).catch(() => {});
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
    await recovering;
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
      old.stopping = true;
      await old.cleanup;
      instances.delete(name);
    }
    const cwd = resolve(opts.baseDir ?? process.cwd(), w.workdir ?? ".");
    if (!isDirectory(cwd)) {
      throw new StartError(
        `cannot start ${name}: workdir ${cwd} is not a directory (workload ${w.id}; set workdir to an existing directory)`,
        { kind: "workdir-missing", path: cwd },
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
        ...(w.secrets && Object.keys(w.secrets).length > 0 ? { secrets: w.secrets } : {}),
        pid: 0,
        pgid: 0,
        startTime: 0,
        startedAt: new Date().toISOString(),
        restarts: 0,
      },
      running: false,
      stopping: false,
      exitWaiters: new Set(),
    };
    await spawnChild(s);
    instances.set(name, s);
    return toInstance(s);
  }

  async function stop(instance: Instance, graceMs: number): Promise<void> {
    const s = instances.get(instance.name);
    if (!s) return; // not ours, or already stopped
    s.stopping = true;
    await s.cleanup;
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
      await recovering;
      checkAdopted();
      return [...instances.values()].map(toInstance);
    },
    start,
    stop,
    waitExit(instance, signal) {
      const s = instances.get(instance.name);
      if (!s || s.rec.pid !== pidOf(instance)) {
        // Stopped and forgotten, or replaced by a newer run: this instance is gone.
        return Promise.resolve({ code: null, signal: null, at: Date.now() });
      }
      if (!s.running) return Promise.resolve(s.exit ?? { code: null, signal: null, at: Date.now() });
      if (signal.aborted) return Promise.resolve(null);
      return new Promise((done) => {
        const onAbort = () => {
          s.exitWaiters.delete(finish);
          done(null);
        };
        const finish = (e: InstanceExit) => {
          signal.removeEventListener("abort", onAbort);
          done(e);
        };
        s.exitWaiters.add(finish);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
    tail: async (instance, lines) =>
      readLogTail(logPath(stateDir, instance.name), startMarker(instance.name), lines),
    close: async (o) => {
      clearInterval(poll);
      stamps.close();
      if (o?.stopAll) {
        for (const s of [...instances.values()]) await stop(toInstance(s), opts.stopAllGraceMs ?? 10_000);
      }
      closed = true;
      instances.clear();
    },
  };
}

/** The marker written before each start: the tail of a log begins after the last one. */
const startMarker = (name: string): string => `starting ${name}`;

const pidOf = (i: Instance): number => Number(i.ref.replace(/^pid:/, ""));

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
