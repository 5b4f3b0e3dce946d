// The berth command line as a value: the registered commands, the global flags, and main(), the
// only place that turns errors into exit codes and output (SPEC §4: 0 ok, 1 error, 2 changes
// present). cli/main.ts runs it; tests build the program to enumerate its commands.
//
// Output conventions (docs/operating.md "Output"):
// - a user's mistake never prints a stack trace: UserError, FailedError, a RepoError from the
//   repo reader and system errors a person causes (a busy port, a missing file) are said in one
//   line with a hint;
// - with --json, stdout carries JSON only: the result (one document; NDJSON lines for streams),
//   or, when the command fails before writing its result, `{"error": {...}}`; a failure after the
//   result was written (an invalid config, a refused rollback) is `{"error": {...}}` on stderr;
//   usage errors, --version and internal errors follow the same rule.
import { Command, CommanderError } from "commander";
import { FailedError, UserError } from "./errors.js";
import { version } from "./version.js";

type CommandModule = { register(program: Command): void };

// Each command is loaded only when it runs (all of them for --help), so a long-running `berth agent`
// does not carry the plan engine, git or forge code in memory.
export const commands: Record<string, () => Promise<CommandModule>> = {
  init: () => import("./commands/init.js"),
  validate: () => import("./commands/validate.js"),
  plan: () => import("./commands/plan.js"),
  serve: () => import("./commands/serve.js"),
  agent: () => import("./commands/agent.js"),
  up: () => import("./commands/up.js"),
  rollback: () => import("./commands/rollback.js"),
  status: () => import("./commands/status.js"),
  history: () => import("./commands/history.js"),
  events: () => import("./commands/events.js"),
  logs: () => import("./commands/logs.js"),
  restart: () => import("./commands/restart.js"),
  alerts: () => import("./commands/alerts.js"),
  node: () => import("./commands/node.js"),
  secret: () => import("./commands/secret.js"),
  schema: () => import("./commands/schema.js"),
};

/** The command named in argv (skipping global flags and --repo's value), if it is one of ours. */
export function commandOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--repo") i++;
    else if (arg === "--") return undefined;
    else if (!arg.startsWith("-")) return arg in commands ? arg : undefined;
  }
  return undefined;
}

/** Whether --json is among the flags (before a `--`). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/** `only`: register just this command; null: none (--version); undefined: all (help, typos). */
export async function buildProgram(
  only?: string | null,
  output?: { writeErr?: (s: string) => void },
): Promise<Command> {
  const program = new Command("berth")
    .description("GitOps reconciler for plain Linux hosts")
    .version(version, "--version")
    .option("--repo <path>", "config repo (default: current directory)")
    .option("--json", "machine-readable output on stdout (see berth --help: errors too), logs on stderr")
    .option("--no-color", "no colours (also NO_COLOR)")
    .showHelpAfterError()
    .exitOverride();
  if (output?.writeErr) program.configureOutput({ writeErr: output.writeErr });
  for (const [name, load] of Object.entries(commands)) {
    if (only === undefined || name === only) (await load()).register(program);
    else if (only === null) break;
  }
  return program;
}

// System errors a person causes (a port in use, a file that is not there): said, not a bug.
const userErrnos = new Set([
  "EADDRINUSE",
  "EADDRNOTAVAIL",
  "EACCES",
  "EPERM",
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EEXIST",
  "ECONNREFUSED",
  "ENOTFOUND",
  "EROFS",
  "ENOSPC",
]);

interface Said {
  kind: "usage" | "user" | "failed" | "internal";
  message: string;
  hint?: string;
}

function classify(err: unknown): Said {
  if (err instanceof UserError)
    return { kind: "user", message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  if (err instanceof FailedError) return { kind: "failed", message: err.message };
  const e = err as { name?: string; message?: string; hint?: unknown; code?: unknown };
  if (e?.name === "RepoError") {
    return {
      kind: "user",
      message: String(e.message),
      ...(typeof e.hint === "string" ? { hint: e.hint } : {}),
    };
  }
  if (typeof e?.code === "string" && userErrnos.has(e.code))
    return { kind: "user", message: String(e.message) };
  return { kind: "internal", message: (err as Error)?.message ?? String(err) };
}

export async function main(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  // What the command wrote to stdout: with --json, an error goes there only if nothing did.
  let wrote = false;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (chunk.length > 0) wrote = true;
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  let usage = "";
  const emit = (said: Said, stack?: string): void => {
    // A failure the command has already printed (an invalid config…) needs no more words.
    if (said.kind === "failed" && !said.message) return;
    if (json) {
      const body = `${JSON.stringify({ error: said })}\n`;
      if (wrote) process.stderr.write(body);
      else process.stdout.write(body);
      if (stack) process.stderr.write(`${stack}\n`);
      return;
    }
    if (said.kind === "failed") {
      if (said.message) process.stderr.write(`${said.message}\n`);
    } else if (said.kind === "internal") {
      process.stderr.write(
        `berth: internal error (this is a bug, please report it):\n${stack ?? said.message}\n`,
      );
    } else if (said.kind === "user") {
      process.stderr.write(`error: ${said.message}\n${said.hint ? `hint: ${said.hint}\n` : ""}`);
    }
  };
  if (json && argv.includes("--version") && commandOf(argv) === undefined) {
    process.stdout.write(`${JSON.stringify({ version })}\n`);
    return 0;
  }
  const named = commandOf(argv);
  const program = await buildProgram(named ?? (argv.includes("--version") ? null : undefined), {
    // Usage errors are printed by commander; with --json they become one JSON error instead.
    writeErr: (s) => {
      if (json) usage += s;
      else process.stderr.write(s);
    },
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors are already printed.
      if (err.exitCode === 0) return 0;
      if (json) {
        const first = (usage || err.message).split("\n").find((l) => l.trim() !== "") ?? err.message;
        emit({ kind: "usage", message: first.replace(/^error: /, ""), hint: "see berth --help" });
      }
      return 1;
    }
    const said = classify(err);
    emit(said, said.kind === "internal" ? ((err as Error)?.stack ?? String(err)) : undefined);
    return 1;
  }
}
