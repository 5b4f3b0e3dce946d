// health-without-port / duplicate-volume: checks inside one app. A health check runs against
// the app's port; two volumes may not share a name or a mount path.
import type { Rule } from "./types.js";

export const healthWithoutPort: Rule = {
  name: "health-without-port",
  check({ config }, report) {
    for (const a of config.apps) {
      if (a.spec.health === undefined || a.spec.port !== undefined) continue;
      report({
        origin: a.origin,
        path: ["health"],
        at: "key",
        message: `app "${a.spec.name}" has a health check but no port to check: add "port: <the port it listens on>" or remove health`,
      });
    }
  },
};

export const duplicateVolume: Rule = {
  name: "duplicate-volume",
  check({ config }, report) {
    for (const a of config.apps) {
      const names = new Set<string>();
      const paths = new Set<string>();
      (a.spec.volumes ?? []).forEach((v, i) => {
        if (names.has(v.name)) {
          report({
            origin: a.origin,
            path: ["volumes", i, "name"],
            message: `app "${a.spec.name}" lists volume "${v.name}" twice: give each volume its own name`,
          });
        }
        if (paths.has(v.path)) {
          report({
            origin: a.origin,
            path: ["volumes", i, "path"],
            message: `app "${a.spec.name}" mounts two volumes at ${v.path}: give each volume its own path`,
          });
        }
        names.add(v.name);
        paths.add(v.path);
      });
    }
  },
};
