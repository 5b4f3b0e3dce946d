// The markdown view under a length limit: big plans use the budget, every cut leaves closed
// markdown, and the closing note counts exactly what was left out.
import { describe, expect, it } from "vitest";
import type { AppSpec } from "../../core/config/model.js";
import { PLAN_MARKER, renderMarkdown } from "../../core/views/markdown.js";
import type { Plan } from "../../schema/index.js";
import { app, config, workers } from "./builders.js";
import { planOf, scenarios } from "./scenarios.js";

const names = (n: number) => Array.from({ length: n }, (_, i) => `app-${String(i).padStart(3, "0")}`);

function bigApp(name: string, version = "1.0"): AppSpec {
  return app({
    name,
    image: `registry.local/${name}:${version}`,
    port: 8080,
    replicas: 2,
    env: { LOG_LEVEL: "info", REGION: "eu" },
    resources: { cpu: 0.1, memory: "64Mi" },
  });
}

/** 400 new apps (800 replicas) on 20 existing workers. */
const newApps: Plan = (() => {
  const nodes = workers(20);
  const head = config({ apps: names(400).map((n) => bigApp(n)), nodes });
  return planOf({ name: "400-new-apps", base: config({ nodes }), head });
})();

/** 400 apps whose image changes, on 3 workers: node sections are the bulk. */
const imageChanges: Plan = (() => {
  const nodes = workers(3);
  const base = config({ apps: names(400).map((n) => bigApp(n)), nodes });
  const head = config({ apps: names(400).map((n) => bigApp(n, "2.0")), nodes });
  return planOf({ name: "400-image-changes", base, head });
})();

/** 60 nodes, each gaining a replica: more table rows than a small comment holds. */
const manyNodes: Plan = (() => {
  const nodes = workers(60);
  const head = config({ apps: [bigApp("wide")].map((a) => ({ ...a, replicas: 60 })), nodes });
  return planOf({ name: "60-nodes", base: config({ nodes }), head });
})();

/**
 * Checks the comment is well formed: marker and summary first, every <details> closed before
 * the next opens, code fences only inside them and closed with the fence that opened them,
 * and a table never left without its header.
 */
function expectClosedMarkdown(md: string, max: number): void {
  expect(md.length).toBeLessThanOrEqual(max);
  const lines = md.split("\n");
  expect(lines[0]).toBe(PLAN_MARKER);
  expect(md.endsWith("\n")).toBe(true);
  let inDetails = false;
  let fence: string | null = null;
  let inTable = false;
  for (const [i, line] of lines.entries()) {
    if (fence !== null) {
      if (line === fence) fence = null;
      continue;
    }
    const open = /^(`{3,})diff$/.exec(line);
    if (open) {
      expect(inDetails, `fence outside <details> at line ${i + 1}`).toBe(true);
      fence = open[1]!;
    } else if (line.startsWith("<details>")) {
      expect(inDetails, `nested <details> at line ${i + 1}`).toBe(false);
      inDetails = true;
    } else if (line === "</details>") {
      expect(inDetails, `stray </details> at line ${i + 1}`).toBe(true);
      inDetails = false;
    } else if (line.startsWith("|")) {
      if (!inTable) expect(line).toBe("| Node | Add | Change | Remove | Changes |");
      inTable = true;
    } else {
      inTable = false;
    }
  }
  expect(fence, "a code fence is left open").toBeNull();
  expect(inDetails, "a <details> is left open").toBe(false);
}

/** The numbers the closing note gives, by what they count. */
function noteCounts(md: string): Record<string, number> {
  const note = md.split("\n").find((l) => l.startsWith("> **Truncated:**")) ?? "";
  const get = (re: RegExp) => Number(re.exec(note)?.[1] ?? 0);
  return {
    configChanges: get(/(\d+) more config changes?/),
    nodeChanges: get(/(\d+) more changes? in/),
    cutNodeSections: get(/in (\d+) partly shown node sections?/),
    nodeSections: get(/(?:^|, |and |:\*\* )(\d+) node sections?/),
    tableRows: get(/(\d+) rows? of the node table/),
  };
}

/** Sections of the comment by their summary, with the change lines shown in each. */
function sections(md: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of md.matchAll(/<details><summary>(.*?)<\/summary>\n\n`{3,}diff\n([\s\S]*?)\n`{3,}\n/g)) {
    out.set(
      m[1]!,
      m[2]!.split("\n").filter((l) => /^(\+|-|~|-\/\+) /.test(l)),
    );
  }
  return out;
}

describe("markdown view within maxLength", () => {
  it("a 400-new-app plan fills the 60,000-character comment and keeps the table and node sections", () => {
    const md = renderMarkdown(newApps);
    expectClosedMarkdown(md, 60_000);
    expect(md.length).toBeGreaterThanOrEqual(50_000);
    expect(md.split("\n")[1]).toBe("### Plan: 800 to add, 0 to change, 0 to remove.");
    for (const n of newApps.nodes) expect(md).toContain(`| ${n.node} | `);

    const shown = sections(md);
    const config = [...shown].find(([summary]) => summary.startsWith("Config changes"));
    expect(config).toBeDefined();
    const appsShown = config![1].length;
    expect(appsShown).toBeGreaterThan(0);
    expect(appsShown).toBeLessThan(400);
    expect(md).toContain(`… ${400 - appsShown} more config changes not shown`);
    const nodeSections = [...shown.keys()].filter((s) => s.startsWith("node-"));
    expect(nodeSections.length).toBeGreaterThan(0);

    const counts = noteCounts(md);
    expect(counts.configChanges).toBe(400 - appsShown);
    expect(counts.nodeSections).toBe(newApps.nodes.length - nodeSections.length);
    expect(md.trimEnd().split("\n").at(-1)).toMatch(
      /^> \*\*Truncated:\*\* .* not shown \(the comment is limited to 60,000 characters\); run `berth plan --format text` for the full plan\.$/,
    );
  });

  it("cuts node sections between changes and counts what each cut leaves out", () => {
    const md = renderMarkdown(imageChanges, { maxLength: 30_000 });
    expectClosedMarkdown(md, 30_000);
    expect(md.length).toBeGreaterThan(25_000);
    const shown = sections(md);
    let left = 0;
    let cut = 0;
    let missing = 0;
    for (const n of imageChanges.nodes) {
      const entry = [...shown].find(([summary]) => summary.startsWith(`${n.node}:`));
      if (!entry) {
        missing++;
        continue;
      }
      const workloads = entry[1].filter((l) => l.startsWith("-/+ workload")).length;
      if (workloads < n.workloads.length) {
        cut++;
        left += n.workloads.length - workloads;
        expect(md).toContain(`… ${n.workloads.length - workloads} more changes not shown`);
      }
    }
    expect(cut).toBeGreaterThan(0);
    const counts = noteCounts(md);
    expect(counts.nodeChanges).toBe(left);
    expect(counts.cutNodeSections).toBe(cut);
    expect(counts.nodeSections).toBe(missing);
  });

  it("keeps as many table rows as fit and says how many nodes it leaves out", () => {
    const md = renderMarkdown(manyNodes, { maxLength: 2_000 });
    expectClosedMarkdown(md, 2_000);
    const rows = md.split("\n").filter((l) => /^\| node-\d+ \|/.test(l)).length;
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(50);
    expect(md).toContain(`| and ${60 - rows} more nodes not shown | | | | |`);
    expect(noteCounts(md).tableRows).toBe(50 - rows); // rows past 50 are never in the table
    // With room to spare, the table stops at 50 rows by design and says so.
    const roomy = renderMarkdown(manyNodes);
    expect(roomy).not.toContain("Truncated");
    expect(roomy).toContain("| and 10 more nodes not shown | | | | |");
  });

  it("gives valid, closed markdown within small limits, with the summary line and the note", () => {
    const plans = [newApps, imageChanges, manyNodes, ...scenarios.map(planOf)];
    for (const plan of plans) {
      for (const max of [500, 700, 1_000, 1_500, 2_000, 3_000, 5_000]) {
        const md = renderMarkdown(plan, { maxLength: max });
        expectClosedMarkdown(md, max);
        expect(md.split("\n")[1]).toMatch(/^### (Plan: |No changes\.)/);
        if (md.length < renderMarkdown(plan, { maxLength: 1e9 }).length) {
          expect(md).toContain("> **Truncated:**");
          expect(md).toContain("`berth plan --format text`");
        }
      }
    }
  });

  it("never exceeds even a tiny limit", () => {
    for (const max of [0, 10, 25, 80, 150, 250, 350]) {
      const md = renderMarkdown(newApps, { maxLength: max });
      expect(md.length).toBeLessThanOrEqual(max);
      if (md !== "") expectClosedMarkdown(md, max);
    }
    expect(renderMarkdown(newApps, { maxLength: 100 }).split("\n").slice(0, 2)).toEqual([
      PLAN_MARKER,
      "### Plan: 800 to add, 0 to change, 0 to remove.",
    ]);
  });

  it("a value with backticks cannot close the code fence", () => {
    const nodes = workers(1);
    const plan = planOf({
      name: "backticks",
      base: config({ nodes }),
      head: config({ apps: [app({ name: "odd", env: { BANNER: "```` hi" } })], nodes }),
    });
    const md = renderMarkdown(plan);
    expect(md).toContain("`````diff\n+ app odd");
    expectClosedMarkdown(md, 60_000);
  });
});
