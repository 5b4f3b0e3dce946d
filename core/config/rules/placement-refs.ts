// placement-unknown-node / placement-unknown-label: an app's placement may only name nodes and
// labels that exist, else it silently matches nothing.
import { didYouMean } from "../suggest.js";
import type { Rule } from "./types.js";

export const placementUnknownNode: Rule = {
  name: "placement-unknown-node",
  check({ config, nodeNames }, report) {
    for (const a of config.apps) {
      (a.spec.placement?.nodes ?? []).forEach((name, i) => {
        if (nodeNames.has(name)) return;
        report({
          origin: a.origin,
          path: ["placement", "nodes", i],
          message: `app "${a.spec.name}" is placed on node "${name}", which does not exist${didYouMean(name, nodeNames) || ": add a Node with that name or fix the name"}`,
        });
      });
    }
  },
};

export const placementUnknownLabel: Rule = {
  name: "placement-unknown-label",
  check({ config, nodes }, report) {
    for (const a of config.apps) {
      const labels = Object.entries(a.spec.placement?.labels ?? {});
      let allExist = true;
      for (const [k, v] of labels) {
        if (nodes.byLabel.has(`${k}=${v}`)) continue;
        allExist = false;
        const values = [...nodes.byLabel.keys()].filter((kv) => kv.startsWith(`${k}=`)).sort();
        const have = values.length
          ? ` (nodes have ${values.slice(0, 5).join(", ")}${values.length > 5 ? ", …" : ""})`
          : "";
        report({
          origin: a.origin,
          path: ["placement", "labels", k],
          message: `app "${a.spec.name}" needs label ${k}=${v}, which no node has${have}: fix the label or add it to a node`,
        });
      }
      if (
        allExist &&
        labels.length > 1 &&
        !nodes.all.some((n) => labels.every(([k, v]) => n.spec.labels?.[k] === v))
      ) {
        report({
          origin: a.origin,
          path: ["placement", "labels"],
          message: `app "${a.spec.name}" needs labels ${labels.map(([k, v]) => `${k}=${v}`).join(", ")}, and no single node has all of them`,
        });
      }
    }
  },
};
