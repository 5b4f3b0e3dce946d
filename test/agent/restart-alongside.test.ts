// A crashed instance is restarted while another workload's new version is still waited on: the
// agent's passes are serial and a create/replace waits for health up to the start period and
// more, but a restart of an exited instance (gated by the crash book's delay, as always) must not
// wait behind it. Real processes (and real podman): web-0 serves, api-0 is replaced by a version
// that never becomes healthy with a 120 s start period, web-0 is killed -9, and web-0 must answer
// again long before that start period is over while api-0's attempt is still reported running.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NodeStatus, WorkloadStatus } from "../../schema/index.js";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueApp,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { appWorkload, type Harness, hit, makeHarness, startConverged } from "./helpers/agent-harness.js";
import { desiredDoc, workload } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

let h: Harness;
afterEach(async () => {
  await h?.cleanup();
});

/** The last `n` lines of the agent's pino log, as "level msg {fields}" (a failure's context). */
function logTail(logs: readonly string[], n: number): string {
  return logs
    .slice(-n)
    .map((l) => {
      try {
        const {
          level,
          msg,
          time: _t,
          pid: _p,
          hostname: _h,
          ...rest
        } = JSON.parse(l) as Record<string, unknown>;
        return `${String(level)} ${String(msg)} ${JSON.stringify(rest)}`;
      } catch {
        return l.trim();
      }
    })
    .join("\n");
}

const of = (s: NodeStatus | undefined, id: string) =>
  s?.workloads.find((w) => w.id === id) as WorkloadStatus | undefined;

describe("restarts do not wait behind another workload's health wait", () => {
  it("web-0 killed -9 while api-0's never-healthy replace is waited on: web-0 serves again at once", async () => {
    h = await makeHarness();
    const [p, q] = [await freePortPair(), await freePortPair()];
    const web = appWorkload({ app: "web", hostPort: p, reply: "web" });
    const api1 = appWorkload({ app: "api", hostPort: q, reply: "api v1" });
    await startConverged(h, desiredDoc(h.node, [web, api1]));
    const before = await hit(p);
    expect(before?.body).toBe("web");

    // api v2 never answers its health check: the replace waits out a 120 s start period.
    const base = appWorkload({ app: "api", hostPort: q, reply: "api v2", unhealthy: true });
    const api2 = workload({ ...base, health: { ...base.health, startPeriodSeconds: 120 } });
    const doc2 = desiredDoc(h.node, [web, api2]);
    h.rec.publish(doc2);
    await waitFor("api-0's replace to be waited on", () =>
      h.events.some((e) => e.type === "action-started" && e.kind === "replace" && e.workloadId === "api-0"),
    );
    const apiDone = () =>
      h.events.some(
        (e) =>
          (e.type === "action-succeeded" || e.type === "action-failed") &&
          e.kind === "replace" &&
          e.workloadId === "api-0",
      );

    process.kill(before?.pid as number, "SIGKILL");
    // Generous for a loaded machine, yet far below api v2's 120 s start period.
    const after = await waitFor(
      "web-0 to serve again",
      async () => {
        const r = await hit(p);
        return r && r.pid !== before?.pid ? r : undefined;
      },
      45_000,
    ).catch((e: Error) => {
      // Seen once in six runs of the agent suite under load ~20: say what the agent did meanwhile.
      throw new Error(`${e.message}; the agent's last log lines:\n${logTail(h.logs, 40)}`);
    });
    expect(after.body).toBe("web");
    // Restarted by the agent, alongside the wait: api-0's attempt has not ended.
    expect(apiDone()).toBe(false);
    await waitFor("web-0's restart to succeed", () =>
      h.events.some((e) => e.type === "action-succeeded" && e.kind === "start" && e.workloadId === "web-0"),
    );
    // The status says so: api-0's replace still running, web-0 running and counted as restarted.
    const s = await waitFor("a status with web-0 healthy again", () => {
      const st = h.rec.latest();
      const w = of(st, "web-0");
      return st?.desiredHash === doc2.hash && w?.health === "healthy" && (w.restarts ?? 0) >= 1
        ? st
        : undefined;
    });
    expect(of(s, "api-0")?.operation).toMatchObject({ status: "running", attempt: 1 });
    expect(of(s, "api-0")?.operation?.step).toMatch(/^replace api-0: /);
    expect(of(s, "web-0")?.lastExit).toMatchObject({ signal: "SIGKILL" });
    expect(s.phase).toBe("applying");
    expect(apiDone()).toBe(false);
    // Throughout the wait, what the status says of api-0 is what serves it (v1, healthy): the lane's
    // looks leave a workload with an action under way as the pass saw it.
    const during = h.rec.statuses.filter((st) => st.desiredHash === doc2.hash).map((st) => of(st, "api-0"));
    expect(during.length).toBeGreaterThan(2);
    for (const w of during) expect(w).toMatchObject({ specHash: api1.specHash, health: "healthy" });
    // api v1 never stopped serving.
    expect((await hit(q))?.body).toBe("api v1");
  });
});

const hasPodman = requireTool("podman");

describe.skipIf(!hasPodman)("restarts do not wait behind another workload's health wait (podman)", () => {
  let images: TestImages;
  let node: string;
  beforeAll(async () => {
    images = await buildTestImages();
  }, 120_000);
  afterAll(async () => {
    await images?.remove();
  });
  afterEach(async () => {
    await h?.cleanup();
    await removeNodeContainers(node);
  });

  const body = async (port: number): Promise<string | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
      return await res.text();
    } catch {
      return null;
    }
  };

  it("a container killed while another app's never-healthy container is waited on serves again at once", async () => {
    node = uniqueNode("ra");
    h = await makeHarness(node);
    const [p, q] = [await freePortPair(), await freePortPair()];
    const health = {
      path: "/healthz",
      intervalSeconds: 0.2,
      timeoutSeconds: 1,
      startPeriodSeconds: 120,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    };
    const box = (app: string, hostPort: number, image: string) =>
      workload({ app, runtime: "podman", image, port: images.port, hostPort, health });
    const [webApp, apiApp] = [uniqueApp("web"), uniqueApp("api")];
    const web = box(webApp, p, images.v1);
    await startConverged(h, desiredDoc(node, [web, box(apiApp, q, images.v1)]), {
      publishAddress: "127.0.0.1",
    });
    expect(await body(p)).toBe("v1");

    const doc2 = desiredDoc(node, [web, box(apiApp, q, images.broken)]);
    h.rec.publish(doc2);
    await waitFor("the never-healthy replace to be waited on", () =>
      h.events.some((e) => e.type === "action-started" && e.kind === "replace"),
    );
    const apiDone = () =>
      h.events.some(
        (e) => (e.type === "action-succeeded" || e.type === "action-failed") && e.kind === "replace",
      );
    const killed = await podman("kill", "--signal", "KILL", `berth-${web.id}-a`);
    expect(killed.exitCode).toBe(0);
    await waitFor("the killed container to be down", async () => (await body(p)) === null, 15_000);
    await waitFor("web to serve again", async () => (await body(p)) === "v1", 40_000);
    expect(apiDone()).toBe(false);
    const s = await waitFor("a status with web restarted", () => {
      const st = h.rec.latest();
      const w = of(st, web.id);
      return st?.desiredHash === doc2.hash && w?.health === "healthy" && (w.restarts ?? 0) >= 1
        ? st
        : undefined;
    });
    expect(of(s, `${apiApp}-0`)?.operation).toMatchObject({ status: "running" });
    expect(apiDone()).toBe(false);
    expect(await body(q)).toBe("v1");
  }, 120_000);
});
