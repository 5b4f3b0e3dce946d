#!/usr/bin/env node
// The berth command line: parses global flags, registers every command, and is the only place
// that turns errors into exit codes (SPEC §4: 0 ok, 1 error, 2 changes present).
import { Command, CommanderError } from "commander";
import { FailedError, UserError } from "./errors.js";
import { version } from "./version.js";

type CommandModule = { register(program: Command): void };

// Each command is loaded only when it runs (all of them for --help), so a long-running `berth agent`
// does not carry the plan engine, git or forge code in memory.
const commands: Record<string, () => Promise<CommandModule>> = {
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
    else if (!arg.startsWith("-")) return arg in commands ? arg : undefined;
  }
  return undefined;
}

/** `only`: register just this command; null: none (--version); undefined: all (help, typos). */
export async function buildProgram(only?: string | null): Promise<Command> {
  const program = new Command("berth")
    .description("GitOps reconciler for plain Linux hosts")
    .version(version, "--version")
    .option("--repo <path>", "config repo (default: current directory)")
    .option("--json", "machine-readable output on stdout, logs on stderr")
    .option("--no-color", "no colours (also NO_COLOR)")
    .showHelpAfterError()
    .exitOverride();
  for (const [name, load] of Object.entries(commands)) {
    if (only === undefined || name === only) (await load()).register(program);
    else if (only === null) break;
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const named = commandOf(argv);
  const program = await buildProgram(named ?? (argv.includes("--version") ? null : undefined));
  try {
    await program.parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors are already printed.
      return err.exitCode === 0 ? 0 : 1;
    }
    if (err instanceof FailedError) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return 1;
    }
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ""}`);
      return 1;
    }
    process.stderr.write(
      `berth: internal error (this is a bug, please report it):\n${(err as Error)?.stack ?? err}\n`,
    );
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
