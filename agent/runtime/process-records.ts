// The process driver's memory on disk: one JSON file per supervised instance under
// `<stateDir>/processes/<instance>.json`, so a restarted agent can adopt the processes it started
// (and only those). Files are written atomically (tmp + rename) with mode 0600 because they hold
// the workload's environment, needed to restart an adopted process that dies. Secrets are recorded
// as the ciphertext the desired document carries, never as plaintext: each start decrypts them.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Workload } from "../../schema/index.js";
import type { Slot } from "./driver.js";

export interface ProcessRecord {
  version: 1;
  /** Instance name, e.g. berth-web-0-a (also the file name and the log name). */
  name: string;
  workloadId: string;
  app: string;
  specHash: string;
  slot: Slot;
  port: number;
  command: string[];
  cwd: string;
  /** The workload's env plus PORT (inherited variables such as PATH are not recorded). */
  env: Record<string, string>;
  /** Env entries taken from encrypted secrets: ciphertext only, decrypted at every start. */
  secrets?: NonNullable<Workload["secrets"]>;
  pid: number;
  pgid: number;
  /** Start time of pid in clock ticks since boot (/proc/<pid>/stat field 22): guards pid reuse. */
  startTime: number;
  startedAt: string;
  restarts: number;
}

export const processesDir = (stateDir: string): string => join(stateDir, "processes");
export const logsDir = (stateDir: string): string => join(stateDir, "logs");
export const logPath = (stateDir: string, name: string): string => join(logsDir(stateDir), `${name}.log`);
const recordPath = (stateDir: string, name: string): string => join(processesDir(stateDir), `${name}.json`);

export function ensureDirs(stateDir: string): void {
  mkdirSync(processesDir(stateDir), { recursive: true, mode: 0o700 });
  mkdirSync(logsDir(stateDir), { recursive: true, mode: 0o700 });
  // A crash between writing a record's temporary file and renaming it leaves the temporary file.
  for (const f of readdirSync(processesDir(stateDir))) {
    if (f.endsWith(".tmp")) rmSync(join(processesDir(stateDir), f), { force: true });
  }
}

export function writeRecord(stateDir: string, rec: ProcessRecord): void {
  const file = recordPath(stateDir, rec.name);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export const removeRecord = (stateDir: string, name: string): void =>
  rmSync(recordPath(stateDir, name), { force: true });

function isRecord(v: unknown): v is ProcessRecord {
  const r = v as ProcessRecord;
  return (
    !!r &&
    r.version === 1 &&
    typeof r.name === "string" &&
    typeof r.pid === "number" &&
    typeof r.pgid === "number" &&
    typeof r.startTime === "number" &&
    Array.isArray(r.command) &&
    (r.slot === "a" || r.slot === "b")
  );
}

export interface UnreadableRecord {
  /** The instance name (the file's name without .json). */
  name: string;
  path: string;
  reason: string;
}

/** Every readable record, and the files that could not be read (never deleted here). */
export function readRecords(stateDir: string): { records: ProcessRecord[]; unreadable: UnreadableRecord[] } {
  const dir = processesDir(stateDir);
  const records: ProcessRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return { records, unreadable };
  }
  for (const f of files.sort()) {
    const path = join(dir, f);
    const name = f.slice(0, -".json".length);
    try {
      const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (isRecord(v) && v.name === name) records.push(v);
      else
        unreadable.push({
          name,
          path,
          reason: "not a berth process record (unknown version or missing fields)",
        });
    } catch (e) {
      unreadable.push({ name, path, reason: (e as Error).message });
    }
  }
  return { records, unreadable };
}

/**
 * Moves an unreadable record out of the way (into processes/unreadable/, kept for a person to
 * look at: it may hold the workload's environment, hence 0600 as before), so it is not read again.
 */
export function setAside(stateDir: string, u: UnreadableRecord, now: Date): string {
  const dir = join(processesDir(stateDir), "unreadable");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const to = join(dir, `${u.name}.${now.toISOString().replace(/[:.]/g, "-")}.json`);
  renameSync(u.path, to);
  return to;
}
