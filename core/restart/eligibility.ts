// Whether `berth restart APP [--node N]` may start now, decided from what the reconciler knows:
// the app's workloads in each node's published document, each node's last status report and when
// its agent was last seen. A restart needs the app running everywhere it is asked for, no deploy
// of it under way (every agent holds the published document and runs the app's published specs,
// with no operation pending on them), agents that are there to do it, and no other restart of the
// app in progress. Pure: the reconciler passes plain data and the time.
import type { NodeStatus } from "../../schema/index.js";

export interface RestartNodeView {
  node: string;
  /** Hash of the document the reconciler serves the node now (null: none). */
  docHash: string | null;
  /** The app's workloads in that document. */
  workloads: readonly { id: string; specHash: string }[];
  /** The node's last status report (null: never reported since the reconciler started). */
  status: NodeStatus | null;
  /** ms epoch of the agent's last call, null when never seen. */
  lastSeen: number | null;
}

export interface RestartAsk {
  app: string;
  /** Restrict to this node. */
  node?: string;
  generation: number;
  nodes: readonly RestartNodeView[];
  /** Id of a restart of this app still in progress, if any. */
  inProgress: string | null;
  now: number;
  /** An agent silent for longer than this is not trusted to restart anything (default 90 s). */
  maxSilenceMs?: number;
}

export type RestartRefusal =
  | "not-running"
  | "unknown-node"
  | "deploy-in-progress"
  | "restart-in-progress"
  | "agent-unreachable";

export type RestartDecision =
  | { ok: true; targets: { node: string; workloads: { id: string; specHash: string }[] }[] }
  | { ok: false; code: RestartRefusal; message: string };

const ago = (ms: number): string =>
  ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;

export function decideRestart(ask: RestartAsk): RestartDecision {
  const { app } = ask;
  const refuse = (code: RestartRefusal, message: string): RestartDecision => ({ ok: false, code, message });
  if (ask.inProgress) {
    return refuse(
      "restart-in-progress",
      `a restart of ${app} is already in progress (${ask.inProgress}); wait for it to finish (berth events --follow shows it)`,
    );
  }
  const running = ask.nodes
    .filter((n) => n.workloads.length > 0)
    .sort((a, b) => a.node.localeCompare(b.node));
  if (running.length === 0) {
    return refuse(
      "not-running",
      `${app} runs on no node in generation ${ask.generation} (it is not in the config, or has replicas: 0); nothing to restart`,
    );
  }
  let targets = running;
  if (ask.node !== undefined) {
    targets = running.filter((n) => n.node === ask.node);
    if (targets.length === 0) {
      return refuse(
        "unknown-node",
        `${app} does not run on node ${ask.node} in generation ${ask.generation}; it runs on ${running.map((n) => n.node).join(", ")}`,
      );
    }
  }
  const maxSilence = ask.maxSilenceMs ?? 90_000;
  for (const n of targets) {
    const where = `on node ${n.node}`;
    if (n.lastSeen === null || ask.now - n.lastSeen > maxSilence) {
      return refuse(
        "agent-unreachable",
        `the agent of node ${n.node} ${n.lastSeen === null ? "has not been seen since the reconciler started" : `was last seen ${ago(ask.now - n.lastSeen)} ago`}; it cannot restart ${app} now${ask.node === undefined && targets.length > 1 ? " (--node restarts the other nodes alone)" : ""}`,
      );
    }
    const st = n.status;
    if (!st) {
      return refuse(
        "not-running",
        `node ${n.node} has not reported its status yet, so berth cannot tell that ${app} runs there; try again in a moment`,
      );
    }
    if (st.desiredHash !== n.docHash) {
      return refuse(
        "deploy-in-progress",
        `a deploy is in progress ${where}: its agent has not taken generation ${ask.generation} yet; try again when \`berth status\` shows it in sync`,
      );
    }
    const reported = new Map(st.workloads.map((w) => [w.id, w]));
    for (const w of n.workloads) {
      const r = reported.get(w.id);
      if (!r || (r.specHash === null && !r.operation)) {
        return refuse(
          "not-running",
          `${w.id} is not running ${where}${r ? ` (${r.state})` : ""}; berth restart restarts running instances (a stopped one is started by the agent itself)`,
        );
      }
      if (r.operation || r.specHash !== w.specHash) {
        const why = r.operation ? r.operation.step : "it still runs the previous version";
        return refuse(
          "deploy-in-progress",
          `a deploy of ${app} is in progress ${where} (${w.id}: ${why}); try again when \`berth status\` shows it done`,
        );
      }
      if (r.state !== "running") {
        return refuse(
          "not-running",
          `${w.id} is ${r.state} ${where}, not running; berth restart restarts running instances (the agent itself restarts one that exits)`,
        );
      }
    }
  }
  return {
    ok: true,
    targets: targets.map((n) => ({ node: n.node, workloads: n.workloads.map((w) => ({ ...w })) })),
  };
}
