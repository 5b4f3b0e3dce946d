// A container's output through the real engine (podman, and the docker driver through a wrapper
// that execs podman): history with -n, since and grep in time order across stdout and stderr,
// sanitised and redacted; following new lines; and the output saved when berth removes the
// container, readable afterwards as the previous instance's output.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogItem } from "../../agent/core/log-parse.js";
import {
  type ContainerTarget,
  followContainer,
  readContainerHistory,
} from "../../agent/logs/container-logs.js";
import type { HistoryQuery } from "../../agent/logs/history.js";
import { readFileHistory } from "../../agent/logs/history.js";
import { createContainerDriver } from "../../agent/runtime/container-driver.js";
import type { Instance, RuntimeDriver } from "../../agent/runtime/driver.js";
import { compileGrep } from "../../core/logs/grep.js";
import {
  buildTestImages,
  removeNodeContainers,
  type TestImages,
  uniqueApp,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { dockerWrapper, freePortPair, waitFor, workload } from "../runtime/support.js";

const ok = requireTool("podman") && requireTool("/bin/busybox", ["true"]);
const secret = "tok3n-0f-the-app";
const talk = [
  "/bin/busybox",
  "sh",
  "-c",
  // The engine stamps stdout and stderr as it reads its two pipes: pauses keep their order certain.
  'echo first; /bin/busybox sleep 0.1; echo "to stderr" >&2; /bin/busybox sleep 0.1; printf "\\033[32mgreen\\033[0m\\n"; echo "secret: $API_TOKEN"; i=0; while true; do echo "tick $i"; i=$((i+1)); /bin/busybox sleep 0.2; done',
];

describe.skipIf(!ok)("container output (real podman)", () => {
  let images: TestImages;
  const node = uniqueNode("clog");
  const dockerNode = uniqueNode("dlog");
  const saved = mkdtempSync(join(tmpdir(), "berth-saved-"));
  let driver: RuntimeDriver;

  beforeAll(async () => {
    images = await buildTestImages();
    driver = createContainerDriver({
      engine: "podman",
      node,
      publishAddress: "127.0.0.1",
      savedLogsDir: saved,
    });
  }, 120_000);
  afterAll(async () => {
    await removeNodeContainers(node);
    await removeNodeContainers(dockerNode);
    await images?.remove();
    rmSync(saved, { recursive: true, force: true });
  }, 60_000);

  const q = (over: Partial<HistoryQuery> = {}): HistoryQuery => ({
    lines: 100,
    sinceMs: null,
    grep: null,
    secrets: [secret],
    following: false,
    ...over,
  });
  const targetOf = (d: RuntimeDriver, i: Instance): ContainerTarget => ({
    instance: i.name,
    ref: i.ref,
    argv: (o) => (d.logCommand as NonNullable<RuntimeDriver["logCommand"]>)(i.ref, o),
  });
  async function startTalker(d: RuntimeDriver, app: string): Promise<Instance> {
    const w = workload({
      id: `${app}-0`,
      app,
      hostPort: await freePortPair(),
      runtime: "podman",
      image: images.v1,
      command: talk,
      env: { API_TOKEN: secret },
    });
    delete (w as { port?: number }).port;
    return d.start(w, "a");
  }

  it("reads history in time order across stdout and stderr, sanitised and redacted, with -n, since and grep", async () => {
    const inst = await startTalker(driver, uniqueApp("talk"));
    const target = targetOf(driver, inst);
    await waitFor("a few ticks", async () => {
      const h = await readContainerHistory(target, q());
      return h.items.some((e) => e.line === "tick 5");
    });
    const all = await readContainerHistory(target, q());
    expect(all.problem).toBeNull();
    expect(all.items.slice(0, 5).map((e) => e.line)).toEqual([
      "first",
      "to stderr",
      "green",
      "secret: [redacted]",
      "tick 0",
    ]);
    const ms = all.items.map((e) => e.ms);
    expect([...ms].sort((a, b) => a - b)).toEqual(ms);
    expect(all.items.every((e) => e.instance === inst.name && e.origin === "app")).toBe(true);
    expect(JSON.stringify(all.items)).not.toContain(secret);

    const last3 = await readContainerHistory(target, q({ lines: 3 }));
    expect(last3.items).toHaveLength(3);
    expect(last3.items.every((e) => e.line.startsWith("tick "))).toBe(true);

    const since = (all.items[5] as LogItem).ms;
    const after = await readContainerHistory(target, q({ sinceMs: since }));
    expect(after.items[0]?.ms).toBeGreaterThanOrEqual(since);
    expect(after.items.map((e) => e.line)).not.toContain("first");

    const grep = compileGrep("^tick [0-2]$");
    if (!grep.ok) throw new Error(grep.error);
    const matched = await readContainerHistory(target, q({ grep: grep.test }));
    expect(matched.items.map((e) => e.line)).toEqual(["tick 0", "tick 1", "tick 2"]);

    // Following from the newest line seen gives only lines after it, as they come.
    const got: LogItem[] = [];
    const f = followContainer(
      target,
      all.newest,
      () => [secret],
      (items) => got.push(...items),
    );
    await waitFor("followed lines", () => got.length >= 3);
    const lastSeen = (all.items[all.items.length - 1] as LogItem).line;
    const n = (l: string) => Number(l.replace("tick ", ""));
    expect(got.every((e) => n(e.line) > n(lastSeen))).toBe(true);

    // Stopping the container ends the follower; its output is saved before it is removed.
    await driver.stop(inst, 2_000);
    await f.done;
    const files = readdirSync(saved).filter((name) => name.startsWith(`${inst.name}.`));
    expect(files).toEqual([`${inst.name}.${inst.ref.slice(0, 12)}.log`]);
    const prev = (
      await readFileHistory(
        { kind: "saved", instance: inst.name, path: join(saved, files[0] as string) },
        q(),
      )
    ).items;
    expect(prev.slice(0, 4).map((e) => e.line)).toEqual([
      "first",
      "to stderr",
      "green",
      "secret: [redacted]",
    ]);
    expect(prev.map((e) => e.line)).toContain(got[got.length - 1]?.line);
  }, 120_000);

  it("works the same through the docker driver", async () => {
    const d = createContainerDriver({
      engine: "docker",
      bin: dockerWrapper,
      node: dockerNode,
      publishAddress: "127.0.0.1",
    });
    const inst = await startTalker(d, uniqueApp("dtalk"));
    const target = targetOf(d, inst);
    const h = await waitFor("history through docker", async () => {
      const r = await readContainerHistory(target, q({ lines: 2, grep: (l) => l.startsWith("tick") }));
      return r.items.length === 2 ? r : undefined;
    });
    expect(h.items.map((e) => e.line)).toEqual([
      expect.stringMatching(/^tick \d+$/),
      expect.stringMatching(/^tick \d+$/),
    ]);
    await d.stop(inst, 2_000);
  }, 120_000);

  it("says so when the engine cannot show a container's output", async () => {
    const r = await readContainerHistory(
      {
        instance: "berth-gone-0-a",
        ref: "no-such-container-berth",
        argv: (o) =>
          (driver.logCommand as NonNullable<RuntimeDriver["logCommand"]>)("no-such-container-berth", o),
      },
      q(),
    );
    expect(r.items).toEqual([]);
    expect(r.problem).toMatch(
      /reading the output of berth-gone-0-a failed \(exit \d+\): .*no-such-container-berth/i,
    );
  }, 60_000);
});
