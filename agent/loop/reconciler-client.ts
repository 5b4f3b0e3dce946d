// HTTP client of the reconciler's node API (undici, one keep-alive Agent): long-polls the node's
// desired document with its ETag and PUTs status reports. It classifies answers into results and
// never throws for a bad answer; the token is only ever put in the Authorization header, never in
// a message.
import { Agent, request } from "undici";
import type { NodeStatus } from "../../schema/index.js";

export type PollResult =
  | { kind: "unchanged" }
  | { kind: "document"; body: unknown; etag: string | null }
  | { kind: "corrupt"; message: string; etag: string | null }
  | { kind: "not-found"; message: string }
  | { kind: "unauthorized"; message: string }
  | { kind: "unavailable"; message: string };

export interface ReconcilerClient {
  /** GET the desired document; with an etag, waits up to `waitSeconds` for a change (304 when none). */
  poll(etag: string | null, waitSeconds: number, signal: AbortSignal): Promise<PollResult>;
  /** PUT a status report; throws with a message saying what failed. */
  putStatus(status: NodeStatus, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Largest desired document accepted (10,000 workloads fit well within it). */
const maxDocumentBytes = 32 * 1024 * 1024;

const quote = (etag: string): string => (etag.startsWith('"') || etag.startsWith("W/") ? etag : `"${etag}"`);

async function excerpt(body: { text(): Promise<string> }): Promise<string> {
  const text = await body.text().catch(() => "");
  const one = text.replace(/\s+/g, " ").trim().slice(0, 200);
  return one ? `: ${one}` : "";
}

export function createReconcilerClient(opts: {
  url: string;
  node: string;
  token: string;
  /** Longest long-poll wait the client will ask for; sizes the header timeout. */
  maxWaitSeconds: number;
}): ReconcilerClient {
  const base = opts.url.replace(/\/+$/, "");
  const nodePath = `${base}/v1/nodes/${encodeURIComponent(opts.node)}`;
  const agent = new Agent({
    keepAliveTimeout: 65_000,
    // The server holds a long-poll up to the wait before it sends headers: allow that plus slack.
    headersTimeout: (opts.maxWaitSeconds + 30) * 1000,
    bodyTimeout: 120_000,
    connectTimeout: 10_000,
  });
  const auth = { authorization: `Bearer ${opts.token}` };

  async function poll(etag: string | null, waitSeconds: number, signal: AbortSignal): Promise<PollResult> {
    const url = `${nodePath}/desired?wait=${waitSeconds}`;
    const where = `GET ${url}`;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        dispatcher: agent,
        method: "GET",
        headers: { ...auth, accept: "application/json", ...(etag ? { "if-none-match": quote(etag) } : {}) },
        signal,
      });
    } catch (e) {
      return { kind: "unavailable", message: `${where}: ${(e as Error).message}` };
    }
    const { statusCode, body } = res;
    const etagHeader = typeof res.headers.etag === "string" ? res.headers.etag : null;
    if (statusCode === 304) {
      await body.dump();
      return { kind: "unchanged" };
    }
    if (statusCode === 200) {
      const length = Number(res.headers["content-length"] ?? 0);
      if (length > maxDocumentBytes) {
        await body.dump();
        return {
          kind: "corrupt",
          message: `${where}: document of ${length} bytes is too large`,
          etag: etagHeader,
        };
      }
      let text: string;
      try {
        text = await body.text();
      } catch (e) {
        return { kind: "unavailable", message: `${where}: reading the body failed: ${(e as Error).message}` };
      }
      try {
        return { kind: "document", body: JSON.parse(text), etag: etagHeader };
      } catch (e) {
        return {
          kind: "corrupt",
          message: `${where}: body is not JSON (${(e as Error).message})`,
          etag: etagHeader,
        };
      }
    }
    const detail = `${where}: HTTP ${statusCode}${await excerpt(body)}`;
    if (statusCode === 404)
      return { kind: "not-found", message: `${detail} (is the node in the published config?)` };
    if (statusCode === 401 || statusCode === 403) {
      return {
        kind: "unauthorized",
        message: `${detail} (check --token-file against the node's tokenSha256)`,
      };
    }
    return { kind: "unavailable", message: detail };
  }

  async function putStatus(status: NodeStatus, signal: AbortSignal): Promise<void> {
    const url = `${nodePath}/status`;
    const res = await request(url, {
      dispatcher: agent,
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(status),
      signal,
    }).catch((e: Error) => {
      throw new Error(`PUT ${url}: ${e.message}`);
    });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return;
    }
    throw new Error(`PUT ${url}: HTTP ${res.statusCode}${await excerpt(res.body)}`);
  }

  return { poll, putStatus, close: () => agent.close() };
}
