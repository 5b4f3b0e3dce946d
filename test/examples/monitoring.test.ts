// The shipped monitoring examples: examples/monitoring/berth.rules.yml passes `promtool check
// rules`, the Grafana dashboard is well-formed (unique ids, grid positions, a Prometheus target
// with an expr in every panel), and every expr in both names only metrics that berth's reconciler
// or agent exposes — so a renamed metric breaks this test instead of a dashboard.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { AgentMetrics } from "../../agent/core/metrics.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { checkRules } from "../helpers/promtool.js";
import { requireTool } from "../helpers/tools.js";
import { makeStatus } from "../reconciler/http/memory-backend.js";

const dir = fileURLToPath(new URL("../../examples/monitoring/", import.meta.url));
const rulesFile = join(dir, "berth.rules.yml");
const havePromtool = requireTool("promtool", ["--version"]);

/** name → type of every family berth exposes (reconciler with process metrics, and agent). */
async function exposedFamilies(): Promise<Map<string, string>> {
  const reconciler = await createMetrics().render();
  const agent = new AgentMetrics("n", "0").render(makeStatus("n"), {
    cpuSeconds: 0,
    residentBytes: 0,
    heapBytes: 0,
    startTimeSeconds: 0,
  });
  const out = new Map<string, string>();
  for (const m of `${reconciler.body}\n${agent}`.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    out.set(m[1] as string, m[2] as string);
  return out;
}

/** Metric names an expr uses (berth_*, process_*, nodejs_*), histogram suffixes mapped to the family. */
function metricsIn(expr: string, families: Map<string, string>): { used: string[]; unknown: string[] } {
  const used: string[] = [];
  const unknown: string[] = [];
  // Label values and template strings are not metric names.
  const bare = expr.replace(/"[^"]*"/g, '""');
  for (const m of bare.matchAll(/\b(?:berth|process|nodejs)_[a-zA-Z0-9_]*/g)) {
    const name = m[0];
    const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const ok = families.has(family) && (family === name || families.get(family) === "histogram");
    (ok ? used : unknown).push(name);
  }
  return { used, unknown };
}

describe("examples/monitoring", () => {
  it.skipIf(!havePromtool)("berth.rules.yml passes promtool check rules", () => {
    const r = checkRules(rulesFile);
    expect(r.output).toContain("SUCCESS");
    expect(r.ok).toBe(true);
  });

  it("every alerting rule's expr names only metrics berth exposes", async () => {
    const families = await exposedFamilies();
    const doc = parse(readFileSync(rulesFile, "utf8")) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const r of rules) {
      const { used, unknown } = metricsIn(r.expr, families);
      expect({ alert: r.alert, unknown }).toEqual({ alert: r.alert, unknown: [] });
      expect(used.length, `${r.alert} names no berth metric`).toBeGreaterThan(0);
    }
  });

  it("the Grafana dashboard is well-formed and every panel's expr names metrics berth exposes", async () => {
    const families = await exposedFamilies();
    const dash = JSON.parse(readFileSync(join(dir, "berth-dashboard.json"), "utf8"));
    expect(typeof dash.title).toBe("string");
    expect(dash.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(Number.isInteger(dash.schemaVersion)).toBe(true);
    expect(dash.templating.list.some((v: { type: string }) => v.type === "datasource")).toBe(true);
    const ids = new Set<number>();
    for (const p of dash.panels as unknown[]) {
      const panel = p as {
        id: number;
        type: string;
        title: string;
        gridPos: { x: number; y: number; w: number; h: number };
        datasource: { type: string };
        targets: { refId: string; expr: string }[];
      };
      expect(ids.has(panel.id), `panel id ${panel.id} repeated`).toBe(false);
      ids.add(panel.id);
      expect(["timeseries", "stat", "table", "gauge", "bargauge"]).toContain(panel.type);
      expect(panel.title.length).toBeGreaterThan(0);
      for (const k of ["x", "y", "w", "h"] as const) expect(Number.isInteger(panel.gridPos[k])).toBe(true);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      expect(panel.datasource.type).toBe("prometheus");
      expect(panel.targets.length).toBeGreaterThan(0);
      expect(new Set(panel.targets.map((t) => t.refId)).size).toBe(panel.targets.length);
      for (const t of panel.targets) {
        const { used, unknown } = metricsIn(t.expr, families);
        expect({ panel: panel.title, unknown }).toEqual({ panel: panel.title, unknown: [] });
        expect(used.length, `${panel.title}: ${t.expr} names no berth metric`).toBeGreaterThan(0);
      }
    }
    expect(ids.size).toBeGreaterThanOrEqual(10);
  });

  it("the expr check catches a metric berth does not expose", async () => {
    const families = await exposedFamilies();
    expect(metricsIn("rate(berth_no_such_thing_total[5m])", families).unknown).toEqual([
      "berth_no_such_thing_total",
    ]);
    expect(metricsIn("berth_generation_bucket", families).unknown).toEqual(["berth_generation_bucket"]);
    expect(metricsIn('berth_node_liveness{state="berth_x"}', families)).toEqual({
      used: ["berth_node_liveness"],
      unknown: [],
    });
  });
});
