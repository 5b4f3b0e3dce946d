// duplicate-app / duplicate-node: names must be unique among apps and among nodes (they name
// workloads, containers and agents). Every later definition is reported, pointing at the first.
import type { Entry } from "../model.js";
import type { RepoRule, Report } from "./types.js";

function reportDuplicates(entries: readonly Entry<{ name: string }>[], what: string, report: Report): void {
  const first = new Map<string, Entry<{ name: string }>>();
  for (const e of entries) {
    const seen = first.get(e.spec.name);
    if (!seen) {
      first.set(e.spec.name, e);
      continue;
    }
    const where = seen.origin.file === e.origin.file ? "earlier in this file" : `in ${seen.origin.file}`;
    report({
      origin: e.origin,
      path: ["name"],
      message: `${what} "${e.spec.name}" is defined twice (first ${where}): ${what} names must be unique; rename or remove one`,
    });
  }
}

export const duplicateApp: RepoRule = {
  name: "duplicate-app",
  scope: "repo",
  reads: ["appDuplicates"],
  check: ({ config }, report) => reportDuplicates(config.apps, "app", report),
};

export const duplicateNode: RepoRule = {
  name: "duplicate-node",
  scope: "repo",
  reads: ["nodes"],
  check: ({ config }, report) => reportDuplicates(config.nodes, "node", report),
};
