// The plan as text for a terminal, in the manner of `terraform plan`: a legend of the symbols
// used, config changes grouped by kind, then changes per node, then the summary line. Pure.
import type { Action, FieldChange, Plan, ResourceChange } from "../../schema/index.js";
import { oneLine } from "../escape.js";
import { isMoveStep, moveKeys, moveText, summaryLine } from "../plan/index.js";
import {
  actionsUsed,
  emptyNote,
  fieldSymbol,
  formatFieldChange,
  legendWords,
  sideLabel,
  symbols,
} from "./format.js";
import { actionPaint, type Painter, painter } from "./paint.js";

const groups: { kind: ResourceChange["kind"]; title: string; noun: string }[] = [
  { kind: "App", title: "Apps", noun: "app" },
  { kind: "Domain", title: "Domains", noun: "domain" },
  { kind: "Node", title: "Nodes", noun: "node" },
  { kind: "Settings", title: "Settings", noun: "settings" },
  { kind: "Secrets", title: "Secrets (by app)", noun: "secrets" },
];

/** The symbol of a move (one step: a workload leaves one node for another). */
const MOVE = "->";

export function renderText(plan: Plan, opts: { color: boolean }): string {
  const p = painter(opts.color);
  const out: string[] = [`berth plan: ${sideLabel(plan.base)} → ${sideLabel(plan.head)}`, ""];
  if (!plan.valid) {
    out.push(p("bold", "Errors:"));
    for (const e of plan.errors)
      out.push(`  ${oneLine(e.file)}:${e.line}:${e.col}: ${p("red", oneLine(e.message))}`);
    out.push("", p("bold", summaryLine(plan)));
    return `${out.join("\n")}\n`;
  }

  const moves = plan.moves ?? [];
  const keys = moveKeys(moves);
  const used = actionsUsed([
    ...plan.resources.map((r) => r.action),
    ...plan.nodes.flatMap((n) => [
      ...n.workloads.filter((w) => !isMoveStep(keys, n.node, w)).map((w) => w.action),
      ...n.routes.map((r) => r.action),
    ]),
  ]);
  if (used.length > 0 || moves.length > 0) {
    out.push("Symbols used:");
    for (const a of used) out.push(`${sym(p, a)} ${legendWords[a]}`);
    if (moves.length > 0) out.push(`${p("yellow", MOVE.padStart(3))} move to another node, in one step`);
    out.push("");
  }

  for (const g of groups) {
    const list = plan.resources.filter((r) => r.kind === g.kind);
    if (list.length === 0) continue;
    out.push(p("bold", `${g.title}:`));
    for (const r of list) {
      const file = r.file ? p("dim", `  (${oneLine(r.file)})`) : "";
      out.push(`${sym(p, r.action)} ${g.kind === "Settings" ? "settings" : oneLine(r.name)}${file}`);
      fields(p, r.changes, out);
    }
    out.push("");
  }

  if (plan.failover?.length) {
    out.push(p("bold", "Failover:"));
    for (const f of plan.failover) out.push(`    ${oneLine(f.message)}`);
    out.push("");
  }
  if (moves.length > 0) {
    out.push(p("bold", "Moves:"));
    for (const m of moves) out.push(`${p("yellow", MOVE.padStart(3))} ${oneLine(moveText(m))}`);
    out.push("");
  }
  if (plan.handoffs?.length) {
    out.push(p("bold", "Handoffs:"));
    for (const h of plan.handoffs) out.push(`    ${oneLine(h.message)}`);
    out.push("");
  }

  for (const n of plan.nodes) {
    const workloads = n.workloads.filter((w) => !isMoveStep(keys, n.node, w));
    const header = n.hashBefore == null ? " (new node)" : n.hashAfter == null ? " (node removed)" : "";
    out.push(p("bold", `Node ${n.node}${header}:`));
    if (workloads.length === 0 && n.routes.length === 0)
      out.push(p("dim", `    (${workloads.length < n.workloads.length ? "see Moves" : emptyNote(n)})`));
    const width = Math.max(
      0,
      ...workloads.map((w) => `workload ${w.id}`.length),
      ...n.routes.map((r) => `route ${r.host}${r.path}`.length),
    );
    for (const w of workloads) {
      out.push(
        `${sym(p, w.action)} ${`workload ${oneLine(w.id)}`.padEnd(width)}  ${p("dim", oneLine(w.reason))}`,
      );
      if (w.action === "replace") fields(p, w.changes, out);
    }
    for (const r of n.routes) {
      out.push(
        `${sym(p, r.action)} ${`route ${oneLine(`${r.host}${r.path}`)}`.padEnd(width)}  ${p("dim", oneLine(r.reason))}`,
      );
      if (r.action !== "delete") fields(p, r.changes, out);
    }
    out.push("");
  }

  out.push(p("bold", summaryLine(plan)));
  return `${out.join("\n")}\n`;
}

/** The symbol right-aligned in three columns, so `-/+` and `+` line up as in terraform. */
function sym(p: Painter, action: Action): string {
  return p(actionPaint[action], symbols[action].padStart(3));
}

function fields(p: Painter, changes: readonly FieldChange[], out: string[]): void {
  for (const c of changes) {
    const s = fieldSymbol(c);
    const paint = s === "+" ? "green" : s === "-" ? "red" : "yellow";
    out.push(`      ${p(paint, s)} ${formatFieldChange(c)}`);
  }
}
