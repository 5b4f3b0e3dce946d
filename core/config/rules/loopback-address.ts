// loopback-address (warning): a node that runs workloads has a loopback address (127.0.0.1,
// ::1, localhost) while a proxy runs on another node. Routes are address:hostPort, so that proxy
// would dial its own loopback for this node's workloads: 502s, or worse, another app that
// happens to listen there. A warning, not an error: several nodes on one machine (tests, a
// laptop) legitimately share loopback, and a config stays valid while an operator fixes it.
import { isLoopback } from "../../address.js";
import type { RepoRule } from "./types.js";

export const loopbackAddress: RepoRule = {
  name: "loopback-address",
  scope: "repo",
  reads: ["nodes", "domains"],
  check({ config }, report) {
    if (config.domains.length === 0) return;
    const proxies = config.nodes.filter((n) => n.spec.roles.includes("proxy"));
    for (const n of config.nodes) {
      const { spec } = n;
      if (!spec.roles.includes("worker") || spec.cordon || !isLoopback(spec.address)) continue;
      const others = proxies.filter((p) => p.spec.name !== spec.name).map((p) => p.spec.name);
      if (others.length === 0) continue;
      const named =
        others.length > 3
          ? `${others.slice(0, 3).join(", ")} and ${others.length - 3} more`
          : others.join(", ");
      report({
        origin: n.origin,
        path: ["address"],
        severity: "warning",
        message: `node ${spec.name} has the loopback address ${spec.address}, but proxy node${others.length > 1 ? "s" : ""} ${named} ${others.length > 1 ? "run" : "runs"} elsewhere and would dial ${others.length > 1 ? "their" : "its"} own loopback for ${spec.name}'s workloads (502s): give ${spec.name} an address the proxies can reach`,
      });
    }
  },
};
