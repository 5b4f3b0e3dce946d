// The one place output of a workload is made safe to show: `berth logs`, the excerpt of an
// instance's last lines in status, events and the status branch all go through it. A line loses
// terminal escapes (ANSI CSI/OSC, via node:util) and control characters (NUL, BEL, …; tabs stay),
// carriage-return progress is folded to what a terminal would show last, bytes that are not UTF-8
// become U+FFFD, values of secret-looking env keys are replaced by `[redacted]`, and a line is cut
// at 8 KiB with a visible mark saying how much was dropped. Pure: no I/O.
import { stripVTControlCharacters } from "node:util";
import { isSecretEnvName } from "../../core/plan/fields.js";

/** Longest line kept, in UTF-8 bytes (the mark included). */
export const maxLineBytes = 8 * 1024;
/** Shortest secret value redacted: shorter ones would blank out ordinary words and digits. */
export const minSecretLength = 3;
export const REDACTED = "[redacted]";

export interface LineOptions {
  /** Values to redact wherever they appear (see secretValues). */
  secrets?: readonly string[];
  /** Cap per line in UTF-8 bytes (default maxLineBytes). */
  maxBytes?: number;
}

/** The values of `env` whose names look secret (SECRET, TOKEN, PASSWORD, KEY), longest first. */
export function secretValues(env: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(env)) if (isSecretEnvName(k) && v.length >= minSecretLength) out.add(v);
  // Longest first, so a secret that contains another is redacted whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of every secret (3+ characters) in `text`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets)
    if (s.length >= minSecretLength && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

// C0 controls except tab, DEL, and C1 controls: none of them is text, several move a terminal's cursor.
const controls = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** What a terminal would show of a line written with `\r` progress updates: the last segment. */
function foldCarriageReturns(line: string): string {
  const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
  const at = trimmed.lastIndexOf("\r");
  return at < 0 ? trimmed : trimmed.slice(at + 1);
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, mark included, never inside a character. */
function capBytes(text: string, maxBytes: number, written: number, cut: boolean): string {
  if (!cut && Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  const mark = ` … [line truncated at ${maxBytes} bytes: ${written} bytes written]`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(mark, "utf8"));
  const buf = Buffer.from(text, "utf8");
  let end = Math.min(room, buf.length);
  // Step back over UTF-8 continuation bytes so no character is split.
  while (end > 0 && end < buf.length && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString("utf8")}${mark}`;
}

/**
 * One line (without its `\n`) made safe to show. `droppedBytes` is how much of the line was
 * already thrown away upstream (a streaming reader that stopped buffering it), for the mark.
 */
export function sanitiseLine(raw: string | Uint8Array, opts: LineOptions = {}, droppedBytes = 0): string {
  const text = typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8");
  const written = Buffer.byteLength(text, "utf8") + droppedBytes;
  const folded = foldCarriageReturns(text);
  const clean = stripVTControlCharacters(folded).replace(controls, "");
  return capBytes(redact(clean, opts.secrets), opts.maxBytes ?? maxLineBytes, written, droppedBytes > 0);
}

/** A chunk of output holding whole lines → sanitised lines (a trailing newline ends the last one). */
export function sanitiseOutput(raw: string | Uint8Array, opts: LineOptions = {}): string[] {
  const text = typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8");
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => sanitiseLine(l, opts));
}

/**
 * Splits a byte stream into sanitised lines, chunk by chunk, holding at most one partial line of
 * `maxBytes` (+ the longest secret, so a secret cut by the cap is still redacted) in memory: the
 * rest of a longer line is counted and dropped, so a 1 GiB line costs no more than an 8 KiB one.
 */
export interface LineSplitter {
  /** Feeds bytes; returns the lines completed by them. */
  push(chunk: string | Uint8Array): string[];
  /** Ends the stream; returns the last line if it had no newline. */
  end(): string[];
}

export function createLineSplitter(opts: LineOptions = {}): LineSplitter {
  const maxBytes = opts.maxBytes ?? maxLineBytes;
  const longestSecret = Math.max(0, ...(opts.secrets ?? []).map((s) => Buffer.byteLength(s, "utf8")));
  const keep = maxBytes + longestSecret + 4; // +4: the last character of the kept part may be split
  let parts: Buffer[] = [];
  let held = 0;
  let dropped = 0;
  /** A `\r` ended the last chunk seen: a `\n` next ends the line, anything else overwrites it. */
  let pendingCR = false;
  const take = (b: Buffer) => {
    if (b.length === 0) return;
    const room = keep - held;
    const kept = room <= 0 ? b.subarray(0, 0) : b.length <= room ? b : b.subarray(0, room);
    if (kept.length > 0) parts.push(kept);
    held += kept.length;
    dropped += b.length - kept.length;
  };
  const reset = () => {
    parts = [];
    held = 0;
    dropped = 0;
  };
  const flush = (): string => {
    const out = sanitiseLine(Buffer.concat(parts, held), opts, dropped);
    reset();
    return out;
  };
  return {
    push(chunk) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk);
      const out: string[] = [];
      let from = 0;
      for (let i = 0; i < buf.length; i++) {
        const c = buf[i];
        if (pendingCR) {
          pendingCR = false;
          // Progress written with \r: what came before is what a terminal overwrote.
          if (c !== 0x0a) reset();
        }
        if (c === 0x0a) {
          take(buf.subarray(from, i));
          out.push(flush());
          from = i + 1;
        } else if (c === 0x0d) {
          take(buf.subarray(from, i));
          from = i + 1;
          pendingCR = true;
        }
      }
      take(buf.subarray(from));
      return out;
    },
    end() {
      pendingCR = false;
      return held > 0 || dropped > 0 ? [flush()] : [];
    },
  };
}
