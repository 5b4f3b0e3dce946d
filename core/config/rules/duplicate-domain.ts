// duplicate-domain: one host + path prefix can route to only one app.
import type { RepoRule } from "./types.js";

export const duplicateDomain: RepoRule = {
  name: "duplicate-domain",
  scope: "repo",
  reads: ["domains"],
  check({ config }, report) {
    const first = new Map<string, string>();
    for (const d of config.domains) {
      const key = `${d.spec.host}\u0000${d.spec.path}`;
      const seen = first.get(key);
      if (seen === undefined) {
        first.set(key, d.origin.file);
        continue;
      }
      const route = d.spec.path === "/" ? d.spec.host : `${d.spec.host}${d.spec.path}`;
      report({
        origin: d.origin,
        path: ["host"],
        message: `domain ${route} is defined twice (first in ${seen}): a host and path route to one app; remove one or give it another path`,
      });
    }
  },
};
