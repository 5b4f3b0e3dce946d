// The whole GitOps loop on one host with podman containers behind a real Caddy: commit →
// converged → HTTP through Caddy; a new image replaces start-first; a never-healthy image is
// reported failed while the old version keeps serving and is retried with backoff (no tight
// loop); rollback converges back. Images are busybox httpd built locally (no registry here).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentEvent } from "../../agent/index.js";
import { rollback } from "../../cli/commands/rollback.js";
import type { WorkloadStatus } from "../../schema/index.js";
import { makeRepo } from "../helpers/git-repo.js";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueApp,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { type Bed, randomPortBase, repoBed, waitFor } from "./helpers.js";

const ok = requireTool("git") && requireTool("podman") && requireTool("caddy", ["version"]);

// Container names are global on a host, and containers are found by their node label: both are
// unique to this run so parallel test files never see each other's containers.
const node = uniqueNode("e2e");
const app = uniqueApp("web");
const domain = `${app}.localhost`;

const appYaml = (image: string, port: number) =>
  [
    "kind: App",
    `name: ${app}`,
    `image: ${image}`,
    `port: ${port}`,
    "replicas: 2",
    "health:",
    "  path: /healthz",
    "  intervalSeconds: 0.5",
    "  timeoutSeconds: 1",
    // Long enough for a container to come up on a busy machine, short enough that the broken
    // image is declared unhealthy within seconds.
    "  startPeriodSeconds: 3",
    "  unhealthyThreshold: 2",
    "",
  ].join("\n");

const appFile = `apps/${app}.yaml`;

/** Containers of this test's node, running or not. */
async function nodeContainers(): Promise<{ name: string; state: string; image: string }[]> {
  const r = await podman(
    "ps",
    "-a",
    "--format",
    "json",
    "--filter",
    "label=berth.managed=true",
    "--filter",
    `label=berth.node=${node}`,
  );
  const list = JSON.parse(r.stdout || "[]") as { Names: string[]; State: string; Image: string }[];
  return list.map((c) => ({ name: c.Names[0] ?? "", state: c.State, image: c.Image }));
}

describe.skipIf(!ok)("single host, end to end with podman (real Caddy)", () => {
  let images: TestImages;
  let bed: Bed;
  let v2Commit: string;
  const events: { at: number; e: AgentEvent }[] = [];

  const appWorkloads = (): WorkloadStatus[] => bed.host.agent.status().workloads.filter((w) => w.app === app);
  /** The body every request through Caddy answers, once several requests agree (both replicas). */
  async function servedBody(): Promise<string> {
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await bed.get(domain);
      expect(r.status).toBe(200);
      bodies.add(r.body.trim());
    }
    expect(bodies.size).toBe(1);
    return [...bodies][0] as string;
  }

  beforeAll(async () => {
    images = await buildTestImages();
    const base = randomPortBase();
    const repo = await makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      [`nodes/${node}.yaml`]: [
        "kind: Node",
        `name: ${node}`,
        "address: 127.0.0.1",
        "roles: [worker, proxy]",
        "runtime: podman",
        `portRange: [${base}, ${base + 99}]`,
        "",
      ].join("\n"),
      [appFile]: appYaml(images.v1, images.port),
      [`domains/${domain}.yaml`]: `kind: Domain\nhost: ${domain}\napp: ${app}\ntls: "off"\n`,
    });
    // No publishAddress: the agent publishes on the node's address from the desired document.
    bed = await repoBed(repo, {
      onAgentEvent: (e) => events.push({ at: Date.now(), e }),
    });
    await bed.start();
  }, 180_000);

  afterAll(async () => {
    await bed?.cleanup();
    await removeNodeContainers(node);
    await images?.remove();
  }, 120_000);

  it("converges on the first commit and serves v1 through Caddy", async () => {
    expect(bed.host.caddy).not.toBeNull();
    await bed.converged(bed.repo.git("rev-parse", "HEAD"), 120_000);
    expect(await servedBody()).toBe("v1");
    const running = (await nodeContainers()).filter((c) => c.state === "running");
    expect(running.map((c) => c.image).sort()).toEqual([images.v1, images.v1]);
    // Published on the node's address (127.0.0.1 here), not on every interface.
    for (const c of running) {
      const ports = (await podman("port", c.name)).stdout.trim().split("\n");
      expect(
        ports.every((p) => /-> 127\.0\.0\.1:\d+$/.test(p)),
        ports.join("; "),
      ).toBe(true);
    }
  }, 180_000);

  it("replaces both replicas start-first with a new image and serves v2", async () => {
    const text = bed.repo.git("show", `HEAD:${appFile}`);
    v2Commit = await bed.repo.commit({ [appFile]: text.replace(images.v1, images.v2) }, "web: v2");
    await bed.converged(v2Commit, 120_000);
    expect(await servedBody()).toBe("v2");
    for (const w of appWorkloads()) expect(w).toMatchObject({ state: "running", health: "healthy" });
    // The v1 containers were stopped once their v2 successors were healthy.
    await waitFor("only v2 containers running", async () => {
      const running = (await nodeContainers()).filter((c) => c.state === "running");
      return running.length === 2 && running.every((c) => c.image === images.v2);
    });
  }, 180_000);

  it("reports a never-healthy image as failed, keeps v2 serving, and retries with backoff", async () => {
    const text = bed.repo.git("show", `HEAD:${appFile}`);
    const bad = await bed.repo.commit({ [appFile]: text.replace(images.v2, images.broken) }, "web: broken");
    await waitFor(
      "the broken commit published",
      () => bed.host.reconciler.published().commit === bad,
      30_000,
    );
    const failed = await waitFor(
      "the agent to report the replace failed",
      () => {
        const st = bed.host.agent.status();
        const w = appWorkloads().find((x) => x.operation?.lastError);
        return st.phase !== "converged" && w ? { st, w } : false;
      },
      90_000,
    );
    expect(failed.st.appliedHash).not.toBe(bed.host.reconciler.desired(node)?.hash);
    expect(failed.w.operation?.lastError).toMatch(/never became healthy/);
    expect(failed.w.operation?.retryable).toBe(true);
    // The old version keeps serving through Caddy.
    expect(await servedBody()).toBe("v2");

    // No tight loop: each retry of a workload waits the backoff its failure announced, that wait
    // grows, and over 10 s only a handful of attempts start (each failing one also takes its
    // start period).
    const ofApp = (e: AgentEvent) => "workloadId" in e && e.workloadId.startsWith(`${app}-`);
    const firstFailure = events.find(({ e }) => e.type === "action-failed" && ofApp(e));
    expect(firstFailure).toBeDefined();
    const since = firstFailure!.at;
    const twice = await waitFor(
      "a workload failing twice",
      () => {
        if (Date.now() < since + 10_000) return false;
        const byWorkload = new Map<string, { at: number; retryInMs: number }[]>();
        for (const { at, e } of events) {
          if (e.type !== "action-failed" || !ofApp(e)) continue;
          byWorkload.set(e.workloadId, [
            ...(byWorkload.get(e.workloadId) ?? []),
            { at, retryInMs: e.retryInMs },
          ]);
        }
        return [...byWorkload].find(([, fails]) => fails.length >= 2);
      },
      120_000,
    );
    const [workloadId, fails] = twice;
    const [f1, f2] = fails as [{ at: number; retryInMs: number }, { at: number; retryInMs: number }];
    expect(f1.retryInMs).toBeGreaterThan(0);
    expect(f2.retryInMs).toBeGreaterThan(f1.retryInMs);
    const retry = events.find(
      ({ at, e }) => at > f1.at && e.type === "action-started" && e.workloadId === workloadId,
    );
    expect(retry).toBeDefined();
    expect(retry!.at - f1.at).toBeGreaterThanOrEqual(f1.retryInMs - 100);
    const attempts = events.filter(
      ({ at, e }) => at >= since && at < since + 10_000 && e.type === "action-started" && ofApp(e),
    );
    expect(attempts.length).toBeLessThanOrEqual(6);
    for (const w of appWorkloads()) expect(w.operation?.attempt ?? 0).toBeLessThanOrEqual(6);
    expect(await servedBody()).toBe("v2");
  }, 180_000);

  it("rolls back to the v2 commit and converges, serving v2", async () => {
    const out = await rollback(bed.repo.dir, v2Commit, {}, { json: false, color: false });
    expect(out).toContain("Plan:");
    const tip = bed.repo.git("rev-parse", "HEAD");
    expect(bed.repo.git("rev-parse", "HEAD^{tree}")).toBe(bed.repo.git("rev-parse", `${v2Commit}^{tree}`));
    await bed.converged(tip, 120_000);
    expect(await servedBody()).toBe("v2");
    for (const w of appWorkloads()) {
      expect(w).toMatchObject({ state: "running", health: "healthy" });
      expect(w.operation?.lastError ?? null).toBeNull();
    }
    // No broken container is left running.
    await waitFor("only v2 containers running", async () => {
      const running = (await nodeContainers()).filter((c) => c.state === "running");
      return running.length === 2 && running.every((c) => c.image === images.v2);
    });
  }, 180_000);
});
