// Log files of supervised processes. The child writes straight to the file (O_APPEND) so it keeps
// logging while the agent restarts; rotation is therefore copy-truncate: copy the live file to
// `.1` (shifting `.1`…`.N-1` up), then truncate the live file to zero. The child's next append
// lands at the new end. Lines written between the copy and the truncate are lost: the price of a
// child that must not depend on the agent being alive. The log's time index (`<log>.times`, see
// agent/logs/time-index.ts) counts towards the size limit and moves with its log.
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from "node:fs";
import { formatMarker, logFiles } from "../core/log-parse.js";

/** Opens `path` for appending (created 0600: logs may hold what an app prints about itself). */
export const openAppend = (path: string): number => openSync(path, "a", 0o600);

/** Appends one line written by berth itself (start/exit markers), prefixed so it stands out. */
export function appendMarker(path: string, text: string): void {
  appendFileSync(path, formatMarker(Date.now(), text), { mode: 0o600 });
}

const sizeOf = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** Moves `from` to `to` when it exists (a missing rotated file or index is not an error). */
function shift(from: string, to: string): void {
  if (existsSync(from)) renameSync(from, to);
}

/**
 * Rotates `path` when it and its time index have reached `maxBytes`, keeping `keep` rotated files
 * (`path.1` newest) with their indexes. Returns true when it rotated. `indexBytes` is the index's
 * size when the caller knows it (saves a stat per log per poll); `beforeRotate` runs once the
 * rotation is decided, before anything moves (the driver stamps the last lines into the index).
 */
export function rotateIfNeeded(
  path: string,
  maxBytes: number,
  keep: number,
  opts: { indexBytes?: number; beforeRotate?: () => void } = {},
): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  const times = logFiles.times(path);
  if (size + (opts.indexBytes ?? sizeOf(times)) < maxBytes) return false;
  opts.beforeRotate?.();
  if (keep > 0) {
    rmSync(`${path}.${keep}`, { force: true });
    rmSync(logFiles.times(`${path}.${keep}`), { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      shift(`${path}.${i}`, `${path}.${i + 1}`);
      shift(logFiles.times(`${path}.${i}`), logFiles.times(`${path}.${i + 1}`));
    }
    copyFileSync(path, `${path}.1`);
    // The index's offsets are those of the copy: it goes with it, and the live file starts a new one.
    shift(times, logFiles.times(`${path}.1`));
  } else {
    rmSync(times, { force: true });
  }
  truncateSync(path, 0);
  return true;
}
