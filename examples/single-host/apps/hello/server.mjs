// The "hello" app of the single-host example: a small JSON API on $PORT.
//   GET /          -> { message, app, pid }
//   GET /healthz   -> ok (the health check in apps/hello.yaml)
//   GET /echo?text=hi -> { text }
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 8080);
const greeting = process.env.GREETING ?? "Hello";

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
  } else if (url.pathname === "/") {
    send(res, 200, { message: greeting, app: "hello", pid: process.pid });
  } else if (url.pathname === "/echo") {
    send(res, 200, { text: url.searchParams.get("text") ?? "" });
  } else {
    send(res, 404, { error: `no route ${url.pathname}` });
  }
});

// HOST is the node's address (berth sets it): proxies on other nodes reach the app there.
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => console.log(`hello listening on ${host}:${port}`));
// Stop cleanly when the agent replaces or removes this replica.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
