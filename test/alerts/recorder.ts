// A recording HTTP receiver on 127.0.0.1 standing in for what cannot be reached here (a team's
// webhook endpoint, Slack). Modes: "ok" answers 204; "flaky" answers 500 to the first attempt
// of every delivery id and 204 to the next (so every message needs a retry); "hold" keeps each
// request open until release() (a receiver that hangs). Records accepted messages only, with
// their raw body and headers, plus every attempt.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  headers: IncomingMessage["headers"];
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  body: any;
}

export interface Recorder {
  url: string;
  messages: Received[];
  attempts: number;
  /** Requests being held open ("hold" mode). */
  held(): number;
  release(): void;
  close(): Promise<void>;
}

export function hmacValid(key: string, r: Received): boolean {
  const want = Buffer.from(`sha256=${createHmac("sha256", key).update(r.raw).digest("hex")}`);
  const got = Buffer.from(String(r.headers["x-berth-signature-256"] ?? ""));
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function startRecorder(mode: "ok" | "flaky" | "hold" = "ok"): Promise<Recorder> {
  const messages: Received[] = [];
  const tried = new Set<string>();
  let holding: { res: ServerResponse; accept: () => void }[] = [];
  let releasing = false;
  let attempts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      attempts++;
      const raw = Buffer.concat(chunks).toString("utf8");
      const accept = () => {
        messages.push({ headers: req.headers, raw, body: JSON.parse(raw) });
        res.writeHead(204).end();
      };
      const id = String(req.headers["x-berth-delivery"]);
      if (mode === "flaky" && !tried.has(id)) {
        tried.add(id);
        res.writeHead(500).end("try again");
        return;
      }
      if (mode === "hold" && !releasing) {
        holding.push({ res, accept });
        return;
      }
      accept();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    messages,
    get attempts() {
      return attempts;
    },
    held: () => holding.length,
    release() {
      releasing = true;
      for (const h of holding) h.accept();
      holding = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        releasing = true;
        for (const h of holding) h.res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
