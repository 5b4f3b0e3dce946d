// Why it failed, end to end (berth up: real reconciler, real git, real agent, real processes): one
// commit breaks seven apps in seven ways — a missing command file, a crash 2 s after start, a crash
// loop, a taken host port, a health path that answers 404, a never-healthy app, a missing workdir.
// For each, the cause is named in `berth status` (text and --json, real CLI), on the status branch
// and on the event stream (workload-failed), with the output excerpt where there is one, and the
// old version keeps serving.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { branchTip, readJsonFolder } from "../../cli/branch-files.js";
import type { StatusSummary } from "../../core/status/summary.js";
import type { NodeStatus } from "../../schema/index.js";
import { runBerth } from "../helpers/berth-cli.js";
import { makeRepo } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { type Bed, randomPortBase, repoBed, waitFor } from "./helpers.js";

const ok = requireTool("git");
const appScript = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const SECRET = "e2e-s3cret-db-password";

interface Case {
  app: string;
  /** v2's extra YAML (env, command, workdir, health) replacing v1's. */
  v2: (node: string) => string;
  where: "workload" | "runtime";
  cause: RegExp;
  /** Text expected in the output excerpt (lastExit.output or cause.output). */
  output?: string;
}

const health = (over = "") =>
  `health:\n  path: /healthz\n  intervalSeconds: 0.2\n  timeoutSeconds: 1\n  startPeriodSeconds: 600\n  unhealthyThreshold: 2\n${over}`;

const cases: Case[] = [
  {
    app: "missing",
    v2: () => `command: ["${process.execPath}", "does-not-exist.mjs"]\nworkdir: apps\n${health()}`,
    where: "workload",
    cause:
      /^exited with code 1 .*\(before it became healthy\); it printed: .*Cannot find module .*does-not-exist\.mjs/,
    output: "Cannot find module",
  },
  {
    app: "crashy",
    v2: () =>
      `command: ["${process.execPath}", "app.mjs"]\nworkdir: apps\nenv:\n  REPLY: v2\n  DB_PASSWORD: ${SECRET}\n  CRASH_AFTER_MS: "2000"\n  CRASH_MESSAGE: "fatal: database ${SECRET} refused"\n` +
      "health:\n  path: /healthz\n  intervalSeconds: 1\n  timeoutSeconds: 1\n  startPeriodSeconds: 600\n  healthyThreshold: 5\n  unhealthyThreshold: 2\n",
    where: "workload",
    cause:
      /^exited with code 7 \d.*after it started \(before it became healthy\); it printed: fatal: database \[redacted\] refused$/,
    output: "fatal: database [redacted] refused",
  },
  {
    app: "loop",
    v2: () =>
      `command: ["${process.execPath}", "app.mjs"]\nworkdir: apps\nenv:\n  CRASH_AFTER_MS: "200"\n  CRASH_BEFORE_LISTEN: "1"\n  CRASH_MESSAGE: "panic: bad config"\n${health()}`,
    where: "workload",
    cause: /panic: bad config/,
    output: "panic: bad config",
  },
  {
    app: "port",
    v2: () => `command: ["${process.execPath}", "app.mjs"]\nworkdir: apps\nenv:\n  REPLY: v2\n${health()}`,
    where: "runtime",
    cause: /^host port \d+ is taken by a program berth did not start/,
  },
  {
    app: "notfound",
    v2: () =>
      `command: ["${process.execPath}", "app.mjs"]\nworkdir: apps\nenv:\n  HEALTHZ_STATUS: "404"\n${health()}`,
    where: "workload",
    cause: /answers 404 Not Found: the app runs but has no \/healthz \(check health\.path\)$/,
    output: "app listening on",
  },
  {
    app: "never",
    v2: () =>
      `command: ["${process.execPath}", "app.mjs"]\nworkdir: apps\nenv:\n  UNHEALTHY: "1"\n` +
      "health:\n  path: /healthz\n  intervalSeconds: 0.2\n  timeoutSeconds: 1\n  startPeriodSeconds: 1\n  unhealthyThreshold: 2\n",
    where: "workload",
    cause: /answers 503: the app says it is not healthy$/,
    output: "app listening on",
  },
  {
    app: "nowork",
    v2: () => `command: ["${process.execPath}", "app.mjs"]\nworkdir: apps/not-there\n${health()}`,
    where: "runtime",
    cause: /^workdir .*apps\/not-there does not exist on this node/,
  },
];

const v1Yaml = (app: string) =>
  [
    "kind: App",
    `name: ${app}`,
    `command: ["${process.execPath}", "app.mjs"]`,
    "workdir: apps",
    "port: 8080",
    "env:",
    `  REPLY: v1-${app}`,
    health(),
  ].join("\n");

const v2Yaml = (c: Case) => [`kind: App`, `name: ${c.app}`, "port: 8080", c.v2("local")].join("\n");

describe.skipIf(!ok)("why it failed, end to end (berth up, real processes)", () => {
  let bed: Bed;
  let bad: string;
  const hostPort = new Map<string, number>();
  let squatter: Server | null = null;

  beforeAll(async () => {
    const base = randomPortBase();
    const files: Record<string, string> = {
      "berth.yaml": "kind: Settings\nbranch: main\n",
      "nodes/local.yaml": `kind: Node\nname: local\naddress: 127.0.0.1\nroles: [worker]\nruntime: process\nportRange: [${base}, ${base + 99}]\n`,
      // The app script lives in the repo, where the workdirs point (the agent's base dir).
      "apps/app.mjs": readFileSync(appScript, "utf8"),
    };
    for (const c of cases) files[`apps/${c.app}.yaml`] = v1Yaml(c.app);
    const repo = await makeRepo(files);
    bed = await repoBed(repo, { caddy: false });
    await bed.start();
    await bed.converged(repo.git("rev-parse", "HEAD"), 90_000);
    for (const w of bed.host.agent.status().workloads) hostPort.set(w.app, w.hostPort as number);
    // Something outside berth takes the port the `port` app's new version needs (slot b).
    squatter = createServer();
    await new Promise<void>((r) => squatter?.listen((hostPort.get("port") as number) + 1, "127.0.0.1", r));
    const change: Record<string, string> = {};
    for (const c of cases) change[`apps/${c.app}.yaml`] = v2Yaml(c);
    bad = await bed.repo.commit(change, "break seven apps in seven ways");
  }, 180_000);

  afterAll(async () => {
    await new Promise((r) => (squatter ? squatter.close(r) : r(undefined)));
    await bed?.cleanup();
  }, 120_000);

  const v1Serves = async (app: string) => {
    const res = await fetch(`http://127.0.0.1:${hostPort.get(app)}/`, { signal: AbortSignal.timeout(3_000) });
    return res.text();
  };

  it("berth status (text and --json, the real CLI) names each cause; the old versions keep serving", async () => {
    const summary = await waitFor(
      "every app failing with a cause in berth status --json",
      async () => {
        const r = await runBerth(["status", "--json", "--repo", bed.repo.dir, "--url", bed.host.url]);
        if (r.code !== 0) return false;
        const s = JSON.parse(r.stdout) as StatusSummary;
        const ready = cases.every((c) => {
          const a = s.apps.find((x) => x.app === c.app);
          return (
            a?.failing?.cause &&
            c.cause.test(a.failing.cause.message) &&
            (c.app !== "loop" || a.failing.state === "crash-looping")
          );
        });
        return ready ? s : false;
      },
      120_000,
    );
    for (const c of cases) {
      const a = summary.apps.find((x) => x.app === c.app);
      expect(a?.failing?.cause?.where, c.app).toBe(c.where);
      // Desired: v2 of the bad commit; serving: the previous version, healthy.
      expect(a?.desiredCommit, c.app).toBe(bad);
      expect(a?.serving, c.app).toEqual([
        { version: "previous", commit: expect.any(String), healthy: 1, running: 1 },
      ]);
      expect(a?.failing?.step, c.app).toMatch(new RegExp(`^replace ${c.app}-0: `));
      // Either a retry is under way, or the next one is announced.
      if (a?.failing?.status !== "running")
        expect(a?.failing?.nextAttemptAt, c.app).toEqual(expect.any(String));
      if (c.output) {
        const lines = [...(a?.failing?.lastExit?.output ?? []), ...(a?.failing?.cause?.output ?? [])];
        expect(lines.join("\n"), c.app).toContain(c.output);
      }
      expect(await v1Serves(c.app), c.app).toBe(`v1-${c.app}`);
    }
    expect(summary.apps.find((x) => x.app === "loop")?.failing?.restarts).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(summary)).not.toContain(SECRET);

    const text = await runBerth(["status", "--repo", bed.repo.dir, "--url", bed.host.url]);
    expect(text.code, text.stderr).toBe(0);
    for (const c of cases) {
      expect(text.stdout).toMatch(
        new RegExp(
          `^${c.app}: ${c.app}-0 on local is (failed|crash-looping).*the previous version keeps serving`,
          "m",
        ),
      );
    }
    expect(text.stdout).toMatch(
      /^ {2}cause: workload: exited with code 7 .*fatal: database \[redacted\] refused$/m,
    );
    expect(text.stdout).toContain("    | panic: bad config");
    expect(text.stdout).not.toContain(SECRET);
  }, 180_000);

  it("the status branch holds the same causes and excerpts", async () => {
    const local = await waitFor(
      "the status branch to show every cause",
      async () => {
        const tip = await branchTip(bed.repo.dir, "berth/status");
        if (!tip) return false;
        const st = (await readJsonFolder<NodeStatus>(bed.repo.dir, tip, "nodes")).get("local");
        const all = cases.every((c) => {
          const w = st?.workloads.find((x) => x.app === c.app);
          return w?.operation?.cause && c.cause.test(w.operation.cause.message);
        });
        return all ? st : false;
      },
      120_000,
    );
    for (const c of cases) {
      const w = local?.workloads.find((x) => x.app === c.app);
      expect(w?.operation?.cause?.where, c.app).toBe(c.where);
      expect(w?.health, c.app).toBe("healthy");
      if (c.output)
        expect([...(w?.lastExit?.output ?? []), ...(w?.operation?.cause?.output ?? [])].join("\n")).toContain(
          c.output,
        );
    }
    expect(JSON.stringify(local)).not.toContain(SECRET);
  }, 180_000);

  it("the event stream has a workload-failed event naming each cause", async () => {
    const events = bed.host.events.since(undefined).events.filter((e) => e.type === "workload-failed");
    for (const c of cases) {
      const e = events.find(
        (x) => x.data.app === c.app && c.cause.test(String((x.data.cause as { message?: string })?.message)),
      );
      expect(e, c.app).toBeDefined();
      expect((e?.data.cause as { where?: string } | undefined)?.where, c.app).toBe(c.where);
      expect(e?.data).toMatchObject({ node: "local", workload: `${c.app}-0` });
    }
    expect(events.some((e) => e.data.app === "loop" && e.data.state === "crash-looping")).toBe(true);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });
});
