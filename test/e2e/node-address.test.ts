// Process apps are health-checked where the proxies reach them: the node's `address`. On a host
// of its own (a network namespace with a non-loopback address), `berth serve` and `berth agent`
// run a config whose app listens on 127.0.0.1 only — reported unhealthy, saying it listens on
// loopback only — and one that listens on $HOST — healthy. Then the node's address is changed to
// one this host does not have: the node reports that its address is not this host's.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { runBerth } from "../helpers/berth-cli.js";
import { type BerthProcess, spawnBerth } from "../helpers/berth-process.js";
import { makeTempDir, useTempRepos } from "../helpers/git-repo.js";
import { createNetns, type Netns } from "../helpers/netns.js";
import { requireTool } from "../helpers/tools.js";
import { sha256 } from "../reconciler/helpers.js";
import { waitFor } from "./helpers.js";

const ok = requireTool("git") && requireTool("ip", ["-V"]);
const app = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const TOKEN = "w1-agent-token-for-the-address-test";
const ADDRESS = "10.77.0.1";

const nodeYaml = (address: string) =>
  `kind: Node\nname: w1\naddress: ${address}\nruntime: process\nportRange: [21000, 21099]\ntokenSha256: ${sha256(TOKEN)}\n`;
const appYaml = (name: string, env: Record<string, string>) =>
  `kind: App\nname: ${name}\ncommand: ["node", ${JSON.stringify(app)}]\nport: 8080\nenv: ${JSON.stringify(env)}\n` +
  "health:\n  path: /healthz\n  intervalSeconds: 1\n  startPeriodSeconds: 1\n  unhealthyThreshold: 2\n";

interface Summary {
  nodes: { node: string; phase: string; problems: string[] }[];
  apps: { app: string; healthy: number; desired: number; lastError: string | null }[];
}

describe.skipIf(!ok)("health checks at the node's address", () => {
  const temp = useTempRepos();
  const procs: BerthProcess[] = [];
  let ns: Netns | undefined;
  let stateDir = "";
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.stop();
    // A stopped agent leaves its processes running (deleting a namespace kills nothing): stop them.
    if (stateDir) await createProcessDriver({ stateDir }).close({ stopAll: true });
    ns?.remove();
    ns = undefined;
  });

  it("reports a loopback-only app and a node address that is not this host's, each with its cause", async () => {
    ns = createNetns({ addresses: [`${ADDRESS}/24`], tag: "addr" });
    const repo = await temp.makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      "nodes/w1.yaml": nodeYaml(ADDRESS),
      "apps/loop.yaml": appYaml("loop", { REPLY: "loop" }),
      "apps/good.yaml": appYaml("good", { REPLY: "good", LISTEN_ON_HOST: "1" }),
    });
    const dir = makeTempDir("berth-address-");
    stateDir = join(dir, "state");
    mkdirSync(stateDir);
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);
    const serve = spawnBerth(["serve", "--repo", repo.dir, "--listen", "127.0.0.1:0"], { netns: ns });
    procs.push(serve);
    const url = (await serve.waitForLine((l) => l.msg === "API listening", "the API")).url as string;
    const agent = spawnBerth(
      ["agent", "--node", "w1", "--url", url, "--token-file", join(dir, "token"), "--state-dir", stateDir],
      { netns: ns },
    );
    procs.push(agent);
    const summary = async (): Promise<Summary> => {
      const r = await runBerth(["status", "--url", url, "--json"], { netns: ns, cwd: dir });
      return JSON.parse(r.stdout) as Summary;
    };

    const done = await waitFor(
      "good healthy and loop failing with its cause",
      async () => {
        const s = await summary();
        const good = s.apps.find((a) => a.app === "good");
        const loop = s.apps.find((a) => a.app === "loop");
        return good?.healthy === 1 && loop?.lastError?.includes("listens on 127.0.0.1 only") ? s : undefined;
      },
      60_000,
    );
    const loop = done.apps.find((a) => a.app === "loop");
    expect(loop?.healthy).toBe(0);
    expect(loop?.lastError).toMatch(
      new RegExp(
        `listens on 127\\.0\\.0\\.1 only: proxies on other nodes cannot reach it at ${ADDRESS.replace(/\./g, "\\.")}:\\d+`,
      ),
    );
    expect(loop?.lastError).toContain(`berth sets to ${ADDRESS}`);

    // The node's address names another host: said as a node problem, with this host's addresses.
    writeFileSync(join(repo.dir, "nodes/w1.yaml"), nodeYaml("10.77.9.9"));
    repo.git("commit", "-qam", "w1: wrong address");
    const wrong = await waitFor(
      "address problem reported",
      async () => {
        const s = await summary();
        const w1 = s.nodes.find((n) => n.node === "w1");
        return w1?.problems.some((p) => p.startsWith("address-not-local")) ? w1 : undefined;
      },
      60_000,
    );
    const problem = wrong.problems.find((p) => p.startsWith("address-not-local")) as string;
    expect(problem).toContain("the address of node w1, 10.77.9.9, is not an address of this host");
    expect(problem).toContain(`its addresses: ${ADDRESS}`);
    expect(problem).toContain("fix `address` in nodes/w1.yaml");
    expect(wrong.phase).not.toBe("converged");
  });
});
