// The reconciler's HTTP API on node:http: parses the listen address, routes each request, logs
// one line per request (method, path, status, duration, node/forge/delivery; never a token,
// signature or body) and closes cleanly, ending long-polls and event streams. The routes live in
// their own modules; this file only wires them.
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
import { parseListen } from "./listen.js";
import { TokenIndex } from "./node-auth.js";
import { handleDesired, handleStatus } from "./node-routes.js";
import { handleAlerts, handleHealthz, handleMetrics, handleNodes, handlePlan } from "./read-routes.js";
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
};

async function dispatch(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogFields,
): Promise<void> {
  const method = req.method ?? "GET";
  const { pathname, query } = splitTarget(req.url ?? "/");
  const match = matchRoute(method, pathname);
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
  if (res.statusCode >= 500) ctx.logger.error(line, "request failed");
  else if (log.route === "webhook") ctx.logger.info(line, "webhook");
  else if (res.statusCode === 401 || res.statusCode === 403) ctx.logger.warn(line, "request refused");
  else ctx.logger.debug(line, "request");
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = parseListen(opts.listen);
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
    alerts: opts.alerts,
    sessions: new Sessions(),
    ui: await createUi(opts.events, opts.backend),
  };
  const unobserve = opts.events.subscribe((e) => opts.metrics.observeEvent(e));

  // Responses still being worked on; when closing they get `Connection: close` so their sockets
  // end with them instead of idling until the forced close.
  const active = new Set<ServerResponse>();
  let closingNow = false;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const log: LogFields = {};
    if (closingNow) res.setHeader("Connection", "close");
    active.add(res);
    res.once("close", () => {
      active.delete(res);
      logRequest(ctx, req, res, started, log);
    });
    dispatch(ctx, req, res, log).catch((err: unknown) => {
      ctx.logger.error(
        { path: splitTarget(req.url ?? "/").pathname, err: (err as Error)?.stack ?? String(err) },
        "request handler crashed (this is a bug)",
      );
      if (!res.headersSent) sendError(res, 500, "internal error (this is a bug; see the reconciler's log)");
      else res.destroy();
    });
  };
  const server: Server | TlsServer = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
    : createServer(handler);
  // Agents keep their connection between long-polls; keep it a little longer than Node's 5 s.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${bound}`;
  opts.logger.info(
    {
      url,
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
    setTls(tls) {
      if (!("setSecureContext" in server)) throw new Error("this server was started without TLS");
      server.setSecureContext({ cert: tls.cert, key: tls.key });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        unobserve();
        ctx.restarts.close();
        ctx.ui.close();
        closingNow = true;
        for (const res of active) if (!res.headersSent) res.setHeader("Connection", "close");
        server.close(() => resolve());
        // Long-polls answer 304 now and event streams end, so agents reconnect elsewhere at once.
        for (const stop of [...ctx.closers]) stop();
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 2_000);
        force.unref();
      });
      return closing;
    },
  };
}
