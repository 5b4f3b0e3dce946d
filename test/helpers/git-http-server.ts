// A real git smart-HTTP server for tests: node:http on 127.0.0.1 running `git http-backend` as a
// CGI per request (clone, fetch and push all work, with native git and with isomorphic-git).
// Optionally requires basic auth whose password (or user name) equals `token`. It serves every
// repository under `root` (URL path /<repo-path>/info/refs …). Not a production server.
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface GitHttpServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123; a repo is `${url}/name.git`. */
  url: string;
  /** Number of requests answered so far (tests use it to check that a fetch really happened). */
  requests(): number;
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** Directory holding the repositories (GIT_PROJECT_ROOT). */
  root: string;
  /** When set, requests need basic auth with this password (or user name). */
  token?: string;
  /** Called after each answered request (benchmarks use it to see where time goes). */
  onRequest?: (info: { method: string; path: string; status: number; ms: number }) => void;
}

export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  let count = 0;
  const children = new Set<ReturnType<typeof spawn>>();
  const server = createServer((req, res) => {
    count++;
    if (opts.onRequest) {
      const started = performance.now();
      const report = opts.onRequest;
      res.once("finish", () =>
        report({
          method: req.method ?? "GET",
          path: (req.url ?? "/").replace(/\?.*$/, ""),
          status: res.statusCode,
          ms: performance.now() - started,
        }),
      );
    }
    if (opts.token !== undefined && !authorized(req, opts.token)) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      req.resume();
      return;
    }
    runBackend(opts.root, req, res, children);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: async () => {
      for (const child of children) child.kill("SIGKILL");
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const m = /^Basic\s+(.+)$/i.exec(header);
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const pass = colon < 0 ? "" : decoded.slice(colon + 1);
  return pass === token || user === token;
}

function runBackend(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  children: Set<ReturnType<typeof spawn>>,
): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: decodeURIComponent(url.pathname),
    REQUEST_METHOD: req.method ?? "GET",
    QUERY_STRING: url.search.replace(/^\?/, ""),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: "127.0.0.1",
    REMOTE_USER: "test",
    // receive-pack is off by default for anonymous users; tests push. No `git gc --auto` after
    // each push: hosted forges do not collect garbage inside the push request either.
    GIT_CONFIG_COUNT: "2",
    GIT_CONFIG_KEY_0: "http.receivepack",
    GIT_CONFIG_VALUE_0: "true",
    GIT_CONFIG_KEY_1: "receive.autogc",
    GIT_CONFIG_VALUE_1: "false",
  };
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
  // http-backend reads these as CGI meta-variables (it un-gzips request bodies itself).
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
  if (req.headers["content-length"]) env.CONTENT_LENGTH = String(req.headers["content-length"]);

  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  req.pipe(child.stdin);
  child.stdin.on("error", () => {});
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });

  let head = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const split = findHeaderEnd(head);
    if (split === null) return;
    const { status, headers } = parseCgiHeaders(head.subarray(0, split.at).toString("latin1"));
    res.writeHead(status, headers);
    headersSent = true;
    const rest = head.subarray(split.at + split.len);
    if (rest.length > 0) res.write(rest);
  });
  child.on("close", (code) => {
    if (!headersSent) {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`git http-backend exited with ${code}: ${stderr}`);
      return;
    }
    res.end();
  });
  // The client went away before the answer was complete: stop the backend.
  res.on("close", () => {
    if (!res.writableFinished && child.exitCode === null) child.kill("SIGKILL");
  });
}

function findHeaderEnd(buf: Buffer): { at: number; len: number } | null {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, len: 4 };
  if (lf >= 0) return { at: lf, len: 2 };
  return null;
}

function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}
