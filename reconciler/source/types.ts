// Where the reconciler reads the config repo and writes its branches: a local repo (watched, refs
// updated in place) or a remote (fetched into a bare cache, branches pushed). One interface so
// the loop does not care which. Types only.
import type { GitDir } from "../git/objects.js";

export type PublishResult = "ok" | "rejected";

export interface ConfigSource {
  readonly mode: "local" | "remote";
  /** Where git objects are read and written (the repo's .git, or the bare cache). */
  readonly git: GitDir;
  /** What reconciler/repo's loadCommit reads (the working tree, or the bare cache). */
  readonly loadDir: string;
  /** For log lines: the repo path, or the remote URL without credentials. */
  readonly describe: string;
  /**
   * Brings `branch` up to date with its origin (remote: fetch; local: nothing) and returns its
   * tip, or null when the branch does not exist.
   */
  refresh(branch: string): Promise<string | null>;
  /** The repo's default branch (local: the branch HEAD names; remote: the remote's HEAD), if any. */
  defaultBranch(): Promise<string | null>;
  /** The tip of `branch` as known here, without going to the network. */
  tip(branch: string): Promise<string | null>;
  /**
   * Moves `branch` to `commit` if it is still at `expected` (null: absent): the local ref in local
   * mode, a push in remote mode (then the cache's ref follows). "rejected" = someone moved it first.
   */
  publish(branch: string, commit: string, expected: string | null): Promise<PublishResult>;
  /** Calls `onChange` when refs may have moved (local: file watch + periodic check; remote: timer). */
  watch(onChange: (reason: "watch" | "poll") => void): Promise<void>;
  close(): Promise<void>;
}
