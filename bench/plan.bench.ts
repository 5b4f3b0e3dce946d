// Plan engine benchmark on a generated repo (10,000 apps / 1,000 nodes / 5,000 domains):
//   cold  — a fresh process loads two commits, evaluates both and renders the plan (time, peak RSS);
//   warm  — the reconciler's path: one app changes per commit, ParseCache and evaluator warm;
//   moves — replicas that move when one node is added.
// The engine runs from dist/ when it is built (npm run bench builds it), as the reconciler does,
// else from the sources through tsx.
// Run: npx tsx bench/plan.bench.ts [--apps N --nodes N --domains N --rounds N]. Prints measured figures only.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadResult } from "../core/config/model.js";
import type { Evaluator as EvaluatorT } from "../core/evaluate.js";
import type { PlacementNode } from "../core/placement/index.js";
import type { PlanInput } from "../core/plan/index.js";
import { generateRepo, mutateOneApp } from "./gen-repo.js";
import { machineSpeed } from "./support.js";

const built = existsSync(fileURLToPath(new URL("../dist/core/evaluate.js", import.meta.url)));
const lib = <T>(path: string): Promise<T> =>
  import(new URL(`${built ? "../dist/" : "../"}${path}`, import.meta.url).href) as Promise<T>;
const [
  { ParseCache },
  { Evaluator },
  { exclusionOf },
  { appRequest, buildNodeTable },
  plan,
  { renderJson },
  { loadCommit },
] = await Promise.all([
  lib<typeof import("../core/config/index.js")>("core/config/index.js"),
  lib<typeof import("../core/evaluate.js")>("core/evaluate.js"),
  lib<typeof import("../core/placement/eligibility.js")>("core/placement/eligibility.js"),
  lib<typeof import("../core/placement/index.js")>("core/placement/index.js"),
  lib<typeof import("../core/plan/index.js")>("core/plan/index.js"),
  lib<typeof import("../core/views/json.js")>("core/views/json.js"),
  lib<typeof import("../reconciler/repo/load.js")>("reconciler/repo/load.js"),
]);
const { computePlan, summaryLine } = plan;

interface ColdFigures {
  loadMs: number;
  evaluateMs: number;
  evaluateBaseMs: number;
  planMs: number;
  totalMs: number;
  maxRssMb: number;
  summary: string;
}

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

function input(load: LoadResult & { commit: string; subject: string }, ev: EvaluatorT): PlanInput {
  const e = ev.evaluate(load, { branch: "main", commit: load.commit });
  if (!e.valid) throw new Error(`generated repo is invalid: ${e.diagnostics[0]?.message}`);
  return {
    side: { ref: load.commit, commit: load.commit, subject: load.subject },
    config: load.config,
    desired: e.desired,
    diagnostics: [],
  };
}

/** Child process: one cold plan between two commits. */
async function coldChild(dir: string, base: string, head: string): Promise<void> {
  const t0 = performance.now();
  const cache = new ParseCache();
  const [a, b] = [await loadCommit(dir, base, { cache }), await loadCommit(dir, head, { cache })];
  const t1 = performance.now();
  const ev = new Evaluator();
  const baseInput = input(a, ev);
  const tBase = performance.now();
  const headInput = input(b, ev);
  const t2 = performance.now();
  const plan = computePlan(baseInput, headInput);
  const json = renderJson(plan);
  const t3 = performance.now();
  const figures: ColdFigures = {
    loadMs: t1 - t0,
    evaluateMs: t2 - t1,
    evaluateBaseMs: tBase - t1,
    planMs: t3 - t2,
    totalMs: t3 - t0,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    summary: `${summaryLine(plan)} (${json.length} bytes of JSON)`,
  };
  process.stdout.write(JSON.stringify(figures));
}

function runCold(dir: string, base: string, head: string): Promise<ColdFigures> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", self, "--child-cold", dir, base, head],
      { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const p95 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] as number;
const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;

async function main(): Promise<void> {
  const size = { apps: arg("apps", 10_000), nodes: arg("nodes", 1_000), domains: arg("domains", 5_000) };
  const rounds = arg("rounds", 20);
  const dir = mkdtempSync(join(tmpdir(), "berth-plan-bench-"));
  try {
    let t = performance.now();
    const repo = await generateRepo(dir, { ...size, seed: 1 });
    const base = repo.commit as string;
    let head = base;
    for (let i = 0; i < 10; i++) head = (await mutateOneApp(dir)).commit as string;
    console.error(`generated ${repo.files} files and 11 commits in ${ms(performance.now() - t)}`);

    const speedBefore = machineSpeed();
    // Cold: median of three fresh processes.
    const cold: ColdFigures[] = [];
    for (let i = 0; i < 3; i++) cold.push(await runCold(dir, base, head));
    const pick = cold.sort((a, b) => a.totalMs - b.totalMs)[1] as ColdFigures;

    // Warm: the reconciler's loop, one app per commit.
    const cache = new ParseCache();
    const ev = new Evaluator();
    let prev = input(await loadCommit(dir, head, { cache }), ev);
    const loadT: number[] = [];
    const evalT: number[] = [];
    const planT: number[] = [];
    const total: number[] = [];
    let lastSummary = "";
    for (let i = 0; i < rounds; i++) {
      const { commit } = await mutateOneApp(dir);
      t = performance.now();
      const load = await loadCommit(dir, commit as string, { cache });
      const t1 = performance.now();
      const next = input(load, ev);
      const t2 = performance.now();
      const plan = computePlan(prev, next);
      renderJson(plan);
      const t3 = performance.now();
      loadT.push(t1 - t);
      evalT.push(t2 - t1);
      planT.push(t3 - t2);
      total.push(t3 - t);
      lastSummary = summaryLine(plan);
      prev = next;
    }

    // Moves when one node joins: the same config with one more container node.
    const load = await loadCommit(dir, head, { cache });
    const before = new Evaluator().evaluate(load, { branch: "main", commit: "a" });
    const template = load.config.nodes.find(
      (n) => n.spec.runtime === "podman" && !n.spec.roles.includes("proxy"),
    );
    if (!template) throw new Error("no podman node to copy");
    const joined = {
      ...load,
      config: {
        ...load.config,
        nodes: [
          ...load.config.nodes,
          { ...template, spec: { ...template.spec, name: "node-new", address: "10.255.255.10" } },
        ],
      },
    };
    const after = new Evaluator().evaluate(joined, { branch: "main", commit: "a" });
    const where = (docs: typeof before.desired) => {
      const m = new Map<string, string>();
      for (const [n, d] of docs) for (const w of d.workloads) m.set(w.id, n);
      return m;
    };
    const a = where(before.desired);
    const b = where(after.desired);
    // What rendezvous hashing should move: for each app the new node can run, its replicas times
    // the new node's share of the weight of the app's candidates.
    const table = buildNodeTable(joined.config.nodes.map((n) => n.spec));
    const newNode = table.byName.get("node-new") as PlacementNode;
    let expected = 0;
    for (const e of load.config.apps) {
      const req = appRequest(e.spec);
      if (exclusionOf(req, newNode) !== null) continue;
      let total = 0;
      for (const n of table.nodes) if (exclusionOf(req, n) === null) total += 1 / n.invWeight;
      expected += (e.spec.replicas * (1 / newNode.invWeight)) / total;
    }
    let moved = 0;
    let toNew = 0;
    for (const [id, n] of a) {
      if (b.get(id) === n) continue;
      moved++;
      if (b.get(id) === "node-new") toNew++;
    }

    const rows: [string, string, string][] = [
      ["cold plan between two commits (load + evaluate + plan)", ms(pick.totalMs), "≤ 1500 ms"],
      ["  of which: load both commits", ms(pick.loadMs), ""],
      ["  of which: evaluate both (placement + documents)", ms(pick.evaluateMs), ""],
      ["    base from scratch (code not yet optimised by the JIT)", ms(pick.evaluateBaseMs), ""],
      ["    head, reusing the base's placement and documents", ms(pick.evaluateMs - pick.evaluateBaseMs), ""],
      ["  of which: compute + render plan JSON", ms(pick.planMs), ""],
      ["cold peak RSS", `${pick.maxRssMb.toFixed(0)} MB`, "≤ 400 MB"],
      [`warm one-app change, load + evaluate + plan (p50 of ${rounds})`, ms(median(total)), "≤ 100 ms"],
      ["warm one-app change, p95", ms(p95(total)), ""],
      ["  of which: load (warm ParseCache), p50", ms(median(loadT)), ""],
      ["  of which: evaluate (warm), p50", ms(median(evalT)), ""],
      ["  of which: compute + render plan, p50", ms(median(planT)), ""],
      [
        `replicas moved when 1 node joins ${size.nodes}`,
        `${moved} of ${a.size} (${((100 * moved) / a.size).toFixed(2)}%), ${toNew} onto the new node`,
        `expected ≈ ${expected.toFixed(1)} (its weighted share of the apps it can run)`,
      ],
    ];
    console.log(
      `plan engine: ${size.apps} apps / ${size.nodes} nodes / ${size.domains} domains (${repo.files} files); engine from ${built ? "dist" : "tsx"}`,
    );
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    for (const [name, value, goal] of rows)
      console.log(`  ${name.padEnd(w0)}  ${value.padStart(w1)}  ${goal}`);
    console.log(`  cold plan: ${pick.summary}; last warm plan: ${lastSummary}`);
    console.log(
      `  machine speed (bench/support.ts machineSpeed, lower is faster): ${speedBefore.toFixed(0)} ms before, ${machineSpeed().toFixed(0)} ms after`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child-cold") {
  await coldChild(process.argv[3] as string, process.argv[4] as string, process.argv[5] as string);
} else {
  await main();
}
