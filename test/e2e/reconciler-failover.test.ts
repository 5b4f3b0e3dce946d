// The reconciler host is a node that can die too: two real `berth serve` processes in remote mode
// on one git remote (the test's git smart-HTTP server), one `berth agent` given both URLs — or
// one URL, a real Caddy in front of both (docs/reconciler.md, "Several reconcilers"). The
// reconciler it uses is killed -9: the agent moves to the other, keeps its workload (same pid:
// the same document has the same hash there, so nothing restarts) and applies the next commit,
// published by the survivor.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { type BerthProcess, spawnBerth } from "../helpers/berth-process.js";
import { startTestCaddy } from "../helpers/caddy.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { makeTempDir, runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { sha256 } from "../reconciler/helpers.js";
import { randomPortBase, waitFor } from "./helpers.js";

const ok = requireTool("git");
const hasCaddy = ok && requireTool("caddy", ["version"]);
const app = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const TOKEN = "w1-agent-token-for-the-failover-test";

const appYaml = (reply: string) =>
  `kind: App\nname: echo\ncommand: ["node", ${JSON.stringify(app)}]\nport: 8080\nenv:\n  REPLY: ${reply}\nhealth:\n  path: /healthz\n`;

async function healthz(url: string): Promise<{ generation: number; desiredCommit: string | null }> {
  return (await (await fetch(`${url}/healthz`)).json()) as {
    generation: number;
    desiredCommit: string | null;
  };
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

  /**
   * Two reconcilers and an agent. `front` puts something in front of both and returns the one
   * URL the agent is given; without it the agent gets both URLs.
   */
  async function cluster(
    intervals: { a: string; b: string },
    front?: (a: string, b: string) => Promise<string>,
  ) {
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
    const reconciler = async (name: "a" | "b") => {
      const p = spawnBerth([
        "serve",
        "--remote",
        remote,
        "--cache-dir",
        join(dir, `cache-${name}`),
        "--listen",
        "127.0.0.1:0",
        "--interval",
        intervals[name],
      ]);
      procs.push(p);
      return {
        p,
        url: (await p.waitForLine((l) => l.msg === "API listening", `reconciler ${name}`)).url as string,
      };
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
      front ? await front(a.url, b.url) : `${a.url},${b.url}`,
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
    const commit = (reply: string) => {
      writeFileSync(join(work.dir, "apps/echo.yaml"), appYaml(reply));
      work.git("commit", "-qam", `echo: ${reply}`);
      work.git("push", "-q", bare, "main");
    };
    const servedVia = (url: string, reply: string) =>
      waitFor(
        `${reply} served and in sync via ${url}`,
        async () => {
          const n = await statusOf(url);
          const port = n.status?.workloads[0]?.hostPort;
          if (n.inSync !== true || port === undefined) return undefined;
          const got = await served(port);
          return got?.body === reply ? { port, pid: got.pid } : undefined;
        },
        60_000,
      );
    return { a, b, gen1, agent, accepted, statusOf, commit, servedVia };
  }

  it("keeps its workloads when the reconciler it uses is killed -9, and applies the survivor's next commit", async () => {
    const { a, b, gen1, agent, accepted, statusOf, commit, servedVia } = await cluster({ a: "1", b: "1" });
    const before = await servedVia(a.url, "v1");
    expect(accepted()).toHaveLength(1);

    // The reconciler in use dies without a word.
    await a.p.kill();
    await waitFor("the agent alive on b", async () => (await statusOf(b.url)).liveness === "alive", 60_000);
    await agent.waitForLine((l) => String(l.msg).includes(`trying ${b.url}`), "the failover log line");
    // Same document from b: not even accepted again, nothing restarted.
    expect(accepted()).toHaveLength(1);
    expect((await served(before.port))?.pid).toBe(before.pid);
    expect((await statusOf(b.url)).inSync).toBe(true);

    // A new commit: the survivor publishes it and the agent applies it from there.
    commit("v2");
    await waitFor(
      "b publishes generation 2",
      async () => (await healthz(b.url)).generation === gen1.generation + 1,
      60_000,
    );
    await servedVia(b.url, "v2");
    expect(accepted()).toHaveLength(2);
  });

  it.skipIf(!hasCaddy)(
    "behind one name (Caddy, first available upstream): keeps its workloads when the reconciler behind it is killed -9",
    async () => {
      const caddy = await startTestCaddy();
      closers.push(() => caddy.stop());
      const url = `http://127.0.0.1:${caddy.httpPort}`;
      // What docs/reconciler.md tells an operator to put in front: every agent on the first
      // reconciler that passes its health check (round robin would split each agent's calls, and
      // each reconciler would judge the node stale), a dead one skipped.
      const front = async (a: string, b: string): Promise<string> => {
        await caddy.admin.load({
          admin: { listen: caddy.configOptions.adminListen },
          apps: {
            http: {
              servers: {
                reconcilers: {
                  listen: [`127.0.0.1:${caddy.httpPort}`],
                  automatic_https: { disable: true },
                  routes: [
                    {
                      handle: [
                        {
                          handler: "reverse_proxy",
                          upstreams: [{ dial: new URL(a).host }, { dial: new URL(b).host }],
                          load_balancing: {
                            selection_policy: { policy: "first" },
                            try_duration: "5s",
                            try_interval: "100ms",
                          },
                          health_checks: {
                            active: { uri: "/healthz", interval: "1s", timeout: "1s" },
                            passive: { fail_duration: "5s", max_fails: 1 },
                          },
                        },
                      ],
                    },
                  ],
                },
              },
            },
          },
        });
        return url;
      };
      const { a, b, gen1, accepted, statusOf, commit, servedVia } = await cluster({ a: "1", b: "1" }, front);
      const before = await servedVia(url, "v1");
      // Every call went to a, the first upstream: b is not in contact with the agent.
      expect((await statusOf(a.url)).liveness).toBe("alive");
      expect((await statusOf(b.url)).liveness).not.toBe("alive");

      await a.p.kill();
      await waitFor("the agent alive on b", async () => (await statusOf(b.url)).liveness === "alive", 60_000);
      expect(accepted()).toHaveLength(1);
      expect((await served(before.port))?.pid).toBe(before.pid);

      commit("v2");
      await waitFor(
        "b publishes generation 2",
        async () => (await healthz(b.url)).generation === gen1.generation + 1,
        60_000,
      );
      await servedVia(url, "v2");
      expect(accepted()).toHaveLength(2);
    },
  );

  it("is not rolled back by a reconciler that has not seen the newest publish yet", async () => {
    // b fetches only at start (interval 10 min): a publishes the next commit, b does not know it.
    const { a, b, gen1, agent, accepted, commit, servedVia } = await cluster({ a: "1", b: "600" });
    await servedVia(a.url, "v1");
    commit("v2");
    const v2 = await servedVia(a.url, "v2");
    expect((await healthz(b.url)).generation).toBe(gen1.generation);
    expect(accepted()).toHaveLength(2);

    await a.p.kill();
    await agent.waitForLine((l) => String(l.msg).includes(`trying ${b.url}`), "the failover log line");
    // b looks at the desired branch before answering an agent that holds a document it does not
    // know: it serves generation 2 and the agent keeps v2, never getting v1 back.
    await waitFor(
      "b caught up",
      async () => (await healthz(b.url)).generation === gen1.generation + 1,
      30_000,
    );
    await servedVia(b.url, "v2");
    expect(accepted()).toHaveLength(2);
    expect((await served(v2.port))?.pid).toBe(v2.pid);
  });
});
