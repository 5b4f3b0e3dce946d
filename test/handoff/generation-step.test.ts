// reconciler/generation-step.ts decides a generation before anything is written. A small repo is
// loaded from a working tree and the decision checked directly: a first generation, a node lost
// within and past its failover grace period, and a facts run (the published source kept, the
// generation counted on). The reconciler tests cover the same through git and HTTP.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ParseCache } from "../../core/config/index.js";
import { Evaluator } from "../../core/evaluate.js";
import { nextGeneration } from "../../reconciler/generation-step.js";
import { loadWorktreeInput } from "../../reconciler/source/config-input.js";
import { ServedState } from "../../reconciler/store/served.js";
import { appYaml, nodeYaml } from "../reconciler/helpers.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const worker = (name: string) => nodeYaml(name, "roles: [worker]\n").replace("roles: [worker, proxy]\n", "");

/** Two workers and an app of 2 replicas, with `failover` lines in berth.yaml. */
async function head(failover = "") {
  const dir = mkdtempSync(join(tmpdir(), "berth-generation-"));
  dirs.push(dir);
  const files: Record<string, string> = {
    "berth.yaml": `kind: Settings\nbranch: main\n${failover}`,
    "nodes/w1.yaml": worker("w1"),
    "nodes/w2.yaml": worker("w2"),
    "apps/web.yaml": appYaml("web", "nginx:1.25", 2),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const loaded = await loadWorktreeInput(dir, "main", {
    parse: new ParseCache({ keepLoads: 2 }),
    evaluator: new Evaluator(),
  });
  expect(loaded.evaluation.valid).toBe(true);
  return loaded;
}

const tip = "a".repeat(40);
const now = Date.parse("2026-12-03T12:00:00Z");
const webOn = (g: ReturnType<typeof nextGeneration>, node: string) =>
  g.snapshot.docs.get(node)?.workloads.filter((w) => w.app === "web").length ?? 0;

function decide(
  h: Awaited<ReturnType<typeof head>>,
  over: Partial<Parameters<typeof nextGeneration>[0]> = {},
) {
  return nextGeneration({
    head: h,
    branch: "main",
    tip,
    commit: tip,
    factsRun: false,
    served: new ServedState(),
    statuses: [],
    lost: [],
    published: null,
    failoverEvaluator: new Evaluator(),
    now,
    ...over,
  });
}

describe("nextGeneration", () => {
  it("a first generation: number 1, the tip as its source, a replica on each worker, no failover", async () => {
    const g = decide(await head());
    expect(g.snapshot.generation).toBe(1);
    expect(g.snapshot.source).toEqual({ branch: "main", commit: tip, subject: "" });
    expect([webOn(g, "w1"), webOn(g, "w2")]).toEqual([1, 1]);
    expect(g.failover.entries).toEqual([]);
    expect(g.plan.failover).toBeUndefined();
    expect(g.snapshot.failover).toBeUndefined();
    expect(g.message).toBe(`Publish main@aaaaaaa: ${g.summary}\n\nGeneration 1 from ${tip}: \n`);
  });

  it("a node lost within its grace period changes nothing yet and says when it is due", async () => {
    const h = await head("failover:\n  enabled: true\n  graceSeconds: 30\n");
    const g = decide(h, { lost: [{ node: "w2", since: now - 10_000 }] });
    expect(g.failover.entries).toEqual([]);
    expect(g.failover.nextAt).toBe(now + 20_000);
    expect([webOn(g, "w1"), webOn(g, "w2")]).toEqual([1, 1]);
  });

  it("a node lost past its grace period: its replica placed on the other worker, said in the plan and the message", async () => {
    const h = await head("failover:\n  enabled: true\n  graceSeconds: 30\n");
    const g = decide(h, { lost: [{ node: "w2", since: now - 60_000 }] });
    expect(g.failover.entries.map((e) => e.node)).toEqual(["w2"]);
    expect(g.plan.failover).toEqual(g.failover.entries);
    expect(g.snapshot.failover).toEqual(g.failover.entries);
    expect([webOn(g, "w1"), webOn(g, "w2")]).toEqual([2, 0]);
    expect(g.message).toMatch(/^Publish main@aaaaaaa: failover: w2 lost since 2026-12-03T11:59:00\.000Z/);
    // Off by default: the same loss places nothing elsewhere.
    const off = decide(await head(), { lost: [{ node: "w2", since: now - 60_000 }] });
    expect(off.failover.entries).toEqual([]);
    expect([webOn(off, "w1"), webOn(off, "w2")]).toEqual([1, 1]);
  });

  it("a facts run keeps the published source and counts the generation on", async () => {
    const first = decide(await head());
    const served = new ServedState();
    served.replace(first.snapshot, "d".repeat(40));
    // Loaded again: equal documents, other objects.
    const again = await head();
    expect(again.evaluation.desired.get("w1")).not.toBe(served.docs.get("w1"));
    const g = decide(again, { served, factsRun: true, tip: "b".repeat(40) });
    expect(g.snapshot.generation).toBe(2);
    expect(g.snapshot.source).toEqual(first.snapshot.source);
    expect(g.snapshot.source).not.toBe(served.source);
    // Unchanged documents are the published objects (written again as they are).
    expect(g.snapshot.docs.get("w1")).toBe(served.docs.get("w1"));
  });
});
