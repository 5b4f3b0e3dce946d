// Seeded mutations of YAML texts, for the tests that check a hand-written reader against js-yaml
// (secrets-yaml.test.ts, block-yaml.test.ts): whatever a reader accepts after a few random edits,
// js-yaml must read the same.
import jsyaml from "js-yaml";

/** js-yaml's documents of `text` (core schema, as the loader's fast path), or "error". */
export function jsYaml(text: string): unknown[] | "error" {
  try {
    return jsyaml.loadAll(text, undefined, { schema: jsyaml.CORE_SCHEMA });
  } catch {
    return "error";
  }
}

/** What the edits insert: YAML's indicators, quotes, controls, reserved words, numbers, markers. */
export const PIECES = [
  " ",
  "  ",
  "\n",
  "#",
  " #",
  ":",
  ": ",
  "-",
  "- ",
  "|",
  ">",
  '"',
  "'",
  ",",
  "[",
  "]",
  "{",
  "}",
  "?",
  "!",
  "%",
  "@",
  "\\",
  "\t",
  "\r",
  "é",
  "\u0001",
  "\u0085",
  "\uFEFF",
  "😀",
  "null",
  "True",
  "~",
  "__proto__",
  "&a",
  "*a",
  "<<",
  "0",
  "-1",
  "0x1F",
  ".5",
  "1e3",
  ".inf",
  "---",
  "...",
  "x",
  "{}",
  "[]",
];

/**
 * `text` with one random edit: a `piece` inserted, written over or a character deleted; a line
 * removed, doubled, indented, dedented, swapped with the next, commented, quoted or put in a flow
 * list; the final line break removed; a piece appended; a blank line inserted.
 */
export function mutateYaml(r: () => number, text: string, pieces: readonly string[] = PIECES): string {
  const lines = text.split("\n");
  const at = Math.floor(r() * lines.length);
  const line = lines[at] as string;
  const pos = Math.floor(r() * (line.length + 1));
  const piece = pieces[Math.floor(r() * pieces.length)] as string;
  const x = r();
  if (x < 0.3) lines[at] = line.slice(0, pos) + piece + line.slice(pos);
  else if (x < 0.42) lines[at] = line.slice(0, pos) + piece + line.slice(pos + piece.length);
  else if (x < 0.5) lines[at] = line.slice(0, pos) + line.slice(pos + 1);
  else if (x < 0.56) lines.splice(at, 1);
  else if (x < 0.62) lines.splice(at, 0, line);
  else if (x < 0.68) lines[at] = ` ${line}`;
  else if (x < 0.74) lines[at] = `  ${line}`;
  else if (x < 0.8) lines[at] = line.replace(/^ {1,2}/, "");
  else if (x < 0.84 && at + 1 < lines.length) lines.splice(at, 2, lines[at + 1] as string, line);
  else if (x < 0.88) lines[at] = `${line} # c`;
  else if (x < 0.91) lines[at] = line.replace(/: (.+)$/, ': "$1"');
  else if (x < 0.94) lines[at] = line.replace(/: (.+)$/, ": [$1]");
  else if (x < 0.96) return text.slice(0, -1);
  else if (x < 0.98) return `${text}${piece}\n`;
  else lines.splice(at, 0, "");
  return lines.join("\n");
}
