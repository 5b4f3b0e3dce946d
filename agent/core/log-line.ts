// The one function every path that shows an app's output goes through (berth logs, exit excerpts
// in status, events): it turns one raw line into text that is safe to print on a terminal, put in
// JSON or commit to git. ANSI escape sequences and control characters (NUL included) are removed,
// carriage-return progress ("10%\r50%\r100%") is folded to what a terminal would finally show,
// values of secret env keys are replaced by a mark, and the line is capped at 8 KiB with a visible
// truncation mark. Pure; knows nothing of where lines come from.
import { isSecretEnvKey } from "../../core/plan/fields.js";

/** Largest line berth shows, in UTF-8 bytes, truncation mark included. */
export const maxLogLineBytes = 8 * 1024;

/** What a secret value is replaced with. */
export const redactedMark = "[redacted]";

/** Secret values shorter than this are not redacted: they would mangle ordinary text ("1", "on"). */
export const minSecretLength = 4;

export interface SanitizeOptions {
  /** Values to redact wherever they appear (e.g. the values of secret env keys). */
  secrets?: readonly string[];
  /**
   * Size of the whole line in bytes when the caller passes only its beginning (a reader that met
   * a 1 MiB line reads its first bytes only); the truncation mark then says the real size.
   */
  totalBytes?: number;
}

/** `… [truncated by berth: 1048576 bytes]`: the visible end of a line that was cut. */
export const truncationMark = (bytes: number): string => ` … [truncated by berth: ${bytes} bytes]`;

// CSI (ESC [ … final byte, and the 8-bit CSI), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC strings
// (ESC P/X/^/_ … ST), character-set designations (ESC ( B), and the remaining two-byte escapes.
const ansi =
  /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[()*+][ -~]?|\x1b[ -~]?/g;
// C0 controls but TAB, DEL and the C1 block (carriage returns are folded before this runs).
const controls = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** What a terminal finally shows of `a\rb\rc`: the last segment that is not empty. */
function foldCarriageReturns(line: string): string {
  if (!line.includes("\r")) return line;
  const parts = line.split("\r");
  for (let i = parts.length - 1; i >= 0; i--) if ((parts[i] as string).length > 0) return parts[i] as string;
  return "";
}

/**
 * The values to redact from a workload's output: those of env keys that look secret (the same
 * rule that masks them in plans), long enough not to mangle ordinary text.
 */
export function secretValues(env: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (isSecretEnvKey(k) && v.length >= minSecretLength) out.push(v);
  return out;
}

/** Replaces every occurrence of each secret (longest first, so one that contains another wins). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const sorted = secrets.filter((s) => s.length >= minSecretLength).sort((a, b) => b.length - a.length);
  for (const s of sorted) if (out.includes(s)) out = out.split(s).join(redactedMark);
  return out;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes, never in the middle of a character. */
function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

/**
 * One line of an app's output (without its newline), made safe to show. Undecodable bytes should
 * already be U+FFFD (Buffer#toString does that); they are kept, so binary output stays visible as
 * such instead of vanishing.
 */
export function sanitizeLogLine(raw: string, opts: SanitizeOptions = {}): string {
  let line = raw.replace(ansi, "");
  line = foldCarriageReturns(line);
  line = line.replace(controls, "");
  if (opts.secrets && opts.secrets.length > 0) line = redact(line, opts.secrets);
  const size = Math.max(Buffer.byteLength(line, "utf8"), opts.totalBytes ?? 0);
  const cut = opts.totalBytes !== undefined && opts.totalBytes > Buffer.byteLength(raw, "utf8");
  if (size <= maxLogLineBytes && !cut) return line;
  const mark = truncationMark(size);
  return cutUtf8(line, maxLogLineBytes - Buffer.byteLength(mark, "utf8")) + mark;
}
