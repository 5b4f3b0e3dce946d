// The last step of a load, shared by the full and the incremental path: findings located at
// FILE:LINE:COL, split into errors and warnings, sorted. Pure.
import type { ParseCache } from "./cache.js";
import { sortDiagnostics } from "./diagnostics.js";
import type { DocumentsResult } from "./documents.js";
import type { Diagnostic, Finding, LoadResult } from "./model.js";
import type { ParsedFile } from "./parsed.js";
import { positionOf } from "./positions.js";

/** The LoadResult of a load's documents, findings and file problems. */
export function finish(
  built: DocumentsResult,
  findings: readonly Finding[],
  problems: readonly Diagnostic[],
  parsedOf: (path: string) => ParsedFile | undefined,
  cache: ParseCache,
  files: number,
): LoadResult {
  const locate = (list: Finding[]): Diagnostic[] =>
    list.map((f) => {
      const file = parsedOf(f.origin.file);
      const pos = file
        ? positionOf(file, f.origin.index, f.path, f.at, () => cache.positionParses++)
        : { line: 1, col: 1 };
      return { file: f.origin.file, line: pos.line, col: pos.col, rule: f.rule, message: f.message };
    });
  const diagnostics: Diagnostic[] = [...problems];
  diagnostics.push(...locate(findings.filter((f) => f.severity !== "warning")));
  const warnings = locate(findings.filter((f) => f.severity === "warning"));
  if (built.documents === 0 && diagnostics.length === 0) diagnostics.push(noConfig(files));
  return {
    config: built.config,
    diagnostics: sortDiagnostics(diagnostics),
    warnings: sortDiagnostics(warnings),
    locate,
  };
}

function noConfig(files: number): Diagnostic {
  const found =
    files === 0 ? "no *.yaml or *.yml file" : `${files} YAML file${files === 1 ? "" : "s"} but no document`;
  return {
    file: ".",
    line: 1,
    col: 1,
    rule: "no-config",
    message: `no config found (${found}): berth reads *.yaml/*.yml files outside dot-folders whose documents have a kind (App, Domain, Node, Settings); check --repo, or start one with berth init`,
  };
}
