// Single-host mode: the reconciler, its API, a local agent and (when installed) a Caddy owned by
// berth, in one process. The agent's token is made up in memory for this run, so there is nothing
// to copy; the node is the one the repo names; its age identity (for apps with secrets) is the
// file --identity-file names or <state-dir>/identity (./identity.ts). Used by `berth up`, the demo, e2e tests and benches.

import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { type AgentEvent, type RunningAgent, startAgent } from "../../agent/index.js";
import { type RunningCaddy, startCaddy } from "../../agent/ingress/caddy-process.js";
import { createAlerting } from "../../reconciler/alerts/wire.js";
import { sha256Hex } from "../../reconciler/auth.js";
import type { ApiBackend, BerthEvent } from "../../reconciler/contracts.js";
import { EventBus } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { createReconciler, type Reconciler } from "../../reconciler/reconciler.js";
import { loadWorktree } from "../../reconciler/repo/load.js";
import { UserError } from "../errors.js";
import { upIdentity } from "./identity.js";

export interface SingleHostOptions {
  repo: string;
  /** Node to run as; default: the only node of the repo. */
  node?: string;
  /** API listen address (default 127.0.0.1:7070; port 0 picks one). */
  listen: string;
  stateDir: string;
  httpListen: string;
  httpsListen: string;
  /** "auto": start Caddy when the node is a proxy and `caddy` is installed. */
  caddy: "auto" | "off";
  logger: Logger;
  onAgentEvent?: (e: AgentEvent) => void;
  onEvent?: (e: BerthEvent) => void;
  /** Printed once when ingress is off, with the reason. */
  onNotice?: (message: string) => void;
  pollWaitSeconds?: number;
  /** Host address container ports are published on (default: all interfaces; tests use 127.0.0.1). */
  publishAddress?: string;
  /** Entries of the alert secrets file (berth.yaml's alert receivers name them). */
  alertSecrets?: ReadonlyMap<string, string>;
  /** The node's age identity file (--identity-file); default <stateDir>/identity (cli/up/identity.ts). */
  identityFile?: string;
}

export interface SingleHost {
  node: string;
  url: string;
  reconciler: Reconciler;
  agent: RunningAgent;
  caddy: RunningCaddy | null;
  events: EventBus;
  /** The file the agent takes the node's age identity from (it may not exist yet). */
  identityFile: string;
  /**
   * Stops the agent, API, reconciler and the Caddy berth started; workloads too unless keepRunning
   * (they are adopted again by the next start, without restarts).
   */
  stop(opts?: { keepRunning?: boolean }): Promise<void>;
}

export interface PickedNode {
  name: string;
  proxy: boolean;
  /** Its file in the repo (nodes/<name>.yaml). */
  file: string;
  recipient?: string;
  /** Whether the repo has encrypted secrets (secrets/*.yaml). */
  repoHasSecrets: boolean;
}

export async function pickNode(repo: string, wanted?: string): Promise<PickedNode> {
  const load = await loadWorktree(repo);
  const entries = load.config.nodes;
  const nodes = entries.map((n) => n.spec);
  const picked = (i: number): PickedNode => {
    const e = entries[i]!;
    return {
      name: e.spec.name,
      proxy: e.spec.roles.includes("proxy"),
      file: e.origin.file,
      ...(e.spec.recipient ? { recipient: e.spec.recipient } : {}),
      repoHasSecrets: load.config.secrets.length > 0,
    };
  };
  if (wanted) {
    const i = nodes.findIndex((x) => x.name === wanted);
    if (i < 0)
      throw new UserError(
        `node ${wanted} is not in ${repo}`,
        `nodes: ${nodes.map((x) => x.name).join(", ") || "none"}`,
      );
    return picked(i);
  }
  if (nodes.length === 1) return picked(0);
  if (nodes.length === 0) {
    throw new UserError(
      `${repo} has no node`,
      "add one: berth node add local --address 127.0.0.1 --role proxy",
    );
  }
  throw new UserError(
    `${repo} has ${nodes.length} nodes; berth up runs one of them`,
    `pick it with --node (${nodes.map((x) => x.name).join(", ")})`,
  );
}

export async function startSingleHost(opts: SingleHostOptions): Promise<SingleHost> {
  const picked = await pickNode(opts.repo, opts.node);
  const { name: node, proxy } = picked;
  // Before anything starts: a named identity file that cannot be read stops berth up here.
  const identity = await upIdentity({
    stateDir: opts.stateDir,
    ...(opts.identityFile ? { flag: opts.identityFile } : {}),
    node,
    nodeFile: picked.file,
    ...(picked.recipient ? { recipient: picked.recipient } : {}),
    repoHasSecrets: picked.repoHasSecrets,
  });
  for (const n of identity.notices) opts.onNotice?.(n);
  const events = new EventBus();
  if (opts.onEvent) events.subscribe(opts.onEvent);
  const metrics = createMetrics();
  // berth's own alerts, as `berth serve` has them (docs/alerts.md).
  const alerting = createAlerting({
    events,
    metrics,
    logger: opts.logger,
    secrets: opts.alertSecrets ?? new Map(),
    owner: `${hostname()}:${opts.repo}`,
    userAgent: "berth-alerts",
  });
  const reconciler = await createReconciler({
    repoDir: opts.repo,
    events,
    logger: opts.logger,
    observers: [metrics, alerting.observer],
    extraRoles: alerting.extraRoles,
    onConfig: (s) => alerting.service.configure(s),
  });
  const token = randomBytes(32).toString("hex");
  const tokenHash = sha256Hex(token);
  const backend = withLocalToken(reconciler, node, tokenHash);

  const started: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const fn of started.reverse()) await fn().catch(() => {});
  };
  try {
    const api: ApiServer = await startApiServer({
      listen: opts.listen,
      backend,
      events,
      metrics,
      logger: opts.logger,
      alerts: alerting.service,
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL") {
        throw new UserError(
          `cannot listen on ${opts.listen} for the API: ${err.code === "EADDRINUSE" ? "another program uses that address" : err.message}`,
          "pick another address with --listen (port 0 picks a free one)",
        );
      }
      throw err;
    });
    started.push(() => api.close());
    await reconciler.start();
    started.push(() => reconciler.stop());
    await alerting.service.start(reconciler, reconciler.branches());
    started.push(() => alerting.close());
    // Let the first publish land before the agent asks: it then gets its document on the first
    // request instead of a 404 and a retry a second later.
    await reconciler.idle();

    let caddy: RunningCaddy | null = null;
    if (opts.caddy === "off")
      opts.onNotice?.("ingress is off (--no-caddy): apps are reachable on their host ports only");
    else if (!proxy) opts.onNotice?.(`node ${node} has no proxy role: no ingress on this host`);
    else {
      // Caddy would retry a busy address forever; say it now, with the flag that moves it.
      await assertFree(opts.httpListen, "--http-listen");
      await assertFree(opts.httpsListen, "--https-listen");
      try {
        caddy = await startCaddy({ dir: join(opts.stateDir, "caddy") });
        const owned = caddy;
        started.push(() => owned.stop());
      } catch (err) {
        const missing = /ENOENT|is Caddy installed/.test((err as Error).message);
        opts.onNotice?.(
          missing
            ? "Caddy is not installed: no ingress (apps are reachable on their host ports; apt-get install caddy to route domains)"
            : `Caddy did not start, no ingress: ${(err as Error).message.split("\n")[0]}`,
        );
      }
    }

    const agentOpts: Parameters<typeof startAgent>[0] = {
      node,
      url: api.url,
      token,
      stateDir: join(opts.stateDir, "agent"),
      baseDir: opts.repo,
      httpListen: opts.httpListen,
      httpsListen: opts.httpsListen,
      logger: opts.logger,
      identityFile: identity.file,
    };
    if (caddy) agentOpts.caddyAdmin = caddy.adminUrl;
    if (opts.onAgentEvent) agentOpts.onEvent = opts.onAgentEvent;
    if (opts.pollWaitSeconds !== undefined) agentOpts.pollWaitSeconds = opts.pollWaitSeconds;
    if (opts.publishAddress !== undefined) agentOpts.publishAddress = opts.publishAddress;
    const agent = await startAgent(agentOpts);

    return {
      node,
      url: api.url,
      reconciler,
      agent,
      caddy,
      events,
      identityFile: identity.file,
      async stop(stopOpts = {}) {
        await agent.stop({ stopWorkloads: !stopOpts.keepRunning });
        await undo();
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** The reconciler as the API sees it, with this run's in-memory token for the local node. */
function withLocalToken(reconciler: Reconciler, node: string, hash: string): Reconciler {
  return new Proxy(reconciler, {
    get(target, prop, receiver) {
      if (prop === "tokenSha256") return (n: string) => (n === node ? hash : target.tokenSha256(n));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Reconciler & ApiBackend;
}

/** Throws a UserError when another program listens on `listen` (":80", "127.0.0.1:8080"). */
async function assertFree(listen: string, flag: string): Promise<void> {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "") || undefined;
  const port = Number(listen.slice(colon + 1));
  if (!Number.isInteger(port))
    throw new UserError(`${flag} ${listen} is not HOST:PORT`, `e.g. ${flag} 127.0.0.1:8080`);
  const problem = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e));
    s.listen(port, host, () => s.close(() => resolve(null)));
  });
  if (problem?.code === "EADDRINUSE")
    throw new UserError(
      `${flag} ${listen} is in use by another program`,
      `stop it, or pick another address with ${flag}`,
    );
  if (problem?.code === "EACCES")
    throw new UserError(
      `${flag} ${listen} needs privileges berth up does not have`,
      `run as root, or use a port above 1023 with ${flag}`,
    );
}
