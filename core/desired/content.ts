// What a node's desired document is made of, decided when the builder runs, and the document
// over it whose workloads and hash are made on first read. Two documents over the same content
// object are equal but for `source`, which a plan can see without making either (sameContent):
// a cold plan between two commits then makes only the nodes that differ. Pure.
import type { DesiredState, Route, Workload } from "../../schema/index.js";
import type { AppSpec } from "../config/model.js";
import type { Source } from "./build.js";

/** The routes every proxy node gets, with their canonical JSON (the hash's prefix is made once). */
export interface RouteSet {
  list: Route[];
  json: string;
  /** The node hash's state after `{"routes":<json>,`, copied for each proxy. */
  prefix?: import("node:crypto").Hash;
}

/** Non-proxy nodes (and proxies while there are no domains). */
export const NO_ROUTES: RouteSet = { list: [], json: "[]" };

/** Never changed once made; a node whose document changes gets a new content object. */
export interface NodeContent {
  runtime: Workload["runtime"];
  /** The node's address (DesiredState.upstreamAddress). */
  address: string;
  /** The replicas on the node in canonical order (app name, replica) with their host ports. */
  entries: readonly { spec: AppSpec; replica: number; hostPort: number }[];
  routes: RouteSet;
}

type Made = { workloads: Workload[]; hash: string };

const CONTENT = Symbol("berth.desired.content");

interface Lazy {
  [CONTENT]?: NodeContent;
}

/**
 * The document of `node` over `content`. `hash` and `workloads` are made by `make` the first time
 * either is read (then all fields are plain properties, so the document serialises, clones and
 * prints like any other); `make` must give the same result for the same content whenever it runs.
 * Writing a field (tests corrupt documents on purpose) makes the document first and then no
 * longer counts it as over its content.
 */
export function lazyDocument(
  node: string,
  source: Source,
  content: NodeContent,
  make: (content: NodeContent) => Made,
): DesiredState {
  const doc = {
    apiVersion: "berth/v1",
    node,
    upstreamAddress: content.address,
    source: { branch: source.branch, commit: source.commit },
  } as DesiredState;
  const fields = doc as unknown as Record<string | symbol, unknown>;
  const settle = (): Made => {
    let made = madeOf.get(content);
    if (!made) {
      made = make(content);
      madeOf.set(content, made);
    }
    for (const key of ["hash", "workloads", "routes"]) delete fields[key];
    // The key order of a document written in one go: apiVersion, node, upstreamAddress, source, hash, workloads, routes.
    Object.assign(doc, { hash: made.hash, workloads: made.workloads, routes: content.routes.list });
    return made;
  };
  const field = (key: "hash" | "workloads" | "routes"): PropertyDescriptor => ({
    enumerable: true,
    configurable: true,
    get: () => (key === "routes" ? content.routes.list : settle()[key]),
    set(value: unknown) {
      settle();
      delete fields[CONTENT];
      fields[key] = value;
    },
  });
  Object.defineProperties(doc, {
    hash: field("hash"),
    workloads: field("workloads"),
    routes: field("routes"),
    [CONTENT]: { value: content, configurable: true },
  });
  return doc;
}

/** Made workloads and hash per content object, shared by every document over it. */
const madeOf = new WeakMap<NodeContent, Made>();

/** True when both documents were built over the same content: equal but for `source`. */
export function sameContent(a: DesiredState, b: DesiredState): boolean {
  const content = (a as Lazy)[CONTENT];
  return content !== undefined && content === (b as Lazy)[CONTENT];
}

/** The workload ids of a document, without making its workloads when they are not made yet. */
export function workloadIdsOf(doc: DesiredState): string[] {
  const content = (doc as Lazy)[CONTENT];
  if (content && Object.getOwnPropertyDescriptor(doc, "workloads")?.get)
    return content.entries.map((e) => `${e.spec.name}-${e.replica}`);
  return doc.workloads.map((w) => w.id);
}
