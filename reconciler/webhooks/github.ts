// GitHub webhook payloads (X-GitHub-Event: push, ping, pull_request). Pure.
import { readPullRequest, readPush } from "./github-like.js";
import { firstHeader, type HeaderBag } from "./headers.js";
import { at, str } from "./json-access.js";
import type { ParsedPayload, PullRequestAction } from "./parse.js";

function mapAction(action: string): PullRequestAction {
  return action === "opened" || action === "synchronize" || action === "reopened" || action === "closed"
    ? action
    : "other";
}

export function parseGithub(headers: HeaderBag, payload: unknown): ParsedPayload {
  const event = firstHeader(headers, ["X-GitHub-Event"])?.value;
  switch (event) {
    case "push":
      return readPush(payload);
    case "ping":
      return { kind: "ping", repo: str(at(payload, "repository", "full_name")) ?? null };
    case "pull_request":
      return readPullRequest(payload, mapAction);
    case undefined:
      return { kind: "invalid", reason: "missing X-GitHub-Event header" };
    default:
      return { kind: "ignored", reason: `event ${event} is not used by berth` };
  }
}
