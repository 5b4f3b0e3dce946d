// `berth logs` and `berth restart` on a small cluster: a real `berth serve` (child process) on a
// real git repo, three real agents (two nodes with the process runtime sharing a 2-replica app,
// one podman node with a container app), and the berth CLI as a person runs it. Proves merge
// order across nodes and instances, tags, -n, --since, --grep, -f with new lines arriving, a
// restart in the middle of a follow, the output of replaced instances (processes and containers),
// binary garbage and a 1 MiB line, ANSI and \r progress, and a secret value printed by the app
// (redacted everywhere).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAgent, startAgent } from "../../agent/index.js";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import type { LogLine } from "../../schema/index.js";
import { cliArgs, projectRoot, runBerth } from "../helpers/berth-cli.js";
import { makeRepo, type TestRepo } from "../helpers/git-repo.js";
import { buildCommandImage, podman, removeNodeContainers, uniqueApp, uniqueNode } from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { randomPortBase, waitFor } from "./helpers.js";

const ok = requireTool("git") && requireTool("podman") && requireTool("/bin/busybox", ["true"]);

const SECRET = "s3cret-t0ken-printed-by-the-app";
const pa = uniqueNode("pa");
const pb = uniqueNode("pb");
const cn = uniqueNode("cn");
const ctalk = uniqueApp("ctalk");

// The process app: noisy start (ANSI, \r progress, the secret, binary garbage, a 1 MiB line),
// then a tick every 150 ms; stops cleanly on SIGTERM.
const talkScript = `import { createServer } from "node:http";
const id = process.pid;
const w = (s) => process.stdout.write(s);
w("start " + id + "\\n");
w("\\x1b[1;32mgreen\\x1b[0m text\\n");
w("progress 10%\\rprogress 50%\\rprogress 100%\\n");
w("token=" + process.env.API_TOKEN + "\\n");
w(Buffer.from([0x62, 0x69, 0x6e, 0x00, 0x01, 0x07, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x3a, 0x0a]));
w("BIG" + "x".repeat(1024 * 1024) + "\\n");
let n = 0;
const t = setInterval(() => w("tick " + n++ + " from " + id + "\\n"), 150);
const s = createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => { clearInterval(t); w("bye " + id + "\\n"); s.close(() => process.exit(0)); s.closeIdleConnections(); });
`;
const containerCmd = [
  "/bin/busybox",
  "sh",
  "-c",
  'echo "cstart $$"; printf "\\033[31mred\\033[0m box\\n"; echo "ctoken=$API_TOKEN"; i=0; while true; do echo "ctick $i"; i=$((i+1)); /bin/busybox sleep 0.2; done',
];

interface Follower {
  lines: LogLine[];
  events: { type: string }[];
  stop(): Promise<void>;
}

/** `berth logs -f --json …` as a child process, its events collected as they arrive. */
function follow(url: string, app: string, extra: string[] = []): Follower {
  const child: ChildProcess = spawn(
    process.execPath,
    cliArgs(["logs", app, "-f", "--json", "--url", url, ...extra]),
    { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  const f: Follower = {
    lines: [],
    events: [],
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    },
  };
  let partial = "";
  child.stdout?.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      const e = JSON.parse(p) as { type: string } & LogLine;
      f.events.push(e);
      if (e.type === "line") f.lines.push(e);
    }
  });
  return f;
}

const jsonLines = (stdout: string) =>
  stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string } & LogLine);

describe.skipIf(!ok)("berth logs and berth restart on a cluster (real berth serve, three agents)", () => {
  let repo: TestRepo;
  let image = "";
  let serve: ChildProcess;
  let url = "";
  const agents: RunningAgent[] = [];
  const stateDirs: string[] = [];

  beforeAll(async () => {
    image = await buildCommandImage(containerCmd);
    const tokens = { [pa]: generateToken(), [pb]: generateToken(), [cn]: generateToken() };
    const node = (name: string, runtime: string, base: number) =>
      [
        "kind: Node",
        `name: ${name}`,
        "address: 127.0.0.1",
        "roles: [worker]",
        `runtime: ${runtime}`,
        `portRange: [${base}, ${base + 99}]`,
        `tokenSha256: ${sha256Hex(tokens[name] as string)}`,
        "",
      ].join("\n");
    // Three port ranges of 100 in a row, clear of the other tests' (randomPortBase spreads them).
    const base = randomPortBase(3);
    repo = await makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      [`nodes/${pa}.yaml`]: node(pa, "process", base),
      [`nodes/${pb}.yaml`]: node(pb, "process", base + 100),
      [`nodes/${cn}.yaml`]: node(cn, "podman", base + 200),
      "apps/talk.yaml": [
        "kind: App",
        "name: talk",
        'command: ["node", "talk.mjs"]',
        "workdir: apps/talk",
        "port: 8080",
        "replicas: 2",
        "env:",
        `  API_TOKEN: ${SECRET}`,
        "health:",
        "  path: /",
        "  intervalSeconds: 0.5",
        "",
      ].join("\n"),
      "apps/talk/talk.mjs": talkScript,
      [`apps/${ctalk}.yaml`]: [
        "kind: App",
        `name: ${ctalk}`,
        `image: ${image}`,
        "replicas: 1",
        "env:",
        `  API_TOKEN: ${SECRET}`,
        "",
      ].join("\n"),
    });
    serve = spawn(process.execPath, cliArgs(["serve", "--repo", repo.dir, "--listen", "127.0.0.1:0"]), {
      cwd: projectRoot,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let log = "";
    serve.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    url = await waitFor(
      "berth serve listening",
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(log)?.[1],
      60_000,
    );
    for (const name of [pa, pb, cn]) {
      const stateDir = mkdtempSync(join(tmpdir(), `berth-e2e-${name}-`));
      stateDirs.push(stateDir);
      agents.push(
        await startAgent({
          node: name,
          url,
          token: tokens[name] as string,
          stateDir,
          baseDir: repo.dir,
          publishAddress: "127.0.0.1",
          pollWaitSeconds: 20,
          logger: pino({ level: "silent" }),
        }),
      );
    }
    const head = repo.git("rev-parse", "HEAD");
    let last = "";
    await waitFor(
      "every node converged",
      async () => {
        const res = await fetch(`${url}/v1/nodes`);
        last = JSON.stringify(await res.clone().json()).slice(0, 3000);
        const body = (await res.json()) as {
          published: { commit: string };
          nodes: { phase: string; inSync: boolean }[];
        };
        return (
          body.published.commit === head &&
          body.nodes.length === 3 &&
          body.nodes.every((n) => n.phase === "converged" && n.inSync)
        );
      },
      120_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last /v1/nodes: ${last}; serve log: ${log.slice(-3000)}`);
    });
    // Some ticks on every instance.
    await new Promise((r) => setTimeout(r, 1_500));
  }, 300_000);

  afterAll(async () => {
    for (const a of agents) await a.stop({ stopWorkloads: true }).catch(() => undefined);
    serve?.kill("SIGTERM");
    await removeNodeContainers(cn);
    if (image) await podman("rmi", "-f", image);
    await repo?.cleanup();
    for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  it("merges both nodes' output in time order, tagged, sanitised and redacted", async () => {
    const r = await runBerth(["logs", "talk", "-n", "10000", "--json", "--url", url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    const lines = events.filter((e) => e.type === "line");
    expect(events.at(-1)).toEqual({ type: "end", complete: true, missing: [] });
    // Each line is tagged with its node and instance: one replica per node, plus berth's own lines.
    const tags = new Set(lines.map((l) => `${l.node}/${l.instance}`));
    const appTags = new Set(lines.filter((l) => l.origin === "app").map((l) => `${l.node}/${l.instance}`));
    expect(appTags.size).toBe(2);
    for (const t of appTags) expect(t).toMatch(new RegExp(`^(${pa}|${pb})/berth-talk-[01]-a$`));
    expect(new Set([...appTags].map((t) => t.split("/")[0]))).toEqual(new Set([pa, pb]));
    for (const t of tags) expect(t).toMatch(new RegExp(`^(${pa}|${pb})/(berth-talk-[01]-a|berth)$`));
    const nodesWithTicks = new Set(lines.filter((l) => l.line.startsWith("tick ")).map((l) => l.node));
    expect(nodesWithTicks).toEqual(new Set([pa, pb]));
    // Time order across nodes.
    const times = lines.map((l) => Date.parse(l.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Each instance's own lines keep their order.
    for (const node of [pa, pb]) {
      const ticks = lines
        .filter((l) => l.node === node && l.line.startsWith("tick "))
        .map((l) => Number(l.line.split(" ")[1]));
      expect(ticks).toEqual([...ticks].sort((a, b) => a - b));
    }
    const texts = lines.map((l) => l.line);
    expect(texts).toContain("green text");
    expect(texts).toContain("progress 100%");
    expect(texts).toContain("token=[redacted]");
    expect(r.stdout).not.toContain(SECRET);
    const big = texts.find((t) => t.startsWith("BIG"));
    expect(big).toMatch(/^BIGx+ … \[line truncated at 8192 bytes: 1048579 bytes written\]$/);
    expect(Buffer.byteLength(big as string)).toBeLessThanOrEqual(8192);
    const garbage = texts.find((t) => t.startsWith("bin"));
    expect(garbage).toMatch(/^bin\ufffd\ufffd:$/);
    // berth's own lines about the app: the deploy steps.
    expect(
      lines.some((l) => l.origin === "berth" && /^create talk-0: no instance running/.test(l.line)),
    ).toBe(true);
    // Nothing that could move a terminal's cursor.
    expect(texts.join("\n")).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  }, 60_000);

  it("-n, --since, --grep and --node, in text", async () => {
    const n5 = jsonLines((await runBerth(["logs", "talk", "-n", "5", "--json", "--url", url])).stdout).filter(
      (e) => e.type === "line",
    );
    expect(n5).toHaveLength(5);

    const all = jsonLines(
      (await runBerth(["logs", "talk", "-n", "10000", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    const cut = all[Math.floor(all.length / 2)] as LogLine;
    const since = jsonLines(
      (await runBerth(["logs", "talk", "-n", "10000", "--since", cut.time, "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    expect(since.length).toBeGreaterThan(0);
    expect(since.every((l) => Date.parse(l.time) >= Date.parse(cut.time))).toBe(true);
    expect(since.length).toBeLessThan(all.length + 50);
    // A duration counts back from when the command runs: ticks of the last 3 s, nothing older.
    // The window must have older lines to leave out: the app may be younger than that yet (the
    // bundled CLI got here in under 3 s), so wait until its first tick is 4 s old.
    await sleep(Math.max(0, Date.parse((all[0] as LogLine).time) + 4_000 - Date.now()));
    const asked = Date.now();
    const recent = jsonLines(
      (await runBerth(["logs", "talk", "-n", "10000", "--since", "3s", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    expect(recent.some((l) => l.line.startsWith("tick "))).toBe(true);
    expect(recent.every((l) => Date.parse(l.time) >= asked - 3_000)).toBe(true);
    // And older lines exist, so the window left some out. (Comparing counts with the earlier `all`
    // failed on a busy machine: ticks keep coming, more than its count's worth between the two.)
    expect(all.some((l) => Date.parse(l.time) < asked - 3_000)).toBe(true);

    const grep = jsonLines(
      (await runBerth(["logs", "talk", "--grep", "^tick [0-9]*0 ", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    expect(grep.length).toBeGreaterThan(0);
    expect(grep.every((l) => /^tick [0-9]*0 /.test(l.line))).toBe(true);

    const one = jsonLines(
      (await runBerth(["logs", "talk", "--node", pb, "-n", "50", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    expect(one.length).toBeGreaterThan(0);
    expect(one.every((l) => l.node === pb)).toBe(true);

    const text = await runBerth(["logs", "talk", "-n", "3", "--url", url]);
    expect(text.code).toBe(0);
    const rows = text.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(3);
    for (const row of rows)
      expect(row).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (pa|pb)-\S+\/(talk-[01]-a|berth) +\S/);

    const bad = await runBerth(["logs", "talk", "--grep", "(a)\\1", "--url", url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: --grep: grep pattern "\(a\)\\\\1" needs backtracking/);
    expect(bad.stderr).not.toMatch(/at .*\.ts:\d+/);
    const unknown = await runBerth(["logs", "nope", "--url", url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: nope runs on no node in generation \d+ and no node reports it/);
  }, 120_000);

  it("-f shows new lines as they come, and a restart in the middle shows the new instances", async () => {
    const f = follow(url, "talk", ["-n", "0"]);
    try {
      await waitFor("caught up", () => f.events.some((e) => e.type === "caught-up"), 30_000);
      await waitFor(
        "new ticks from both nodes",
        () => new Set(f.lines.filter((l) => l.line.startsWith("tick ")).map((l) => l.node)).size === 2,
        30_000,
      );
      const r = await runBerth(["restart", "talk", "--url", url]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/restart succeeded: restarted talk on /);
      // The new instances (slot b) appear in the same follow, from their first line.
      await waitFor(
        "lines of both new instances",
        () =>
          f.lines.some((l) => l.instance === "berth-talk-0-b" && l.line.startsWith("start ")) &&
          f.lines.some((l) => l.instance === "berth-talk-1-b" && l.line.startsWith("tick ")),
        30_000,
      );
      expect(
        f.lines.some((l) => l.origin === "berth" && /^restart talk-0: asked with berth restart/.test(l.line)),
      ).toBe(true);
      // An old instance says bye when it is stopped, once it has drained after its successor.
      await waitFor(
        "an old instance's last line",
        () => f.lines.some((l) => /^bye \d+$/.test(l.line)),
        30_000,
      );
      expect(JSON.stringify(f.lines)).not.toContain(SECRET);
    } finally {
      await f.stop();
    }
    // The replaced instances' output is still there, beside the new ones'.
    const all = jsonLines(
      (await runBerth(["logs", "talk", "-n", "10000", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    const instances = new Set(all.filter((l) => l.origin === "app").map((l) => l.instance));
    expect(instances).toEqual(
      new Set(["berth-talk-0-a", "berth-talk-1-a", "berth-talk-0-b", "berth-talk-1-b"]),
    );
  }, 180_000);

  it("containers: history, follow across a restart, and the removed container's output", async () => {
    const first = jsonLines(
      (await runBerth(["logs", ctalk, "-n", "10000", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line");
    const app = first.filter((l) => l.origin === "app");
    expect(app.every((l) => l.node === cn && l.instance === `berth-${ctalk}-0-a`)).toBe(true);
    expect(app.map((l) => l.line)).toEqual(
      expect.arrayContaining(["red box", "ctoken=[redacted]", "ctick 0"]),
    );

    const f = follow(url, ctalk, ["-n", "0"]);
    try {
      await waitFor("caught up", () => f.events.some((e) => e.type === "caught-up"), 30_000);
      await waitFor("new ticks", () => f.lines.some((l) => l.line.startsWith("ctick ")), 30_000);
      const r = await runBerth(["restart", ctalk, "--url", url]);
      expect(r.code).toBe(0);
      await waitFor(
        "the new container's first lines",
        () => f.lines.some((l) => l.instance === `berth-${ctalk}-0-b` && l.line.startsWith("cstart ")),
        60_000,
      );
    } finally {
      await f.stop();
    }
    // The old container is gone from podman, but its output was kept.
    const all = jsonLines(
      (await runBerth(["logs", ctalk, "-n", "10000", "--json", "--url", url])).stdout,
    ).filter((e) => e.type === "line" && e.origin === "app");
    expect(new Set(all.map((l) => l.instance))).toEqual(
      new Set([`berth-${ctalk}-0-a`, `berth-${ctalk}-0-b`]),
    );
    expect(all.filter((l) => l.line.startsWith("cstart "))).toHaveLength(2);
    expect(JSON.stringify(all)).not.toContain(SECRET);
  }, 180_000);
});
