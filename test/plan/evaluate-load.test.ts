// evaluate() on configs loaded from real YAML by core/config: placement problems get real
// FILE:LINE:COL positions, and settings defaults reach the documents.
import { describe, expect, it } from "vitest";
import { loadFromFiles } from "../../core/config/index.js";
import { checkPlacement, evaluate } from "../../core/evaluate.js";

const node = "kind: Node\nname: a\naddress: 10.0.0.1\ncapacity:\n  cpu: 1\n";
const source = { branch: "main", commit: "worktree" };

describe("evaluate on loaded YAML", () => {
  it("points a placement problem at replicas when written, else at the name", () => {
    const load = loadFromFiles([
      { path: "nodes/a.yaml", content: node },
      { path: "apps/a1.yaml", content: "kind: App\nname: a1\nimage: nginx\nresources:\n  cpu: 0.75\n" },
      {
        path: "apps/a2.yaml",
        content: "kind: App\nname: a2\nimage: nginx\nresources:\n  cpu: 0.5\nreplicas: 1\n",
      },
      {
        path: "apps/a3.yaml",
        content: "# a comment\nkind: App\nname: a3\nimage: nginx\nresources:\n  cpu: 0.5\n",
      },
    ]);
    expect(load.diagnostics).toEqual([]);
    const ev = evaluate(load, source);
    expect(ev.valid).toBe(false);
    expect(ev.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.rule}`)).toEqual([
      "apps/a2.yaml:6:11: placement",
      "apps/a3.yaml:3:7: placement",
    ]);
    expect(ev.diagnostics[0]?.message).toBe(
      'app "a2" needs 1 replica but none fits: not enough cpu on all 1 eligible node (needs 0.5, at most 0.25 free); add capacity, relax placement, or lower replicas or resources',
    );
    // What validate runs: the same problems, without building documents.
    expect(checkPlacement(load)).toEqual(ev.diagnostics);
  });

  it("checkPlacement finds nothing exactly when evaluate is valid", () => {
    const fits = loadFromFiles([
      { path: "nodes/a.yaml", content: node },
      { path: "apps/a1.yaml", content: "kind: App\nname: a1\nimage: nginx\nresources:\n  cpu: 0.5\n" },
    ]);
    expect(checkPlacement(fits)).toEqual([]);
    expect(evaluate(fits, source).valid).toBe(true);
    const invalid = loadFromFiles([{ path: "apps/x.yaml", content: "kind: App\nname: x\n" }]);
    expect(invalid.diagnostics.length).toBeGreaterThan(0);
    expect(checkPlacement(invalid)).toEqual(invalid.diagnostics);
  });

  it("carries settings defaults merged by the loader into workloads", () => {
    const load = loadFromFiles([
      {
        path: "berth.yaml",
        content: "kind: Settings\ndefaults:\n  env:\n    REGION: eu\n  health:\n    intervalSeconds: 7\n",
      },
      { path: "nodes/a.yaml", content: node },
      { path: "apps/web.yaml", content: "kind: App\nname: web\nimage: nginx\nport: 80\nenv:\n  A: '1'\n" },
    ]);
    const ev = evaluate(load, source);
    expect(ev.valid).toBe(true);
    const w = ev.desired.get("a")?.workloads[0];
    expect(w?.env).toEqual({ A: "1", REGION: "eu" });
    expect(w?.health.intervalSeconds).toBe(7);
    expect(ev.desired.get("a")?.source).toEqual(source);
  });
});
