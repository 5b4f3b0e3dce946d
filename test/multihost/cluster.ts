// A berth cluster on network-namespace hosts (test/helpers/netns.ts), run as an operator runs it:
// `berth serve` on a reconciler host (HTTPS with a private CA, the admin token for reads, as
// docs/operating.md says), `berth agent` on every node (process and podman workers, a
// proxy node with a real Caddy), and a client host that sends requests through the proxy. The
// config repo is a real git repo the test commits to; the reconciler watches it.
//
// Everything is made with names unique to this run and removed by cleanup(), even when a test
// fails (netns.ts also removes it when the process exits).
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeStatus } from "../../schema/index.js";
import { cliArgs } from "../helpers/berth-cli.js";
import { makeRepo, type TestRepo } from "../helpers/git-repo.js";
import { type NsClient, startNsClient } from "../helpers/load.js";
import { type Cluster, createCluster, type NetHost } from "../helpers/netns.js";
import { makeCerts } from "../helpers/tls.js";

export const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
export const appScript = join(projectRoot, "test/fixtures/apps/app.mjs");

export interface NodeDef {
  name: string;
  roles: ("worker" | "proxy")[];
  runtime?: "process" | "podman";
  labels?: Record<string, string>;
  /** Extra YAML lines of the node file. */
  extra?: string;
}

export interface ClusterOptions {
  nodes: NodeDef[];
  /** Config files besides nodes/ (apps, domains, berth.yaml). */
  files: Record<string, string>;
  /** Agents' long-poll wait (default 10 s). */
  pollWait?: number;
  /** Extra flags for `berth serve`. */
  serveArgs?: string[];
}

export interface BerthNode {
  def: NodeDef;
  host: NetHost;
  token: string;
  stateDir: string;
  logFile: string;
}

export interface BerthCluster {
  net: Cluster;
  repo: TestRepo;
  recon: { host: NetHost; url: string; adminToken: string; adminTokenFile: string; logFile: string };
  nodes: Map<string, BerthNode>;
  client: NsClient;
  clientHost: NetHost;
  /** The proxy node's HTTP address, e.g. http://10.77.0.5:80. */
  proxyUrl(node?: string): string;
  /** GET a read-API route of the reconciler (admin token) and parse the JSON. */
  api<T = unknown>(path: string): Promise<T>;
  nodesView(): Promise<NodesView>;
  startAgent(name: string): void;
  /**
   * Waits until the published generation's source is `commit`, no handoff is pending and every
   * node runs its document converged.
   */
  converged(commit: string, timeoutMs?: number, nodes?: string[]): Promise<NodesView>;
  /** Runs the berth CLI on `host` (default: the client host) and returns its output. */
  berth(args: string[], host?: NetHost): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The end of each process log, for failure messages. */
  logs(): string;
  cleanup(): Promise<void>;
}

/** Polls the reconciler's node view until `check` returns a value; times out with the published state and the logs. */
export async function waitForView<T>(
  c: BerthCluster,
  what: string,
  check: (v: NodesView) => T | false,
  timeoutMs = 90_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await c.nodesView();
    const r = check(v);
    if (r !== false) return r;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v.published)}\n${c.logs()}`);
    // 100 ms: bench/multihost.bench.ts times failover moments with it.
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface NodesView {
  generation: number;
  published: {
    generation: number;
    commit: string | null;
    desiredCommit: string | null;
    handoffs?: { id: string; node: string; event: string; message: string }[];
    failover?: { node: string; lostSince: string; message: string }[];
  };
  nodes: {
    node: string;
    lastSeen: string | null;
    liveness?: "alive" | "stale" | "lost";
    phase: string | null;
    desiredHash: string | null;
    appliedHash: string | null;
    inSync: boolean;
    status: NodeStatus | null;
  }[];
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function nodeYaml(def: NodeDef, address: string, token: string): string {
  const lines = [
    "kind: Node",
    `name: ${def.name}`,
    `address: ${address}`,
    `roles: [${def.roles.join(", ")}]`,
    `runtime: ${def.runtime ?? "process"}`,
    "portRange: [20000, 20199]",
    `tokenSha256: ${sha256(token)}`,
  ];
  if (def.labels && Object.keys(def.labels).length) {
    lines.push("labels:");
    for (const [k, v] of Object.entries(def.labels)) lines.push(`  ${k}: ${v}`);
  }
  if (def.extra) lines.push(def.extra.trimEnd());
  return `${lines.join("\n")}\n`;
}

/** A process app of app.mjs listening on every address of its node (the proxy is elsewhere). */
export function processApp(
  name: string,
  opts: {
    replicas?: number;
    reply?: string;
    extra?: string;
    env?: Record<string, string>;
    startPeriodSeconds?: number;
  } = {},
): string {
  const env = { LISTEN_HOST: "0.0.0.0", REPLY: opts.reply ?? name, ...opts.env };
  return [
    "kind: App",
    `name: ${name}`,
    `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(appScript)}]`,
    "port: 8080",
    `replicas: ${opts.replicas ?? 2}`,
    "env:",
    ...Object.entries(env).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    "health:",
    "  path: /healthz",
    "  intervalSeconds: 1",
    "  timeoutSeconds: 1",
    `  startPeriodSeconds: ${opts.startPeriodSeconds ?? 20}`,
    ...(opts.extra ? [opts.extra.trimEnd()] : []),
    "",
  ].join("\n");
}

/** An app of the busybox test image (test/helpers/podman.ts) on the podman worker wp. */
export const boxApp = (image: string, port: number): string =>
  [
    "kind: App",
    "name: box",
    `image: ${image}`,
    `port: ${port}`,
    "replicas: 2",
    "placement:",
    "  nodes: [wp]",
    "health:",
    "  path: /healthz",
    "  intervalSeconds: 1",
    "  timeoutSeconds: 1",
    "  startPeriodSeconds: 30",
    "",
  ].join("\n");

export const domainYaml = (host: string, app: string): string =>
  `kind: Domain\nhost: ${host}\napp: ${app}\ntls: "off"\n`;

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  logs: () => string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}\n${logs()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startBerthCluster(opts: ClusterOptions): Promise<BerthCluster> {
  const net = await createCluster("bm");
  let repo: TestRepo | undefined;
  let client: NsClient | undefined;
  try {
    const reconHost = await net.addHost("recon");
    const clientHost = await net.addHost("client");
    const nodes = new Map<string, BerthNode>();
    for (const def of opts.nodes) {
      const host = await net.addHost(def.name);
      const stateDir = join(host.dir, "state");
      mkdirSync(stateDir, { recursive: true });
      nodes.set(def.name, {
        def,
        host,
        token: randomBytes(24).toString("hex"),
        stateDir,
        logFile: join(host.dir, "agent.log"),
      });
      if (def.runtime === "podman") host.usePodmanStore();
    }
    const files: Record<string, string> = { "berth.yaml": "kind: Settings\nbranch: main\n", ...opts.files };
    for (const n of nodes.values())
      files[`nodes/${n.def.name}.yaml`] = nodeYaml(n.def, n.host.address, n.token);
    repo = await makeRepo(files);

    const adminToken = randomBytes(24).toString("hex");
    const adminFile = join(reconHost.dir, "admin.token");
    writeFileSync(adminFile, adminToken, { mode: 0o600 });
    const reconLog = join(reconHost.dir, "serve.log");
    // As docs/operating.md tells an operator: the reconciler serves HTTPS on its host's address
    // (a private CA here), agents and clients trust the CA, the read API needs the admin token.
    const certs = makeCerts(reconHost.dir, [reconHost.address]);
    const trust = { NODE_EXTRA_CA_CERTS: certs.ca };
    const url = `https://${reconHost.address}:7070`;
    const spawnLogged = (
      host: NetHost,
      logFile: string,
      args: string[],
      env: Record<string, string> = {},
    ) => {
      const fd = openSync(logFile, "a");
      try {
        host.spawn(process.execPath, cliArgs(args), {
          cwd: projectRoot,
          stdio: ["ignore", fd, fd],
          env: { ...process.env, NO_COLOR: "1", ...env },
        });
      } finally {
        closeSync(fd);
      }
    };
    spawnLogged(reconHost, reconLog, [
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      `${reconHost.address}:7070`,
      "--api-token-file",
      adminFile,
      "--tls-cert-file",
      certs.cert,
      "--tls-key-file",
      certs.key,
      ...(opts.serveArgs ?? []),
    ]);

    const caddyAdmin = "http://127.0.0.1:2019";
    const startAgent = (name: string): void => {
      const n = nodes.get(name);
      if (!n) throw new Error(`no node ${name}`);
      const tokenFile = join(n.host.dir, "agent.token");
      writeFileSync(tokenFile, n.token, { mode: 0o600 });
      const args = [
        "agent",
        "--node",
        name,
        "--url",
        url,
        "--token-file",
        tokenFile,
        "--state-dir",
        n.stateDir,
        "--poll-wait",
        String(opts.pollWait ?? 10),
      ];
      if (n.def.roles.includes("proxy"))
        args.push(
          "--caddy-admin",
          caddyAdmin,
          "--http-listen",
          `${n.host.address}:80`,
          "--https-listen",
          `${n.host.address}:443`,
        );
      spawnLogged(n.host, n.logFile, args, { ...trust, ...(n.host.podmanEnv ?? {}) });
    };

    // Caddy on every proxy node, with its admin API on the node's own loopback.
    for (const n of nodes.values()) {
      if (!n.def.roles.includes("proxy")) continue;
      const dir = join(n.host.dir, "caddy");
      mkdirSync(join(dir, "data"), { recursive: true });
      mkdirSync(join(dir, "config"), { recursive: true });
      const boot = join(dir, "boot.json");
      writeFileSync(
        boot,
        JSON.stringify({ admin: { listen: "127.0.0.1:2019", config: { persist: false } } }),
      );
      const fd = openSync(join(dir, "caddy.log"), "a");
      try {
        n.host.spawn("caddy", ["run", "--config", boot], {
          stdio: ["ignore", fd, fd],
          env: { ...process.env, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") },
        });
      } finally {
        closeSync(fd);
      }
    }
    for (const name of nodes.keys()) startAgent(name);
    client = await startNsClient(clientHost, trust);

    const logs = (): string => {
      const parts = [`--- serve (${reconLog}) ---\n${tail(reconLog)}`];
      for (const n of nodes.values())
        parts.push(`--- agent ${n.def.name} (${n.logFile}) ---\n${tail(n.logFile)}`);
      return parts.join("\n");
    };
    const c = client;
    const api = async <T>(path: string): Promise<T> => {
      const r = await c.get(`${url}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
      if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body) as T;
    };
    const nodesView = () => api<NodesView>("/v1/nodes");

    await waitFor("the reconciler to answer", () => nodesView().then(() => true), 60_000, logs);

    const bc: BerthCluster = {
      net,
      repo,
      recon: { host: reconHost, url, adminToken, adminTokenFile: adminFile, logFile: reconLog },
      nodes,
      client,
      clientHost,
      proxyUrl(node) {
        const p = node ? nodes.get(node) : [...nodes.values()].find((n) => n.def.roles.includes("proxy"));
        if (!p) throw new Error("no proxy node");
        return `http://${p.host.address}:80`;
      },
      api,
      nodesView,
      startAgent,
      async converged(commit, timeoutMs = 90_000, only) {
        return waitFor(
          `every node converged on ${commit.slice(0, 7)}`,
          async () => {
            const v = await nodesView();
            // A move or drain still under way is not the end of the commit's rollout.
            if (v.published.commit !== commit || (v.published.handoffs?.length ?? 0) > 0) return false;
            const want = only ?? [...nodes.keys()];
            const ok = want.every((name) => {
              const n = v.nodes.find((x) => x.node === name);
              return n?.inSync && n.phase === "converged";
            });
            return ok ? v : false;
          },
          timeoutMs,
          logs,
        );
      },
      logs,
      berth: (args, host = clientHost) =>
        host.run(process.execPath, cliArgs(args), {
          env: { ...process.env, NO_COLOR: "1", ...trust },
        }),
      async cleanup() {
        await c.close().catch(() => {});
        await net.cleanup();
        await repo?.cleanup();
      },
    };
    return bc;
  } catch (err) {
    await client?.close().catch(() => {});
    await net.cleanup();
    await repo?.cleanup();
    throw err;
  }
}
