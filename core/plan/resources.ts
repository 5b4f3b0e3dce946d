// Config-level changes: apps, domains, nodes and settings that were created, updated or deleted
// between two configs, with their changed fields. Pure; specs are compared by canonical JSON
// (memoised per object), so a reordered YAML file is no change.
import type { FieldChange, ResourceChange } from "../../schema/index.js";
import { keyOf } from "../canonical-json.js";
import type { Config, Entry } from "../config/model.js";
import { diffFields } from "./fields.js";
import { secretsChanges } from "./secrets.js";

type Kind = ResourceChange["kind"];

interface Item {
  name: string;
  file?: string;
  spec: object;
}

/** Name of a domain in plans: its host, plus the path when it is not "/". */
export function domainName(d: { host: string; path: string }): string {
  return d.path === "/" ? d.host : `${d.host}${d.path}`;
}

export function resourceChanges(base: Config | null, head: Config | null): ResourceChange[] {
  const out: ResourceChange[] = [];
  const app = (s: { name: string }) => s.name;
  diffKind("App", items(base?.apps, app), items(head?.apps, app), ["kind", "name"], out);
  diffKind(
    "Domain",
    items(base?.domains, domainName),
    items(head?.domains, domainName),
    ["kind", "host", "path"],
    out,
  );
  diffKind("Node", items(base?.nodes, app), items(head?.nodes, app), ["kind", "name"], out);
  diffKind("Settings", settingsItems(base), settingsItems(head), ["kind"], out);
  const bySecretsApp = (s: { app: string }) => s.app;
  diffKind(
    "Secrets",
    items(base?.secrets, bySecretsApp),
    items(head?.secrets, bySecretsApp),
    [],
    out,
    secretsChanges,
  );
  return out;
}

/** Merge-walks two name-sorted lists; unchanged specs (same object or same key) cost one compare. */
function diffKind(
  kind: Kind,
  a: Item[],
  b: Item[],
  identity: string[],
  out: ResourceChange[],
  diff: (before: never, after: never) => FieldChange[] = (x, y) => diffFields(x, y, identity),
): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const before = i < a.length && (j >= b.length || a[i]!.name <= b[j]!.name) ? a[i] : undefined;
    const after = j < b.length && (i >= a.length || b[j]!.name <= a[i]!.name) ? b[j] : undefined;
    if (before) i++;
    if (after) j++;
    if (before && after && (before.spec === after.spec || keyOf(before.spec) === keyOf(after.spec))) continue;
    const changes = diff(
      (before && after ? before.spec : null) as never,
      (after ? after.spec : null) as never,
    );
    if (before && after && changes.length === 0) continue;
    const file = (after ?? before)?.file;
    out.push({
      kind,
      name: (after ?? before)!.name,
      action: !before ? "create" : !after ? "delete" : "update",
      ...(file !== undefined ? { file } : {}),
      // A deleted resource lists no fields: its file is gone and its values are in the base.
      changes: after ? changes : [],
    });
  }
}

function items<T extends object>(
  entries: readonly Entry<T>[] | undefined,
  name: (spec: T) => string,
): Item[] {
  const list = (entries ?? []).map((e) => ({ name: name(e.spec), file: e.origin.file, spec: e.spec }));
  for (let k = 1; k < list.length; k++) {
    if (list[k - 1]!.name > list[k]!.name)
      return list.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }
  return list;
}

function settingsItems(cfg: Config | null): Item[] {
  // Settings exist as a resource only when the repo has a berth.yaml; defaults alone are not one.
  if (!cfg?.settingsOrigin) return [];
  return [{ name: "settings", file: cfg.settingsOrigin.file, spec: cfg.settings }];
}
