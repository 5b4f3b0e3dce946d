// The shape of one parsed config file, shared by the parsers, the cache and the loader. Types only.
import type { Document, LineCounter } from "yaml";
import type { Finding } from "./model.js";

/** A problem found while reading a file, already at a place (1-based) but not yet tied to a file name. */
export interface Problem {
  line: number;
  col: number;
  rule: string;
  message: string;
}

/** The YAML syntax trees of a file with their line counter: only built when a position is needed. */
export interface SyntaxTrees {
  docs: Document.Parsed[];
  lineCounter: LineCounter;
}

export interface ParsedFile {
  /**
   * The value of each document, by document index (the same index in both parsers). `undefined`
   * marks an empty document or one that had a problem; those are skipped by later stages.
   */
  docs: unknown[];
  problems: Problem[];
  /** Source text, kept to re-parse with positions on demand; undefined when the file is not text. */
  text: string | undefined;
  /**
   * Which parser produced `docs`: the plain block YAML reader (block-yaml.ts) for most files,
   * js-yaml for other files it can read, yaml for aliases and errors, the reader of berth's own
   * Secrets file layout (secrets-yaml.ts) for those.
   */
  parser: "block-yaml" | "js-yaml" | "yaml" | "secrets-file" | "none";
  /** Syntax trees, filled lazily by positions.ts the first time a position in this file is needed. */
  trees?: SyntaxTrees;
  /**
   * Schema results by document index, filled by documents.ts. Validation fills defaults into the
   * parsed value in place, so a document is validated once per `key` (the Settings defaults it
   * depends on) and its spec is shared by every later load of the same content.
   */
  checked?: (CheckedDoc | undefined)[];
}

export interface CheckedDoc {
  key: string;
  /** The validated document with defaults filled, when it passed its schema. */
  spec?: unknown;
  findings: Omit<Finding, "origin">[];
}
