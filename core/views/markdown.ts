// The plan as a pull-request comment: a hidden marker (so the comment is found again), the
// summary line, a per-node table, then details collapsed in <details>. Never longer than
// maxLength characters: the head and the table come first, the details share what is left
// (cut between changes, never leaving a block open) and a closing note says exactly what was
// left out. Pure.
import type { FieldChange, NodeChange, Plan, ResourceChange } from "../../schema/index.js";
import { oneLine } from "../escape.js";
import { isMoveStep, moveKeys, moveText, summaryLine } from "../plan/index.js";
import { emptyNote, fieldSymbol, formatFieldChange, plural, sideLabel, symbols } from "./format.js";
import { type Block, type Fit, fitBlock, fitGroups, renderBlock } from "./markdown-fit.js";

export const PLAN_MARKER = "<!-- berth-plan -->";
const DEFAULT_MAX = 60_000;
const TABLE_ROWS = 50;
const CELL_ITEMS = 4;

export interface MarkdownOptions {
  maxLength?: number;
  /** Link to a file at a line of the head commit, for diagnostics. */
  fileUrl?: (file: string, line: number) => string;
}

/** What a truncated comment leaves out; the closing note says each non-zero count. */
interface Omitted {
  errors: number;
  configChanges: number;
  /** Changes left out of node sections shown in part, and how many such sections. */
  nodeChanges: number;
  cutNodeSections: number;
  nodeSections: number;
  tableRows: number;
  table: boolean;
}

/** The blocks of a comment, in order. */
interface Parts {
  head: string;
  table: Block | null;
  config: Block | null;
  /** Moves and the handoff notes of a published generation. */
  moves: Block | null;
  nodes: Block[];
  errors: Block | null;
}

export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const max = opts.maxLength ?? DEFAULT_MAX;
  const keys = moveKeys(plan.moves);
  const p: Parts = {
    head: headText(plan),
    table: plan.valid && plan.nodes.length > 0 ? tableBlock(plan.nodes, keys) : null,
    config: plan.valid && plan.resources.length > 0 ? resourcesBlock(plan.resources) : null,
    moves: plan.valid ? movesBlock(plan) : null,
    nodes: plan.valid ? plan.nodes.map((n) => nodeBlock(n, keys)) : [],
    errors: plan.valid ? null : errorsBlock(plan, opts.fileUrl),
  };
  const blocks = [p.table, p.config, p.moves, ...p.nodes, p.errors].filter((b) => b !== null);
  const full = p.head + blocks.map((b) => renderBlock(b, b.items.length)).join("");
  if (full.length <= max) return full;

  // First reserve room for the note at its longest (every count at its total), which always
  // fits; then try again reserving only what the note turned out to need.
  const worst: Omitted = {
    errors: p.errors?.items.length ?? 0,
    configChanges: (p.config?.items.length ?? 0) + (p.moves?.items.length ?? 0),
    nodeChanges: p.nodes.reduce((n, b) => n + b.items.length, 0),
    cutNodeSections: p.nodes.length,
    nodeSections: p.nodes.length,
    tableRows: p.table?.items.length ?? 0,
    table: false, // "N rows of the node table" is the longer way to say it
  };
  let best = "";
  let reserve = closingNote(worst, max).length;
  for (let tries = 0; tries < 3; tries++) {
    const { body, omitted } = layout(p, max - reserve);
    const note = closingNote(omitted, max);
    const out = `${body}${body.endsWith("\n\n") ? "" : "\n"}${note}`;
    if (out.length <= max && out.length > best.length) best = out;
    if (note.length >= reserve) break;
    reserve = note.length;
  }
  return best || tiny(plan, p.head, max);
}

/** Head, table and as much of the details as fit in `room` characters (less one for a blank line). */
function layout(p: Parts, room: number): { body: string; omitted: Omitted } {
  const budget = room - p.head.length - 1;
  const tableFit = p.table && budget >= 0 ? fitBlock(p.table, budget) : null;
  const rest = budget - (tableFit?.text.length ?? 0);
  const top = [p.config, p.moves].filter((b) => b !== null);
  const groups = p.errors ? [[p.errors]] : [top, p.nodes];
  const [first = [], second = []] = fitGroups(groups, rest);
  const errorFit = p.errors ? (first[0] ?? null) : null;
  const configFit = p.config ? (first[0] ?? null) : null;
  const movesFit = p.moves ? (first[p.config ? 1 : 0] ?? null) : null;
  const nodeFits = p.errors ? [] : second;
  const nodeLeft = (f: Fit, i: number) => (f.shown > 0 ? p.nodes[i]!.items.length - f.shown : 0);
  const omitted: Omitted = {
    errors: left(p.errors, errorFit),
    configChanges: left(p.config, configFit) + left(p.moves, movesFit),
    nodeChanges: nodeFits.reduce((n, f, i) => n + nodeLeft(f, i), 0),
    cutNodeSections: nodeFits.filter((f, i) => nodeLeft(f, i) > 0).length,
    nodeSections: nodeFits.filter((f) => f.text === "").length,
    tableRows: left(p.table, tableFit),
    table: p.table !== null && (tableFit?.text ?? "") === "",
  };
  const texts = [
    p.head,
    tableFit?.text,
    configFit?.text,
    movesFit?.text,
    ...nodeFits.map((f) => f.text),
    errorFit?.text,
  ];
  return { body: texts.join(""), omitted };
}

/** Marker, summary line, the two sides; ends with a blank line. */
function headText(plan: Plan): string {
  const lines = [
    PLAN_MARKER,
    `### ${summaryLine(plan)}`,
    "",
    `Base: ${code(sideLabel(plan.base))} · Head: ${code(sideLabel(plan.head))}`,
  ];
  return `${lines.join("\n")}\n\n`;
}

function tableBlock(nodes: readonly NodeChange[], keys: ReadonlySet<string>): Block {
  const rows = nodes.slice(0, TABLE_ROWS).map((n) => {
    const c = counts(n, keys);
    const items = [
      ...n.workloads.map((w) =>
        isMoveStep(keys, n.node, w) ? `-> ${oneLine(w.id)}` : `${symbols[w.action]} ${oneLine(w.id)}`,
      ),
      ...n.routes.map((r) => `${symbols[r.action]} ${oneLine(`${r.host}${r.path}`)}`),
    ];
    const shown = items.slice(0, CELL_ITEMS).map(cellCode);
    if (items.length > CELL_ITEMS) shown.push(`and ${items.length - CELL_ITEMS} more`);
    return `| ${cell(oneLine(n.node))} | ${c.add} | ${c.change} | ${c.remove} | ${shown.join(", ")} |\n`;
  });
  return {
    open: "| Node | Add | Change | Remove | Changes |\n|---|--:|--:|--:|---|\n",
    items: rows,
    // Rows past TABLE_ROWS are left out by design, the others only for lack of room.
    more: (left) => {
      const n = left + nodes.length - rows.length;
      if (n === 0) return "";
      return `| ${n === nodes.length ? plural(n, "node") : `and ${n} more nodes`} not shown | | | | |\n`;
    },
    close: "\n",
    keepEmpty: true,
  };
}

/** A node's counts; a move step counts as a change (the summary counts the whole move once). */
function counts(n: NodeChange, keys: ReadonlySet<string>): { add: number; change: number; remove: number } {
  const c = { add: 0, change: 0, remove: 0 };
  for (const x of [...n.workloads, ...n.routes]) {
    if ("id" in x && isMoveStep(keys, n.node, x)) c.change++;
    else if (x.action === "create") c.add++;
    else if (x.action === "delete") c.remove++;
    else c.change++;
  }
  return c;
}

function resourcesBlock(resources: readonly ResourceChange[]): Block {
  const byKind = new Map<string, number>();
  for (const r of resources) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
  const what = [...byKind]
    .map(([k, n]) =>
      k === "Secrets"
        ? `secrets of ${plural(n, "app")}`
        : plural(n, k === "Settings" ? "setting" : k.toLowerCase()),
    )
    .join(", ");
  const items = resources.map((r) => {
    const name =
      r.kind === "Settings"
        ? "settings"
        : r.kind === "Secrets"
          ? `secrets of ${oneLine(r.name)}`
          : `${r.kind.toLowerCase()} ${oneLine(r.name)}`;
    const file = r.file ? `  (${oneLine(r.file)})` : "";
    return lines([`${symbols[r.action]} ${name}${file}`, ...fieldLines(r.changes)]);
  });
  return details(`Config changes: ${what}`, items, "more config change");
}

/** The moves, one line each with their order, and the handoff notes of a published generation. */
function movesBlock(plan: Plan): Block | null {
  const moves = plan.moves ?? [];
  const notes = plan.handoffs ?? [];
  if (moves.length === 0 && notes.length === 0) return null;
  const items = [
    ...moves.map((m) => lines([`-> ${oneLine(moveText(m))}`])),
    ...notes.map((h) => lines([`   ${oneLine(h.message)}`])),
  ];
  const what = [
    moves.length ? plural(moves.length, "move") : "",
    notes.length ? plural(notes.length, "handoff note") : "",
  ];
  return details(`Moves: ${what.filter(Boolean).join(", ")}`, items, "more move or note");
}

function nodeBlock(n: NodeChange, keys: ReadonlySet<string>): Block {
  const c = counts(n, keys);
  const items: string[] = [];
  for (const w of n.workloads) {
    if (isMoveStep(keys, n.node, w)) {
      items.push(lines([`-> workload ${oneLine(w.id)}  part of a move (see Moves)`]));
      continue;
    }
    const fields = w.action === "replace" ? fieldLines(w.changes) : [];
    items.push(lines([`${symbols[w.action]} workload ${oneLine(w.id)}  ${oneLine(w.reason)}`, ...fields]));
  }
  for (const r of n.routes) {
    const fields = r.action !== "delete" ? fieldLines(r.changes) : [];
    items.push(
      lines([`${symbols[r.action]} route ${oneLine(`${r.host}${r.path}`)}  ${oneLine(r.reason)}`, ...fields]),
    );
  }
  if (items.length === 0) items.push(lines([`  (${emptyNote(n)})`]));
  return details(
    `${n.node}: ${c.add} to add, ${c.change} to change, ${c.remove} to remove`,
    items,
    "more change",
  );
}

function errorsBlock(plan: Plan, fileUrl: MarkdownOptions["fileUrl"]): Block {
  const items = plan.errors.map((e) => {
    const where = `${e.file}:${e.line}:${e.col}`;
    const link = fileUrl ? `[${code(where)}](${fileUrl(e.file, e.line)})` : code(where);
    return `- ${link}: ${escapeMd(e.message)}\n`;
  });
  return { open: "", items, more: () => "", close: "" };
}

function fieldLines(changes: readonly FieldChange[]): string[] {
  return changes.map((c) => `    ${fieldSymbol(c)} ${formatFieldChange(c)}`);
}

function lines(ls: readonly string[]): string {
  return ls.map((l) => `${l}\n`).join("");
}

/** A collapsed diff block; a cut one ends with a line saying how many `noun`s it leaves out. */
function details(summary: string, items: readonly string[], noun: string): Block {
  // A diff block colours + and - lines on GitHub, Gitea and GitLab. The fence is longer than
  // any run of backticks inside, so a value cannot close it.
  const fence = "`".repeat(Math.max(3, ...items.map(longestBacktickRun).map((n) => n + 1)));
  return {
    open: `<details><summary>${escapeMd(summary)}</summary>\n\n${fence}diff\n`,
    items,
    more: (left) => (left > 0 ? `… ${plural(left, noun)} not shown\n` : ""),
    close: `${fence}\n\n</details>\n`,
  };
}

function longestBacktickRun(s: string): number {
  let longest = 0;
  for (const m of s.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return longest;
}

/** Items of `block` not shown; all of them when it was not fitted at all. */
function left(block: Block | null, fit: Fit | null): number {
  return block ? block.items.length - (fit?.shown ?? 0) : 0;
}

/** `> **Truncated:** 312 more config changes and 2 node sections are not shown (…); run …` */
function closingNote(o: Omitted, max: number): string {
  const parts: { text: string; n: number }[] = [];
  const add = (n: number, text: string) => {
    if (n > 0) parts.push({ text, n });
  };
  add(o.errors, plural(o.errors, "more error"));
  add(o.configChanges, plural(o.configChanges, "more config change"));
  add(
    o.nodeChanges,
    `${plural(o.nodeChanges, "more change")} in ${plural(o.cutNodeSections, "partly shown node section")}`,
  );
  add(o.nodeSections, plural(o.nodeSections, "node section"));
  if (o.table) add(1, "the node table");
  else add(o.tableRows, `${plural(o.tableRows, "row")} of the node table`);
  const what =
    parts.length <= 1
      ? (parts[0]?.text ?? "some details")
      : `${parts
          .slice(0, -1)
          .map((p) => p.text)
          .join(", ")} and ${parts.at(-1)!.text}`;
  const verb = parts.length === 1 && parts[0]!.n === 1 ? "is" : "are";
  return `> **Truncated:** ${what} ${verb} not shown (the comment is limited to ${thousands(max)} characters); run \`berth plan --format text\` for the full plan.\n`;
}

/** When even the head and the note do not fit: the longest of a few plain shapes that does. */
function tiny(plan: Plan, head: string, max: number): string {
  const note = `> **Truncated:** the details are not shown (the comment is limited to ${thousands(max)} characters); run \`berth plan --format text\` for the full plan.\n`;
  const top = `${PLAN_MARKER}\n### ${summaryLine(plan)}\n`;
  const shapes = [head + note, `${top}\n${note}`, top, `${PLAN_MARKER}\n`];
  return shapes.find((s) => s.length <= max) ?? "";
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function code(s: string): string {
  return `\`${oneLine(s).replace(/`/g, "'")}\``;
}

/** Table cells: a `|` would end the cell, even inside a code span, unless escaped. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

function cellCode(s: string): string {
  return cell(code(s));
}

function escapeMd(s: string): string {
  return oneLine(s).replace(/[\\`*_[\]<>|&]/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : `\\${c}`,
  );
}
