// Markers that make a process berth started findable without its record: every supervised
// process gets BERTH_AGENT (a digest of the agent's state dir, so two agents on one host never
// take each other's processes), BERTH_INSTANCE (its instance name) and BERTH_SPEC_HASH in its
// environment. Linux keeps a process's initial environment in /proc/<pid>/environ, readable by its
// owner: when a record is lost or unreadable (a crash before it was written, a truncated file), the
// process is found again by its marker and adopted, or stopped when it cannot be. These values are
// not secret (the workload sees them too). Linux only.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";
import { hasExited, readProcStat } from "./proc-stat.js";

export const markerKeys = {
  agent: "BERTH_AGENT",
  instance: "BERTH_INSTANCE",
  spec: "BERTH_SPEC_HASH",
} as const;

/** The agent's identity in markers: a digest of its state dir's absolute path. */
export function agentMarker(stateDir: string): string {
  return createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 16);
}

export function markerEnv(agent: string, instance: string, specHash: string): Record<string, string> {
  return { [markerKeys.agent]: agent, [markerKeys.instance]: instance, [markerKeys.spec]: specHash };
}

/** Parses the NUL-separated KEY=VALUE list of /proc/<pid>/environ (or cmdline's NUL-separated args). */
export function parseEnviron(bytes: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of bytes.toString("utf8").split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

export interface MarkedProcess {
  pid: number;
  pgrp: number;
  startTime: number;
  instance: string;
  specHash: string;
  /** Its whole initial environment (markers included). */
  env: Record<string, string>;
  command: string[];
  cwd: string | null;
}

function readMarked(pid: number, agent: string): MarkedProcess | null {
  let env: Record<string, string>;
  try {
    env = parseEnviron(readFileSync(`/proc/${pid}/environ`));
  } catch {
    return null; // gone, or another user's process
  }
  if (env[markerKeys.agent] !== agent || !env[markerKeys.instance]) return null;
  const stat = readProcStat(pid);
  if (!stat || hasExited(stat)) return null;
  let command: string[] = [];
  let cwd: string | null = null;
  try {
    command = readFileSync(`/proc/${pid}/cmdline`)
      .toString("utf8")
      .split("\0")
      .filter((a) => a !== "");
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // The process ended meanwhile; what was read is enough to stop it.
  }
  return {
    pid,
    pgrp: stat.pgrp,
    startTime: stat.startTime,
    instance: env[markerKeys.instance] as string,
    specHash: env[markerKeys.spec] ?? "",
    env,
    command,
    cwd,
  };
}

/** Every live process carrying this agent's marker (group leaders and their children alike). */
export function findMarked(agent: string): MarkedProcess[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: MarkedProcess[] = [];
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const m = readMarked(Number(e), agent);
    if (m) out.push(m);
  }
  return out;
}
