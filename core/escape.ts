// Makes text that came from a user (file names, YAML keys, commit subjects, images, messages an
// agent reports) safe for the one line it is printed on: every control character (C0, DEL, C1),
// Unicode line and paragraph separators and the bidirectional controls ("Trojan Source") become a
// visible escape (\n, \r, \t, \x1b, \u{202e}), so a file named "a\nb.yaml" cannot print a forged
// diagnostic line, recolour a terminal or reorder what a reviewer reads. Every renderer applies it
// to what it interpolates: terminal text, markdown (before its own escapes), commit statuses.
// JSON and log lines escape control characters themselves; HTML escapes its own specials. Pure.

const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/g;
const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\x1b" };

export function oneLine(text: string): string {
  return text.replace(unsafe, (c) => named[c] ?? `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}
