// Turns a verified webhook delivery into one normalised event, whatever the forge: a push (with
// every branch it moved), a ping, a pull/merge request, or "ignored" with the reason. Pure: takes
// headers and raw bytes, returns data; deciding what to do with the event is the HTTP layer's job.
import { parseBitbucket } from "./bitbucket.js";
import { deliveryHeaders, type Forge } from "./forges.js";
import { parseGitea } from "./gitea.js";
import { parseGithub } from "./github.js";
import { parseGitlab } from "./gitlab.js";
import { firstHeader, type HeaderBag, header } from "./headers.js";

export type { Forge } from "./forges.js";

export interface BranchUpdate {
  branch: string;
  /** Commit the branch now points at (may be abbreviated on Bitbucket pull requests, never here). */
  after: string;
}

export interface PushEvent {
  kind: "push";
  forge: Forge;
  deliveryId: string | null;
  /** First branch the push moved (most forges send one branch per delivery). */
  branch: string;
  after: string;
  /** Every branch the delivery moved (Bitbucket may batch several). */
  updates: BranchUpdate[];
  /** owner/name (GitLab: the project path), when the payload says. */
  repo: string | null;
}

export interface PingEvent {
  kind: "ping";
  forge: Forge;
  deliveryId: string | null;
  repo: string | null;
}

/**
 * What berth does with a pull request: plan it when it is opened, gets new commits, or is reopened.
 * Forge spellings are mapped: Gitea "synchronized", GitLab "open"/"update" with new commits/"reopen",
 * Bitbucket "pullrequest:created"/"pullrequest:updated".
 */
export type PullRequestAction = "opened" | "synchronize" | "reopened" | "closed" | "other";

export interface PullRequestEvent {
  kind: "pull_request";
  forge: Forge;
  deliveryId: string | null;
  action: PullRequestAction;
  /** The action as the forge wrote it (e.g. "synchronized", "update", "pullrequest:updated"). */
  forgeAction: string;
  /** PR number (GitLab: the merge request iid). */
  number: number;
  /** Head commit (Bitbucket sends an abbreviated hash). */
  headSha: string;
  headRef: string;
  baseRef: string;
  /** Clone URL of the repository the PR targets (where refs/pull/N/head or refs/merge-requests/N/head live). */
  cloneUrl: string | null;
  /** Clone URL of the repository the head branch lives in (differs for forks). */
  headCloneUrl: string | null;
  repo: string | null;
}

export interface IgnoredEvent {
  kind: "ignored";
  forge: Forge;
  deliveryId: string | null;
  reason: string;
}

/** The payload could not be read (not JSON, or missing what its event type requires). */
export interface InvalidEvent {
  kind: "invalid";
  forge: Forge;
  deliveryId: string | null;
  reason: string;
}

export type WebhookEvent = PushEvent | PingEvent | PullRequestEvent | IgnoredEvent | InvalidEvent;

/** The forge-specific part of an event; parse() adds forge and deliveryId. */
export type ParsedPayload =
  | Omit<PushEvent, "forge" | "deliveryId">
  | Omit<PingEvent, "forge" | "deliveryId">
  | Omit<PullRequestEvent, "forge" | "deliveryId">
  | { kind: "ignored"; reason: string }
  | { kind: "invalid"; reason: string };

/** The delivery id a forge keeps across retries of one delivery, or null. */
export function deliveryId(forge: Forge, headers: HeaderBag): string | null {
  return firstHeader(headers, deliveryHeaders[forge])?.value ?? null;
}

/** Decodes the body: JSON, or the `payload` field of a form-encoded body (GitHub and Gitea offer both). */
export function decodeBody(
  headers: HeaderBag,
  body: Buffer,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text = body.toString("utf8");
  const type = header(headers, "content-type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded")) {
    const payload = new URLSearchParams(text).get("payload");
    if (payload === null) return { ok: false, reason: "form-encoded body without a payload field" };
    text = payload;
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}` };
  }
}

export function parseWebhook(forge: Forge, headers: HeaderBag, body: Buffer): WebhookEvent {
  const id = deliveryId(forge, headers);
  const decoded = decodeBody(headers, body);
  if (!decoded.ok) return { kind: "invalid", forge, deliveryId: id, reason: decoded.reason };
  const parsed = parsers[forge](headers, decoded.value);
  return { ...parsed, forge, deliveryId: id } as WebhookEvent;
}

const parsers: Record<Forge, (headers: HeaderBag, payload: unknown) => ParsedPayload> = {
  github: parseGithub,
  gitea: parseGitea,
  gitlab: parseGitlab,
  bitbucket: parseBitbucket,
};
