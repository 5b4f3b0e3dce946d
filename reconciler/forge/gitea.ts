// Gitea / Forgejo / Codeberg (https://host/api/v1) endpoints berth uses: pull-request comments
// (pull requests are issues there) and commit statuses. Same shapes as GitHub (github-style.ts),
// `token` auth (client.ts); only the listing differs: Gitea sends every comment at once.
import { type EndpointsFactory, nextLink, ownerAndName } from "./endpoints.js";
import {
  type GithubStyleComment,
  githubStyleDescriptionLength,
  githubStyleEndpoints,
  toComment,
} from "./github-style.js";
import { followPages } from "./pages.js";

export const giteaEndpoints: EndpointsFactory = (http, repo) => {
  const { owner, name } = ownerAndName(repo);
  const base = `/repos/${owner}/${name}`;
  return {
    kind: "gitea",
    // Gitea stores comments as TEXT; 65,535 is the smallest column size among its databases (MySQL).
    maxCommentLength: 65_535,
    // Gitea keeps the description in a VARCHAR(255); stay at GitHub's 140 so it reads the same.
    maxDescriptionLength: githubStyleDescriptionLength,
    async listComments(pr) {
      // Gitea returns all comments of an issue at once; follow a Link header if a version adds paging.
      const items = await followPages<GithubStyleComment>(
        http,
        `${base}/issues/${pr}/comments`,
        undefined,
        (res) => {
          const next = nextLink(res.headers.link);
          return next ? Object.fromEntries(next.searchParams) : undefined;
        },
      );
      return items.map(toComment);
    },
    ...githubStyleEndpoints(http, base),
  };
};
