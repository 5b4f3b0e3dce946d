// Unit tests of the reconciler's small pure-ish parts: coalescing of triggers, the served state's
// long-poll bookkeeping, the desired-branch layout round trip, status keys and messages.
import { describe, expect, it } from "vitest";
import { Coalescer } from "../../reconciler/source/coalescer.js";
import {
  carryUnchanged,
  desiredFiles,
  parseDesiredFiles,
  publishMessage,
} from "../../reconciler/store/desired-layout.js";
import { NodeBook } from "../../reconciler/store/node-book.js";
import { normalizeEtag, ServedState } from "../../reconciler/store/served.js";
import { statusKey, statusMessage } from "../../reconciler/store/status-layout.js";
import type { DesiredState, NodeStatus } from "../../schema/index.js";

function doc(node: string, hash: string, commit = "c".repeat(40)): DesiredState {
  return {
    apiVersion: "berth/v1",
    node,
    source: { branch: "main", commit },
    hash: `sha256:${hash.repeat(64).slice(0, 64)}`,
    workloads: [],
    routes: [],
  };
}

function status(node: string, phase: NodeStatus["phase"], observedAt?: string): NodeStatus {
  return {
    node,
    agentVersion: "1",
    desiredHash: null,
    appliedHash: null,
    appliedCommit: null,
    phase,
    workloads: [],
    ingress: null,
    ...(observedAt ? { observedAt } : {}),
  };
}

describe("Coalescer", () => {
  it("runs once for a burst and once more for triggers during a run", async () => {
    const runs: string[] = [];
    let release: () => void = () => {};
    const loop = new Coalescer({
      run: async (_t0, why) => {
        runs.push(why);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
      },
      failed: () => {},
    });
    loop.trigger({ source: "poll" });
    expect(runs).toEqual([]); // not enabled yet
    loop.enable();
    loop.trigger({ source: "watch" });
    await Promise.resolve();
    for (let i = 0; i < 5; i++) loop.trigger({ source: "webhook" });
    release();
    await loop.idle();
    expect(runs).toEqual(["watch", "webhook"]);
  });

  it("retries a failed run with backoff and reports the failure", async () => {
    const failures: number[] = [];
    let calls = 0;
    const loop = new Coalescer({
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("fetch failed");
      },
      failed: (_err, n, wait) => failures.push(n, wait),
    });
    loop.enable();
    loop.trigger({ source: "startup" });
    await loop.idle();
    expect(failures).toEqual([1, 1000]);
    const deadline = Date.now() + 10_000;
    while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await loop.stop();
    expect(calls).toBe(2);
  });
});

describe("ServedState", () => {
  it("wakes only the long-polls of nodes whose hash changed", async () => {
    const served = new ServedState();
    const a1 = doc("a", "1");
    const b1 = doc("b", "1");
    served.replace(
      {
        generation: 1,
        source: { branch: "main", commit: "x", subject: "" },
        docs: new Map([
          ["a", a1],
          ["b", b1],
        ]),
        tokens: new Map(),
        plan: null,
        handoffs: [],
      },
      "d1",
    );
    const ac = new AbortController();
    const woken: string[] = [];
    const wa = served.waitForChange("a", `"${a1.hash}"`, 60_000, ac.signal).then(() => woken.push("a"));
    const wb = served.waitForChange("b", `W/"${b1.hash}"`, 60_000, ac.signal).then(() => woken.push("b"));
    expect(served.waiting()).toBe(2);
    const changed = served.replace(
      {
        generation: 2,
        source: { branch: "main", commit: "y", subject: "" },
        docs: new Map([
          ["a", doc("a", "2")],
          ["b", b1],
        ]),
        tokens: new Map(),
        plan: null,
        handoffs: [],
      },
      "d2",
    );
    expect(changed).toEqual(["a"]);
    await wa;
    expect(woken).toEqual(["a"]);
    ac.abort();
    await wb;
    expect(served.waiting()).toBe(0);
    expect(normalizeEtag('W/"sha256:ab"')).toBe("sha256:ab");
  });
});

describe("desired-branch layout", () => {
  it("round-trips a snapshot and writes only changed node files", () => {
    const a = doc("a", "1");
    const b = doc("b", "2");
    const snap = {
      generation: 7,
      source: { branch: "main", commit: "f".repeat(40), subject: "bump" },
      docs: new Map([
        ["a", a],
        ["b", b],
      ]),
      tokens: new Map([["a", "ab".repeat(32)]]),
      plan: null,
      handoffs: [],
    };
    const files = desiredFiles(snap, () => "{}\n");
    const bytes = new Map(
      [...files].filter(([, v]) => v !== null).map(([k, v]) => [k, new TextEncoder().encode(v as string)]),
    );
    const parsed = parseDesiredFiles(bytes);
    expect(parsed.problems).toEqual([]);
    expect(parsed.snapshot?.generation).toBe(7);
    expect(parsed.snapshot?.docs.get("b")).toEqual(b);
    expect(parsed.snapshot?.tokens.get("a")).toBe("ab".repeat(32));

    const next = carryUnchanged(
      snap.docs,
      new Map([
        ["a", doc("a", "1", "e".repeat(40))],
        ["c", doc("c", "3")],
      ]),
    );
    expect(next.get("a")).toBe(a);
    const changes = desiredFiles({ ...snap, generation: 8, docs: next }, () => "{}\n", snap.docs);
    expect([...changes.keys()].sort()).toEqual(["meta.json", "nodes/b.json", "nodes/c.json", "plan.json"]);
    expect(changes.get("nodes/b.json")).toBeNull();
    expect(publishMessage(snap.source, 7, "No changes.").split("\n")[0]).toBe(
      "Publish main@fffffff: No changes.",
    );
  });

  it("names what is wrong with a hand-edited branch", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(parseDesiredFiles(new Map()).problems).toEqual(["meta.json is missing"]);
    const broken = parseDesiredFiles(
      new Map([
        ["meta.json", enc('{"generation":1,"source":{"branch":"main","commit":"x","subject":""}}')],
        ["nodes/a.json", enc("{not json")],
        ["nodes/b.json", enc('{"node":"b"}')],
      ]),
    );
    expect(broken.snapshot?.docs.size).toBe(0);
    expect(broken.problems.map((p) => p.split(":")[0])).toEqual(["nodes/a.json", "nodes/b.json"]);
  });
});

describe("status layout and node book", () => {
  it("ignores observedAt when comparing and describes batches", () => {
    expect(statusKey(status("a", "converged", "2026-01-01T00:00:00Z"))).toBe(
      statusKey(status("a", "converged")),
    );
    expect(statusKey(status("a", "converged"))).not.toBe(statusKey(status("a", "failed")));
    expect(statusMessage(new Map([["a", status("a", "failed")]]))).toBe("Status: a failed\n");
    expect(
      statusMessage(
        new Map([
          ["b", status("b", "applying")],
          ["a", status("a", "converged")],
          ["c", status("c", "converged")],
        ]),
      ).split("\n")[0],
    ).toBe("Status of 3 nodes: 2 converged, 1 applying");
  });

  it("tracks whether a report changed anything", () => {
    const book = new NodeBook();
    book.seed(new Map([["a", status("a", "converged")]]));
    expect(book.report("a", status("a", "converged", "2026-01-01T00:00:00Z"))).toBe(false);
    expect(book.report("a", status("a", "degraded"))).toBe(true);
    expect(book.list(["b", "a"])).toEqual([
      { node: "a", status: status("a", "degraded") },
      { node: "b", status: null },
    ]);
  });
});
