// The "site" app of the single-host example: serves the files of a folder (argument 1, default
// "public") on $PORT, plus /healthz for the health check in apps/site.yaml.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";

const port = Number(process.env.PORT ?? 8080);
const root = resolve(process.argv[2] ?? "public");
const types = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".js": "text/javascript",
  ".svg": "image/svg+xml",
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
    return;
  }
  let path;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    res.writeHead(400, { "content-type": "text/plain" });
    res.end("bad path\n");
    return;
  }
  // normalize + join keep the path inside root ("/../x" cannot climb out).
  let file = join(root, normalize(path));
  if (!file.startsWith(root)) file = root;
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) file = join(file, "index.html");
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
    return;
  }
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
});

// HOST is the node's address (berth sets it): proxies on other nodes reach the app there.
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => console.log(`site serving ${root} on ${host}:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
