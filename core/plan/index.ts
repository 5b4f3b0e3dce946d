// The plan: the difference between two evaluated states (base and head) as data, SPEC §3.
// Views (core/views) render it as text, markdown or JSON. Pure.
import type { DesiredState, Diagnostic, Plan, Side } from "../../schema/index.js";
import type { AppSpec, Config, DomainSpec, NodeSpec, SecretsSpec } from "../config/model.js";
import { workloadIdsOf } from "../desired/index.js";
import { movesOf } from "./moves.js";
import { nodeChanges } from "./nodes.js";
import type { ReasonContext } from "./reasons.js";
import { resourceChanges } from "./resources.js";
import { summarize } from "./summary.js";

export { isSensitiveField, SENSITIVE } from "./fields.js";
export { isMoveStep, moveKeys, moveText } from "./moves.js";
export { domainName } from "./resources.js";
export { hasChanges, summaryLine } from "./summary.js";

export interface PlanInput {
  side: Side;
  /** null for the empty state. */
  config: Config | null;
  /** Desired documents by node (empty for the empty state or an invalid config). */
  desired: ReadonlyMap<string, DesiredState>;
  diagnostics: Diagnostic[];
  /** Nodes whose replicas failover placed elsewhere in this state (core/handoff/failover.ts). */
  failedOver?: readonly string[];
}

const EMPTY_SIDE: Side = { ref: null, commit: null };

/**
 * The plan from `base` (null: the empty state) to `head`. An invalid head gives a plan with
 * valid: false, its diagnostics as errors and no changes: nothing would be published.
 */
export function computePlan(base: PlanInput | null, head: PlanInput): Plan {
  const baseSide = base?.side ?? EMPTY_SIDE;
  if (head.diagnostics.length > 0) {
    return {
      formatVersion: 1,
      base: baseSide,
      head: head.side,
      valid: false,
      errors: head.diagnostics,
      resources: [],
      nodes: [],
      moves: [],
      summary: { add: 0, change: 0, remove: 0 },
    };
  }
  const baseConfig = base?.config ?? null;
  const ctx = reasonContext(baseConfig, base, head);
  const nodes = nodeChanges(base?.desired ?? new Map(), head.desired, ctx);
  const moves = movesOf(nodes, head.desired, ctx);
  return {
    formatVersion: 1,
    base: baseSide,
    head: head.side,
    valid: true,
    errors: [],
    resources: resourceChanges(baseConfig, head.config),
    nodes,
    moves,
    summary: summarize(nodes, moves),
  };
}

function reasonContext(baseConfig: Config | null, base: PlanInput | null, head: PlanInput): ReasonContext {
  // Built on first use: most plans of the reconciler's warm path never need them.
  const lazy = <T>(make: () => T): (() => T) => {
    let value: T | undefined;
    return () => {
      value ??= make();
      return value;
    };
  };
  const apps = (c: Config | null) =>
    lazy(() => new Map<string, AppSpec>((c?.apps ?? []).map((e) => [e.spec.name, e.spec])));
  const nodes = (c: Config | null) =>
    lazy(() => new Map<string, NodeSpec>((c?.nodes ?? []).map((e) => [e.spec.name, e.spec])));
  const domains = (c: Config | null) =>
    lazy(
      () =>
        new Map<string, DomainSpec>((c?.domains ?? []).map((e) => [`${e.spec.host}|${e.spec.path}`, e.spec])),
    );
  const secrets = (c: Config | null) =>
    lazy(() => new Map<string, SecretsSpec>((c?.secrets ?? []).map((e) => [e.spec.app, e.spec])));
  const location = (desired: ReadonlyMap<string, DesiredState> | undefined) =>
    lazy(() => {
      const index = new Map<string, string[]>();
      // Ids only: the workloads of nodes that did not change need not be made (desired/content.ts).
      for (const [node, doc] of [...(desired ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        for (const id of workloadIdsOf(doc)) {
          const at = index.get(id);
          if (at) at.push(node);
          else index.set(id, [node]);
        }
      }
      return index;
    });
  return {
    baseApps: apps(baseConfig),
    headApps: apps(head.config),
    baseNodes: nodes(baseConfig),
    headNodes: nodes(head.config),
    baseDomains: domains(baseConfig),
    headDomains: domains(head.config),
    baseSecrets: secrets(baseConfig),
    headSecrets: secrets(head.config),
    baseLocation: location(base?.desired),
    headLocation: location(head.desired),
    baseFailedOver: lazy(() => new Set(base?.failedOver ?? [])),
    headFailedOver: lazy(() => new Set(head.failedOver ?? [])),
  };
}
