// Runs the berth CLI from source (node --import tsx cli/main.ts …) as a child process, the way a
// person runs it, and returns its exit code and output. Colours are off. With BERTH_TEST_CLI set
// to a built entry (dist/bin/main.js, the bundle `berth` runs), the tests that start the CLI
// through these helpers run that instead: `BERTH_TEST_CLI=dist/bin/main.js npx vitest run …`.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Netns } from "./netns.js";

export const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
/** tsx's loader by absolute URL, so the CLI also runs with a working directory outside the project. */
export const tsxLoader = import.meta.resolve("tsx");

/**
 * Node's arguments that run the CLI with `args`: the built entry `cli` (or $BERTH_TEST_CLI), else
 * the sources through tsx. Spawn `process.execPath` with them.
 */
export function cliArgs(args: string[], cli = process.env.BERTH_TEST_CLI): string[] {
  if (cli) return [resolve(projectRoot, cli), ...args];
  return ["--import", tsxLoader, `${projectRoot}/cli/main.ts`, ...args];
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runBerth(
  args: string[],
  opts: {
    env?: Record<string, string>;
    timeoutMs?: number;
    cwd?: string;
    netns?: Netns;
    /** Given on stdin (default: nothing, stdin ends at once). */
    input?: string;
    /** Stops the command (SIGTERM) once its stdout so far satisfies this: for commands that run
     * until stopped (--watch, --follow), so a test waits for what it needs, not a fixed time. */
    until?: (stdout: string) => boolean;
    /** A built entry to run instead of the sources (see cliArgs). */
    cli?: string;
  } = {},
): Promise<CliRun> {
  const argv = [process.execPath, ...cliArgs(args, opts.cli)];
  const [cmd, ...rest] = opts.netns ? opts.netns.argv(argv) : argv;
  return new Promise((resolve) => {
    const child = execFile(
      cmd as string,
      rest,
      {
        cwd: opts.cwd ?? projectRoot,
        timeout: opts.timeoutMs ?? 60_000,
        env: { ...process.env, NO_COLOR: "1", ...opts.env },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
    // stdin is a pipe: give it the input, or end it at once (a command reading stdin gets EOF).
    child.stdin?.end(opts.input ?? "");
    if (opts.until) {
      const until = opts.until;
      let seen = "";
      child.stdout?.on("data", (chunk: Buffer | string) => {
        seen += chunk.toString();
        if (until(seen)) child.kill("SIGTERM");
      });
    }
  });
}
