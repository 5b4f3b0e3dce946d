// The agent-facing routes: GET /v1/nodes/{node}/desired (ETag, If-None-Match → 304, ?wait= long
// poll) and PUT /v1/nodes/{node}/status (bounded body, schema-checked). Both need the node's own
// bearer token. Does not decide what a status means: that is the backend's job.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type DesiredState, validateStatus } from "../../schema/index.js";
import type { ApiContext, LogFields } from "./context.js";
import { authenticateNode, wwwAuthenticate } from "./node-auth.js";
import {
  readBody,
  sendBodyTimeout,
  sendError,
  sendJsonBytes,
  sendNoContent,
  sendTooLarge,
} from "./respond.js";
import { formatSchemaErrors } from "./schema-errors.js";

const nodeName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Serialised documents, so a thousand agents fetching one document cost one JSON.stringify. */
const bytesOf = new WeakMap<DesiredState, Buffer>();
function documentBytes(doc: DesiredState): Buffer {
  let bytes = bytesOf.get(doc);
  if (!bytes) {
    bytes = Buffer.from(JSON.stringify(doc));
    bytesOf.set(doc, bytes);
  }
  return bytes;
}

export const etagOf = (hash: string): string => `"${hash}"`;

/** True when an If-None-Match header names the document's hash (quoted or not, weak or not) or is `*`. */
export function etagMatches(ifNoneMatch: string | undefined, hash: string): boolean {
  if (!ifNoneMatch) return false;
  for (const raw of ifNoneMatch.split(",")) {
    const tag = raw.trim().replace(/^W\//, "");
    if (tag === "*" || tag === `"${hash}"` || tag === hash) return true;
  }
  return false;
}

/** The first entity tag of an If-None-Match header, unquoted (undefined for none or `*`). */
function firstTag(ifNoneMatch: string | undefined): string | undefined {
  const tag = ifNoneMatch?.split(",")[0]?.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
  return tag && tag !== "*" ? tag : undefined;
}

/** `?wait=SECONDS` → milliseconds, capped; undefined = no wait; an error string when malformed. */
export function parseWait(value: string | null, maxSeconds: number): number | undefined | string {
  if (value === null || value === "") return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) {
    return `wait must be a number of seconds between 0 and ${maxSeconds}, got "${value}"`;
  }
  return Math.min(seconds, maxSeconds) * 1000;
}

/** Authenticates the caller for `node`; answers the request itself and returns false when refused. */
export function admit(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  node: string,
  log: LogFields,
): boolean {
  log.node = node;
  if (!nodeName.test(node)) {
    sendError(res, 404, `"${node}" is not a node name (names are DNS labels)`);
    log.result = "not_found";
    return false;
  }
  const auth = authenticateNode(ctx.backend, ctx.tokens, req.headers.authorization, node);
  if (!auth.ok) {
    log.result = auth.result;
    sendError(res, auth.status, auth.error, {}, auth.status === 401 ? wwwAuthenticate : {});
    return false;
  }
  const now = Date.now();
  ctx.contacts.touch(node, now);
  ctx.backend.seen?.(node, now);
  return true;
}

function serveDocument(
  ctx: ApiContext,
  node: string,
  res: ServerResponse,
  doc: DesiredState,
  ifNoneMatch: string | undefined,
  log: LogFields,
) {
  const headers: Record<string, string> = { ETag: etagOf(doc.hash), "Cache-Control": "no-cache" };
  // Requests (logs, restart) waiting for the node are announced on every answer.
  const waiting = ctx.requests.announce(node);
  if (waiting > 0) headers["Berth-Requests"] = String(waiting);
  if (etagMatches(ifNoneMatch, doc.hash)) {
    log.result = "not_modified";
    sendNoContent(res, 304, headers);
  } else {
    log.result = "document";
    sendJsonBytes(res, 200, documentBytes(doc), headers);
  }
}

export async function handleDesired(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  node: string,
  query: URLSearchParams,
  log: LogFields,
): Promise<void> {
  if (!admit(ctx, req, res, node, log)) return;
  const wait = parseWait(query.get("wait"), ctx.limits.maxWaitSeconds);
  if (typeof wait === "string") return sendError(res, 400, wait);
  let doc = ctx.backend.desired(node);
  if (!doc) {
    log.result = "no_document";
    return sendError(res, 404, `node ${node} has no published desired state yet`);
  }
  const ifNoneMatch = req.headers["if-none-match"];
  const held = firstTag(ifNoneMatch);
  if (held && ctx.backend.catchUp && !etagMatches(ifNoneMatch, doc.hash)) {
    // The agent may come from a reconciler that published something newer: never hand it an
    // older document (that would roll it back) without first looking at the desired branch.
    if ((await ctx.backend.catchUp(node, held)) === "behind") {
      log.result = "behind";
      return sendError(
        res,
        503,
        "this reconciler does not know the agent's document and cannot fetch the desired branch to see whether its own is older; try another reconciler",
      );
    }
    doc = ctx.backend.desired(node);
    if (!doc) return sendError(res, 404, `node ${node} is no longer in the published config`);
  }
  if (!wait || !etagMatches(ifNoneMatch, doc.hash) || ctx.requests.fresh(node))
    return serveDocument(ctx, node, res, doc, ifNoneMatch, log);

  // Long poll: hold the request until the document changes, a request for the node arrives
  // (logs, restart), the hold ends, the client leaves or the server closes. The hold is capped
  // below the wait asked for (pollHoldMs): a held poll counts as contact, and a peer whose link
  // silently went down must not look present longer.
  const abort = new AbortController();
  const stop = () => abort.abort();
  res.once("close", stop);
  ctx.closers.add(stop);
  ctx.metrics.agentsConnected.inc();
  const release = ctx.contacts.hold(node, Date.now());
  try {
    await Promise.race([
      ctx.backend.waitForChange(node, doc.hash, Math.min(wait, ctx.limits.pollHoldMs), abort.signal),
      ctx.requests.waitFor(node, abort.signal),
    ]);
  } catch (err) {
    ctx.logger.warn({ node, err: (err as Error).message }, "waiting for a desired-state change failed");
  } finally {
    // The other wait is cancelled with it.
    abort.abort();
    release(Date.now());
    ctx.metrics.agentsConnected.dec();
    ctx.closers.delete(stop);
    res.off("close", stop);
  }
  if (res.destroyed || res.writableEnded) {
    log.result = "client_left";
    return;
  }
  await ctx.wakeTurns.take();
  if (res.destroyed) return;
  const next = ctx.backend.desired(node);
  if (!next) return sendError(res, 404, `node ${node} is no longer in the published config`);
  serveDocument(ctx, node, res, next, ifNoneMatch, log);
}

export async function handleStatus(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  node: string,
  log: LogFields,
): Promise<void> {
  if (!admit(ctx, req, res, node, log)) {
    ctx.metrics.statusPuts.inc({
      result:
        log.result === "forbidden" ? "forbidden" : log.result === "not_found" ? "not_found" : "unauthorized",
    });
    return;
  }
  const invalid = (message: string, extra: Record<string, unknown> = {}) => {
    ctx.metrics.statusPuts.inc({ result: "invalid" });
    log.result = "invalid";
    sendError(res, 400, message, extra);
  };
  const read = await readBody(req, ctx.limits.maxBodyBytes, ctx.limits.bodyTimeoutMs);
  if (!read.ok) {
    log.result = read.problem;
    if (read.problem === "aborted") return;
    if (read.problem === "timeout") return sendBodyTimeout(res, ctx.limits.bodyTimeoutMs);
    ctx.metrics.statusPuts.inc({ result: "too_large" });
    return sendTooLarge(res, ctx.limits.maxBodyBytes);
  }
  let value: unknown;
  try {
    value = JSON.parse(read.body.toString("utf8"));
  } catch (err) {
    return invalid(`the status report is not JSON: ${(err as Error).message}`);
  }
  const validate = validateStatus();
  if (!validate(value)) {
    const errors = formatSchemaErrors(validate.errors ?? []);
    return invalid(`the status report does not match status.schema.json: ${errors.join("; ")}`, { errors });
  }
  if (value.node !== node) {
    return invalid(`the status report is for node "${value.node}" but was sent to /v1/nodes/${node}/status`);
  }
  ctx.backend.reportStatus(node, value);
  ctx.metrics.statusPuts.inc({ result: "ok" });
  log.result = "ok";
  sendNoContent(res, 204);
}
