// HTTP client of the reconciler's node API (keep-alive, see http-call.ts): long-polls the node's
// desired document with its ETag and PUTs status reports. It classifies answers into results and
// never throws for a bad answer; the token is only ever put in the Authorization header, never in
// a message. With several reconciler URLs it talks to one at a time (the poller moves it to the
// next when one fails: failover()); every reconciler serves the same desired branch, so the same
// document has the same hash wherever it comes from.
import {
  type AgentRequest,
  type LogBatch,
  type NodeStatus,
  type RequestReport,
  validateAgentRequests,
} from "../../schema/index.js";
import { createHttpClient, type HttpResult } from "./http-call.js";

/**
 * Every answer of the desired long-poll says whether the reconciler holds requests for the node
 * (header `Berth-Requests: <n>`); a request arriving during a poll ends it early with a 304.
 */
export type PollResult =
  | { kind: "unchanged"; requests: boolean }
  | { kind: "document"; body: unknown; etag: string | null; requests: boolean }
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
  /**
   * GET the requests the reconciler in use holds for this node (each is handed out once). Throws
   * on failure. Requests live in the reconciler that took them: with several reconcilers, one the
   * agent does not poll now cannot reach it (its asker times out and says so).
   */
  fetchRequests(signal: AbortSignal): Promise<AgentRequest[]>;
  /** POST a batch of a log request's lines: "gone" when nobody watches any more. */
  uploadLogs(id: string, batch: LogBatch, signal: AbortSignal): Promise<"ok" | "gone" | "failed">;
  /** POST how a request goes (restart progress); throws with a message saying what failed. */
  report(id: string, report: RequestReport, signal: AbortSignal): Promise<void>;
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
    const requests = Number(res.headers["berth-requests"] ?? 0) > 0;
    if (res.status === 304) return { kind: "unchanged", requests };
    if (res.status === 200) {
      try {
        return { kind: "document", body: JSON.parse(res.body), etag: etagHeader, requests };
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

  async function post(
    path: string,
    body: unknown,
    signal: AbortSignal,
    maxBodyBytes = 64 * 1024,
  ): Promise<HttpResult> {
    const url = `${nodePath()}${path}`;
    try {
      return await http.call({
        method: "POST",
        url,
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
        headersTimeoutMs: 30_000,
        bodyTimeoutMs: 30_000,
        maxBodyBytes,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`POST ${url}: ${err.code ?? err.message}`);
    }
  }

  async function fetchRequests(signal: AbortSignal): Promise<AgentRequest[]> {
    const url = `${nodePath()}/requests`;
    let res: HttpResult;
    try {
      res = await http.call({
        method: "GET",
        url,
        headers: { ...auth, accept: "application/json" },
        signal,
        headersTimeoutMs: 30_000,
        bodyTimeoutMs: 30_000,
        maxBodyBytes: 1024 * 1024,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`GET ${url}: ${err.code ?? err.message}`);
    }
    if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}${excerpt(res.body)}`);
    let value: unknown;
    try {
      value = JSON.parse(res.body);
    } catch (e) {
      throw new Error(`GET ${url}: body is not JSON (${(e as Error).message})`);
    }
    const validate = validateAgentRequests();
    if (!validate(value)) {
      const first = validate.errors?.[0];
      throw new Error(
        `GET ${url}: the requests do not match requests.schema.json (${first?.instancePath || "/"} ${first?.message ?? ""}); is the reconciler a newer version?`,
      );
    }
    return value.requests;
  }

  async function uploadLogs(
    id: string,
    batch: LogBatch,
    signal: AbortSignal,
  ): Promise<"ok" | "gone" | "failed"> {
    try {
      const res = await post(`/logs/${encodeURIComponent(id)}`, batch, signal);
      if (res.status >= 200 && res.status < 300) return "ok";
      return res.status === 404 || res.status === 410 ? "gone" : "failed";
    } catch {
      return "failed";
    }
  }

  async function report(id: string, r: RequestReport, signal: AbortSignal): Promise<void> {
    const res = await post(`/requests/${encodeURIComponent(id)}/report`, r, signal);
    if (res.status < 200 || res.status >= 300)
      throw new Error(`POST ${nodePath()}/requests/${id}/report: HTTP ${res.status}${excerpt(res.body)}`);
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
    fetchRequests,
    uploadLogs,
    report,
    close: async () => http.close(),
  };
}
