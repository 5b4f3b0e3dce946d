// The forge client berth's pull-request planner and commit-status reporter talk to: one plan
// comment per pull request and commit statuses, on GitHub, Gitea/Forgejo or GitLab. Builds the
// shared HTTP layer (auth, User-Agent, retries) and picks the endpoint module of the forge.
import type { Logger } from "pino";
import pkg from "../../package.json" with { type: "json" };
import type { CommitStatus, EndpointsFactory, ForgeEndpoints, ForgeKind } from "./endpoints.js";
import { giteaEndpoints } from "./gitea.js";
import { githubEndpoints } from "./github.js";
import { gitlabEndpoints } from "./gitlab.js";
import { createForgeHttp } from "./http.js";
import type { RetryPolicy } from "./retry.js";
import { type UpsertResult, upsertComment } from "./upsert.js";

export type { CommitStatus, ForgeKind, StatusState } from "./endpoints.js";
export { ForgeApiError } from "./http.js";
export { PLAN_MARKER } from "./upsert.js";

export interface ForgeClient {
  readonly kind: ForgeKind;
  /** Creates or updates the one comment that starts with PLAN_MARKER (added when `body` lacks it). */
  upsertPlanComment(pr: number, body: string): Promise<UpsertResult>;
  setCommitStatus(sha: string, s: CommitStatus): Promise<void>;
  /** Closes keep-alive connections. */
  close(): Promise<void>;
}

export interface ForgeClientConfig {
  kind: ForgeKind;
  /** API base; default https://api.github.com for GitHub and https://gitlab.com/api/v4 for GitLab. */
  apiUrl?: string;
  /** owner/name (GitHub, Gitea) or the GitLab project path / id. */
  repo: string;
  token: string;
  logger: Logger;
  userAgent?: string;
  retry?: Partial<RetryPolicy>;
}

const factories: Record<ForgeKind, EndpointsFactory> = {
  github: githubEndpoints,
  gitea: giteaEndpoints,
  gitlab: gitlabEndpoints,
};

/** The API base URL for a forge config, or an error saying what to set in berth.yaml. */
export function apiUrlFor(kind: ForgeKind, apiUrl: string | undefined): string {
  if (apiUrl) return apiUrl.replace(/\/+$/, "");
  if (kind === "github") return "https://api.github.com";
  if (kind === "gitlab") return "https://gitlab.com/api/v4";
  throw new Error(
    'forge.apiUrl is required for Gitea/Forgejo in berth.yaml, e.g. "https://gitea.example.com/api/v1"',
  );
}

/**
 * The web address of the repo (for file:line links) when berth.yaml gives no forge.webUrl:
 * api.github.com -> github.com; an API base ending in /api/v3, /api/v1 or /api/v4 -> that host.
 */
export function webUrlFor(cfg: { kind: ForgeKind; apiUrl?: string; repo: string; webUrl?: string }): string {
  if (cfg.webUrl) return cfg.webUrl.replace(/\/+$/, "");
  const api = new URL(apiUrlFor(cfg.kind, cfg.apiUrl));
  const host = api.host === "api.github.com" ? "github.com" : api.host;
  const prefix = api.pathname.replace(/\/+$/, "").replace(/\/api\/v\d+$/, "");
  return `${api.protocol}//${host}${prefix}/${cfg.repo}`;
}

const authHeader: Record<ForgeKind, (token: string) => [string, string]> = {
  github: (t) => ["authorization", `Bearer ${t}`],
  gitea: (t) => ["authorization", `token ${t}`],
  gitlab: (t) => ["private-token", t],
};

export function createForgeClient(cfg: ForgeClientConfig): ForgeClient {
  const token = cfg.token.trim();
  if (token === "") throw new Error("the forge token is empty (check the file given to --forge-token-file)");
  const logger = cfg.logger.child({ forge: cfg.kind });
  const http = createForgeHttp({
    baseUrl: apiUrlFor(cfg.kind, cfg.apiUrl),
    auth: authHeader[cfg.kind](token),
    userAgent: cfg.userAgent ?? `berth/${pkg.version}`,
    headers:
      cfg.kind === "github"
        ? { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" }
        : {},
    logger,
    retry: cfg.retry,
  });
  const ep: ForgeEndpoints = factories[cfg.kind](http, cfg.repo);
  // Comment id per pull request, so that an update needs no listing.
  const known = new Map<number, string>();
  return {
    kind: cfg.kind,
    upsertPlanComment: (pr, body) => upsertComment(ep, pr, body, known, logger),
    async setCommitStatus(sha, s) {
      await ep.setStatus(sha, s);
    },
    close: () => http.close(),
  };
}
