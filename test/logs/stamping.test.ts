// The time index of process logs with a real supervised process: writes are noticed through the
// kernel and stamped, so lines printed a few hundred milliseconds apart get their own times (never
// earlier than when they were printed), without any periodic work; rotation moves the index with
// its log; an agent whose apps print nothing writes no index records.
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readFileHistory } from "../../agent/logs/history.js";
import { createTimeIndexer } from "../../agent/logs/time-index.js";
import type { RuntimeDriver } from "../../agent/runtime/driver.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { freePortPair, waitFor, workload } from "../runtime/support.js";

const drivers: RuntimeDriver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close({ stopAll: true });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const printer = (everyMs: number) => [
  process.execPath,
  "-e",
  `setInterval(() => console.log("at " + Date.now()), ${everyMs}); require("node:http").createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");`,
];

function setup(opts: { logMaxBytes?: number; pollMs?: number } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-stamp-"));
  dirs.push(stateDir);
  // Unless a test needs it, the poll (which stamps and rotates too) is made very slow: what
  // stamps here is the kernel's notice.
  const d = createProcessDriver({ stateDir, pollMs: 60_000, ...opts });
  drivers.push(d);
  return { stateDir, d };
}

describe("time index of process logs", () => {
  it("stamps lines as they are written: own times, never before they were printed", async () => {
    const { stateDir, d } = setup();
    await d.start(workload({ id: "clock-0", hostPort: await freePortPair(), command: printer(300) }), "a");
    const log = join(stateDir, "logs", "berth-clock-0-a.log");
    await waitFor(
      "ten lines",
      () => existsSync(log) && (readFileSync(log, "utf8").match(/^at /gm)?.length ?? 0) >= 10,
      30_000,
    );
    const h = await readFileHistory(
      { kind: "process", instance: "berth-clock-0-a", path: log },
      {
        lines: 1000,
        sinceMs: null,
        grep: null,
        secrets: [],
        following: false,
      },
    );
    const lines = h.items.filter((e) => e.line.startsWith("at "));
    expect(lines.length).toBeGreaterThanOrEqual(10);
    // File times come from the kernel's coarse clock (a tick of a few ms), not Date.now().
    for (const e of lines) expect(e.ms).toBeGreaterThanOrEqual(Number(e.line.slice(3)) - 20);
    // Printed 300 ms apart: with stamping at each write they do not all share one time.
    expect(new Set(lines.map((e) => e.ms)).size).toBeGreaterThanOrEqual(lines.length / 3);
    const records = readFileSync(`${log}.times`, "utf8").trim().split("\n");
    expect(records.length).toBeGreaterThan(3);
  }, 60_000);

  it("writes no record while the app prints nothing", async () => {
    const { stateDir, d } = setup();
    await d.start(
      workload({
        id: "quiet-0",
        hostPort: await freePortPair(),
        command: [
          process.execPath,
          "-e",
          `require("node:http").createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");`,
        ],
      }),
      "a",
    );
    const times = join(stateDir, "logs", "berth-quiet-0-a.log.times");
    // The start marker is the one write: at most one record for it, then nothing.
    await new Promise((r) => setTimeout(r, 1_500));
    const before = existsSync(times) ? statSync(times).size : 0;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(existsSync(times) ? statSync(times).size : 0).toBe(before);
  }, 30_000);

  it("moves the index with its log when the log is rotated", async () => {
    const { stateDir, d } = setup({ logMaxBytes: 4_000, pollMs: 100 });
    await d.start(workload({ id: "roll-0", hostPort: await freePortPair(), command: printer(5) }), "a");
    const log = join(stateDir, "logs", "berth-roll-0-a.log");
    await waitFor("a rotated copy with its index", () => existsSync(`${log}.1.times`), 30_000);
    const copy = readFileSync(`${log}.1.times`, "utf8").trim().split("\n");
    const offsets = copy.map((r) => Number(r.split(" ")[0]));
    // The copy's index describes the copy: offsets grow and stay within it.
    expect(offsets.length).toBeGreaterThan(0);
    expect([...offsets].sort((x, y) => x - y)).toEqual(offsets);
    expect(offsets[offsets.length - 1]).toBeLessThanOrEqual(statSync(`${log}.1`).size);
    // Log and index together stay within the limit (plus what is written between two checks).
    expect(statSync(`${log}.1`).size + statSync(`${log}.1.times`).size).toBeGreaterThanOrEqual(4_000);
  }, 60_000);

  it("rotates a log whose index outgrows it (a tiny line now and then): the index counts", async () => {
    const { stateDir, d } = setup({ logMaxBytes: 500, pollMs: 100 });
    // "." and a newline every 250 ms: each write gets its own record, ten times its size.
    const dots = [
      process.execPath,
      "-e",
      `setInterval(() => process.stdout.write(".\\n"), 250); require("node:http").createServer((q, r) => r.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");`,
    ];
    await d.start(workload({ id: "dots-0", hostPort: await freePortPair(), command: dots }), "a");
    const log = join(stateDir, "logs", "berth-dots-0-a.log");
    await waitFor("a rotated copy with its index", () => existsSync(`${log}.1.times`), 40_000);
    const logBytes = statSync(`${log}.1`).size;
    const indexBytes = statSync(`${log}.1.times`).size;
    expect(logBytes).toBeLessThan(500);
    expect(logBytes + indexBytes).toBeGreaterThanOrEqual(500);
  }, 60_000);
});

describe("the time indexer's count of index bytes", () => {
  it("reads the index once, then counts what it appends; forget reads it again", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-stamp-"));
    dirs.push(dir);
    const log = join(dir, "berth-x-0-a.log");
    writeFileSync(log, "one\n");
    writeFileSync(`${log}.times`, "0 1\n");
    const ix = createTimeIndexer();
    expect(ix.indexSize(log)).toBe(4);
    ix.tick([log]);
    appendFileSync(log, "two\n");
    ix.tick([log]);
    ix.tick([log]); // unchanged: no record
    expect(ix.indexSize(log)).toBe(statSync(`${log}.times`).size);
    expect(readFileSync(`${log}.times`, "utf8").trim().split("\n")).toHaveLength(3);
    // Someone else changed the index (a rotation moved it away): forget makes it read again.
    rmSync(`${log}.times`);
    expect(ix.indexSize(log)).toBeGreaterThan(4);
    ix.forget(log);
    expect(ix.indexSize(log)).toBe(0);
  });

  it("says whether the kernel reports writes (else the driver's poll stamps)", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-stamp-"));
    dirs.push(dir);
    const ix = createTimeIndexer();
    expect(ix.watching()).toBe(false);
    expect(ix.watch(join(dir, "missing"), () => true)).toBe(false);
    expect(ix.watching()).toBe(false);
    expect(ix.watch(dir, () => true)).toBe(true);
    expect(ix.watching()).toBe(true);
    ix.close();
    expect(ix.watching()).toBe(false);
  });
});
