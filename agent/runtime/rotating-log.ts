// Log files of supervised processes. The child writes straight to the file (O_APPEND) so it keeps
// logging while the agent restarts; rotation is therefore copy-truncate: copy the live file to
// `.1` (shifting `.1`…`.N-1` up), then truncate the live file to zero. The child's next append
// lands at the new end. Lines written between the copy and the truncate are lost: the price of a
// child that must not depend on the agent being alive.
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

/** Opens `path` for appending (created 0600: logs may hold what an app prints about itself). */
export const openAppend = (path: string): number => openSync(path, "a", 0o600);

/** Appends one line written by berth itself (start/exit markers), prefixed so it stands out. */
export function appendMarker(path: string, text: string): void {
  appendFileSync(path, `--- berth ${new Date().toISOString()} ${text}\n`, { mode: 0o600 });
}

/**
 * Rotates `path` when it has reached `maxBytes`, keeping `keep` rotated files (`path.1` newest).
 * Returns true when it rotated.
 */
export function rotateIfNeeded(path: string, maxBytes: number, keep: number): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size < maxBytes) return false;
  if (keep > 0) {
    rmSync(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
    copyFileSync(path, `${path}.1`);
  }
  truncateSync(path, 0);
  return true;
}
