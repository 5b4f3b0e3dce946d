// The endpoints GitHub and Gitea/Forgejo share to the letter (Gitea mirrors GitHub's API here):
// create and update an issue comment of a pull request, and post a commit status. Listing comments
// is not here, because the two page differently; nor is auth, which client.ts sets per forge.
import type { CommitStatus, ForgeComment, ForgeEndpoints } from "./endpoints.js";
import { truncate } from "./endpoints.js";
import type { ForgeHttp } from "./http.js";

/** An issue comment as GitHub and Gitea return it: only the fields berth reads. */
export interface GithubStyleComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

export function toComment(c: GithubStyleComment): ForgeComment {
  return { id: String(c.id), body: c.body ?? "", url: c.html_url };
}

/** GitHub's limit on a status description; Gitea allows more but berth keeps it the same. */
export const githubStyleDescriptionLength = 140;

/** createComment, updateComment and setStatus for the repo at `base` ("/repos/OWNER/NAME"). */
export function githubStyleEndpoints(
  http: ForgeHttp,
  base: string,
): Pick<ForgeEndpoints, "createComment" | "updateComment" | "setStatus"> {
  return {
    async createComment(pr, body) {
      const res = await http.call({
        method: "POST",
        path: `${base}/issues/${pr}/comments`,
        body: { body },
        idempotent: false,
      });
      return toComment(res.json as GithubStyleComment);
    },
    async updateComment(_pr, id, body) {
      const res = await http.call({
        method: "PATCH",
        path: `${base}/issues/comments/${encodeURIComponent(id)}`,
        body: { body },
        idempotent: true,
        handles: [404],
      });
      return toComment(res.json as GithubStyleComment);
    },
    async setStatus(sha, s: CommitStatus) {
      await http.call({
        method: "POST",
        path: `${base}/statuses/${encodeURIComponent(sha)}`,
        body: {
          state: s.state,
          context: s.context,
          description: truncate(s.description, githubStyleDescriptionLength),
          ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
        },
        // Posting the same status twice only adds a duplicate entry with the same state: safe.
        idempotent: true,
      });
    },
  };
}
