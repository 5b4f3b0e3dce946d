// Loading a config repo from its files: parse (with a cache by blob id), check every document
// against its schema (stage 1), run the semantic rules over the whole repo (stage 2) and report
// every problem as FILE:LINE:COL. Pure: callers read the files (reconciler/repo/load.ts).

import { ParseCache } from "./cache.js";
import { appNameCounts, buildConfig, type SourceDocument } from "./documents.js";
import { finish } from "./finish.js";
import { type LoadState, patchLoad } from "./incremental.js";
import type { ConfigFile, Diagnostic, LoadResult } from "./model.js";
import type { ParsedFile } from "./parsed.js";
import { keyOfFile, parseContent, readFile } from "./read-file.js";
import { indexNodes } from "./rules/index.js";
import { appsByName, runRuleSets } from "./rules/run.js";

export { blobIdOf, ParseCache, type ParseCacheOptions } from "./cache.js";
export { compareDiagnostics, diagnosticPlace, formatDiagnostic, sortDiagnostics } from "./diagnostics.js";
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

/**
 * Parses, validates and checks `files` (in any order). Never throws for bad input. With a keyed
 * cache, a load where only files holding App documents changed patches the previous load's
 * result instead of redoing the whole repo (incremental.ts); the result is the same.
 */
export function loadFromFiles(files: ConfigFile[], cache?: ParseCache): LoadResult {
  // Without a cache there is nothing to look up, so no blob ids are computed (one-shot CLI runs).
  const parseCache = cache ?? new ParseCache({ keepLoads: 1, keyed: false });
  const sorted = sortedByPath(files);
  if (!parseCache.keyed) return fullLoad(sorted, parseCache).result;
  const last = parseCache.lastLoad;
  const patched = last && patchLoad(last, sorted, parseCache);
  if (patched) parseCache.patchedLoads++;
  const next = patched ?? fullLoad(sorted, parseCache);
  parseCache.lastLoad = next.state;
  return next.result;
}

/** Loads every file: parse (through the cache), schema, rules. */
function fullLoad(sorted: ConfigFile[], parseCache: ParseCache): { result: LoadResult; state?: LoadState } {
  const parsedFiles = new Map<string, ParsedFile>();
  const keys = new Map<string, string>();
  let unkeyed = false;
  const problems: Diagnostic[] = [];
  const sources: SourceDocument[] = [];

  parseCache.beginLoad();
  for (const f of sorted) {
    const key = keyOfFile(f, parseCache);
    if (key === undefined) unkeyed = true;
    else keys.set(f.path, key);
    const parsed = readFile(f, parseCache, key);
    parsedFiles.set(f.path, parsed);
    for (const p of parsed.problems) problems.push({ file: f.path, ...p });
    parsed.docs.forEach((value, index) => {
      if (value !== undefined) sources.push({ origin: { file: f.path, index }, value, file: parsed });
    });
  }
  parseCache.endLoad();

  const built = buildConfig(sources);
  const nodes = indexNodes(built.config.nodes);
  // A one-shot load has no later load to reuse app-rule findings in.
  const memo = parseCache.keyed ? parseCache.rules : undefined;
  const byName = appsByName(built.config);
  const rules = runRuleSets({ ...built, nodes, appsByName: byName }, memo);
  const parsedOf = (path: string) => parsedFiles.get(path);
  const result = finish(
    built,
    [...built.findings, ...rules.findings],
    problems,
    parsedOf,
    parseCache,
    sorted.length,
  );
  // A file without a key (oversized, say) is not cached: a later load could not tell whether it changed.
  if (!parseCache.keyed || unkeyed) return { result };
  const state: LoadState = {
    keys,
    parsedOf,
    built,
    names: appNameCounts(sources),
    nodes,
    appsByName: byName,
    problems,
    repoFindings: rules.byRepoRule,
    patches: 0,
    result,
  };
  return { result, state };
}

/**
 * Parses one blob into `cache` ahead of loadFromFiles, so a reader can parse each blob as it
 * arrives (overlapping parsing with reading) and pass the result on as ConfigFile.parsed. A blob
 * already cached is not parsed again. Like ParseCache#peek, it counts as used by the next load.
 */
export function preparse(cache: ParseCache, blobId: string, content: Uint8Array | string): ParsedFile {
  return cache.prime(blobId, () => parseContent(content));
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
