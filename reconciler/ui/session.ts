// Browser sessions for the operations page. A person proves they hold the admin token once (the
// login form); the server answers with a random session id in a cookie that scripts cannot read
// (HttpOnly), that no other site's page can make the browser send (SameSite=Strict) and that
// travels only over HTTPS when the page was reached over HTTPS (Secure). Only a SHA-256 of each
// id is kept, in memory: a restart or a logout ends sessions, and the token is never stored in
// the browser. Pure apart from random bytes and the clock passed in.
import { randomBytes } from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import { sha256Hex } from "../auth.js";

export const SESSION_COOKIE = "berth_session";
export const SESSION_TTL_MS = 12 * 3600 * 1000;

export class Sessions {
  /** sha256(id) → expiry (ms epoch), oldest first. */
  private readonly live = new Map<string, number>();

  constructor(
    private readonly ttlMs = SESSION_TTL_MS,
    private readonly max = 1000,
  ) {}

  create(now: number): string {
    const id = randomBytes(32).toString("base64url");
    this.live.set(sha256Hex(id), now + this.ttlMs);
    // Past the cap the oldest session ends: logging in again costs a person little.
    while (this.live.size > this.max) this.live.delete(this.live.keys().next().value as string);
    return id;
  }

  valid(id: string | undefined, now: number): boolean {
    if (!id) return false;
    const key = sha256Hex(id);
    const expires = this.live.get(key);
    if (expires === undefined) return false;
    if (expires <= now) {
      this.live.delete(key);
      return false;
    }
    return true;
  }

  revoke(id: string | undefined): void {
    if (id) this.live.delete(sha256Hex(id));
  }

  get size(): number {
    return this.live.size;
  }
}

/** The session id in a Cookie header, if any. */
export function sessionFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  try {
    return parseCookie(cookieHeader)[SESSION_COOKIE] || undefined;
  } catch {
    return undefined;
  }
}

export function sessionCookie(id: string, secure: boolean, ttlMs = SESSION_TTL_MS): string {
  return stringifySetCookie(SESSION_COOKIE, id, {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/",
    maxAge: Math.floor(ttlMs / 1000),
  });
}

export function clearedCookie(secure: boolean): string {
  return stringifySetCookie(SESSION_COOKIE, "", {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/",
    maxAge: 0,
  });
}
