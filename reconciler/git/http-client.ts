// The HTTP transport isomorphic-git uses for fetch and push, over undici: keep-alive connections
// (a webhook-triggered fetch and the push that follows reuse them), bounded timeouts (a hung git
// server must not hang the reconciler forever) and a few redirects. I/O.
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import { Agent, interceptors, request } from "undici";
import { crashPoint } from "../crash-points.js";

export function createGitHttpClient(
  opts: { timeoutMs?: number } = {},
): HttpClient & { close(): Promise<void> } {
  const timeout = opts.timeoutMs ?? 60_000;
  const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: timeout, bodyTimeout: timeout });
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 3 }));
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? Buffer.concat(await collect(req.body)) : undefined;
      const res = await request(req.url, {
        method: (req.method ?? "GET") as "GET" | "POST",
        headers: req.headers ?? {},
        body,
        dispatcher,
      });
      // The server has acted (a push's ref update is done) and we have not recorded it yet.
      crashPoint("git-http-answered");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      }
      const chunks: Uint8Array[] = [];
      for await (const chunk of res.body) chunks.push(chunk as Uint8Array);
      return {
        url: req.url,
        method: req.method,
        statusCode: res.statusCode,
        statusMessage: String(res.statusCode),
        body: iterate(chunks),
        headers,
      };
    },
    close: () => agent.close(),
  };
}

async function* iterate(chunks: Uint8Array[]): AsyncIterableIterator<Uint8Array> {
  yield* chunks;
}

async function collect(
  body: AsyncIterableIterator<Uint8Array> | Iterable<Uint8Array>,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) out.push(chunk);
  return out;
}
