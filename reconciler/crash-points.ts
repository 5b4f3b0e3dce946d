// Test hook for crash-safety sweeps: named points in the write paths (ref locks, object and
// cache writes, git HTTP answers) where `kill -9` is simulated on request. Inert unless the
// environment variable BERTH_TEST_CRASH_AT is set when the process starts:
//   BERTH_TEST_CRASH_AT=N        dies (SIGKILL to itself) at the Nth point hit, whatever its name
//   BERTH_TEST_CRASH_AT=NAME:N   dies at the Nth hit of the point NAME
// Before dying it writes `berth-test-crash: NAME #N` to stderr (synchronously), so a sweep knows
// where each run died. A sweep raises N until a run no longer dies: then every point of the
// scenario has been a crash site once. Deterministic, unlike kills at timed moments, which mostly
// land while the process waits. Costs one boolean test per point when unset.
import { writeSync } from "node:fs";

const spec = parse(process.env.BERTH_TEST_CRASH_AT);
let hits = 0;

function parse(value: string | undefined): { name: string | null; n: number } | null {
  if (!value) return null;
  const m = /^(?:([a-z-]+):)?(\d+)$/.exec(value.trim());
  if (!m) return null;
  return { name: m[1] ?? null, n: Number(m[2]) };
}

/** A place where a crash leaves files in an in-between state worth testing. */
export function crashPoint(name: string): void {
  if (spec === null) return;
  if (spec.name !== null && spec.name !== name) return;
  hits++;
  if (hits !== spec.n) return;
  writeSync(2, `berth-test-crash: ${name} #${hits}\n`);
  process.kill(process.pid, "SIGKILL");
}
