// placement-unknown-node / placement-unknown-label: an app's placement may only name nodes and
// labels that exist, else it silently matches nothing.
import { didYouMean } from "../suggest.js";
import type { AppRule } from "./types.js";

export const placementUnknownNode: AppRule = {
  name: "placement-unknown-node",
  scope: "app",
  checkApp(a, { nodeNames }, report) {
    (a.spec.placement?.nodes ?? []).forEach((name, i) => {
      if (nodeNames.has(name)) return;
      report({
        path: ["placement", "nodes", i],
        message: `app "${a.spec.name}" is placed on node "${name}", which does not exist${didYouMean(name, nodeNames) || ": add a Node with that name or fix the name"}`,
      });
    });
  },
};

export const placementUnknownLabel: AppRule = {
  name: "placement-unknown-label",
  scope: "app",
  checkApp(a, { nodes }, report) {
    const labels = nodes.labelsOf(a.spec);
    if (labels.length === 0) return;
    let allExist = true;
    for (const kv of labels) {
      if (nodes.byLabel.has(kv)) continue;
      allExist = false;
      const key = kv.slice(0, kv.indexOf("="));
      const values = [...nodes.byLabel.keys()].filter((l) => l.startsWith(`${key}=`)).sort();
      const have = values.length
        ? ` (nodes have ${values.slice(0, 5).join(", ")}${values.length > 5 ? ", …" : ""})`
        : "";
      report({
        path: ["placement", "labels", key],
        message: `app "${a.spec.name}" needs label ${kv}, which no node has${have}: fix the label or add it to a node`,
      });
    }
    if (allExist && labels.length > 1 && !nodes.someNodeHasAll(labels)) {
      report({
        path: ["placement", "labels"],
        message: `app "${a.spec.name}" needs labels ${labelList(a.spec.placement?.labels)}, and no single node has all of them`,
      });
    }
  },
};

/** Labels as written in the app, for messages. */
function labelList(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}
