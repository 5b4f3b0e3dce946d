// A secret the app prints is redacted from `berth logs` also when it comes from an encrypted
// secret (the value exists only on the node, decrypted by the agent): real agent with a node
// identity, real process printing its decrypted secret, the real API's log route.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { workloadSpecHash } from "../../agent/core/document.js";
import { type RunningAgent, startAgent } from "../../agent/index.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import type { LogLine, Workload } from "../../schema/index.js";
import { appScript } from "../agent/helpers/agent-harness.js";
import { desiredDoc, workload } from "../agent/helpers/docs.js";
import { freePortPair } from "../agent/helpers/ports.js";
import { waitFor } from "../agent/helpers/wait.js";
import { runBerth } from "../helpers/berth-cli.js";
import { type Harness, startHarness } from "../reconciler/http/harness.js";
import { MemoryBackend } from "../reconciler/http/memory-backend.js";
import { encryptTo, keypair } from "../secrets/age-fixture.js";

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

describe("berth logs redacts decrypted secrets", () => {
  it("an app printing its encrypted secret shows [redacted]", async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-logsec-"));
    const node = await keypair();
    const identityFile = join(dir, "identity.key");
    writeFileSync(identityFile, `${node.identity}\n`, { mode: 0o600 });
    const canary = `canary-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const base = workload({
      app: "web",
      runtime: "process",
      command: [process.execPath, appScript],
      env: { LOG_EVERY_MS: "100" },
      port: 8080,
      hostPort: await freePortPair(),
      health: {
        path: "/healthz",
        intervalSeconds: 0.2,
        timeoutSeconds: 1,
        startPeriodSeconds: 15,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
      },
    });
    // LOG_LINE (what the app prints) is the decrypted secret.
    const { specHash: _drop, ...rest } = {
      ...base,
      secrets: { LOG_LINE: { secret: "DB", ciphertext: await encryptTo([node.recipient], canary) } },
    } as Workload;
    const w = { ...rest, specHash: workloadSpecHash(rest as Workload) } as Workload;
    const backend = new MemoryBackend();
    const token = generateToken();
    const doc = desiredDoc("node-a", [w]);
    backend.publish([doc], { "node-a": sha256Hex(token) });
    api = await startHarness({}, backend);
    const server = api.server;
    agent = await startAgent({
      node: "node-a",
      url: server.url,
      token,
      stateDir: join(dir, "state"),
      identityFile,
      logger: pino({ level: "silent" }),
      pollWaitSeconds: 20,
    });
    await waitFor("converged", () => backend.statuses.get("node-a")?.phase === "converged", 60_000);
    // What the app printed as the API sends it (SSE `line` events, without its startup line), once
    // it printed at least three times.
    const appLines = (text: string): LogLine[] =>
      [...text.matchAll(/^event: line\ndata: (.*)$/gm)]
        .map((m) => JSON.parse(m[1] as string) as LogLine)
        .filter((l) => l.origin === "app" && !/^app listening on /.test(l.line));
    const body = await waitFor("printed lines in the logs", async () => {
      const text = await (await fetch(`${server.url}/v1/apps/web/logs?lines=50`)).text();
      return appLines(text).length >= 3 ? text : undefined;
    });
    expect(body).toContain('event: end\ndata: {"complete":true,"missing":[]}');
    expect(body).not.toContain(canary);
    const printed = appLines(body);
    expect(printed.length).toBeGreaterThanOrEqual(3);
    for (const l of printed) expect(l.line).toBe("[redacted]");
    // The same through `berth logs` as a person runs it.
    const cli = await runBerth(["logs", "web", "-n", "20", "--url", server.url]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).not.toContain(canary);
    expect(cli.stdout).toMatch(/node-a\/\S+ +\[redacted\]\n/);
  }, 90_000);
});
