// Env of containers with real podman: plain values and decrypted secrets reach the container
// (its HTTP answer shows them) while no value is ever on a command line (/proc/*/cmdline watched
// during the start), the env file is gone once `run` returned, and a node without the right
// identity fails to start the workload with a clear error and leaves nothing behind.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitHealthy } from "../../agent/health/check.js";
import { createContainerDriver } from "../../agent/runtime/container-driver.js";
import { createSecretResolver } from "../../agent/secrets/resolver.js";
import {
  buildTestImages,
  podman,
  removeNodeContainers,
  type TestImages,
  uniqueApp,
  uniqueNode,
} from "../helpers/podman.js";
import { requireTool } from "../helpers/tools.js";
import { fastHealth, freePortPair, httpGet, workload } from "../runtime/support.js";
import { encryptTo, keypair } from "./age-fixture.js";
import { watchCommandLines } from "./proc-watch.js";

const ok = requireTool("podman") && requireTool("/bin/busybox", ["true"]);
const fixture = (f: string) => new URL(`../fixtures/secrets/${f}`, import.meta.url).pathname;
// node-n1.key's recipient; db-password.age was encrypted to it by the age CLI.
const N1 = "age1znwrrqkjex6y6fgcajq7y7c4pkmwm77znqknhv2auqjcnp269qdq24jgjx";

describe.skipIf(!ok)("container env and secrets (real podman)", () => {
  let images: TestImages;
  const node = uniqueNode("sec");
  let dir: string;
  const canary = `canary-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const plainCanary = `plain-${process.pid}-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    images = await buildTestImages();
    dir = mkdtempSync(join(tmpdir(), "berth-secenv-"));
  });
  afterAll(async () => {
    await removeNodeContainers(node);
    await images?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const envWorkload = async (app: string, hostPort: number) =>
    workload({
      id: `${app}-0`,
      app,
      hostPort,
      runtime: "podman",
      image: images.v1,
      port: images.port,
      health: fastHealth,
      // The container writes its environment where httpd serves it: the answer proves what arrived.
      command: [
        "/bin/busybox",
        "sh",
        "-c",
        `/bin/busybox env > /www/env.txt; exec /bin/busybox httpd -f -p ${images.port} -h /www`,
      ],
      env: { PLAIN: plainCanary, TRICKY: " spaced = x#y ", PEM: "line one\nline two" },
      secrets: {
        DB_PASSWORD: { secret: "DB_PASSWORD", ciphertext: await encryptTo([N1], canary) },
        FROM_AGE_CLI: {
          secret: "FIXTURE",
          ciphertext: await import("node:fs").then((fs) =>
            fs.readFileSync(fixture("db-password.age"), "utf8"),
          ),
        },
      },
    });

  it("gets plain values and decrypted secrets, with no value on any command line and no env file left", async () => {
    const envDir = join(dir, "env");
    const resolver = createSecretResolver({ identityFile: fixture("node-n1.key") });
    const driver = createContainerDriver({
      engine: "podman",
      node,
      publishAddress: "127.0.0.1",
      envDir,
      resolveSecrets: resolver.decrypt,
    });
    const port = await freePortPair();
    const w = await envWorkload(uniqueApp("env"), port);
    const watch = await watchCommandLines([canary, plainCanary, "fixture-secret-value"]);
    let seen: { scans: number; hits: string[] };
    try {
      await driver.start(w, "a");
      expect((await waitHealthy({ host: "127.0.0.1", port }, { ...fastHealth, path: "/env.txt" })).ok).toBe(
        true,
      );
    } finally {
      seen = await watch.stop();
    }
    expect(seen.scans).toBeGreaterThan(1);
    expect(seen.hits).toEqual([]);
    const body = (await httpGet(`http://127.0.0.1:${port}/env.txt`)).body;
    expect(body).toContain(`DB_PASSWORD=${canary}\n`);
    expect(body).toContain("FROM_AGE_CLI=fixture-secret-value\n");
    expect(body).toContain(`PLAIN=${plainCanary}\n`);
    expect(body).toContain("TRICKY= spaced = x#y \n");
    expect(body).toContain("PEM=line one\nline two\n");
    // The env file lived in a 0700 directory only while `run` ran.
    expect(statSync(envDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(envDir)).toEqual([]);
  });

  it("without the right identity: a clear error naming app and secret, and no container", async () => {
    const other = await keypair();
    const otherFile = join(dir, "other.key");
    await import("node:fs").then((fs) => fs.writeFileSync(otherFile, `${other.identity}\n`, { mode: 0o600 }));
    const app = uniqueApp("noid");
    const w = await envWorkload(app, await freePortPair());
    for (const [resolver, expected] of [
      [
        createSecretResolver({ identityFile: otherFile }),
        `cannot decrypt secret DB_PASSWORD of app ${app}: it is not encrypted to this node's age identity (the node's identity changed, or the secret was not rekeyed after a node change): run \`berth secret rekey ${app}\` and commit secrets/${app}.yaml`,
      ],
      [
        createSecretResolver({}),
        `cannot decrypt secrets DB_PASSWORD, FIXTURE of app ${app}: this agent has no age identity: start it with --identity-file (berth node identity NODE makes one and prints the recipient to commit)`,
      ],
    ] as const) {
      const driver = createContainerDriver({
        engine: "podman",
        node,
        publishAddress: "127.0.0.1",
        envDir: join(dir, "env2"),
        resolveSecrets: resolver.decrypt,
      });
      await expect(driver.start(w, "a")).rejects.toThrow(expected);
      expect((await driver.list()).filter((i) => i.app === app)).toEqual([]);
    }
    const ps = await podman("ps", "-a", "--filter", `label=berth.app=${app}`, "--format", "{{.Names}}");
    expect(ps.stdout.trim()).toBe("");
  });

  it("sweeps env files an agent killed mid-start left behind when the driver starts", async () => {
    const envDir = join(dir, "env3");
    const fs = await import("node:fs");
    fs.mkdirSync(envDir, { mode: 0o700 });
    fs.writeFileSync(join(envDir, "berth-x-0-a.abc.env"), `K=${canary}\n`, { mode: 0o600 });
    createContainerDriver({ engine: "podman", node, envDir });
    expect(readdirSync(envDir)).toEqual([]);
  });
});
