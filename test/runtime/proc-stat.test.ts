// Reading /proc/<pid>/stat: the fields berth uses, and when a process counts as gone. A real
// multi-threaded process (Node) is killed to check that "gone" means its port is free again.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { hasExited, isSameProcessAlive, parseProcStat, readProcStat } from "../../agent/runtime/proc-stat.js";
import { freePort } from "../helpers/ports.js";
import { httpGet, waitFor } from "./support.js";

/** A /proc/<pid>/stat line with the given fields (the rest numbered). */
function statLine(name: string, f: { state: string; threads: number }): string {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = f.state;
  fields[1] = "1"; // ppid
  fields[2] = "4242"; // pgrp
  fields[17] = String(f.threads); // num_threads (field 20)
  fields[19] = "987654"; // starttime (field 22)
  return `4242 (${name}) ${fields.join(" ")}`;
}

describe("parseProcStat", () => {
  it("reads fields after a command name holding spaces and parentheses", () => {
    expect(parseProcStat(statLine("a (weird) name", { state: "S", threads: 11 }))).toEqual({
      pid: 4242,
      state: "S",
      ppid: 1,
      pgrp: 4242,
      threads: 11,
      startTime: 987654,
    });
  });
});

describe("hasExited", () => {
  it.each([
    ["S", 1, false],
    ["R", 7, false],
    ["Z", 7, false], // the leader died first; its other threads still hold its files
    ["Z", 1, true],
    ["X", 1, true],
  ])("state %s with %i thread(s): %s", (state, threads, gone) => {
    expect(hasExited(parseProcStat(statLine("node", { state, threads })) as never)).toBe(gone);
  });
});

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "0.0.0.0", () => s.close(() => resolve(true)));
  });
}

describe("isSameProcessAlive with a killed multi-threaded server", () => {
  it("says gone only once the port it listened on is free", async () => {
    const held: number[] = [];
    for (let round = 0; round < 10; round++) {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ["-e", `require("http").createServer((q, r) => r.end("up")).listen(${port}, "127.0.0.1")`],
        { stdio: "ignore", detached: true },
      );
      const pid = child.pid as number;
      await waitFor("the server answering", () => httpGet(`http://127.0.0.1:${port}/`).then(() => true));
      const startTime = readProcStat(pid)?.startTime as number;
      process.kill(pid, "SIGKILL");
      // A synchronous loop: Node cannot reap the child meanwhile, so the zombie stays readable.
      for (let i = 0; i < 1_000_000 && isSameProcessAlive(pid, startTime); i++);
      expect(isSameProcessAlive(pid, startTime)).toBe(false);
      if (!(await canBind(port))) held.push(port);
      await new Promise((done) =>
        child.exitCode !== null || child.signalCode ? done(null) : child.once("exit", done),
      );
    }
    expect(held).toEqual([]);
  });
});
