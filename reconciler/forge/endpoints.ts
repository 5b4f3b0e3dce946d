// What each forge module (github.ts, gitea.ts, gitlab.ts) provides: the handful of API calls berth
// makes, in one shape. Types and small pure helpers only.
import type { ForgeHttp } from "./http.js";

export type ForgeKind = "github" | "gitea" | "gitlab";
export type StatusState = "pending" | "success" | "failure" | "error";

export interface CommitStatus {
  /** "berth/plan" or "berth/deploy". */
  context: string;
  state: StatusState;
  description: string;
  targetUrl?: string;
}

export interface ForgeComment {
  id: string;
  body: string;
  /** Web address of the comment when the forge says it. */
  url?: string;
}

export interface ForgeEndpoints {
  readonly kind: ForgeKind;
  /** Longest comment body the forge accepts (characters). */
  readonly maxCommentLength: number;
  /** Longest status description the forge accepts (characters). */
  readonly maxDescriptionLength: number;
  /** Every comment of the pull request, oldest first, following pagination. */
  listComments(pr: number): Promise<ForgeComment[]>;
  /** Not idempotent: the caller re-lists before trying again. */
  createComment(pr: number, body: string): Promise<ForgeComment>;
  /** Idempotent; throws ForgeApiError 404 when the comment is gone. */
  updateComment(pr: number, id: string, body: string): Promise<ForgeComment>;
  setStatus(sha: string, s: CommitStatus): Promise<void>;
}

export type EndpointsFactory = (http: ForgeHttp, repo: string) => ForgeEndpoints;

/** Splits "owner/name" and URL-encodes both parts; throws a message that says how to fix it. */
export function ownerAndName(repo: string): { owner: string; name: string } {
  const parts = repo.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new Error(`forge.repo "${repo}" must be "owner/name" (berth.yaml, forge.repo)`);
  }
  return { owner: encodeURIComponent(parts[0]), name: encodeURIComponent(parts[1]) };
}

/** The `rel="next"` target of a Link header, as a path+query relative to `baseUrl`, or undefined. */
export function nextLink(link: string | string[] | undefined): URL | undefined {
  const value = Array.isArray(link) ? link.join(",") : link;
  if (!value) return undefined;
  for (const part of value.split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m?.[1]) {
      try {
        return new URL(m[1]);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Truncates to `max` characters, ending with "…" when cut. */
export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** Most pages a comment listing follows; a pull request with 10,000 comments is not one we serve. */
export const maxPages = 100;
