// Corrupt and truncated files in the agent's state dir never strand what berth started, and the
// node's status says what was found: a restarted agent adopts a process whose record was
// truncated (same pid, nothing restarted, converged), and with desired.json / applied.json corrupt
// it keeps every workload running (processes and podman containers, same pid / same container)
// until the reconciler's document arrives, then converges without recreating them.
import { readdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import {
  appWorkload,
  converged,
  type Harness,
  hit,
  makeHarness,
  SECRET,
  startConverged,
  statusFor,
} from "./helpers/agent-harness.js";
import { desiredDoc, workload } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

const actions = (h: Harness) => h.events.filter((e) => e.type === "action-started");

function damage(h: Harness, file: "desired.json" | "applied.json", how: "truncate" | "garbage"): void {
  const path = join(h.stateDir, file);
  if (how === "truncate") truncateSync(path, 7);
  else writeFileSync(path, "\u0000\u0001garbage");
}

describe("agent with process workloads and a damaged state dir", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("adopts a process whose record was truncated, restarts nothing, and says so in its status", async () => {
    const p = await freePortPair();
    const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    await startConverged(h, doc);
    const pid = (await hit(p))?.pid;
    await h.stopAgent();
    const records = join(h.stateDir, "processes");
    const [file] = readdirSync(records).filter((f) => f.endsWith(".json"));
    truncateSync(join(records, file as string), 40);

    h.events.length = 0;
    await h.start();
    const st = await statusFor(
      h,
      doc.hash,
      (s) => converged(doc.hash)(s) && (s.problems ?? []).some((x) => x.code === "process-recovered"),
    );
    expect(actions(h)).toEqual([]);
    expect((await hit(p))?.pid).toBe(pid);
    const note = st.problems?.find((x) => x.code === "process-recovered")?.message ?? "";
    expect(note).toMatch(/berth-web-0-a: its record is unreadable .*adopted pid \d+, found by its marker/);
    expect(JSON.stringify(st)).not.toContain(SECRET);
    expect(h.logs.join("\n")).not.toContain(SECRET);
  });

  for (const how of ["truncate", "garbage"] as const) {
    it(`keeps processes running with desired.json and applied.json ${how}d, reconciler down, then converges`, async () => {
      const p = await freePortPair();
      const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
      await startConverged(h, doc);
      const pid = (await hit(p))?.pid;
      await h.stopAgent();
      damage(h, "desired.json", how);
      damage(h, "applied.json", how);

      await h.rec.kill();
      h.events.length = 0;
      const agent = await h.start();
      // No document to work towards: nothing is stopped, and the status says why.
      await waitFor("status names the unreadable files", () =>
        (agent.status().problems ?? []).filter((x) => x.code === "state-file-unreadable").length === 2
          ? true
          : undefined,
      );
      expect((await hit(p))?.pid).toBe(pid);
      expect(actions(h)).toEqual([]);

      await h.rec.revive();
      await statusFor(h, doc.hash, converged(doc.hash));
      expect(actions(h)).toEqual([]);
      expect((await hit(p))?.pid).toBe(pid);
    });
  }
});

const ok = requireTool("podman");

describe.skipIf(!ok)("agent with podman workloads and a damaged state dir", () => {
  const app = `st${Math.random().toString(36).slice(2, 8)}`;
  let images: TestImages;
  let h: Harness;
  let node: string;
  beforeAll(async () => {
    images = await buildTestImages();
  }, 120_000);
  afterAll(async () => {
    await images?.remove();
  });
  beforeEach(async () => {
    node = uniqueNode("sc");
    h = await makeHarness(node);
  });
  afterEach(async () => {
    await h.cleanup();
    await removeNodeContainers(node);
  });

  for (const how of ["truncate", "garbage"] as const) {
    it(`keeps the container with desired.json and applied.json ${how}d, then converges without recreating it`, async () => {
      const p = await freePortPair();
      const w = workload({
        app,
        runtime: "podman",
        image: images.v1,
        port: images.port,
        hostPort: p,
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
      const doc = desiredDoc(node, [w]);
      await startConverged(h, doc, { publishAddress: "127.0.0.1" });
      const ids = async () =>
        (await podman("ps", "-q", "--no-trunc", "--filter", `label=berth.node=${node}`)).stdout
          .split("\n")
          .filter(Boolean);
      const before = await ids();
      expect(before).toHaveLength(1);
      await h.stopAgent();
      damage(h, "desired.json", how);
      damage(h, "applied.json", how);

      await h.rec.kill();
      h.events.length = 0;
      const agent = await h.start({ publishAddress: "127.0.0.1" });
      await waitFor("status names the unreadable files", () =>
        (agent.status().problems ?? []).some((x) => x.code === "state-file-unreadable") ? true : undefined,
      );
      expect(await ids()).toEqual(before);

      await h.rec.revive();
      await statusFor(h, doc.hash, converged(doc.hash));
      expect(actions(h)).toEqual([]);
      expect(await ids()).toEqual(before);
    });
  }
});
