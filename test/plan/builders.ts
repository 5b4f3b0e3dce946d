// In-memory builders for configs and load results, so plan and placement tests need no files.
import type {
  AppSpec,
  Config,
  DomainSpec,
  Entry,
  LoadResult,
  NodeSpec,
  SecretsSpec,
  SettingsSpec,
} from "../../core/config/model.js";
import type { Diagnostic } from "../../schema/index.js";

type AppInput = Partial<AppSpec> & { name: string };
type NodeInput = Partial<NodeSpec> & { name: string };
type DomainInput = Partial<DomainSpec> & { host: string; app: string };

export function app(input: AppInput): AppSpec {
  const { name, ...rest } = input;
  return {
    kind: "App",
    name,
    ...(rest.command === undefined && rest.image === undefined ? { image: `registry.local/${name}:1` } : {}),
    replicas: 1,
    strategy: "start-first",
    ...rest,
  } as AppSpec;
}

export function node(input: NodeInput): NodeSpec {
  const { name, ...rest } = input;
  return {
    kind: "Node",
    name,
    address: `10.0.0.${(hash(name) % 250) + 1}`,
    roles: ["worker"],
    runtime: "podman",
    portRange: [20000, 29999],
    cordon: false,
    ...rest,
  };
}

export function domain(input: DomainInput): DomainSpec {
  return { kind: "Domain", path: "/", tls: "auto", ...input };
}

export function settings(input: Partial<SettingsSpec> = {}): SettingsSpec {
  return {
    kind: "Settings",
    branch: "main",
    desiredBranch: "berth/desired",
    statusBranch: "berth/status",
    ...input,
  };
}

export interface ConfigInput {
  apps?: AppSpec[];
  nodes?: NodeSpec[];
  domains?: DomainSpec[];
  settings?: SettingsSpec;
  secrets?: SecretsSpec[];
}

/** A config whose entries live in conventional files (apps/<name>.yaml…). */
export function config(input: ConfigInput): Config {
  const entry = <T>(file: string, spec: T): Entry<T> => ({ spec, origin: { file, index: 0 } });
  return {
    settings: input.settings ?? settings(),
    ...(input.settings ? { settingsOrigin: { file: "berth.yaml", index: 0 } } : {}),
    apps: (input.apps ?? []).map((a) => entry(`apps/${a.name}.yaml`, a)),
    nodes: (input.nodes ?? []).map((n) => entry(`nodes/${n.name}.yaml`, n)),
    domains: (input.domains ?? []).map((d) => entry(`domains/${d.host}.yaml`, d)),
    secrets: (input.secrets ?? []).map((s) => entry(`secrets/${s.app}.yaml`, s)),
  };
}

/** A LoadResult over `cfg`; findings are located at line 1 col 1 of their file (positions are the loader's job). */
export function loaded(cfg: Config, diagnostics: Diagnostic[] = []): LoadResult {
  return {
    config: cfg,
    diagnostics,
    locate: (findings) =>
      findings.map((f) => ({ file: f.origin.file, line: 1, col: 1, rule: f.rule, message: f.message })),
  };
}

/** n worker nodes node-000… with the given capacity. */
export function workers(n: number, extra: Partial<NodeSpec> = {}): NodeSpec[] {
  return Array.from({ length: n }, (_, i) => node({ name: `node-${String(i).padStart(3, "0")}`, ...extra }));
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}
