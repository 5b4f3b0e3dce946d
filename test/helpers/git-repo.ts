// Temp git repos for tests, made with the real `git` binary: from inline files or a copy of a
// folder, with a helper to commit more changes. Everything lives under os.tmpdir() and is
// removed by cleanup() (or after each test with useTempRepos()).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach } from "vitest";

export interface TestRepo {
  /** Working tree (or the repo itself when bare). */
  dir: string;
  /** Writes (string) or deletes (null) files, commits everything, returns the new commit id. */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
  /** Runs git in the repo and returns its trimmed stdout (throws with stderr on failure). */
  git(...args: string[]): string;
  cleanup(): Promise<void>;
}

export interface MakeRepoOptions {
  /** Branch of the first commit (default main). */
  branch?: string;
  /** Message of the first commit (default "Initial config"). */
  message?: string;
  /** false: init only, no first commit (an empty repo). Default true. */
  initialCommit?: boolean;
}

// A fixed identity and no user/system config, so tests behave the same on every machine.
const GIT_ENV = {
  GIT_AUTHOR_NAME: "berth test",
  GIT_AUTHOR_EMAIL: "test@berth.invalid",
  GIT_COMMITTER_NAME: "berth test",
  GIT_COMMITTER_EMAIL: "test@berth.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

/** Runs git with the test identity in `cwd`. */
export function runGit(cwd: string, ...args: string[]): string {
  try {
    return execFileSync("git", ["-c", "gc.auto=0", "-c", "commit.gpgsign=false", ...args], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...GIT_ENV },
      maxBuffer: 256 * 1024 * 1024,
    }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${e.stderr?.trim() || e.message}`);
  }
}

/** A new empty temp directory (removed by cleanup / useTempRepos). */
export function makeTempDir(prefix = "berth-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array | null>): void {
  for (const [path, content] of Object.entries(files)) {
    const abs = join(dir, path);
    if (content === null) {
      rmSync(abs, { force: true });
      continue;
    }
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

export async function makeRepo(
  files: Record<string, string> | { fromDir: string },
  opts: MakeRepoOptions = {},
): Promise<TestRepo> {
  const dir = makeTempDir("berth-repo-");
  if ("fromDir" in files && typeof files.fromDir === "string") {
    cpSync(files.fromDir, dir, { recursive: true });
  } else {
    writeFiles(dir, files as Record<string, string>);
  }
  runGit(dir, "init", "-q", "-b", opts.branch ?? "main");
  const repo: TestRepo = {
    dir,
    git: (...args) => runGit(dir, ...args),
    async commit(changes, message) {
      writeFiles(dir, changes);
      runGit(dir, "add", "-A");
      runGit(dir, "commit", "-q", "--allow-empty", "-m", message);
      return runGit(dir, "rev-parse", "HEAD");
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.initialCommit ?? true) await repo.commit({}, opts.message ?? "Initial config");
  return repo;
}

/**
 * For a test file: returns makeRepo/makeTempDir whose results are removed after each test.
 * Call at the top of a describe block (or module).
 */
export function useTempRepos(): {
  makeRepo: typeof makeRepo;
  makeTempDir: typeof makeTempDir;
} {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    async makeRepo(files, opts) {
      const repo = await makeRepo(files, opts);
      dirs.push(repo.dir);
      return repo;
    },
    makeTempDir(prefix) {
      const d = makeTempDir(prefix);
      dirs.push(d);
      return d;
    },
  };
}
