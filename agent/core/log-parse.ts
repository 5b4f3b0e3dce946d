// Reading an app's output as berth stores it on a node, without I/O: which files belong to which
// app and instance, the time of each line (a "--- berth <time> …" marker line, a container
// engine's timestamp prefix, or the process log's time index), and the entry a line becomes.
//
// The time index: a supervised process writes its log file itself (so logging does not depend on
// the agent), so nobody timestamps its lines as they are written. The agent records instead, once a
// second while the file grows, `<size> <mtime ms>` in `<log>.times`: every byte before `size` was
// on disk at `mtime`. A line ending at offset e was therefore written at or before the time of the
// first entry with size >= e — exactly the time for the last line of each burst, an upper bound
// within the recording interval for the others, and for lines written while the agent was down
// the first moment it saw them. Pure.
import { sanitiseLine } from "./log-line.js";

/** A line of output, in the order berth shows it. */
export interface LogItem {
  /** Epoch milliseconds. */
  ms: number;
  instance: string;
  line: string;
  origin: "app" | "berth";
}

/** Instance name of berth's own lines about an app (the app journal, driver markers). */
export const berthInstance = "berth";

const markerPrefix = "--- berth ";

/** `--- berth <ISO time> <text>` as the process driver and the app journal write it. */
export const formatMarker = (ms: number, text: string): string =>
  `${markerPrefix}${new Date(ms).toISOString()} ${text}\n`;

/** A marker line's time and text, or null when the line is output of the app. */
export function parseMarker(line: string): { ms: number; text: string } | null {
  if (!line.startsWith(markerPrefix)) return null;
  const rest = line.slice(markerPrefix.length);
  const sp = rest.indexOf(" ");
  const ms = Date.parse(sp < 0 ? rest : rest.slice(0, sp));
  if (!Number.isFinite(ms)) return null;
  return { ms, text: sp < 0 ? "" : rest.slice(sp + 1) };
}

// RFC 3339 with up to nanoseconds, as `podman logs --timestamps` / `docker logs --timestamps` print.
const stampPrefix = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2}) ?/;

/** A container engine's `<RFC 3339 time> <text>` line; null when it carries no timestamp. */
export function parseTimestamped(line: string): { ms: number; nanos: string; text: string } | null {
  const m = stampPrefix.exec(line);
  if (!m) return null;
  const frac = m[2] ?? "";
  const ms = Date.parse(`${m[1]}${frac.slice(0, 4)}${m[3]}`);
  if (!Number.isFinite(ms)) return null;
  return { ms, nanos: frac.slice(1).padEnd(9, "0"), text: line.slice(m[0].length) };
}

// --- file names -------------------------------------------------------------------------------

/** Names berth gives an app's files under `<stateDir>/logs/`. */
export const logFiles = {
  /** Live log of a process instance (rotated copies add `.1`, `.2`, …). */
  process: (instance: string) => `${instance}.log`,
  /** Time index beside a process log (`berth-web-0-a.log.times`, `…log.1.times`). */
  times: (logFile: string) => `${logFile}.times`,
  /** Output of a container saved before berth removed it, under `containers/`. */
  savedContainer: (instance: string, id: string) => `${instance}.${id.slice(0, 12)}.log`,
  /** berth's own lines about an app, under `apps/`. */
  journal: (app: string) => `${app}.log`,
};

const instancePattern = /^berth-([a-z0-9-]+)-(\d+)-([ab])$/;

/** The app of an instance named `berth-<app>-<replica>-<slot>` (app names may contain `-<n>`). */
export function appOfInstance(instance: string): string | null {
  const m = instancePattern.exec(instance);
  return m ? (m[1] as string) : null;
}

/** The app of a workload id `<app>-<replica>`. */
export const appOfWorkload = (workloadId: string): string => workloadId.replace(/-\d+$/, "");

export interface ProcessLogFile {
  instance: string;
  /** 0 for the live file, n for `.log.n`. */
  generation: number;
}

/** `berth-web-0-a.log` / `berth-web-0-a.log.2` → instance and generation; null for anything else. */
export function parseProcessLogName(file: string): ProcessLogFile | null {
  const m = /^(berth-[a-z0-9-]+-\d+-[ab])\.log(?:\.(\d+))?$/.exec(file);
  if (!m) return null;
  return { instance: m[1] as string, generation: m[2] === undefined ? 0 : Number(m[2]) };
}

/** `berth-web-0-a.0123456789ab.log` → instance and container id prefix. */
export function parseSavedContainerName(file: string): { instance: string; id: string } | null {
  const m = /^(berth-[a-z0-9-]+-\d+-[ab])\.([0-9a-f]{12})\.log$/.exec(file);
  return m ? { instance: m[1] as string, id: m[2] as string } : null;
}

// --- time index -------------------------------------------------------------------------------

export interface Stamp {
  /** File size then: every byte before it was on disk at `ms`. */
  offset: number;
  ms: number;
}

/** One record of the time index. */
export const formatStamp = (s: Stamp): string => `${s.offset} ${s.ms}\n`;

/**
 * The usable stamps of an index: well-formed records whose offsets and times never go back (a
 * file truncated outside berth starts a new run: only the last run counts) and lie within the
 * file's current size. A torn last record (the agent killed mid-write) is ignored.
 */
export function parseStamps(text: string, fileSize: number): Stamp[] {
  let out: Stamp[] = [];
  for (const rec of text.split("\n")) {
    const m = /^(\d+) (\d+)$/.exec(rec);
    if (!m) continue;
    const s = { offset: Number(m[1]), ms: Number(m[2]) };
    const last = out[out.length - 1];
    if (last && s.offset < last.offset) out = [];
    else if (last && s.ms < last.ms) s.ms = last.ms;
    out.push(s);
  }
  return out.filter((s) => s.offset <= fileSize);
}

/** Time of a line that ends at `end`: the first stamp at or past it, else `fallback` (mtime). */
export function stampAt(stamps: readonly Stamp[], end: number, fallback: number): number {
  let lo = 0;
  let hi = stamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((stamps[mid] as Stamp).offset >= end) hi = mid;
    else lo = mid + 1;
  }
  return lo < stamps.length ? (stamps[lo] as Stamp).ms : fallback;
}

/**
 * Where to start reading for lines at or after `sinceMs`: lines that end at or before the offset
 * of the last stamp older than `sinceMs` were written before it.
 */
export function offsetSince(stamps: readonly Stamp[], sinceMs: number): number {
  let start = 0;
  for (const s of stamps) {
    if (s.ms >= sinceMs) break;
    start = s.offset;
  }
  return start;
}

// --- lines to entries ---------------------------------------------------------------------------

export interface RawLine {
  /** The line's first bytes (all of it unless it is very long), without the newline. */
  bytes: Buffer;
  /** Length of the whole line in bytes, without the newline. */
  total: number;
  /** Offset just past the line (past its newline when it has one). */
  end: number;
}

/** How the time of a line in this file is known. */
export type TimeSource =
  | { kind: "stamps"; stamps: readonly Stamp[]; mtime: number }
  | { kind: "prefix" }
  | { kind: "markers" };

export interface LineContext {
  instance: string;
  time: TimeSource;
  secrets: readonly string[];
}

/**
 * The entry a raw line becomes: berth's marker lines keep their time and are shown as berth's
 * (`origin: "berth"`, under the instance they are about, or `berth` in the app journal); container
 * lines take the engine's timestamp; process output takes the time index, an upper bound, which
 * readers going backwards also cap with the time of the line after it (lines are written in file
 * order). The text goes through sanitiseLine (with the line's real size when only its start was
 * read). Null for a line that has no time where one is required (not written by the engine).
 */
export function entryOf(raw: RawLine, ctx: LineContext): LogItem | null {
  const text = raw.bytes.toString("utf8");
  // Bytes of a long line the reader did not keep (it keeps the beginning), for the truncation mark.
  const dropped = Math.max(0, raw.total - raw.bytes.length);
  const clean = (s: string) => sanitiseLine(s, { secrets: ctx.secrets }, dropped);
  if (ctx.time.kind === "prefix") {
    const t = parseTimestamped(text);
    if (!t) return null;
    const marker = parseMarker(t.text);
    if (marker) return { ms: t.ms, instance: ctx.instance, line: clean(marker.text), origin: "berth" };
    return { ms: t.ms, instance: ctx.instance, line: clean(t.text), origin: "app" };
  }
  const marker = parseMarker(text);
  if (marker) return { ms: marker.ms, instance: ctx.instance, line: clean(marker.text), origin: "berth" };
  if (ctx.time.kind === "markers") return null;
  const ms = stampAt(ctx.time.stamps, raw.end, ctx.time.mtime);
  return { ms, instance: ctx.instance, line: clean(text), origin: "app" };
}
