// After a failed replace, `berth logs` shows what people need then: the output of the new instance
// that failed (it is stopped, its output stays) beside the old one that keeps serving, and
// berth's own line saying the step failed and why. Real agent, real processes, the real API's
// log route and the berth CLI.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningAgent, startAgent } from "../../agent/index.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import type { LogLine, Workload } from "../../schema/index.js";
import { appScript, hit } from "../agent/helpers/agent-harness.js";
import { desiredDoc, workload } from "../agent/helpers/docs.js";
import { freePortPair } from "../agent/helpers/ports.js";
import { waitFor } from "../agent/helpers/wait.js";
import { runBerth } from "../helpers/berth-cli.js";
import { type Harness, startHarness } from "../reconciler/http/harness.js";
import { MemoryBackend } from "../reconciler/http/memory-backend.js";

let api: Harness | undefined;
let agent: RunningAgent | undefined;
let dir = "";
afterEach(async () => {
  await agent?.stop({ stopWorkloads: true });
  await createProcessDriver({ stateDir: join(dir, "state") }).close({ stopAll: true });
  await api?.close();
  api = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = `db-pass-${process.pid}-${Math.random().toString(36).slice(2)}`;

function web(hostPort: number, env: Record<string, string>): Workload {
  return workload({
    app: "web",
    runtime: "process",
    command: [process.execPath, appScript],
    env: { DB_PASSWORD: SECRET, ...env },
    port: 8080,
    hostPort,
    health: {
      path: "/healthz",
      intervalSeconds: 0.2,
      timeoutSeconds: 1,
      startPeriodSeconds: 10,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    },
  });
}

const lines = (text: string): LogLine[] =>
  [...text.matchAll(/^event: line\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1] as string) as LogLine);

describe("berth logs after a failed replace", () => {
  it("shows the failed new instance's output, the old instance's and berth's line about the failure", async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-logprev-"));
    const port = await freePortPair();
    const backend = new MemoryBackend();
    const token = generateToken();
    backend.publish([desiredDoc("node-a", [web(port, { REPLY: "v1" })])], { "node-a": sha256Hex(token) });
    api = await startHarness({}, backend);
    const server = api.server;
    agent = await startAgent({
      node: "node-a",
      url: server.url,
      token,
      stateDir: join(dir, "state"),
      logger: pino({ level: "silent" }),
      pollWaitSeconds: 20,
    });
    await waitFor("v1 converged", () => backend.statuses.get("node-a")?.phase === "converged", 60_000);
    const old = await hit(port);
    expect(old?.body).toBe("v1");

    // v2 prints its cause on stderr (with the secret, as careless apps do) and exits.
    backend.publish([
      desiredDoc("node-a", [
        web(port, {
          REPLY: "v2",
          CRASH_AFTER_MS: "300",
          CRASH_BEFORE_LISTEN: "1",
          CRASH_MESSAGE: `fatal: cannot open the database with password ${SECRET}`,
        }),
      ]),
    ]);
    await waitFor(
      "the failed replace in status",
      () => backend.statuses.get("node-a")?.workloads.find((w) => w.lastExit?.code === 7),
      60_000,
    );
    // The old instance keeps serving.
    expect((await hit(port))?.pid).toBe(old?.pid);

    const want = (ls: LogLine[]) =>
      ls.some((l) => l.instance === "berth-web-0-b" && /^fatal: cannot open the database/.test(l.line)) &&
      ls.some((l) => l.instance === "berth-web-0-a" && /^app listening on /.test(l.line)) &&
      ls.some((l) => l.origin === "berth" && /^failed: .*web-0/.test(l.line));
    const body = await waitFor("both instances and berth's line in the logs", async () => {
      const text = await (await fetch(`${server.url}/v1/apps/web/logs?lines=1000`)).text();
      return want(lines(text)) ? text : undefined;
    });
    const got = lines(body);
    const failed = got.find((l) => l.instance === "berth-web-0-b" && l.line.startsWith("fatal:"));
    expect(failed?.line).toBe("fatal: cannot open the database with password [redacted]");
    expect(failed?.node).toBe("node-a");
    const times = got.map((l) => Date.parse(l.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(body).not.toContain(SECRET);

    // The same through `berth logs`, tagged node/instance.
    const cli = await runBerth(["logs", "web", "-n", "1000", "--url", server.url]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      / node-a\/web-0-b +fatal: cannot open the database with password \[redacted\]\n/,
    );
    expect(cli.stdout).toMatch(/ node-a\/web-0-a +app listening on /);
    expect(cli.stdout).not.toContain(SECRET);
  }, 120_000);
});
