// A bounded slow-connection flood against `berth serve` (a child process) on 127.0.0.1: 1,900
// connections for at most 14 s — idle ones, slowloris headers and trickled webhook bodies from
// many loopback addresses on both the public webhook listener and the main one, plus 300 from a
// single address. While it runs, agents (127.0.0.1) keep being served on fresh connections:
// long-polls, status PUTs and /healthz all answer. The server's open files stay bounded by the
// caps, the slow connections are cut at their deadlines, and a signed webhook gets through after.
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { cliArgs, projectRoot } from "../helpers/berth-cli.js";
import { type Flood, startFlood } from "../helpers/flood.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { statusReport } from "./crash-sweep.js";
import { baseConfig, tokenOf, waitFor } from "./helpers.js";

const ok = requireTool("git");
const SECRET = "flood-webhook-secret";

describe.skipIf(!ok)("berth serve under a slow-connection flood", () => {
  const temp = useTempRepos();
  const children: ChildProcess[] = [];
  const floods: Flood[] = [];
  afterEach(async () => {
    for (const f of floods.splice(0)) f.stop();
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }
    }
  });

  it("keeps serving agents and health while it runs", { timeout: 120_000 }, async () => {
    const repo = await temp.makeRepo(baseConfig());
    const secretFile = join(temp.makeTempDir("berth-secret-"), "secret");
    writeFileSync(secretFile, SECRET);
    // Under the open-file limit systemd gives services by default (soft 1024): without caps the
    // flood alone exhausts it and the server cannot accept agents nor run git.
    const args = cliArgs([
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      "127.0.0.1:0",
      "--webhook-listen",
      "127.0.0.1:0",
      "--webhook-secret-file",
      secretFile,
      "--max-connections",
      "600",
    ]);
    const child = spawn("sh", ["-c", 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, ...args], {
      cwd: projectRoot,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    children.push(child);
    let log = "";
    child.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    const url = await waitFor("API url", () => /"url":"(http:[^"]+)"/.exec(log)?.[1], 60_000);
    const hooksUrl = /"webhookUrl":"(http:[^"]+)"/.exec(log)?.[1] as string;
    expect(hooksUrl).toBeDefined();
    const doc = await waitFor("first publish", async () => {
      const res = await fetch(`${url}/v1/nodes/node-a/desired`, {
        headers: { authorization: `Bearer ${tokenOf("node-a")}` },
      });
      return res.status === 200 ? ((await res.json()) as { hash: string }) : null;
    });
    // The webhook listener serves webhooks only.
    expect((await fetch(`${hooksUrl}/healthz`)).status).toBe(404);

    const port = (u: string) => Number(new URL(u).port);
    const common = { tickMs: 1_000, maxMs: 14_000 };
    floods.push(
      startFlood({
        ...common,
        port: port(hooksUrl),
        count: 900,
        kinds: ["idle", "headers", "body"],
        octet: 1,
      }),
      startFlood({ ...common, port: port(url), count: 700, kinds: ["idle", "headers"], octet: 10 }),
      startFlood({ ...common, port: port(url), count: 300, kinds: ["idle"], perAddress: 300, octet: 20 }),
    );
    const started = Date.now();

    // Agents on fresh connections for 12 s of flood: every call must be answered.
    const failures: string[] = [];
    let calls = 0;
    const fresh = () => new Agent({ connections: 1, pipelining: 0 });
    const call = async (what: string, f: (d: Agent) => Promise<number>, want: number[]) => {
      const d = fresh();
      try {
        const status = await f(d);
        calls++;
        if (!want.includes(status)) failures.push(`${what}: ${status}`);
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      } finally {
        await d.close();
      }
    };
    const auth = { authorization: `Bearer ${tokenOf("node-a")}` };
    let round = 0;
    while (Date.now() - started < 12_000) {
      round++;
      await Promise.all([
        call(
          "healthz",
          async (d) => {
            const r = await request(`${url}/healthz`, { dispatcher: d, headersTimeout: 10_000 });
            await r.body.text();
            return r.statusCode;
          },
          [200],
        ),
        call(
          "status PUT",
          async (d) => {
            const r = await request(`${url}/v1/nodes/node-a/status`, {
              method: "PUT",
              dispatcher: d,
              headers: { ...auth, "content-type": "application/json" },
              body: JSON.stringify(statusReport(`0.0.${round}`)),
              headersTimeout: 10_000,
            });
            await r.body.text();
            return r.statusCode;
          },
          [204],
        ),
        call(
          "long-poll",
          async (d) => {
            const r = await request(`${url}/v1/nodes/node-a/desired?wait=1`, {
              dispatcher: d,
              headers: { ...auth, "if-none-match": `"${doc.hash}"` },
              headersTimeout: 10_000,
            });
            await r.body.text();
            return r.statusCode;
          },
          [304],
        ),
      ]);
    }
    expect(failures).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(9);

    // The flood was really there, capped, and cut at its deadlines.
    const [hooks, main, single] = floods as [Flood, Flood, Flood];
    expect(hooks.stats.opened + main.stats.opened + single.stats.opened).toBeGreaterThan(1_500);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
    expect(
      value(/berth_http_connections_refused_total\{listener="webhooks",reason="evicted"\} (\d+)/),
    ).toBeGreaterThan(0);
    expect(
      value(/berth_http_connections_refused_total\{listener="api",reason="evicted"\} (\d+)/),
    ).toBeGreaterThan(0);
    expect(value(/berth_http_connections_refused_total\{listener="api",reason="per_client"\} (\d+)/)).toBe(
      44,
    );
    // The caps were lowered to fit 1024 open files, with room left for git and files.
    expect(log).toContain("caps lowered to fit");
    expect(value(/berth_http_connections_open\{listener="api"\} (\d+)/)).toBeLessThanOrEqual(600);
    expect(value(/berth_http_connections_open\{listener="webhooks"\} (\d+)/)).toBeLessThanOrEqual(512);
    expect(readdirSync(`/proc/${child.pid}/fd`).length).toBeLessThan(1024 - 100);
    // Slow bodies beyond 32 at once were answered 503 without being read; the rest 408 at 10 s.
    await waitFor(
      "webhook bodies refused and timed out",
      () => (hooks.stats.answers["408"] ?? 0) > 0,
      20_000,
    );
    expect(hooks.stats.answers["503"] ?? 0).toBeGreaterThan(0);
    await waitFor(
      "slowloris connections cut by the server",
      () => hooks.stats.closedByServer + main.stats.closedByServer > 1_000,
      20_000,
    );
    for (const f of floods) f.stop();

    // A real (signed) delivery is accepted once the flood is over.
    const body = JSON.stringify({ zen: "flood over", hook_id: 1 });
    const sig = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
    await waitFor("a signed ping through the webhook listener", async () => {
      const res = await fetch(`${hooksUrl}/v1/webhooks/github`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "ping",
          "x-github-delivery": "after-flood",
          "x-hub-signature-256": sig,
        },
        body,
      }).catch(() => null);
      return res?.status === 200;
    });
  });
});
