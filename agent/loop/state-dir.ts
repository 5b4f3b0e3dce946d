// The agent's own files in its state dir: `desired.json` (the document it works towards, written
// when accepted so a restart resumes it even with the reconciler down), `applied.json` (hash and
// commit of the last document applied completely) and `workloads.json` (exits counted per spec and
// the commit each spec came from, so restart counts and crash-loop delays survive an agent
// restart). Writes are atomic: temp file, fsync, rename.
// The process driver keeps its own files (processes/, logs/) in the same dir; this module does
// not touch them.
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { DesiredState } from "../../schema/index.js";
import type { CrashRecord } from "../core/crash-loop.js";

export interface AppliedRecord {
  hash: string;
  commit: string;
}

/** What the loop remembers about workloads beyond the document. */
export interface MemoryRecord {
  crashes: CrashRecord[];
  specCommits: Record<string, string>;
}

export interface StoredState {
  /** The raw stored document: the caller checks it again before trusting it. */
  desired: unknown | null;
  applied: AppliedRecord | null;
  memory: MemoryRecord;
  /** What could not be read, for the log (a corrupt file is ignored, never fatal). */
  warnings: string[];
}

export const desiredPath = (stateDir: string): string => join(stateDir, "desired.json");
export const appliedPath = (stateDir: string): string => join(stateDir, "applied.json");
export const memoryPath = (stateDir: string): string => join(stateDir, "workloads.json");

const isCrashRecord = (v: unknown): v is CrashRecord => {
  const r = v as CrashRecord;
  return (
    !!r &&
    typeof r.key === "string" &&
    typeof r.workloadId === "string" &&
    Number.isInteger(r.restarts) &&
    Number.isInteger(r.streak) &&
    typeof r.nextRestartAt === "number"
  );
};

/** Reads workloads.json leniently: a record that does not look right is dropped, never fatal. */
function toMemory(raw: unknown): MemoryRecord {
  const m = raw as Partial<MemoryRecord> | null;
  const crashes = Array.isArray(m?.crashes) ? m.crashes.filter(isCrashRecord) : [];
  const specCommits: Record<string, string> = {};
  if (m?.specCommits && typeof m.specCommits === "object") {
    for (const [k, v] of Object.entries(m.specCommits)) if (typeof v === "string") specCommits[k] = v;
  }
  return { crashes, specCommits };
}

async function readJson(path: string, warnings: string[]): Promise<unknown | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT")
      warnings.push(`cannot read ${path}: ${(e as Error).message}`);
    return null;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    warnings.push(`${path} is not valid JSON (${(e as Error).message}); ignoring it`);
    return null;
  }
}

export async function loadState(stateDir: string): Promise<StoredState> {
  const warnings: string[] = [];
  const desired = await readJson(desiredPath(stateDir), warnings);
  const raw = (await readJson(appliedPath(stateDir), warnings)) as Partial<AppliedRecord> | null;
  const applied =
    raw && typeof raw.hash === "string" && typeof raw.commit === "string"
      ? { hash: raw.hash, commit: raw.commit }
      : null;
  const memory = toMemory(await readJson(memoryPath(stateDir), warnings));
  return { desired, applied, memory, warnings };
}

/** Writes `data` to `path` so that a reader (or a crash) sees either the old or the new content. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(data, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function ensureStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
}

export interface StateWriter {
  /** Queues a write of the document being applied (it holds env values: 0600 in a 0700 dir). */
  saveDesired(doc: DesiredState): void;
  saveApplied(applied: AppliedRecord): void;
  /** Queues a write of workloads.json; a newer one queued before it ran replaces it. */
  saveMemory(memory: MemoryRecord): void;
  /** Resolves when every queued write is done. */
  flush(): Promise<void>;
}

/**
 * Writes the state files one after another, off the loop's critical path: a new document is acted
 * on while its file is being synced (a crash in between resumes the previous document, which the
 * reconciler then replaces again).
 */
export function createStateWriter(stateDir: string, onResult: (error: Error | null) => void): StateWriter {
  let chain: Promise<void> = Promise.resolve();
  const queue = (path: string, data: string) => {
    chain = chain.then(() =>
      writeAtomic(path, data).then(
        () => onResult(null),
        (e: Error) => onResult(e),
      ),
    );
  };
  // Crash records change with every exit of a crash-looping workload: only the newest is written.
  let memoryQueued: MemoryRecord | null = null;
  return {
    saveDesired: (doc) => queue(desiredPath(stateDir), `${JSON.stringify(doc)}\n`),
    saveApplied: (applied) => queue(appliedPath(stateDir), `${JSON.stringify(applied)}\n`),
    saveMemory(memory) {
      const first = memoryQueued === null;
      memoryQueued = memory;
      if (!first) return;
      chain = chain.then(() => {
        const m = memoryQueued as MemoryRecord;
        memoryQueued = null;
        return writeAtomic(memoryPath(stateDir), `${JSON.stringify(m)}\n`).then(
          () => onResult(null),
          (e: Error) => onResult(e),
        );
      });
    },
    flush: () => chain,
  };
}
