// Reads Linux /proc/<pid>/stat to tell whether a recorded process is still the one berth started
// (same pid AND same start time, so a reused pid is never mistaken for it) and to find every
// member of a process group. Linux only; it signals nothing (process-group.ts does).
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T… */
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, identifies one process for good. */
  startTime: number;
}

/** Parses the text of /proc/<pid>/stat. The command name may hold spaces and ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // Fields after the name start at field 3 (state); starttime is field 22.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const startTime = Number(rest[19]);
  if (!Number.isFinite(pid) || !Number.isFinite(startTime)) return null;
  return {
    pid,
    state: rest[0] ?? "?",
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    startTime,
  };
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** True when `pid` runs (not a zombie) and started at `startTime` (clock ticks since boot). */
export function isSameProcessAlive(pid: number, startTime: number): boolean {
  const s = readProcStat(pid);
  return s !== null && s.state !== "Z" && s.startTime === startTime;
}

/**
 * Live (non-zombie) members of process group `pgid` that started no earlier than the group's
 * leader did (`minStartTime`): an older process in a group of that id cannot be ours.
 */
export function groupMembers(pgid: number, minStartTime: number): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const s = readProcStat(Number(e));
    if (s && s.pgrp === pgid && s.state !== "Z" && s.startTime >= minStartTime) out.push(s);
  }
  return out;
}
