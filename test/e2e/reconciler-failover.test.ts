// The reconciler host is a node that can die too: two real `berth serve` processes in remote mode
// on one git remote (the test's git smart-HTTP server), one `berth agent` given both URLs. The
// reconciler it uses is killed -9: the agent moves to the other, keeps its workload (same pid:
// the same document has the same hash there, so nothing restarts) and applies the next commit,
// published by the survivor.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { type BerthProcess, spawnBerth } from "../helpers/berth-process.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { makeTempDir, runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { sha256 } from "../reconciler/helpers.js";
import { randomPortBase, waitFor } from "./helpers.js";

const ok = requireTool("git");
const app = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const TOKEN = "w1-agent-token-for-the-failover-test";

const appYaml = (reply: string) =>
  `kind: App\nname: echo\ncommand: ["node", ${JSON.stringify(app)}]\nport: 8080\nenv:\n  REPLY: ${reply}\nhealth:\n  path: /healthz\n`;

async function healthz(url: string): Promise<{ generation: number; desiredCommit: string | null }> {
  return (await (await fetch(`${url}/healthz`)).json()) as { generation: number; desiredCommit: string | null };
}

async function served(hostPort: number): Promise<{ pid: number; body: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${hostPort}/`);
    return { pid: Number(res.headers.get("x-pid")), body: await res.text() };
  } catch {
    return null;
  }
}

describe.skipIf(!ok)("agents fail over between reconcilers", () => {
  const temp = useTempRepos();
  const procs: BerthProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  let stateDir = "";
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.kill();
    if (stateDir) await createProcessDriver({ stateDir }).close({ stopAll: true });
    for (const c of closers.splice(0)) await c();
  });

  it("keeps its workloads when the reconciler it uses is killed -9, and applies the survivor's next commit", async () => {
    const base = randomPortBase();
    const work = await temp.makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      "nodes/w1.yaml": `kind: Node\nname: w1\naddress: 127.0.0.1\nruntime: process\nportRange: [${base}, ${base + 99}]\ntokenSha256: ${sha256(TOKEN)}\n`,
      "apps/echo.yaml": appYaml("v1"),
    });
    const root = makeTempDir("berth-remote-");
    const bare = join(root, "cfg.git");
    runGit(root, "init", "-q", "--bare", "-b", "main", bare);
    work.git("push", "-q", bare, "main");
    const git = await startGitHttpServer({ root });
    closers.push(() => git.close());
    const remote = `${git.url}/cfg.git`;

    const dir = makeTempDir("berth-failover-");
    stateDir = join(dir, "state");
    mkdirSync(stateDir);
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);
    const reconciler = async (name: string) => {
      const p = spawnBerth([
        "serve",
        "--remote",
        remote,
        "--cache-dir",
        join(dir, `cache-${name}`),
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "1",
      ]);
      procs.push(p);
      return { p, url: (await p.waitForLine((l) => l.msg === "API listening", `reconciler ${name}`)).url as string };
    };
    const a = await reconciler("a");
    const b = await reconciler("b");
    // Both serve the same generation (one published it, the other adopted it on its lost race).
    const gen1 = await waitFor("both serve generation 1", async () => {
      const [ha, hb] = [await healthz(a.url), await healthz(b.url)];
      return ha.generation === 1 && hb.desiredCommit === ha.desiredCommit ? ha : undefined;
    });

    const agent = spawnBerth([
      "agent",
      "--node",
      "w1",
      "--url",
      `${a.url},${b.url}`,
      "--token-file",
      join(dir, "token"),
      "--state-dir",
      stateDir,
    ]);
    procs.push(agent);
    const accepted = () => agent.lines.filter((l) => l.msg === "accepted desired document");
    const statusOf = async (url: string) => {
      const body = (await (await fetch(`${url}/v1/nodes`)).json()) as { nodes: Record<string, unknown>[] };
      return body.nodes.find((n) => n.node === "w1") as Record<string, unknown> & {
        status: { workloads: { hostPort: number }[] } | null;
      };
    };
    const onA = await waitFor("converged via a", async () => {
      const n = await statusOf(a.url);
      return n.inSync === true && n.liveness === "alive" ? n : undefined;
    }, 60_000);
    const hostPort = onA.status?.workloads[0]?.hostPort as number;
    const before = await served(hostPort);
    expect(before?.body).toBe("v1");
    expect(accepted()).toHaveLength(1);

    // The reconciler in use dies without a word.
    await a.p.kill();
    await waitFor("the agent alive on b", async () => (await statusOf(b.url)).liveness === "alive", 60_000);
    await agent.waitForLine((l) => String(l.msg).includes(`trying ${b.url}`), "the failover log line");
    // Same document from b: not even accepted again, nothing restarted.
    expect(accepted()).toHaveLength(1);
    expect((await served(hostPort))?.pid).toBe(before?.pid);
    expect((await statusOf(b.url)).inSync).toBe(true);

    // A new commit: the survivor publishes it and the agent applies it from there.
    writeFileSync(join(work.dir, "apps/echo.yaml"), appYaml("v2"));
    work.git("commit", "-qam", "echo: v2");
    work.git("push", "-q", bare, "main");
    await waitFor("b publishes generation 2", async () => (await healthz(b.url)).generation === gen1.generation + 1, 60_000);
    await waitFor(
      "v2 served",
      async () => {
        const n = await statusOf(b.url);
        const port = n.status?.workloads[0]?.hostPort;
        return n.inSync === true && port !== undefined && (await served(port))?.body === "v2";
      },
      60_000,
    );
    expect(accepted()).toHaveLength(2);
  });
});
