// The layout of the desired branch (docs/reconciler.md): one commit per published generation
// holding `nodes/<node>.json` (each node's DesiredState, pretty JSON), `plan.json` (the Plan
// against the previous generation; `head.commit` is the config commit) and `meta.json` (the
// generation number, the source commit and each node's token hash). Turns a snapshot into files
// and files back into a snapshot. Pure: no git, no fs.
import type { Config } from "../../core/config/model.js";
import type { Handoff } from "../../core/handoff/index.js";
import type { DesiredState, Plan } from "../../schema/index.js";
import { validateDesired } from "../../schema/index.js";

export const META_FILE = "meta.json";
export const PLAN_FILE = "plan.json";
export const NODES_DIR = "nodes";

export interface SourceRef {
  branch: string;
  commit: string;
  subject: string;
}

/** Everything one generation of the desired branch says. */
export interface DesiredSnapshot {
  generation: number;
  source: SourceRef;
  docs: Map<string, DesiredState>;
  /** SHA-256 hex of each node's agent token, as the config of `source` had it. */
  tokens: Map<string, string>;
  plan: Plan | null;
  /** Old copies this generation keeps while moves and drains finish (core/handoff). */
  handoffs: Handoff[];
  /** With failover on: the lost nodes whose replicas this generation places elsewhere. */
  failover?: FailoverEntry[];
}

export interface FailoverEntry {
  node: string;
  lostSince: string;
  message: string;
}

interface MetaFile {
  formatVersion: 1;
  generation: number;
  source: SourceRef;
  nodes: Record<string, { hash: string; tokenSha256?: string }>;
  /** Present while some are under way: what the next generation waits for. */
  handoffs?: Handoff[];
  /** Present while failover places some lost nodes' replicas elsewhere. */
  failover?: FailoverEntry[];
}

/**
 * The files of one desired-branch commit, as changes to the previous generation's tree: node
 * documents that are the very same objects as in `previous` are left out (their blobs do not
 * change), nodes gone since `previous` map to null. Without `previous`: every file.
 */
export function desiredFiles(
  snap: DesiredSnapshot,
  renderPlan: (plan: Plan) => string,
  previous?: ReadonlyMap<string, DesiredState>,
): Map<string, string | null> {
  const files = new Map<string, string | null>();
  const nodes: MetaFile["nodes"] = {};
  for (const [name, doc] of [...snap.docs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (previous?.get(name) !== doc) files.set(nodePath(name), `${JSON.stringify(doc, null, 2)}\n`);
    const token = snap.tokens.get(name);
    nodes[name] = token ? { hash: doc.hash, tokenSha256: token } : { hash: doc.hash };
  }
  for (const name of previous?.keys() ?? []) if (!snap.docs.has(name)) files.set(nodePath(name), null);
  // Nodes without a document (none today) still need their token for the API.
  for (const [name, token] of snap.tokens) nodes[name] ??= { hash: "", tokenSha256: token };
  const meta: MetaFile = {
    formatVersion: 1,
    generation: snap.generation,
    source: snap.source,
    nodes,
    ...(snap.handoffs.length > 0 ? { handoffs: snap.handoffs } : {}),
    ...(snap.failover?.length ? { failover: snap.failover } : {}),
  };
  files.set(META_FILE, `${JSON.stringify(meta, null, 2)}\n`);
  files.set(PLAN_FILE, snap.plan ? renderPlan(snap.plan) : null);
  return files;
}

/**
 * The documents to serve for a new generation: a node whose document hash did not change keeps
 * the document it had (and so its `source`, the commit that last changed it), so a commit that
 * changes nothing for a node changes nothing it is served — not even the bytes.
 */
export function carryUnchanged(
  previous: ReadonlyMap<string, DesiredState>,
  next: ReadonlyMap<string, DesiredState>,
): Map<string, DesiredState> {
  const out = new Map<string, DesiredState>();
  for (const [name, doc] of next) {
    const before = previous.get(name);
    out.set(name, before && before.hash === doc.hash ? before : doc);
  }
  return out;
}

const nodePath = (name: string) => `${NODES_DIR}/${name}.json`;

export interface ParsedDesired {
  snapshot: DesiredSnapshot | null;
  /** What was wrong with the files (a hand-edited branch): each names the file. */
  problems: string[];
}

const decoder = new TextDecoder();

/** Reads the files of a desired-branch commit back; a missing or broken meta.json gives no snapshot. */
export function parseDesiredFiles(files: ReadonlyMap<string, Uint8Array>): ParsedDesired {
  const problems: string[] = [];
  const metaBytes = files.get(META_FILE);
  if (!metaBytes) return { snapshot: null, problems: [`${META_FILE} is missing`] };
  const meta = parseJson(metaBytes, META_FILE, problems) as Partial<MetaFile> | undefined;
  if (!meta || typeof meta.generation !== "number" || !isSource(meta.source)) {
    problems.push(`${META_FILE}: needs a numeric "generation" and a "source" {branch, commit, subject}`);
    return { snapshot: null, problems };
  }
  const docs = new Map<string, DesiredState>();
  const valid = validateDesired();
  for (const [path, bytes] of files) {
    const m = /^nodes\/([^/]+)\.json$/.exec(path);
    if (!m?.[1]) continue;
    const doc = parseJson(bytes, path, problems);
    if (doc === undefined) continue;
    if (!valid(doc)) {
      problems.push(
        `${path}: not a valid desired-state document (${valid.errors?.[0]?.message ?? "schema"})`,
      );
      continue;
    }
    docs.set(m[1], doc);
  }
  const tokens = new Map<string, string>();
  for (const [name, n] of Object.entries(meta.nodes ?? {})) {
    if (typeof n?.tokenSha256 === "string") tokens.set(name, n.tokenSha256);
  }
  const planBytes = files.get(PLAN_FILE);
  const plan = planBytes ? ((parseJson(planBytes, PLAN_FILE, problems) as Plan | undefined) ?? null) : null;
  const handoffs = (Array.isArray(meta.handoffs) ? meta.handoffs : []).filter((h) => {
    if (isHandoff(h)) return true;
    problems.push(`${META_FILE}: a handoff that is not {id, app, node, to?, phase} was ignored`);
    return false;
  });
  return {
    snapshot: {
      generation: meta.generation,
      source: meta.source,
      docs: sorted(docs),
      tokens,
      plan,
      handoffs,
    },
    problems,
  };
}

/** node → token hash, from the config being published. */
export function tokensOf(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  for (const { spec } of config.nodes) if (spec.tokenSha256) out.set(spec.name, spec.tokenSha256);
  return out;
}

/** node → new document hash, for every node whose document the plan changes. */
export function affectedBy(plan: Plan): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of plan.nodes) if (n.hashAfter) out.set(n.node, n.hashAfter);
  return out;
}

/** `Publish main@1a2b3c4: Plan: 1 to add, 0 to change, 0 to remove.` */
export function publishMessage(source: SourceRef, generation: number, summary: string): string {
  return `Publish ${source.branch}@${source.commit.slice(0, 7)}: ${summary}\n\nGeneration ${generation} from ${source.commit}: ${source.subject}\n`;
}

function parseJson(bytes: Uint8Array, path: string, problems: string[]): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
    return undefined;
  }
}

function isHandoff(h: unknown): h is Handoff {
  const v = h as Partial<Handoff> | undefined;
  return (
    typeof v?.id === "string" &&
    typeof v.app === "string" &&
    typeof v.node === "string" &&
    (v.to === undefined || typeof v.to === "string") &&
    (v.phase === "starting" || v.phase === "draining" || v.phase === "held")
  );
}

function isSource(s: unknown): s is SourceRef {
  const v = s as Partial<SourceRef> | undefined;
  return typeof v?.branch === "string" && typeof v.commit === "string" && typeof v.subject === "string";
}

function sorted<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
