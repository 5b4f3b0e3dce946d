// After an outage the agent is back in contact on its first call that works: a status report
// that gets through ends the poller's back-off (nudge), and a poll that gets through sends the
// report waiting for its retry at once (retryNow), instead of the longer of two back-offs.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createNudge } from "../../agent/loop/nudge.js";
import { createStatusReporter } from "../../agent/loop/status-reporter.js";
import type { NodeStatus } from "../../schema/index.js";

const status = (phase: NodeStatus["phase"]): NodeStatus => ({
  node: "n",
  agentVersion: "t",
  desiredHash: null,
  appliedHash: null,
  appliedCommit: null,
  phase,
  workloads: [],
  ingress: null,
});

describe("back-offs that end early", () => {
  it("a nudge ends a long pause at once", async () => {
    const nudge = createNudge();
    const t0 = Date.now();
    const waiting = nudge.wait(60_000, new AbortController().signal);
    setTimeout(() => nudge.fire(), 20);
    await waiting;
    expect(Date.now() - t0).toBeLessThan(30_000);
    // Firing with nobody waiting is harmless, and does not end the next wait early.
    nudge.fire();
    let done = false;
    void nudge.wait(200, new AbortController().signal).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
  });

  it("retryNow sends a report that waits for its retry", async () => {
    const puts: string[] = [];
    let fail = true;
    const reporter = createStatusReporter({
      put: async (s) => {
        puts.push(s.phase);
        if (fail) throw new Error("ECONNREFUSED");
      },
      logger: pino({ level: "silent" }),
    });
    reporter.report(status("degraded"));
    await new Promise((r) => setTimeout(r, 50));
    expect(puts).toEqual(["degraded"]);
    fail = false;
    reporter.retryNow();
    await reporter.flush(5_000);
    expect(puts).toEqual(["degraded", "degraded"]);
    expect(reporter.lastSent()?.phase).toBe("degraded");
    reporter.close();
  });
});
