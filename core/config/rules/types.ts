// The shape of a semantic rule (stage 2): a named check that reports findings instead of
// throwing. A repo rule looks at the whole config; an app rule looks at one app and the nodes,
// so its findings can be reused while the app and the nodes stay the same. Types only.
import type { AppSpec, Config, Entry, Finding } from "../model.js";
import type { NodeIndex } from "./node-index.js";

export interface RuleInput {
  config: Config;
  /** Names of every App / Node document, including ones that failed their schema. */
  appNames: ReadonlySet<string>;
  nodeNames: ReadonlySet<string>;
  nodes: NodeIndex;
  /** Valid apps by name (with duplicate names, the last one: duplicate-app reports the others). */
  appsByName: ReadonlyMap<string, AppSpec>;
}

export type Report = (finding: Omit<Finding, "rule">) => void;
/** What an app rule reports: the runner adds the app's origin. */
export type AppReport = (finding: Omit<Finding, "rule" | "origin">) => void;

/**
 * Parts of a loaded config a repo rule may read; a warm load re-runs a rule only when one
 * changed. Beside whole parts, four narrow views of the apps: the set of names (`appNames`),
 * the entries of names defined more than once (`appDuplicates`), per name, whether a valid
 * app has it and its port and replicas (`appRoutes`, what domains depend on), and which secrets
 * each app's env uses (`appSecrets`).
 */
export type ConfigPart =
  | "appNames"
  | "appDuplicates"
  | "appRoutes"
  | "appSecrets"
  | "domains"
  | "nodes"
  | "settings"
  | "secrets";

export interface RepoRule {
  /** Shown in diagnostics (`rule` field) and in docs/config.md. */
  name: string;
  scope: "repo";
  /** Everything check() reads (a test checks warm loads against cold ones, commit after commit). */
  reads: readonly ConfigPart[];
  check(input: RuleInput, report: Report): void;
}

export interface AppRule {
  name: string;
  scope: "app";
  /** Must depend only on the app, the nodes and the node names (that is what makes it reusable). */
  checkApp(app: Entry<AppSpec>, input: RuleInput, report: AppReport): void;
}

export type Rule = RepoRule | AppRule;
