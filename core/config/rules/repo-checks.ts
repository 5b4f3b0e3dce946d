// Repo-wide consistency: settings-branches (the tracked, desired and status branches differ),
// and two warnings — domain-no-replicas (a route with no upstream answers 502) and no-proxy
// (domains but no node with the proxy role, so nothing serves them).
import type { RepoRule } from "./types.js";

export const settingsBranches: RepoRule = {
  name: "settings-branches",
  scope: "repo",
  reads: ["settings"],
  check({ config }, report) {
    const origin = config.settingsOrigin;
    if (!origin) return;
    const s = config.settings;
    const fields = ["branch", "desiredBranch", "statusBranch"] as const;
    fields.forEach((field, i) => {
      const clash = fields.slice(0, i).find((other) => s[other] === s[field]);
      if (clash) {
        report({
          origin,
          path: [field],
          message: `${field} "${s[field]}" is the same as ${clash}: berth writes ${field === "branch" ? "the tracked branch" : field} separately; use another branch name`,
        });
      }
    });
  },
};

export const domainNoReplicas: RepoRule = {
  name: "domain-no-replicas",
  scope: "repo",
  reads: ["domains", "appRoutes"],
  check({ config, appsByName }, report) {
    for (const d of config.domains) {
      if (appsByName.get(d.spec.app)?.replicas !== 0) continue;
      report({
        origin: d.origin,
        path: ["app"],
        severity: "warning",
        message: `domain ${d.spec.host} routes to app "${d.spec.app}", which has 0 replicas: requests will get 502 until it is scaled up`,
      });
    }
  },
};

export const noProxy: RepoRule = {
  name: "no-proxy",
  scope: "repo",
  reads: ["domains", "nodes"],
  check({ config }, report) {
    const first = config.domains[0];
    if (!first || config.nodes.some((n) => n.spec.roles.includes("proxy"))) return;
    report({
      origin: first.origin,
      path: ["host"],
      severity: "warning",
      message: `no node has the proxy role, so no domain is served: add "proxy" to the roles of a node`,
    });
  },
};
