// The pipeline from a loaded commit to what every node must run: LoadResult → placement →
// desired documents, with placement problems turned into located diagnostics. Pure: the
// caller loads (reconciler/repo) and publishes; this only computes.
//
// An Evaluator keeps the previous run's placement and documents, so evaluating the next commit
// of the same repo redoes only what changed (the reconciler's warm path). `evaluate` uses one
// shared Evaluator; results never depend on what it remembers.
import type { DesiredState, Diagnostic } from "../schema/index.js";
import { keyOf } from "./canonical-json.js";
import type { AppSpec, Entry, Finding, LoadResult } from "./config/model.js";
import { DesiredBuilder, type Source } from "./desired/index.js";
import {
  type AppRequest,
  appRequest,
  buildNodeTable,
  type NodeTable,
  type PlacementResult,
  Placer,
} from "./placement/index.js";
import { unreadableSecrets } from "./secrets/readable.js";
import { secretsByApp } from "./secrets/refs.js";
import { withCiphertexts } from "./secrets/resolve.js";

export interface Evaluation {
  valid: boolean;
  diagnostics: Diagnostic[];
  /** By node name, in name order; empty when not valid (nothing may be published). */
  desired: Map<string, DesiredState>;
}

export class Evaluator {
  private placer = new Placer();
  private builder = new DesiredBuilder();
  private table: NodeTable | undefined;
  private requests = new Map<string, { spec: AppSpec; request: AppRequest }>();

  /** appRequest, kept per app while its spec object is the same (the loader shares unchanged specs). */
  private requestOf(spec: AppSpec): AppRequest {
    const hit = this.requests.get(spec.name);
    if (hit && hit.spec === spec) return hit.request;
    const request = appRequest(spec);
    this.requests.set(spec.name, { spec, request });
    return request;
  }

  evaluate(load: LoadResult, source: Source): Evaluation {
    const placed = this.placeChecked(load);
    if ("diagnostics" in placed) return { valid: false, diagnostics: placed.diagnostics, desired: new Map() };
    const { apps, placement } = placed;
    // Env entries that take secrets get their ciphertext; nothing is decrypted here.
    const secrets = secretsByApp(load.config);
    const specs = secrets.size === 0 ? apps : apps.map((a) => withCiphertexts(a, secrets.get(a.name)?.spec));
    return {
      valid: true,
      diagnostics: [],
      desired: this.builder.build(load.config, specs, placement, source),
    };
  }

  /**
   * The problems evaluate() would report, without building the documents: what `berth validate`
   * needs. Building never fails once placement succeeded, so an empty list means evaluate() is valid.
   */
  check(load: LoadResult): Diagnostic[] {
    const placed = this.placeChecked(load);
    return "diagnostics" in placed ? placed.diagnostics : [];
  }

  private placeChecked(
    load: LoadResult,
  ): { diagnostics: Diagnostic[] } | { apps: AppSpec[]; placement: PlacementResult } {
    if (load.diagnostics.length > 0) return { diagnostics: load.diagnostics };
    const { config } = load;
    const entries = sortedByName(config.apps);
    const apps: AppSpec[] = entries.map((e) => e.spec);
    const table = this.tableFor(config.nodes.map((e) => e.spec));
    const placement = this.placer.place(
      table,
      apps.map((spec) => this.requestOf(spec)),
    );
    if (this.requests.size > 2 * apps.length + 64) this.requests.clear();

    const findings: Finding[] = [];
    for (const entry of entries) {
      const shortfall = placement.byApp.get(entry.spec.name)?.shortfall;
      if (shortfall) findings.push(placementFinding(load, entry, shortfall));
    }
    if (findings.length === 0) findings.push(...unreadableSecrets(config, entries, placement));
    if (findings.length > 0) return { diagnostics: load.locate(findings) };
    return { apps, placement };
  }

  /** The node table, rebuilt only when some node spec changed. */
  private tableFor(nodes: LoadResult["config"]["nodes"][number]["spec"][]): NodeTable {
    if (this.table && this.table.nodes.length === nodes.length) {
      const sorted = sortedByName(nodes.map((spec) => ({ spec }))).map((e) => e.spec);
      if (sorted.every((n, i) => n === this.table?.specs[i])) return this.table;
      const key = `[${sorted.map((n) => keyOf(n)).join(",")}]`;
      if (key === this.table.key) return this.table;
    }
    this.table = buildNodeTable(nodes);
    return this.table;
  }
}

/**
 * A placement problem located at the app's `replicas` line, or at its name when `replicas` is not
 * written in the file (a missing field would otherwise point at the start of the document).
 */
function placementFinding(load: LoadResult, entry: Entry<AppSpec>, message: string): Finding {
  const at = (path: string[]): Finding => ({ origin: entry.origin, path, rule: "placement", message });
  const [replicas, root] = load.locate([at(["replicas"]), at([])]);
  const written = replicas && root && (replicas.line !== root.line || replicas.col !== root.col);
  return at(written ? ["replicas"] : ["name"]);
}

/** Entries sorted by name; the loader usually gives them sorted already (apps/<name>.yaml). */
function sortedByName<T extends { spec: { name: string } }>(entries: readonly T[]): T[] {
  for (let k = 1; k < entries.length; k++) {
    if (entries[k - 1]!.spec.name >= entries[k]!.spec.name) {
      return [...entries].sort((a, b) =>
        a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0,
      );
    }
  }
  return [...entries];
}

const shared = new Evaluator();

/** Evaluates one loaded commit (or working tree, commit "worktree") with the shared warm cache. */
export function evaluate(load: LoadResult, source: { branch: string; commit: string }): Evaluation {
  return shared.evaluate(load, source);
}

/** Evaluator#check with the shared cache: placement problems only, no documents built. */
export function checkPlacement(load: LoadResult): Diagnostic[] {
  return shared.check(load);
}
