// reloadGate as a table: a Caddy config load waits for a moment when no request waits to retry.
import { describe, expect, it } from "vitest";
import { reloadGate } from "../../agent/core/reload-gate.js";

const up = (address: string, fails: number) => ({ address, fails });

describe("reloadGate", () => {
  it.each([
    ["nothing counted, first load", [up("10.0.0.1:20000", 0)], null, { quiet: true }],
    ["nothing counted, long after the last load", [up("10.0.0.1:20000", 0)], 5_000, { quiet: true }],
    [
      "a failure counted: requests are being retried",
      [up("10.0.0.2:20001", 1), up("10.0.0.1:20000", 0), up("10.0.0.3:20000", 2)],
      null,
      { quiet: false, why: "requests are being retried away from 10.0.0.2:20001, 10.0.0.3:20000" },
    ],
    [
      "too soon after the last load: requests may still be dialling a vanished upstream",
      [],
      120,
      { quiet: false, why: "the last load was 120 ms ago" },
    ],
  ] as const)("%s", (_what, ups, since, verdict) => {
    expect(reloadGate(ups, since, 300)).toEqual(verdict);
  });
});
