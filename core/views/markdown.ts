// The plan as a pull-request comment: a hidden marker (so the comment is found again), the
// summary line, a per-node table, then details collapsed in <details>; never longer than
// maxLength characters (whole sections are dropped and a note says so). Pure.
import type { FieldChange, NodeChange, Plan, ResourceChange } from "../../schema/index.js";
import { summaryLine } from "../plan/index.js";
import { emptyNote, fieldSymbol, formatFieldChange, plural, sideLabel, symbols } from "./format.js";

export const PLAN_MARKER = "<!-- berth-plan -->";
const DEFAULT_MAX = 60_000;
const TABLE_ROWS = 50;
const CELL_ITEMS = 4;

export interface MarkdownOptions {
  maxLength?: number;
  /** Link to a file at a line of the head commit, for diagnostics. */
  fileUrl?: (file: string, line: number) => string;
}

export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const max = opts.maxLength ?? DEFAULT_MAX;
  const head = [
    PLAN_MARKER,
    `### ${summaryLine(plan)}`,
    "",
    `Base: ${code(sideLabel(plan.base))} · Head: ${code(sideLabel(plan.head))}`,
    "",
  ];
  const short = head.join("\n");
  const sections: string[] = [];
  if (!plan.valid) {
    for (const e of plan.errors) {
      const where = `${e.file}:${e.line}:${e.col}`;
      const link = opts.fileUrl ? `[${code(where)}](${opts.fileUrl(e.file, e.line)})` : code(where);
      sections.push(`- ${link}: ${escapeMd(e.message)}\n`);
    }
  } else {
    if (plan.nodes.length > 0) head.push(...table(plan.nodes), "");
    if (plan.resources.length > 0) sections.push(resourcesSection(plan.resources));
    for (const n of plan.nodes) sections.push(nodeSection(n));
  }
  return fitSections(head.join("\n"), short, sections, max);
}

function table(nodes: readonly NodeChange[]): string[] {
  const rows = ["| Node | Add | Change | Remove | Changes |", "|---|--:|--:|--:|---|"];
  for (const n of nodes.slice(0, TABLE_ROWS)) {
    const c = counts(n);
    const items = [
      ...n.workloads.map((w) => `${symbols[w.action]} ${w.id}`),
      ...n.routes.map((r) => `${symbols[r.action]} ${r.host}${r.path}`),
    ];
    const shown = items.slice(0, CELL_ITEMS).map(code);
    if (items.length > CELL_ITEMS) shown.push(`and ${items.length - CELL_ITEMS} more`);
    rows.push(`| ${n.node} | ${c.add} | ${c.change} | ${c.remove} | ${shown.join(", ")} |`);
  }
  if (nodes.length > TABLE_ROWS) rows.push(`| and ${nodes.length - TABLE_ROWS} more nodes | | | | |`);
  return rows;
}

function counts(n: NodeChange): { add: number; change: number; remove: number } {
  const c = { add: 0, change: 0, remove: 0 };
  for (const x of [...n.workloads, ...n.routes]) {
    if (x.action === "create") c.add++;
    else if (x.action === "delete") c.remove++;
    else c.change++;
  }
  return c;
}

function resourcesSection(resources: readonly ResourceChange[]): string {
  const byKind = new Map<string, number>();
  for (const r of resources) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
  const what = [...byKind]
    .map(([k, n]) => plural(n, k === "Settings" ? "setting" : k.toLowerCase()))
    .join(", ");
  const lines: string[] = [];
  for (const r of resources) {
    const name = r.kind === "Settings" ? "settings" : `${r.kind.toLowerCase()} ${r.name}`;
    lines.push(`${symbols[r.action]} ${name}${r.file ? `  (${r.file})` : ""}`);
    fieldLines(r.changes, lines);
  }
  return details(`Config changes: ${what}`, lines);
}

function nodeSection(n: NodeChange): string {
  const c = counts(n);
  const lines: string[] = [];
  for (const w of n.workloads) {
    lines.push(`${symbols[w.action]} workload ${w.id}  ${w.reason}`);
    if (w.action === "replace") fieldLines(w.changes, lines);
  }
  for (const r of n.routes) {
    lines.push(`${symbols[r.action]} route ${r.host}${r.path}  ${r.reason}`);
    if (r.action !== "delete") fieldLines(r.changes, lines);
  }
  if (lines.length === 0) lines.push(`  (${emptyNote(n)})`);
  return details(`${n.node}: ${c.add} to add, ${c.change} to change, ${c.remove} to remove`, lines);
}

function fieldLines(changes: readonly FieldChange[], lines: string[]): void {
  for (const c of changes) lines.push(`    ${fieldSymbol(c)} ${formatFieldChange(c)}`);
}

function details(summary: string, lines: string[]): string {
  // A diff block colours + and - lines on GitHub, Gitea and GitLab.
  return `<details><summary>${escapeMd(summary)}</summary>\n\n\`\`\`diff\n${lines.join("\n")}\n\`\`\`\n\n</details>\n`;
}

const NOTE_ROOM = 240;

/**
 * Head plus as many whole sections as fit in `max` characters, with a note when some do not.
 * When even the head (its table) leaves no room for the note, the short head is used.
 */
function fitSections(head: string, shortHead: string, sections: readonly string[], max: number): string {
  const total = head.length + 1 + sections.reduce((n, s) => n + s.length, 0);
  if (total <= max) return `${head}\n${sections.join("")}`;
  let out = `${head.length + 1 + NOTE_ROOM <= max ? head : shortHead}\n`;
  let shown = 0;
  while (shown < sections.length && out.length + sections[shown]!.length + NOTE_ROOM <= max)
    out += sections[shown++];
  const note = `\n> **Truncated**: ${plural(sections.length - shown, "more section")} not shown (this comment is limited to ${max} characters). Run \`berth plan --format text\` to see the full plan.\n`;
  return clip(out + note, max);
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, Math.max(0, max));
}

function code(s: string): string {
  return `\`${s.replace(/`/g, "'")}\``;
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_[\]<>|&]/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : `\\${c}`,
  );
}
