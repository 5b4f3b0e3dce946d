// A recording forge for tests: a real node:http server on 127.0.0.1 that implements exactly the
// GitHub, Gitea and GitLab endpoints berth calls (plan comments and commit statuses), keeps
// comments and statuses in memory, checks the auth header each forge expects, validates like the
// forge does (GitHub's 140-character status descriptions, GitLab's state transitions), records
// every request (auth headers left out) and can be told to fail, rate-limit or hold requests.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { authOk, type Matched, match, prefixes, readBody, validStates } from "../forge/recording-routes.js";

export { rateLimited } from "../forge/recording-routes.js";

export type ForgeKind = "github" | "gitea" | "gitlab";
export type RouteName = "list-comments" | "create-comment" | "update-comment" | "set-status";

export interface RecordedRequest {
  method: string;
  /** Path and query as received (URL-encoded). */
  path: string;
  /** Which endpoint it hit; undefined for an unknown route. */
  route?: RouteName;
  /** Lower-case names; `authorization` and `private-token` are removed. */
  headers: Record<string, string>;
  body: unknown;
  status: number;
  authOk: boolean;
}

export interface StoredComment {
  id: number;
  pr: number;
  body: string;
  /** How many times it was updated after being created. */
  updates: number;
  system: boolean;
}

export interface StoredStatus {
  sha: string;
  context: string;
  /** As the forge stores it (GitLab: running/failed/...). */
  state: string;
  description: string;
  targetUrl?: string;
}

export interface InjectedFailure {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Handle the request normally, then destroy the socket: the change is made, the answer is lost. */
  dropAfterProcessing?: boolean;
}

export interface RequestInfo {
  method: string;
  route?: RouteName;
  path: string;
  body: unknown;
}

export interface Hold {
  /** Resolves when a matching request arrived and is being held. */
  arrived: Promise<void>;
  release(): void;
}

export interface RecordingForge {
  kind: ForgeKind;
  /** API base URL to give the client (includes the prefix, e.g. /api/v4). */
  url: string;
  token: string;
  repo: string;
  requests: RecordedRequest[];
  comments(pr: number): StoredComment[];
  /** Statuses in the order they were set, optionally of one commit and context. */
  statuses(sha?: string, context?: string): StoredStatus[];
  latestStatus(sha: string, context: string): StoredStatus | undefined;
  /** Seeds a comment as another user would write it. */
  addComment(pr: number, body: string, opts?: { system?: boolean }): StoredComment;
  deleteComment(id: number): void;
  /** The next `n` requests (matching `match`, if given) get `failure` instead of being handled. */
  failNext(n: number, failure: InjectedFailure, match?: (r: RequestInfo) => boolean): void;
  /** The next request matching `match` waits until `release()`. */
  hold(match: (r: RequestInfo) => boolean): Hold;
  /** Calls `fn` as each request is answered (benchmarks time the moment a comment lands). */
  onRecord(fn: (r: RecordedRequest) => void): () => void;
  close(): Promise<void>;
}

export async function startRecordingForge(opts: {
  kind: ForgeKind;
  token?: string;
  repo?: string;
  /** Path prefix of the API (default: "" for GitHub, /api/v1 Gitea, /api/v4 GitLab). */
  prefix?: string;
  /** Largest page the server hands out, to exercise pagination (default 100). */
  maxPerPage?: number;
}): Promise<RecordingForge> {
  const kind = opts.kind;
  const token = opts.token ?? "test-forge-token-0123456789";
  const repo = opts.repo ?? (kind === "gitlab" ? "group/sub/config" : "acme/config");
  const prefix = opts.prefix ?? prefixes[kind];
  const maxPerPage = opts.maxPerPage ?? 100;
  const requests: RecordedRequest[] = [];
  const comments: StoredComment[] = [];
  const statuses: StoredStatus[] = [];
  const failures: { left: number; failure: InjectedFailure; match?: (r: RequestInfo) => boolean }[] = [];
  const holds: { match: (r: RequestInfo) => boolean; arrived: () => void; released: Promise<void> }[] = [];
  let nextId = kind === "gitlab" ? 500 : 1_000_000;
  const listeners = new Set<(r: RecordedRequest) => void>();
  let baseUrl = "";

  const commentJson = (c: StoredComment) =>
    kind === "gitlab"
      ? { id: c.id, body: c.body, system: c.system, noteable_iid: c.pr, author: { username: "berth-bot" } }
      : {
          id: c.id,
          body: c.body,
          user: { login: "berth-bot" },
          html_url: `${baseUrl.replace(/\/api\/v\d+$/, "")}/${repo}/pull/${c.pr}#issuecomment-${c.id}`,
        };

  function send(
    res: ServerResponse,
    status: number,
    json: unknown,
    headers: Record<string, string> = {},
  ): number {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(json === undefined ? "" : JSON.stringify(json));
    return status;
  }

  /** Handles a matched, authorised request; returns the status sent. */
  function handle(m: Matched, url: URL, body: unknown, res: ServerResponse): number {
    const b = (body ?? {}) as Record<string, unknown>;
    switch (m.route) {
      case "list-comments": {
        const all = comments.filter((c) => c.pr === m.pr);
        const perPage = Math.min(
          Number(url.searchParams.get("per_page") ?? (kind === "github" ? 30 : 20)),
          maxPerPage,
        );
        if (kind === "gitea") return send(res, 200, all.map(commentJson));
        const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
        const pages = Math.max(1, Math.ceil(all.length / perPage));
        const items = all.slice((page - 1) * perPage, page * perPage).map(commentJson);
        const headers: Record<string, string> = {};
        if (kind === "github" && page < pages) {
          const next = new URL(url.pathname, new URL(baseUrl).origin);
          next.searchParams.set("per_page", String(perPage));
          next.searchParams.set("page", String(page + 1));
          headers.link = `<${next.toString()}>; rel="next"`;
        }
        if (kind === "gitlab") {
          Object.assign(headers, {
            "x-page": String(page),
            "x-per-page": String(perPage),
            "x-total": String(all.length),
            "x-total-pages": String(pages),
            "x-next-page": page < pages ? String(page + 1) : "",
          });
        }
        return send(res, 200, items, headers);
      }
      case "create-comment": {
        if (typeof b.body !== "string" || b.body === "")
          return send(res, 422, { message: "body is required" });
        if (kind === "github" && b.body.length > 65_536) {
          return send(res, 422, {
            message: "Validation Failed",
            errors: [
              { field: "body", code: "custom", message: "body is too long (maximum is 65536 characters)" },
            ],
          });
        }
        const c: StoredComment = { id: nextId++, pr: m.pr ?? 0, body: b.body, updates: 0, system: false };
        comments.push(c);
        return send(res, 201, commentJson(c));
      }
      case "update-comment": {
        const c = comments.find((x) => x.id === m.commentId && (m.pr === undefined || x.pr === m.pr));
        if (!c) return send(res, 404, { message: "Not Found" });
        if (typeof b.body !== "string" || b.body === "")
          return send(res, 422, { message: "body is required" });
        if (kind === "github" && b.body.length > 65_536)
          return send(res, 422, { message: "body is too long" });
        c.body = b.body;
        c.updates++;
        return send(res, 200, commentJson(c));
      }
      case "set-status": {
        const sha = m.sha ?? "";
        if (!/^[0-9a-f]{40}$/.test(sha))
          return send(res, 422, { message: `No commit found for SHA: ${sha}` });
        const state = String(b.state);
        if (!validStates[kind].includes(state))
          return send(res, 422, { message: `state ${state} is not valid` });
        const context = String((kind === "gitlab" ? b.name : b.context) ?? "default");
        const description = typeof b.description === "string" ? b.description : "";
        if (kind === "github" && description.length > 140) {
          return send(res, 422, {
            message: "Validation Failed",
            errors: [
              {
                resource: "Status",
                code: "custom",
                field: "description",
                message: "description is too long (maximum is 140 characters)",
              },
            ],
          });
        }
        if (kind === "gitlab") {
          const last = [...statuses].reverse().find((s) => s.sha === sha && s.context === context);
          if (last && last.state === state && (state === "pending" || state === "running")) {
            const verb = state === "pending" ? "enqueue" : "run";
            return send(res, 400, { message: `Cannot transition status via :${verb} from :${state}` });
          }
        }
        const targetUrl = typeof b.target_url === "string" ? b.target_url : undefined;
        statuses.push({ sha, context, state, description, targetUrl });
        return send(res, 201, {
          id: statuses.length,
          state,
          context,
          description,
          target_url: targetUrl ?? null,
        });
      }
    }
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    let text = "";
    try {
      text = await readBody(req);
    } catch {
      res.writeHead(413).end();
      return;
    }
    let body: unknown = text;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
    } else body = undefined;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === "authorization" || k === "private-token") continue;
      headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
    }
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    const below = rawPath.startsWith(prefix) ? rawPath.slice(prefix.length) : undefined;
    const m = below === undefined ? undefined : match(kind, method, below.split("/").filter(Boolean), repo);
    const ok = authOk(kind, req, token);
    const info: RequestInfo = { method, route: m?.route, path: req.url ?? "/", body };
    const record = (status: number) => {
      const r: RecordedRequest = {
        method,
        path: req.url ?? "/",
        route: m?.route,
        headers,
        body,
        status,
        authOk: ok,
      };
      requests.push(r);
      for (const fn of listeners) fn(r);
    };

    const held = holds.findIndex((h) => h.match(info));
    if (held >= 0) {
      const h = holds.splice(held, 1)[0]!;
      h.arrived();
      await h.released;
    }
    const fi = failures.findIndex((f) => f.left > 0 && (!f.match || f.match(info)));
    const failure = fi >= 0 ? failures[fi] : undefined;
    if (failure) {
      failure.left--;
      if (failure.left === 0) failures.splice(fi, 1);
      if (!failure.failure.dropAfterProcessing) {
        record(
          send(
            res,
            failure.failure.status,
            failure.failure.body ?? { message: "injected failure" },
            failure.failure.headers,
          ),
        );
        return;
      }
    }
    if (!ok) {
      record(send(res, 401, { message: kind === "gitlab" ? "401 Unauthorized" : "Bad credentials" }));
      return;
    }
    if (!m) {
      record(send(res, 404, { message: `no such endpoint on this recording ${kind}: ${method} ${rawPath}` }));
      return;
    }
    if (failure?.failure.dropAfterProcessing) {
      // Make the change, then cut the connection before any answer goes out.
      handle(m, url, body, {
        writeHead: () => undefined,
        end: () => undefined,
      } as unknown as ServerResponse);
      record(0);
      req.socket.destroy();
      return;
    }
    record(handle(m, url, body, res));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}${prefix}`;

  return {
    kind,
    url: baseUrl,
    token,
    repo,
    requests,
    comments: (pr) => comments.filter((c) => c.pr === pr),
    statuses: (sha, context) =>
      statuses.filter(
        (s) => (sha === undefined || s.sha === sha) && (context === undefined || s.context === context),
      ),
    latestStatus: (sha, context) =>
      [...statuses].reverse().find((s) => s.sha === sha && s.context === context),
    addComment(pr, body, o) {
      const c: StoredComment = { id: nextId++, pr, body, updates: 0, system: o?.system ?? false };
      comments.push(c);
      return c;
    },
    deleteComment(id) {
      const i = comments.findIndex((c) => c.id === id);
      if (i >= 0) comments.splice(i, 1);
    },
    failNext(n, failure, matchFn) {
      failures.push({ left: n, failure, match: matchFn });
    },
    hold(matchFn) {
      let arrived!: () => void;
      let release!: () => void;
      const arrivedP = new Promise<void>((r) => {
        arrived = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      holds.push({ match: matchFn, arrived, released });
      return { arrived: arrivedP, release };
    },
    onRecord(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      for (const h of holds.splice(0)) h.arrived();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
