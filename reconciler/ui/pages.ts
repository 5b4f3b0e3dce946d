// The operations page's routes: Overview (/), App (/apps/{app}), Node (/nodes/{node}), History (/history,
// /history/{generation}), the fragments the live script fetches (/ui/fragments/…) and the static
// assets. Each handler gathers the state, asks core/views/ops for the view-model and renders it.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type AppRow,
  appPage,
  type GenerationInput,
  generationRow,
  historyRows,
  nodePage,
  type OverviewFilter,
  overviewOf,
} from "../../core/views/ops/index.js";
import type { HistoryBackend } from "../contracts.js";
import type { ApiContext, LogFields } from "../http/context.js";
import { authorized, loginPage } from "./auth.js";
import type { Html } from "./html.js";
import { opsInput } from "./ops-input.js";
import { sendHtml } from "./respond.js";
import { sessionFrom } from "./session.js";
import { appBody, appMain } from "./views/app.js";
import { notFoundBody } from "./views/errors.js";
import { generationBody, historyBody, historyTable } from "./views/history.js";
import { type PageOptions, page } from "./views/layout.js";
import { nodeBody, nodeMain } from "./views/node.js";
import { overviewBody, overviewFragment } from "./views/overview.js";

const HISTORY_PAGE = 50;

type Handler = (
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  query: URLSearchParams,
) => Promise<void>;

function history(ctx: ApiContext): Partial<HistoryBackend> {
  return ctx.backend as Partial<HistoryBackend>;
}

/** Whether logs can be streamed (GET /v1/apps/{app}/logs, reconciler/logs); else the page says where. */
function logsAvailable(ctx: ApiContext): boolean {
  return ctx.logs !== undefined;
}

function render(ctx: ApiContext, req: IncomingMessage, o: Omit<PageOptions, "assets" | "session">): Html {
  return page({
    ...o,
    assets: { css: ctx.ui.assets.url("style.css"), js: ctx.ui.assets.url("live.js") },
    session: ctx.apiTokenSha256 !== undefined && sessionFrom(req.headers.cookie) !== undefined,
    eventId: ctx.events.latestId(),
  });
}

function notFound(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  what: string,
  back = { href: "/", label: "Overview" },
): Promise<void> {
  return sendHtml(
    req,
    res,
    404,
    render(ctx, req, { title: "Not found", nav: null, body: notFoundBody(what, back) }),
  );
}

function filterOf(query: URLSearchParams): OverviewFilter {
  const q = query.get("q")?.slice(0, 200);
  return { ...(q ? { q } : {}), ...(query.get("attention") === "1" ? { attention: true } : {}) };
}

function pagingOf(query: URLSearchParams): { page?: number; perPage?: number } {
  const page = Number(query.get("page"));
  const per = Number(query.get("per"));
  return {
    ...(Number.isInteger(page) && page > 0 ? { page } : {}),
    ...(Number.isInteger(per) && per > 0 ? { perPage: per } : {}),
  };
}

const overviewPage: Handler = async (ctx, req, res, _p, query) => {
  await ctx.ui.tracker.refreshDeploys();
  const now = Date.now();
  const input = opsInput(ctx, ctx.ui.tracker, now);
  const m = overviewOf(ctx.ui.rows.rows(input), input, filterOf(query), pagingOf(query));
  const title = m.counts.appsAttention > 0 ? `(${m.counts.appsAttention}) Overview` : "Overview";
  await sendHtml(
    req,
    res,
    200,
    render(ctx, req, { title, nav: "overview", live: "overview", body: overviewBody(m, now) }),
  );
};

/** Apps whose plan entries are in generation `n` (read from the desired branch). */
async function appsOfGeneration(
  ctx: ApiContext,
  n: number,
): Promise<{ apps: Set<string>; nodes: Set<string> }> {
  const apps = new Set<string>();
  const nodes = new Set<string>();
  const g =
    ctx.ui.tracker.recent.find((r) => r.generation === n) ??
    (await history(ctx)
      .readGeneration?.(n)
      .catch(() => null));
  for (const r of g?.plan?.resources ?? []) if (r.kind === "App") apps.add(r.name);
  for (const nc of g?.plan?.nodes ?? []) {
    nodes.add(nc.node);
    for (const w of nc.workloads) apps.add(w.app);
  }
  return { apps, nodes };
}

const overviewFragmentRoute: Handler = async (ctx, req, res, _p, query) => {
  await ctx.ui.tracker.refreshDeploys();
  const now = Date.now();
  const input = opsInput(ctx, ctx.ui.tracker, now);
  const all = ctx.ui.rows.rows(input);
  const m = overviewOf(all, input, filterOf(query), pagingOf(query));
  if (query.get("full") === "1") {
    return sendHtml(req, res, 200, overviewFragment(m, m.apps, m.nodes, [], now, true));
  }
  const wantNodes = new Set((query.get("nodes") ?? "").split(",").filter((n) => n !== ""));
  const wantApps = new Set<string>();
  const gen = Number(query.get("generation"));
  if (Number.isInteger(gen) && gen > 0) {
    const changed = await appsOfGeneration(ctx, gen);
    for (const a of changed.apps) wantApps.add(a);
    for (const n of changed.nodes) wantNodes.add(n);
  }
  for (const n of input.nodes)
    if (wantNodes.has(n.node)) for (const w of n.desired?.workloads ?? []) wantApps.add(w.app);
  const rows: AppRow[] = all.apps.filter((a) => wantApps.has(a.app));
  const found = new Set(rows.map((r) => r.app));
  const gone = [...wantApps].filter((a) => !found.has(a));
  const nodes = all.nodes.filter((n) => wantNodes.has(n.node));
  await sendHtml(req, res, 200, overviewFragment(m, rows, nodes, gone, now, false));
};

async function appModel(ctx: ApiContext, app: string) {
  await ctx.ui.tracker.refreshDeploys();
  const now = Date.now();
  const m = appPage(
    app,
    opsInput(ctx, ctx.ui.tracker, now),
    ctx.ui.tracker.operations,
    ctx.ui.tracker.recent,
  );
  return { m, now };
}

const appRoute: Handler = async (ctx, req, res, p) => {
  const app = p.app as string;
  const { m, now } = await appModel(ctx, app);
  if (!m)
    return notFound(
      ctx,
      req,
      res,
      `No app named “${app}” is published, and no recent generation changed one.`,
    );
  await sendHtml(
    req,
    res,
    200,
    render(ctx, req, {
      title: `App ${app}`,
      nav: null,
      live: `app:${app}`,
      body: appBody(m, now, { available: logsAvailable(ctx) }),
    }),
  );
};

const appFragmentRoute: Handler = async (ctx, req, res, p) => {
  const { m, now } = await appModel(ctx, p.app as string);
  if (!m) {
    res.writeHead(404, { "Content-Length": "0", "Cache-Control": "no-store" });
    res.end();
    return;
  }
  await sendHtml(req, res, 200, appMain(m, now, { available: logsAvailable(ctx) }));
};

function nodeModel(ctx: ApiContext, node: string) {
  const now = Date.now();
  return { m: nodePage(node, opsInput(ctx, ctx.ui.tracker, now)), now };
}

const nodeRoute: Handler = async (ctx, req, res, p) => {
  const node = p.node as string;
  const { m, now } = nodeModel(ctx, node);
  if (!m) return notFound(ctx, req, res, `No node named “${node}” is in the published config.`);
  await sendHtml(
    req,
    res,
    200,
    render(ctx, req, { title: `Node ${node}`, nav: null, live: `node:${node}`, body: nodeBody(m, now) }),
  );
};

const nodeFragmentRoute: Handler = async (ctx, req, res, p) => {
  const { m, now } = nodeModel(ctx, p.node as string);
  if (!m) {
    res.writeHead(404, { "Content-Length": "0", "Cache-Control": "no-store" });
    res.end();
    return;
  }
  await sendHtml(req, res, 200, nodeMain(m, now));
};

async function generationsPage(
  ctx: ApiContext,
  before: number | undefined,
): Promise<GenerationInput[] | null> {
  const h = history(ctx);
  if (!h.readGenerations) return null;
  return h.readGenerations({ limit: HISTORY_PAGE, ...(before !== undefined ? { before } : {}) });
}

function plansOf(gens: readonly GenerationInput[]): Map<number, GenerationInput["plan"]> {
  return new Map(gens.map((g) => [g.generation, g.plan]));
}

const historyRoute: Handler = async (ctx, req, res, _p, query) => {
  const b = Number(query.get("before"));
  const before = Number.isInteger(b) && b > 0 ? b : undefined;
  const gens = await generationsPage(ctx, before);
  const now = Date.now();
  const current = ctx.backend.published().generation;
  const rows = historyRows(gens ?? [], current, history(ctx).forgeWeb?.() ?? null);
  const last = rows.at(-1)?.generation;
  const next = rows.length === HISTORY_PAGE && last !== undefined && last > 1 ? last : null;
  await sendHtml(
    req,
    res,
    200,
    render(ctx, req, {
      title: "History",
      nav: "history",
      live: "history",
      body: historyBody(rows, now, { before: before ?? null, next }),
    }),
  );
};

const historyFragmentRoute: Handler = async (ctx, req, res) => {
  const gens = (await generationsPage(ctx, undefined)) ?? [];
  const rows = historyRows(gens, ctx.backend.published().generation, history(ctx).forgeWeb?.() ?? null);
  await sendHtml(req, res, 200, historyTable(rows, Date.now(), plansOf(gens)));
};

const generationRoute: Handler = async (ctx, req, res, p) => {
  const raw = p.generation as string;
  const n = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : Number.NaN;
  const back = { href: "/history", label: "History" };
  if (!Number.isSafeInteger(n)) return notFound(ctx, req, res, `“${raw}” is not a generation number.`, back);
  const g = (await history(ctx).readGeneration?.(n)) ?? null;
  if (!g) return notFound(ctx, req, res, `Generation #${n} is not on the desired branch.`, back);
  const row = generationRow(g, ctx.backend.published().generation, history(ctx).forgeWeb?.() ?? null);
  await sendHtml(
    req,
    res,
    200,
    render(ctx, req, { title: `Generation #${n}`, nav: "history", body: generationBody(g, row, Date.now()) }),
  );
};

const pages: Record<string, Handler> = {
  "ui-overview": overviewPage,
  "ui-app": appRoute,
  "ui-node": nodeRoute,
  "ui-history": historyRoute,
  "ui-generation": generationRoute,
};
const fragments: Record<string, Handler> = {
  "ui-fragment-overview": overviewFragmentRoute,
  "ui-fragment-app": appFragmentRoute,
  "ui-fragment-node": nodeFragmentRoute,
  "ui-fragment-history": historyFragmentRoute,
};

/** Dispatches a UI route (the router's "ui-…" names); false when `route` is not one. */
export async function handleUi(
  ctx: ApiContext,
  route: string,
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  query: URLSearchParams,
  target: string,
  log: LogFields,
): Promise<boolean> {
  if (route === "ui-asset") {
    if (!ctx.ui.assets.serve(req, res, params.name as string, query.get("v")))
      await notFound(ctx, req, res, "No such file.");
    return true;
  }
  const pageHandler = pages[route];
  const fragmentHandler = fragments[route];
  if (!pageHandler && !fragmentHandler) return false;
  if (!authorized(ctx, req)) {
    log.result = "unauthorized";
    if (fragmentHandler) {
      res.writeHead(401, { "Content-Length": "0", "Cache-Control": "no-store" });
      res.end();
    } else await loginPage(ctx, req, res, 401, target);
    return true;
  }
  await (pageHandler ?? (fragmentHandler as Handler))(ctx, req, res, params, query);
  return true;
}

/** The 404 page of an unknown path asked for by a browser (API clients keep their JSON 404). */
export function browserNotFound(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  return notFound(ctx, req, res, `There is no page at ${path}.`);
}
