// Events the agent emits to an optional observer (berth up prints them; tests and benchmarks wait
// on them). Types only.
import type { Cause } from "../../schema/index.js";
import type { ActionKind } from "./actions.js";

export type AgentEvent =
  | { type: "document-accepted"; hash: string; commit: string }
  | { type: "document-rejected"; code: string; message: string }
  | { type: "pass-started"; trigger: PassTrigger; hash: string }
  | { type: "action-started"; kind: ActionKind; workloadId: string; reason: string; attempt: number }
  | { type: "action-succeeded"; kind: ActionKind; workloadId: string; reason: string; ms: number }
  | {
      type: "action-failed";
      kind: ActionKind;
      workloadId: string;
      reason: string;
      error: string;
      cause: Cause;
      retryInMs: number;
      /** How long the failed attempt took. */
      ms?: number;
    }
  | { type: "action-superseded"; kind: ActionKind; workloadId: string; reason: string; ms: number }
  | { type: "pass-finished"; hash: string; phase: string; actions: number; deferred: number }
  | { type: "drift"; detail: string }
  | { type: "status-reported"; phase: string }
  | { type: "reconciler-unreachable"; message: string };

export type PassTrigger = "startup" | "document" | "drift" | "backoff" | "repeat" | "restart";
