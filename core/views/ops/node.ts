// The node page's view-model: the node's row (liveness and since, last seen, agent version, phase,
// in sync, drift repaired, problems), the commit it should run against the one it last applied,
// the drift it repaired last, and every instance it is meant to run with state, health, restarts
// and last exit (the same instance rows as the app page). Pure.
import { instancesOf } from "./instances.js";
import { nodeRow } from "./overview.js";
import type { InstanceRow, NodeRow, OpsInput } from "./types.js";

export interface NodePageModel {
  node: string;
  row: NodeRow;
  /** The commit of the document published for the node, null when none is. */
  desiredCommit: string | null;
  /** The commit of the document the agent last applied completely, null when unknown or none. */
  appliedCommit: string | null;
  /**
   * The agent runs exactly the published document, though it first applied it at an older commit
   * (a rollback or a commit that changed nothing for this node publishes the same document).
   */
  sameDocument: boolean;
  /** Its instances, by app then instance id. */
  instances: InstanceRow[];
}

/** The node page, or null when the reconciler knows no node of that name. */
export function nodePage(node: string, input: OpsInput): NodePageModel | null {
  const n = input.nodes.find((x) => x.node === node);
  if (!n) return null;
  const instances = instancesOf(n).sort((a, b) =>
    a.app < b.app ? -1 : a.app > b.app ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  return {
    node,
    row: nodeRow(n),
    desiredCommit: n.desired?.source.commit ?? null,
    appliedCommit: n.status?.appliedCommit ?? null,
    sameDocument: n.desired !== undefined && n.status?.appliedHash === n.desired.hash,
    instances,
  };
}
