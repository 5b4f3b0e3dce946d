// `berth agent` as a real child process: converges a document, stops on SIGTERM with exit 0 and
// leaves the workload running; user errors exit 1 with a message saying what to fix.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { cliArgs } from "../helpers/berth-cli.js";
import { appWorkload, hit } from "./helpers/agent-harness.js";
import { desiredDoc } from "./helpers/docs.js";
import { type FakeReconciler, startFakeReconciler } from "./helpers/fake-reconciler.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const berth = (args: string[]) => [process.execPath, cliArgs(args)] as const;

let dir: string;
let rec: FakeReconciler | undefined;
afterEach(async () => {
  await createProcessDriver({ stateDir: join(dir, "state") }).close({ stopAll: true });
  await rec?.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const [cmd, argv] = berth(args);
  return new Promise((resolve) => {
    execFile(cmd, [...argv], { cwd: root }, (err, _out, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

describe("berth agent", () => {
  it("runs until SIGTERM, exits 0 and leaves workloads running", async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-cli-agent-"));
    rec = await startFakeReconciler({ node: "edge-1" });
    writeFileSync(join(dir, "token"), `${rec.token}\n`);
    const p = await freePortPair();
    const doc = desiredDoc("edge-1", [appWorkload({ hostPort: p, reply: "from-cli" })]);
    rec.publish(doc);
    const [cmd, argv] = berth([
      "agent",
      "--node",
      "edge-1",
      "--url",
      rec.url,
      "--token-file",
      join(dir, "token"),
      "--state-dir",
      join(dir, "state"),
      "--poll-wait",
      "5",
    ]);
    const child = spawn(cmd, [...argv], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await waitFor("converged status", () => {
        const s = rec?.latest();
        return s?.phase === "converged" && s.appliedHash === doc.hash;
      });
      expect((await hit(p))?.body).toBe("from-cli");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect((await hit(p))?.body).toBe("from-cli");
    // JSON log lines on stderr, with the action's reason and never the token.
    expect(stderr).toContain('"msg":"create web-0: no instance running');
    expect(stderr).not.toContain(rec.token);
  });

  it("says what to fix for a missing token file or a bad URL", async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-cli-agent-"));
    const missing = await run([
      "agent",
      "--node",
      "a",
      "--url",
      "http://127.0.0.1:9",
      "--token-file",
      join(dir, "nope"),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read --token-file ${join(dir, "nope")}: ENOENT`);
    writeFileSync(join(dir, "token"), "t");
    const badUrl = await run(["agent", "--node", "a", "--url", "nope", "--token-file", join(dir, "token")]);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('--url "nope" is not a URL');
  });
});
