// Gitea / Forgejo / Codeberg webhook payloads (X-Gitea-Event or X-Forgejo-Event: push,
// pull_request). They follow GitHub's shapes; a pull request that gets new commits says
// "synchronized". Gitea has no ping event: its "Test delivery" button sends a push. Pure.
import { eventHeaders } from "./forges.js";
import { readPullRequest, readPush } from "./github-like.js";
import { firstHeader, type HeaderBag } from "./headers.js";
import type { ParsedPayload, PullRequestAction } from "./parse.js";

function mapAction(action: string): PullRequestAction {
  switch (action) {
    case "opened":
    case "reopened":
    case "closed":
      return action;
    case "synchronized":
    case "synchronize":
      return "synchronize";
    default:
      return "other";
  }
}

export function parseGitea(headers: HeaderBag, payload: unknown): ParsedPayload {
  const event = firstHeader(headers, eventHeaders.gitea)?.value;
  switch (event) {
    case "push":
      return readPush(payload);
    case "ping":
      return { kind: "ping", repo: null };
    case "pull_request":
    case "pull_request_sync":
      return readPullRequest(payload, mapAction);
    case undefined:
      return { kind: "invalid", reason: "missing X-Gitea-Event (or X-Forgejo-Event) header" };
    default:
      return { kind: "ignored", reason: `event ${event} is not used by berth` };
  }
}
