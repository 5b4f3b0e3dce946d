// GitHub (and GitHub Enterprise at https://host/api/v3) REST endpoints berth uses: issue comments
// of a pull request (list with pagination, create, update) and commit statuses.
import {
  type CommitStatus,
  type EndpointsFactory,
  type ForgeComment,
  maxPages,
  nextLink,
  ownerAndName,
  truncate,
} from "./endpoints.js";

interface GithubComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

function toComment(c: GithubComment): ForgeComment {
  return { id: String(c.id), body: c.body ?? "", url: c.html_url };
}

export const githubEndpoints: EndpointsFactory = (http, repo) => {
  const { owner, name } = ownerAndName(repo);
  const base = `/repos/${owner}/${name}`;
  return {
    kind: "github",
    maxCommentLength: 65_536,
    maxDescriptionLength: 140,
    async listComments(pr) {
      const out: ForgeComment[] = [];
      let page = 1;
      for (let i = 0; i < maxPages; i++) {
        const res = await http.call({
          method: "GET",
          path: `${base}/issues/${pr}/comments`,
          query: { per_page: 100, page },
          idempotent: true,
        });
        const items = Array.isArray(res.json) ? (res.json as GithubComment[]) : [];
        out.push(...items.map(toComment));
        const next = nextLink(res.headers.link)?.searchParams.get("page");
        if (!next || items.length === 0) break;
        page = Number(next);
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
      return toComment(res.json as GithubComment);
    },
    async updateComment(_pr, id, body) {
      const res = await http.call({
        method: "PATCH",
        path: `${base}/issues/comments/${encodeURIComponent(id)}`,
        body: { body },
        idempotent: true,
        handles: [404],
      });
      return toComment(res.json as GithubComment);
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
        // Posting the same status twice only adds a duplicate entry with the same state: safe.
        idempotent: true,
      });
    },
  };
};
