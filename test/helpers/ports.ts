// Host ports for tests: chosen below Linux's ephemeral range (net.ipv4.ip_local_port_range,
// 32768–60999 by default). A port in that range that was free when a test checked it can be
// taken a moment later as the source port of any outgoing connection on the machine, and with the
// whole suite's HTTP traffic that happened: a workload's start failed with "host port … is already
// in use by a process berth did not start". Below 32768 only listeners compete, and those check.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Test ports are taken from [LOW, HIGH). */
const LOW = 10_000;
const HIGH = ephemeralStart();

function ephemeralStart(): number {
  try {
    const first = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
    );
    // A machine whose ephemeral range starts low leaves no room below it: use the usual bound.
    if (Number.isInteger(first) && first > LOW + 5_000) return first;
  } catch {
    // Not Linux or no /proc: the default range.
  }
  return 32_768;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/**
 * A port that was free on 127.0.0.1 a moment ago, for a listener a test starts later (Caddy's
 * HTTP listener, an API). Not the kernel's choice (listen on port 0): that comes from the
 * ephemeral range.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canBind(p)) return p;
  }
  throw new Error("no free port found");
}

/** A port p such that p and p+1 were both free on 127.0.0.1 a moment ago (a workload's two slots). */
export async function freePortPair(): Promise<number> {
  const pairs = Math.floor((HIGH - LOW) / 2) - 1;
  for (let i = 0; i < 200; i++) {
    const p = LOW + 2 * Math.floor(Math.random() * pairs);
    if ((await canBind(p)) && (await canBind(p + 1))) return p;
  }
  throw new Error("no free pair of ports found");
}

/**
 * The first of `blocks` × 100 ports for one test's apps (`base + i` for app i), spread at random so
 * that tests running side by side rarely share a block.
 */
export function randomPortBase(blocks = 1): number {
  const slots = Math.floor((HIGH - LOW) / 100) - blocks;
  return LOW + Math.floor(Math.random() * slots) * 100;
}
