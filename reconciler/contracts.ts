// Contracts between the reconciler's parts: the loop that publishes desired state (reconciler.ts)
// and the HTTP API that serves it (http/). Types only.

import type { Liveness } from "../core/status/liveness.js";
import type { GenerationInput } from "../core/views/ops/history.js";
import type { DesiredState, Diagnostic, HandoffNote, NodeStatus, Plan } from "../schema/index.js";
import type { HealthView } from "./health/tracker.js";

/** Event types on the reconciler's stream (GET /v1/events, `berth events`). */
export type EventType =
  | "detected" // a new commit was seen on the tracked branch
  | "planned" // a plan was computed for it
  | "published" // desired state was committed (and pushed) and is served
  | "rejected" // the commit is invalid; nothing published
  | "unchanged" // the commit changes no node's desired state; nothing published
  | "node-reported" // an agent reported a changed status
  | "workload-failed" // a node reported a workload failing with a new cause (exit, crash loop, never healthy…)
  | "status-committed" // statuses were committed to the status branch
  | "handoff" // an old copy kept during a move or drain: started, unrouted, completed, skipped
  | "webhook" // a webhook delivery was accepted
  | "pull-request" // a pull-request plan was posted
  | "restart-requested" // `berth restart` was accepted: which nodes, in which order
  | "restart-progress" // a node reported a step of a restart
  | "restart-finished" // a restart ended: succeeded, failed or dropped, and why
  | "node-stale" // no contact with a node's agent for longer than the stale bound
  | "node-lost" // no contact for longer than the lost bound
  | "node-back" // a stale or lost node's agent called again
  | "reconciler-error" // an I/O failure the reconciler will retry (fetch, push, forge API)
  | "degraded" // a problem has lasted longer than the bound: publishing or status writes keep failing, or the tracked branch stays ahead
  | "recovered"; // that problem is gone

export interface BerthEvent {
  /**
   * `<epoch>-<seq>`: the epoch names the reconciler process, seq increases strictly within it.
   * Unique across restarts; used as the SSE id (opaque to clients).
   */
  id: string;
  type: EventType;
  time: string;
  data: Record<string, unknown>;
}

export interface EventSink {
  emit(type: EventType, data: Record<string, unknown>): void;
}

/** What a push webhook asks for: fetch and reconcile `branch` (the tracked one, already filtered). */
export interface TriggerRequest {
  source: "webhook" | "watch" | "poll" | "startup" | "facts";
  forge?: "github" | "gitlab" | "gitea" | "bitbucket";
  branch?: string;
  /** Commit the forge says the branch now points at, when it says so. */
  after?: string;
}

/** The newest commit of the tracked branch that was refused because it is invalid. */
export interface RejectedView {
  commit: string;
  /** When the reconciler refused it (ISO time). */
  at: string;
  errors: number;
  /** The first diagnostics (at most 20). */
  diagnostics: Diagnostic[];
}

/** The published state the API serves. */
export interface PublishedView {
  generation: number;
  /** Commit of the config repo that was published, null before the first publish. */
  commit: string | null;
  /** Commit on the desired branch holding it. */
  desiredCommit: string | null;
  /** Set while the tracked branch's tip is an invalid commit (cleared by the next valid one). */
  rejected?: RejectedView | null;
  /** While old copies are kept during moves and drains: what each waits for (the last notes). */
  handoffs?: HandoffNote[];
  /** With failover on: the lost nodes whose replicas the served generation places elsewhere. */
  failover?: { node: string; lostSince: string; message: string }[];
  /** Failover is due but the remaining nodes cannot take the replicas: why. */
  failoverBlocked?: string;
}

/** How one run of the loop ended (the `outcome` label of berth_reconcile_duration_seconds). */
export type ReconcileOutcome = "published" | "unchanged" | "rejected" | "up_to_date" | "failed";

/** Which of berth's branches a git operation touched (a label: branch names are the operator's). */
export type BranchRole = "tracked" | "desired" | "status" | "alerts" | "other";

/**
 * Observes the loop's work for metrics and alert facts. Implementations must be cheap and must
 * not throw (reconciler/metrics.ts counts; reconciler/alerts keeps the git trouble fact).
 */
export interface LoopObserver {
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
  /** Writing and moving the desired branch of one publish (commit objects + CAS push/ref update). */
  published(seconds: number): void;
  /** A remote fetch of one branch (remote mode only). */
  fetched(role: BranchRole, result: "ok" | "error", message?: string): void;
  /** A push (remote) or ref update (local) with compare-and-swap. */
  pushed(role: BranchRole, result: "ok" | "rejected" | "error", message?: string): void;
}

/** A node's liveness verdict as the API shows it (times in ms epoch). */
export interface LivenessView {
  state: Liveness;
  since: number;
  lastSeen: number | null;
  /** What is known and since when, in words. */
  message: string;
}

export interface NodeEntryView {
  node: string;
  /** The last moment the reconciler knew the agent was there (an open long-poll counts). */
  lastSeen: number | null;
  status: NodeStatus | null;
  /** Absent only for backends that do not judge liveness (test fakes). */
  liveness?: LivenessView;
}

/** What the HTTP API needs from the reconciler. */
export interface ApiBackend {
  trackedBranch(): string;
  published(): PublishedView;
  /** The node's current document, or undefined when the node is not in the published config. */
  desired(node: string): DesiredState | undefined;
  /**
   * Resolves when the node's document hash differs from `etag` (or immediately when it already
   * does), or with undefined after timeoutMs / on abort.
   */
  waitForChange(
    node: string,
    etag: string | undefined,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void>;
  /** SHA-256 hex of the node's token from the published config (undefined: node unknown or no token). */
  tokenSha256(node: string): string | undefined;
  /** A validated status report; the reconciler batches changed ones into status-branch commits. */
  reportStatus(node: string, status: NodeStatus): void;
  /** lastSeen (ms epoch), liveness and last status per node, from memory. */
  nodes(): NodeEntryView[];
  /**
   * An agent holds a document hash (`etag`) this reconciler does not serve: another reconciler
   * may have published something newer. Optional; remote mode refreshes the desired branch
   * first. "behind": it could not find out (the remote is unreachable), so serving its own
   * document might roll the agent back: the API answers 503 and the agent tries another.
   */
  catchUp?(node: string, etag: string): Promise<"serve" | "behind">;
  /** Fetch/re-read the repo and reconcile; coalesced with other requests. */
  trigger(req: TriggerRequest): void;
  /** A plan between two refs of the config repo (head may be "worktree" in local mode). */
  plan(base: string | undefined, head: string | undefined): Promise<Plan>;
  /** What keeps the reconciler from doing its job (absent: a backend that cannot tell, seen as ok). */
  health?(): HealthView;
}

/**
 * Optional extension of ApiBackend for the operations page (reconciler/ui): the published
 * generations read back from the desired branch, and the forge's web address for commit links.
 */
export interface HistoryBackend {
  /** Up to `limit` generations, newest first, numbered below `before` when given. */
  readGenerations(opts: { limit: number; before?: number }): Promise<GenerationInput[]>;
  /** Generation `n` with its plan, or null when the desired branch has no such generation. */
  readGeneration(n: number): Promise<GenerationInput | null>;
  /** The forge berth.yaml names, with the repo's web address; null when none or unknown. */
  forgeWeb(): { kind: "github" | "gitea" | "gitlab"; webUrl: string } | null;
}
