// POST /v1/apps/{app}/restart[?node=N]: `berth restart`. 202 with the restart's id, the nodes in
// the order they are restarted and the id of its restart-requested event (follow GET /v1/events
// from there for progress); 409 with the reason when it may not start now (`code`: not-running,
// unknown-node, deploy-in-progress, restart-in-progress, agent-unreachable). Behind the admin
// token like the read API (it changes nothing the config says, but it does act).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiContext, LogFields } from "../http/context.js";
import { admitReader } from "../http/read-routes.js";
import { sendError, sendJson } from "../http/respond.js";

const name = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function handleAppRestart(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  app: string,
  query: URLSearchParams,
  log: LogFields,
): void {
  if (!admitReader(ctx, req, res, log)) return;
  log.app = app;
  const node = query.get("node") || undefined;
  if (!name.test(app) || (node !== undefined && !name.test(node))) {
    sendError(
      res,
      400,
      `"${node !== undefined && !name.test(node) ? node : app}" is not a name (names are DNS labels)`,
    );
    return;
  }
  const r = ctx.restarts.request(app, node);
  if (!r.ok) {
    log.result = r.code;
    sendError(res, 409, r.message, { code: r.code });
    return;
  }
  log.result = "accepted";
  sendJson(res, 202, r.accepted);
}
