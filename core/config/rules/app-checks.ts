// health-without-port / duplicate-volume: checks inside one app. A health check runs against
// the app's port; two volumes may not share a name or a mount path.
import type { AppRule } from "./types.js";

export const healthWithoutPort: AppRule = {
  name: "health-without-port",
  scope: "app",
  checkApp({ spec }, _input, report) {
    if (spec.health === undefined || spec.port !== undefined) return;
    report({
      path: ["health"],
      at: "key",
      message: `app "${spec.name}" has a health check but no port to check: add "port: <the port it listens on>" or remove health`,
    });
  },
};

export const duplicateVolume: AppRule = {
  name: "duplicate-volume",
  scope: "app",
  checkApp({ spec }, _input, report) {
    const names = new Set<string>();
    const paths = new Set<string>();
    (spec.volumes ?? []).forEach((v, i) => {
      if (names.has(v.name)) {
        report({
          path: ["volumes", i, "name"],
          message: `app "${spec.name}" lists volume "${v.name}" twice: give each volume its own name`,
        });
      }
      if (paths.has(v.path)) {
        report({
          path: ["volumes", i, "path"],
          message: `app "${spec.name}" mounts two volumes at ${v.path}: give each volume its own path`,
        });
      }
      names.add(v.name);
      paths.add(v.path);
    });
  },
};
