// Runs the berth CLI from source (node --import tsx cli/main.ts …) as a child process, the way a
// person runs it, and returns its exit code and output. Colours are off.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const projectRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runBerth(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "cli/main.ts", ...args],
      {
        cwd: projectRoot,
        timeout: opts.timeoutMs ?? 60_000,
        env: { ...process.env, NO_COLOR: "1", ...opts.env },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
    // stdin is a pipe: give it the input, or end it at once (a command reading stdin gets EOF).
    child.stdin?.end(opts.input ?? "");
  });
}
