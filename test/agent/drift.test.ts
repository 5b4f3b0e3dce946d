// The drift record (agent/core/drift.ts) step by step: what opens an episode, what counts as a
// repair, what closes it, and the report.
import { describe, expect, it } from "vitest";
import {
  actionSucceeded,
  type DriftRecord,
  driftClosed,
  driftReport,
  driftSeen,
  noDrift,
} from "../../agent/core/drift.js";

const t = Date.parse("2026-01-02T03:04:05.000Z");
const restart = { reason: "restart web-0: process exited (killed by SIGKILL)", crashLooping: false };

type Step = ["seen", boolean] | ["done", { reason: string; crashLooping: boolean }] | ["closed"];

function run(steps: Step[]): DriftRecord {
  let d = noDrift;
  steps.forEach((s, i) => {
    if (s[0] === "seen") d = driftSeen(d, s[1]);
    else if (s[0] === "done") d = actionSucceeded(d, s[1], t + i);
    else d = driftClosed(d);
  });
  return d;
}

describe("drift record", () => {
  it.each<[string, Step[], number]>([
    ["a deploy (no drift seen) is no repair", [["done", restart]], 0],
    [
      "drift on the applied document, then a restart: one repair",
      [
        ["seen", true],
        ["done", restart],
      ],
      1,
    ],
    [
      "drift before the document was ever applied: a failed deploy's restart",
      [
        ["seen", false],
        ["done", restart],
      ],
      0,
    ],
    [
      "a restart of a crash-looping workload is counted in its restarts",
      [
        ["seen", true],
        ["done", { ...restart, crashLooping: true }],
      ],
      0,
    ],
    [
      "two things put back in one episode: two repairs",
      [
        ["seen", true],
        ["done", restart],
        [
          "done",
          { reason: "routes: load Caddy config with 1 route (running config differs)", crashLooping: false },
        ],
      ],
      2,
    ],
    [
      "after the episode closed, an action is not a repair",
      [["seen", true], ["done", restart], ["closed"], ["done", restart]],
      1,
    ],
    [
      "a new episode counts on",
      [["seen", true], ["done", restart], ["closed"], ["seen", true], ["done", restart]],
      2,
    ],
  ])("%s", (_name, steps, repaired) => {
    expect(run(steps).repaired).toBe(repaired);
  });

  it("reports the count, when and what the last repair was; nothing before any", () => {
    expect(driftReport(noDrift)).toEqual({ repaired: 0, lastAt: null, last: null });
    const d = run([
      ["seen", true],
      ["done", restart],
    ]);
    expect(driftReport(d)).toEqual({ repaired: 1, lastAt: "2026-01-02T03:04:05.001Z", last: restart.reason });
  });

  it("changes only on a repair: seeing and closing leave the report as it was", () => {
    const d = run([["seen", true], ["done", restart], ["closed"]]);
    const again = driftClosed(driftSeen(d, true));
    expect(driftReport(again)).toEqual(driftReport(d));
    expect(driftSeen(driftSeen(d, true), true)).toEqual(driftSeen(d, true));
  });

  it("keeps a long reason within the schema's 1,000 characters", () => {
    const d = run([
      ["seen", true],
      ["done", { reason: "x".repeat(5000), crashLooping: false }],
    ]);
    expect(d.last).toHaveLength(1000);
  });
});
