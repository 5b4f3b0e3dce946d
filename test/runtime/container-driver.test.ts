// The container driver with real podman (and the docker driver through a wrapper script that execs
// podman): run, list, stop with labels checked; an unlabelled container is never listed or
// touched; a host port in use and a missing image are reported as facts and leave nothing behind;
// the exit of a container is waited on and its last lines (stdout and stderr) read.
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitHealthy } from "../../agent/health/check.js";
import { createContainerDriver } from "../../agent/runtime/container-driver.js";
import { type RuntimeDriver, StartError } from "../../agent/runtime/driver.js";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueApp,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { dockerWrapper, fastHealth, freePortPair, httpGet, waitFor, workload } from "./support.js";

const ok = requireTool("podman") && requireTool("/bin/busybox", ["true"]);

describe.skipIf(!ok)("container driver (real podman)", () => {
  let images: TestImages;
  const node = uniqueNode("ctr");
  const dockerNode = uniqueNode("dkr");
  const strangers: string[] = [];
  let podmanDriver: RuntimeDriver;

  beforeAll(async () => {
    images = await buildTestImages();
    podmanDriver = createContainerDriver({ engine: "podman", node, publishAddress: "127.0.0.1" });
  });

  afterAll(async () => {
    await removeNodeContainers(node);
    await removeNodeContainers(dockerNode);
    if (strangers.length) await podman("rm", "-f", ...strangers);
    await images?.remove();
  });

  // App names are unique per run: container names are global on the host (see uniqueApp).
  const apps = {
    web: uniqueApp("web"),
    crash: uniqueApp("crash"),
    busy: uniqueApp("busy"),
    dies: uniqueApp("dies"),
    noimg: uniqueApp("noimg"),
    dweb: uniqueApp("dweb"),
  };
  const web = (hostPort: number, image: string, app = apps.web) =>
    workload({
      id: `${app}-0`,
      app,
      hostPort,
      runtime: "podman",
      image,
      port: images.port,
      env: { SECRET_TOKEN: "tok3n-value" },
    });

  it("runs a labelled container on the slot's host port, lists it, and stops it", async () => {
    const port = await freePortPair();
    const w = web(port, images.v1);
    const inst = await podmanDriver.start(w, "b");
    expect(inst).toMatchObject({
      name: `berth-${apps.web}-0-b`,
      workloadId: `${apps.web}-0`,
      app: apps.web,
      slot: "b",
      port: port + 1,
      state: "running",
    });
    expect((await waitHealthy({ host: "127.0.0.1", port: port + 1 }, fastHealth)).ok).toBe(true);
    expect((await httpGet(`http://127.0.0.1:${port + 1}/`)).body).toBe("v1");

    const inspected = JSON.parse((await podman("inspect", "--format", "json", inst.ref)).stdout)[0];
    expect(inspected.Config.Labels).toMatchObject({
      "berth.managed": "true",
      "berth.app": apps.web,
      "berth.workload": `${apps.web}-0`,
      "berth.spec-hash": w.specHash,
      "berth.slot": "b",
      "berth.node": node,
    });
    expect(inspected.Config.Env).toContain("SECRET_TOKEN=tok3n-value");

    expect(await podmanDriver.list()).toEqual([{ ...inst, restarts: 0 }]);
    await podmanDriver.stop(inst, 2_000);
    expect(await podmanDriver.list()).toEqual([]);
    expect((await podman("container", "exists", inst.ref)).exitCode).toBe(1);
    // Stopping what is already gone is not an error.
    await podmanDriver.stop(inst, 2_000);
  });

  it("reports an exited container as exited, and start replaces it under the same name", async () => {
    const port = await freePortPair();
    const w = web(port, images.v1, apps.crash);
    const inst = await podmanDriver.start(w, "a");
    await podman("kill", inst.ref);
    const exited = await waitFor("exited state", async () =>
      (await podmanDriver.list()).find((i) => i.state === "exited"),
    );
    expect(exited).toMatchObject({
      name: `berth-${apps.crash}-0-a`,
      state: "exited",
      lastError: "exited with code 137",
    });
    const again = await podmanDriver.start({ ...w, image: images.v2 }, "a");
    expect(again.ref).not.toBe(inst.ref);
    await waitHealthy({ host: "127.0.0.1", port }, fastHealth);
    expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe("v2");
    await podmanDriver.stop(again, 1_000);
  });

  it("never lists or stops a container without berth.managed=true", async () => {
    const name = `stranger-${node}`;
    const r = await podman(
      "run",
      "-d",
      "--init",
      "--pull=never",
      "--name",
      name,
      "--label",
      `berth.node=${node}`,
      "--label",
      "berth.workload=web-0",
      "--label",
      "berth.slot=a",
      images.v1,
    );
    expect(r.exitCode).toBe(0);
    strangers.push(name);
    const id = r.stdout.trim();
    expect((await podmanDriver.list()).map((i) => i.ref)).not.toContain(id);
    const fake = {
      ref: id,
      name,
      workloadId: "web-0",
      app: "web",
      specHash: "",
      slot: "a" as const,
      port: 0,
      state: "running" as const,
      restarts: 0,
    };
    await expect(podmanDriver.stop(fake, 1_000)).rejects.toThrow(
      `refusing to stop container ${id}: it is not managed by berth on node ${node}`,
    );
    expect(JSON.parse((await podman("inspect", "--format", "json", id)).stdout)[0].State.Status).toBe(
      "running",
    );
    await podmanDriver.close({ stopAll: true });
    expect(JSON.parse((await podman("inspect", "--format", "json", id)).stdout)[0].State.Status).toBe(
      "running",
    );
  });

  it("a host port in use: reports it, removes the Created leftover, keeps env values out of the error", async () => {
    const port = await freePortPair();
    const blocker: Server = createServer();
    await new Promise<void>((res) => blocker.listen(port, "127.0.0.1", res));
    try {
      let err: Error | undefined;
      await podmanDriver.start(web(port, images.v1, apps.busy), "a").catch((e: Error) => {
        err = e;
      });
      expect(err?.message).toMatch(
        new RegExp(
          `^starting berth-${apps.busy}-0-a: host port ${port} is already in use on this node .*\`podman run .* --env-file \\S+\\.env .*\` exited 126: .*address already in use`,
        ),
      );
      expect(err?.message).not.toContain("tok3n-value");
      expect((err as StartError).fact).toEqual({ kind: "port-in-use", port });
      expect(await podmanDriver.list()).toEqual([]);
      expect((await podman("container", "exists", `berth-${apps.busy}-0-a`)).exitCode).toBe(1);
    } finally {
      blocker.close();
    }
  });

  it("waits for a container to exit (code), and reads its last lines from stdout and stderr", async () => {
    const port = await freePortPair();
    const w = workload({
      id: `${apps.dies}-0`,
      app: apps.dies,
      hostPort: port,
      runtime: "podman",
      image: images.v1,
      port: images.port,
      command: [
        "/bin/busybox",
        "sh",
        "-c",
        "echo booting; sleep 1; echo 'fatal: no config file' >&2; exit 3",
      ],
    });
    const inst = await podmanDriver.start(w, "a");
    const exit = await podmanDriver.waitExit(inst, AbortSignal.timeout(60_000));
    expect(exit).toMatchObject({ code: 3, signal: null });
    expect(await podmanDriver.tail(inst, 10)).toBe("booting\nfatal: no config file");
    const [listed] = (await podmanDriver.list()).filter((i) => i.ref === inst.ref);
    expect(listed).toMatchObject({ state: "exited", exit: { code: 3, signal: null } });
    // A wait given up resolves with null.
    const again = await podmanDriver.start(workload({ ...w, command: ["/bin/busybox", "sleep", "60"] }), "a");
    const ac = new AbortController();
    const pending = podmanDriver.waitExit(again, ac.signal);
    ac.abort();
    expect(await pending).toBeNull();
    await podmanDriver.stop(again, 1_000);
  });

  it("an image that is not on the node: a start error naming the image, nothing left behind", async () => {
    const port = await freePortPair();
    const image = `localhost/berth-test-missing-${process.pid}:1`;
    const err = await podmanDriver.start(web(port, image, apps.noimg), "a").then(
      () => undefined,
      (e: StartError) => e,
    );
    expect(err).toBeInstanceOf(StartError);
    expect(err?.fact).toEqual({ kind: "image-missing", image });
    expect(err?.message).not.toContain("tok3n-value");
    expect((await podman("container", "exists", `berth-${apps.noimg}-0-a`)).exitCode).toBe(1);
  });

  it("a name taken by a container this node does not manage: says so and leaves it alone", async () => {
    const port = await freePortPair();
    const app = uniqueApp("taken");
    const name = `berth-${app}-0-a`;
    const r = await podman("create", "--pull=never", "--name", name, images.v1);
    expect(r.exitCode).toBe(0);
    strangers.push(name);
    await expect(podmanDriver.start(web(port, images.v1, app), "a")).rejects.toThrow(
      `starting ${name}: the name is taken by a container this node does not manage (another berth node on this host, or one made by hand); remove or rename it`,
    );
    expect((await podman("container", "exists", name)).exitCode).toBe(0);
  });

  it("the docker driver speaks the same CLI (through a wrapper that execs podman)", async () => {
    const docker = createContainerDriver({
      engine: "docker",
      bin: dockerWrapper,
      node: dockerNode,
      publishAddress: "127.0.0.1",
    });
    expect(docker.kind).toBe("docker");
    const port = await freePortPair();
    const inst = await docker.start(web(port, images.v2, apps.dweb), "a");
    expect((await waitHealthy({ host: "127.0.0.1", port }, fastHealth)).ok).toBe(true);
    expect((await httpGet(`http://127.0.0.1:${port}/`)).body).toBe("v2");
    expect((await docker.list()).map((i) => [i.name, i.state, i.port])).toEqual([
      [`berth-${apps.dweb}-0-a`, "running", port],
    ]);
    // Each driver only sees its own node's containers.
    expect((await podmanDriver.list()).map((i) => i.ref)).not.toContain(inst.ref);
    await docker.stop(inst, 1_000);
    expect(await docker.list()).toEqual([]);
  });
});
