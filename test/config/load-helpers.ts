// Helpers for config tests: a small valid repo as inline files, and loading files into the lines
// `berth validate` prints (FILE:LINE:COL: message [rule]).
import {
  type ConfigFile,
  formatDiagnostic,
  loadFromFiles,
  type ParseCache,
} from "../../core/config/index.js";

export const NODE = `kind: Node
name: n1
address: 10.0.0.1
roles: [worker, proxy]
runtime: podman
labels:
  zone: a
capacity:
  cpu: 4
  memory: 8Gi
`;

export const APP = `kind: App
name: web
image: nginx:1.27
port: 8080
`;

export const DOMAIN = `kind: Domain
host: www.example.com
app: web
`;

/** A valid repo: one node, one app, one domain. Spread it and override files per case. */
export const BASE: Record<string, string> = {
  "nodes/n1.yaml": NODE,
  "apps/web.yaml": APP,
  "domains/www.example.com.yaml": DOMAIN,
};

export function toFiles(files: Record<string, string | Uint8Array>): ConfigFile[] {
  return Object.entries(files).map(([path, content]) => ({ path, content }));
}

/** Loads inline files; returns error lines and warning lines with the rule in brackets. */
export function linesOf(files: Record<string, string | Uint8Array>, cache?: ParseCache) {
  const result = loadFromFiles(toFiles(files), cache);
  return {
    result,
    errors: result.diagnostics.map((d) => `${formatDiagnostic(d)} [${d.rule}]`),
    warnings: (result.warnings ?? []).map((d) => `${formatDiagnostic(d, "warning")} [${d.rule}]`),
  };
}
