// How a liveness change reaches the outside world: an event (node-stale, node-lost, node-back,
// data {node, lastSeen, since, message}), a log line (warn for a node going away, info for one
// coming back or first seen alive) and a liveness record queued for the status branch. Wiring
// only; the decisions are core/status/liveness.ts's.
import type { Logger } from "pino";
import type { LivenessRecord } from "../../schema/index.js";
import type { EventSink } from "../contracts.js";
import { livenessRecord } from "../store/status-layout.js";
import type { LivenessChange } from "./watch.js";

export function announcer(opts: {
  events: EventSink;
  log: Logger;
  /** Queues the record for the next status commit (undefined before the batcher exists). */
  commit: (record: LivenessRecord) => void;
  also?: (change: LivenessChange) => void;
}): (change: LivenessChange) => void {
  return (change) => {
    const { node, verdict, kind, message } = change;
    const data = {
      node,
      lastSeen: verdict.lastSeen === null ? null : new Date(verdict.lastSeen).toISOString(),
      since: new Date(verdict.since).toISOString(),
      message,
    };
    if (kind === "record") opts.log.info(data, "node is alive");
    else {
      if (kind === "node-back") opts.log.info(data, message);
      else opts.log.warn(data, message);
      opts.events.emit(kind, data);
    }
    opts.commit(livenessRecord(node, verdict));
    opts.also?.(change);
  };
}
