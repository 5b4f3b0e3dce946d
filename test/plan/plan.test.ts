// The plan as data: actions, reasons, counts, masking, invalid heads, and the empty state.
import { describe, expect, it } from "vitest";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan, hasChanges, summaryLine } from "../../core/plan/index.js";
import { renderJson } from "../../core/views/json.js";
import { renderMarkdown } from "../../core/views/markdown.js";
import { renderText } from "../../core/views/text.js";
import { validatePlan } from "../../schema/index.js";
import { app, config, loaded, settings, workers } from "./builders.js";
import { planOf, scenarios } from "./scenarios.js";

const plan = (name: string) => planOf(scenarios.find((s) => s.name === name)!);
const workloads = (p: ReturnType<typeof plan>) =>
  p.nodes.flatMap((n) =>
    n.workloads.map((w) => ({ node: n.node, id: w.id, action: w.action, reason: w.reason })),
  );

describe("computePlan", () => {
  it("is valid against the plan schema for every scenario", () => {
    const validate = validatePlan();
    for (const s of scenarios)
      expect(validate(planOf(s)), `${s.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
  });

  it("replaces changed workloads with the field that changed as the reason", () => {
    const p = plan("image-change");
    expect(workloads(p).map((w) => [w.id, w.action, w.reason])).toEqual([
      ["web-1", "replace", "image nginx:1.25 → nginx:1.27"],
      ["web-0", "replace", "image nginx:1.25 → nginx:1.27"],
    ]);
    expect(p.summary).toEqual({ add: 0, change: 2, remove: 0 });
    expect(p.resources).toEqual([
      {
        kind: "App",
        name: "web",
        action: "update",
        file: "apps/web.yaml",
        changes: [{ field: "image", before: "nginx:1.25", after: "nginx:1.27" }],
      },
    ]);
  });

  it("says why replicas appear, disappear and move", () => {
    expect(workloads(plan("scale-up"))).toEqual([
      { node: "node-c", id: "web-2", action: "create", reason: "scaled up 2 → 3" },
    ]);
    expect(workloads(plan("scale-down"))).toEqual([
      { node: "node-a", id: "web-1", action: "delete", reason: "scaled down 2 → 1" },
    ]);
    expect(workloads(plan("new-app")).every((w) => w.action === "create" && w.reason === "new app")).toBe(
      true,
    );
    expect(workloads(plan("app-removed"))).toEqual([
      { node: "node-b", id: "api-0", action: "delete", reason: "app removed" },
    ]);
    const cordon = workloads(plan("node-cordoned"));
    expect(cordon.length).toBeGreaterThan(0);
    for (const w of cordon) {
      expect(w.reason).toMatch(
        w.action === "create"
          ? /^moved from node-b \(node-b cordoned\)$/
          : /^moved to node-. \(node-b cordoned\)$/,
      );
    }
    for (const w of workloads(plan("node-added")))
      expect(w.reason).toMatch(/rebalanced onto new node node-d/);
  });

  it("updates routes when upstreams or the domain's app change", () => {
    const moved = plan("domain-moved").nodes.find((n) => n.node === "edge")!;
    expect(moved.routes).toHaveLength(1);
    expect(moved.routes[0]).toMatchObject({ host: "www.example.com", path: "/", action: "update" });
    expect(moved.routes[0]?.reason).toMatch(/^app web → api, health check removed, upstreams: /);
    const added = plan("domain-added").nodes.find((n) => n.node === "edge")!;
    expect(added.routes.map((r) => [r.host, r.path, r.action, r.reason])).toEqual([
      ["static.example.com", "/assets", "create", "domain added"],
    ]);
  });

  it("masks secret-looking env values in config and workload changes", () => {
    const p = plan("secret-env-masked");
    const json = JSON.stringify(p);
    for (const secret of ["hunter2", "k-123", "correct-horse", "k-456"]) expect(json).not.toContain(secret);
    const changes = p.resources[0]!.changes;
    expect(changes).toContainEqual({ field: "env.DB_PASSWORD", before: "(sensitive)", after: "(sensitive)" });
    expect(changes).toContainEqual({ field: "env.NEW_TOKEN", after: "(sensitive)" });
    expect(changes).toContainEqual({ field: "env.LOG_LEVEL", before: "info", after: "debug" });
    const w = p.nodes.flatMap((n) => n.workloads)[0]!;
    expect(w.changes).toContainEqual({ field: "env.API_KEY", before: "(sensitive)", after: "(sensitive)" });
  });

  it("names encrypted secrets and what happened to them, never a value, a ciphertext or a URL password", () => {
    const p = plan("secret-changed");
    const views = [
      JSON.stringify(p),
      renderText(p, { color: false }),
      renderMarkdown(p, {}),
      renderJson(p),
    ].join("\n");
    for (const leak of ["s3cr3t-1", "s3cr3t-2", "NEWVALUE", "OLDVALUE", "REKEYED", "ORIGINAL", "BEGIN AGE"])
      expect(views).not.toContain(leak);
    expect(p.resources.find((r) => r.kind === "Secrets")?.changes).toEqual([
      { field: "secrets.API_TOKEN", secret: "added" },
      { field: "secrets.DB_PASSWORD", secret: "changed" },
      { field: "secrets.SESSION_KEY", secret: "re-encrypted" },
    ]);
    const w = p.nodes.flatMap((n) => n.workloads)[0]!;
    expect(w.action).toBe("replace");
    expect(w.reason).toBe(
      "env.DATABASE_URL changed, secret API_TOKEN added, secret DB_PASSWORD changed, 1 more change",
    );
    expect(renderText(p, { color: false })).toContain("~ secret DB_PASSWORD (changed)");
  });

  it("gives an invalid head no changes, only its errors", () => {
    const p = plan("invalid-head");
    expect(p.valid).toBe(false);
    expect(p.errors).toHaveLength(2);
    expect(p.nodes).toEqual([]);
    expect(p.resources).toEqual([]);
    expect(summaryLine(p)).toBe("Plan: invalid (2 errors), nothing will be published.");
  });

  it("has no changes between equal configs, whatever the commits", () => {
    const p = plan("no-changes");
    expect(p.nodes).toEqual([]);
    expect(p.resources).toEqual([]);
    expect(hasChanges(p)).toBe(false);
    expect(summaryLine(p)).toBe("No changes.");
  });

  it("plans from the empty state when there is no base", () => {
    const p = plan("first-plan");
    expect(p.base).toEqual({ ref: null, commit: null });
    expect(p.summary.remove).toBe(0);
    expect(p.summary.add).toBe(5); // 3 workloads + 2 routes
    expect(p.nodes.map((n) => n.hashBefore)).toEqual([null, null, null, null]);
  });

  it("reports a Settings change as a resource, and no Settings resource without berth.yaml", () => {
    const nodes = workers(2);
    const apps = [app({ name: "web" })];
    const side = { ref: "x", commit: null };
    const input = (cfg: ReturnType<typeof config>) => ({
      side,
      config: cfg,
      desired: new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: "worktree" }).desired,
      diagnostics: [],
    });
    const without = config({ apps, nodes });
    const withSettings = config({ apps, nodes, settings: settings({ desiredBranch: "deploy/desired" }) });
    expect(computePlan(input(without), input(without)).resources).toEqual([]);
    const p = computePlan(input(without), input(withSettings));
    expect(p.resources.map((r) => [r.kind, r.action, r.file])).toEqual([
      ["Settings", "create", "berth.yaml"],
    ]);
    expect(p.resources[0]?.changes).toContainEqual({ field: "desiredBranch", after: "deploy/desired" });
  });
});
