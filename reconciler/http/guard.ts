// Connection budgets of an API listener, so a flood of slow or idle connections cannot take the
// reconciler down (file descriptors, memory) nor crowd out its agents:
//   - a cap on open connections per client address (more are closed at once, before a byte is
//     read) and in total. At the total cap a new connection is not refused outright: the oldest
//     connection that is not serving a request (still sending its first headers, or idle between
//     requests) is closed to make room, so junk connections are the first to go and an agent,
//     whose request arrives within milliseconds, still gets in. Only when every connection is
//     busy with a request is the newcomer refused;
//   - deadlines for a request's headers (headersTimeout, which also cuts a connection that sends
//     nothing) and for a whole request with its body (requestTimeout; responses, such as
//     long-polls, are not limited by it), checked every quarter of the header deadline instead of
//     node's default 30 s;
//   - idle keep-alive connections are closed after keepAliveTimeoutMs.
// Refusals are counted per listener and reason and logged at most once a minute. Wiring only: the
// routes never see a refused connection.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";

export interface ConnectionBudget {
  /** Open connections on this listener. */
  maxConnections: number;
  /** Open connections from one client address; more are closed at once. */
  maxPerClient: number;
  /** A request's headers (the first one's too, even when nothing is sent) must arrive within this time. */
  headersTimeoutMs: number;
  /** A request (headers and body) must arrive completely within this time. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
}

/**
 * The agents' and readers' listener: an agent keeps one or two connections (long-poll, status);
 * a fleet behind one NAT address shares the per-client cap, hence its generous default.
 */
export const apiBudget: ConnectionBudget = {
  maxConnections: 4096,
  maxPerClient: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
};

/** The public webhook listener (--webhook-listen): forges send one short request per delivery. */
export const webhookBudget: ConnectionBudget = {
  maxConnections: 512,
  maxPerClient: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
};

export type RefusalReason = "total" | "per_client" | "evicted";

export interface GuardHooks {
  refused(reason: RefusalReason): void;
  opened(): void;
  closed(): void;
}

/** Server options that must be given at creation (node reads them only there). */
export function serverOptions(b: ConnectionBudget): {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    headersTimeout: b.headersTimeoutMs,
    requestTimeout: Math.max(b.requestTimeoutMs, b.headersTimeoutMs),
    keepAliveTimeout: b.keepAliveTimeoutMs,
    // Node looks for expired headers and requests this often (default 30 s, far past the deadlines).
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, b.headersTimeoutMs / 4)),
  };
}

/**
 * Lowers the caps of `budgets` (in proportion) so that their connections plus `reserve` file
 * descriptors fit under the process's open-file limit. Returns the budgets to use and whether they
 * were lowered. Pure.
 */
export function fitToFdLimit(
  budgets: ConnectionBudget[],
  fdLimit: number | null,
  reserve = 256,
): { budgets: ConnectionBudget[]; lowered: boolean } {
  const wanted = budgets.reduce((n, b) => n + b.maxConnections, 0);
  if (fdLimit === null || wanted + reserve <= fdLimit) return { budgets, lowered: false };
  const room = Math.max(budgets.length * 16, fdLimit - reserve);
  const scale = room / wanted;
  return {
    budgets: budgets.map((b) => {
      const maxConnections = Math.max(16, Math.floor(b.maxConnections * scale));
      return { ...b, maxConnections, maxPerClient: Math.min(b.maxPerClient, maxConnections) };
    }),
    lowered: true,
  };
}

interface Tracked {
  /** Requests being served on the connection (0: evictable). */
  busy: number;
  /** The TCP socket (under TLS, the one beneath the request's socket). */
  socket: Socket;
}

/**
 * A connection's key: its peer address and port. Under TLS a request's socket is the TLS socket,
 * not the TCP socket the connection event saw; both have the same peer.
 */
const peerKey = (s: Socket): string => `${s.remoteAddress ?? "?"}|${s.remotePort ?? "?"}`;

/** Applies the budget to `server`. */
export function guardConnections(
  server: Server,
  budget: ConnectionBudget,
  listener: string,
  logger: Logger,
  hooks: GuardHooks,
): void {
  const perClient = new Map<string, number>();
  // Every open connection, the least recently busy first: the front holds eviction candidates.
  const open = new Map<Socket, Tracked>();
  const byPeer = new Map<string, Tracked>();
  const refusedSince: Record<RefusalReason, number> = { total: 0, per_client: 0, evicted: 0 };
  let lastLog = 0;
  const refuse = (reason: RefusalReason) => {
    refusedSince[reason]++;
    hooks.refused(reason);
    const now = Date.now();
    if (now - lastLog < 60_000) return;
    lastLog = now;
    logger.warn(
      { listener, refused: { ...refusedSince }, budget },
      "connections refused or evicted: a connection cap is reached (a flood, or caps too low for this fleet)",
    );
    for (const k of Object.keys(refusedSince) as RefusalReason[]) refusedSince[k] = 0;
  };
  const evictOne = (): boolean => {
    for (const [socket, t] of open) {
      if (t.busy > 0) continue;
      refuse("evicted");
      open.delete(socket);
      socket.destroy();
      return true;
    }
    return false;
  };

  server.on("connection", (socket: Socket) => {
    const client = socket.remoteAddress ?? "unknown";
    const fromClient = (perClient.get(client) ?? 0) + 1;
    if (fromClient > budget.maxPerClient) {
      refuse("per_client");
      socket.destroy();
      return;
    }
    if (open.size >= budget.maxConnections && !evictOne()) {
      refuse("total");
      socket.destroy();
      return;
    }
    perClient.set(client, fromClient);
    const t: Tracked = { busy: 0, socket };
    open.set(socket, t);
    const key = peerKey(socket);
    byPeer.set(key, t);
    hooks.opened();
    socket.once("close", () => {
      hooks.closed();
      open.delete(socket);
      if (byPeer.get(key) === t) byPeer.delete(key);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });

  /** Marks the connection busy while the request is served; idle (and last in line) after. */
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const t = byPeer.get(peerKey(req.socket));
    if (!t) return;
    t.busy++;
    res.once("close", () => {
      t.busy--;
      if (t.busy === 0 && open.has(t.socket)) {
        open.delete(t.socket);
        open.set(t.socket, t);
      }
    });
  });
}

/** The soft limit on open files of this process (Linux /proc), or null when unknown. */
export function readFdLimit(read: (path: string) => string): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(read("/proc/self/limits"));
    if (!m?.[1] || m[1] === "unlimited") return null;
    return Number(m[1]);
  } catch {
    return null;
  }
}
