// Errors of reading a config repo. Each has a stable code and a hint saying how to fix it; the
// CLI shows message + hint (cli/commands turn RepoError into a UserError), the reconciler logs them.

export type RepoErrorCode = "not-a-repo" | "ref-not-found" | "ref-ambiguous" | "not-a-dir" | "git-failed";

export class RepoError extends Error {
  override name = "RepoError";
  constructor(
    readonly code: RepoErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
