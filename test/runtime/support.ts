// Small shared pieces of the runtime and ingress tests: a Workload builder, free port pairs (each
// workload owns hostPort and hostPort+1), polling with a deadline, and a plain HTTP GET.
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Workload } from "../../schema/index.js";

export { freePortPair } from "../helpers/ports.js";

export const appScript = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
export const dockerWrapper = fileURLToPath(new URL("../fixtures/apps/docker-via-podman.sh", import.meta.url));

export const fastHealth: Workload["health"] = {
  path: "/healthz",
  intervalSeconds: 0.2,
  timeoutSeconds: 1,
  startPeriodSeconds: 10,
  healthyThreshold: 1,
  unhealthyThreshold: 3,
};

export function workload(over: Partial<Workload> & Pick<Workload, "id" | "hostPort">): Workload {
  const app = over.app ?? over.id.replace(/-\d+$/, "");
  return {
    app,
    replica: 0,
    runtime: "process",
    env: {},
    health: fastHealth,
    volumes: [],
    strategy: "start-first",
    specHash: `sha256:${"a".repeat(64)}`,
    ...over,
  };
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(50);
  }
}

export interface GetResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One GET on a fresh connection (no pooling), optionally with a Host header. */
export function httpGet(url: string, host?: string): Promise<GetResult> {
  return new Promise((ok, fail) => {
    const req = request(url, { agent: false, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => ok({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on("error", fail);
    req.end();
  });
}

/** True when `pid` exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
