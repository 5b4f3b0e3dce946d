// The warm path of loadFromFiles: when only files holding App documents changed since the
// previous load through the same cache (the usual commit: an image, env or replica edit), the
// previous result is patched instead of walking all files again. Only the changed apps are
// checked, the node index is kept, and repo rules that read nothing that changed keep their
// findings. The result equals a full load's (test/config/warm-equivalence.test.ts walks random
// commits); anything else — Settings, Nodes, Domains, unknown kinds, YAML problems, oversized
// files, many changed files — takes the full path. Pure.

import { secretUses } from "../secrets/refs.js";
import type { ParseCache } from "./cache.js";
import { type DocumentsResult, patchApps, type SourceDocument } from "./documents.js";
import { finish } from "./finish.js";
import type { AppSpec, ConfigFile, Diagnostic, Finding, LoadResult } from "./model.js";
import type { ParsedFile } from "./parsed.js";
import { keyOfFile, readFile } from "./read-file.js";
import type { NodeIndex } from "./rules/node-index.js";
import { runRuleSets } from "./rules/run.js";
import type { ConfigPart } from "./rules/types.js";
import { isMapping } from "./values.js";

/** What a load leaves for the next one to patch. */
export interface LoadState {
  /** Cache key of every file, by path (updated in place by the next patch: one owner at a time). */
  keys: Map<string, string>;
  parsedOf: (path: string) => ParsedFile | undefined;
  built: DocumentsResult;
  /** How many App documents carry each name (updated in place, like keys). */
  names: Map<string, number>;
  nodes: NodeIndex;
  /** Valid apps by name, as the rules saw them (updated in place by the next patch). */
  appsByName: Map<string, AppSpec>;
  /** Problems of the files themselves (YAML, encoding), already at their place. */
  problems: readonly Diagnostic[];
  repoFindings: ReadonlyMap<string, readonly Finding[]>;
  /** Patches since the last full load. */
  patches: number;
  result: LoadResult;
}

/** Above this many changed files a full load is as cheap and simpler. */
const MAX_CHANGED = 64;
/**
 * A full load after this many patches: it refreshes which cache entries are in use (a patch does
 * not touch unchanged ones, so eviction waits for a full load) and flattens the layered lookup
 * of parsed files.
 */
const MAX_PATCHES = 32;

/** The next load by patching `last`, or undefined when this load needs the full path. */
export function patchLoad(
  last: LoadState,
  sorted: readonly ConfigFile[],
  cache: ParseCache,
): { result: LoadResult; state: LoadState } | undefined {
  if (last.patches >= MAX_PATCHES) return undefined;
  const changed: { file: ConfigFile; key: string }[] = [];
  let kept = 0;
  for (const f of sorted) {
    const key = keyOfFile(f, cache);
    if (key === undefined) return undefined;
    const before = last.keys.get(f.path);
    if (before !== undefined) kept++;
    if (before === key) continue;
    changed.push({ file: f, key });
    if (changed.length > MAX_CHANGED) return undefined;
  }
  const removed: string[] = [];
  if (kept < last.keys.size) {
    const now = new Set(sorted.map((f) => f.path));
    for (const path of last.keys.keys()) if (!now.has(path)) removed.push(path);
    if (changed.length + removed.length > MAX_CHANGED) return undefined;
  }
  if (changed.length === 0 && removed.length === 0) return { result: last.result, state: last };

  // Old and new versions may hold only App documents, and no file problems.
  const gone = new Set<string>(removed);
  const goneNames: unknown[] = [];
  for (const path of [...changed.map((c) => c.file.path), ...removed]) {
    const old = last.parsedOf(path);
    if (!old) continue;
    if (!onlyApps(old)) return undefined;
    gone.add(path);
    for (const doc of old.docs) if (doc !== undefined) goneNames.push((doc as Record<string, unknown>).name);
  }
  const fresh = new Map<string, ParsedFile>();
  const added: SourceDocument[] = [];
  for (const { file, key } of changed) {
    const parsed = readFile(file, cache, key);
    if (!onlyApps(parsed)) return undefined;
    fresh.set(file.path, parsed);
    parsed.docs.forEach((value, index) => {
      if (value !== undefined) added.push({ origin: { file: file.path, index }, value, file: parsed });
    });
  }

  const built = patchApps(last.built, gone, goneNames, added, last.names);
  const changedParts = new Set<ConfigPart>();
  if (built.namesChanged) changedParts.add("appNames");
  const byName = last.appsByName;
  const routeOf = (spec: AppSpec | undefined) => (spec ? `${spec.port}|${spec.replicas}` : "-");
  const secretsOf = (spec: AppSpec | undefined) =>
    spec
      ? secretUses(spec)
          .map((u) => `${u.env}=${u.secret}`)
          .join(",")
      : "-";
  const routesBefore = new Map<string, string>();
  const secretsBefore = new Map<string, string>();
  let duplicates = false;
  for (const [name, t] of built.touched) {
    routesBefore.set(name, routeOf(byName.get(name)));
    secretsBefore.set(name, secretsOf(byName.get(name)));
    if (t.before > 1 || t.after > 1) duplicates = true;
  }
  if (duplicates) {
    // A name defined more than once: which definition wins is the last one in file order.
    changedParts.add("appDuplicates");
    byName.clear();
    for (const e of built.config.apps) byName.set(e.spec.name, e.spec);
  } else {
    // Every touched name is defined at most once, so its entry, if valid, is one of the new ones.
    const freshSpecs = new Map(built.fresh.map((e) => [e.spec.name, e.spec]));
    for (const name of built.touched.keys()) {
      const spec = freshSpecs.get(name);
      if (spec) byName.set(name, spec);
      else byName.delete(name);
    }
  }
  for (const [name, before] of routesBefore)
    if (routeOf(byName.get(name)) !== before) changedParts.add("appRoutes");
  for (const [name, before] of secretsBefore)
    if (secretsOf(byName.get(name)) !== before) changedParts.add("appSecrets");
  const input = { ...built, nodes: last.nodes, appsByName: byName };
  const rules = runRuleSets(input, cache.rules, { changed: changedParts, previous: last.repoFindings });
  for (const path of removed) last.keys.delete(path);
  for (const { file, key } of changed) last.keys.set(file.path, key);
  const parent = last.parsedOf;
  const parsedOf = (path: string) => fresh.get(path) ?? (gone.has(path) ? undefined : parent(path));
  const result = finish(
    built,
    [...built.findings, ...rules.findings],
    last.problems,
    parsedOf,
    cache,
    sorted.length,
  );
  return {
    result,
    state: {
      keys: last.keys,
      parsedOf,
      built,
      names: last.names,
      nodes: last.nodes,
      appsByName: byName,
      problems: last.problems,
      repoFindings: rules.byRepoRule,
      patches: last.patches + 1,
      result,
    },
  };
}

/** A file without problems whose every document is an App (empty documents aside). */
function onlyApps(file: ParsedFile): boolean {
  if (file.problems.length > 0) return false;
  return file.docs.every((doc) => doc === undefined || (isMapping(doc) && doc.kind === "App"));
}
