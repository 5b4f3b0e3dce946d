// One HTTP exchange over a keep-alive node:http(s) Agent, with a deadline for the response headers
// (longer than any long-poll wait) and one for the body, and a cap on the body size. It retries
// once when a kept-alive socket turns out to be closed by the server (the request never reached
// it). node:http rather than undici: the agent should idle with the smallest footprint it can, and
// loading undici alone adds ~20 MB of resident memory to a Node 20 process (measured; see
// docs/agent.md).
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type RequestOptions,
} from "node:http";

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpCallOptions {
  method: "GET" | "PUT" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxBodyBytes: number;
}

export interface HttpClient {
  call(o: HttpCallOptions): Promise<HttpResult>;
  close(): void;
}

type Transport = { agent: HttpAgent; request: typeof httpRequest };

export function createHttpClient(): HttpClient {
  const keepAlive = { keepAlive: true, maxSockets: 4, keepAliveMsecs: 30_000 };
  const plain: Transport = { agent: new HttpAgent(keepAlive), request: httpRequest };
  // node:https (and TLS with it) is loaded only for an https:// reconciler.
  let tls: Promise<Transport> | undefined;
  const transport = (u: URL): Promise<Transport> | Transport => {
    if (u.protocol !== "https:") return plain;
    tls ??= import("node:https").then((m) => ({ agent: new m.Agent(keepAlive), request: m.request }));
    return tls;
  };

  async function once(o: HttpCallOptions): Promise<HttpResult & { retry?: boolean }> {
    const u = new URL(o.url);
    const t = await transport(u);
    const opts: RequestOptions = {
      method: o.method,
      headers: {
        ...o.headers,
        ...(o.body !== undefined ? { "content-length": String(Buffer.byteLength(o.body)) } : {}),
      },
      agent: t.agent,
      signal: o.signal,
    };
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const req = t.request(u, opts, (res) => {
        clearTimeout(timer);
        timer = setTimeout(
          () => req.destroy(new Error(`no complete body within ${o.bodyTimeoutMs} ms`)),
          o.bodyTimeoutMs,
        );
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > o.maxBodyBytes) {
            req.destroy(new Error(`body larger than ${o.maxBodyBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
        res.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      timer = setTimeout(
        () => req.destroy(new Error(`no response within ${o.headersTimeoutMs} ms`)),
        o.headersTimeoutMs,
      );
      req.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // The server closed a kept-alive socket just as we reused it: nothing was processed.
        if (req.reusedSocket && e.code === "ECONNRESET")
          resolve({ status: 0, headers: {}, body: "", retry: true });
        else reject(e);
      });
      req.end(o.body);
    });
  }

  return {
    async call(o) {
      const r = await once(o);
      return r.retry ? once(o) : r;
    },
    close() {
      plain.agent.destroy();
      void tls?.then((t) => t.agent.destroy());
    },
  };
}
