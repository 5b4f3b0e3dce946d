// GitLab webhook payloads, read by `object_kind` (X-Gitlab-Event says the same in words: "Push
// Hook", "Merge Request Hook"; a hook sent with the "Test" button carries a real-looking payload).
// A merge request "update" is a new head only when it carries `oldrev`; title or label edits do
// not. Pure.
import { firstHeader, type HeaderBag } from "./headers.js";
import { at, branchOfRef, int, isZeroSha, obj, str } from "./json-access.js";
import type { ParsedPayload, PullRequestAction } from "./parse.js";

function mapAction(action: string, attrs: Record<string, unknown>): PullRequestAction {
  switch (action) {
    case "open":
      return "opened";
    case "reopen":
      return "reopened";
    case "close":
    case "merge":
      return "closed";
    case "update":
      return str(attrs.oldrev) ? "synchronize" : "other";
    default:
      return "other";
  }
}

function readPush(p: Record<string, unknown>): ParsedPayload {
  const ref = str(p.ref);
  const after = str(p.after);
  if (!ref || !after) return { kind: "invalid", reason: "push payload without ref and after" };
  const branch = branchOfRef(ref);
  if (branch === undefined) return { kind: "ignored", reason: `${ref} is not a branch` };
  if (isZeroSha(after)) return { kind: "ignored", reason: `branch ${branch} was deleted` };
  return {
    kind: "push",
    branch,
    after,
    updates: [{ branch, after }],
    repo: str(at(p, "project", "path_with_namespace")) ?? null,
  };
}

function readMergeRequest(p: Record<string, unknown>): ParsedPayload {
  const attrs = obj(p.object_attributes);
  if (!attrs) return { kind: "invalid", reason: "merge_request payload without object_attributes" };
  const forgeAction = str(attrs.action) ?? "";
  const number = int(attrs.iid);
  const headSha = str(at(attrs, "last_commit", "id"));
  const headRef = str(attrs.source_branch);
  const baseRef = str(attrs.target_branch);
  if (number === undefined || !headSha || !headRef || !baseRef) {
    return {
      kind: "invalid",
      reason: "merge_request payload without iid, last_commit.id, source_branch or target_branch",
    };
  }
  return {
    kind: "pull_request",
    action: mapAction(forgeAction, attrs),
    forgeAction,
    number,
    headSha,
    headRef,
    baseRef,
    cloneUrl: str(at(attrs, "target", "git_http_url")) ?? str(at(p, "project", "git_http_url")) ?? null,
    headCloneUrl: str(at(attrs, "source", "git_http_url")) ?? null,
    repo: str(at(p, "project", "path_with_namespace")) ?? null,
  };
}

export function parseGitlab(headers: HeaderBag, payload: unknown): ParsedPayload {
  const event = firstHeader(headers, ["X-Gitlab-Event"])?.value;
  if (event && /test hook/i.test(event)) return { kind: "ping", repo: null };
  const p = obj(payload);
  if (!p) return { kind: "invalid", reason: "payload is not a JSON object" };
  const kind = str(p.object_kind) ?? str(p.event_name);
  switch (kind) {
    case "push":
      return readPush(p);
    case "merge_request":
      return readMergeRequest(p);
    case "tag_push":
      return { kind: "ignored", reason: `${str(p.ref) ?? "a tag"} is not a branch` };
    case undefined:
      return { kind: "invalid", reason: "payload without object_kind" };
    default:
      return { kind: "ignored", reason: `event ${kind} is not used by berth` };
  }
}
