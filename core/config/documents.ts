// Stage 1 of validation: sorts the documents of a repo by kind, checks each against its JSON
// Schema (filling schema defaults, and Settings defaults into apps) and builds the Config of the
// documents that passed. Results are kept on the parsed file, so a document already checked with
// the same Settings defaults is not checked again. Problems become findings; nothing throws. Pure.
import { type ConfigKind, configKinds, configValidator } from "../../schema/index.js";
import { applyAppDefaults } from "./app-defaults.js";
import type {
  AppSpec,
  Config,
  DomainSpec,
  Entry,
  Finding,
  NodeSpec,
  Origin,
  SecretsSpec,
  SettingsSpec,
} from "./model.js";
import { parseText } from "./parse.js";
import type { CheckedDoc, ParsedFile } from "./parsed.js";
import { schemaFindings } from "./schema-messages.js";
import { didYouMean } from "./suggest.js";
import { isMapping } from "./values.js";

export interface SourceDocument {
  origin: Origin;
  value: unknown;
  /** The parsed file the value belongs to (holds the per-document schema results). */
  file: ParsedFile;
}

export interface DocumentsResult {
  config: Config;
  findings: Finding[];
  /** Names of every App/Node document with a string name, valid or not (rules use these for references). */
  appNames: Set<string>;
  nodeNames: Set<string>;
  /** How many documents had a known kind. */
  documents: number;
}

const KINDS = Object.keys(configKinds) as ConfigKind[];

export function buildConfig(sources: readonly SourceDocument[]): DocumentsResult {
  const findings: Finding[] = [];
  const byKind: Record<ConfigKind, SourceDocument[]> = {
    Settings: [],
    App: [],
    Domain: [],
    Node: [],
    Secrets: [],
  };
  for (const src of sources) {
    const kind = kindOf(src, findings);
    if (kind) byKind[kind].push(src);
  }

  const settings = pickSettings(byKind.Settings, findings);
  const appNames = namesOf(byKind.App);
  const nodeNames = namesOf(byKind.Node);
  const defaults = settings.spec.defaults;
  const appKey = defaults ? JSON.stringify(defaults) : "";
  const apps = checkAll("App", byKind.App, findings, appKey, (doc) => applyAppDefaults(doc, defaults));
  const domains = checkAll("Domain", byKind.Domain, findings, "");
  const nodes = checkAll("Node", byKind.Node, findings, "");
  const secrets = checkAll("Secrets", byKind.Secrets, findings, "");
  const config: Config = {
    settings: settings.spec,
    apps: apps as Entry<AppSpec>[],
    domains: domains as Entry<DomainSpec>[],
    nodes: nodes as Entry<NodeSpec>[],
    secrets: secrets as Entry<SecretsSpec>[],
  };
  if (settings.origin) config.settingsOrigin = settings.origin;
  const documents = KINDS.reduce((n, k) => n + byKind[k].length, 0);
  return { config, findings, appNames, nodeNames, documents };
}

function kindOf(src: SourceDocument, findings: Finding[]): ConfigKind | undefined {
  const { value, origin } = src;
  const fail = (path: (string | number)[], message: string) =>
    findings.push({ origin, path, rule: "kind", message });
  if (!isMapping(value)) {
    const what = Array.isArray(value) ? "a list" : "a single value";
    fail([], `a document must be a mapping (key: value lines) with a kind, not ${what}`);
    return undefined;
  }
  const kind = value.kind;
  if (kind === undefined || kind === null) {
    fail(
      [],
      `document has no kind: add a line "kind: App", "kind: Domain", "kind: Node", "kind: Settings" or "kind: Secrets"`,
    );
    return undefined;
  }
  if (typeof kind === "string" && (KINDS as string[]).includes(kind)) return kind as ConfigKind;
  const hint = typeof kind === "string" ? didYouMean(kind, KINDS) : "";
  fail(["kind"], `unknown kind ${JSON.stringify(kind)}${hint || `: use one of ${KINDS.join(", ")}`}`);
  return undefined;
}

function pickSettings(docs: SourceDocument[], findings: Finding[]): { spec: SettingsSpec; origin?: Origin } {
  const first = docs[0];
  for (const extra of docs.slice(1)) {
    findings.push({
      origin: extra.origin,
      path: ["kind"],
      rule: "duplicate-settings",
      message: `more than one Settings document (the first is in ${first?.origin.file}): a repo has at most one; merge them`,
    });
  }
  if (first) {
    const [valid] = checkAll("Settings", [first], findings, "");
    if (valid) return { spec: valid.spec as SettingsSpec, origin: first.origin };
    // An invalid Settings is reported; the rest of the repo is still checked against the defaults.
  }
  const spec: Record<string, unknown> = { kind: "Settings" };
  configValidator("Settings")(spec);
  return { spec: spec as unknown as SettingsSpec };
}

/** Schema-checks documents of one kind (or reuses the result for the same key), returning the valid ones. */
function checkAll(
  kind: ConfigKind,
  docs: SourceDocument[],
  findings: Finding[],
  key: string,
  prepare?: (doc: Record<string, unknown>) => void,
): Entry<unknown>[] {
  const out: Entry<unknown>[] = [];
  for (const src of docs) {
    const { origin, file } = src;
    file.checked ??= [];
    let checked = file.checked[origin.index];
    if (checked?.key !== key) {
      // Checked before with other Settings defaults: its value already holds those, so start
      // again from the text. (Only happens when Settings defaults change.)
      const value = checked === undefined ? src.value : freshValue(file, origin.index);
      checked = check(kind, value as Record<string, unknown>, key, prepare);
      file.checked[origin.index] = checked;
    }
    for (const f of checked.findings) findings.push({ ...f, origin });
    if (checked.spec !== undefined) out.push({ spec: checked.spec, origin });
  }
  return out;
}

function check(
  kind: ConfigKind,
  doc: Record<string, unknown>,
  key: string,
  prepare?: (doc: Record<string, unknown>) => void,
): CheckedDoc {
  const validate = configValidator(kind);
  prepare?.(doc);
  if (validate(doc)) return { key, spec: doc, findings: [] };
  const found = schemaFindings(kind, doc, validate.errors ?? [], { file: "", index: 0 });
  return { key, findings: found.map(({ origin: _origin, ...rest }) => rest) };
}

function freshValue(file: ParsedFile, index: number): unknown {
  return file.text === undefined ? undefined : parseText(file.text).docs[index];
}

function namesOf(docs: SourceDocument[]): Set<string> {
  const names = new Set<string>();
  for (const d of docs) {
    const name = (d.value as Record<string, unknown>).name;
    if (typeof name === "string") names.add(name);
  }
  return names;
}

/**
 * The DocumentsResult of `prev` after some files that hold only App documents changed: the App
 * entries and findings of the `gone` files are dropped and those of `added` (their new versions,
 * App documents only, in file and document order) are checked and merged in. Settings, nodes
 * and domains stay the same objects. `names` counts App names over all documents (valid or not)
 * and is updated in place. What buildConfig would give for the whole new set of documents.
 */
export function patchApps(
  prev: DocumentsResult,
  gone: ReadonlySet<string>,
  goneNames: readonly unknown[],
  added: readonly SourceDocument[],
  names: Map<string, number>,
): DocumentsResult & {
  namesChanged: boolean;
  touched: ReadonlyMap<string, { before: number; after: number }>;
  /** The valid App entries of `added`. */
  fresh: Entry<AppSpec>[];
} {
  const findings = prev.findings.filter((f) => !gone.has(f.origin.file));
  const defaults = prev.config.settings.defaults;
  const appKey = defaults ? JSON.stringify(defaults) : "";
  const fresh = checkAll("App", [...added], findings, appKey, (doc) => applyAppDefaults(doc, defaults));
  const kept = prev.config.apps.filter((e) => !gone.has(e.origin.file));
  const apps = mergeByOrigin(kept, fresh as Entry<AppSpec>[]);

  // How many App documents carried each touched name before and after (names counts all of them).
  const touched = new Map<string, { before: number; after: number }>();
  const count = (name: unknown, by: 1 | -1) => {
    if (typeof name !== "string") return;
    const n = names.get(name) ?? 0;
    if (!touched.has(name)) touched.set(name, { before: n, after: n });
    (touched.get(name) as { after: number }).after = n + by;
    if (n + by === 0) names.delete(name);
    else names.set(name, n + by);
  };
  for (const name of goneNames) count(name, -1);
  for (const src of added) count((src.value as Record<string, unknown>).name, 1);
  let namesChanged = false;
  for (const t of touched.values()) if ((t.before === 0) !== (t.after === 0)) namesChanged = true;

  return {
    config: { ...prev.config, apps },
    findings,
    appNames: namesChanged ? new Set(names.keys()) : prev.appNames,
    nodeNames: prev.nodeNames,
    documents: prev.documents - goneNames.length + added.length,
    namesChanged,
    touched,
    fresh: fresh as Entry<AppSpec>[],
  };
}

/** Two entry lists, each in (file, document) order, merged into one in that order. */
function mergeByOrigin<T>(a: readonly Entry<T>[], b: readonly Entry<T>[]): Entry<T>[] {
  if (b.length === 0) return [...a];
  const out: Entry<T>[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = (a[i] as Entry<T>).origin;
    const y = (b[j] as Entry<T>).origin;
    const first = x.file < y.file || (x.file === y.file && x.index < y.index);
    out.push((first ? a[i++] : b[j++]) as Entry<T>);
  }
  while (i < a.length) out.push(a[i++] as Entry<T>);
  while (j < b.length) out.push(b[j++] as Entry<T>);
  return out;
}

/** App name counts over every App document (valid or not): what appNames is the key set of. */
export function appNameCounts(sources: readonly SourceDocument[]): Map<string, number> {
  const names = new Map<string, number>();
  for (const src of sources) {
    const v = src.value;
    if (!isMapping(v) || v.kind !== "App" || typeof v.name !== "string") continue;
    names.set(v.name, (names.get(v.name) ?? 0) + 1);
  }
  return names;
}
