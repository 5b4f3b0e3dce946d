// Writes the time index of process logs (see agent/core/log-parse.ts for what it means): a record
// `<size> <mtime ms>` in `<log>.times` each time a live log has grown. Growth is noticed through
// the kernel (inotify on the logs directory, via fs.watch): a write wakes the indexer, which stamps
// the files written in the last `settleMs` together. So an agent whose apps print nothing does no
// work at all for the index, and a line gets a time within `settleMs` of its write (the exact
// time for the last line of each burst: the file's mtime). Without inotify (watch fails) the
// driver's periodic poll stamps instead, with its coarser precision. The index counts towards its
// log's size limit and is rotated with it (rotating-log.ts).
import { appendFileSync, type FSWatcher, statSync, watch } from "node:fs";
import { basename, join } from "node:path";
import { formatStamp, logFiles, parseProcessLogName } from "../core/log-parse.js";

export interface TimeIndexer {
  /** Records the current size of each log that changed since its last record. Never throws. */
  tick(logPaths: Iterable<string>): void;
  /** Forgets a log (rotated or removed): its next record is written whatever its size. */
  forget(logPath: string): void;
  /**
   * Bytes in the log's index, for the rotation check: read from the file once, then counted as
   * records are appended (so the driver's size poll stats only the log, as before the index).
   */
  indexSize(logPath: string): number;
  /**
   * Stamps live logs of `dir` as they are written (the files `wanted` accepts), until close().
   * False when the kernel cannot watch the directory (then only tick() stamps).
   */
  watch(dir: string, wanted: (logPath: string) => boolean, settleMs?: number): boolean;
  /** True while the kernel reports writes (a watch that failed later is closed and says false). */
  watching(): boolean;
  close(): void;
}

export function createTimeIndexer(): TimeIndexer {
  const last = new Map<string, number>();
  const indexBytes = new Map<string, number>();
  const indexSize = (path: string): number => {
    let n = indexBytes.get(path);
    if (n === undefined) {
      try {
        n = statSync(logFiles.times(path)).size;
      } catch {
        n = 0;
      }
      indexBytes.set(path, n);
    }
    return n;
  };
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  const dirty = new Set<string>();

  function tick(paths: Iterable<string>): void {
    for (const path of paths) {
      let size: number;
      let mtime: number;
      try {
        const st = statSync(path);
        size = st.size;
        mtime = Math.floor(st.mtimeMs);
      } catch {
        continue;
      }
      if (last.get(path) === size) continue;
      try {
        const before = indexSize(path);
        const record = formatStamp({ offset: size, ms: mtime });
        appendFileSync(logFiles.times(path), record, { mode: 0o600 });
        indexBytes.set(path, before + Buffer.byteLength(record));
        last.set(path, size);
      } catch {
        // A full disk loses a record; those lines then take the next one's time. Supervision goes on.
      }
    }
  }

  return {
    tick,
    forget(path) {
      last.delete(path);
      indexBytes.delete(path);
    },
    indexSize,
    watch(dir, wanted, settleMs = 200) {
      try {
        watcher = watch(dir, { persistent: false }, (_event, name) => {
          // Only live logs: not rotated copies, not the indexes this very code appends to.
          if (!name || parseProcessLogName(basename(String(name)))?.generation !== 0) return;
          const path = join(dir, String(name));
          if (!wanted(path)) return;
          dirty.add(path);
          timer ??= setTimeout(() => {
            timer = null;
            const paths = [...dirty];
            dirty.clear();
            tick(paths);
          }, settleMs);
          timer.unref();
        });
        watcher.on("error", () => {
          watcher?.close();
          watcher = null;
        });
        return true;
      } catch {
        return false;
      }
    },
    watching: () => watcher !== null,
    close() {
      watcher?.close();
      watcher = null;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
