// Signals and stops a whole process group that berth started (the child was spawned detached, so
// its pid is its group id). Stop = SIGTERM to every member, wait up to the grace period, then
// SIGKILL. A group is only signalled as a whole while its leader is provably ours (pid + start
// time); otherwise members are signalled one by one, each checked against the leader's start time.
import { setTimeout as sleep } from "node:timers/promises";
import { groupMembers, isSameProcessAlive } from "./proc-stat.js";

export interface GroupRef {
  pgid: number;
  /** Start time of the group leader (clock ticks since boot), from /proc/<pid>/stat. */
  startTime: number;
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** Sends `signal` to every live member of the group. */
export function signalGroup(g: GroupRef, signal: NodeJS.Signals): void {
  if (isSameProcessAlive(g.pgid, g.startTime)) {
    trySignal(-g.pgid, signal);
    return;
  }
  for (const m of groupMembers(g.pgid, g.startTime)) trySignal(m.pid, signal);
}

export const groupAlive = (g: GroupRef): boolean => groupMembers(g.pgid, g.startTime).length > 0;

async function waitGone(g: GroupRef, ms: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!groupAlive(g)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}

/**
 * SIGTERM to the group, SIGKILL to whatever is left after `graceMs`. Resolves with how it ended;
 * rejects when something survives SIGKILL (a process stuck in the kernel).
 */
export async function stopGroup(
  g: GroupRef,
  graceMs: number,
): Promise<"not-running" | "terminated" | "killed"> {
  if (!groupAlive(g)) return "not-running";
  signalGroup(g, "SIGTERM");
  if (await waitGone(g, graceMs)) return "terminated";
  signalGroup(g, "SIGKILL");
  if (await waitGone(g, 5_000)) return "killed";
  const left = groupMembers(g.pgid, g.startTime).map((m) => m.pid);
  throw new Error(`process group ${g.pgid} survived SIGKILL (pids ${left.join(", ")}); check them by hand`);
}
