// A client process that runs inside a host's network namespace (test/helpers/netns.ts) and does
// HTTP for the test process, which cannot reach the cluster network from the root namespace.
// Driven by JSON lines on stdin, answers JSON lines on stdout:
//   {"id":1,"op":"get","url":"http://10.77.0.2:7070/v1/nodes","headers":{…}}
//     → {"id":1,"ok":true,"result":{"status":200,"body":"…"}}
//   {"id":2,"op":"loadStart","name":"l","url":…,"headers":{…},"rate":200,"maxMs":60000,"maxCount":20000}
//   {"id":3,"op":"loadStop","name":"l"} → every request's start, latency and outcome
//     ("wait":true: when the load's own bounds end it, instead of now)
// Load is open-loop (requests start on schedule whether or not earlier ones answered) and bounded
// in count and time. Connections are kept alive, as a browser does; like a browser (and curl), a
// request whose REUSED connection the server closed before answering is sent again once on a new
// connection (RFC 9112 §9.3.1) — counted apart as `resent`, never hidden.
import { Agent, request } from "node:http";
import { Agent as TlsAgent, request as tlsRequest } from "node:https";
import { createInterface } from "node:readline";

interface Sample {
  /** ms from the start of the load to the request's start. */
  t: number;
  /** ms until the whole answer was read, or until the error. */
  ms: number;
  /** HTTP status, or the error code (ECONNRESET, ETIMEDOUT, …). */
  outcome: number | string;
  /** The answer's body, trimmed (at most 40 characters). */
  body?: string;
  /** Sent again on a new connection after the server closed a reused one. */
  resent?: boolean;
}

interface Load {
  samples: Sample[];
  inflight: Set<Promise<void>>;
  timer: NodeJS.Timeout;
  done: Promise<void>;
  stop(): void;
}

const agent = new Agent({ keepAlive: true, maxSockets: 512 });
// https URLs (the reconciler over TLS): the CA comes from NODE_EXTRA_CA_CERTS, as for agents.
const tlsAgent = new TlsAgent({ keepAlive: true, maxSockets: 64 });
const loads = new Map<string, Load>();

function send(msg: unknown): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function once(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs: number;
    fresh?: boolean;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const tls = url.startsWith("https:");
    const req = (tls ? tlsRequest : request)(
      url,
      {
        method: opts.method ?? "GET",
        headers: opts.headers ?? {},
        agent: opts.fresh ? false : tls ? tlsAgent : agent,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            headers: res.headers,
          });
        });
        res.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => {
      const e = new Error(`no answer within ${opts.timeoutMs} ms`) as NodeJS.ErrnoException;
      e.code = "ETIMEDOUT";
      req.destroy(e);
    }, opts.timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A reused keep-alive connection closed by the server before any answer: resend once.
      if (!answered && req.reusedSocket && !opts.fresh && (e.code === "ECONNRESET" || e.code === "EPIPE")) {
        e.code = `RESEND:${e.code}`;
      }
      reject(e);
    });
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

async function fetchOnce(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<Answer & { resent: boolean }> {
  try {
    return { ...(await once(url, opts)), resent: false };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (!code.startsWith("RESEND:")) throw err;
    return { ...(await once(url, { ...opts, fresh: true })), resent: true };
  }
}

function startLoad(msg: {
  name: string;
  url: string;
  headers?: Record<string, string>;
  rate: number;
  maxMs: number;
  maxCount: number;
  timeoutMs?: number;
  /** false: a new connection for every request (default: kept alive, as a browser does). */
  keepAlive?: boolean;
}): void {
  if (loads.has(msg.name)) throw new Error(`load ${msg.name} is running already`);
  const samples: Sample[] = [];
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  const every = 1000 / msg.rate;
  let next = 0;
  let stopped = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((ok) => {
    finish = ok;
  });
  const fire = (): void => {
    const t = performance.now() - start;
    const opts = { headers: msg.headers ?? {}, timeoutMs: msg.timeoutMs ?? 30_000 };
    const p = (
      msg.keepAlive === false
        ? once(msg.url, { ...opts, fresh: true }).then((a) => ({ ...a, resent: false }))
        : fetchOnce(msg.url, opts)
    ).then(
      (a) => {
        samples.push({
          t,
          ms: performance.now() - start - t,
          outcome: a.status,
          body: a.body.trim().slice(0, 40),
          ...(a.resent ? { resent: true } : {}),
        });
      },
      (e: NodeJS.ErrnoException) => {
        samples.push({ t, ms: performance.now() - start - t, outcome: e.code ?? e.message });
      },
    );
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  };
  const tick = (): void => {
    const now = performance.now() - start;
    if (stopped || now >= msg.maxMs || next >= msg.maxCount) {
      stopped = true;
      clearInterval(timer);
      finish();
      return;
    }
    while (next * every <= now && next < msg.maxCount) {
      next++;
      fire();
    }
  };
  const timer = setInterval(tick, Math.max(1, Math.min(5, every / 2)));
  loads.set(msg.name, {
    samples,
    inflight,
    timer,
    done,
    stop() {
      stopped = true;
      tick();
    },
  });
}

/** Ends the load (now, or when `wait`: when its own bounds end it) and returns its samples. */
async function stopLoad(name: string, wait = false): Promise<{ samples: Sample[] }> {
  const load = loads.get(name);
  if (!load) throw new Error(`no load named ${name}`);
  if (!wait) load.stop();
  await load.done;
  await Promise.allSettled([...load.inflight]);
  loads.delete(name);
  return { samples: load.samples.sort((a, b) => a.t - b.t) };
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let msg: { id: number; op: string; [k: string]: unknown };
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  const reply = (p: Promise<unknown>) =>
    p.then(
      (result) => send({ id: msg.id, ok: true, result }),
      (e: Error) => send({ id: msg.id, ok: false, error: e.message }),
    );
  switch (msg.op) {
    case "get":
    case "request":
      reply(
        fetchOnce(msg.url as string, {
          method: (msg.method as string) ?? "GET",
          headers: (msg.headers as Record<string, string>) ?? {},
          ...(msg.body !== undefined ? { body: msg.body as string } : {}),
          timeoutMs: (msg.timeoutMs as number) ?? 30_000,
        }).then((a) => ({ status: a.status, body: a.body, headers: a.headers })),
      );
      break;
    case "loadStart":
      reply(Promise.resolve().then(() => startLoad(msg as never)));
      break;
    case "loadStop":
      reply(stopLoad(msg.name as string, msg.wait === true));
      break;
    default:
      send({ id: msg.id, ok: false, error: `unknown op ${msg.op}` });
  }
});
rl.on("close", () => process.exit(0));
send({ id: 0, ok: true, result: "ready" });
