// The agent's loop with real podman (a busybox image built locally, --pull=never): converge,
// replace, a container removed by hand is restored, an orphan labelled container is removed while
// an unlabelled one is never touched.
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";

// Container names are global on a host: an app name of its own keeps parallel test files apart.
const app = `web${Math.random().toString(36).slice(2, 8)}`;
const dockerWrapper = fileURLToPath(new URL("../fixtures/apps/docker-via-podman.sh", import.meta.url));

import { converged, type Harness, makeHarness, startConverged, statusFor } from "./helpers/agent-harness.js";
import { desiredDoc, workload } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

const ok = requireTool("podman");

async function body(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    return await res.text();
  } catch {
    return null;
  }
}

const containerIds = async (filter: string[]): Promise<string[]> =>
  (await podman("ps", "-a", "-q", ...filter)).stdout.split("\n").filter(Boolean);

describe.skipIf(!ok)("agent loop with real podman", () => {
  let images: TestImages;
  let h: Harness;
  let node: string;
  const extra: string[] = [];

  beforeAll(async () => {
    images = await buildTestImages();
  }, 120_000);
  afterAll(async () => {
    await images?.remove();
  });
  beforeEach(async () => {
    node = uniqueNode("ag");
    h = await makeHarness(node);
  });
  afterEach(async () => {
    await h.cleanup();
    await removeNodeContainers(node);
    if (extra.length) await podman("rm", "-f", ...extra.splice(0));
  });

  const web = (image: string, hostPort: number) =>
    workload({
      app,
      runtime: "podman",
      image,
      port: images.port,
      hostPort,
      env: { GREETING: "hi" },
      health: {
        path: "/healthz",
        intervalSeconds: 0.2,
        timeoutSeconds: 1,
        startPeriodSeconds: 20,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
      },
    });

  it("converges, replaces start-first, and restores a container removed by hand", async () => {
    const p = await freePortPair();
    const v1 = desiredDoc(node, [web(images.v1, p)]);
    await startConverged(h, v1, { publishAddress: "127.0.0.1" });
    expect(await body(p)).toBe("v1");

    const v2 = desiredDoc(node, [web(images.v2, p)]);
    h.rec.publish(v2);
    const s = await statusFor(h, v2.hash, converged(v2.hash));
    expect(s.workloads[0]).toMatchObject({ hostPort: p + 1, state: "running", health: "healthy" });
    expect(await body(p + 1)).toBe("v2");
    expect(await body(p)).toBeNull();
    await waitFor(
      "one container left",
      async () => (await containerIds(["--filter", `label=berth.node=${node}`])).length === 1,
    );
    expect(h.logs.join("\n")).toContain(`replace ${app}-0: image ${images.v1} → ${images.v2}`);

    const ids = await containerIds(["--filter", `label=berth.node=${node}`]);
    await podman("rm", "-f", ids[0] as string);
    await waitFor(
      "container recreated",
      async () => (await body(p + 1)) === "v2" || (await body(p)) === "v2",
      60_000,
    );
    const repaired = await statusFor(
      h,
      v2.hash,
      (st) => st.phase === "converged" && st.drift?.repaired === 1,
    );
    expect(repaired.drift?.last).toMatch(new RegExp(`^create ${app}-0: no instance running`));
    expect(await containerIds(["--filter", `label=berth.node=${node}`])).toHaveLength(1);
  });

  it("runs the docker runtime through --docker-bin (a wrapper that execs podman here)", async () => {
    const p = await freePortPair();
    const w = workload({ ...web(images.v1, p), runtime: "docker" });
    const doc = desiredDoc(node, [w]);
    h.rec.publish(doc);
    await h.start({ publishAddress: "127.0.0.1", dockerBin: dockerWrapper });
    const s = await statusFor(h, doc.hash, converged(doc.hash));
    expect(s.workloads[0]).toMatchObject({ state: "running", health: "healthy" });
    expect(await body(p)).toBe("v1");
    const labels = await podman(
      "inspect",
      "--format",
      '{{index .Config.Labels "berth.workload"}}',
      `berth-${app}-0-a`,
    );
    expect(labels.stdout.trim()).toBe(`${app}-0`);
  });

  it("removes an orphan labelled container and never touches an unlabelled one", async () => {
    const p = await freePortPair();
    const ghostPort = await freePortPair();
    // A labelled container of a workload no document names (left from an earlier deploy).
    const orphan = await podman(
      "run",
      "-d",
      "--init",
      "--pull=never",
      "--name",
      `berth-ghost-0-a-${node}`,
      "--label",
      "berth.managed=true",
      "--label",
      "berth.app=ghost",
      "--label",
      "berth.workload=ghost-0",
      "--label",
      `berth.spec-hash=sha256:${"0".repeat(64)}`,
      "--label",
      "berth.slot=a",
      "--label",
      `berth.node=${node}`,
      "-p",
      `127.0.0.1:${ghostPort}:${images.port}`,
      images.v1,
    );
    expect(orphan.exitCode).toBe(0);
    extra.push(orphan.stdout.trim());
    // Someone else's container on the same host: no berth labels.
    const mine = await podman(
      "run",
      "-d",
      "--init",
      "--pull=never",
      "--name",
      `not-berth-${node}`,
      images.v1,
    );
    expect(mine.exitCode).toBe(0);
    const mineId = mine.stdout.trim();
    extra.push(mineId);

    const doc = desiredDoc(node, [web(images.v1, p)]);
    await startConverged(h, doc, { publishAddress: "127.0.0.1" });
    await waitFor(
      "orphan removed",
      async () =>
        (
          await containerIds([
            "--filter",
            "label=berth.workload=ghost-0",
            "--filter",
            `label=berth.node=${node}`,
          ])
        ).length === 0,
    );
    expect(h.logs.join("\n")).toContain("remove ghost-0 (slot a): not in the desired document");
    const inspect = await podman("inspect", "--format", "{{.State.Status}}", mineId);
    expect(inspect.stdout.trim()).toBe("running");
  });
});
