// The alert engine's vocabulary: facts in, conditions, alert states, notifications out. An alert
// is a state keyed by a fingerprint (rule + subject), never an event: it opens once, may remind,
// and closes once. Types only.
import type { AppNode } from "../status/app-nodes.js";
import type { Liveness } from "./liveness.js";

export type RuleKind =
  | "node-lost"
  | "deploy-failed"
  | "crash-loop"
  | "app-unhealthy"
  | "invalid-commit"
  | "git-trouble";

/** A rule with every default applied (rules.ts). Durations in ms. */
export interface Rule {
  name: string;
  kind: RuleKind;
  forMs: number;
  resolveMs: number;
  /** 0: no reminders. */
  repeatMs: number;
  /** Receiver names; empty: every receiver. */
  receivers: string[];
  apps?: string[];
  nodes?: string[];
}

/**
 * Trouble the reconciler has right now: failing fetches or pushes of one of its branches (its own
 * observation), or a problem it announced with a `degraded` event (issue 14) until `recovered`.
 */
export interface GitTrouble {
  op: "fetch" | "push" | "degraded";
  /** Branch role (tracked, desired, status, alerts); for "degraded", the problem's name. */
  branch: string;
  message: string;
  /** When the current run of failures began (ms epoch). */
  since: number;
}

/** What the reconciler knows at one moment: the engine's only input besides the clock. */
export interface Facts {
  nodes: { node: string; liveness: Liveness; lastSeen: number | null }[];
  /** Per app and node, from the served documents and the agents' reports. */
  apps: AppNode[];
  /** The tracked branch's tip when it is invalid. */
  rejected: { branch: string; commit: string; errors: number; diagnostics: string[] } | null;
  /**
   * False until the reconciler has checked the tracked tip since it started (then `rejected` says
   * nothing yet: a restarted reconciler must not resolve an open invalid-commit alert). Default true.
   */
  tipChecked?: boolean;
  /** The tracked branch (the subject of invalid-commit while the tip is not checked). */
  trackedBranch?: string;
  git: GitTrouble[];
}

/** One rule's verdict on one subject at one moment: the condition holds. */
export interface Condition {
  rule: string;
  kind: RuleKind;
  /** What the alert is about (node, app, branch, op): the fingerprint's only varying part. */
  subject: Record<string, string>;
  /** One line, stable while the condition holds (no durations, counts or ids). */
  summary: string;
  /** Why, in words (may change while the alert is open; the latest is shown). */
  cause: string;
  /** Path under the operations page (publicUrl), e.g. /apps/web. */
  path: string;
  /** What the resolved message says (e.g. "node n1 is back"). */
  resolvedSummary: string;
  /**
   * The facts cannot tell whether the condition holds (a stale node: neither lost nor back): an
   * alert about the subject keeps its state, and none is opened.
   */
  unknown?: true;
}

export type AlertStatus = "pending" | "firing" | "resolving";

export interface AlertState {
  fingerprint: string;
  rule: string;
  kind: RuleKind;
  subject: Record<string, string>;
  status: AlertStatus;
  summary: string;
  cause: string;
  path: string;
  resolvedSummary: string;
  /** When the condition was first seen holding (ms epoch). */
  activeSince: number;
  /** When the alert opened (the firing notification), if it did. */
  firedAt?: number;
  /** When the last firing or reminder was sent. */
  notifiedAt?: number;
  /** When the condition was last seen clear, while resolving. */
  clearSince?: number;
}

export type NotificationKind = "firing" | "reminder" | "resolved";

export interface Notification {
  kind: NotificationKind;
  fingerprint: string;
  rule: string;
  ruleKind: RuleKind;
  subject: Record<string, string>;
  summary: string;
  cause: string;
  path: string;
  /** When the alert opened (ms epoch). */
  startedAt: number;
  /** When this notification was decided (ms epoch). */
  at: number;
  /** Receiver names to deliver to (empty: every receiver). */
  receivers: string[];
}
