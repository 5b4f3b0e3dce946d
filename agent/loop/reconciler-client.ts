// HTTP client of the reconciler's node API (keep-alive, see http-call.ts): long-polls the node's
// desired document with its ETag and PUTs status reports. It classifies answers into results and
// never throws for a bad answer; the token is only ever put in the Authorization header, never in
// a message. With several reconciler URLs it talks to one at a time (the poller moves it to the
// next when one fails: failover()); every reconciler serves the same desired branch, so the same
// document has the same hash wherever it comes from.
import type { NodeStatus } from "../../schema/index.js";
import { createHttpClient, type HttpResult } from "./http-call.js";

export type PollResult =
  | { kind: "unchanged" }
  | { kind: "document"; body: unknown; etag: string | null }
  | { kind: "corrupt"; message: string; etag: string | null }
  | { kind: "not-found"; message: string }
  | { kind: "unauthorized"; message: string }
  | { kind: "unavailable"; message: string };

export interface ReconcilerClient {
  /** The base URL in use. */
  current(): string;
  /** Every base URL, in the order given. */
  urls(): readonly string[];
  /** Moves to the next URL (round robin); returns it. */
  failover(): string;
  /** GET the desired document; with an etag, waits up to `waitSeconds` for a change (304 when none). */
  poll(etag: string | null, waitSeconds: number, signal: AbortSignal): Promise<PollResult>;
  /** PUT a status report; throws with a message saying what failed. */
  putStatus(status: NodeStatus, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Largest desired document accepted (10,000 workloads fit well within it). */
const maxDocumentBytes = 32 * 1024 * 1024;

const quote = (etag: string): string => (etag.startsWith('"') || etag.startsWith("W/") ? etag : `"${etag}"`);

function excerpt(body: string): string {
  const one = body.replace(/\s+/g, " ").trim().slice(0, 200);
  return one ? `: ${one}` : "";
}

export function createReconcilerClient(opts: {
  /** One reconciler base URL, or several (failover in this order). */
  url: string | readonly string[];
  node: string;
  token: string;
}): ReconcilerClient {
  const bases = (typeof opts.url === "string" ? [opts.url] : [...opts.url]).map((u) => u.replace(/\/+$/, ""));
  if (bases.length === 0) throw new Error("createReconcilerClient needs at least one URL");
  let index = 0;
  const nodePath = () => `${bases[index]}/v1/nodes/${encodeURIComponent(opts.node)}`;
  const http = createHttpClient();
  const auth = { authorization: `Bearer ${opts.token}` };
  // The server holds a long-poll up to the wait before it sends headers: allow that plus slack.
  // The slack also bounds how long a reconciler that silently vanished (its host's link down)
  // keeps the agent waiting before it fails over.
  const slackMs = 15_000;

  async function poll(etag: string | null, waitSeconds: number, signal: AbortSignal): Promise<PollResult> {
    const url = `${nodePath()}/desired?wait=${waitSeconds}`;
    const headersTimeoutMs = waitSeconds * 1000 + slackMs;
    const where = `GET ${url}`;
    let res: HttpResult;
    try {
      res = await http.call({
        method: "GET",
        url,
        headers: { ...auth, accept: "application/json", ...(etag ? { "if-none-match": quote(etag) } : {}) },
        signal,
        headersTimeoutMs,
        bodyTimeoutMs: 120_000,
        maxBodyBytes: maxDocumentBytes,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (/body larger than/.test(err.message))
        return { kind: "corrupt", message: `${where}: ${err.message}`, etag: null };
      return { kind: "unavailable", message: `${where}: ${err.code ?? err.message}` };
    }
    const etagHeader = typeof res.headers.etag === "string" ? res.headers.etag : null;
    if (res.status === 304) return { kind: "unchanged" };
    if (res.status === 200) {
      try {
        return { kind: "document", body: JSON.parse(res.body), etag: etagHeader };
      } catch (e) {
        return {
          kind: "corrupt",
          message: `${where}: body is not JSON (${(e as Error).message})`,
          etag: etagHeader,
        };
      }
    }
    const detail = `${where}: HTTP ${res.status}${excerpt(res.body)}`;
    if (res.status === 404)
      return { kind: "not-found", message: `${detail} (is the node in the published config?)` };
    if (res.status === 401 || res.status === 403) {
      return {
        kind: "unauthorized",
        message: `${detail} (check --token-file against the node's tokenSha256)`,
      };
    }
    return { kind: "unavailable", message: detail };
  }

  async function putStatus(status: NodeStatus, signal: AbortSignal): Promise<void> {
    const url = `${nodePath()}/status`;
    let res: HttpResult;
    try {
      res = await http.call({
        method: "PUT",
        url,
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(status),
        signal,
        headersTimeoutMs: 30_000,
        bodyTimeoutMs: 30_000,
        maxBodyBytes: 1024 * 1024,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`PUT ${url}: ${err.code ?? err.message}`);
    }
    if (res.status < 200 || res.status >= 300)
      throw new Error(`PUT ${url}: HTTP ${res.status}${excerpt(res.body)}`);
  }

  return {
    current: () => bases[index] as string,
    urls: () => bases,
    failover() {
      index = (index + 1) % bases.length;
      return bases[index] as string;
    },
    poll,
    putStatus,
    close: async () => http.close(),
  };
}
