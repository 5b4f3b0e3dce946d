// GET /v1/events: the reconciler's event stream as Server-Sent Events. A client that reconnects
// with Last-Event-ID (header, or ?lastEventId=) gets the events it missed from the ring buffer,
// or first an explicit `gap` event when some of them are gone (the buffer moved on, or the id is
// from an earlier reconciler process). A comment line every heartbeat interval keeps proxies from
// closing an idle stream. Without a resume id a stream starts with new events only, or with every
// buffered event first when asked (?backlog=1). With ?follow=0 it sends the buffered events (all
// of them, or those after Last-Event-ID) and ends: what `berth events` without --follow prints.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BerthEvent } from "../contracts.js";
import { type Gap, isResumeId } from "../events.js";
import type { ApiContext, LogFields } from "./context.js";
import { admitReader } from "./read-routes.js";
import { sendError, startEventStream } from "./respond.js";

const maxBufferedBytes = 4 * 1024 * 1024;

export function formatEvent(e: BerthEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, type: e.type, time: e.time, data: e.data })}\n\n`;
}

/** The gap notice: its id is a cursor past the gap, so a client resuming from it is not told twice. */
export function formatGap(g: Gap): string {
  const message =
    g.reason === "restarted"
      ? "the reconciler restarted since that event: what happened in between is unknown; re-read the full state"
      : "some events were dropped from the buffer; re-read the full state";
  return `id: ${g.resumeFrom}\nevent: gap\ndata: ${JSON.stringify({ ...g, message })}\n\n`;
}

interface Resume {
  id: string;
}

/** The resume point asked for, undefined for none, or an error message. */
function resumeId(req: IncomingMessage, query: URLSearchParams): Resume | undefined | string {
  const raw = (req.headers["last-event-id"] as string | undefined) ?? query.get("lastEventId") ?? undefined;
  if (raw === undefined || raw === "") return undefined;
  return isResumeId(raw)
    ? { id: raw }
    : `Last-Event-ID must be an event id as sent by this stream (e.g. "m9x2k1ab12cd-42"), got ${JSON.stringify(raw.slice(0, 80))}`;
}

export function handleEvents(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  log: LogFields,
): void {
  if (!admitReader(ctx, req, res, log)) return;
  const from = resumeId(req, query);
  if (typeof from === "string") {
    sendError(res, 400, from);
    return;
  }

  if (!startEventStream(req, res)) return;
  res.write("retry: 2000\n\n");

  const follow = query.get("follow") !== "0";
  const backlog = query.get("backlog") === "1";
  // Replay and subscribe in the same tick: emit() is synchronous, so nothing falls in between.
  if (from !== undefined || !follow || backlog) {
    const { events, gap } = ctx.events.since(from?.id);
    if (gap) res.write(formatGap(gap));
    for (const e of events) res.write(formatEvent(e));
  }
  if (!follow) {
    log.result = "replay";
    res.end();
    return;
  }
  const unsubscribe = ctx.events.subscribe((e) => {
    // A client that stopped reading is dropped rather than buffered without bound; it resumes
    // with Last-Event-ID when it reconnects.
    if (res.writableLength > maxBufferedBytes) return end();
    res.write(formatEvent(e));
  });
  const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), ctx.limits.sseHeartbeatMs);
  heartbeat.unref();
  const end = () => {
    clearInterval(heartbeat);
    unsubscribe();
    ctx.closers.delete(end);
    if (!res.writableEnded) res.end();
  };
  ctx.closers.add(end);
  res.once("close", end);
  log.result = "stream";
}
