// Writes the time index of process logs (see agent/core/log-parse.ts for what it means): once per
// tick, for each live log that grew since the last record, one record `<size> <mtime ms>` in
// `<log>.times`. Cost while nothing is written: one stat per running instance per tick. The index
// counts towards its log's size limit and is rotated with it (rotating-log.ts), so however an app
// writes, log and index together stay within the limit.
import { appendFileSync, statSync } from "node:fs";
import { formatStamp, logFiles } from "../core/log-parse.js";

export interface TimeIndexer {
  /** Records the current size of each log that changed since its last record. Never throws. */
  tick(logPaths: Iterable<string>): void;
  /** Forgets a log (rotated or removed): its next record is written whatever its size. */
  forget(logPath: string): void;
}

export function createTimeIndexer(): TimeIndexer {
  const last = new Map<string, number>();
  return {
    tick(paths) {
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
          appendFileSync(logFiles.times(path), formatStamp({ offset: size, ms: mtime }), { mode: 0o600 });
          last.set(path, size);
        } catch {
          // A full disk loses a record; those lines then take the next one's time. Supervision goes on.
        }
      }
    },
    forget(path) {
      last.delete(path);
    },
  };
}
