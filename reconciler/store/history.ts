// Reads published generations back from the desired branch for the operations page: one
// desired-branch commit per generation, its meta.json (generation, source) and plan.json. Commits
// never change, so what was read is kept (a bounded cache) and a page of history costs one walk of
// first parents. I/O over git objects; knows nothing of HTTP.
import type { GenerationInput } from "../../core/views/ops/history.js";
import type { Plan } from "../../schema/index.js";
import { type GitDir, readCommitInfo, readFilesOf } from "../git/objects.js";
import { META_FILE, PLAN_FILE } from "./desired-layout.js";

const decoder = new TextDecoder();

interface Entry {
  gen: GenerationInput;
  parent: string | null;
}

export class GenerationReader {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly gd: GitDir,
    private readonly maxCached = 200,
  ) {}

  /** Up to `limit` generations from `tip` down (newest first), skipping those numbered ≥ `before`. */
  async list(tip: string | null, opts: { limit: number; before?: number }): Promise<GenerationInput[]> {
    const out: GenerationInput[] = [];
    let at = tip;
    // A branch berth did not write (or a corrupt commit) ends the walk rather than failing the page.
    while (at && out.length < opts.limit) {
      const e = await this.read(at);
      if (!e) break;
      if (opts.before === undefined || e.gen.generation < opts.before) out.push(e.gen);
      at = e.parent;
    }
    return out;
  }

  /** Generation `n`, found by walking down from `tip` (generations fall by one per commit). */
  async find(tip: string | null, n: number): Promise<GenerationInput | null> {
    let at = tip;
    while (at) {
      const e = await this.read(at);
      if (!e || e.gen.generation < n) return null;
      if (e.gen.generation === n) return e.gen;
      at = e.parent;
    }
    return null;
  }

  private async read(commit: string): Promise<Entry | null> {
    const hit = this.cache.get(commit);
    if (hit) {
      this.cache.delete(commit);
      this.cache.set(commit, hit);
      return hit;
    }
    let entry: Entry | null = null;
    try {
      const [info, files] = await Promise.all([
        readCommitInfo(this.gd, commit),
        readFilesOf(this.gd, commit, [META_FILE, PLAN_FILE]),
      ]);
      const meta = parse(files.get(META_FILE)) as {
        generation?: unknown;
        source?: GenerationInput["source"];
      } | null;
      if (!meta || typeof meta.generation !== "number") return null;
      entry = {
        gen: {
          generation: meta.generation,
          desiredCommit: commit,
          at: new Date(info.time).toISOString(),
          source: meta.source ?? null,
          plan: (parse(files.get(PLAN_FILE)) as Plan | null) ?? null,
        },
        parent: info.parents[0] ?? null,
      };
    } catch {
      return null;
    }
    this.cache.set(commit, entry);
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value as string);
    return entry;
  }
}

function parse(bytes: Uint8Array | undefined): unknown {
  if (!bytes) return null;
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
}
