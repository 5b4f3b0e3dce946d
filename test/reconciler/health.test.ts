// Stuck states are visible: the health rules as a table (a problem counts once it lasted the
// bound), and `berth serve` end to end — publishing and status writes blocked by a lock a live
// writer holds make /healthz answer 503 with the problems, /metrics say berth_degraded 1,
// `berth status --url` print them and the event stream carry `degraded`; once the lock goes,
// everything recovers by itself (`recovered`, 200, the waiting commit published).
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HealthTracker } from "../../reconciler/health/tracker.js";
import { cliArgs, projectRoot, runBerth } from "../helpers/berth-cli.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { statusReport } from "./crash-sweep.js";
import { appYaml, baseConfig, tokenOf, waitFor } from "./helpers.js";

const ok = requireTool("git");
const A = "a".repeat(40);
const B = "b".repeat(40);

describe("health rules", () => {
  const tracker = () => new HealthTracker(1_000, () => "main");

  it("is ok while a problem is younger than the bound, degraded after", () => {
    const h = tracker();
    h.publishFailed("push failed: 500", 0);
    h.publishFailed("push failed: 502", 500);
    expect(h.view(999)).toEqual({ status: "ok", problems: [] });
    const v = h.view(1_000);
    expect(v.status).toBe("degraded");
    expect(v.problems).toEqual([
      {
        problem: "publish-failing",
        message: "publishing has failed 2 times in the last 1 s (retrying): push failed: 502",
        since: new Date(0).toISOString(),
      },
    ]);
    h.publishSucceeded();
    expect(h.view(5_000).status).toBe("ok");
  });

  it("counts the tracked branch ahead of what is handled", () => {
    const h = tracker();
    h.handled(A, 0);
    h.tipSeen(A, 0);
    expect(h.view(10_000).status).toBe("ok");
    h.tipSeen(B, 100);
    expect(h.view(1_099).status).toBe("ok");
    expect(h.view(1_100).problems.map((p) => [p.problem, p.message])).toEqual([
      [
        "publish-behind",
        "main has been at bbbbbbb for 1 s but what is published comes from aaaaaaa; agents run the older config",
      ],
    ]);
    // Handling it (published, unchanged or rejected) ends the problem.
    h.handled(B, 1_200);
    expect(h.view(9_000).status).toBe("ok");
  });

  it("reports status writes that keep failing, apart from publishing", () => {
    const h = tracker();
    h.statusWriteFailed("lock exists", 0);
    expect(h.view(2_000).problems.map((p) => p.problem)).toEqual(["status-write-failing"]);
    h.statusWriteSucceeded();
    expect(h.view(2_000).status).toBe("ok");
  });
});

describe.skipIf(!ok)("berth serve says when it is stuck", () => {
  const temp = useTempRepos();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }
    }
  });

  /** A lock kept fresh, as a live (hung) git process would hold it: never judged stale. */
  function holdLock(path: string): () => void {
    writeFileSync(path, "");
    const t = setInterval(() => {
      const now = new Date();
      utimesSync(path, now, now);
    }, 100);
    return () => {
      clearInterval(t);
      rmSync(path, { force: true });
    };
  }

  it("degraded while publishing and status writes are blocked, recovered after", {
    timeout: 120_000,
  }, async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const child = spawn(
      process.execPath,
      cliArgs([
        "serve",
        "--repo",
        repo.dir,
        "--listen",
        "127.0.0.1:0",
        "--degraded-after",
        "0.5",
        "--status-batch",
        "0.1",
        "--interval",
        "1",
      ]),
      { cwd: projectRoot, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
    );
    children.push(child);
    let log = "";
    child.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    const url = await waitFor("API url", () => /"url":"(http:[^"]+)"/.exec(log)?.[1], 60_000);
    await waitFor(
      "first publish",
      async () =>
        ((await fetch(`${url}/healthz`).then((r) => r.json())) as { commit?: string }).commit === c1,
    );
    const healthy = await fetch(`${url}/healthz`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toMatchObject({ status: "ok", problems: [], generation: 1 });

    const gitdir = join(repo.dir, ".git");
    const release = [
      holdLock(join(gitdir, "refs/heads/berth/desired.lock")),
      holdLock(join(gitdir, "refs/heads/berth/status.lock")),
    ];
    try {
      const c2 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "web 1.27");
      const put = await fetch(`${url}/v1/nodes/node-a/status`, {
        method: "PUT",
        headers: { authorization: `Bearer ${tokenOf("node-a")}`, "content-type": "application/json" },
        body: JSON.stringify(statusReport("9.9.9")),
      });
      expect(put.status).toBe(204);

      const problems = await waitFor("503 with the three problems", async () => {
        const res = await fetch(`${url}/healthz`);
        const body = (await res.json()) as {
          status: string;
          problems: { problem: string; message: string }[];
        };
        const names = body.problems.map((p) => p.problem).sort();
        return res.status === 503 &&
          body.status === "degraded" &&
          names.join() === "publish-behind,publish-failing,status-write-failing"
          ? body.problems
          : null;
      });
      const byName = Object.fromEntries(problems.map((p) => [p.problem, p.message]));
      expect(byName["publish-failing"]).toMatch(/publishing has failed \d+ times? .*desired\.lock exists/);
      expect(byName["publish-behind"]).toContain(`main has been at ${c2.slice(0, 7)}`);
      expect(byName["status-write-failing"]).toContain("status.lock exists");

      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^berth_degraded 1$/m);
      expect(metrics).toMatch(/^berth_health_problem\{problem="publish-failing"\} 1$/m);

      const text = await runBerth(["status", "--repo", repo.dir, "--url", url]);
      expect(text.stdout).toMatch(/^Degraded: publishing has failed/m);
      expect(text.stdout).toMatch(/^Degraded: main has been at/m);
      const json = await runBerth(["status", "--repo", repo.dir, "--url", url, "--json"]);
      expect(JSON.parse(json.stdout).reconciler.health.status).toBe("degraded");
      // Read from the repo alone, the unpublished commit shows too.
      const local = await runBerth(["status", "--repo", repo.dir]);
      expect(local.stdout).toContain(`Not published: main is at ${c2.slice(0, 7)} (1 commit after it)`);

      for (const f of release.splice(0)) f();
      await waitFor("recovered: 200 and the commit published", async () => {
        const res = await fetch(`${url}/healthz`);
        const body = (await res.json()) as { commit: string; status: string };
        return res.status === 200 && body.status === "ok" && body.commit === c2;
      });
      const events = await (await fetch(`${url}/v1/events?follow=0`)).text();
      const of = (type: string) =>
        events
          .split("\n\n")
          .filter((chunk) => chunk.includes(`event: ${type}\n`))
          .map((chunk) => JSON.parse(/^data: (.*)$/m.exec(chunk)?.[1] ?? "{}").data);
      expect(
        of("degraded")
          .map((d) => d.problem)
          .sort(),
      ).toEqual(["publish-behind", "publish-failing", "status-write-failing"]);
      for (const d of of("degraded")) expect(typeof d.message).toBe("string");
      await waitFor("recovered events", async () => {
        const again = await (await fetch(`${url}/v1/events?follow=0`)).text();
        return (again.match(/event: recovered\n/g) ?? []).length === 3;
      });
    } finally {
      for (const f of release) f();
    }
  });
});
