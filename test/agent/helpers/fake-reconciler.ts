// A tiny real HTTP server on 127.0.0.1 that plays the reconciler's node API for agent tests and
// benchmarks: serves one node's desired document with ETag / If-None-Match / ?wait long-polls and
// Bearer auth, records status PUTs (schema-checked, 400 otherwise), and can answer 500, serve a
// raw body, or be killed and brought back on the same port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type DesiredState, type NodeStatus, validateStatus } from "../../../schema/index.js";

export interface FakeReconciler {
  url: string;
  token: string;
  /** Serves `doc` from now on (a string is served as a raw body with `etag`). */
  publish(doc: DesiredState | string, etag?: string): void;
  /** "down5xx": every node call answers 500. */
  setMode(mode: "ok" | "down5xx"): void;
  statuses: NodeStatus[];
  latest(): NodeStatus | undefined;
  /** Status reports that failed the schema (should stay empty). */
  badStatuses: string[];
  /** When the document now served was published (performance.now()). */
  publishedAt(): number;
  /** Closes the server and every connection (the reconciler dies). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
  onStatus?: (s: NodeStatus) => void;
  /** GET requests answered so far (any status). */
  gets: number;
}

export async function startFakeReconciler(opts: { node: string; token?: string }): Promise<FakeReconciler> {
  const token = opts.token ?? "test-token-0123456789";
  let body: string | null = null;
  let etag: string | null = null;
  let published = 0;
  let mode: "ok" | "down5xx" = "ok";
  let waiters: (() => void)[] = [];
  const validate = validateStatus();
  let server: Server;
  let port = 0;

  const unquote = (s: string) => s.replace(/^W\//, "").replace(/^"|"$/g, "");

  function handle(req: IncomingMessage, res: ServerResponse, self: FakeReconciler): void {
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/v1\/nodes\/([^/]+)\/(desired|status)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end('{"error":"no route"}');
    if (req.headers.authorization !== `Bearer ${token}`)
      return void res.writeHead(401).end('{"error":"bad token"}');
    if (m[1] !== opts.node) return void res.writeHead(404).end('{"error":"unknown node"}');
    if (mode === "down5xx") return void res.writeHead(500).end('{"error":"boom"}');
    if (m[2] === "status" && req.method === "PUT") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let s: unknown;
        try {
          s = JSON.parse(text);
        } catch {
          self.badStatuses.push(text);
          return void res.writeHead(400).end('{"error":"not json"}');
        }
        if (!validate(s)) {
          self.badStatuses.push(`${JSON.stringify(validate.errors)} ${text}`);
          return void res.writeHead(400).end('{"error":"schema"}');
        }
        self.statuses.push(s);
        self.onStatus?.(s);
        res.writeHead(204).end();
      });
      return;
    }
    if (m[2] !== "desired" || req.method !== "GET") return void res.writeHead(405).end();
    self.gets++;
    const inm = req.headers["if-none-match"];
    const wait = Math.min(60, Number(url.searchParams.get("wait") ?? 0));
    const answer = () => {
      if (body === null) return void res.writeHead(404).end('{"error":"no document"}');
      if (typeof inm === "string" && etag !== null && unquote(inm) === unquote(etag)) {
        return void res.writeHead(304, { etag }).end();
      }
      res.writeHead(200, { "content-type": "application/json", ...(etag ? { etag } : {}) }).end(body);
    };
    const unchanged = typeof inm === "string" && etag !== null && unquote(inm) === unquote(etag);
    if (!unchanged || wait <= 0) {
      answer();
      return;
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      waiters = waiters.filter((w) => w !== finish);
      answer();
    };
    const timer = setTimeout(finish, wait * 1000);
    waiters.push(finish);
    res.on("close", () => {
      done = true;
      clearTimeout(timer);
      waiters = waiters.filter((w) => w !== finish);
    });
  }

  const self: FakeReconciler = {
    url: "",
    token,
    statuses: [],
    badStatuses: [],
    gets: 0,
    publish(doc, rawEtag) {
      if (typeof doc === "string") {
        body = doc;
        etag = rawEtag ?? null;
      } else {
        body = JSON.stringify(doc);
        etag = `"${doc.hash}"`;
      }
      published = performance.now();
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
    },
    setMode(m) {
      mode = m;
    },
    latest: () => self.statuses.at(-1),
    publishedAt: () => published,
    async kill() {
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async revive() {
      await listen(port);
    },
    async close() {
      if (server.listening) await self.kill();
    },
  };

  async function listen(p: number): Promise<void> {
    server = createServer((req, res) => handle(req, res, self));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, "127.0.0.1", () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  }
  await listen(0);
  self.url = `http://127.0.0.1:${port}`;
  return self;
}
