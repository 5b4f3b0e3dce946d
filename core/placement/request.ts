// What placement needs to know about one app, reduced from its spec: how many replicas, what
// runtime kind, how much of a node each replica takes, and which nodes it may use. An app whose
// request is unchanged keeps its placement even when other fields (image, env) change.
import { sortedKeys, sortStrings } from "../canonical-json.js";
import type { AppSpec } from "../config/model.js";
import { hashString } from "./hash32.js";
import { cpuMillis, parseMemory } from "./resources.js";

export type RuntimeKind = "container" | "process";

export interface AppRequest {
  name: string;
  replicas: number;
  kind: RuntimeKind;
  /** Millicores per replica (0 when not requested). */
  cpu: number;
  /** Bytes per replica (0 when not requested). */
  memory: number;
  /** placement.nodes, when given. */
  nodes?: readonly string[];
  /** placement.labels, when given. */
  labels?: Readonly<Record<string, string>>;
  /** Same selector key = same eligible nodes (for a given node table). */
  selectorKey: string;
  /** Same key = same placement decision inputs (for a given node table and capacity state). */
  key: string;
  /** hashString(name): the app's side of every rendezvous score. */
  hash: number;
}

export function appRequest(spec: AppSpec): AppRequest {
  const kind: RuntimeKind = spec.image !== undefined ? "container" : "process";
  const cpu = spec.resources?.cpu !== undefined ? cpuMillis(spec.resources.cpu) : 0;
  const memory = spec.resources?.memory !== undefined ? parseMemory(spec.resources.memory) : 0;
  const nodes = spec.placement?.nodes;
  const labels = spec.placement?.labels;
  const labelKey = labels
    ? sortedKeys(labels)
        .map((k) => `${k}=${labels[k]}`)
        .join(",")
    : "";
  const selectorKey = `${kind}|${nodes ? sortStrings([...nodes]).join(",") : "*"}|${labelKey}`;
  return {
    name: spec.name,
    replicas: spec.replicas,
    kind,
    cpu,
    memory,
    ...(nodes ? { nodes } : {}),
    ...(labels ? { labels } : {}),
    selectorKey,
    key: `${spec.replicas}|${cpu}|${memory}|${selectorKey}`,
    hash: hashString(spec.name),
  };
}
