// berth.yaml's `alerts.rules` with every default applied: durations parsed, names defaulted to
// the kind. With no rules configured but receivers present, every kind is on with its defaults.
// Defaults debounce both edges where a condition can flap (docs/alerts.md has the table). Pure.
import type { AlertRule } from "../../schema/index.js";
import type { Rule, RuleKind } from "./types.js";

export const ruleKinds: readonly RuleKind[] = [
  "node-lost",
  "deploy-failed",
  "crash-loop",
  "app-unhealthy",
  "invalid-commit",
  "git-trouble",
];

/** ms: open after `for`, close after `resolveAfter` clear. */
export const ruleDefaults: Record<RuleKind, { forMs: number; resolveMs: number }> = {
  // Liveness itself already waits minutes before "lost"; a node must stay back 30 s to close it.
  "node-lost": { forMs: 0, resolveMs: 30_000 },
  // An agent retrying a failed deploy flips between failed and applying: stay open through that.
  "deploy-failed": { forMs: 0, resolveMs: 120_000 },
  "crash-loop": { forMs: 0, resolveMs: 300_000 },
  "app-unhealthy": { forMs: 300_000, resolveMs: 300_000 },
  // A valid commit is a discrete repair: close at once.
  "invalid-commit": { forMs: 0, resolveMs: 0 },
  // One failed fetch is a blip; two minutes of them is trouble.
  "git-trouble": { forMs: 120_000, resolveMs: 60_000 },
};

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "0", "500ms", "30s", "5m", "4h" → ms (the schema's Duration pattern). */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}": use 0 or a whole number with ms, s, m or h, e.g. 30s`);
  return Number(m[1]) * (units[m[2] as string] as number);
}

export function normalizeRules(rules: readonly AlertRule[] | undefined): Rule[] {
  const given = rules && rules.length > 0 ? rules : ruleKinds.map((kind) => ({ kind }) as AlertRule);
  return given.map((r) => {
    const d = ruleDefaults[r.kind];
    return {
      name: r.name ?? r.kind,
      kind: r.kind,
      forMs: r.for !== undefined ? parseDuration(r.for) : d.forMs,
      resolveMs: r.resolveAfter !== undefined ? parseDuration(r.resolveAfter) : d.resolveMs,
      repeatMs: r.repeatInterval !== undefined ? parseDuration(r.repeatInterval) : 0,
      receivers: r.receivers ?? [],
      ...(r.apps ? { apps: r.apps } : {}),
      ...(r.nodes ? { nodes: r.nodes } : {}),
    };
  });
}
