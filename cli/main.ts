#!/usr/bin/env node
// The berth command line: parses global flags, registers every command, and is the only place
// that turns errors into exit codes (SPEC §4: 0 ok, 1 error, 2 changes present).
import { Command, CommanderError } from "commander";
import { register as agent } from "./commands/agent.js";
import { register as events } from "./commands/events.js";
import { register as history } from "./commands/history.js";
import { register as init } from "./commands/init.js";
import { register as node } from "./commands/node.js";
import { register as plan } from "./commands/plan.js";
import { register as rollback } from "./commands/rollback.js";
import { register as schema } from "./commands/schema.js";
import { register as serve } from "./commands/serve.js";
import { register as status } from "./commands/status.js";
import { register as up } from "./commands/up.js";
import { register as validate } from "./commands/validate.js";
import { FailedError, UserError } from "./errors.js";
import { version } from "./version.js";

export function buildProgram(): Command {
  const program = new Command("berth")
    .description("GitOps reconciler for plain Linux hosts")
    .version(version, "--version")
    .option("--repo <path>", "config repo (default: current directory)")
    .option("--json", "machine-readable output on stdout, logs on stderr")
    .option("--no-color", "no colours (also NO_COLOR)")
    .showHelpAfterError()
    .exitOverride();
  for (const add of [
    init,
    validate,
    plan,
    serve,
    agent,
    up,
    rollback,
    status,
    history,
    events,
    node,
    schema,
  ]) {
    add(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
