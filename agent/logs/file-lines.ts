// Lines of a log file read backwards (history: the newest lines first, stopping as soon as enough
// are found, so `-n 100` of a 10 MiB file reads its last few KiB) or forwards (following). Memory
// is bounded whatever the file holds: of a line longer than `keepBytes` (a 1 MiB line, binary
// garbage without newlines) only its first `keepBytes` are kept, with its real length.
import { type FileHandle, open } from "node:fs/promises";
import type { RawLine } from "../core/log-parse.js";

const chunkBytes = 64 * 1024;

/** Bytes kept of a line: what berth shows (8 KiB) plus room for a secret that straddles the cut. */
export const keepBytes = 12 * 1024;

/**
 * Calls `onLine` for each line in [from, to) of the file, newest first, until it returns false or
 * the range is exhausted. A last line without a newline is passed only when `partial` is true
 * (a file still being written: the line is not complete yet).
 */
export async function readBackward(
  fh: FileHandle,
  range: { from: number; to: number },
  opts: { partial: boolean; keep?: number },
  onLine: (line: RawLine) => boolean,
): Promise<void> {
  const keep = opts.keep ?? keepBytes;
  // The line being put together, from its end backwards: its pieces, bytes kept, whole length.
  let pieces: Buffer[] = [];
  let kept = 0;
  let total = 0;
  let lineEnd = range.to;
  // Until the first newline is met, the bytes seen are the file's last line, without a newline.
  let trailing = true;
  const take = (buf: Buffer) => {
    if (buf.length === 0) return;
    pieces.unshift(Buffer.from(buf));
    kept += buf.length;
    total += buf.length;
    // Only a line's beginning is shown: drop what lies past `keep` once enough has piled up.
    if (kept > 2 * keep) {
      const joined = Buffer.from(Buffer.concat(pieces).subarray(0, keep));
      pieces = [joined];
      kept = joined.length;
    }
  };
  const emit = (): boolean => {
    if (trailing && (total === 0 || !opts.partial)) return true;
    const joined = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    return onLine({ bytes: joined.subarray(0, keep), total, end: lineEnd });
  };
  let pos = range.to;
  while (pos > range.from) {
    const n = Math.min(chunkBytes, pos - range.from);
    pos -= n;
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, pos);
    let i = bytesRead;
    for (;;) {
      const j = i > 0 ? buf.lastIndexOf(0x0a, i - 1) : -1;
      if (j < 0) {
        take(buf.subarray(0, i));
        break;
      }
      take(buf.subarray(j + 1, i));
      if (!emit()) return;
      trailing = false;
      pieces = [];
      kept = 0;
      total = 0;
      lineEnd = pos + j + 1;
      i = j;
    }
  }
  // What is left is the range's first line (ended by the newline just found), or a last line
  // without a newline when the range holds no newline at all.
  if (lineEnd > range.from || (trailing && total > 0)) emit();
}

/** State of a file being followed: where reading goes on, and a line begun but not finished. */
export interface ForwardState {
  offset: number;
  pending: Buffer[];
  pendingKept: number;
  pendingTotal: number;
}

export const forwardFrom = (offset: number): ForwardState => ({
  offset,
  pending: [],
  pendingKept: 0,
  pendingTotal: 0,
});

/** Reads [state.offset, to) and returns its complete lines; an unfinished last line waits in state. */
export async function readForward(
  fh: FileHandle,
  state: ForwardState,
  to: number,
  keep = keepBytes,
): Promise<RawLine[]> {
  const out: RawLine[] = [];
  while (state.offset < to) {
    const n = Math.min(chunkBytes, to - state.offset);
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, state.offset);
    if (bytesRead === 0) break;
    let start = 0;
    for (;;) {
      const j = buf.indexOf(0x0a, start);
      if (j < 0 || j >= bytesRead) {
        addPending(state, buf.subarray(start, bytesRead), keep);
        break;
      }
      addPending(state, buf.subarray(start, j), keep);
      const joined = Buffer.concat(state.pending);
      out.push({
        bytes: Buffer.from(joined.subarray(0, keep)),
        total: state.pendingTotal,
        end: state.offset + j + 1,
      });
      state.pending = [];
      state.pendingKept = 0;
      state.pendingTotal = 0;
      start = j + 1;
    }
    state.offset += bytesRead;
  }
  return out;
}

function addPending(state: ForwardState, piece: Buffer, keep: number): void {
  state.pendingTotal += piece.length;
  if (state.pendingKept >= keep || piece.length === 0) return;
  const room = keep - state.pendingKept;
  const part = Buffer.from(piece.subarray(0, room));
  state.pending.push(part);
  state.pendingKept += part.length;
}

/** Opens a file for reading; null when it does not exist (rotated away, never written). */
export async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}
