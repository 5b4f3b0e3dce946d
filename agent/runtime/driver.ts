// The contract between the agent's loop and the runtimes that run workloads (process, podman,
// docker). Drivers only start, stop and list what berth manages; deciding what to do is the
// agent core's job. Every instance is labelled/recorded so unmanaged things are never touched.
import type { Workload } from "../../schema/index.js";
import type { FailureFact } from "../core/cause.js";

/**
 * Each workload owns two consecutive host ports: `hostPort` (slot "a") and `hostPort + 1`
 * (slot "b"). A start-first replace starts the new instance in the free slot, so old and new
 * can run side by side; proxies list both slots and health-aware balancing skips the idle one.
 */
export type Slot = "a" | "b";
export const slotPort = (w: Pick<Workload, "hostPort">, slot: Slot): number =>
  slot === "a" ? w.hostPort : w.hostPort + 1;

/** How an instance ended. */
export interface InstanceExit {
  /** Exit code; null when killed by a signal or not known (an adopted process that died). */
  code: number | null;
  signal: string | null;
  /** When it exited (ms epoch), or when the runtime noticed. */
  at: number;
}

/** A start that failed for a reason berth can name (image, port, workdir, command): carries the fact. */
export class StartError extends Error {
  override name = "StartError";
  constructor(
    message: string,
    readonly fact: FailureFact,
  ) {
    super(message);
  }
}

/** One running (or exited) instance of a workload, as the runtime reports it. */
export interface Instance {
  /** Container id, or `pid:<n>` for a process. */
  ref: string;
  /** Instance name, e.g. berth-web-0-a. */
  name: string;
  workloadId: string;
  app: string;
  specHash: string;
  slot: Slot;
  port: number;
  state: "running" | "starting" | "exited";
  /** Restarts done by the runtime itself (berth asks for none: the agent restarts, and counts per spec). */
  restarts: number;
  /** Exit code or error when not running, in words. */
  lastError?: string;
  /** How it ended, when exited and the runtime says. */
  exit?: InstanceExit;
}

export interface RuntimeDriver {
  readonly kind: "process" | "podman" | "docker";
  /** Every instance berth manages on this node (labelled containers / supervised processes). */
  list(): Promise<Instance[]>;
  /** Starts `w` in `slot` listening on slotPort(w, slot); resolves once the runtime says it started. */
  start(w: Workload, slot: Slot, signal?: AbortSignal): Promise<Instance>;
  /** Stops and removes an instance: SIGTERM, then SIGKILL after graceMs. Missing is not an error. */
  stop(instance: Instance, graceMs: number): Promise<void>;
  /**
   * Resolves with how `instance` ended as soon as it exits (at once when it already has), or with
   * null when `signal` aborts first. Used while a new instance is waited on, so an exit fails the
   * attempt at once instead of after its start period.
   */
  waitExit(instance: Instance, signal: AbortSignal): Promise<InstanceExit | null>;
  /** The raw text of the instance's last `lines` output lines (its current or last run); "" when none. */
  tail(instance: Instance, lines: number): Promise<string>;
  /**
   * Container runtimes: the engine command that prints an instance's output with timestamps
   * (`logs --timestamps`, see container-commands.ts timestampedLogsArgv), for `berth logs`.
   * Processes write files instead.
   */
  logCommand?(ref: string, opts: { tail?: number; since?: string; follow?: boolean }): string[];
  /** Releases resources held by the driver (supervised processes keep running unless `stopAll`). */
  close(opts?: { stopAll?: boolean }): Promise<void>;
}
