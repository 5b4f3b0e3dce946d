// Parsed config files by content id, so a new commit only parses the files that changed. The key
// is the git blob id: read from the tree for a commit, computed from the bytes for a working-tree
// file, so the two share entries. Entries not used by the last few loads are dropped. Pure
// (node:crypto is computation, not I/O).
import { createHash } from "node:crypto";
import type { LoadState } from "./incremental.js";
import type { ParsedFile } from "./parsed.js";
import { RuleMemo } from "./rules/run.js";

interface CacheEntry {
  file: ParsedFile;
  lastUsed: number;
}

export interface ParseCacheOptions {
  /** Entries survive this many loads without being used (default 4: base, head, worktree and one spare). */
  keepLoads?: number;
  /** @internal false: a one-shot cache that keys nothing it was not given a blob id for. */
  keyed?: boolean;
}

export class ParseCache {
  /** Files parsed because they were not in the cache (the counter tests and benchmarks read). */
  parses = 0;
  /** Files served from the cache. */
  hits = 0;
  /** Files whose positions were needed (re-parsed with the careful parser). */
  positionParses = 0;
  /** @internal Findings of app rules, reused while the nodes stay the same. */
  readonly rules = new RuleMemo();
  /** Loads that patched the previous one instead of a full pass (incremental.ts). */
  patchedLoads = 0;
  /** @internal What the last load left for the next one to patch (incremental.ts). */
  lastLoad: LoadState | undefined;
  private readonly entries = new Map<string, CacheEntry>();
  private generation = 0;
  private readonly keepLoads: number;

  /** @internal Whether files without a blob id get one computed, to be cached. */
  readonly keyed: boolean;

  constructor(opts: ParseCacheOptions = {}) {
    this.keepLoads = Math.max(1, opts.keepLoads ?? 4);
    this.keyed = opts.keyed ?? true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** True when the blob is parsed already: a reader may then skip reading its content. */
  has(blobId: string): boolean {
    return this.entries.has(blobId);
  }

  /** @internal Starts a load: entries used from now on count as fresh. */
  beginLoad(): void {
    this.generation++;
  }

  /**
   * The parsed file for `key` when cached (a hit), else undefined. For a reader deciding what to
   * read: the entry counts as used by the load about to begin, so that load's end keeps it.
   */
  peek(key: string): ParsedFile | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.hits++;
    hit.lastUsed = this.generation + 1;
    return hit.file;
  }

  /** @internal What get() does, on behalf of the load about to begin (see peek). */
  prime(key: string, parse: () => ParsedFile): ParsedFile {
    const file = this.get(key, parse);
    (this.entries.get(key) as CacheEntry).lastUsed = this.generation + 1;
    return file;
  }

  /** @internal The parsed file for `key`, parsing it with `parse` on a miss. */
  get(key: string, parse: () => ParsedFile): ParsedFile {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      hit.lastUsed = this.generation;
      return hit.file;
    }
    this.parses++;
    const file = parse();
    this.entries.set(key, { file, lastUsed: this.generation });
    return file;
  }

  /** @internal Parses without caching, counting it as a parse. */
  count(parse: () => ParsedFile): ParsedFile {
    this.parses++;
    return parse();
  }

  /** @internal Ends a load: forgets entries no recent load used. */
  endLoad(): void {
    const oldest = this.generation - this.keepLoads + 1;
    for (const [key, entry] of this.entries) {
      if (entry.lastUsed < oldest) this.entries.delete(key);
    }
  }
}

/** The git blob id of `content` (SHA-1 of "blob <size>\0" + bytes), the cache key of a worktree file. */
export function blobIdOf(content: Uint8Array | string): string {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  return createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
}
