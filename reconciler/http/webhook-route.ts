// POST /v1/webhooks/{forge}: verify the signature over the raw body, drop replayed deliveries,
// then act on the normalised event — a push to the tracked branch triggers a reconcile (202,
// work done asynchronously), a pull request goes to the PR planner hook, pings get 200, anything
// else is acknowledged and ignored with the reason. Logs forge, delivery id and outcome only.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebhookResult } from "../metrics.js";
import { isForge } from "../webhooks/forges.js";
import { deliveryId, parseWebhook } from "../webhooks/parse.js";
import { checkWebhookHeaders, verifyWebhook } from "../webhooks/verify.js";
import type { ApiContext, LogFields } from "./context.js";
import { readBody, sendBodyTimeout, sendError, sendJson, sendTooLarge } from "./respond.js";

let warnedNoSecret = 0;

/** Answers without reading the body, then closes the connection (the body is never consumed). */
function refuseUnread(
  res: ServerResponse,
  status: number,
  error: string,
  headers: Record<string, string> = {},
) {
  sendError(res, status, error, {}, { ...headers, Connection: "close" });
  res.once("finish", () => res.socket?.destroySoon());
}

export async function handleWebhook(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  forgeParam: string,
  log: LogFields,
): Promise<void> {
  if (!isForge(forgeParam)) {
    return sendError(res, 404, `unknown forge "${forgeParam}": use github, gitlab, gitea or bitbucket`);
  }
  const forge = forgeParam;
  log.forge = forge;
  const id = deliveryId(forge, req.headers);
  log.deliveryId = id;
  const count = (result: WebhookResult) => {
    log.result = result;
    ctx.metrics.webhooks.inc({ forge, result });
  };

  if (!ctx.webhookSecret) {
    count("unauthorized");
    // Once a minute at most: a misconfigured forge retries often.
    if (Date.now() - warnedNoSecret > 60_000) {
      warnedNoSecret = Date.now();
      ctx.logger.warn(
        { forge },
        "webhook refused: no webhook secret is configured; start berth serve with --webhook-secret-file FILE and set the same secret in the forge",
      );
    }
    return sendError(
      res,
      401,
      "webhooks are disabled: the reconciler has no webhook secret (berth serve --webhook-secret-file)",
      {},
      { Connection: "close" },
    );
  }

  // Cheap checks first: a delivery without a well-formed signature, or beyond the bodies read at
  // once, is answered from its headers and its connection closed; its body is never read.
  const precheck = checkWebhookHeaders(forge, req.headers, ctx.webhookSecret);
  if (!precheck.ok) {
    count("unauthorized");
    return refuseUnread(res, 401, `webhook signature check failed: ${precheck.reason}`);
  }
  if (ctx.webhookBodies >= ctx.limits.maxWebhookBodies) {
    count("busy");
    return refuseUnread(res, 503, "too many webhook deliveries are being received at once; retry later", {
      "Retry-After": "10",
    });
  }
  ctx.webhookBodies++;
  let read: Awaited<ReturnType<typeof readBody>>;
  try {
    read = await readBody(req, ctx.limits.maxBodyBytes, ctx.limits.bodyTimeoutMs);
  } finally {
    ctx.webhookBodies--;
  }
  if (!read.ok) {
    if (read.problem === "aborted") {
      log.result = "aborted";
      return;
    }
    if (read.problem === "timeout") {
      count("timeout");
      return sendBodyTimeout(res, ctx.limits.bodyTimeoutMs);
    }
    count("too_large");
    return sendTooLarge(res, ctx.limits.maxBodyBytes);
  }

  const verdict = await verifyWebhook(forge, req.headers, read.body, ctx.webhookSecret);
  if (!verdict.ok) {
    count("unauthorized");
    return sendError(res, 401, `webhook signature check failed: ${verdict.reason}`);
  }

  // Only verified deliveries are remembered, so forged requests cannot poison the log.
  const key = id === null ? undefined : `${forge}:${id}`;
  if (key && ctx.deliveries.seenBefore(key)) {
    count("duplicate");
    return sendJson(res, 200, { duplicate: true, deliveryId: id });
  }

  const event = parseWebhook(forge, req.headers, read.body);
  switch (event.kind) {
    case "invalid":
      // Let the forge's retry through once the cause is fixed on its side.
      if (key) ctx.deliveries.forget(key);
      count("bad_request");
      return sendError(res, 400, `cannot read the ${forge} webhook: ${event.reason}`);
    case "ping":
      count("ping");
      return sendJson(res, 200, { ok: true, ping: true });
    case "ignored":
      count("ignored");
      return sendJson(res, 200, { ignored: event.reason });
    case "pull_request": {
      if (!ctx.onPullRequest) {
        count("ignored");
        return sendJson(res, 200, { ignored: "pull-request plans are not configured on this reconciler" });
      }
      count("pull_request");
      log.pr = event.number;
      ctx.events.emit("webhook", {
        forge,
        deliveryId: id,
        kind: "pull_request",
        number: event.number,
        action: event.action,
      });
      const handler = ctx.onPullRequest;
      // The planner runs after the response: the forge only waits for the acknowledgement.
      queueMicrotask(() => {
        try {
          handler(event);
        } catch (err) {
          ctx.logger.error(
            { forge, deliveryId: id, err: (err as Error).message },
            "pull-request handler failed",
          );
        }
      });
      return sendJson(res, 202, { accepted: true, pullRequest: event.number });
    }
    case "push": {
      const tracked = ctx.backend.trackedBranch();
      const update = event.updates.find((u) => u.branch === tracked);
      if (!update) {
        count("ignored");
        const moved = event.updates.map((u) => u.branch).join(", ");
        return sendJson(res, 200, { ignored: `branch ${moved} is not tracked (tracking ${tracked})` });
      }
      count("accepted");
      log.branch = tracked;
      ctx.events.emit("webhook", {
        forge,
        deliveryId: id,
        kind: "push",
        branch: tracked,
        after: update.after,
      });
      ctx.backend.trigger({ source: "webhook", forge, branch: tracked, after: update.after });
      return sendJson(res, 202, { accepted: true, branch: tracked, after: update.after });
    }
  }
}
