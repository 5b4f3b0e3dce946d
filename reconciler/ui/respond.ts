// Sends the operations page's responses: HTML (compressed with brotli or gzip when the browser
// accepts it, via node:zlib), with headers that keep the page to itself (a strict Content
// Security Policy: only our own script, style and fetches; no framing; no referrer for forges)
// and out of caches. Static assets are served with a content hash in their URL, cached a year.
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { Html } from "./html.js";

const br = promisify(brotliCompress);
const gz = promisify(gzip);

export const securityHeaders: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  // same-origin: forms keep their Origin header (checked on POST); forge links get no referrer.
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
};

/** Bodies smaller than this go uncompressed (the headers would cost more than they save). */
const MIN_COMPRESS = 1024;

export type Encoding = "br" | "gzip" | "identity";

/** The encoding to use for an Accept-Encoding header: brotli, then gzip (q=0 refuses one). */
export function pickEncoding(accept: string | undefined): Encoding {
  if (!accept) return "identity";
  const ok = new Set<string>();
  for (const part of accept.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (q && Number(q.slice(2)) === 0) continue;
    if (name) ok.add(name);
  }
  if (ok.has("br")) return "br";
  if (ok.has("gzip")) return "gzip";
  return "identity";
}

/**
 * Brotli at quality 4: measured on the 1,000-app overview (≈ 700 KB of HTML) it compresses about as
 * well as gzip -9 in a fraction of brotli 11's time (see docs/ui.md for the figures).
 */
export async function encode(body: Buffer, enc: Encoding): Promise<Buffer> {
  if (enc === "br")
    return br(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 4,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
  if (enc === "gzip") return gz(body, { level: 6 });
  return body;
}

export async function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Buffer,
  headers: Record<string, string>,
): Promise<void> {
  const enc =
    body.length >= MIN_COMPRESS
      ? pickEncoding(req.headers["accept-encoding"] as string | undefined)
      : "identity";
  const out = await encode(body, enc);
  res.writeHead(status, {
    ...securityHeaders,
    Vary: "Accept-Encoding, Cookie",
    ...(enc === "identity" ? {} : { "Content-Encoding": enc }),
    "Content-Length": String(out.length),
    ...headers,
  });
  res.end(req.method === "HEAD" ? undefined : out);
}

export function sendHtml(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  page: Html,
  headers: Record<string, string> = {},
): Promise<void> {
  return sendBody(req, res, status, Buffer.from(page.text), {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    ...headers,
  });
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, {
    ...securityHeaders,
    Location: location,
    "Cache-Control": "no-store",
    "Content-Length": "0",
    ...headers,
  });
  res.end();
}
