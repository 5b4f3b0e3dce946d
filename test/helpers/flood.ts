// A bounded slow-connection flood for tests and benchmarks, on 127.0.0.1 only: `count` raw TCP
// connections spread over loopback source addresses (127.0.1.1, 127.0.1.2, … — all of 127/8 is
// local on Linux, so a per-client cap sees many clients), each doing one of:
//   idle     connect and send nothing;
//   headers  send a request line, then one more header line every `tickMs` (slowloris);
//   body     send complete webhook headers (a well-formed signature, Content-Length 100000), then
//            one body byte every `tickMs`.
// It never outlives `stop()` (or `maxMs`): every socket is destroyed. Counts what the server did.
import { Socket } from "node:net";

export type FloodKind = "idle" | "headers" | "body";

export interface FloodOptions {
  port: number;
  count: number;
  kinds: FloodKind[];
  /** Connections per source address (default 16). */
  perAddress?: number;
  /** First source address's third octet (default 1: 127.0.1.x). */
  octet?: number;
  /** Path of the slow requests (default /v1/webhooks/github). */
  path?: string;
  tickMs?: number;
  /** Hard end of the flood, ms (default 30 s). */
  maxMs?: number;
  /** Open a new connection whenever the server closes one (a sustained flood; still `count` at most at once). */
  sustain?: boolean;
}

export interface FloodStats {
  opened: number;
  /** Closed by the server (reset, end) while the flood ran. */
  closedByServer: number;
  /** First status line answered per code (e.g. "408", "503"). */
  answers: Record<string, number>;
  errors: number;
}

export interface Flood {
  stats: FloodStats;
  /** Connections of the flood still open. */
  open(): number;
  /** Connections opened so far (with `sustain`, more than `count`). */
  started(): number;
  stop(): void;
}

const fakeSignature = `sha256=${"0".repeat(64)}`;

function requestHead(kind: FloodKind, path: string): string {
  if (kind === "headers") return `POST ${path} HTTP/1.1\r\nHost: flood\r\n`;
  return [
    `POST ${path} HTTP/1.1`,
    "Host: flood",
    "Content-Type: application/json",
    "X-GitHub-Event: push",
    "X-GitHub-Delivery: flood",
    `X-Hub-Signature-256: ${fakeSignature}`,
    "Content-Length: 100000",
    "",
    "",
  ].join("\r\n");
}

export function startFlood(opts: FloodOptions): Flood {
  const stats: FloodStats = { opened: 0, closedByServer: 0, answers: {}, errors: 0 };
  const sockets = new Set<Socket>();
  const perAddress = opts.perAddress ?? 16;
  const path = opts.path ?? "/v1/webhooks/github";
  let stopped = false;
  let started = 0;
  const open = (i: number) => {
    started++;
    const kind = opts.kinds[i % opts.kinds.length] as FloodKind;
    const n = Math.floor(i / perAddress);
    const localAddress = `127.0.${(opts.octet ?? 1) + Math.floor(n / 250)}.${(n % 250) + 1}`;
    const socket = new Socket();
    sockets.add(socket);
    let timer: NodeJS.Timeout | undefined;
    socket.on("error", () => {
      stats.errors++;
    });
    socket.on("data", (d: Buffer) => {
      const code = /^HTTP\/1\.1 (\d{3})/.exec(d.toString("latin1"))?.[1];
      if (code) stats.answers[code] = (stats.answers[code] ?? 0) + 1;
    });
    socket.on("close", () => {
      if (timer) clearInterval(timer);
      sockets.delete(socket);
      if (stopped) return;
      stats.closedByServer++;
      // Like the attacker of a slow flood: the lost connection comes back a tick later.
      if (opts.sustain) setTimeout(() => !stopped && open(i), opts.tickMs ?? 1_000).unref();
    });
    socket.connect({ port: opts.port, host: "127.0.0.1", localAddress }, () => {
      stats.opened++;
      if (kind === "idle") return;
      socket.write(requestHead(kind, path));
      let k = 0;
      timer = setInterval(() => {
        if (socket.destroyed) return;
        socket.write(kind === "headers" ? `X-Pad-${k++}: x\r\n` : "a");
      }, opts.tickMs ?? 1_000);
    });
  };
  for (let i = 0; i < opts.count; i++) open(i);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(hardEnd);
    for (const s of sockets) s.destroy();
  };
  const hardEnd = setTimeout(stop, opts.maxMs ?? 30_000);
  hardEnd.unref();
  return { stats, open: () => sockets.size, started: () => started, stop };
}
