// The pull-request planner's bare git cache: fetches the base branch and a pull request's head
// with isomorphic-git over HTTP(S) into a bare repository, so the config of both commits can be
// read without a work tree. The head comes from the forge's own ref (refs/pull/N/head on GitHub
// and Gitea, refs/merge-requests/N/head on GitLab); when the forge does not advertise it, from the
// head repository's branch (forks). Fetches into the cache run one at a time.
import fs from "node:fs";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import type { ForgeKind } from "../forge/endpoints.js";

export interface HeadCache {
  gitdir: string;
  /** Fetches `refs/heads/<branch>` of the remote; returns its commit. */
  fetchBranch(branch: string): Promise<string>;
  /**
   * Makes `sha` (the head the forge announced) available: fetches the PR ref, falls back to the
   * head repository's branch. Returns how it got there, or "missing" when neither holds `sha`
   * (the head moved on again; a newer event follows).
   */
  fetchPullHead(req: PullHeadRequest): Promise<"cached" | "pull-ref" | "head-branch" | "missing">;
  /** isomorphic-git's object cache, shared by every read of this cache dir. */
  objectCache: object;
}

export interface PullHeadRequest {
  kind: ForgeKind;
  number: number;
  sha: string;
  baseRef: string;
  /** Clone URL and branch of the repository holding the head (forks), when the event says. */
  headCloneUrl?: string | null;
  headRef?: string;
}

/** The forge's read-only ref holding a pull request's head. */
export function pullRef(kind: ForgeKind, n: number): string {
  return kind === "gitlab" ? `refs/merge-requests/${n}/head` : `refs/pull/${n}/head`;
}

/** Basic-auth credentials each forge accepts for a token over HTTPS git. */
export function gitCredentials(
  kind: ForgeKind | undefined,
  token: string,
): { username: string; password: string } {
  if (kind === "gitlab") return { username: "oauth2", password: token };
  if (kind === "gitea") return { username: token, password: "x-oauth-basic" };
  return { username: "x-access-token", password: token };
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

export async function openHeadCache(opts: {
  dir: string;
  remoteUrl: string;
  remoteToken?: string;
  kind?: ForgeKind;
}): Promise<HeadCache> {
  const gitdir = opts.dir;
  const objectCache = {};
  if (!fs.existsSync(`${gitdir}/HEAD`)) {
    await fs.promises.mkdir(gitdir, { recursive: true });
    await git.init({ fs, dir: gitdir, gitdir, bare: true, defaultBranch: "main" });
  }
  // Fetched branches land under refs/remotes/origin; fork branches under refs/berth/forks (one
  // remote name for every fork: only the commit a fetch returns is used, never those refs).
  await git.setConfig({ fs, gitdir, path: "remote.origin.url", value: opts.remoteUrl });
  await git.setConfig({
    fs,
    gitdir,
    path: "remote.origin.fetch",
    value: "+refs/heads/*:refs/remotes/origin/*",
  });
  await git.setConfig({
    fs,
    gitdir,
    path: "remote.berth-fork.fetch",
    value: "+refs/heads/*:refs/berth/forks/*",
  });

  // Only send the token to the host it belongs to: a fork may live anywhere.
  const authFor = (url: string) =>
    opts.remoteToken && sameOrigin(url, opts.remoteUrl)
      ? () => gitCredentials(opts.kind, opts.remoteToken as string)
      : undefined;

  let chain: Promise<unknown> = Promise.resolve();
  function serial<T>(f: () => Promise<T>): Promise<T> {
    const p = chain.then(f, f);
    chain = p.catch(() => undefined);
    return p;
  }

  async function has(oid: string): Promise<boolean> {
    try {
      await git.readCommit({ fs, gitdir, oid, cache: objectCache });
      return true;
    } catch {
      return false;
    }
  }

  async function resolveLocal(ref: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir, ref });
    } catch {
      return undefined;
    }
  }

  /** One fetch of `remoteRef`; `haveRef` is a local ref whose commit the server may build upon. */
  async function fetchOne(
    url: string,
    remote: string,
    remoteRef: string,
    haveRef: string,
  ): Promise<string | null> {
    const res = await git.fetch({
      fs,
      http,
      gitdir,
      cache: objectCache,
      url,
      remote,
      // isomorphic-git only tells the server what we have from `ref` when fetching one ref.
      ref: haveRef,
      remoteRef,
      singleBranch: true,
      tags: false,
      onAuth: authFor(url),
    });
    return res.fetchHead;
  }

  return {
    gitdir,
    objectCache,
    fetchBranch: (branch) =>
      serial(async () => {
        const oid = await fetchOne(
          opts.remoteUrl,
          "origin",
          `refs/heads/${branch}`,
          `refs/remotes/origin/${branch}`,
        );
        if (!oid) throw new Error(`branch ${branch} was not found on ${opts.remoteUrl}`);
        return oid;
      }),
    fetchPullHead: (req) =>
      serial(async () => {
        const keep = `refs/berth/pr/${req.number}`;
        if (await has(req.sha)) {
          await git.writeRef({ fs, gitdir, ref: keep, value: req.sha, force: true });
          return "cached" as const;
        }
        const have = (await resolveLocal(keep)) ? keep : `refs/remotes/origin/${req.baseRef}`;
        try {
          await fetchOne(opts.remoteUrl, "origin", pullRef(req.kind, req.number), have);
        } catch (e) {
          // Not advertised (self-hosted forges may hide these refs): try the head branch below.
          if ((e as { code?: string }).code !== "NotFoundError") throw e;
        }
        if (await has(req.sha)) {
          await git.writeRef({ fs, gitdir, ref: keep, value: req.sha, force: true });
          return "pull-ref" as const;
        }
        if (req.headRef) {
          const url = req.headCloneUrl ?? opts.remoteUrl;
          try {
            await fetchOne(
              url,
              url === opts.remoteUrl ? "origin" : "berth-fork",
              `refs/heads/${req.headRef}`,
              have,
            );
          } catch (e) {
            if ((e as { code?: string }).code !== "NotFoundError") throw e;
          }
          if (await has(req.sha)) {
            await git.writeRef({ fs, gitdir, ref: keep, value: req.sha, force: true });
            return "head-branch" as const;
          }
        }
        return "missing" as const;
      }),
  };
}
