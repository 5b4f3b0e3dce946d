// domain-app-missing / domain-app-port: a domain routes to an app that exists and has a port
// (the proxy forwards to that port).
import { didYouMean } from "../suggest.js";
import type { RepoRule } from "./types.js";

export const domainAppMissing: RepoRule = {
  name: "domain-app-missing",
  scope: "repo",
  reads: ["domains", "appNames"],
  check({ config, appNames }, report) {
    for (const d of config.domains) {
      if (appNames.has(d.spec.app)) continue;
      report({
        origin: d.origin,
        path: ["app"],
        message: `domain ${d.spec.host} routes to app "${d.spec.app}", which does not exist${didYouMean(d.spec.app, appNames) || ": add an App with that name or fix the name"}`,
      });
    }
  },
};

export const domainAppPort: RepoRule = {
  name: "domain-app-port",
  scope: "repo",
  reads: ["domains", "appRoutes"],
  check({ config, appsByName }, report) {
    for (const d of config.domains) {
      const app = appsByName.get(d.spec.app);
      if (!app || app.port !== undefined) continue;
      report({
        origin: d.origin,
        path: ["app"],
        message: `domain ${d.spec.host} routes to app "${d.spec.app}", which has no port: add "port: <the port it listens on>" to the app`,
      });
    }
  },
};
