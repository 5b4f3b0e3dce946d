// Web links into the config repo on the forge, for file:line references in plan comments and
// status target URLs. Pure.
import type { ForgeKind } from "../forge/endpoints.js";

function encodePath(file: string): string {
  return file.split("/").map(encodeURIComponent).join("/");
}

/** `webUrl/blob/<sha>/<file>#L<line>` (GitHub, Gitea) or `webUrl/-/blob/<sha>/<file>#L<line>` (GitLab). */
export function fileLink(kind: ForgeKind, webUrl: string, sha: string, file: string, line: number): string {
  const base = webUrl.replace(/\/+$/, "");
  const blob = kind === "gitlab" ? "-/blob" : kind === "gitea" ? "src/commit" : "blob";
  return `${base}/${blob}/${sha}/${encodePath(file)}#L${line}`;
}

/** The web page of a pull request's comment when the forge did not return one (GitLab notes). */
export function commentLink(kind: ForgeKind, webUrl: string, pr: number, commentId: string): string {
  const base = webUrl.replace(/\/+$/, "");
  if (kind === "gitlab") return `${base}/-/merge_requests/${pr}#note_${commentId}`;
  if (kind === "gitea") return `${base}/pulls/${pr}#issuecomment-${commentId}`;
  return `${base}/pull/${pr}#issuecomment-${commentId}`;
}
