// The one module that executes an argv built elsewhere (podman/docker commands). It returns what
// happened ({exitCode, stdout, stderr}) and leaves judging the result to the caller, because
// podman's exit codes do not always mean what they say (`rm -f` of a missing name exits 0).
// Descriptions of a command never contain environment values: `-e K=V` is shown as `-e K=…`.
import { spawn } from "node:child_process";
import { execa } from "execa";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as written, when asked for (RunOptions.all). */
  all?: string;
}

export interface RunOptions {
  /** Kills the command after this long (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Values that must never appear in an error message (env values of the workload). */
  secrets?: readonly string[];
  /** Also collect stdout and stderr interleaved (e.g. `podman logs`, which writes the app's two streams to its two). */
  all?: boolean;
  /** Variables added to the command's environment (the agent's own is passed on too). */
  env?: Readonly<Record<string, string>>;
}

/** A command that could not run, timed out, or (via `mustSucceed`) exited non-zero. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

const envFlags = new Set(["-e", "--env"]);

/** The argv as a person reads it, with every environment value replaced by `…`. */
export function describeCommand(argv: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (envFlags.has(arg) && i + 1 < argv.length) {
      out.push(arg, redactAssignment(argv[i + 1] as string));
      i++;
    } else if (arg.startsWith("--env=")) {
      out.push(`--env=${redactAssignment(arg.slice("--env=".length))}`);
    } else {
      out.push(/^[\w@%+=:,./~-]+$/.test(arg) ? arg : JSON.stringify(arg));
    }
  }
  return out.join(" ");
}

function redactAssignment(kv: string): string {
  const eq = kv.indexOf("=");
  return eq < 0 ? kv : `${kv.slice(0, eq)}=…`;
}

/** Replaces every occurrence of a secret (3+ characters, shorter ones would mangle text) with `…`. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join("…");
  return out;
}

/**
 * Runs argv[0] with argv[1..] (no shell) and resolves with its exit code and output, whatever the
 * exit code. Rejects with a CommandError only when the command could not run at all or timed out.
 */
export async function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("runCommand: empty argv (this is a bug)");
  const result = await execa(file, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    cancelSignal: opts.signal,
    stdin: "ignore",
    stripFinalNewline: true,
    all: opts.all === true,
    ...(opts.env ? { env: opts.env } : {}),
  });
  const stderr = scrub(String(result.stderr ?? ""), opts.secrets);
  if (result.exitCode === undefined) {
    const why = result.timedOut
      ? `timed out after ${opts.timeoutMs ?? 60_000} ms`
      : result.isCanceled
        ? "was cancelled"
        : result.signal
          ? `was killed by ${result.signal}`
          : `could not be started (${result.code ?? "unknown error"}); is ${file} installed?`;
    throw new CommandError(
      `\`${describeCommand(argv)}\` ${why}${stderr ? `: ${stderr}` : ""}`,
      describeCommand(argv),
      null,
      stderr,
    );
  }
  const out: CommandResult = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ""), stderr };
  if (opts.all) out.all = String((result as { all?: unknown }).all ?? "");
  return out;
}

/** Throws a CommandError saying what ran, its exit code and its stderr when it did not exit 0. */
export function mustSucceed(argv: readonly string[], r: CommandResult, doing: string): CommandResult {
  if (r.exitCode === 0) return r;
  const cmd = describeCommand(argv);
  throw new CommandError(
    `${doing}: \`${cmd}\` exited ${r.exitCode}${r.stderr ? `: ${r.stderr.trim()}` : ""}`,
    cmd,
    r.exitCode,
    r.stderr,
  );
}

/** A command whose output is read as it comes (`podman logs --follow`). */
export interface StreamingCommand {
  /** Resolves with the exit code (null when killed) once the command ended and its output is read. */
  done: Promise<number | null>;
  /** Ends the command (SIGTERM); harmless when it already ended. */
  stop(): void;
}

/**
 * Runs argv[0] with argv[1..] (no shell) and hands its stdout and stderr chunks over as they
 * arrive. A command that cannot start resolves `done` with null after reporting why on `onError`.
 */
export function streamCommand(
  argv: readonly string[],
  handlers: { stdout(chunk: Buffer): void; stderr(chunk: Buffer): void; onError?(message: string): void },
): StreamingCommand {
  const [file, ...args] = argv;
  if (!file) throw new Error("streamCommand: empty argv (this is a bug)");
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", handlers.stdout);
  child.stderr.on("data", handlers.stderr);
  const done = new Promise<number | null>((resolve) => {
    child.once("error", (e: NodeJS.ErrnoException) => {
      handlers.onError?.(
        `\`${describeCommand(argv)}\` could not be started (${e.code ?? e.message}); is ${file} installed?`,
      );
      resolve(null);
    });
    child.once("close", (code) => resolve(code));
  });
  return {
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}
