// Writing JSON responses and reading bounded request bodies for the API server. Every error the
// API sends is `{"error": "..."}` plus optional fields, so clients read one shape. Knows nothing of
// routes.
import type { IncomingMessage, ServerResponse } from "node:http";

export const MiB = 1024 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** Sends pre-serialised JSON bytes (desired documents are served many times from one buffer). */
export function sendJsonBytes(
  res: ServerResponse,
  status: number,
  bytes: Buffer,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": bytes.length,
    ...headers,
  });
  res.end(bytes);
}

export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error, ...extra }, headers);
}

export function sendNoContent(
  res: ServerResponse,
  status: 204 | 304,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, headers);
  res.end();
}

/**
 * Answers 413 and drops the connection: the rest of an oversized body is never read (a client
 * could otherwise keep us busy with an endless upload).
 */
/**
 * Starts a Server-Sent Events answer (no caching, no proxy buffering). False when the request was
 * a HEAD, which has been answered with the headers alone.
 */
export function startEventStream(req: IncomingMessage, res: ServerResponse): boolean {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  if (req.method !== "HEAD") return true;
  res.end();
  return false;
}

export function sendTooLarge(res: ServerResponse, limit: number): void {
  sendError(res, 413, `request body is larger than ${limit} bytes`, { limit }, { Connection: "close" });
  res.once("finish", () => res.socket?.destroySoon());
}

/**
 * Answers 408 and drops the connection: the body did not arrive within its deadline (a slow
 * client, or one trickling bytes to hold the connection).
 */
export function sendBodyTimeout(res: ServerResponse, ms: number): void {
  sendError(res, 408, `the request body did not arrive within ${ms / 1000} s`, {}, { Connection: "close" });
  res.once("finish", () => res.socket?.destroySoon());
}

export type BodyResult =
  | { ok: true; body: Buffer }
  | { ok: false; problem: "too_large" }
  | { ok: false; problem: "aborted" }
  | { ok: false; problem: "timeout" };

/**
 * Reads the whole body, stopping (and pausing the socket) as soon as it exceeds `limit` bytes or
 * `timeoutMs` passes.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = 0): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.pause();
    return Promise.resolve({ ok: false, problem: "too_large" });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            req.pause();
            finish({ ok: false, problem: "timeout" });
          }, timeoutMs)
        : undefined;
    const finish = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ ok: false, problem: "too_large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () =>
      finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    const onAbort = () => finish({ ok: false, problem: "aborted" });
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onClose);
  });
}
