// The vocabulary of handoffs: an old copy of a workload kept on a node while its replacement
// elsewhere comes up (a move) or while proxies stop routing to it (a drain), the facts that
// decide when it may go, and the notes that say why in the plan and history. Types only.
import type { DesiredState, HandoffNote } from "../../schema/index.js";

/**
 * One old copy of a workload kept on a node beyond what the commit places there. Persisted with
 * each generation (meta.json of the desired branch), so the next one knows what it is waiting for.
 */
export interface Handoff {
  /** Workload id, e.g. web-0. */
  id: string;
  app: string;
  /** The node the old copy runs on. */
  node: string;
  /** Where the workload moved; absent when it goes away (scaled down, app removed). */
  to?: string;
  /**
   * starting: the old copy still serves (proxies route to it) until `to` runs the workload healthy;
   * draining: proxies no longer route to it; it stops once every proxy loaded those routes;
   * held: its node is lost: the node's document keeps it (unrouted) and it is decided again when
   * the node is back.
   */
  phase: "starting" | "draining" | "held";
}

/** What an agent last reported about one workload. */
export interface WorkloadFact {
  specHash: string | null;
  state: string;
  health: string;
  /** The last error of its current operation, when there is one (for notes). */
  lastError?: string | null;
}

/** What the reconciler knows about the cluster besides the commit. Plain data: it is what a plan's notes cite. */
export interface HandoffFacts {
  /** Node → workload id → its agent's last report. */
  workloads: ReadonlyMap<string, ReadonlyMap<string, WorkloadFact>>;
  /** Proxy nodes whose Caddy runs the routes of the document they are served now. */
  routesLoaded: ReadonlySet<string>;
  /** Nodes the reconciler has lost: nothing is waited for from them. */
  lost: ReadonlySet<string>;
}

export interface HandoffInput {
  /** The documents of the commit (placement only). */
  target: ReadonlyMap<string, DesiredState>;
  /** The documents served now (the last published generation). */
  published: ReadonlyMap<string, DesiredState>;
  /** Handoffs of the last published generation. */
  pending: readonly Handoff[];
  /** Address of each node of the commit (routes name upstreams by address). */
  addresses: ReadonlyMap<string, string>;
  /** Proxy nodes of the commit. */
  proxies: readonly string[];
  facts: HandoffFacts;
}

/** One line of a generation's story (plan.schema.json HandoffNote): what happened to an old copy and why. */
export type { HandoffNote } from "../../schema/index.js";

export interface HandoffResult {
  /** `target` with the old copies kept and the routes to the starting ones. */
  docs: Map<string, DesiredState>;
  /** What the next generation waits for. */
  handoffs: Handoff[];
  notes: HandoffNote[];
}
