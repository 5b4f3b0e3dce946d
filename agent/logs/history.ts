// The history part of `berth logs` from files on the node: a process instance's log and its
// rotated copies (times from the time index), the saved output of removed containers (the
// engine's timestamps), and the app journal (berth's own lines). Each source gives its newest
// `lines` lines that pass `since` and `grep`, oldest first; the session merges the sources.
import { readFile, stat } from "node:fs/promises";
import {
  entryOf,
  type LogItem,
  logFiles,
  offsetSince,
  parseStamps,
  type TimeSource,
} from "../core/log-parse.js";
import { openIfExists, readBackward } from "./file-lines.js";

export type FileSource =
  /** A process instance's live log (`berth-web-0-a.log`), with `.1`… rotated copies behind it. */
  | { kind: "process"; instance: string; path: string }
  /** Output of a removed container, saved as `<engine time> <line>` lines. */
  | { kind: "saved"; instance: string; path: string }
  /** berth's own lines about the app. */
  | { kind: "journal"; instance: string; path: string };

export interface HistoryQuery {
  lines: number;
  sinceMs: number | null;
  grep: ((line: string) => boolean) | null;
  secrets: readonly string[];
  /**
   * The live file is still written: leave out its last line when it has no newline yet (a
   * follower sends it once complete). Otherwise it is shown as it is.
   */
  following: boolean;
}

/** Rotated copies looked at behind a live log (the driver keeps 3 by default). */
const maxGenerations = 10;

async function timeSourceOf(
  source: FileSource,
  path: string,
  size: number,
  mtime: number,
): Promise<TimeSource> {
  if (source.kind === "saved") return { kind: "prefix" };
  if (source.kind === "journal") return { kind: "markers" };
  let text = "";
  try {
    text = await readFile(logFiles.times(path), "utf8");
  } catch {
    // No index (stamping off, or the file was never seen growing): the file's mtime bounds every line.
  }
  return { kind: "stamps", stamps: parseStamps(text, size), mtime };
}

/** Where a follower goes on reading a live file: past its newest complete line. */
interface Resume {
  at: number | null;
}

/**
 * Newest lines of one file, newest first, appended to `out` until it holds `q.lines`. Returns
 * false when a line older than `since` was met (older files need not be read).
 */
async function fromFile(
  source: FileSource,
  path: string,
  q: HistoryQuery,
  live: boolean,
  out: LogItem[],
  order: { ceiling: number },
  resume: Resume,
): Promise<boolean> {
  const fh = await openIfExists(path);
  if (!fh) return true;
  try {
    const st = await fh.stat();
    const following = live && q.following;
    if (following) resume.at = 0;
    if (q.sinceMs !== null && st.mtimeMs < q.sinceMs && !following) return false;
    const time = await timeSourceOf(source, path, st.size, Math.floor(st.mtimeMs));
    const from = q.sinceMs !== null && time.kind === "stamps" ? offsetSince(time.stamps, q.sinceMs) : 0;
    let older = false;
    // A follower needs the end of the newest complete line even when no history is wanted.
    const range = { from: following ? 0 : from, to: st.size };
    await readBackward(fh, range, { partial: !following }, (raw) => {
      if (following && resume.at === 0) resume.at = raw.end;
      if (out.length >= q.lines || raw.end <= from) return false;
      const item = entryOf(raw, { instance: source.instance, time, secrets: q.secrets });
      if (!item) return true;
      // Lines are written in file order: an upper-bound time never exceeds the next line's.
      if (time.kind === "stamps") {
        item.ms = Math.min(item.ms, order.ceiling);
        order.ceiling = item.ms;
      }
      if (q.sinceMs !== null && item.ms < q.sinceMs) {
        older = true;
        return false;
      }
      if (q.grep && !q.grep(item.line)) return true;
      out.push(item);
      return out.length < q.lines;
    });
    return !older;
  } finally {
    await fh.close();
  }
}

export interface FileHistory {
  /** Oldest first. */
  items: LogItem[];
  /** Following: the offset of the live file where new lines start (null when not following). */
  resumeAt: number | null;
}

/** The newest `q.lines` lines of a source that pass the query, oldest first. */
export async function readFileHistory(source: FileSource, q: HistoryQuery): Promise<FileHistory> {
  const out: LogItem[] = [];
  const order = { ceiling: Number.POSITIVE_INFINITY };
  const resume: Resume = { at: null };
  if (source.kind !== "process") {
    if (source.kind === "saved" ? q.lines > 0 : true)
      await fromFile(source, source.path, q, source.kind === "journal", out, order, resume);
  } else {
    for (let g = 0; g <= maxGenerations && (out.length < q.lines || g === 0); g++) {
      const path = g === 0 ? source.path : `${source.path}.${g}`;
      if (g > 0 && !(await exists(path))) break;
      if (!(await fromFile(source, path, q, g === 0, out, order, resume))) break;
    }
  }
  // Readers went newest first; time order within a source is file order.
  return { items: out.reverse(), resumeAt: resume.at };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
