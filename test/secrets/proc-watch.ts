// Runs test/fixtures/proc-watch.mjs beside a test: it scans every /proc/<pid>/cmdline for canary
// values as fast as it can, from before the test starts something until after, and reports what it
// saw. The canaries reach it on stdin, so its own command line holds none.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../fixtures/proc-watch.mjs", import.meta.url));

export interface ProcWatch {
  /** Stops watching: how many full scans of /proc were made, and every command line that held a canary. */
  stop(): Promise<{ scans: number; hits: string[] }>;
}

export async function watchCommandLines(canaries: readonly string[]): Promise<ProcWatch> {
  const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8");
  const ready = new Promise<void>((ok, fail) => {
    child.stdout.on("data", (d: string) => {
      out += d;
      if (out.startsWith("ready\n")) ok();
    });
    child.once("exit", (code) => fail(new Error(`proc-watch exited ${code} before it was ready`)));
  });
  child.stdin.end(JSON.stringify(canaries));
  await ready;
  return {
    stop: () =>
      new Promise((ok) => {
        child.once("exit", () => ok(JSON.parse(out.slice("ready\n".length))));
        child.kill("SIGTERM");
      }),
  };
}
