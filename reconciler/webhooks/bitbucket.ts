// Bitbucket Cloud webhook payloads (X-Event-Key: repo:push, pullrequest:*, diagnostics:ping). One
// push delivery may move several branches (`push.changes[]`); tag changes and deletions (new:
// null) are skipped. Pull-request payloads carry an abbreviated head hash. Pure.
import { firstHeader, type HeaderBag } from "./headers.js";
import { arr, at, int, obj, str } from "./json-access.js";
import type { BranchUpdate, ParsedPayload, PullRequestAction } from "./parse.js";

const prActions: Record<string, PullRequestAction> = {
  "pullrequest:created": "opened",
  "pullrequest:updated": "synchronize",
  "pullrequest:fulfilled": "closed",
  "pullrequest:rejected": "closed",
};

function cloneUrlOf(repository: unknown): string | null {
  const html = str(at(repository, "links", "html", "href"));
  return html ? `${html.replace(/\/$/, "")}.git` : null;
}

function readPush(p: Record<string, unknown>): ParsedPayload {
  const changes = arr(at(p, "push", "changes"));
  if (!changes) return { kind: "invalid", reason: "repo:push payload without push.changes" };
  const updates: BranchUpdate[] = [];
  for (const change of changes) {
    const next = obj(obj(change)?.new);
    const name = str(next?.name);
    const hash = str(at(next, "target", "hash"));
    if (next && next.type === "branch" && name && hash) updates.push({ branch: name, after: hash });
  }
  const first = updates[0];
  if (!first) return { kind: "ignored", reason: "the push moved no branch (tags or deletions only)" };
  return {
    kind: "push",
    branch: first.branch,
    after: first.after,
    updates,
    repo: str(at(p, "repository", "full_name")) ?? null,
  };
}

function readPullRequest(p: Record<string, unknown>, key: string): ParsedPayload {
  const pr = obj(p.pullrequest);
  const number = int(pr?.id);
  const headSha = str(at(pr, "source", "commit", "hash"));
  const headRef = str(at(pr, "source", "branch", "name"));
  const baseRef = str(at(pr, "destination", "branch", "name"));
  if (!pr || number === undefined || !headSha || !headRef || !baseRef) {
    return {
      kind: "invalid",
      reason: "pullrequest payload without id, source commit/branch or destination branch",
    };
  }
  return {
    kind: "pull_request",
    action: prActions[key] ?? "other",
    forgeAction: key,
    number,
    headSha,
    headRef,
    baseRef,
    cloneUrl: cloneUrlOf(p.repository) ?? cloneUrlOf(at(pr, "destination", "repository")),
    headCloneUrl: cloneUrlOf(at(pr, "source", "repository")),
    repo: str(at(p, "repository", "full_name")) ?? null,
  };
}

export function parseBitbucket(headers: HeaderBag, payload: unknown): ParsedPayload {
  const key = firstHeader(headers, ["X-Event-Key"])?.value;
  if (key === undefined) return { kind: "invalid", reason: "missing X-Event-Key header" };
  if (key === "diagnostics:ping") return { kind: "ping", repo: null };
  const p = obj(payload);
  if (!p) return { kind: "invalid", reason: "payload is not a JSON object" };
  if (key === "repo:push") return readPush(p);
  if (key.startsWith("pullrequest:") && key in prActions) return readPullRequest(p, key);
  return { kind: "ignored", reason: `event ${key} is not used by berth` };
}
