// Secrets of process workloads: the app gets the decrypted value in its environment (its HTTP
// answer shows it), the driver's record on disk keeps only ciphertext, and every restart — of a
// child it spawned, and of a process adopted after an agent restart — decrypts again.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Instance, RuntimeDriver } from "../../agent/runtime/driver.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { createSecretResolver } from "../../agent/secrets/resolver.js";
import { appScript, freePortPair, httpGet, waitFor, workload } from "../runtime/support.js";
import { encryptTo, keypair } from "./age-fixture.js";

const made: { dir: string; drivers: RuntimeDriver[] }[] = [];
afterEach(async () => {
  for (const m of made.splice(0)) {
    for (const d of m.drivers) await d.close({ stopAll: true }).catch(() => {});
    rmSync(m.dir, { recursive: true, force: true });
  }
});

/** Every file under `dir`, as text. */
function filesUnder(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"))
    .join("\n");
}

describe("process workloads with secrets", () => {
  it("get the value in their environment, never on disk, and again at every restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-secproc-"));
    const m = { dir, drivers: [] as RuntimeDriver[] };
    made.push(m);
    const node = await keypair();
    const identityFile = join(dir, "identity.key");
    writeFileSync(identityFile, `# public key: ${node.recipient}\n${node.identity}\n`, { mode: 0o600 });
    const canary = `canary-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const stateDir = join(dir, "state");
    const make = () => {
      const d = createProcessDriver({
        stateDir,
        pollMs: 100,
        resolveSecrets: createSecretResolver({ identityFile }).decrypt,
      });
      m.drivers.push(d);
      return d;
    };
    const port = await freePortPair();
    const w = workload({
      id: "sec-0",
      hostPort: port,
      command: [process.execPath, appScript],
      env: { LOG_LEVEL: "info" },
      secrets: { REPLY: { secret: "REPLY", ciphertext: await encryptTo([node.recipient], canary) } },
    });
    const reply = () =>
      httpGet(`http://127.0.0.1:${port}/`).then((r) => r.body === canary && r.headers["x-pid"]);

    const first = make();
    await first.start(w, "a");
    const pid1 = await waitFor("the app answering with the secret", reply);
    const onDisk = filesUnder(stateDir);
    expect(onDisk).not.toContain(canary);
    expect(onDisk).toContain("-----BEGIN AGE ENCRYPTED FILE-----");

    // A crash: the driver reports the exit, and the agent's restart (stop the exited instance,
    // start it again in its slot, as the executor's "start" action does) decrypts again.
    const restart = async (d: RuntimeDriver) => {
      const exited = await waitFor("the crash noticed", async () => {
        const i = (await d.list())[0];
        return i?.state === "exited" ? i : false;
      });
      await d.stop(exited as Instance, 1_000);
      await d.start(w, "a");
    };
    process.kill(Number(pid1), "SIGKILL");
    await restart(first);
    const pid2 = await waitFor("the restarted app answering with the secret", async () => {
      const p = await reply().catch(() => false);
      return p && p !== pid1 ? p : false;
    });

    // An agent restart: a new driver adopts the process; when it dies, it is started again from
    // the same workload and decrypts again.
    await first.close();
    const second = make();
    expect((await second.list()).map((i) => i.state)).toEqual(["running"]);
    process.kill(Number(pid2), "SIGKILL");
    await restart(second);
    await waitFor("the adopted app restarted with the secret", async () => {
      const p = await reply().catch(() => false);
      return p && p !== pid2 ? p : false;
    });
    expect(filesUnder(stateDir)).not.toContain(canary);
  });

  it("a driver that cannot decrypt refuses to start the workload, saying why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-secproc-"));
    const m = { dir, drivers: [] as RuntimeDriver[] };
    made.push(m);
    const d = createProcessDriver({ stateDir: join(dir, "state"), pollMs: 100 });
    m.drivers.push(d);
    const node = await keypair();
    const w = workload({
      id: "nos-0",
      hostPort: await freePortPair(),
      command: [process.execPath, appScript],
      secrets: { REPLY: { secret: "REPLY", ciphertext: await encryptTo([node.recipient], "x") } },
    });
    await expect(d.start(w, "a")).rejects.toThrow(
      "cannot start berth-nos-0-a: its env takes secrets, and this agent cannot decrypt any",
    );
    expect(await d.list()).toEqual([]);
  });
});
