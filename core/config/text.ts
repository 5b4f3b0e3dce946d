// Turns the bytes of a config file into text, refusing what is not a config file: too large,
// binary (NUL bytes) or not UTF-8. Pure.
import { MAX_FILE_BYTES } from "./limits.js";
import type { Problem } from "./parsed.js";
import { formatBytes } from "./quantity.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

export type TextResult = { text: string } | { problem: Problem };

/** Decodes `content` (size: the byte size when the reader skipped reading an oversized file). */
export function decodeConfigText(content: Uint8Array | string, size?: number): TextResult {
  const bytes = size ?? (typeof content === "string" ? utf8LengthIfLarge(content) : content.byteLength);
  if (bytes > MAX_FILE_BYTES) {
    return problem(
      "file-too-large",
      `file is ${formatBytes(bytes)}, over berth's limit of ${formatBytes(MAX_FILE_BYTES)} per config file: split it into smaller files`,
    );
  }
  if (typeof content === "string") {
    if (content.includes("\0")) return notText();
    return { text: content.charCodeAt(0) === 0xfeff ? content.slice(1) : content };
  }
  // NUL bytes mean binary (or UTF-16): YAML text never contains them.
  if (content.indexOf(0) !== -1) return notText();
  try {
    return { text: decoder.decode(content) };
  } catch {
    return problem("not-text", "file is not valid UTF-8 text: save it as UTF-8");
  }
}

/** The UTF-8 length of `text` when it may exceed the limit, else 0 (no need to count). */
function utf8LengthIfLarge(text: string): number {
  // A UTF-16 code unit is at most 3 bytes of UTF-8, so most files are known small by their length.
  return text.length * 3 <= MAX_FILE_BYTES ? 0 : Buffer.byteLength(text);
}

function notText(): TextResult {
  return problem(
    "not-text",
    "not a text file (it contains NUL bytes): a config file must be UTF-8 YAML; remove it or rename it so it does not end in .yaml/.yml",
  );
}

function problem(rule: string, message: string): TextResult {
  return { problem: { line: 1, col: 1, rule, message } };
}
