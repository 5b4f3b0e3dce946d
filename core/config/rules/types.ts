// The shape of a semantic rule (stage 2): a named check over the whole loaded config that
// reports findings instead of throwing. Types only.
import type { Config, Finding } from "../model.js";
import type { NodeIndex } from "./node-index.js";

export interface RuleInput {
  config: Config;
  /** Names of every App / Node document, including ones that failed their schema. */
  appNames: ReadonlySet<string>;
  nodeNames: ReadonlySet<string>;
  nodes: NodeIndex;
}

export type Report = (finding: Omit<Finding, "rule">) => void;

export interface Rule {
  /** Shown in diagnostics (`rule` field) and in docs/config.md. */
  name: string;
  check(input: RuleInput, report: Report): void;
}
