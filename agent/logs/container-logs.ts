// A container's output through its engine (`podman logs --timestamps`, the same for docker): the
// history part (newest lines, since, grep) and following it while a watcher is there. stdout and
// stderr come on two streams and are put back in time order by their timestamps. Reading is
// bounded: a line keeps its first bytes only, and a history read stops after `maxBytes`.
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  entryOf,
  formatMarker,
  type LogItem,
  logFiles,
  parseSavedContainerName,
  parseTimestamped,
  type RawLine,
} from "../core/log-parse.js";
import { streamCommand } from "../runtime/run-command.js";
import { keepBytes } from "./file-lines.js";
import type { HistoryQuery } from "./history.js";

/** How to ask the engine for one container's output. */
export interface ContainerTarget {
  instance: string;
  ref: string;
  argv(opts: { tail?: number; since?: string; follow?: boolean }): string[];
}

/** Lines with grep look this far back in a container's output (the engine keeps all of it). */
export const grepTail = 50_000;
/** A history read stops after this many bytes of output. */
const maxHistoryBytes = 64 * 1024 * 1024;

/** Splits a byte stream into lines, keeping only the first `keep` bytes of each. */
export class LineSplitter {
  private pieces: Buffer[] = [];
  private kept = 0;
  private total = 0;
  private offset = 0;

  constructor(private readonly keep = keepBytes) {}

  feed(chunk: Buffer): RawLine[] {
    const out: RawLine[] = [];
    let start = 0;
    for (;;) {
      const j = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, j < 0 ? chunk.length : j);
      this.total += piece.length;
      if (this.kept < this.keep && piece.length > 0) {
        const part = Buffer.from(piece.subarray(0, this.keep - this.kept));
        this.pieces.push(part);
        this.kept += part.length;
      }
      if (j < 0) break;
      out.push(this.line(this.offset + j + 1));
      start = j + 1;
    }
    this.offset += chunk.length;
    return out;
  }

  /** The last line when the stream ended without a newline. */
  rest(): RawLine | null {
    return this.total > 0 ? this.line(this.offset) : null;
  }

  private line(end: number): RawLine {
    const bytes = this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces);
    const l = { bytes, total: this.total, end };
    this.pieces = [];
    this.kept = 0;
    this.total = 0;
    return l;
  }
}

interface Stamped extends LogItem {
  /** The engine's time with nanoseconds, to order lines of one millisecond. */
  key: string;
}

function stampedOf(raw: RawLine, target: ContainerTarget, secrets: readonly string[]): Stamped | null {
  const head = raw.bytes.subarray(0, 40).toString("utf8");
  const t = parseTimestamped(head);
  if (!t) return null;
  const item = entryOf(raw, { instance: target.instance, time: { kind: "prefix" }, secrets });
  if (!item) return null;
  return { ...item, key: `${new Date(t.ms).toISOString().slice(0, 19)}.${t.nanos}` };
}

const byKey = (a: Stamped, b: Stamped) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const plain = ({ key: _k, ...item }: Stamped): LogItem => item;

export interface ContainerHistory {
  items: LogItem[];
  /** Engine time (RFC 3339 nanoseconds) of the newest line seen: where following goes on. */
  newest: string | null;
  /** Why the output could not be read (engine error), if it could not. */
  problem: string | null;
}

/** The newest `q.lines` lines of a container that pass the query, oldest first. */
export async function readContainerHistory(
  target: ContainerTarget,
  q: HistoryQuery,
): Promise<ContainerHistory> {
  if (q.lines <= 0) return { items: [], newest: null, problem: null };
  const all: Stamped[] = [];
  const errors: string[] = [];
  let bytes = 0;
  let cut = false;
  const take = (raw: RawLine) => {
    const s = stampedOf(raw, target, q.secrets);
    if (s) all.push(s);
    else if (errors.length < 3 && raw.total > 0) errors.push(raw.bytes.toString("utf8").slice(0, 300));
  };
  const out = new LineSplitter();
  const err = new LineSplitter();
  const argv = target.argv({
    tail: q.grep ? grepTail : q.lines,
    ...(q.sinceMs !== null ? { since: new Date(q.sinceMs - 1).toISOString() } : {}),
  });
  let startError: string | null = null;
  const cmd = streamCommand(argv, {
    stdout: (c) => {
      bytes += c.length;
      if (bytes > maxHistoryBytes) {
        cut = true;
        cmd.stop();
        return;
      }
      for (const l of out.feed(c)) take(l);
    },
    // The container's stderr lines come here, as do the engine's own errors (no timestamp).
    stderr: (c) => {
      for (const l of err.feed(c)) take(l);
    },
    onError: (m) => {
      startError = m;
    },
  });
  const code = await cmd.done;
  for (const l of [out.rest(), err.rest()]) if (l) take(l);
  all.sort(byKey);
  const newest = all.length > 0 ? `${(all[all.length - 1] as Stamped).key}Z` : null;
  const kept = all.filter((s) => (q.sinceMs === null || s.ms >= q.sinceMs) && (!q.grep || q.grep(s.line)));
  const problem =
    startError ??
    (code !== 0 && !cut && all.length === 0
      ? `reading the output of ${target.instance} failed (exit ${code})${errors.length ? `: ${errors.join(" ")}` : ""}`
      : null);
  return { items: kept.slice(Math.max(0, kept.length - q.lines)).map(plain), newest, problem };
}

export interface ContainerFollower {
  stop(): void;
  /** Resolves when the engine stops sending (the container stopped or was removed, or stop()). */
  done: Promise<void>;
}

/**
 * Follows a container's output from after `since` (engine time, exclusive; null: from its start),
 * handing over lines as they come.
 */
export function followContainer(
  target: ContainerTarget,
  since: string | null,
  secrets: () => readonly string[],
  onItems: (items: LogItem[]) => void,
): ContainerFollower {
  const out = new LineSplitter();
  const err = new LineSplitter();
  const pass = (raws: (RawLine | null)[]) => {
    const items: LogItem[] = [];
    for (const raw of raws) {
      if (!raw) continue;
      const s = stampedOf(raw, target, secrets());
      if (s) items.push(plain(s));
    }
    if (items.length > 0) onItems(items);
  };
  const cmd = streamCommand(target.argv({ follow: true, ...(since ? { since } : {}) }), {
    stdout: (c) => pass(out.feed(c)),
    stderr: (c) => pass(err.feed(c)),
  });
  const done = cmd.done.then(() => pass([out.rest(), err.rest()]));
  return { stop: () => cmd.stop(), done };
}

/** Output kept of a removed container: the newest lines... */
const savedTail = 10_000;
/** ...up to this many bytes. */
const maxSavedBytes = 8 * 1024 * 1024;
/** Saved outputs kept per instance name (the newest), so a crash loop cannot fill the disk. */
const savedPerInstance = 3;

/**
 * Saves what a container printed before berth removes it (then `podman logs` can no longer show
 * it), as `<engine time> <line>` lines in time order under `dir`. That is the output people need
 * after a restart or a failed replace. Never throws: a container whose output cannot be read
 * leaves a file saying so.
 */
export async function saveContainerOutput(
  target: ContainerTarget,
  dir: string,
  timeoutMs = 10_000,
): Promise<void> {
  const lines: { key: string; text: Buffer }[] = [];
  let bytes = 0;
  const keep = (raw: RawLine) => {
    const t = parseTimestamped(raw.bytes.subarray(0, 40).toString("utf8"));
    if (!t || bytes > maxSavedBytes) return;
    const iso = new Date(t.ms).toISOString().slice(0, 19);
    const prefix =
      raw.bytes
        .subarray(0, 40)
        .toString("utf8")
        .match(/^\S+ ?/)?.[0] ?? "";
    const text = raw.bytes.subarray(Buffer.byteLength(prefix));
    bytes += text.length;
    lines.push({ key: `${iso}.${t.nanos}Z`, text });
  };
  const out = new LineSplitter();
  const err = new LineSplitter();
  let problem: string | null = null;
  const cmd = streamCommand(target.argv({ tail: savedTail }), {
    stdout: (c) => out.feed(c).forEach(keep),
    stderr: (c) => err.feed(c).forEach(keep),
    onError: (m) => {
      problem = m;
    },
  });
  const timer = setTimeout(() => {
    problem = `reading its output took longer than ${timeoutMs} ms`;
    cmd.stop();
  }, timeoutMs);
  await cmd.done;
  clearTimeout(timer);
  for (const l of [out.rest(), err.rest()]) if (l) keep(l);
  lines.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const parts: Buffer[] = lines.map((l) =>
    Buffer.concat([Buffer.from(`${l.key} `), l.text, Buffer.from("\n")]),
  );
  if (problem)
    parts.push(
      Buffer.from(
        `${new Date().toISOString()} ${formatMarker(Date.now(), `berth could not save all of ${target.instance}'s output: ${problem}`)}`,
      ),
    );
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, logFiles.savedContainer(target.instance, target.ref)), Buffer.concat(parts), {
      mode: 0o600,
    });
    // Keep the newest few per instance.
    const mine: { name: string; mtime: number }[] = [];
    for (const name of await readdir(dir)) {
      if (parseSavedContainerName(name)?.instance !== target.instance) continue;
      mine.push({ name, mtime: (await stat(join(dir, name))).mtimeMs });
    }
    mine.sort((a, b) => b.mtime - a.mtime);
    for (const old of mine.slice(savedPerInstance)) await rm(join(dir, old.name), { force: true });
  } catch {
    // A full or unwritable disk loses the saved output; removing the container goes on.
  }
}
