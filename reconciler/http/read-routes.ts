// The read-only routes: GET /healthz, /metrics, /v1/nodes (status overview), /v1/plan, /v1/alerts.
// The last three are behind the optional admin token (`--api-token-file`); /healthz and /metrics are always
// open so load balancers and Prometheus need no secret (they show no secret either).
import type { IncomingMessage, ServerResponse } from "node:http";
import { type DesiredSummary, summariseDesired } from "../../core/status/desired-summary.js";
import type { NodeStatus } from "../../schema/index.js";
import { bearerToken, sha256Hex, sha256HexEqual } from "../auth.js";
import type { LivenessView } from "../contracts.js";
import { sessionFrom } from "../ui/session.js";
import type { ApiContext, LogFields } from "./context.js";
import { wwwAuthenticate } from "./node-auth.js";
import { sendError, sendJson } from "./respond.js";

/** Checks the admin token when one is configured; answers 401 itself and returns false otherwise. */
export function admitReader(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogFields,
): boolean {
  if (!ctx.apiTokenSha256) return true;
  const token = bearerToken(req.headers.authorization);
  if (token && sha256HexEqual(sha256Hex(token), ctx.apiTokenSha256)) return true;
  // The operations page's session cookie (HttpOnly, SameSite=Strict) opens the read API too: its
  // live script reads GET /v1/events with EventSource, which cannot send an Authorization header.
  if (!token && ctx.sessions.valid(sessionFrom(req.headers.cookie), Date.now())) return true;
  log.result = "unauthorized";
  sendError(
    res,
    401,
    token
      ? "the bearer token is not the API token of this reconciler"
      : "this reconciler protects its read API: send Authorization: Bearer <the token in --api-token-file> (browsers: log in at /login)",
    {},
    wwwAuthenticate,
  );
  return false;
}

/**
 * 200 `{status: "ok"}` while the reconciler does its job; 503 `{status: "degraded", problems}`
 * while a problem has lasted longer than its bound (see reconciler/health.ts), so a load balancer
 * or a monitor notices a stall without reading logs.
 */
export function handleHealthz(ctx: ApiContext, res: ServerResponse): void {
  const view = ctx.backend.published();
  const health = ctx.backend.health?.() ?? { status: "ok", problems: [] };
  sendJson(res, health.status === "ok" ? 200 : 503, { ...health, ...view });
}

export async function handleMetrics(ctx: ApiContext, res: ServerResponse): Promise<void> {
  ctx.metrics.refresh(ctx.backend, ctx.contacts);
  const { contentType, body } = await ctx.metrics.render();
  res.writeHead(200, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(body);
}

export function handleAlerts(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogFields,
): void {
  if (!admitReader(ctx, req, res, log)) return;
  if (!ctx.alerts) {
    sendJson(res, 200, { enabled: false, alerts: [], pending: [], undelivered: 0, receivers: [] });
    return;
  }
  sendJson(res, 200, ctx.alerts.view());
}

export interface NodeOverview {
  node: string;
  /**
   * The last moment the reconciler knew the agent was there (ISO): an open long-poll makes it
   * now; null when never seen (by this process, or before it in the committed liveness).
   */
  lastSeen: string | null;
  /** alive / stale / lost; null only for backends that do not judge liveness (test fakes). */
  liveness: LivenessView["state"] | null;
  /** When the node entered that state (ISO). */
  livenessSince: string | null;
  /** What is known about the node's contact and since when, in words. */
  livenessMessage: string | null;
  /** The agent's last reported phase while the node is alive; null when stale or lost (nobody can vouch for it). */
  phase: string | null;
  /** The phase of the last report, whatever the liveness (what was known, not what is). */
  reportedPhase: string | null;
  desiredHash: string | null;
  appliedHash: string | null;
  /** The agent has applied the document currently served, and the node is alive. */
  inSync: boolean;
  /** The document served to the node, summarised (what `berth status --url` compares against). */
  desired: DesiredSummary | null;
  /** The agent's last report in full (what `berth status --url` shows per app). */
  status: NodeStatus | null;
}

export function nodesOverview(ctx: ApiContext): NodeOverview[] {
  const now = Date.now();
  const iso = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? null : new Date(ms).toISOString();
  return ctx.backend
    .nodes()
    .map((n) => {
      const live = n.liveness;
      const lastSeen = live ? live.lastSeen : (ctx.contacts.lastSeen(n.node, now) ?? n.lastSeen);
      const doc = ctx.backend.desired(n.node);
      const desiredHash = doc?.hash ?? null;
      const appliedHash = n.status?.appliedHash ?? null;
      // A node nobody can vouch for is never shown converged or in sync.
      const vouched = !live || live.state === "alive";
      return {
        node: n.node,
        lastSeen: iso(lastSeen),
        liveness: live?.state ?? null,
        livenessSince: iso(live?.since),
        livenessMessage: live?.message ?? null,
        phase: vouched ? (n.status?.phase ?? null) : null,
        reportedPhase: n.status?.phase ?? null,
        desiredHash,
        appliedHash,
        inSync: vouched && desiredHash !== null && appliedHash === desiredHash,
        desired: doc ? summariseDesired(doc) : null,
        status: n.status,
      };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

export function handleNodes(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogFields,
): void {
  if (!admitReader(ctx, req, res, log)) return;
  const published = ctx.backend.published();
  const health = ctx.backend.health?.() ?? { status: "ok", problems: [] };
  sendJson(res, 200, { generation: published.generation, published, health, nodes: nodesOverview(ctx) });
}

const userCodes = new Set(["NotFoundError", "UNKNOWN_REF", "ref-not-found", "ref-ambiguous"]);

/** Whether a failure of backend.plan() is the caller's (an unknown ref) rather than ours. */
function isUserError(err: unknown): boolean {
  const e = err as {
    code?: unknown;
    statusCode?: unknown;
    status?: unknown;
    name?: unknown;
    message?: unknown;
  };
  const status =
    typeof e.statusCode === "number" ? e.statusCode : typeof e.status === "number" ? e.status : 0;
  if (status >= 400 && status < 500) return true;
  // isomorphic-git's NotFoundError; reconciler/repo's RepoError codes for refs the caller named.
  if (typeof e.code === "string" && userCodes.has(e.code)) return true;
  if (e.name === "NotFoundError") return true;
  return (
    typeof e.message === "string" &&
    /unknown ref|not found|could not (find|resolve)|no such ref|invalid ref/i.test(e.message)
  );
}

export async function handlePlan(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  log: LogFields,
): Promise<void> {
  if (!admitReader(ctx, req, res, log)) return;
  const base = query.get("base") || undefined;
  const head = query.get("head") || undefined;
  try {
    const plan = await ctx.backend.plan(base, head);
    sendJson(res, 200, plan);
  } catch (err) {
    const hint = (err as { hint?: unknown }).hint;
    const message = `${(err as Error)?.message ?? String(err)}${typeof hint === "string" ? ` (${hint})` : ""}`;
    if (isUserError(err)) {
      log.result = "bad_ref";
      return sendError(
        res,
        400,
        `cannot plan base=${base ?? "(published)"} head=${head ?? "(tracked tip)"}: ${message}`,
      );
    }
    ctx.logger.error({ base, head, err: message }, "computing a plan failed");
    sendError(res, 500, `computing the plan failed: ${message}`);
  }
}
