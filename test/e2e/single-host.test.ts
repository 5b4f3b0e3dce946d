// The whole GitOps loop on one host with real git, real Caddy and the process runtime:
// commit → converged → HTTP through Caddy; an invalid commit keeps the old version serving and is
// visible in events and status; rollback converges back; restarts redeploy nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { branchTip, readJsonFolder } from "../../cli/branch-files.js";
import { streamEvents } from "../../cli/commands/events.js";
import { readHistory } from "../../cli/commands/history.js";
import { rollback } from "../../cli/commands/rollback.js";
import { collect } from "../../cli/commands/status.js";
import type { NodeStatus } from "../../schema/index.js";
import { requireTool } from "../helpers/tools.js";
import { type Bed, instancePids, singleHostBed, waitFor } from "./helpers.js";

const ok = requireTool("git") && requireTool("caddy", ["version"]);

describe.skipIf(!ok)("single host, end to end (process runtime, real Caddy)", () => {
  let bed: Bed;
  let first: string;

  beforeAll(async () => {
    bed = await singleHostBed();
    first = bed.repo.git("rev-parse", "HEAD");
    await bed.start();
  });
  afterAll(async () => {
    await bed?.cleanup();
  });

  it("converges on the first commit and serves both apps through Caddy", async () => {
    await bed.converged(first);
    const hello = await bed.get("hello.localhost");
    expect(hello.status).toBe(200);
    expect(JSON.parse(hello.body).message).toBe("Hello from berth");
    const site = await bed.get("site.localhost");
    expect(site.status).toBe(200);
    expect(site.body).toContain("<html");
    // Unknown hosts get the catch-all 404, not Caddy's empty 200.
    expect((await bed.get("nope.localhost")).status).toBe(404);
  });

  it("applies a committed change and commits the status back to git", async () => {
    const file = "apps/hello.yaml";
    const text = bed.repo.git("show", `HEAD:${file}`);
    const second = await bed.repo.commit(
      { [file]: text.replace(/GREETING: .*/, "GREETING: second version") },
      "hello: v2",
    );
    await bed.converged(second);
    expect(JSON.parse((await bed.get("hello.localhost")).body).message).toBe("second version");

    // The status branch gets what the agent reported (batched): it names the applied commit.
    const statuses = await waitFor("status branch to show the second commit", async () => {
      const tip = await branchTip(bed.repo.dir, "berth/status");
      if (!tip) return false;
      const files = await readJsonFolder<NodeStatus>(bed.repo.dir, tip, "nodes");
      return files.get("local")?.appliedCommit === second ? files : false;
    });
    const local = statuses.get("local")!;
    expect(local.phase).toBe("converged");
    expect(local.appliedHash).toBe(bed.host.reconciler.desired("local")!.hash);
    // Every workload the status file lists runs, with the spec hash of the published document.
    const running = new Map(local.workloads.map((w) => [w.id, w]));
    for (const w of bed.host.reconciler.desired("local")!.workloads) {
      expect(running.get(w.id)).toMatchObject({ state: "running", health: "healthy", specHash: w.specHash });
    }
  });

  it("rejects an invalid commit: nothing published, the old version keeps serving, the error is visible", async () => {
    const before = bed.host.reconciler.published();
    const bad = await bed.repo.commit(
      { "apps/hello.yaml": "kind: App\nname: hello\nreplicas: -1\n" },
      "broken",
    );
    const rejected = await waitFor("rejected event", () =>
      bed.host.events.since(0).events.find((e) => e.type === "rejected" && e.data.commit === bad),
    );
    const diags = rejected.data.diagnostics as { file: string; line: number; message: string }[];
    expect(diags.some((d) => d.file === "apps/hello.yaml" && d.line === 3)).toBe(true);
    const after = bed.host.reconciler.published();
    expect({
      generation: after.generation,
      commit: after.commit,
      desiredCommit: after.desiredCommit,
    }).toEqual({
      generation: before.generation,
      commit: before.commit,
      desiredCommit: before.desiredCommit,
    });
    expect(after.rejected?.commit).toBe(bad);
    expect(JSON.parse((await bed.get("hello.localhost")).body).message).toBe("second version");
    // `berth status` (live) shows the rejection beside the nodes.
    const summary = await collect(bed.repo.dir, { url: bed.host.url });
    expect(summary.reconciler?.rejected?.commit).toBe(bad);
    expect(summary.reconciler?.rejected?.errors).toBeGreaterThan(0);
    // Fix it again so the next test starts from a valid tip.
    await bed.repo.git("revert", "--no-edit", "HEAD");
  });

  it("rolls back to the first commit's config and converges to the old version", async () => {
    const out = await rollback(bed.repo.dir, first, {}, { json: false, color: false });
    expect(out).toContain("Plan:");
    const tip = bed.repo.git("rev-parse", "HEAD");
    expect(bed.repo.git("log", "-1", "--format=%s")).toBe(`Rollback to ${first.slice(0, 7)}: Initial config`);
    expect(bed.repo.git("rev-parse", "HEAD^{tree}")).toBe(bed.repo.git("rev-parse", `${first}^{tree}`));
    await bed.converged(tip);
    expect(JSON.parse((await bed.get("hello.localhost")).body).message).toBe("Hello from berth");
  });

  it("berth events prints what happened and ends; berth history lists the generations", async () => {
    const seen: { event?: string; data: string }[] = [];
    await streamEvents({ url: bed.host.url, follow: false }, (e) => seen.push(e));
    const types = seen.map((e) => e.event);
    expect(types).toContain("published");
    expect(types).toContain("rejected");
    const history = await readHistory(bed.repo.dir, 10);
    expect(history.map((g) => g.generation)).toEqual([3, 2, 1]);
    expect(history[0]!.source?.subject).toMatch(/^Rollback to /);
    expect(history[2]!.summary).toMatchObject({ add: 5, change: 0, remove: 0 });
  });

  it("restarting berth redeploys nothing that is already right", async () => {
    const pidsBefore = instancePids(bed.stateDir);
    expect(pidsBefore.size).toBe(3);
    const tip = bed.repo.git("rev-parse", "HEAD");
    const generation = bed.host.reconciler.published().generation;
    await bed.host.stop({ keepRunning: true });
    await bed.start();
    await bed.converged(tip);
    // Same generation (nothing republished) and the very same processes (nothing restarted).
    expect(bed.host.reconciler.published().generation).toBe(generation);
    expect(instancePids(bed.stateDir)).toEqual(pidsBefore);
    expect(JSON.parse((await bed.get("hello.localhost")).body).message).toBe("Hello from berth");
  });
});
