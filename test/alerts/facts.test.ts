// The alert facts the shell gathers: git trouble from the loop's fetches and pushes (a lost
// compare-and-swap race is not trouble; a success clears it) and from degraded/recovered events;
// liveness from the node book's verdict, or derived from lastSeen for backends without one; the
// invalid tip's diagnostics as FILE:LINE:COL lines.
import { describe, expect, it } from "vitest";
import { GitTroubleTracker, gatherFacts } from "../../reconciler/alerts/facts.js";
import { MemoryBackend, makeDoc } from "../reconciler/http/memory-backend.js";

describe("alert facts", () => {
  it("git trouble: failures open it from their first time, a success or recovery closes it", () => {
    let now = 1000;
    const t = new GitTroubleTracker(() => now);
    t.pushed("desired", "error", "permission denied");
    now = 2000;
    t.pushed("desired", "error", "still denied");
    t.pushed("status", "rejected");
    t.fetched("tracked", "error", "timeout");
    t.event("degraded", {
      problem: "branch-behind",
      message: "main is 3 commits ahead of what is published",
    });
    expect(t.list()).toEqual([
      { op: "push", branch: "desired", message: "still denied", since: 1000 },
      { op: "fetch", branch: "tracked", message: "timeout", since: 2000 },
      {
        op: "degraded",
        branch: "branch-behind",
        message: "main is 3 commits ahead of what is published",
        since: 2000,
      },
    ]);
    t.pushed("desired", "ok");
    t.fetched("tracked", "ok");
    t.event("recovered", { problem: "branch-behind" });
    t.event("published", { problem: "x" });
    expect(t.list()).toEqual([]);
  });

  it("liveness from the verdict, else from lastSeen; diagnostics as FILE:LINE:COL", () => {
    const b = new MemoryBackend();
    const now = 1_000_000;
    b.docs.set("judged", makeDoc("judged", "1"));
    b.docs.set("quiet", makeDoc("quiet", "1"));
    b.docs.set("old", makeDoc("old", "1"));
    b.liveness.set("judged", { state: "lost", since: now - 1, lastSeen: now - 60_000, message: "" });
    b.lastSeen.set("quiet", now - 1_000);
    b.lastSeen.set("old", now - 31_000);
    b.published = () => ({
      generation: 1,
      commit: null,
      desiredCommit: null,
      rejected: {
        commit: "a".repeat(40),
        at: "",
        errors: 1,
        diagnostics: [{ file: "apps/web.yaml", line: 3, col: 7, rule: "schema", message: "bad" }],
      },
    });
    const facts = gatherFacts(b, [], now, { startedAt: now - 100_000 });
    expect(facts.nodes.map((n) => [n.node, n.liveness])).toEqual([
      ["judged", "lost"],
      ["quiet", "alive"],
      ["old", "lost"],
    ]);
    expect(facts.rejected).toEqual({
      branch: "main",
      commit: "a".repeat(40),
      errors: 1,
      diagnostics: ["apps/web.yaml:3:7: bad"],
    });
  });
});
