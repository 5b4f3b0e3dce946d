// The process driver against real child processes: start → healthy over HTTP, an exit reported at
// once with its signal (the agent restarts, not the driver), the tail of its output, whole-group
// stop, SIGKILL after the grace period, log rotation, adoption by a new driver (same pid, no
// restart) and the death of an adopted process, and the files it keeps under the state dir.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { waitHealthy } from "../../agent/health/check.js";
import { type Instance, type RuntimeDriver, StartError } from "../../agent/runtime/driver.js";
import { createProcessDriver, type ProcessEvent } from "../../agent/runtime/process-driver.js";
import { appScript, fastHealth, freePortPair, httpGet, pidAlive, waitFor, workload } from "./support.js";

const driverHost = fileURLToPath(new URL("../fixtures/apps/driver-host.ts", import.meta.url));
const dirs: string[] = [];
const drivers: RuntimeDriver[] = [];
const strayPids: number[] = [];

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-proc-"));
  dirs.push(d);
  return d;
}

function driver(dir: string, extra: Partial<Parameters<typeof createProcessDriver>[0]> = {}): RuntimeDriver {
  const d = createProcessDriver({
    stateDir: dir,
    pollMs: 100,
    ...extra,
  });
  drivers.push(d);
  return d;
}

const pidOf = (i: Instance): number => Number(i.ref.replace("pid:", ""));

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close({ stopAll: true });
  for (const pid of strayPids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("process driver", () => {
  it("refuses a host port held by a process it did not start, naming the port, and starts nothing", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    // A foreign listener on loopback only: the wildcard probe still sees it.
    const foreign = createServer((_req, res) => res.end("foreign"));
    await new Promise<void>((ok) => foreign.listen(port, "127.0.0.1", ok));
    try {
      const d = driver(dir);
      const w = workload({ id: "web-0", hostPort: port, command: [process.execPath, appScript] });
      const err = await d.start(w, "a").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartError);
      expect((err as StartError).message).toContain(`host port ${port} is already in use`);
      expect((err as StartError).fact).toEqual({ kind: "port-in-use", port });
      expect(await d.list()).toEqual([]);
      expect(readdirSync(join(dir, "processes")).filter((f) => f.endsWith(".json"))).toEqual([]);
    } finally {
      await new Promise((ok) => foreign.close(ok));
    }
  });

  it("starts a command with PORT and env in its workdir, healthy over HTTP, and lists it", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const d = driver(dir, { baseDir: "/" });
    const w = workload({
      id: "web-0",
      hostPort: port,
      command: [process.execPath, appScript],
      env: { REPLY: "hi" },
      workdir: "tmp",
    });
    const inst = await d.start(w, "b");
    expect(inst).toMatchObject({
      name: "berth-web-0-b",
      workloadId: "web-0",
      app: "web",
      slot: "b",
      port: port + 1,
      state: "running",
      restarts: 0,
    });
    const health = await waitHealthy({ host: "127.0.0.1", port: port + 1 }, fastHealth);
    expect(health.ok).toBe(true);
    expect(health.detail).toBe(`GET http://127.0.0.1:${port + 1}/healthz: HTTP 200`);
    const res = await httpGet(`http://127.0.0.1:${port + 1}/`);
    expect(res.body).toBe("hi");
    expect(res.headers["x-pid"]).toBe(String(pidOf(inst)));
    expect(readlinkSync(`/proc/${pidOf(inst)}/cwd`)).toBe("/tmp");
    const listed = await d.list();
    expect(listed).toEqual([inst]);

    const rec = JSON.parse(readFileSync(join(dir, "processes", "berth-web-0-b.json"), "utf8"));
    expect(rec).toMatchObject({
      name: "berth-web-0-b",
      pid: pidOf(inst),
      pgid: pidOf(inst),
      slot: "b",
      port: port + 1,
      cwd: "/tmp",
      env: { REPLY: "hi", PORT: String(port + 1) },
    });
    expect(rec.startTime).toBeGreaterThan(0);
    expect(readFileSync(join(dir, "logs", "berth-web-0-b.log"), "utf8")).toContain(
      `app listening on 127.0.0.1:${port + 1}`,
    );
  });

  it("reports a process killed by hand (kill -9) at once, with its signal, and restarts nothing itself", async () => {
    const port = await freePortPair();
    const events: ProcessEvent[] = [];
    const exits: string[] = [];
    const d = driver(stateDir(), { onEvent: (e) => events.push(e), onExit: (name) => exits.push(name) });
    const inst = await d.start(
      workload({ id: "api-0", hostPort: port, command: [process.execPath, appScript] }),
      "a",
    );
    expect((await waitHealthy({ host: "127.0.0.1", port }, fastHealth)).ok).toBe(true);
    const waiting = d.waitExit(inst, new AbortController().signal);
    const t0 = Date.now();
    process.kill(pidOf(inst), "SIGKILL");
    const exit = await waiting;
    expect(exit).toMatchObject({ code: null, signal: "SIGKILL" });
    expect(exit?.at).toBeGreaterThanOrEqual(t0);
    expect(exits).toEqual(["berth-api-0-a"]);
    const [listed] = await d.list();
    expect(listed).toMatchObject({ ref: inst.ref, state: "exited", lastError: "killed by SIGKILL", exit });
    // Already exited: waitExit answers at once; the driver starts nothing by itself.
    expect(await d.waitExit(inst, new AbortController().signal)).toEqual(exit);
    await new Promise((r) => setTimeout(r, 300));
    expect((await d.list()).map((i) => i.state)).toEqual(["exited"]);
    expect(events.map((e) => e.kind)).toEqual(["started", "exited"]);
    // The agent starts it again in the same slot: a fresh process.
    const again = await d.start(
      workload({ id: "api-0", hostPort: port, command: [process.execPath, appScript] }),
      "a",
    );
    expect(again.ref).not.toBe(inst.ref);
    expect((await waitHealthy({ host: "127.0.0.1", port }, fastHealth)).ok).toBe(true);
  });

  it("waitExit gives the exit code of a process that fails at start; tail gives its last lines of this run only", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const d = driver(dir);
    const script =
      "console.log('first run'); console.error('Error: Cannot find module /x/missing.js'); process.exit(3)";
    const w = workload({ id: "bad-0", hostPort: port, command: [process.execPath, "-e", script] });
    const inst = await d.start(w, "a");
    const exit = await d.waitExit(inst, new AbortController().signal);
    expect(exit).toMatchObject({ code: 3, signal: null });
    expect(await d.tail(inst, 10)).toBe("first run\nError: Cannot find module /x/missing.js");
    expect(await d.tail(inst, 1)).toBe("Error: Cannot find module /x/missing.js");
    const w2 = workload({
      id: "bad-0",
      hostPort: port,
      command: [process.execPath, "-e", "console.log('second run'); process.exit(4)"],
    });
    const second = await d.start(w2, "a");
    expect(await d.waitExit(second, new AbortController().signal)).toMatchObject({ code: 4 });
    expect(await d.tail(second, 10)).toBe("second run");
    // A wait that is given up resolves with null.
    const third = await d.start(
      workload({ id: "ok-0", hostPort: port, command: [process.execPath, appScript] }),
      "b",
    );
    const ac = new AbortController();
    const pending = d.waitExit(third, ac.signal);
    ac.abort();
    expect(await pending).toBeNull();
  });

  it("stop kills the whole process group, grandchildren included, and forgets the instance", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const pidFile = join(dir, "grandchild.pid");
    const d = driver(dir);
    const inst = await d.start(
      workload({
        id: "tree-0",
        hostPort: port,
        command: [process.execPath, appScript],
        env: { GRANDCHILD_PID_FILE: pidFile },
      }),
      "a",
    );
    const grandchild = Number(
      await waitFor("grandchild pid file", () => existsSync(pidFile) && readFileSync(pidFile, "utf8")),
    );
    strayPids.push(grandchild);
    expect(pidAlive(grandchild)).toBe(true);
    await d.stop(inst, 5_000);
    expect(pidAlive(pidOf(inst))).toBe(false);
    expect(pidAlive(grandchild)).toBe(false);
    expect(await d.list()).toEqual([]);
    expect(readdirSync(join(dir, "processes"))).toEqual([]);
    expect(readFileSync(join(dir, "logs", "berth-tree-0-a.log"), "utf8")).toContain(
      "berth-tree-0-a stopped (terminated)",
    );
  });

  it("SIGKILLs a process that ignores SIGTERM once the grace period is over", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const d = driver(dir);
    const inst = await d.start(
      workload({
        id: "stubborn-0",
        hostPort: port,
        command: [process.execPath, appScript],
        env: { IGNORE_SIGTERM: "1" },
      }),
      "a",
    );
    await waitHealthy({ host: "127.0.0.1", port }, fastHealth);
    await d.stop(inst, 300);
    expect(pidAlive(pidOf(inst))).toBe(false);
    const log = readFileSync(join(dir, "logs", "berth-stubborn-0-a.log"), "utf8");
    expect(log).toContain("SIGTERM ignored");
    expect(log).toContain("berth-stubborn-0-a stopped (killed)");
  });

  it("rotates the log by copy-truncate while the child keeps writing", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const d = driver(dir, { logMaxBytes: 2_000, logFiles: 2 });
    const line = "L".repeat(99);
    await d.start(
      workload({
        id: "chatty-0",
        hostPort: port,
        command: [process.execPath, appScript],
        env: { LOG_EVERY_MS: "5", LOG_LINE: line },
      }),
      "a",
    );
    const log = join(dir, "logs", "berth-chatty-0-a.log");
    await waitFor("two rotated files", () => existsSync(`${log}.2`));
    // The child still writes into the live file after it was truncated.
    await waitFor("new lines in the live log", () => readFileSync(log, "utf8").includes(line));
    expect(existsSync(`${log}.3`)).toBe(false);
    expect(readFileSync(`${log}.1`, "utf8")).toContain(line);
  });

  it("a new driver adopts live processes (same pid, no restart) and reports them exited when they die", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const first = createProcessDriver({ stateDir: dir, pollMs: 100 });
    const inst = await first.start(
      workload({ id: "keep-0", hostPort: port, command: [process.execPath, appScript] }),
      "a",
    );
    await waitHealthy({ host: "127.0.0.1", port }, fastHealth);
    await first.close(); // the agent goes away; its children stay
    expect(pidAlive(pidOf(inst))).toBe(true);

    const events: ProcessEvent[] = [];
    const second = driver(dir, { onEvent: (e) => events.push(e) });
    expect(await second.list()).toEqual([inst]);
    expect(events).toEqual([{ kind: "adopted", name: "berth-keep-0-a", pid: pidOf(inst) }]);

    process.kill(pidOf(inst), "SIGKILL");
    // Not our child: its exit status is not known, its death is seen by polling /proc.
    const dead = await waitFor("the adopted process seen exited", async () => {
      const [i] = await second.list();
      return i && i.state === "exited" ? i : undefined;
    });
    expect(dead).toMatchObject({ ref: inst.ref, exit: { code: null, signal: null } });
    expect(dead.lastError).toContain("exit status unknown");
  });

  it("children outlive a crashed agent process and the next driver adopts them", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const host = spawn(process.execPath, ["--import", "tsx", driverHost], {
      env: { ...process.env, STATE_DIR: dir, HOST_PORT: String(port) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((res, rej) => {
      host.stdout?.once("data", (b: Buffer) => res(b.toString()));
      host.once("exit", (code) => rej(new Error(`driver host exited ${code}`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    strayPids.push(pid);
    host.kill("SIGKILL"); // the agent crashes
    await new Promise((res) => host.once("exit", res));
    expect(pidAlive(pid)).toBe(true);
    expect((await waitHealthy({ host: "127.0.0.1", port }, fastHealth)).ok).toBe(true);
    expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe("from-host");

    const d = driver(dir);
    const [adopted] = await d.list();
    expect(adopted).toMatchObject({
      ref: `pid:${pid}`,
      name: "berth-host-0-a",
      state: "running",
      restarts: 0,
    });
    // The orphan is no longer our child: its death is only seen by polling, and reported.
    const exits: string[] = [];
    const d2 = driver(dir, { onExit: (n) => exits.push(n) });
    process.kill(pid, "SIGKILL");
    await waitFor("the orphaned child seen exited", async () => (await d2.list())[0]?.state === "exited");
    expect(exits).toEqual(["berth-host-0-a"]);
  });

  it("never adopts a recorded pid that now belongs to another process (start time differs)", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const first = createProcessDriver({ stateDir: dir, pollMs: 100 });
    const inst = await first.start(
      workload({ id: "gone-0", hostPort: port, command: [process.execPath, appScript] }),
      "a",
    );
    await first.close();
    process.kill(pidOf(inst), "SIGKILL");
    await waitFor("the process to die", () => !pidAlive(pidOf(inst)));
    const second = driver(dir);
    const [i] = await second.list();
    expect(i).toMatchObject({
      name: "berth-gone-0-a",
      state: "exited",
      lastError: "was not running when the agent started (exit status unknown)",
      exit: { code: null, signal: null },
    });
  });

  it("refuses to start a workload without a command, or in a missing workdir, saying which", async () => {
    const d = driver(stateDir());
    const port = await freePortPair();
    await expect(d.start(workload({ id: "img-0", hostPort: port, image: "x:1" }), "a")).rejects.toThrow(
      "cannot start berth-img-0-a: workload img-0 has no command (the process runtime runs commands, not images)",
    );
    const wd = (await d
      .start(workload({ id: "wd-0", hostPort: port, command: ["true"], workdir: "/nonexistent/dir" }), "a")
      .catch((e: StartError) => e)) as StartError;
    expect(wd.message).toContain("cannot start berth-wd-0-a: workdir /nonexistent/dir is not a directory");
    expect(wd.fact).toEqual({ kind: "workdir-missing", path: "/nonexistent/dir" });
    const nf = (await d
      .start(workload({ id: "nf-0", hostPort: port, command: ["/no/such/binary"] }), "a")
      .catch((e: StartError) => e)) as StartError;
    expect(nf.message).toContain('starting berth-nf-0-a: cannot run "/no/such/binary"');
    expect(nf.fact).toMatchObject({ kind: "command-missing", command: "/no/such/binary" });
    expect(nf.fact.kind === "command-missing" && nf.fact.detail).toMatch(/^ENOENT/);
    expect(await d.list()).toEqual([]);
  });
});
