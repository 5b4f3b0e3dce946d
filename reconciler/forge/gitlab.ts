// GitLab (https://host/api/v4) endpoints berth uses: merge-request notes (list with pagination,
// create, update) and commit statuses. The project is addressed by its URL-encoded path
// ("group/sub/project" -> "group%2Fsub%2Fproject") or its numeric id.
import {
  type CommitStatus,
  type EndpointsFactory,
  type ForgeComment,
  maxPages,
  type StatusState,
  truncate,
} from "./endpoints.js";
import { ForgeApiError } from "./http.js";

interface GitlabNote {
  id: number;
  body?: string | null;
  system?: boolean;
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
      const out: ForgeComment[] = [];
      let page = 1;
      for (let i = 0; i < maxPages; i++) {
        const res = await http.call({
          method: "GET",
          path: `${base}/merge_requests/${pr}/notes`,
          query: { sort: "asc", order_by: "created_at", per_page: 100, page },
          idempotent: true,
        });
        const items = Array.isArray(res.json) ? (res.json as GitlabNote[]) : [];
        for (const n of items) if (!n.system) out.push({ id: String(n.id), body: n.body ?? "" });
        const next = res.headers["x-next-page"];
        const nextPage = Array.isArray(next) ? next[0] : next;
        if (!nextPage || items.length === 0) break;
        page = Number(nextPage);
      }
      return out;
    },
    async createComment(pr, body) {
      const res = await http.call({
        method: "POST",
        path: `${base}/merge_requests/${pr}/notes`,
        body: { body },
        idempotent: false,
      });
      const n = res.json as GitlabNote;
      return { id: String(n.id), body: n.body ?? "" };
    },
    async updateComment(pr, id, body) {
      const res = await http.call({
        method: "PUT",
        path: `${base}/merge_requests/${pr}/notes/${encodeURIComponent(id)}`,
        body: { body },
        idempotent: true,
        handles: [404],
      });
      const n = res.json as GitlabNote;
      return { id: String(n.id), body: n.body ?? "" };
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
