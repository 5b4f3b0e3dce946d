// Finds the line and column of a path inside a parsed document, re-parsing the file with `yaml`
// (which keeps positions) the first time a position in it is needed. Pure.
import type { Document, Node as YamlNode } from "yaml";
import type { ParsedFile } from "./parsed.js";
import { parseTrees } from "./yaml-full.js";
import { yamlLib } from "./yaml-lib.js";

export interface Position {
  line: number;
  col: number;
}

/**
 * Position of `path` in document `index` of `file`: the value (or, with at "key", the key) of the
 * deepest part of the path that exists. A path the document lacks (a missing field) resolves to
 * the mapping that should hold it.
 */
export function positionOf(
  file: ParsedFile,
  index: number,
  path: readonly (string | number)[],
  at: "key" | "value" = "value",
  onParse?: () => void,
): Position {
  if (file.text === undefined) return { line: 1, col: 1 };
  if (!file.trees) {
    onParse?.();
    file.trees = parseTrees(file.text);
  }
  const { docs, lineCounter } = file.trees;
  const { isCollection, isMap, isPair, isScalar, isSeq } = yamlLib();
  const doc = docs[index];
  if (!doc) return { line: 1, col: 1 };
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    node = deref(node, doc);
    const seg = path[i] as string | number;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      if (last && at === "key" && keyStart !== undefined) {
        offset = keyStart;
        break;
      }
      // An empty value (`image:`) has no node of its own, and a block map or list starts on the
      // next line: point at the key then, which is where a reader looks.
      const value = pair.value;
      const blockCollection = isCollection(value) && !value.flow;
      const empty =
        isScalar(value) && value.value === null && (value.range?.[1] ?? 0) <= (value.range?.[0] ?? 0);
      const valueStart = blockCollection || empty ? undefined : rangeStart(value);
      offset = valueStart ?? keyStart ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      const start = rangeStart(item);
      if (start === undefined) break;
      offset = start;
      node = item;
    } else {
      break;
    }
  }
  return lineCounter.linePos(offset);
}

function deref(node: unknown, doc: Document.Parsed): unknown {
  // Follow aliases so a path can go through `*anchor` values.
  const { isAlias } = yamlLib();
  let n = node;
  for (let hops = 0; isAlias(n) && hops < 100; hops++) {
    n = n.resolve(doc);
  }
  return n;
}

function rangeStart(node: unknown): number | undefined {
  return (node as YamlNode | null | undefined)?.range?.[0];
}
