// One file through the parse cache: its cache key (the git blob id, computed for a working-tree
// file when the cache is keyed) and its parsed documents. Pure (hashing is computation).
import { blobIdOf, type ParseCache } from "./cache.js";
import { MAX_FILE_BYTES } from "./limits.js";
import type { ConfigFile } from "./model.js";
import { parseText } from "./parse.js";
import type { ParsedFile } from "./parsed.js";
import { decodeConfigText } from "./text.js";

/** The cache key of a file, or undefined when it is not cached (oversized, parsed without an id, or a one-shot cache). */
export function keyOfFile(f: ConfigFile, cache: ParseCache): string | undefined {
  // The reader did not read an oversized file: it is reported, never cached.
  if (f.size !== undefined && f.size > MAX_FILE_BYTES) return undefined;
  // A file handed over parsed may have no content left to hash: without its blob id it has no key.
  if (f.parsed && f.blobId === undefined) return undefined;
  return f.blobId ?? (cache.keyed ? blobIdOf(f.content) : undefined);
}

/** The parsed file: as handed over, else through the cache when it has a key. */
export function readFile(f: ConfigFile, cache: ParseCache, key = keyOfFile(f, cache)): ParsedFile {
  if (f.parsed) return f.parsed;
  if (key === undefined) return cache.count(() => parseContent(f.content, f.size));
  return cache.get(key, () => parseContent(f.content, f.size));
}

export function parseContent(content: Uint8Array | string, size?: number): ParsedFile {
  const decoded = decodeConfigText(content, size);
  if ("problem" in decoded) return { docs: [], problems: [decoded.problem], text: undefined, parser: "none" };
  return parseText(decoded.text);
}
