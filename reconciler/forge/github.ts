// GitHub (and GitHub Enterprise at https://host/api/v3) REST endpoints berth uses: issue comments
// of a pull request (list with pagination, create, update) and commit statuses. What GitHub does
// like Gitea lives in github-style.ts; here is GitHub's own paging (per_page/page via Link).
import { type EndpointsFactory, nextLink, ownerAndName } from "./endpoints.js";
import {
  type GithubStyleComment,
  githubStyleDescriptionLength,
  githubStyleEndpoints,
  toComment,
} from "./github-style.js";
import { followPages } from "./pages.js";

export const githubEndpoints: EndpointsFactory = (http, repo) => {
  const { owner, name } = ownerAndName(repo);
  const base = `/repos/${owner}/${name}`;
  return {
    kind: "github",
    maxCommentLength: 65_536,
    maxDescriptionLength: githubStyleDescriptionLength,
    async listComments(pr) {
      const items = await followPages<GithubStyleComment>(
        http,
        `${base}/issues/${pr}/comments`,
        { per_page: 100, page: 1 },
        (res) => {
          const page = nextLink(res.headers.link)?.searchParams.get("page");
          return page ? { per_page: 100, page: Number(page) } : undefined;
        },
      );
      return items.map(toComment);
    },
    ...githubStyleEndpoints(http, base),
  };
};
