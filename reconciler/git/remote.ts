// Fetching one branch from a remote into a bare cache, and pushing one branch to it with
// compare-and-swap semantics, over smart HTTP with isomorphic-git. The token goes into an
// Authorization header only; it is never logged nor written to the cache's config. I/O.
import git from "isomorphic-git";
import { atomicFs as fs } from "./atomic-fs.js";
import { createGitHttpClient } from "./http-client.js";
import type { GitDir } from "./objects.js";

export interface Remote {
  url: string;
  /** Request headers (Authorization when a token is given). Never log these. */
  headers: Record<string, string>;
  http: ReturnType<typeof createGitHttpClient>;
}

/**
 * A remote at an http(s) URL. `token` is sent as HTTP basic auth: a `user:secret` token is used as
 * is, a bare token as the password of the user `x-access-token` (what GitHub, Gitea and GitLab
 * accept for access tokens).
 */
export function openRemote(url: string, token?: string): Remote {
  if (!/^https?:\/\//i.test(url)) {
    throw new Error(
      `remote ${redactUrl(url)} is not an http(s) URL: berth fetches over smart HTTP only (no ssh)`,
    );
  }
  const headers: Record<string, string> = {};
  const secret = token?.trim();
  if (secret) {
    const pair = secret.includes(":") ? secret : `x-access-token:${secret}`;
    headers.Authorization = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
  }
  return { url, headers, http: createGitHttpClient() };
}

/** The URL with any user:password part removed, for log lines. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, "$1");
}

/** Creates the bare cache repo if it is not one yet. */
export async function initCache(gd: GitDir): Promise<void> {
  await git.init({ fs, gitdir: gd.gitdir, bare: true, defaultBranch: "main" });
}

/**
 * Fetches `branch` from the remote; returns its tip (now present in the cache, and recorded as
 * refs/remotes/origin/<branch>) or null when the remote has no such branch.
 */
export async function fetchBranch(gd: GitDir, remote: Remote, branch: string): Promise<string | null> {
  try {
    const res = await git.fetch({
      fs,
      http: remote.http,
      gitdir: gd.gitdir,
      cache: gd.cache,
      url: remote.url,
      remote: "origin",
      ref: branch,
      remoteRef: branch,
      singleBranch: true,
      tags: false,
      headers: remote.headers,
    });
    return res.fetchHead ?? null;
  } catch (err) {
    const e = err as { code?: string; data?: { what?: string } };
    if (e.code === "NotFoundError" && e.data?.what === branch) return null;
    throw describe(err, `fetching ${branch} from ${redactUrl(remote.url)}`);
  }
}

export type PushResult = "ok" | "rejected";

/**
 * Pushes the local ref `localRef` to `refs/heads/<branch>` on the remote, only if the remote
 * branch currently is `expected` (null: absent). "rejected" means someone else moved it first:
 * isomorphic-git's fast-forward check (PushRejectedError), our pre-push check of the advertised
 * tip, or the server refusing the ref update because it changed in between.
 */
export async function pushBranch(
  gd: GitDir,
  remote: Remote,
  localRef: string,
  branch: string,
  expected: string | null,
): Promise<PushResult> {
  const zero = "0".repeat(40);
  try {
    await git.push({
      fs,
      http: remote.http,
      gitdir: gd.gitdir,
      cache: gd.cache,
      url: remote.url,
      ref: localRef,
      remoteRef: `refs/heads/${branch}`,
      headers: remote.headers,
      // Before any object is packed: a remote tip other than the one we built on is a lost race.
      onPrePush: ({ remoteRef }) => remoteRef.oid === (expected ?? zero),
    });
    return "ok";
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === "PushRejectedError" || e.code === "UserCanceledError") return "rejected";
    if (
      e.code === "GitPushError" &&
      /lock|stale|fast-forward|fetch first|already exists/i.test(e.message ?? "")
    ) {
      return "rejected";
    }
    throw describe(err, `pushing ${branch} to ${redactUrl(remote.url)}`);
  }
}

function describe(err: unknown, doing: string): Error {
  const e = err as { message?: string; code?: string };
  const out = new Error(`${doing} failed: ${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}`);
  (out as Error & { cause?: unknown }).cause = err;
  return out;
}

/** The branch the remote's HEAD points at (its default branch), or null when it has none. */
export async function remoteDefaultBranch(remote: Remote): Promise<string | null> {
  try {
    const info = await git.getRemoteInfo2({
      http: remote.http,
      url: remote.url,
      headers: remote.headers,
      protocolVersion: 1,
    });
    const head = info.refs?.find((r) => r.ref === "HEAD");
    const target = head?.target;
    return target?.startsWith("refs/heads/") ? target.slice("refs/heads/".length) : null;
  } catch (err) {
    throw describe(err, `reading the default branch of ${redactUrl(remote.url)}`);
  }
}
