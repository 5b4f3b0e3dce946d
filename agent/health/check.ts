// Health checks the agent runs itself (podman's healthcheck timers need systemd, which these hosts
// lack): an HTTP GET of the app's health path on its host port (2xx/3xx is healthy), or a TCP
// connect when no path is given. One fresh connection per check, so a dead server is never hidden
// behind a pooled keep-alive connection. It decides nothing about what to do with the answer.
import { request } from "node:http";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Workload } from "../../schema/index.js";
import { loopbackOnlyDetail } from "../core/address.js";

export interface HealthTarget {
  host: string;
  port: number;
  /** HTTP path to GET; without one the check is a TCP connect. */
  path?: string;
  timeoutMs: number;
  /**
   * When a check at `host` fails, check 127.0.0.1 too: an app that answers there listens on
   * loopback only, which proxies on other nodes cannot reach; the detail says so.
   */
  loopbackHint?: boolean;
}

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** HTTP status, when an answer came. */
  status?: number;
  /** Code of a failed connection (ECONNREFUSED…) or "timeout". */
  error?: string;
}

/** One check: HTTP GET of target.path (2xx/3xx ok) or a TCP connect when there is no path. */
export async function checkOnce(target: HealthTarget): Promise<CheckResult> {
  const r = await checkAt(target);
  if (r.ok || !target.loopbackHint) return r;
  const local = await checkAt({ ...target, host: "127.0.0.1" });
  return local.ok
    ? { ok: false, detail: loopbackOnlyDetail(target.host, target.port, r.detail), error: "loopback-only" }
    : r;
}

function checkAt(target: HealthTarget): Promise<CheckResult> {
  return target.path === undefined ? tcpCheck(target) : httpCheck(target as HealthTarget & { path: string });
}

function hostPort(t: HealthTarget): string {
  return t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

function httpCheck(t: HealthTarget & { path: string }): Promise<CheckResult> {
  const url = `http://${hostPort(t)}${t.path}`;
  return new Promise((done) => {
    let settled = false;
    const finish = (r: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(r);
    };
    const req = request({ host: t.host, port: t.port, path: t.path, method: "GET", agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume(); // drain: the body is not needed
      const ok = status >= 200 && status < 400;
      finish({ ok, detail: `GET ${url}: HTTP ${status}`, status });
      req.destroy();
    });
    const timer = setTimeout(() => {
      finish({ ok: false, detail: `GET ${url}: no answer within ${t.timeoutMs} ms`, error: "timeout" });
      req.destroy();
    }, t.timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `GET ${url}: ${e.code ?? e.message}`, error: e.code ?? e.message }),
    );
    req.end();
  });
}

function tcpCheck(t: HealthTarget): Promise<CheckResult> {
  const where = `TCP ${hostPort(t)}`;
  return new Promise((done) => {
    const socket = connect({ host: t.host, port: t.port });
    const finish = (r: CheckResult) => {
      clearTimeout(timer);
      socket.destroy();
      done(r);
    };
    const timer = setTimeout(
      () =>
        finish({ ok: false, detail: `${where}: no connection within ${t.timeoutMs} ms`, error: "timeout" }),
      t.timeoutMs,
    );
    socket.once("connect", () => finish({ ok: true, detail: `${where}: connected` }));
    socket.once("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `${where}: ${e.code ?? e.message}`, error: e.code ?? e.message }),
    );
  });
}

export interface WaitResult extends CheckResult {
  attempts: number;
  /** The last single check, as data. */
  last: CheckResult;
}

/**
 * Answers that say the app is up but the health path is wrong (no such path, needs credentials,
 * wrong method): waiting out the start period would not change them, so they count at once.
 */
export const definitiveFailure = (status: number | undefined): boolean =>
  status !== undefined && [401, 403, 404, 405, 410].includes(status);

/**
 * While a fresh instance is still failing in its start period it is re-checked every 25 ms for
 * its first 2 s (a refused connection on this host costs ~0.1 ms), then at a doubling pace from
 * 100 ms up to the interval: most apps are seen healthy within one fast period of listening.
 */
const fastRetryMs = 25;
const fastPhaseMs = 2_000;
const slowRetryStartMs = 100;

/**
 * Waits until `healthyThreshold` checks in a row pass. Failures during the start period do not
 * count; after it, `unhealthyThreshold` failures in a row (`intervalSeconds` apart) give up.
 * During the start period failing checks are repeated fast (every 25 ms for 2 s, then doubling
 * from 100 ms up to the interval), so a quick app is seen healthy within milliseconds of
 * listening; consecutive successes are `intervalSeconds` apart. An answer that names a wrong
 * health path (404, 410, 401, 403, 405) counts as a failure even during the start period (the
 * app is up; its answer will not change), `intervalSeconds` apart. Without `target.path` the
 * health path is used, and without either it is a TCP check. An aborted signal ends the wait with
 * ok: false (the caller's deadline), never an exception.
 */
export async function waitHealthy(
  target: Omit<HealthTarget, "timeoutMs"> & { timeoutMs?: number },
  health: Workload["health"],
  signal?: AbortSignal,
): Promise<WaitResult> {
  const intervalMs = health.intervalSeconds * 1000;
  const started = Date.now();
  const startEnds = started + health.startPeriodSeconds * 1000;
  const t: HealthTarget = {
    host: target.host,
    port: target.port,
    path: target.path ?? health.path,
    timeoutMs: target.timeoutMs ?? health.timeoutSeconds * 1000,
    ...(target.loopbackHint ? { loopbackHint: true } : {}),
  };
  let attempts = 0;
  let passes = 0;
  let failsAfterStart = 0;
  let slowPause = slowRetryStartMs;
  let last: CheckResult = { ok: false, detail: "not checked" };
  for (;;) {
    if (signal?.aborted)
      return {
        ok: false,
        detail: `gave up (deadline) after ${attempts} checks; last: ${last.detail}`,
        attempts,
        last,
      };
    attempts++;
    last = await checkOnce(t);
    let pause = intervalMs;
    if (last.ok) {
      passes++;
      failsAfterStart = 0;
      if (passes >= health.healthyThreshold) return { ...last, attempts, last };
    } else {
      passes = 0;
      if (Date.now() >= startEnds || definitiveFailure(last.status)) {
        failsAfterStart++;
        if (failsAfterStart >= health.unhealthyThreshold) {
          return {
            ok: false,
            detail: `unhealthy after ${attempts} checks; last: ${last.detail}`,
            attempts,
            last,
          };
        }
      } else {
        // Still starting: look again soon, then less and less often.
        let next = fastRetryMs;
        if (Date.now() - started >= fastPhaseMs) {
          next = slowPause;
          slowPause *= 2;
        }
        pause = Math.min(intervalMs, next, Math.max(1, startEnds - Date.now()));
      }
    }
    try {
      await sleep(pause, undefined, { signal });
    } catch {
      // aborted: reported at the top of the loop
    }
  }
}
