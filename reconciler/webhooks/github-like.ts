// Payload readers shared by GitHub and Gitea/Forgejo, whose push and pull_request payloads have the
// same shape (`ref`/`after`/`repository.full_name`; `number`/`pull_request.head.sha`…). Pure.
import { at, branchOfRef, int, isZeroSha, obj, str } from "./json-access.js";
import type { ParsedPayload, PullRequestAction } from "./parse.js";

export function readPush(payload: unknown): ParsedPayload {
  const p = obj(payload);
  if (!p) return { kind: "invalid", reason: "push payload is not a JSON object" };
  const ref = str(p.ref);
  const after = str(p.after);
  if (!ref || !after) return { kind: "invalid", reason: "push payload without ref and after" };
  const branch = branchOfRef(ref);
  if (branch === undefined) return { kind: "ignored", reason: `${ref} is not a branch` };
  if (p.deleted === true || isZeroSha(after))
    return { kind: "ignored", reason: `branch ${branch} was deleted` };
  return {
    kind: "push",
    branch,
    after,
    updates: [{ branch, after }],
    repo: str(at(p, "repository", "full_name")) ?? null,
  };
}

export function readPullRequest(
  payload: unknown,
  mapAction: (a: string) => PullRequestAction,
): ParsedPayload {
  const p = obj(payload);
  const pr = obj(p?.pull_request);
  if (!p || !pr) return { kind: "invalid", reason: "pull_request payload without pull_request" };
  const forgeAction = str(p.action) ?? "";
  const number = int(p.number) ?? int(pr.number);
  const headSha = str(at(pr, "head", "sha"));
  const headRef = str(at(pr, "head", "ref"));
  const baseRef = str(at(pr, "base", "ref"));
  if (number === undefined || !headSha || !headRef || !baseRef) {
    return { kind: "invalid", reason: "pull_request payload without number, head.sha, head.ref or base.ref" };
  }
  return {
    kind: "pull_request",
    action: mapAction(forgeAction),
    forgeAction,
    number,
    headSha,
    headRef,
    baseRef,
    cloneUrl: str(at(p, "repository", "clone_url")) ?? str(at(pr, "base", "repo", "clone_url")) ?? null,
    headCloneUrl: str(at(pr, "head", "repo", "clone_url")) ?? null,
    repo: str(at(p, "repository", "full_name")) ?? null,
  };
}
