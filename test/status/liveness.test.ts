// Table tests of the pure liveness decisions (core/status/liveness.ts): the verdict from the last
// contact, the clock and the bounds, the restart rules, and which changes are announced.
import { describe, expect, it } from "vitest";
import {
  announcement,
  type LivenessBounds,
  livenessAt,
  livenessMessage,
  type NodeLiveness,
  type ReferenceTimes,
} from "../../core/status/liveness.js";

const b: LivenessBounds = {
  staleAfterMs: 5_000,
  lostAfterMs: 30_000,
  startupGraceMs: 40_000,
  pollHoldMs: 8_000,
};
const T = 1_000_000;
const started: ReferenceTimes = { startedAt: T, activeAt: T + 1_000 };

describe("livenessAt", () => {
  const cases: [string, NodeLiveness | undefined, number | null, number, ReferenceTimes, NodeLiveness][] = [
    [
      "contact now → alive since now",
      undefined,
      T + 10,
      T + 10,
      started,
      { state: "alive", since: T + 10, lastSeen: T + 10 },
    ],
    [
      "alive stays alive and keeps its since",
      { state: "alive", since: T, lastSeen: T },
      T + 50_000,
      T + 52_000,
      started,
      { state: "alive", since: T, lastSeen: T + 50_000 },
    ],
    [
      "exactly staleAfter is still alive",
      undefined,
      T,
      T + 5_000,
      started,
      { state: "alive", since: T, lastSeen: T },
    ],
    [
      "past staleAfter → stale since contact + staleAfter",
      { state: "alive", since: T - 9_000, lastSeen: T },
      T,
      T + 5_001,
      started,
      { state: "stale", since: T + 5_000, lastSeen: T },
    ],
    [
      "past lostAfter → lost since contact + lostAfter (even when stale was skipped)",
      { state: "alive", since: T - 9_000, lastSeen: T },
      T,
      T + 31_000,
      started,
      { state: "lost", since: T + 30_000, lastSeen: T },
    ],
    [
      "a contact after a loss → alive since that contact",
      { state: "lost", since: T, lastSeen: T - 30_000 },
      T + 70_000,
      T + 70_001,
      started,
      { state: "alive", since: T + 70_000, lastSeen: T + 70_000 },
    ],
    [
      "restart, not heard from yet → stale (quiet) since the start, last seen from before",
      { state: "alive", since: T - 99_000, lastSeen: T - 2_000 },
      null,
      T + 3_000,
      started,
      { state: "stale", since: T, lastSeen: T - 2_000, quiet: true },
    ],
    [
      "restart, nobody called at all → stays quiet stale, never lost",
      undefined,
      null,
      T + 999_000,
      { startedAt: T, activeAt: null },
      { state: "stale", since: T, lastSeen: null, quiet: true },
    ],
    [
      "restart, silent past the grace after the first agent called → lost",
      { state: "alive", since: T - 99_000, lastSeen: T - 2_000 },
      null,
      T + 41_000,
      started,
      { state: "lost", since: T + 41_000, lastSeen: T - 2_000 },
    ],
    [
      "restart, lost before it → keeps the old verdict and time",
      { state: "lost", since: T - 50_000, lastSeen: T - 80_000 },
      null,
      T + 1_000,
      started,
      { state: "lost", since: T - 50_000, lastSeen: T - 80_000 },
    ],
    [
      "restart, stale before it → quiet stale keeps its since",
      { state: "stale", since: T - 3_000, lastSeen: T - 8_000 },
      null,
      T + 1_000,
      started,
      { state: "stale", since: T - 3_000, lastSeen: T - 8_000, quiet: true },
    ],
  ];
  it.each(cases)("%s", (_name, prev, contact, now, ref, want) => {
    expect(livenessAt(prev, contact, now, ref, b)).toEqual(want);
  });

  it("uses lostAfter for the restart grace when it is the longer bound", () => {
    const long = { ...b, lostAfterMs: 90_000 };
    expect(livenessAt(undefined, null, T + 1_000 + 89_000, started, long).state).toBe("stale");
    expect(livenessAt(undefined, null, T + 1_000 + 90_000, started, long).state).toBe("lost");
  });
});

describe("announcement", () => {
  const at = (state: NodeLiveness["state"], quiet = false): NodeLiveness => ({
    state,
    since: T,
    lastSeen: T,
    ...(quiet ? { quiet: true as const } : {}),
  });
  const cases: [string, NodeLiveness["state"] | undefined, NodeLiveness, string | null][] = [
    ["unchanged alive", "alive", at("alive"), null],
    ["unchanged lost", "lost", at("lost"), null],
    ["first verdict alive: recorded, no event", undefined, at("alive"), "record"],
    ["alive → stale", "alive", at("stale"), "node-stale"],
    ["never announced → stale", undefined, at("stale"), "node-stale"],
    ["stale → lost", "stale", at("lost"), "node-lost"],
    ["alive → lost directly", "alive", at("lost"), "node-lost"],
    ["stale → alive", "stale", at("alive"), "node-back"],
    ["lost → alive", "lost", at("alive"), "node-back"],
    ["quiet stale after a restart is not announced", "alive", at("stale", true), null],
  ];
  it.each(cases)("%s", (_name, announced, current, want) => {
    expect(announcement(announced, current)).toBe(want);
  });
});

describe("livenessMessage", () => {
  it("says what is known and since when", () => {
    const m = livenessMessage(
      "w1",
      { state: "lost", since: T + 30_000, lastSeen: T },
      T + 40_000,
      b,
      started,
    );
    expect(m).toBe(
      `w1 is lost since ${new Date(T + 30_000).toISOString()}: no contact for more than 30 s; last seen ${new Date(T).toISOString()} (40 s ago)`,
    );
  });
  it("explains a quiet node after a restart, and when no agent called at all", () => {
    const quiet: NodeLiveness = { state: "stale", since: T, lastSeen: null, quiet: true };
    expect(livenessMessage("w1", quiet, T + 2_000, b, started)).toContain(
      "has not called since this reconciler started",
    );
    expect(livenessMessage("w1", quiet, T + 2_000, b, { startedAt: T, activeAt: null })).toContain(
      "they may use another reconciler",
    );
  });
});
