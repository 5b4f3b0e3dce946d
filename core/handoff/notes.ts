// What a pending handoff waits for, in words, when no fresher note about it was computed (a
// reconciler just restarted, or `berth status` read meta.json). Pure.
import type { Handoff, HandoffNote } from "./types.js";

export function pendingNote(h: Handoff): HandoffNote {
  const message =
    h.phase === "starting"
      ? `${h.id} keeps serving on ${h.node} until ${h.to} runs it healthy`
      : h.phase === "held"
        ? `${h.node} is lost: its document keeps ${h.id} until it is back`
        : `${h.id} stays on ${h.node} until every proxy loaded routes without it`;
  return {
    id: h.id,
    app: h.app,
    node: h.node,
    ...(h.to !== undefined ? { to: h.to } : {}),
    event: "waiting",
    message,
  };
}

/** One note per handoff the served generation keeps: the newest one computed about it, or pendingNote. */
export function servedNotes(handoffs: readonly Handoff[], notes: readonly HandoffNote[]): HandoffNote[] {
  return handoffs.map((h) => notes.find((x) => x.id === h.id && x.node === h.node) ?? pendingNote(h));
}
