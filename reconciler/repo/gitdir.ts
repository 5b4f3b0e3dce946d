// Finds the git directory of a repo given its working tree (`dir/.git`, or the `gitdir:` a
// `.git` file points to) or a bare repo (`dir` itself holds HEAD and objects/). I/O.
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { RepoError } from "./errors.js";

export async function findGitdir(dir: string): Promise<string> {
  const dotGit = join(dir, ".git");
  const info = await stat(dotGit).catch(() => undefined);
  if (info?.isDirectory()) return dotGit;
  if (info?.isFile()) {
    // Linked worktrees and submodules: ".git" is a file saying where the git dir is.
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, "utf8"));
    if (m?.[1]) return isAbsolute(m[1]) ? m[1] : resolve(dir, m[1]);
  }
  const [head, objects] = await Promise.all([
    stat(join(dir, "HEAD")).catch(() => undefined),
    stat(join(dir, "objects")).catch(() => undefined),
  ]);
  if (head?.isFile() && objects?.isDirectory()) return dir;
  throw new RepoError(
    "not-a-repo",
    `${dir} is not a git repository`,
    "point --repo at your config repo (a git repository), or run git init there",
  );
}
