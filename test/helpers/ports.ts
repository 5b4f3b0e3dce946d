// Host ports for tests: chosen below Linux's ephemeral range (net.ipv4.ip_local_port_range,
// 32768–60999 by default). A port in that range that was free when a test checked it can be
// taken a moment later as the source port of any outgoing connection on the machine, and with the
// whole suite's HTTP traffic that happened: a workload's start failed with "host port … is already
// in use by a process berth did not start". Below 32768 only listeners compete.
//
// Checking that a port is free is not enough either: a cluster test takes a block of ports for its
// apps at once (`randomPortBase`) and binds them later, so another test's freshly checked port
// could land inside that block. Two rules close that race:
// - each vitest worker (VITEST_POOL_ID) takes its ports from its own slice of the range;
// - within a worker, every port and block handed out is remembered, and never handed out again.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Slices of the range: room for this many workers side by side (vitest.config.ts runs 2). */
const SLICES = 4;
/** Ports below the ephemeral range, shared out between workers. */
const RANGE_LOW = 10_000;
const RANGE_HIGH = ephemeralStart();
const SLICE = Math.floor((RANGE_HIGH - RANGE_LOW) / SLICES);
/** This worker's ports are taken from [LOW, HIGH). */
const LOW = RANGE_LOW + (workerIndex() % SLICES) * SLICE;
const HIGH = LOW + SLICE;
/** Ports this worker handed out: [first, end) ranges. */
const handedOut: [number, number][] = [];

/** 0 for the first vitest worker, 1 for the second…; 0 outside vitest. */
function workerIndex(): number {
  const id = Number(process.env.VITEST_POOL_ID);
  return Number.isInteger(id) && id > 0 ? id - 1 : 0;
}

function ephemeralStart(): number {
  try {
    const first = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
    );
    // A machine whose ephemeral range starts low leaves no room below it: use the usual bound.
    if (Number.isInteger(first) && first > RANGE_LOW + 5_000 * SLICES) return first;
  } catch {
    // Not Linux or no /proc: the default range.
  }
  return 32_768;
}

const handedOutAlready = (first: number, end: number): boolean =>
  handedOut.some(([a, b]) => first < b && a < end);

/** Whether [first, end) overlaps nothing handed out yet; if so, it is handed out now. */
function claim(first: number, end: number): boolean {
  if (handedOutAlready(first, end)) return false;
  handedOut.push([first, end]);
  return true;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A free run of `count` ports starting at a multiple of `align`, checked by binding each. */
async function freeRun(count: number, align: number): Promise<number> {
  const starts = Math.floor((HIGH - LOW - count) / align);
  for (let i = 0; i < 200; i++) {
    const p = LOW + align * Math.floor(Math.random() * starts);
    // Skips runs handed out already without binding them; claim() checks again, since the binds
    // await and another call of this worker may have claimed the run meanwhile.
    if (handedOutAlready(p, p + count)) continue;
    let free = true;
    for (let q = p; q < p + count && free; q++) free = await canBind(q);
    if (free && claim(p, p + count)) return p;
  }
  throw new Error(`no free run of ${count} port(s) found in ${LOW}–${HIGH}`);
}

/**
 * A port that was free on 127.0.0.1 a moment ago, for a listener a test starts later (Caddy's
 * HTTP listener, an API). Not the kernel's choice (listen on port 0): that comes from the
 * ephemeral range.
 */
export function freePort(): Promise<number> {
  return freeRun(1, 1);
}

/** A port p such that p and p+1 were both free on 127.0.0.1 a moment ago (a workload's two slots). */
export function freePortPair(): Promise<number> {
  return freeRun(2, 2);
}

/**
 * The first of `blocks` × 100 ports for one test's apps (`base + i` for app i): a block no other
 * port of this worker was handed out from. Not checked by binding (the apps bind it later, and a
 * block is never handed out twice).
 */
export function randomPortBase(blocks = 1): number {
  const slots = Math.floor((HIGH - LOW) / 100) - blocks;
  for (let i = 0; i < 200; i++) {
    const base = LOW + Math.floor(Math.random() * slots) * 100;
    if (claim(base, base + blocks * 100)) return base;
  }
  throw new Error(`no unused block of ${blocks * 100} ports found in ${LOW}–${HIGH}`);
}
