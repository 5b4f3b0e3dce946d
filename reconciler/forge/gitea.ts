// Gitea / Forgejo / Codeberg (https://host/api/v1) endpoints berth uses: pull-request comments
// (pull requests are issues there) and commit statuses. Same shapes as GitHub, `token` auth.
import {
  type CommitStatus,
  type EndpointsFactory,
  type ForgeComment,
  maxPages,
  nextLink,
  ownerAndName,
  truncate,
} from "./endpoints.js";

interface GiteaComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

function toComment(c: GiteaComment): ForgeComment {
  return { id: String(c.id), body: c.body ?? "", url: c.html_url };
}

export const giteaEndpoints: EndpointsFactory = (http, repo) => {
  const { owner, name } = ownerAndName(repo);
  const base = `/repos/${owner}/${name}`;
  return {
    kind: "gitea",
    // Gitea stores comments as TEXT; 65,535 is the smallest column size among its databases (MySQL).
    maxCommentLength: 65_535,
    // Gitea keeps the description in a VARCHAR(255); stay at GitHub's 140 so it reads the same.
    maxDescriptionLength: 140,
    async listComments(pr) {
      // Gitea returns all comments of an issue at once; follow a Link header if a version adds paging.
      const out: ForgeComment[] = [];
      let query: Record<string, string> | undefined;
      for (let i = 0; i < maxPages; i++) {
        const res = await http.call({
          method: "GET",
          path: `${base}/issues/${pr}/comments`,
          query,
          idempotent: true,
        });
        const items = Array.isArray(res.json) ? (res.json as GiteaComment[]) : [];
        out.push(...items.map(toComment));
        const next = nextLink(res.headers.link);
        if (!next || items.length === 0) break;
        query = Object.fromEntries(next.searchParams);
      }
      return out;
    },
    async createComment(pr, body) {
      const res = await http.call({
        method: "POST",
        path: `${base}/issues/${pr}/comments`,
        body: { body },
        idempotent: false,
      });
      return toComment(res.json as GiteaComment);
    },
    async updateComment(_pr, id, body) {
      const res = await http.call({
        method: "PATCH",
        path: `${base}/issues/comments/${encodeURIComponent(id)}`,
        body: { body },
        idempotent: true,
        handles: [404],
      });
      return toComment(res.json as GiteaComment);
    },
    async setStatus(sha, s: CommitStatus) {
      await http.call({
        method: "POST",
        path: `${base}/statuses/${encodeURIComponent(sha)}`,
        body: {
          state: s.state,
          context: s.context,
          description: truncate(s.description, 140),
          ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
        },
        idempotent: true,
      });
    },
  };
};
