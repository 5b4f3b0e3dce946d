// Ordering and text form of diagnostics: `FILE:LINE:COL: message`, sorted by file, line, column.
import { oneLine } from "../escape.js";
import type { Diagnostic } from "./model.js";

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.col !== b.col) return a.col - b.col;
  if (a.message !== b.message) return a.message < b.message ? -1 : 1;
  // Last, so the order never depends on the order problems were found in.
  return a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort(compareDiagnostics);
}

/** Where a diagnostic points, `FILE:LINE:COL`, on one line whatever the file is named. */
export function diagnosticPlace(d: Pick<Diagnostic, "file" | "line" | "col">): string {
  return `${oneLine(d.file)}:${d.line}:${d.col}`;
}

/**
 * One line per diagnostic, as every berth command prints them. The file name and the message
 * (which may quote YAML keys) cannot break the line: control characters are shown escaped.
 */
export function formatDiagnostic(d: Diagnostic, severity: "error" | "warning" = "error"): string {
  return `${diagnosticPlace(d)}: ${severity === "warning" ? "warning: " : ""}${oneLine(d.message)}`;
}
