// Gathers what the operations page's view-models read (core/views/ops OpsInput) from the API
// context: the published view, every node's document, last report, lastSeen and liveness, and
// the tracker's tip and deploys. Fields the backend does not provide stay absent (shown unknown).
import type { AlertInput, Liveness, NodeInput, OpsInput } from "../../core/views/ops/index.js";
import type { ApiContext } from "../http/context.js";
import { nodesOverview } from "../http/read-routes.js";
import type { OpsTracker } from "./tracker.js";

/** The reconciler's own health, when the backend reports it (issue 14's degraded state). */
type HealthSource = { health?: () => OpsInput["health"] };

export function opsInput(ctx: ApiContext, tracker: OpsTracker, now = Date.now()): OpsInput {
  const nodes: NodeInput[] = nodesOverview(ctx).map((n) => ({
    node: n.node,
    lastSeen: n.lastSeen,
    // null: a backend that does not judge liveness; the page then says unknown.
    ...(n.liveness ? { liveness: n.liveness as Liveness } : {}),
    ...(n.livenessSince ? { livenessSince: n.livenessSince } : {}),
    ...(n.livenessMessage ? { livenessMessage: n.livenessMessage } : {}),
    desired: ctx.backend.desired(n.node),
    status: n.status,
  }));
  const health = (ctx.backend as HealthSource).health?.() ?? null;
  const view = ctx.alerts?.view() as { alerts?: AlertInput[] } | undefined;
  const alerts = (view?.alerts ?? []).map((a) => ({
    summary: a.summary,
    cause: a.cause,
    status: a.status,
    since: a.since,
  }));
  return {
    now,
    trackedBranch: ctx.backend.trackedBranch(),
    published: ctx.backend.published(),
    tip: tracker.tip,
    nodes,
    deploys: tracker.deploys,
    health,
    alerts,
  };
}
