// The read-only routes: GET /healthz, /metrics, /v1/nodes (status overview), /v1/plan. The last
// two are behind the optional admin token (`--api-token-file`); /healthz and /metrics are always
// open so load balancers and Prometheus need no secret (they show no secret either).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeStatus } from "../../schema/index.js";
import { bearerToken, sha256Hex, sha256HexEqual } from "../auth.js";
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
  log.result = "unauthorized";
  sendError(
    res,
    401,
    token
      ? "the bearer token is not the API token of this reconciler"
      : "this reconciler protects its read API: send Authorization: Bearer <the token in --api-token-file>",
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
  ctx.metrics.refresh(ctx.backend, ctx.seen);
  const { contentType, body } = await ctx.metrics.render();
  res.writeHead(200, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(body);
}

export interface NodeOverview {
  node: string;
  /** ISO time of the agent's last authenticated call, null when never seen by this process. */
  lastSeen: string | null;
  phase: string | null;
  desiredHash: string | null;
  appliedHash: string | null;
  /** The agent has applied the document currently served. */
  inSync: boolean;
  /** The agent's last report in full (what `berth status --url` shows per app). */
  status: NodeStatus | null;
}

export function nodesOverview(ctx: ApiContext): NodeOverview[] {
  return ctx.backend
    .nodes()
    .map((n) => {
      const local = ctx.seen.get(n.node) ?? null;
      const lastSeen =
        n.lastSeen === null ? local : local === null ? n.lastSeen : Math.max(local, n.lastSeen);
      const desiredHash = ctx.backend.desired(n.node)?.hash ?? null;
      const appliedHash = n.status?.appliedHash ?? null;
      return {
        node: n.node,
        lastSeen: lastSeen === null ? null : new Date(lastSeen).toISOString(),
        phase: n.status?.phase ?? null,
        desiredHash,
        appliedHash,
        inSync: desiredHash !== null && appliedHash === desiredHash,
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
