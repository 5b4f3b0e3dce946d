// Runs every rule over a loaded config. App rules depend only on the app and the nodes, so their
// findings are remembered per app spec object (the loader shares unchanged specs between loads):
// while the nodes stay the same, a new commit re-checks only the apps it changed.
import type { AppSpec, Config, Finding, NodeSpec } from "../model.js";
import { rules } from "./index.js";
import type { AppReport, AppRule, ConfigPart, RuleInput } from "./types.js";

type AppFinding = Omit<Finding, "origin">;

/** What the previous load's app rules found, valid while the nodes are the same objects. */
export class RuleMemo {
  private nodes: readonly NodeSpec[] = [];
  private nodeNames = "";
  private perApp = new WeakMap<AppSpec, AppFinding[]>();

  /** The per-app memo for this input, emptied first when the nodes changed. */
  forInput(input: RuleInput): WeakMap<AppSpec, AppFinding[]> {
    const nodes = input.nodes.all.map((n) => n.spec);
    const names = [...input.nodeNames].join("\u0000");
    const same =
      nodes.length === this.nodes.length &&
      names === this.nodeNames &&
      nodes.every((n, i) => n === this.nodes[i]);
    if (!same) {
      this.nodes = nodes;
      this.nodeNames = names;
      this.perApp = new WeakMap();
    }
    return this.perApp;
  }
}

/** RuleInput.appsByName: valid apps by name; with duplicate names the last one (duplicate-app reports the others). */
export function appsByName(config: Config): Map<string, AppSpec> {
  return new Map(config.apps.map((a) => [a.spec.name, a.spec]));
}

export function runRules(input: RuleInput, memo?: RuleMemo): Finding[] {
  return runRuleSets(input, memo).findings;
}

/** What runRuleSets found: all findings, and each repo rule's own (for a later reuse). */
export interface RuleRun {
  findings: Finding[];
  byRepoRule: ReadonlyMap<string, readonly Finding[]>;
}

/**
 * runRules, reusing `reuse.previous` findings of every repo rule that reads none of the
 * `reuse.changed` parts (a warm load where only some parts of the config changed).
 */
export function runRuleSets(
  input: RuleInput,
  memo?: RuleMemo,
  reuse?: { changed: ReadonlySet<ConfigPart>; previous: ReadonlyMap<string, readonly Finding[]> },
): RuleRun {
  const findings: Finding[] = [];
  const appRules = rules.filter((r): r is AppRule => r.scope === "app");
  const perApp = memo?.forInput(input);
  // One report function for all: 10,000 apps × 6 rules would otherwise make 60,000 closures.
  let list: AppFinding[] = [];
  let ruleName = "";
  const report: AppReport = (f) => list.push({ ...f, rule: ruleName });
  for (const app of input.config.apps) {
    let found = perApp?.get(app.spec);
    if (!found) {
      list = [];
      for (const rule of appRules) {
        ruleName = rule.name;
        rule.checkApp(app, input, report);
      }
      found = list;
      perApp?.set(app.spec, list);
    }
    for (const f of found) findings.push({ ...f, origin: app.origin });
  }
  const byRepoRule = new Map<string, readonly Finding[]>();
  for (const rule of rules) {
    if (rule.scope !== "repo") continue;
    const previous = reuse?.previous.get(rule.name);
    let own: readonly Finding[];
    if (previous && !rule.reads.some((part) => reuse?.changed.has(part))) {
      own = previous;
    } else {
      const mine: Finding[] = [];
      rule.check(input, (f) => mine.push({ ...f, rule: rule.name }));
      own = mine;
    }
    byRepoRule.set(rule.name, own);
    for (const f of own) findings.push(f);
  }
  return { findings, byRepoRule };
}
