// The careful YAML path: parses with `yaml` (eemeli), which keeps node positions, reports
// syntax errors and duplicate keys with places, and bounds alias expansion. Used for files the
// fast path cannot take (anchors, aliases, merge keys, anything js-yaml rejects) and, lazily, to
// find the position of a problem in any file. Pure.
import type { Document, YAMLError } from "yaml";
import { MAX_ALIAS_COUNT, MAX_DEPTH } from "./limits.js";
import type { ParsedFile, Problem, SyntaxTrees } from "./parsed.js";
import { yamlLib } from "./yaml-lib.js";

const OPTIONS = {
  version: "1.2",
  schema: "core",
  merge: true,
  uniqueKeys: true,
  prettyErrors: false,
} as const;

/** Parses every document of `text` with positions. Never throws. */
export function parseTrees(text: string): SyntaxTrees {
  const { LineCounter, parseAllDocuments } = yamlLib();
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { ...OPTIONS, lineCounter });
  // An input with no documents at all comes back as an empty stream (an array without documents).
  const docs = Array.isArray(parsed) ? (parsed as Document.Parsed[]) : [];
  return { docs, lineCounter };
}

/** Parses `text` into a ParsedFile the slow, careful way. Never throws. */
export function parseFull(text: string): ParsedFile {
  const trees = parseTrees(text);
  const { docs, lineCounter } = trees;
  const problems: Problem[] = [];
  const values: unknown[] = [];
  const at = (offset: number) => lineCounter.linePos(offset);
  for (const doc of docs) {
    // One syntax error per document: the ones after it are mostly its echoes.
    const issue = doc.errors[0] ?? doc.warnings[0];
    if (issue) {
      problems.push(fromYamlError(issue, text, at));
      values.push(undefined);
      continue;
    }
    const deep = tooDeep(doc);
    if (deep !== undefined) {
      const pos = at(deep);
      problems.push({
        ...pos,
        rule: "too-deep",
        message: `nesting is deeper than ${MAX_DEPTH} levels: a config document is a few levels deep; flatten it`,
      });
      values.push(undefined);
      continue;
    }
    try {
      values.push(
        doc.contents === null ? undefined : (doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? undefined),
      );
    } catch (err) {
      const pos = at(doc.contents?.range[0] ?? 0);
      const bomb = err instanceof ReferenceError && /alias/i.test(err.message);
      problems.push({
        ...pos,
        rule: bomb ? "alias-limit" : "yaml-syntax",
        message: bomb
          ? `aliases expand to too many nodes (over ${MAX_ALIAS_COUNT} alias uses): this looks like an alias bomb; write the values out`
          : `cannot read this document: ${(err as Error).message}`,
      });
      values.push(undefined);
    }
  }
  return { docs: values, problems, text, parser: "yaml", trees };
}

/** Offset of the first node nested deeper than MAX_DEPTH (counting every node, as js-yaml does). */
function tooDeep(doc: Document.Parsed): number | undefined {
  const { isAlias, isMap, isPair, isSeq } = yamlLib();
  const stack: [unknown, number][] = [[doc.contents, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || node === undefined || isAlias(node)) continue;
    if (depth > MAX_DEPTH) return (node as { range?: [number] }).range?.[0] ?? 0;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          stack.push([item.key, depth + 1], [item.value, depth + 1]);
        } else {
          stack.push([item, depth + 1]);
        }
      }
    }
  }
  return undefined;
}

function fromYamlError(
  e: YAMLError,
  text: string,
  at: (offset: number) => { line: number; col: number },
): Problem {
  const pos = at(e.pos[0]);
  const first = e.message.split("\n")[0] ?? e.message;
  switch (e.code) {
    case "DUPLICATE_KEY": {
      // The error points at the start of the repeated key; the key runs to its colon.
      const rest = text.slice(e.pos[0], e.pos[0] + 200);
      const key = (/^("[^"]*"|'[^']*'|[^:\n,}]*)/.exec(rest)?.[1] ?? "").trim().replace(/^["']|["']$/g, "");
      return {
        ...pos,
        rule: "duplicate-key",
        message: `duplicate key "${key}": a key may appear only once in a mapping; remove or rename one`,
      };
    }
    case "TAB_AS_INDENT":
      return { ...pos, rule: "yaml-syntax", message: "tab used for indentation: YAML indents with spaces" };
    case "TAG_RESOLVE_FAILED":
      return {
        ...pos,
        rule: "yaml-syntax",
        message: `${lowerFirst(first)}: berth config uses plain YAML values; remove the tag`,
      };
    case "RESOURCE_EXHAUSTION":
      return {
        ...pos,
        rule: "too-deep",
        message: `nesting is too deep to read (over ${MAX_DEPTH} levels): a config document is a few levels deep; flatten it`,
      };
    default:
      return { ...pos, rule: "yaml-syntax", message: `YAML syntax error: ${lowerFirst(first)}` };
  }
}

function lowerFirst(s: string): string {
  return s.length > 1 && /^[A-Z][a-z]/.test(s) ? s[0]?.toLowerCase() + s.slice(1) : s;
}
