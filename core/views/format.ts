// Pieces every plan view shares: action symbols and their legend words, how a value and a side
// (base/head) are written. Pure.
import type { Action, FieldChange, NodeChange, Side } from "../../schema/index.js";
import { oneLine } from "../escape.js";
import { maskValue } from "../secrets/mask.js";

export const symbols: Record<Action, string> = { create: "+", update: "~", delete: "-", replace: "-/+" };
export const legendWords: Record<Action, string> = {
  create: "create",
  update: "update in-place",
  delete: "destroy",
  replace: "replace",
};
export const actionOrder: readonly Action[] = ["create", "update", "replace", "delete"];

/** A value as it appears in a view: JSON for strings, arrays and objects; plain numbers/booleans. */
export function formatValue(v: unknown): string {
  if (v === "(sensitive)") return "(sensitive)";
  // Plans mask URL credentials when they are made; a plan made elsewhere is masked here too.
  // JSON escapes control characters but not line separators or bidirectional controls.
  return oneLine(JSON.stringify(maskValue(v)) ?? "null");
}

const secretWords: Record<NonNullable<FieldChange["secret"]>, string> = {
  added: "added",
  removed: "removed",
  changed: "changed",
  "re-encrypted": "re-encrypted, value unchanged",
};

/**
 * `field = value`, `field = before → after`, or `field = before → (removed)`; an encrypted secret
 * is named, never valued: `secret DB_PASSWORD (changed)`.
 */
export function formatFieldChange(c: FieldChange): string {
  const field = oneLine(c.field);
  if (c.secret) return `secret ${field.replace(/^secrets\./, "")} (${secretWords[c.secret]})`;
  if (c.before === undefined) return `${field} = ${formatValue(c.after)}`;
  if (c.after === undefined) return `${field} = ${formatValue(c.before)} → (removed)`;
  return `${field} = ${formatValue(c.before)} → ${formatValue(c.after)}`;
}

/** Symbol of one field change inside a resource or workload change. */
export function fieldSymbol(c: FieldChange): string {
  if (c.secret) return c.secret === "added" ? "+" : c.secret === "removed" ? "-" : "~";
  return c.before === undefined ? "+" : c.after === undefined ? "-" : "~";
}

/** `main@1a2b3c4 "Add web"`, `worktree`, `the empty state`. */
export function sideLabel(side: Side): string {
  if (side.ref === null && side.commit === null) return "the empty state";
  const short = side.commit ? side.commit.slice(0, 7) : null;
  let label = oneLine(side.ref ?? short ?? "");
  if (short && side.ref !== null && !side.commit?.startsWith(side.ref)) label += `@${short}`;
  if (side.subject) label += ` "${oneLine(side.subject)}"`;
  return label;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The actions that occur in a plan, in legend order. */
export function actionsUsed(actions: Iterable<Action>): Action[] {
  const used = new Set(actions);
  return actionOrder.filter((a) => used.has(a));
}

/** What to say about a node whose document changed without a workload or route change. */
export function emptyNote(n: NodeChange): string {
  if (n.hashBefore == null) return "new node, nothing to run yet";
  if (n.hashAfter == null) return "node removed, it ran nothing";
  return "document changed, nothing runs differently";
}
