// Why it failed, with real podman: an image that is not on the node (and cannot be pulled: berth
// never pulls), a container that exits before it is healthy (its code and its last lines, at once,
// not after its 10-minute start period), a crash loop of fresh containers counted per spec, and a
// host port taken by another program. Each time the v1 container keeps serving.
import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NodeStatus, Workload, WorkloadStatus } from "../../schema/index.js";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { type Harness, makeHarness, startConverged, statusFor } from "./helpers/agent-harness.js";
import { desiredDoc, workload } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

const ok = requireTool("podman");
const app = `fail${Math.random().toString(36).slice(2, 8)}`;
const SECRET = "podman-s3cret-never-shown";

async function body(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    return await res.text();
  } catch {
    return null;
  }
}

describe.skipIf(!ok)("failures with real podman: the cause, where people look", () => {
  let images: TestImages;
  let h: Harness;
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

  const web = (p: number, over: Partial<Workload> = {}) =>
    workload({
      app,
      runtime: "podman",
      image: images.v1,
      port: images.port,
      hostPort: p,
      env: { API_TOKEN: SECRET },
      health: {
        path: "/healthz",
        intervalSeconds: 0.2,
        timeoutSeconds: 1,
        startPeriodSeconds: 600,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
      },
      ...over,
    });
  const w0 = (s: NodeStatus) => s.workloads[0] as WorkloadStatus;

  /** v1 converged, then `next` published; resolves with the first status of it that has a cause. */
  async function failing(p: number, next: Workload, pred: (w: WorkloadStatus) => boolean = () => true) {
    node = uniqueNode("fp");
    h = await makeHarness(node);
    await startConverged(h, desiredDoc(node, [web(p)]), { publishAddress: "127.0.0.1" });
    expect(await body(p)).toBe("v1");
    const doc = desiredDoc(node, [next]);
    h.rec.publish(doc);
    const s = await statusFor(h, doc.hash, (st) => Boolean(w0(st)?.operation?.cause && pred(w0(st))));
    return w0(s);
  }

  it("an image that is not on the node: said in words, whose failure (runtime); v1 keeps serving", async () => {
    const p = await freePortPair();
    const image = `localhost/berth-test-unpullable-${process.pid}:2`;
    const w = await failing(p, web(p, { image }));
    expect(w.operation?.cause).toEqual({
      where: "runtime",
      message: `image ${image} is not on this node, and berth runs images without pulling them (--pull=never): pull or load it on the node`,
    });
    expect(w).toMatchObject({ state: "failed", health: "healthy" });
    expect(await body(p)).toBe("v1");
  });

  it("a container that exits before it is healthy: exit code and last lines at once; a loop of fresh containers is counted", async () => {
    const p = await freePortPair();
    const crash = web(p, {
      image: images.v2,
      command: [
        "/bin/busybox",
        "sh",
        "-c",
        `echo starting; echo "fatal: cannot open /data/db (token $API_TOKEN)" >&2; exit 3`,
      ],
    });
    const w = await failing(p, crash);
    expect(w.operation?.cause?.where).toBe("workload");
    expect(w.operation?.cause?.message).toMatch(
      /^exited with code 3 .*\(before it became healthy\); it printed: fatal: cannot open \/data\/db \(token \[redacted\]\)$/,
    );
    expect(w.lastExit).toMatchObject({
      code: 3,
      output: ["starting", "fatal: cannot open /data/db (token [redacted])"],
    });
    expect(await body(p)).toBe("v1");
    // Every retry is a fresh container, yet restarts go on and it is named a crash loop.
    const looping = await statusFor(
      h,
      h.rec.latest()?.desiredHash as string,
      (st) => w0(st)?.state === "crash-looping",
    );
    expect(w0(looping).restarts).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(h.rec.statuses)).not.toContain(SECRET);
    expect(await body(p)).toBe("v1");
  });

  it("a host port taken by another program: says which port; v1 keeps serving", async () => {
    const p = await freePortPair();
    const squatter = createServer();
    // The new container goes to slot b (p + 1): hold it before the replace.
    await new Promise<void>((r) => squatter.listen(p + 1, "127.0.0.1", r));
    try {
      const w = await failing(p, web(p, { image: images.v2 }));
      expect(w.operation?.cause).toMatchObject({ where: "runtime" });
      expect(w.operation?.cause?.message).toMatch(
        new RegExp(`^host port ${p + 1} is taken by a program berth did not start`),
      );
      expect(await body(p)).toBe("v1");
      // Nothing of the failed attempt is left (podman leaves a Created container on a port clash).
      await waitFor("no leftover in slot b", async () => {
        const r = await podman(
          "ps",
          "-a",
          "-q",
          "--filter",
          `label=berth.node=${node}`,
          "--filter",
          "label=berth.slot=b",
        );
        return r.stdout.trim() === "";
      });
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});
