// Who may see the operations page: the holder of the admin token (`--api-token-file`), either as
// `Authorization: Bearer <token>` (scripts) or through a session cookie got by posting the token
// to the login form once (browsers; see session.ts for the cookie's attributes and why). Without
// an admin token the page is as open as the read API. Login and logout live here.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken, sha256Hex, sha256HexEqual } from "../auth.js";
import type { ApiContext, LogFields } from "../http/context.js";
import { readBody } from "../http/respond.js";
import { redirect, sendHtml } from "./respond.js";
import { clearedCookie, SESSION_TTL_MS, sessionCookie, sessionFrom } from "./session.js";
import { loginBody } from "./views/errors.js";
import { page } from "./views/layout.js";

/** True when the request carries the admin token or a live session (or no token is configured). */
export function authorized(ctx: ApiContext, req: IncomingMessage): boolean {
  if (!ctx.apiTokenSha256) return true;
  const token = bearerToken(req.headers.authorization);
  // A wrong token is refused even beside a valid cookie, as on the read API.
  if (token) return sha256HexEqual(sha256Hex(token), ctx.apiTokenSha256);
  return ctx.sessions.valid(sessionFrom(req.headers.cookie), Date.now());
}

/** Whether the browser reached us over HTTPS (directly, or through a proxy that says so). */
function overTls(req: IncomingMessage): boolean {
  // A client that lies here only makes its own cookie Secure, which its browser then drops.
  const proto = String(req.headers["x-forwarded-proto"] ?? "")
    .split(",")[0]
    ?.trim();
  return Boolean((req.socket as { encrypted?: boolean }).encrypted) || proto === "https";
}

/** A same-site path to go back to after logging in; anything else becomes "/". */
export function safeNext(next: string | null | undefined): string {
  if (!next?.startsWith("/") || next.startsWith("//") || /[\\\u0000-\u001f]/.test(next)) return "/";
  return next.length > 2000 ? "/" : next;
}

/** A POST from another site's page (Origin present and not ours) is refused. */
function crossSite(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  if (origin === "null") return true;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export function loginPage(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  next: string,
  problem?: string,
): Promise<void> {
  return sendHtml(
    req,
    res,
    status,
    page({
      title: status === 401 ? "Log in" : "Log in",
      assets: { css: ctx.ui.assets.url("style.css"), js: ctx.ui.assets.url("live.js") },
      body: loginBody({ next, open: !ctx.apiTokenSha256, ...(problem ? { problem } : {}) }),
    }),
    status === 401 ? { "WWW-Authenticate": 'Bearer realm="berth"' } : {},
  );
}

export async function handleLogin(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  log: LogFields,
): Promise<void> {
  if (req.method !== "POST") return loginPage(ctx, req, res, 200, safeNext(query.get("next")));
  if (crossSite(req)) {
    log.result = "cross_site";
    return loginPage(ctx, req, res, 403, "/", "This login came from another site's page and was refused.");
  }
  const body = await readBody(req, 16 * 1024);
  if (!body.ok) {
    log.result = body.problem;
    return loginPage(ctx, req, res, 400, "/", "The login form could not be read; try again.");
  }
  const form = new URLSearchParams(body.body.toString("utf8"));
  const next = safeNext(form.get("next"));
  if (!ctx.apiTokenSha256) return redirect(res, next);
  const token = (form.get("token") ?? "").trim();
  if (!token || !sha256HexEqual(sha256Hex(token), ctx.apiTokenSha256)) {
    log.result = "unauthorized";
    return loginPage(
      ctx,
      req,
      res,
      401,
      next,
      token ? "That is not this reconciler's admin token." : "Enter the admin token.",
    );
  }
  const id = ctx.sessions.create(Date.now());
  log.result = "session";
  redirect(res, next, { "Set-Cookie": sessionCookie(id, overTls(req), SESSION_TTL_MS) });
}

export function handleLogout(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): void {
  if (!crossSite(req)) ctx.sessions.revoke(sessionFrom(req.headers.cookie));
  redirect(res, "/login", { "Set-Cookie": clearedCookie(overTls(req)) });
}
