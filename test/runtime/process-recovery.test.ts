// A process record that is truncated, garbage, missing or stale never strands the process berth
// started: a new driver finds it by its marker (BERTH_AGENT / BERTH_INSTANCE in
// /proc/<pid>/environ) and adopts it with a rebuilt record (same pid, no restart, the port kept by
// the instance berth supervises), stops what cannot be adopted (a dead instance's leftover child
// holding the port), keeps the unreadable file aside, and says so. Another agent's processes are
// never touched. Real child processes.
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { waitHealthy } from "../../agent/health/check.js";
import type { Instance, RuntimeDriver } from "../../agent/runtime/driver.js";
import { createProcessDriver, type ProcessEvent } from "../../agent/runtime/process-driver.js";
import { type MarkedProcess, parseEnviron } from "../../agent/runtime/process-markers.js";
import { planRecovery, rebuildRecord } from "../../agent/runtime/process-recovery.js";
import { appScript, fastHealth, freePortPair, httpGet, pidAlive, waitFor, workload } from "./support.js";

const dirs: string[] = [];
const drivers: RuntimeDriver[] = [];
const stray: number[] = [];

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-recover-"));
  dirs.push(d);
  return d;
}

function driver(dir: string, events?: ProcessEvent[]): RuntimeDriver {
  const d = createProcessDriver({
    stateDir: dir,
    pollMs: 100,
    ...(events ? { onEvent: (e) => events.push(e) } : {}),
  });
  drivers.push(d);
  return d;
}

const pidOf = (i: Instance): number => Number(i.ref.replace("pid:", ""));
const recordFile = (dir: string, name: string) => join(dir, "processes", `${name}.json`);

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close({ stopAll: true });
  for (const pid of stray.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts one app in `dir` with a first driver, which then goes away (the process stays). */
async function started(dir: string, env: Record<string, string> = {}) {
  const port = await freePortPair();
  const first = createProcessDriver({ stateDir: dir, pollMs: 100 });
  const spec = `sha256:${"b".repeat(64)}`;
  const inst = await first.start(
    workload({
      id: "keep-0",
      hostPort: port,
      command: [process.execPath, appScript],
      env: { REPLY: "kept", API_TOKEN: "not-logged-value", ...env },
      specHash: spec,
    }),
    "a",
  );
  await waitHealthy({ host: "127.0.0.1", port }, fastHealth);
  await first.close();
  stray.push(pidOf(inst));
  return { port, inst, spec, name: "berth-keep-0-a" };
}

describe("a lost or unreadable process record", () => {
  for (const [what, damage] of [
    ["truncated", (f: string) => truncateSync(f, Math.floor(readFileSync(f).length / 2))],
    ["garbage", (f: string) => writeFileSync(f, "\0\0{not json")],
    ["valid JSON of the wrong shape", (f: string) => writeFileSync(f, '{"version": 2}')],
    ["missing", (f: string) => rmSync(f)],
  ] as const) {
    it(`${what}: the running process is adopted (same pid, no restart) and the record rebuilt`, async () => {
      const dir = stateDir();
      const { port, inst, spec, name } = await started(dir);
      damage(recordFile(dir, name));

      const events: ProcessEvent[] = [];
      const d = driver(dir, events);
      const [adopted] = await d.list();
      expect(adopted).toMatchObject({
        ref: inst.ref,
        name,
        specHash: spec,
        port,
        state: "running",
        slot: "a",
      });
      expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe("kept");

      const note = events.find((e) => e.kind === "recovered");
      expect(note?.detail).toMatch(
        what === "missing"
          ? /its record is missing; adopted pid \d+, found by its marker/
          : /its record is unreadable \(.+\); adopted pid \d+, found by its marker/,
      );
      expect(JSON.stringify(events)).not.toContain("not-logged-value");
      // The rebuilt record holds what supervising needs; of the env only PORT: the process's env may
      // hold decrypted secrets, which never go to a file (a new start takes the desired document's).
      const rec = JSON.parse(readFileSync(recordFile(dir, name), "utf8"));
      expect(rec).toMatchObject({
        pid: pidOf(inst),
        port,
        specHash: spec,
        workloadId: "keep-0",
        app: "keep",
      });
      expect(rec.env).toEqual({ PORT: String(port) });
      expect(readFileSync(recordFile(dir, name), "utf8")).not.toContain("not-logged-value");
      if (what !== "missing") {
        const kept = readdirSync(join(dir, "processes", "unreadable"));
        expect(kept).toHaveLength(1);
        expect(note?.detail).toContain("the unreadable file is kept as");
      }

      // Supervised again: a crash of the adopted process is noticed (the agent then starts it anew).
      process.kill(pidOf(inst), "SIGKILL");
      await waitFor("the exit noticed", async () => {
        const [i] = await d.list();
        return i?.state === "exited";
      });
    });
  }

  it("a record naming a dead pid while the instance runs adopts the running one", async () => {
    const dir = stateDir();
    const { inst, name } = await started(dir);
    const file = recordFile(dir, name);
    const rec = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ ...rec, pid: 999_999, pgid: 999_999 }));
    const events: ProcessEvent[] = [];
    const [i] = await driver(dir, events).list();
    expect(i?.ref).toBe(inst.ref);
    expect(events.map((e) => e.kind)).toContain("recovered");
  });

  it("stops a dead instance's leftover child that holds the port, so the workload can start again", async () => {
    const dir = stateDir();
    const port = await freePortPair();
    const first = createProcessDriver({ stateDir: dir, pollMs: 100 });
    // The leader is a shell; the app it starts is a member of its group and holds the port.
    const inst = await first.start(
      workload({
        id: "shell-0",
        hostPort: port,
        command: ["sh", "-c", `"${process.execPath}" "${appScript}" & wait`],
      }),
      "a",
    );
    await waitHealthy({ host: "127.0.0.1", port }, fastHealth);
    const child = Number((await httpGet(`http://127.0.0.1:${port}/`)).headers["x-pid"]);
    stray.push(child);
    await first.close();
    process.kill(pidOf(inst), "SIGKILL"); // the leader dies, its child lives on
    await waitFor("the leader gone", () => !pidAlive(pidOf(inst)));
    truncateSync(recordFile(dir, "berth-shell-0-a"), 10);

    const events: ProcessEvent[] = [];
    const d = driver(dir, events);
    expect(await d.list()).toEqual([]);
    expect(pidAlive(child)).toBe(false);
    expect(events.find((e) => e.kind === "recovered" && /leftover/.test(e.detail ?? ""))?.detail).toContain(
      `pid ${child}`,
    );
    const again = await d.start(
      workload({ id: "shell-0", hostPort: port, command: [process.execPath, appScript] }),
      "a",
    );
    expect(again.state).toBe("running");
  });

  it("an unreadable record of something that no longer runs is set aside and said", async () => {
    const dir = stateDir();
    const { inst, name } = await started(dir);
    process.kill(pidOf(inst), "SIGKILL");
    await waitFor("gone", () => !pidAlive(pidOf(inst)));
    writeFileSync(recordFile(dir, name), "{");
    const events: ProcessEvent[] = [];
    expect(await driver(dir, events).list()).toEqual([]);
    expect(events.find((e) => e.kind === "recovered")?.detail).toMatch(
      /unreadable .* and nothing of it runs/,
    );
    expect(existsSync(recordFile(dir, name))).toBe(false);
  });

  it("never adopts or stops another agent's processes", async () => {
    const mine = stateDir();
    const { inst, name } = await started(mine);
    rmSync(recordFile(mine, name));
    const other = stateDir();
    expect(await driver(other).list()).toEqual([]);
    expect(pidAlive(pidOf(inst))).toBe(true);
  });
});

describe("recovery decisions", () => {
  const marked = (over: Partial<MarkedProcess>): MarkedProcess => ({
    pid: 100,
    pgrp: 100,
    startTime: 5,
    instance: "berth-web-0-a",
    specHash: "sha256:s",
    env: {
      PORT: "20000",
      PATH: "/usr/bin",
      BERTH_AGENT: "x",
      BERTH_INSTANCE: "berth-web-0-a",
      BERTH_SPEC_HASH: "sha256:s",
    },
    command: ["node", "app.js"],
    cwd: "/srv",
    ...over,
  });

  it("cannot rebuild a record without a port, a command or an instance name: stops instead", () => {
    const now = new Date(0);
    expect(rebuildRecord(marked({ env: {} }), now)).toBeNull();
    expect(rebuildRecord(marked({ command: [] }), now)).toBeNull();
    expect(rebuildRecord(marked({ instance: "something-else" }), now)).toBeNull();
    const plan = planRecovery({
      records: [],
      unreadable: [{ name: "berth-web-0-a", reason: "Unexpected end of JSON input" }],
      marked: [marked({ env: {} })],
      alive: () => false,
      now,
    });
    expect(plan.stop).toEqual([{ pgid: 100, startTime: 5, instance: "berth-web-0-a", pids: [100] }]);
    expect(plan.notes[0]?.message).toMatch(
      /unreadable \(Unexpected end of JSON input\) and cannot be rebuilt/,
    );
  });

  it("keeps no env value but PORT in a rebuilt record", () => {
    const r = rebuildRecord(marked({ env: { PORT: "20000", DB_PASSWORD: "decrypted-secret" } }), new Date(0));
    expect(r?.env).toEqual({ PORT: "20000" });
  });

  it("stops a second copy of an instance whose recorded process runs", () => {
    const plan = planRecovery({
      records: [rebuildRecord(marked({}), new Date(0)) as NonNullable<ReturnType<typeof rebuildRecord>>],
      unreadable: [],
      marked: [marked({}), marked({ pid: 200, pgrp: 200, startTime: 9 })],
      alive: () => true,
      now: new Date(0),
    });
    expect(plan.stop.map((s) => s.pgid)).toEqual([200]);
  });

  it("parses /proc environ lists", () => {
    expect(parseEnviron(Buffer.from("A=1\0B=x=y\0\0EMPTY=\0"))).toEqual({ A: "1", B: "x=y", EMPTY: "" });
  });
});
