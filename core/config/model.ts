// The loaded config model: the documents of one commit (or working tree) after schema defaults,
// each remembering where it came from. Pure types; no I/O.
import type { App, Diagnostic, Domain, Node, Secrets, Settings } from "../../schema/index.js";
import type { ParsedFile } from "./parsed.js";

/** Where a document came from: repo-relative file path and 0-based document index in that file. */
export interface Origin {
  file: string;
  index: number;
}

export interface Entry<T> {
  spec: T;
  origin: Origin;
}

// Fields that always have a value after loading (their defaults live in schema/*.schema.json).
export type AppSpec = App & Required<Pick<App, "replicas" | "strategy">>;
export type DomainSpec = Domain & Required<Pick<Domain, "path" | "tls">>;
export type NodeSpec = Node & Required<Pick<Node, "roles" | "runtime" | "portRange" | "cordon">>;
export type SettingsSpec = Settings & Required<Pick<Settings, "branch" | "desiredBranch" | "statusBranch">>;
/** The encrypted secrets of one app (secrets/<app>.yaml): ciphertext only, never decrypted here. */
export type SecretsSpec = Secrets;

export interface Config {
  settings: SettingsSpec;
  /** Absent when the repo has no Settings document. */
  settingsOrigin?: Origin;
  apps: Entry<AppSpec>[];
  domains: Entry<DomainSpec>[];
  nodes: Entry<NodeSpec>[];
  /** Secrets documents (one per app), in file order. */
  secrets: Entry<SecretsSpec>[];
}

/** One config file as read from a working tree or a commit. */
export interface ConfigFile {
  /** Repo-relative path with forward slashes. */
  path: string;
  content: Uint8Array | string;
  /** git blob id when read from a commit: the cache key for parsed documents. */
  blobId?: string;
  /**
   * Size in bytes when the reader did not read `content` because the file is over the limit
   * (limits.ts MAX_FILE_BYTES); the loader then reports the file as too large.
   */
  size?: number;
  /**
   * The file as parsed already through the same ParseCache (ParseCache#peek or preparse), so
   * loadFromFiles neither looks it up again nor parses it; `content` is then ignored.
   */
  parsed?: ParsedFile;
}

/**
 * A problem before it has a line and column: the document and the path inside it. `at: "key"`
 * points at the key itself (unknown fields), otherwise at the value.
 */
export interface Finding {
  origin: Origin;
  path: (string | number)[];
  rule: string;
  message: string;
  at?: "key" | "value";
  /** Warnings are printed but do not make a config invalid. Default: error. */
  severity?: Severity;
}

export type Severity = "error" | "warning";

export type { Diagnostic };

/** The result of loading and validating: a config is only usable when diagnostics is empty. */
export interface LoadResult {
  config: Config;
  diagnostics: Diagnostic[];
  /** Problems that do not make the config invalid (printed by `berth validate`, never block a publish). */
  warnings?: Diagnostic[];
  /** Turns findings of later stages (placement) into diagnostics with FILE:LINE:COL. */
  locate(findings: Finding[]): Diagnostic[];
}
