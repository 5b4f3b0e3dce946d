// The agent's side of the channel it opens to the reconciler (agents only connect out):
// GET /v1/nodes/{node}/requests hands out the requests held for the node (logs, restart),
// POST /v1/nodes/{node}/logs/{id} takes a batch of lines for a log request (200 while someone
// watches, 410 once nobody does, so the agent stops reading), and
// POST /v1/nodes/{node}/requests/{id}/report takes a restart's progress. All need the node's token.
import type { IncomingMessage, ServerResponse } from "node:http";
import { validateLogBatch, validateRequestReport } from "../../schema/index.js";
import type { ApiContext, LogFields } from "./context.js";
import { admit } from "./node-routes.js";
import { readBody, sendError, sendJson, sendNoContent, sendTooLarge } from "./respond.js";
import { formatSchemaErrors } from "./schema-errors.js";

export function handleRequests(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  node: string,
  log: LogFields,
): void {
  if (!admit(ctx, req, res, node, log)) return;
  const requests = ctx.requests.take(node);
  log.result = requests.length > 0 ? "requests" : "none";
  sendJson(res, 200, { requests });
}

/** Reads a JSON body checked against `validate`; answers the error itself and returns undefined. */
export async function readJson<T>(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  what: string,
  validate: { (v: unknown): v is T; errors?: Parameters<typeof formatSchemaErrors>[0] | null },
  log: LogFields,
): Promise<T | undefined> {
  const read = await readBody(req, ctx.limits.maxBodyBytes);
  if (!read.ok) {
    log.result = read.problem;
    if (read.problem !== "aborted") sendTooLarge(res, ctx.limits.maxBodyBytes);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(read.body.toString("utf8"));
  } catch (err) {
    log.result = "invalid";
    sendError(res, 400, `the ${what} is not JSON: ${(err as Error).message}`);
    return undefined;
  }
  if (!validate(value)) {
    const errors = formatSchemaErrors(validate.errors ?? []);
    log.result = "invalid";
    sendError(res, 400, `the ${what} does not match requests.schema.json: ${errors.join("; ")}`, { errors });
    return undefined;
  }
  return value;
}

export async function handleLogUpload(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  node: string,
  id: string,
  log: LogFields,
): Promise<void> {
  if (!admit(ctx, req, res, node, log)) return;
  const batch = await readJson(ctx, req, res, "log batch", validateLogBatch(), log);
  if (!batch) return;
  const r = await ctx.logs.accept(node, id, batch);
  log.result = r;
  if (r === "gone") {
    sendError(res, 410, `nobody watches log request ${id} any more; stop sending`);
    return;
  }
  sendJson(res, 200, { continue: true });
}

export async function handleRequestReport(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  node: string,
  id: string,
  log: LogFields,
): Promise<void> {
  if (!admit(ctx, req, res, node, log)) return;
  const report = await readJson(ctx, req, res, "request report", validateRequestReport(), log);
  if (!report) return;
  if (ctx.restarts.report(node, id, report) === "unknown") {
    log.result = "unknown";
    sendError(res, 404, `no restart ${id} is under way on node ${node}`);
    return;
  }
  log.result = report.state;
  sendNoContent(res, 204);
}
