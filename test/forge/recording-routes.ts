// The per-forge facts of the recording forge (test/helpers/recording-forge.ts): API prefixes, the
// auth header each forge checks, the routes it implements, valid status states, and ready-made
// rate-limit answers. Data and pure functions only.
import type { IncomingMessage } from "node:http";
import type { ForgeKind, InjectedFailure, RouteName } from "../helpers/recording-forge.js";

/** Ready-made failures that look like each forge's rate limiting. */
export const rateLimited = {
  /** GitHub's secondary limit: 403 with Retry-After and the message GitHub sends. */
  secondary: (retryAfterSeconds = 1): InjectedFailure => ({
    status: 403,
    headers: { "retry-after": String(retryAfterSeconds) },
    body: {
      message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    },
  }),
  /** GitHub's secondary limit without Retry-After (the client must back off on its own). */
  secondaryNoHeader: (): InjectedFailure => ({
    status: 403,
    body: { message: "You have exceeded a secondary rate limit and have been temporarily blocked." },
  }),
  /** A primary limit: remaining 0 and the reset time in epoch seconds. */
  primary: (resetInSeconds = 1): InjectedFailure => ({
    status: 403,
    headers: {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + resetInSeconds),
    },
    body: { message: "API rate limit exceeded for user." },
  }),
  /** 429 with Retry-After, as GitLab and Gitea send. */
  tooMany: (retryAfterSeconds = 1): InjectedFailure => ({
    status: 429,
    headers: { "retry-after": String(retryAfterSeconds) },
    body: { message: "429 Too Many Requests" },
  }),
};

export const prefixes: Record<ForgeKind, string> = { github: "", gitea: "/api/v1", gitlab: "/api/v4" };
export const validStates: Record<ForgeKind, string[]> = {
  github: ["pending", "success", "failure", "error"],
  gitea: ["pending", "success", "error", "failure", "warning"],
  gitlab: ["pending", "running", "success", "failed", "canceled"],
};

export function authOk(kind: ForgeKind, req: IncomingMessage, token: string): boolean {
  if (kind === "gitlab") return req.headers["private-token"] === token;
  const want = kind === "github" ? `Bearer ${token}` : `token ${token}`;
  return req.headers.authorization === want;
}

export interface Matched {
  route: RouteName;
  pr?: number;
  commentId?: number;
  sha?: string;
}

/** Maps a path below the prefix to an endpoint of `kind` for `repo`, or undefined. */
export function match(kind: ForgeKind, method: string, segs: string[], repo: string): Matched | undefined {
  if (kind === "gitlab") {
    // /projects/:id/merge_requests/:iid/notes[/:note_id] and /projects/:id/statuses/:sha
    if (segs[0] !== "projects" || decodeURIComponent(segs[1] ?? "") !== repo) return undefined;
    const rest = segs.slice(2);
    if (rest[0] === "statuses" && rest.length === 2 && method === "POST")
      return { route: "set-status", sha: rest[1] };
    if (rest[0] === "merge_requests" && rest[2] === "notes") {
      const pr = Number(rest[1]);
      if (rest.length === 3 && method === "GET") return { route: "list-comments", pr };
      if (rest.length === 3 && method === "POST") return { route: "create-comment", pr };
      if (rest.length === 4 && method === "PUT")
        return { route: "update-comment", pr, commentId: Number(rest[3]) };
    }
    return undefined;
  }
  // /repos/:o/:r/issues/:n/comments, /repos/:o/:r/issues/comments/:id, /repos/:o/:r/statuses/:sha
  if (
    segs[0] !== "repos" ||
    `${decodeURIComponent(segs[1] ?? "")}/${decodeURIComponent(segs[2] ?? "")}` !== repo
  ) {
    return undefined;
  }
  const rest = segs.slice(3);
  if (rest[0] === "statuses" && rest.length === 2 && method === "POST")
    return { route: "set-status", sha: rest[1] };
  if (rest[0] === "issues" && rest[1] === "comments" && rest.length === 3 && method === "PATCH") {
    return { route: "update-comment", commentId: Number(rest[2]) };
  }
  if (rest[0] === "issues" && rest[2] === "comments" && rest.length === 3) {
    const pr = Number(rest[1]);
    if (method === "GET") return { route: "list-comments", pr };
    if (method === "POST") return { route: "create-comment", pr };
  }
  return undefined;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error("body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
