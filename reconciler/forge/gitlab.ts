// GitLab (https://host/api/v4) endpoints berth uses: merge-request notes (list with pagination,
// create, update) and commit statuses. The project is addressed by its URL-encoded path
// ("group/sub/project" -> "group%2Fsub%2Fproject") or its numeric id.
import {
  type CommitStatus,
  type EndpointsFactory,
  type ForgeComment,
  type StatusState,
  truncate,
} from "./endpoints.js";
import { ForgeApiError } from "./http.js";
import { followPages } from "./pages.js";

interface GitlabNote {
  id: number;
  body?: string | null;
  system?: boolean;
}

function toComment(n: GitlabNote): ForgeComment {
  return { id: String(n.id), body: n.body ?? "" };
}

/** GitLab's commit status states are pending/running/success/failed/canceled. */
export const gitlabState: Record<StatusState, "running" | "success" | "failed"> = {
  // Our "pending" means berth is working on it right now, which is GitLab's "running".
  pending: "running",
  success: "success",
  failure: "failed",
  error: "failed",
};

/**
 * GitLab answers 400 "Cannot transition status via :run from :running" when a status is posted
 * again in the state it already has (e.g. a retry after a lost response): the status is as wanted.
 */
function isSameStateTransition(e: unknown): boolean {
  if (!(e instanceof ForgeApiError) || e.status !== 400) return false;
  return /cannot transition status/i.test(e.message);
}

export const gitlabEndpoints: EndpointsFactory = (http, repo) => {
  if (repo.trim() === "" || repo.startsWith("/") || repo.endsWith("/")) {
    throw new Error(
      `forge.repo "${repo}" must be a GitLab project path like "group/project" or a numeric id`,
    );
  }
  const base = `/projects/${encodeURIComponent(repo)}`;
  return {
    kind: "gitlab",
    maxCommentLength: 1_000_000,
    maxDescriptionLength: 255,
    async listComments(pr) {
      const notes = await followPages<GitlabNote>(
        http,
        `${base}/merge_requests/${pr}/notes`,
        { sort: "asc", order_by: "created_at", per_page: 100, page: 1 },
        (res) => {
          const next = res.headers["x-next-page"];
          const page = Array.isArray(next) ? next[0] : next;
          return page
            ? { sort: "asc", order_by: "created_at", per_page: 100, page: Number(page) }
            : undefined;
        },
      );
      // System notes ("added 1 commit") are GitLab's own, never a plan comment.
      return notes.filter((n) => !n.system).map(toComment);
    },
    async createComment(pr, body) {
      const res = await http.call({
        method: "POST",
        path: `${base}/merge_requests/${pr}/notes`,
        body: { body },
        idempotent: false,
      });
      return toComment(res.json as GitlabNote);
    },
    async updateComment(pr, id, body) {
      const res = await http.call({
        method: "PUT",
        path: `${base}/merge_requests/${pr}/notes/${encodeURIComponent(id)}`,
        body: { body },
        idempotent: true,
        handles: [404],
      });
      return toComment(res.json as GitlabNote);
    },
    async setStatus(sha, s: CommitStatus) {
      try {
        await http.call({
          method: "POST",
          path: `${base}/statuses/${encodeURIComponent(sha)}`,
          body: {
            state: gitlabState[s.state],
            name: s.context,
            description: truncate(s.description, 255),
            ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
          },
          idempotent: true,
          handles: [400],
        });
      } catch (e) {
        if (!isSameStateTransition(e)) throw e;
      }
    },
  };
};
