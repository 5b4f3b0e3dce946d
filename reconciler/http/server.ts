// The reconciler's HTTP API on node:http: parses the listen address, routes each request, logs
// one line per request (method, path, status, duration, node/forge/delivery; never a token,
// signature or body) and closes cleanly, ending long-polls and event streams. The routes live in
// their own modules; this file only wires them.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer, type Server as TlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { defaultLivenessBounds } from "../../core/status/liveness.js";
import { sha256Hex } from "../auth.js";
import { NodeRequests } from "../channel/node-requests.js";
import type { ApiBackend } from "../contracts.js";
import type { EventBus } from "../events.js";
import { ContactBook } from "../liveness/contacts.js";
import { LogHub, type LogHubOptions } from "../logs/hub.js";
import { handleAppLogs } from "../logs/route.js";
import type { Metrics } from "../metrics.js";
import { RestartCoordinator, type RestartOptions } from "../restart/coordinator.js";
import { handleAppRestart } from "../restart/route.js";
import { handleLogin, handleLogout } from "../ui/auth.js";
import { browserNotFound, handleUi } from "../ui/pages.js";
import { Sessions } from "../ui/session.js";
import { createUi } from "../ui/ui.js";
import { DeliveryLog } from "../webhooks/dedupe.js";
import type { PullRequestEvent } from "../webhooks/parse.js";
import { handleLogUpload, handleRequestReport, handleRequests } from "./channel-routes.js";
import type { AlertsSource, ApiContext, Limits, LogFields, SeenTracker } from "./context.js";
import { handleEvents } from "./events-route.js";
import {
  apiBudget,
  type ConnectionBudget,
  fitToFdLimit,
  guardConnections,
  readFdLimit,
  serverOptions,
  webhookBudget,
} from "./guard.js";
import { parseListen } from "./listen.js";
import { TokenIndex } from "./node-auth.js";
import { handleDesired, handleStatus } from "./node-routes.js";
import { handleAlerts, handleHealthz, handleMetrics, handleNodes, handlePlan } from "./read-routes.js";
import { RefusalLog } from "./refusal-log.js";
import { MiB, sendError } from "./respond.js";
import { matchRoute, splitTarget } from "./router.js";
import { Turns } from "./turns.js";
import { handleWebhook } from "./webhook-route.js";

export type { PullRequestEvent } from "../webhooks/parse.js";

export interface ApiServerOptions {
  /** "HOST:PORT" ("127.0.0.1:7070"; port 0 picks a free one; "[::1]:7070" for IPv6). */
  listen: string;
  backend: ApiBackend & Partial<SeenTracker>;
  events: EventBus;
  /** One shared secret for every forge; without it every webhook is refused with 401. */
  webhooks?: { secret?: string };
  /** Same as webhooks.secret (the name the reconciler's brief uses). */
  webhookSecret?: string;
  /** Admin token for the read API (/v1/nodes, /v1/plan, /v1/events); open when absent. */
  apiToken?: string;
  metrics: Metrics;
  logger: Logger;
  /** Called (after the 202) for pull-request webhooks; without it they are acknowledged and ignored. */
  onPullRequest?: (e: PullRequestEvent) => void;
  limits?: Partial<Limits>;
  /** Timeouts of `berth logs` watches (tests shorten them). */
  logs?: Omit<LogHubOptions, "lastSeen" | "now">;
  /** Timeouts of `berth restart` (tests shorten them). */
  restarts?: Omit<RestartOptions, "lastSeen" | "now">;
  /** Connection budget of the main listener (default apiBudget). */
  budget?: Partial<ConnectionBudget>;
  /**
   * A second, public listener that serves only `POST /v1/webhooks/{forge}`, with its own budget
   * (default webhookBudget): a flood there cannot take the main listener's connections.
   */
  webhookListen?: string;
  webhookBudget?: Partial<ConnectionBudget>;
  /**
   * Serve HTTPS with this certificate (chain, PEM) and key. Agents send bearer tokens: beyond
   * this host the API must be reached over TLS (built in here, or a proxy on this host).
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** berth's own alerting, served at GET /v1/alerts (behind the admin token). */
  alerts?: AlertsSource;
}

export interface ApiServer {
  url: string;
  port: number;
  /** The webhook-only listener's URL, when one was asked for. */
  webhookUrl?: string;
  /** Uses a new certificate and key for new connections (cert renewal; `berth serve` on SIGHUP). */
  setTls(tls: { cert: string | Buffer; key: string | Buffer }): void;
  close(): Promise<void>;
}

const defaultLimits: Limits = {
  maxBodyBytes: MiB,
  maxWaitSeconds: 60,
  pollHoldMs: defaultLivenessBounds.pollHoldMs,
  sseHeartbeatMs: 15_000,
  wakeBatch: 50,
  bodyTimeoutMs: 10_000,
  maxWebhookBodies: 32,
};

type RouteSet = "all" | "webhooks";

async function dispatch(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogFields,
  routes: RouteSet,
): Promise<void> {
  const method = req.method ?? "GET";
  const { pathname, query } = splitTarget(req.url ?? "/");
  const match = matchRoute(method, pathname);
  // The public webhook listener serves nothing else (not even the operations page).
  if (routes === "webhooks" && !(match.kind === "route" && match.route === "webhook"))
    return sendError(res, 404, `no route ${method} ${pathname}`);
  if (match.kind === "not_found") {
    if (wantsHtml(req)) return browserNotFound(ctx, req, res, pathname);
    return sendError(res, 404, `no route ${method} ${pathname}`);
  }
  if (match.kind === "method_not_allowed") {
    return sendError(
      res,
      405,
      `${method} is not allowed on ${pathname}; use ${match.allow.join(" or ")}`,
      {},
      { Allow: match.allow.join(", ") },
    );
  }
  log.route = match.route;
  const p = match.params;
  switch (match.route) {
    case "healthz":
      return handleHealthz(ctx, res);
    case "metrics":
      return handleMetrics(ctx, res);
    case "nodes":
      return handleNodes(ctx, req, res, log);
    case "desired":
      return handleDesired(ctx, req, res, p.node as string, query, log);
    case "status":
      return handleStatus(ctx, req, res, p.node as string, log);
    case "webhook":
      return handleWebhook(ctx, req, res, p.forge as string, log);
    case "plan":
      return handlePlan(ctx, req, res, query, log);
    case "events":
      return handleEvents(ctx, req, res, query, log);
    case "requests":
      return handleRequests(ctx, req, res, p.node as string, log);
    case "log-upload":
      return handleLogUpload(ctx, req, res, p.node as string, p.id as string, log);
    case "app-logs":
      return handleAppLogs(ctx, req, res, p.app as string, query, log);
    case "request-report":
      return handleRequestReport(ctx, req, res, p.node as string, p.id as string, log);
    case "app-restart":
      return handleAppRestart(ctx, req, res, p.app as string, query, log);
    case "alerts":
      return handleAlerts(ctx, req, res, log);
    case "ui-login":
      return handleLogin(ctx, req, res, query, log);
    case "ui-logout":
      return handleLogout(ctx, req, res);
    default:
      await handleUi(ctx, match.route, req, res, p, query, req.url ?? "/", log);
  }
}

/** A browser navigating (it asks for HTML first), as opposed to an API client. */
function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? "";
  return req.method === "GET" && accept.includes("text/html");
}

function logRequest(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  started: number,
  log: LogFields,
) {
  const line = {
    method: req.method,
    path: splitTarget(req.url ?? "/").pathname,
    status: res.statusCode,
    ms: Math.round((performance.now() - started) * 10) / 10,
    ...log,
  };
  ctx.metrics.httpRequests.inc({ route: String(log.route ?? "none"), code: String(res.statusCode) });
  // Refusals can be caused by anyone: bounded (RefusalLog). 503 here is "busy", not our failure.
  const refused = [401, 403, 408, 413, 503].includes(res.statusCode) || log.result === "bad_request";
  if (refused) ctx.refusals.warn(line, log.route === "webhook" ? "webhook refused" : "request refused");
  else if (res.statusCode >= 500) ctx.logger.error(line, "request failed");
  else if (log.route === "webhook") ctx.logger.info(line, "webhook");
  else ctx.logger.debug(line, "request");
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  parseListen(opts.listen);
  if (opts.webhookListen) parseListen(opts.webhookListen);
  const requests = new NodeRequests();
  const contacts = opts.backend.contacts ?? new ContactBook();
  const ctx: ApiContext = {
    backend: opts.backend,
    events: opts.events,
    metrics: opts.metrics,
    logger: opts.logger,
    limits: {
      ...defaultLimits,
      ...(opts.backend.livenessBounds ? { pollHoldMs: opts.backend.livenessBounds().pollHoldMs } : {}),
      ...opts.limits,
    },
    webhookSecret: opts.webhooks?.secret || opts.webhookSecret || undefined,
    apiTokenSha256: opts.apiToken ? sha256Hex(opts.apiToken) : undefined,
    onPullRequest: opts.onPullRequest,
    deliveries: new DeliveryLog(10_000),
    tokens: new TokenIndex(opts.backend),
    contacts,
    wakeTurns: new Turns(opts.limits?.wakeBatch ?? defaultLimits.wakeBatch),
    closers: new Set(),
    requests,
    logs: new LogHub(requests, { ...opts.logs, lastSeen: (node) => contacts.lastSeen(node, Date.now()) }),
    restarts: new RestartCoordinator(opts.backend, requests, opts.events, {
      ...opts.restarts,
      lastSeen: (node) => contacts.lastSeen(node, Date.now()),
    }),
    webhookBodies: 0,
    refusals: new RefusalLog(opts.logger),
    alerts: opts.alerts,
    sessions: new Sessions(),
    ui: await createUi(opts.events, opts.backend),
  };
  const unobserve = opts.events.subscribe((e) => opts.metrics.observeEvent(e));

  // Responses still being worked on; when closing they get `Connection: close` so their sockets
  // end with them instead of idling until the forced close.
  const active = new Set<ServerResponse>();
  let closingNow = false;
  const handler = (routes: RouteSet) => (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const log: LogFields = {};
    if (closingNow) res.setHeader("Connection", "close");
    active.add(res);
    res.once("close", () => {
      active.delete(res);
      logRequest(ctx, req, res, started, log);
    });
    dispatch(ctx, req, res, log, routes).catch((err: unknown) => {
      ctx.logger.error(
        { path: splitTarget(req.url ?? "/").pathname, err: (err as Error)?.stack ?? String(err) },
        "request handler crashed (this is a bug)",
      );
      if (!res.headersSent) sendError(res, 500, "internal error (this is a bug; see the reconciler's log)");
      else res.destroy();
    });
  };
  const open = async (listen: string, routes: RouteSet, budget: ConnectionBudget, name: string) => {
    const { host, port } = parseListen(listen);
    const options = serverOptions(budget);
    // The TLS handshake comes before node's header deadline starts: it gets the same bound
    // (node's default is 120 s, room for a slow-handshake flood).
    const server: Server | TlsServer = opts.tls
      ? createTlsServer(
          { ...options, cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: budget.headersTimeoutMs },
          handler(routes),
        )
      : createServer(options, handler(routes));
    guardConnections(server, budget, name, opts.logger, {
      refused: (reason) => opts.metrics.connectionsRefused.inc({ listener: name, reason }),
      opened: () => opts.metrics.connectionsOpen.inc({ listener: name }),
      closed: () => opts.metrics.connectionsOpen.dec({ listener: name }),
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    const scheme = opts.tls ? "https" : "http";
    return { server, port: bound, url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${bound}` };
  };

  // Both listeners' connections must fit under the open-file limit with room for git and files.
  const wanted = [{ ...apiBudget, ...opts.budget }];
  if (opts.webhookListen) wanted.push({ ...webhookBudget, ...opts.webhookBudget });
  const fdLimit = readFdLimit((p) => readFileSync(p, "utf8"));
  const fitted = fitToFdLimit(wanted, fdLimit);
  if (fitted.lowered) {
    opts.logger.warn(
      { fdLimit, maxConnections: fitted.budgets.map((b) => b.maxConnections) },
      "the open-file limit is low for the connection caps; caps lowered to fit (raise LimitNOFILE / ulimit -n)",
    );
  }
  const [apiFit, hooksFit] = fitted.budgets as [ConnectionBudget, ConnectionBudget | undefined];
  const servers: (Server | TlsServer)[] = [];
  let main: Awaited<ReturnType<typeof open>>;
  let hooks: Awaited<ReturnType<typeof open>> | undefined;
  try {
    main = await open(opts.listen, "all", apiFit, "api");
    servers.push(main.server);
    if (opts.webhookListen && hooksFit) {
      hooks = await open(opts.webhookListen, "webhooks", hooksFit, "webhooks");
      servers.push(hooks.server);
    }
  } catch (err) {
    unobserve();
    for (const s of servers) s.close();
    throw err;
  }
  const { url, port: bound } = main;
  opts.logger.info(
    {
      url,
      ...(hooks ? { webhookUrl: hooks.url } : {}),
      tls: opts.tls !== undefined,
      webhooks: ctx.webhookSecret !== undefined,
      readApiProtected: ctx.apiTokenSha256 !== undefined,
    },
    "API listening",
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    port: bound,
    ...(hooks ? { webhookUrl: hooks.url } : {}),
    setTls(tls) {
      for (const server of servers) {
        if (!("setSecureContext" in server)) throw new Error("this server was started without TLS");
        server.setSecureContext({ cert: tls.cert, key: tls.key });
      }
    },
    close() {
      closing ??= (async () => {
        unobserve();
        ctx.restarts.close();
        ctx.ui.close();
        closingNow = true;
        for (const res of active) if (!res.headersSent) res.setHeader("Connection", "close");
        const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        // Long-polls answer 304 now and event streams end, so agents reconnect elsewhere at once.
        for (const stop of [...ctx.closers]) stop();
        for (const server of servers) {
          server.closeIdleConnections();
          const force = setTimeout(() => server.closeAllConnections(), 2_000);
          force.unref();
        }
        await Promise.all(closed);
      })();
      return closing;
    },
  };
}
