// Liveness with the real programs: `berth serve` on a config repo, `berth agent` running a process
// app, the agent killed with -9. The reconciler says stale, then lost — in `berth status --url`
// (run outside the config repo, exit 3 with --fail-on-stale), /v1/nodes, the event stream and the
// metrics — never "converged"; the restarted agent brings the node back without restarting the app.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { runBerth } from "../helpers/berth-cli.js";
import { type BerthProcess, spawnBerth } from "../helpers/berth-process.js";
import { makeTempDir, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { sha256 } from "../reconciler/helpers.js";
import { randomPortBase, waitFor } from "./helpers.js";

const ok = requireTool("git");
const app = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const TOKEN = "w1-agent-token-for-the-liveness-test";

interface SseEvent {
  type: string;
  data: Record<string, unknown>;
}

async function events(url: string): Promise<SseEvent[]> {
  const text = await (await fetch(`${url}/v1/events?follow=0`)).text();
  const out: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    const type = /^event: (.+)$/m.exec(block)?.[1];
    const data = /^data: (.+)$/m.exec(block)?.[1];
    if (type && data) out.push({ type, data: (JSON.parse(data) as { data: Record<string, unknown> }).data });
  }
  return out;
}

async function node(url: string): Promise<Record<string, unknown>> {
  const body = (await (await fetch(`${url}/v1/nodes`)).json()) as { nodes: Record<string, unknown>[] };
  return body.nodes.find((n) => n.node === "w1") as Record<string, unknown>;
}

describe.skipIf(!ok)("liveness end to end", () => {
  const temp = useTempRepos();
  const procs: BerthProcess[] = [];
  let stateDir = "";
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.kill();
    if (stateDir) await createProcessDriver({ stateDir }).close({ stopAll: true });
  });

  it("an agent killed -9 goes stale then lost everywhere, and comes back without restarting its app", async () => {
    const base = randomPortBase();
    const repo = await temp.makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      "nodes/w1.yaml": `kind: Node\nname: w1\naddress: 127.0.0.1\nruntime: process\nportRange: [${base}, ${base + 99}]\ntokenSha256: ${sha256(TOKEN)}\n`,
      "apps/echo.yaml": `kind: App\nname: echo\ncommand: ["node", ${JSON.stringify(app)}]\nport: 8080\nenv:\n  REPLY: echo\nhealth:\n  path: /healthz\n`,
    });
    const dir = makeTempDir("berth-liveness-");
    stateDir = join(dir, "state");
    mkdirSync(stateDir);
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);

    const serve = spawnBerth([
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      "127.0.0.1:0",
      "--stale-after",
      "1",
      "--lost-after",
      "3",
    ]);
    procs.push(serve);
    const url = (await serve.waitForLine((l) => l.msg === "API listening", "the API")).url as string;
    const agentArgs = [
      "agent",
      "--node",
      "w1",
      "--url",
      url,
      "--token-file",
      join(dir, "token"),
      "--state-dir",
      stateDir,
    ];
    let agent = spawnBerth(agentArgs);
    procs.push(agent);

    // `berth status --url` from a directory that is no config repo: everything from the API.
    const status = (...extra: string[]) => runBerth(["status", "--url", url, ...extra], { cwd: dir });
    await waitFor(
      "w1 alive and converged",
      async () => {
        const n = await node(url);
        return n.liveness === "alive" && n.inSync === true && n.phase === "converged";
      },
      60_000,
    );
    const healthy = await status("--fail-on-stale");
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/^w1\s+alive\s+converged\s+yes/m);
    expect(healthy.stdout).toMatch(/^echo\s+1\/1/m);
    const pid = Number(
      (
        await fetch(
          `http://127.0.0.1:${((await node(url)).status as { workloads: { hostPort: number }[] }).workloads[0]?.hostPort}/`,
        )
      ).headers.get("x-pid"),
    );

    // The agent dies the easy way: its connections close with it.
    const killed = Date.now();
    await agent.kill();
    const stale = await waitFor(
      "node-stale event",
      async () => (await events(url)).find((e) => e.type === "node-stale"),
      20_000,
    );
    const lost = await waitFor(
      "node-lost event",
      async () => (await events(url)).find((e) => e.type === "node-lost"),
      20_000,
    );
    expect(stale.data).toMatchObject({ node: "w1" });
    expect(Math.abs(Date.parse(stale.data.lastSeen as string) - killed)).toBeLessThan(2_000);

    const n = await node(url);
    expect(n).toMatchObject({ liveness: "lost", phase: null, reportedPhase: "converged", inSync: false });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('berth_node_liveness{node="w1",state="lost"} 1');

    const down = await status("--fail-on-stale");
    expect(down.code).toBe(3);
    expect(down.stdout).toMatch(/^w1\s+lost \d+s\s+unknown\s+no/m);
    expect(down.stdout).toContain("w1 is lost since");
    expect(down.stdout).toContain("last report: converged");
    expect(down.stdout).toMatch(/^echo\s+0\/1 \(1 unknown: node not alive\)/m);
    expect(down.stdout).not.toMatch(/converged\s+yes/);
    const json = JSON.parse((await status("--json")).stdout);
    expect(json.nodes[0]).toMatchObject({ node: "w1", liveness: "lost", phase: "unknown", inSync: false });
    // The verdict is committed: `berth status` on the repo (no reconciler asked) shows it too.
    const committed = await waitFor(
      "lost in the repo's view",
      async () => {
        const r = await runBerth(["status", "--repo", repo.dir, "--fail-on-stale"]);
        return /^w1\s+lost/m.test(r.stdout) ? r : undefined;
      },
      20_000,
    );
    expect(committed.code).toBe(3);
    expect(committed.stdout).toContain("Liveness as last committed by the reconciler");

    // The agent comes back: alive again at once, and its app was never restarted.
    agent = spawnBerth(agentArgs);
    procs.push(agent);
    await waitFor(
      "node-back event",
      async () => (await events(url)).find((e) => e.type === "node-back"),
      30_000,
    );
    await waitFor("in sync again", async () => (await node(url)).inSync === true, 30_000);
    const hostPort = ((await node(url)).status as { workloads: { hostPort: number }[] }).workloads[0]
      ?.hostPort;
    expect(Number((await fetch(`http://127.0.0.1:${hostPort}/`)).headers.get("x-pid"))).toBe(pid);
    expect((await status("--fail-on-stale")).code).toBe(0);
    expect(lost.data.message).toContain("w1 is lost since");
  }, 240_000); // the waits above add up to more than vitest's default test timeout on a loaded box
});
