// Config repos for the forge tests: a bare "forge" repository served by the real git smart-HTTP
// server, and a work tree to commit in and push branches and pull-request refs from (native git).
// Every git call is asynchronous: the HTTP server runs in this process and must keep answering.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { type GitHttpServer, startGitHttpServer } from "../helpers/git-http-server.js";

export interface ForgeRepo {
  root: string;
  server: GitHttpServer;
  /** Clone URL of the served repo (with credentials when the server wants a token). */
  url: string;
  /** Clone URL without credentials, as the reconciler is configured. */
  plainUrl: string;
  work: string;
  git(...args: string[]): Promise<string>;
  /** Writes (or deletes, with null) files, commits, returns the new commit id. */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
  /** Pushes HEAD (or a commit) to a ref of the served repo. */
  push(ref: string, commit?: string): Promise<void>;
  /** A second served repo (a fork), empty until pushed to. */
  forkUrl(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

const exec = promisify(execFile);
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
};

export async function makeForgeRepo(opts: { token?: string } = {}): Promise<ForgeRepo> {
  const root = mkdtempSync(join(tmpdir(), "berth-forge-git-"));
  const work = join(root, "work");
  mkdirSync(work);
  const run = async (cwd: string, args: string[]) =>
    (await exec("git", args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
  await run(root, ["init", "-q", "--bare", "-b", "main", "config.git"]);
  await run(work, ["init", "-q", "-b", "main"]);
  const server = await startGitHttpServer({ root, token: opts.token });
  const withAuth = (u: string) =>
    opts.token ? u.replace("http://", `http://x-access-token:${opts.token}@`) : u;
  const plainUrl = `${server.url}/config.git`;
  const url = withAuth(plainUrl);
  const git = (...args: string[]) => run(work, args);
  return {
    root,
    server,
    url,
    plainUrl,
    work,
    git,
    async commit(files, message) {
      for (const [path, content] of Object.entries(files)) {
        const full = join(work, path);
        if (content === null) rmSync(full, { force: true });
        else {
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      await git("add", "-A");
      await git("commit", "-q", "--allow-empty", "-m", message);
      return git("rev-parse", "HEAD");
    },
    async push(ref, commit = "HEAD") {
      await git("push", "-q", "--force", url, `${commit}:${ref}`);
    },
    async forkUrl(name) {
      if (!existsSync(join(root, `${name}.git`)))
        await run(root, ["init", "-q", "--bare", "-b", "main", `${name}.git`]);
      return withAuth(`${server.url}/${name}.git`);
    },
    async cleanup() {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
