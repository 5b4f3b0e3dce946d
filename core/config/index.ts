// Loading a config repo from its files: parse (with a cache by blob id), check every document
// against its schema (stage 1), run the semantic rules over the whole repo (stage 2) and report
// every problem as FILE:LINE:COL. Pure: callers read the files (reconciler/repo/load.ts).

import { blobIdOf, ParseCache } from "./cache.js";
import { sortDiagnostics } from "./diagnostics.js";
import { buildConfig, type SourceDocument } from "./documents.js";
import { MAX_FILE_BYTES } from "./limits.js";
import type { ConfigFile, Diagnostic, Finding, LoadResult } from "./model.js";
import { parseText } from "./parse.js";
import type { ParsedFile } from "./parsed.js";
import { positionOf } from "./positions.js";
import { indexNodes } from "./rules/index.js";
import { runRules } from "./rules/run.js";
import { decodeConfigText } from "./text.js";

export { blobIdOf, ParseCache, type ParseCacheOptions } from "./cache.js";
export { compareDiagnostics, formatDiagnostic, sortDiagnostics } from "./diagnostics.js";
export { MAX_FILE_BYTES, RESERVED_PORTS } from "./limits.js";
export type * from "./model.js";
export { formatBytes, parseMemory } from "./quantity.js";
export { rules } from "./rules/index.js";

/** True for a repo-relative path berth reads as config: *.yaml / *.yml outside dot-folders and node_modules. */
export function isConfigPath(path: string): boolean {
  // No split per path: a part starts with "." exactly when the path starts with "." or holds "/.".
  if (!path.endsWith(".yaml") && !path.endsWith(".yml")) return false;
  if (path.startsWith(".") || path.includes("/.")) return false;
  return !path.startsWith("node_modules/") && !path.includes("/node_modules/");
}

/** Parses, validates and checks `files` (in any order). Never throws for bad input. */
export function loadFromFiles(files: ConfigFile[], cache?: ParseCache): LoadResult {
  // Without a cache there is nothing to look up, so no blob ids are computed (one-shot CLI runs).
  const parseCache = cache ?? new ParseCache({ keepLoads: 1, keyed: false });
  const sorted = sortedByPath(files);
  const parsedFiles = new Map<string, ParsedFile>();
  const diagnostics: Diagnostic[] = [];
  const sources: SourceDocument[] = [];

  parseCache.beginLoad();
  for (const f of sorted) {
    const parsed = readFile(f, parseCache);
    parsedFiles.set(f.path, parsed);
    for (const p of parsed.problems) diagnostics.push({ file: f.path, ...p });
    parsed.docs.forEach((value, index) => {
      if (value !== undefined) sources.push({ origin: { file: f.path, index }, value, file: parsed });
    });
  }
  parseCache.endLoad();

  const built = buildConfig(sources);
  const input = {
    ...built,
    nodes: indexNodes(built.config.nodes),
    appsByName: new Map(built.config.apps.map((a) => [a.spec.name, a.spec])),
  };
  // A one-shot load has no later load to reuse app-rule findings in.
  const memo = parseCache.keyed ? parseCache.rules : undefined;
  const findings: Finding[] = [...built.findings, ...runRules(input, memo)];

  const locate = (list: Finding[]): Diagnostic[] =>
    list.map((f) => {
      const file = parsedFiles.get(f.origin.file);
      const pos = file
        ? positionOf(file, f.origin.index, f.path, f.at, () => parseCache.positionParses++)
        : { line: 1, col: 1 };
      return { file: f.origin.file, line: pos.line, col: pos.col, rule: f.rule, message: f.message };
    });

  const warnings: Diagnostic[] = [];
  const errors = findings.filter((f) => f.severity !== "warning");
  diagnostics.push(...locate(errors));
  warnings.push(...locate(findings.filter((f) => f.severity === "warning")));
  if (built.documents === 0 && diagnostics.length === 0) diagnostics.push(noConfig(sorted.length));

  return {
    config: built.config,
    diagnostics: sortDiagnostics(diagnostics),
    warnings: sortDiagnostics(warnings),
    locate,
  };
}

/**
 * Parses one blob into `cache` ahead of loadFromFiles, so a reader can parse each blob as it
 * arrives (overlapping parsing with reading) and pass the result on as ConfigFile.parsed. A blob
 * already cached is not parsed again. Like ParseCache#peek, it counts as used by the next load.
 */
export function preparse(cache: ParseCache, blobId: string, content: Uint8Array | string): ParsedFile {
  return cache.prime(blobId, () => parseContent(content));
}

function readFile(f: ConfigFile, cache: ParseCache): ParsedFile {
  if (f.parsed) return f.parsed;
  if (f.size !== undefined && f.size > MAX_FILE_BYTES) {
    // The reader did not read an oversized file: report it without caching anything.
    return parseContent(f.content, f.size);
  }
  const key = f.blobId ?? (cache.keyed ? blobIdOf(f.content) : undefined);
  if (key === undefined) return cache.count(() => parseContent(f.content, f.size));
  return cache.get(key, () => parseContent(f.content, f.size));
}

function parseContent(content: Uint8Array | string, size?: number): ParsedFile {
  const decoded = decodeConfigText(content, size);
  if ("problem" in decoded) return { docs: [], problems: [decoded.problem], text: undefined, parser: "none" };
  return parseText(decoded.text);
}

/** Files in path order; readers mostly give them in that order already (a git tree is sorted). */
function sortedByPath(files: readonly ConfigFile[]): ConfigFile[] {
  for (let i = 1; i < files.length; i++) {
    if ((files[i - 1] as ConfigFile).path > (files[i] as ConfigFile).path) {
      return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
  }
  return [...files];
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
