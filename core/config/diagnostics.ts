// Ordering and text form of diagnostics: `FILE:LINE:COL: message`, sorted by file, line, column.
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

/** One line per diagnostic, as every berth command prints them. */
export function formatDiagnostic(d: Diagnostic, severity: "error" | "warning" = "error"): string {
  return `${d.file}:${d.line}:${d.col}: ${severity === "warning" ? "warning: " : ""}${d.message}`;
}
