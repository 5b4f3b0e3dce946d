// The node table placement works on: nodes sorted by name with capacity in exact integer units,
// a rendezvous weight and a name hash precomputed. Pure; knows nothing about apps.
import { keyOf } from "../canonical-json.js";
import type { NodeSpec } from "../config/model.js";
import { hashString } from "./hash32.js";
import { cpuMillis, parseMemory } from "./resources.js";

export interface PlacementNode {
  /** Position in the table (the table is sorted by name, so lower index = earlier name). */
  index: number;
  name: string;
  address: string;
  runtime: NodeSpec["runtime"];
  worker: boolean;
  proxy: boolean;
  cordon: boolean;
  labels: Readonly<Record<string, string>>;
  /** Millicores; Infinity when the node declares no cpu capacity. */
  cpu: number;
  /** Bytes; Infinity when the node declares no memory capacity. */
  memory: number;
  /** First port of the range; workload slot k owns ports low+2k and low+2k+1. */
  portLow: number;
  /** How many two-port slots fit in the range. */
  slots: number;
  /** hashString(name): the node's side of every rendezvous score. */
  hash: number;
  /** 1 / weight, where weight is cpu cores, else memory in GiB, else 1 (see docs/plan.md). */
  invWeight: number;
}

export interface NodeTable {
  nodes: PlacementNode[];
  byName: Map<string, PlacementNode>;
  /** Canonical JSON of every node spec: equal keys mean placement sees the same cluster. */
  key: string;
  proxies: PlacementNode[];
  /** The specs the table was built from, in name order (to recognise the same specs again). */
  specs: readonly NodeSpec[];
}

export function buildNodeTable(specs: readonly NodeSpec[]): NodeTable {
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nodes = sorted.map((spec, index) => toPlacementNode(spec, index));
  return {
    nodes,
    byName: new Map(nodes.map((n) => [n.name, n])),
    key: `[${sorted.map((s) => keyOf(s)).join(",")}]`,
    proxies: nodes.filter((n) => n.proxy),
    specs: sorted,
  };
}

function toPlacementNode(spec: NodeSpec, index: number): PlacementNode {
  const cpu = spec.capacity?.cpu !== undefined ? cpuMillis(spec.capacity.cpu) : Number.POSITIVE_INFINITY;
  const memory =
    spec.capacity?.memory !== undefined ? parseMemory(spec.capacity.memory) : Number.POSITIVE_INFINITY;
  const [low, high] = spec.portRange;
  const weight = Number.isFinite(cpu) ? cpu / 1000 : Number.isFinite(memory) ? memory / 2 ** 30 : 1;
  return {
    index,
    name: spec.name,
    address: spec.address,
    runtime: spec.runtime,
    worker: spec.roles.includes("worker"),
    proxy: spec.roles.includes("proxy"),
    cordon: spec.cordon,
    labels: spec.labels ?? {},
    cpu,
    memory,
    portLow: low,
    slots: Math.max(0, Math.floor((high - low + 1) / 2)),
    hash: hashString(spec.name),
    // A zero weight (memory "0") would give every score -Infinity; keep it tiny instead.
    invWeight: 1 / Math.max(weight, 1e-9),
  };
}
