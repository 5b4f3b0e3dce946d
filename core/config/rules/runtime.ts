// runtime-mismatch: an app runs only where a node's runtime can run it — an image needs a podman
// or docker node, a command needs a process node. Reported when the app's placement matches
// nodes but none of them has a suitable runtime.
import { RUNTIMES_OF, runtimeClassOf } from "./node-index.js";
import type { AppRule } from "./types.js";

export const runtimeMismatch: AppRule = {
  name: "runtime-mismatch",
  scope: "app",
  checkApp(a, { nodes, nodeNames }, report) {
    // A Node that failed its schema is missing from the index: its own errors come first.
    if (nodes.all.length < nodeNames.size) return;
    if (a.spec.replicas === 0) return;
    const matches = nodes.placementMatches(a.spec);
    if (matches.length === 0 || nodes.eligible(a.spec).length > 0) return;
    const cls = runtimeClassOf(a.spec);
    const field = cls === "process" ? "command" : "image";
    const shown = matches
      .slice(0, 5)
      .map((n) => `${n.entry.spec.name}: ${n.entry.spec.runtime}`)
      .join(", ");
    const more = matches.length > 5 ? `, and ${matches.length - 5} more` : "";
    const fix =
      cls === "process"
        ? "place it on a node with runtime process, or give it an image instead"
        : "place it on a podman or docker node, or run it as a command on a process node";
    report({
      path: [field],
      at: "key",
      message: `app "${a.spec.name}" has ${cls === "process" ? "a command" : "an image"}, but none of the nodes it may run on runs ${RUNTIMES_OF[cls].join(" or ")} (${shown}${more}): ${fix}`,
    });
  },
};
