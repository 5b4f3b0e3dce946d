// The one HTTP path to a forge API: undici with keep-alive, auth and User-Agent headers, JSON in and
// out, and retries of idempotent calls as retry.ts decides. It does not know any endpoint; the
// per-forge modules (github.ts, gitea.ts, gitlab.ts) do. It never logs headers or bodies, so the
// token cannot end up in a log line.
import type { Logger } from "pino";
import { Agent, type Dispatcher, request } from "undici";
import { decideRetry, defaultRetryPolicy, type FailedResponse, type RetryPolicy } from "./retry.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT";

export interface ForgeRequest {
  method: HttpMethod;
  /** Path below the API base, starting with "/", already URL-encoded. */
  path: string;
  query?: Record<string, string | number>;
  body?: unknown;
  /** Safe to send again after a failure (GET, PUT/PATCH of a known comment, statuses). */
  idempotent: boolean;
  /** Error statuses the caller handles itself (e.g. 404 of a deleted comment): logged at debug only. */
  handles?: number[];
}

export interface ForgeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/** A forge API call that did not succeed. `endpoint` is "METHOD /path" without the query. */
export class ForgeApiError extends Error {
  override name = "ForgeApiError";
  readonly code = "forge-api";
  constructor(
    readonly method: HttpMethod,
    readonly path: string,
    /** HTTP status, or undefined when no response arrived. */
    readonly status: number | undefined,
    detail: string,
    /** Set when the forge asked us to wait longer than we wait inline: try again after this long. */
    readonly retryAfterMs?: number,
    /** The response body as JSON when there was one (e.g. GitLab's transition errors). */
    readonly responseJson?: unknown,
  ) {
    super(`forge API ${method} ${path} ${status === undefined ? "failed" : `answered ${status}`}: ${detail}`);
  }
  /** True when the same call may succeed later (rate limits, 5xx, network). */
  get transient(): boolean {
    return (
      this.status === undefined ||
      this.status === 429 ||
      this.status >= 500 ||
      this.retryAfterMs !== undefined
    );
  }
}

export interface ForgeHttpOptions {
  /** API base URL without a trailing slash, e.g. https://api.github.com or https://host/api/v4. */
  baseUrl: string;
  /** The auth header name and value; kept here and nowhere else. */
  auth: [name: string, value: string];
  userAgent: string;
  /** Extra fixed headers (GitHub's Accept and API version). */
  headers?: Record<string, string>;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout (headers and body), default 30 s. */
  timeoutMs?: number;
  /** Sleeps between tries; tests of the policy may shorten it. */
  sleep?: (ms: number) => Promise<void>;
}

export interface ForgeHttp {
  call(req: ForgeRequest): Promise<ForgeResponse>;
  close(): Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A short, safe detail from an error body: the forge's own message field, never the raw body. */
function detailOf(json: unknown, text: string): string {
  if (json && typeof json === "object") {
    const o = json as Record<string, unknown>;
    const m = o.message ?? o.error ?? o.error_description;
    if (typeof m === "string") return m.slice(0, 300);
    if (m && typeof m === "object") return JSON.stringify(m).slice(0, 300);
  }
  return text.slice(0, 120).replace(/\s+/g, " ") || "(empty body)";
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createForgeHttp(opts: ForgeHttpOptions): ForgeHttp {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...opts.retry };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const sleep = opts.sleep ?? sleepMs;
  const base = opts.baseUrl.replace(/\/+$/, "");
  const dispatcher: Dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 8,
  });
  const fixed: Record<string, string> = {
    "user-agent": opts.userAgent,
    accept: "application/json",
    ...opts.headers,
    [opts.auth[0].toLowerCase()]: opts.auth[1],
  };

  async function once(req: ForgeRequest): Promise<{ res?: ForgeResponse & { text: string }; error?: Error }> {
    const qs = req.query
      ? `?${new URLSearchParams(Object.entries(req.query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`
      : "";
    const headers: Record<string, string> = { ...fixed };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers["content-type"] = "application/json";
    }
    try {
      const r = await request(`${base}${req.path}${qs}`, { method: req.method, headers, body, dispatcher });
      const text = await r.body.text();
      return { res: { status: r.statusCode, headers: r.headers, json: parseJson(text), text } };
    } catch (error) {
      return { error: error as Error };
    }
  }

  return {
    async call(req) {
      const log = { method: req.method, endpoint: req.path };
      for (let attempt = 1; ; attempt++) {
        const { res, error } = await once(req);
        if (res && res.status < 300) return res;
        const failed: FailedResponse | undefined = res && {
          status: res.status,
          headers: res.headers,
          bodyText: res.text,
        };
        const decision = decideRetry(failed, attempt, policy);
        const detail = res
          ? detailOf(res.json, res.text)
          : `${(error as NodeJS.ErrnoException).code ?? error?.name}: ${error?.message}`;
        if (decision.retry && req.idempotent) {
          opts.logger.warn(
            { ...log, status: res?.status, attempt, delayMs: decision.delayMs, reason: decision.reason },
            "forge API call failed; retrying",
          );
          await sleep(decision.delayMs);
          continue;
        }
        // A transient failure of a call we may not resend (a create) or one we stopped waiting for:
        // hand the wait to the caller, which re-reads state before trying again.
        const retryAfterMs =
          decision.retry || decision.reason !== "not-retryable" ? decision.delayMs : undefined;
        const handled = res !== undefined && req.handles?.includes(res.status) === true;
        opts.logger[handled ? "debug" : "error"](
          { ...log, status: res?.status, attempt, reason: decision.reason },
          `forge API call failed: ${detail}`,
        );
        throw new ForgeApiError(req.method, req.path, res?.status, detail, retryAfterMs, res?.json);
      }
    },
    async close() {
      await dispatcher.close();
    },
  };
}
