// Runs the user's own `git` in their config repo, for commands that change it (rollback) or push:
// the git binary honours their identity, SSH remotes and credential helpers, which a library cannot.
import { execa } from "execa";
import { UserError } from "./errors.js";

export async function git(repo: string, args: string[]): Promise<string> {
  const r = await execa("git", args, { cwd: repo, reject: false, stripFinalNewline: true });
  if (r.exitCode !== 0) {
    const what = `git ${args.join(" ")}`;
    throw new UserError(
      `${what} failed in ${repo}: ${(r.stderr || r.stdout || `exit ${r.exitCode}`).trim()}`,
    );
  }
  return r.stdout;
}

/** Exit status of a git command that answers yes/no (e.g. merge-base --is-ancestor). */
export async function gitOk(repo: string, args: string[]): Promise<boolean> {
  const r = await execa("git", args, { cwd: repo, reject: false });
  return r.exitCode === 0;
}
