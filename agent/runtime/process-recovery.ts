// What the process driver does at start with records it cannot trust: given the records it could
// read, the names of those it could not, and the processes carrying this agent's marker, decide
// which processes to adopt (with a record rebuilt from /proc when the file was lost or
// unreadable) and which to stop (orphans of a dead instance, duplicates, processes whose record
// cannot be rebuilt), so nothing berth started is left holding a port unsupervised. Every
// decision comes with a sentence for the log and the node's status. Pure.
import type { Slot } from "./driver.js";
import type { MarkedProcess } from "./process-markers.js";
import type { ProcessRecord } from "./process-records.js";

export interface Unreadable {
  name: string;
  /** Why: the parse error or what is missing. */
  reason: string;
}

export interface Stop {
  pgid: number;
  startTime: number;
  instance: string;
  pids: number[];
}

export interface RecoveryPlan {
  /** Records to use (rewritten when rebuilt or changed), each adopted or restarted as usual. */
  records: ProcessRecord[];
  /** Names whose record is rebuilt and must be written again. */
  rewrite: Set<string>;
  stop: Stop[];
  /** One sentence per decision, for the log and the node's status. */
  notes: { name: string; message: string }[];
}

const instanceRe = /^berth-(.+)-(a|b)$/;

/** A record for a marked group leader whose own record is lost; null when it cannot be rebuilt. */
export function rebuildRecord(m: MarkedProcess, now: Date): ProcessRecord | null {
  const parsed = instanceRe.exec(m.instance);
  const port = Number(m.env.PORT);
  if (!parsed || !Number.isInteger(port) || port <= 0 || m.command.length === 0 || !m.cwd) return null;
  const workloadId = parsed[1] as string;
  // Only PORT is kept: supervising needs no env (a new start takes the desired document's), and
  // the process's environment may hold decrypted secrets, which must never reach a file.
  const env = { PORT: String(port) };
  return {
    version: 1,
    name: m.instance,
    workloadId,
    app: workloadId.replace(/-\d+$/, ""),
    specHash: m.specHash,
    slot: parsed[2] as Slot,
    port,
    command: m.command,
    cwd: m.cwd,
    env,
    pid: m.pid,
    pgid: m.pgrp,
    startTime: m.startTime,
    startedAt: now.toISOString(),
    restarts: 0,
  };
}

export function planRecovery(input: {
  records: ProcessRecord[];
  unreadable: Unreadable[];
  marked: MarkedProcess[];
  /** Whether the process a record names still runs (pid and start time). */
  alive: (r: ProcessRecord) => boolean;
  now: Date;
}): RecoveryPlan {
  const plan: RecoveryPlan = { records: [], rewrite: new Set(), stop: [], notes: [] };
  // The newest marked group leader per instance name; any other leader of that name is a duplicate.
  const leaders = new Map<string, MarkedProcess>();
  for (const m of input.marked.filter((p) => p.pid === p.pgrp).sort((a, b) => b.startTime - a.startTime)) {
    if (!leaders.has(m.instance)) leaders.set(m.instance, m);
  }
  const kept = new Set<number>(); // process groups supervised after recovery
  const stopGroup = (m: MarkedProcess, why: string) => {
    plan.stop.push({ pgid: m.pgrp, startTime: m.startTime, instance: m.instance, pids: [m.pid] });
    plan.notes.push({ name: m.instance, message: `stopped pid ${m.pid}: ${why}` });
  };
  const unreadable = new Map(input.unreadable.map((u) => [u.name, u]));

  for (const r of input.records) {
    const leader = leaders.get(r.name);
    if (input.alive(r)) {
      kept.add(r.pgid);
    } else if (leader) {
      // The record names a dead pid but the instance runs: a crash between spawning and writing.
      plan.records.push({
        ...r,
        pid: leader.pid,
        pgid: leader.pgrp,
        startTime: leader.startTime,
        specHash: leader.specHash || r.specHash,
      });
      plan.rewrite.add(r.name);
      kept.add(leader.pgrp);
      plan.notes.push({
        name: r.name,
        message: `its record named pid ${r.pid}, which is gone; adopted pid ${leader.pid}, found by its marker`,
      });
      continue;
    }
    plan.records.push(r);
  }
  const known = new Set(input.records.map((r) => r.name));
  for (const [name, leader] of leaders) {
    if (known.has(name)) {
      if (!kept.has(leader.pgrp)) stopGroup(leader, "a second copy of an instance that runs");
      continue;
    }
    const why = unreadable.get(name);
    const rebuilt = rebuildRecord(leader, input.now);
    if (!rebuilt) {
      stopGroup(
        leader,
        `its record is ${why ? `unreadable (${why.reason})` : "missing"} and cannot be rebuilt from the process`,
      );
      continue;
    }
    plan.records.push(rebuilt);
    plan.rewrite.add(name);
    kept.add(leader.pgrp);
    plan.notes.push({
      name,
      message: `its record is ${why ? `unreadable (${why.reason})` : "missing"}; adopted pid ${leader.pid}, found by its marker, and wrote the record again`,
    });
  }
  // Members of a group no instance owns any more: left over from a dead instance (maybe holding
  // its port). Stopped per group.
  const orphans = new Map<number, MarkedProcess[]>();
  for (const m of input.marked) {
    if (kept.has(m.pgrp) || plan.stop.some((s) => s.pgid === m.pgrp)) continue;
    const list = orphans.get(m.pgrp) ?? [];
    list.push(m);
    orphans.set(m.pgrp, list);
  }
  for (const [pgid, members] of orphans) {
    const oldest = Math.min(...members.map((m) => m.startTime));
    plan.stop.push({
      pgid,
      startTime: oldest,
      instance: members[0]?.instance ?? "?",
      pids: members.map((m) => m.pid),
    });
    plan.notes.push({
      name: members[0]?.instance ?? "?",
      message: `stopped ${members.length} leftover process${members.length === 1 ? "" : "es"} (pid ${members.map((m) => m.pid).join(", ")}) of an instance that no longer runs`,
    });
  }
  for (const u of input.unreadable) {
    if (!leaders.has(u.name))
      plan.notes.push({
        name: u.name,
        message: `its record is unreadable (${u.reason}) and nothing of it runs`,
      });
  }
  return plan;
}
