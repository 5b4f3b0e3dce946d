// Named plan scenarios over a small cluster (three workers, one proxy), shared by the golden
// tests of the three views. Each is a base config and a head config (or head diagnostics).
import type { Config } from "../../core/config/model.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan, type PlanInput } from "../../core/plan/index.js";
import type { Diagnostic, Plan, Side } from "../../schema/index.js";
import { app, config, domain, loaded, node } from "./builders.js";

const workers = ["node-a", "node-b", "node-c"].map((name, i) =>
  node({
    name,
    address: `10.0.0.${11 + i}`,
    capacity: { cpu: 4, memory: "8Gi" },
    labels: { zone: i < 2 ? "eu" : "us" },
  }),
);
const edge = node({ name: "edge", address: "10.0.0.2", roles: ["proxy"] });

const web = app({
  name: "web",
  image: "nginx:1.25",
  port: 80,
  replicas: 2,
  health: { path: "/healthz" },
  resources: { cpu: 0.5, memory: "256Mi" },
});
const api = app({
  name: "api",
  image: "registry.local/api:1.4",
  port: 8080,
  env: { LOG_LEVEL: "info", DB_PASSWORD: "hunter2", API_KEY: "k-123" },
});
const www = domain({ host: "www.example.com", app: "web" });
const apiDomain = domain({ host: "api.example.com", app: "api", tls: "internal" });

export const baseConfig: Config = config({
  apps: [api, web],
  nodes: [...workers, edge],
  domains: [apiDomain, www],
});

const with_ = (patch: { apps?: (typeof web)[]; nodes?: (typeof edge)[]; domains?: (typeof www)[] }): Config =>
  config({
    apps: patch.apps ?? [api, web],
    nodes: patch.nodes ?? [...workers, edge],
    domains: patch.domains ?? [apiDomain, www],
  });

const invalid: Diagnostic[] = [
  { file: "apps/web.yaml", line: 6, col: 11, rule: "schema", message: "replicas must be >= 0" },
  {
    file: "domains/shop.example.com.yaml",
    line: 3,
    col: 6,
    rule: "domain-app",
    message:
      'domain shop.example.com routes to app "shop", which does not exist; add apps/shop.yaml or fix the name',
  },
];

export interface Scenario {
  name: string;
  base: Config | null;
  head: Config;
  headDiagnostics?: Diagnostic[];
}

export const scenarios: Scenario[] = [
  { name: "first-plan", base: null, head: baseConfig },
  {
    name: "new-app",
    base: baseConfig,
    head: with_({ apps: [api, web, app({ name: "worker", image: "registry.local/worker:2", replicas: 2 })] }),
  },
  { name: "image-change", base: baseConfig, head: with_({ apps: [api, { ...web, image: "nginx:1.27" }] }) },
  { name: "scale-up", base: baseConfig, head: with_({ apps: [api, { ...web, replicas: 3 }] }) },
  { name: "scale-down", base: baseConfig, head: with_({ apps: [api, { ...web, replicas: 1 }] }) },
  {
    name: "domain-added",
    base: baseConfig,
    head: with_({
      domains: [apiDomain, www, domain({ host: "static.example.com", app: "web", path: "/assets" })],
    }),
  },
  {
    name: "domain-moved",
    base: baseConfig,
    head: with_({ domains: [apiDomain, { ...www, app: "api" }] }),
  },
  {
    name: "node-added",
    base: baseConfig,
    head: with_({
      nodes: [
        ...workers,
        edge,
        node({ name: "node-d", address: "10.0.0.14", capacity: { cpu: 16, memory: "32Gi" } }),
      ],
    }),
  },
  {
    name: "node-cordoned",
    base: baseConfig,
    head: with_({
      nodes: workers.map((n) => (n.name === "node-b" ? { ...n, cordon: true } : n)).concat(edge),
    }),
  },
  { name: "app-removed", base: baseConfig, head: with_({ apps: [web], domains: [www] }) },
  { name: "invalid-head", base: baseConfig, head: baseConfig, headDiagnostics: invalid },
  {
    name: "secret-env-masked",
    base: baseConfig,
    head: with_({
      apps: [
        {
          ...api,
          env: { LOG_LEVEL: "debug", DB_PASSWORD: "correct-horse", API_KEY: "k-456", NEW_TOKEN: "t" },
        },
        web,
      ],
    }),
  },
  { name: "no-changes", base: baseConfig, head: with_({}) },
  // Encrypted secrets and a URL with credentials: names and what happened, never a value.
  { name: "secret-changed", base: secretsConfig("base"), head: secretsConfig("head") },
];

/**
 * A billing app taking three secrets and a database URL with a password. From base to head:
 * DB_PASSWORD gets a new value, SESSION_KEY is re-encrypted (berth secret rekey: same `updated`),
 * API_TOKEN is new, and the URL's password changes. Ciphertexts are stand-ins: plans never read them.
 */
function secretsConfig(side: "base" | "head"): Config {
  const head = side === "head";
  const billing = app({
    name: "billing",
    image: "registry.local/billing:3",
    env: {
      DATABASE_URL: head
        ? "postgres://billing:s3cr3t-2@db2.internal/billing"
        : "postgres://billing:s3cr3t-1@db.internal/billing",
      DB_PASSWORD: { secret: "DB_PASSWORD" },
      SESSION_KEY: { secret: "SESSION_KEY" },
      ...(head ? { API_TOKEN: { secret: "API_TOKEN" } } : {}),
    },
  });
  // The recipients of test/fixtures/secrets, one per worker.
  const recipients = [
    "age1hrytu5sc2wj4g0cm3thx54uw8urwdy3csfnpdp959zjclrsgdpjsdshrjy",
    "age1znwrrqkjex6y6fgcajq7y7c4pkmwm77znqknhv2auqjcnp269qdq24jgjx",
    "age15s7rn7avm3ncsaz90zjel3n3z52lemnhp0wcjh8cpfvzqa2aey4s0e22cx",
  ] as [string, string, string];
  const nodes = workers.map((n, i) => ({ ...n, recipient: recipients[i] }));
  const value = (text: string, updated: string) => ({
    recipients,
    updated,
    ciphertext: `-----BEGIN AGE ENCRYPTED FILE-----\n${text}\n-----END AGE ENCRYPTED FILE-----\n`,
  });
  const secrets = {
    kind: "Secrets" as const,
    app: "billing",
    secrets: {
      DB_PASSWORD: head
        ? value("NEWVALUE", "2026-11-21T09:00:00Z")
        : value("OLDVALUE", "2026-11-01T09:00:00Z"),
      SESSION_KEY: head
        ? value("REKEYED", "2026-11-01T09:00:00Z")
        : value("ORIGINAL", "2026-11-01T09:00:00Z"),
      ...(head ? { API_TOKEN: value("TOKEN", "2026-11-21T09:00:00Z") } : {}),
    },
  };
  return config({ apps: [billing], nodes, secrets: [secrets] });
}

export const baseSide: Side = {
  ref: "main",
  commit: "1111111111111111111111111111111111111111",
  subject: "Add api and web",
};
export const headSide: Side = {
  ref: "feature",
  commit: "2222222222222222222222222222222222222222",
  subject: "Change the config",
};

/** Evaluates both sides of a scenario (each with a fresh evaluator) and computes the plan. */
export function planOf(s: Scenario): Plan {
  const side = (cfg: Config, sideInfo: Side, diagnostics: Diagnostic[] = []): PlanInput => {
    const ev = new Evaluator().evaluate(loaded(cfg, diagnostics), {
      branch: "main",
      commit: sideInfo.commit ?? "worktree",
    });
    return { side: sideInfo, config: cfg, desired: ev.desired, diagnostics: ev.diagnostics };
  };
  const base = s.base ? side(s.base, baseSide) : null;
  return computePlan(base, side(s.head, headSide, s.headDiagnostics));
}
