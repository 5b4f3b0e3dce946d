// The agent's optional /metrics endpoint (`berth agent --metrics-listen HOST:PORT`, off by
// default): a node:http server that answers GET /metrics with AgentMetrics' text and 404 for
// anything else. No auth: it shows no secret (bind it to an address only Prometheus reaches).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseListen } from "../../reconciler/http/listen.js";
import type { NodeStatus } from "../../schema/index.js";
import type { AgentMetrics } from "../core/metrics.js";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());

export async function startMetricsServer(
  listen: string,
  metrics: AgentMetrics,
  status: () => NodeStatus,
): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("only GET /metrics here\n");
      return;
    }
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const body = metrics.render(status(), {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      residentBytes: mem.rss,
      heapBytes: mem.heapTotal,
      startTimeSeconds,
    });
    res.writeHead(200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      "Cache-Control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
