// Parses one config file's text into documents: js-yaml on the fast path (about 8x faster than
// `yaml`, but without positions); files with anchors, aliases or merge keys, and files js-yaml
// rejects, take the careful path (yaml-full.ts), which also yields positioned errors. Both use the
// YAML 1.2 core schema and number documents the same way. Secrets files laid out as `berth secret`
// writes them are read by a reader of that layout (secrets-yaml.ts), and plain block YAML — most
// config files — by a reader of that subset (block-yaml.ts), both with js-yaml's values. Pure.
import jsyaml from "js-yaml";
import { readBlockYaml } from "./block-yaml.js";
import { MAX_DEPTH } from "./limits.js";
import type { ParsedFile } from "./parsed.js";
import { readSecretsYaml } from "./secrets-yaml.js";
import { parseFull } from "./yaml-full.js";

// An anchor (&a), alias (*a) or merge key (<<:) token. False positives (e.g. "a && b" inside a
// quoted string) only cost speed: such files are parsed by the careful path.
const NEEDS_CAREFUL_PATH = /(?:^|[\s,[{])(?:[&*][^\s,[\]{}]|<<\s*:)/;

/**
 * NEEDS_CAREFUL_PATH.test(text), run only when the text holds one of the characters it looks for:
 * most files hold none, and three native searches cost less than the expression's walk over every
 * character. With the two other checks of the same commit (text.ts, secrets-yaml.ts): `berth
 * validate` of the 10,000-app bench repo with secrets, 9.311 → 9.264 billion instructions
 * (callgrind, fixed seeds, 2026-12-03).
 */
function mayNeedCarefulPath(text: string): boolean {
  if (!text.includes("&") && !text.includes("*") && !text.includes("<<")) return false;
  return NEEDS_CAREFUL_PATH.test(text);
}

const FAST_OPTIONS = { schema: jsyaml.CORE_SCHEMA, maxDepth: MAX_DEPTH, json: false } as const;

export function parseText(text: string): ParsedFile {
  const secrets = readSecretsYaml(text);
  if (secrets !== undefined) return { docs: [secrets], problems: [], text, parser: "secrets-file" };
  const block = readBlockYaml(text);
  if (block !== undefined) return { docs: block, problems: [], text, parser: "block-yaml" };
  let values: unknown[];
  try {
    // Also run for careful-path files: js-yaml stops deep nesting at a fixed depth with an exact
    // position, where `yaml` would only hit a stack overflow somewhere. Aliases stay shared
    // references here, so an alias bomb costs nothing.
    values = jsyaml.loadAll(text, undefined, FAST_OPTIONS);
  } catch (err) {
    const mark = (err as { mark?: { line: number; column: number } }).mark;
    const reason = String((err as { reason?: string }).reason ?? "");
    if (mark && reason.startsWith("nesting exceeded maxDepth")) {
      return {
        docs: [],
        problems: [
          {
            line: mark.line + 1,
            col: mark.column + 1,
            rule: "too-deep",
            message: `nesting is deeper than ${MAX_DEPTH} levels: a config document is a few levels deep; flatten it`,
          },
        ],
        text,
        parser: "js-yaml",
      };
    }
    // Syntax error, duplicate key, unknown tag: the careful path says where.
    return parseFull(text);
  }
  if (mayNeedCarefulPath(text)) return parseFull(text);
  // js-yaml yields [null] for a file of only comments/blank lines where yaml yields []: both mean
  // "no documents", and empty documents are skipped, so the indices of real documents agree.
  return { docs: values.map(emptyToUndefined), problems: [], text, parser: "js-yaml" };
}

const emptyToUndefined = (v: unknown) => (v === null ? undefined : v);
