// Says in a few words how one workload spec differs from another, for action reasons such as
// `replace web-0: image a:1 → a:2`. Env values are never shown, only the names of changed keys.
// Pure.

import { canonicalJson } from "../../core/canonical-json.js";
import type { Workload } from "../../schema/index.js";

/** `sha256:0123456789ab…` → `0123456789ab`, for messages. */
export const shortHash = (h: string): string => h.replace(/^sha256:/, "").slice(0, 12);

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

function envChanges(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: string[] = [];
  for (const k of keys) {
    if (!(k in before)) out.push(`env.${k} added`);
    else if (!(k in after)) out.push(`env.${k} removed`);
    else if (before[k] !== after[k]) out.push(`env.${k} changed`);
  }
  if (out.length > 3) return [...out.slice(0, 3), `${out.length - 3} more env changes`];
  return out;
}

/** The differences between the spec an instance runs (when known) and the desired one. */
export function describeSpecChange(
  before: Workload | undefined,
  beforeHash: string,
  after: Workload,
): string {
  if (!before) return `spec ${shortHash(beforeHash)} → ${shortHash(after.specHash)}`;
  const parts: string[] = [];
  const arrow = (field: string, a: unknown, b: unknown) =>
    parts.push(
      `${field} ${a === undefined ? "(none)" : String(a)} → ${b === undefined ? "(none)" : String(b)}`,
    );
  if (before.runtime !== after.runtime) arrow("runtime", before.runtime, after.runtime);
  if (before.image !== after.image) arrow("image", before.image, after.image);
  if (!same(before.command, after.command)) parts.push("command changed");
  if (before.workdir !== after.workdir) arrow("workdir", before.workdir, after.workdir);
  parts.push(...envChanges(before.env, after.env));
  if (before.port !== after.port) arrow("port", before.port, after.port);
  if (before.hostPort !== after.hostPort) arrow("hostPort", before.hostPort, after.hostPort);
  if (!same(before.health, after.health)) parts.push("health check changed");
  if (!same(before.volumes, after.volumes)) parts.push("volumes changed");
  if (before.strategy !== after.strategy) arrow("strategy", before.strategy, after.strategy);
  if (parts.length === 0) return `spec ${shortHash(beforeHash)} → ${shortHash(after.specHash)}`;
  return parts.join(", ");
}
