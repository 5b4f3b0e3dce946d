// The few kinds of error the CLI turns into exit codes. Only cli/main.ts maps them to exits.

/** A problem the user can fix (bad flag, missing file, unreachable server): exit 1, no stack. */
export class UserError extends Error {
  override name = "UserError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The command ran and found the answer is "no" (invalid config, failed deploy): exit 1, already printed. */
export class FailedError extends Error {
  override name = "FailedError";
}

/** Exit codes of SPEC §4, and 3: `berth status --fail-on-stale` found a node stale or lost. */
export const exitCodes = { ok: 0, error: 1, changes: 2, notAlive: 3 } as const;
