// `berth up` runs apps with secrets: its agent takes the node's age identity from --identity-file
// or from <state-dir>/identity, which `berth node identity NODE --identity-file` writes. Real CLI
// processes (berth node/secret/up from source), real git, the process runtime (no Caddy); the
// app's HTTP answer is the decrypted secret, which proves the value arrived.
import { randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { runBerth } from "../helpers/berth-cli.js";
import { type BerthProcess, spawnBerth } from "../helpers/berth-process.js";
import { type TestRepo, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { appScript } from "../runtime/support.js";
import { waitFor } from "./helpers.js";

const ok = requireTool("git");

describe.skipIf(!ok)("berth up with secrets: the node identity", () => {
  const temp = useTempRepos();
  const running: BerthProcess[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });

  const low = () => 22_000 + 20 * Math.floor(Math.random() * 400);
  /** A repo with node `local` (process runtime, no recipient yet), an operator and app api. */
  async function setup(port: number): Promise<{ repo: TestRepo; dir: string; berth: typeof runBerth }> {
    const dir = temp.makeTempDir("berth-up-id-");
    const repo = await temp.makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      "nodes/local.yaml": `kind: Node\nname: local\naddress: 127.0.0.1\nroles: [worker]\nruntime: process\nportRange: [${port}, ${port + 19}]\n`,
      "apps/api.yaml": `kind: App\nname: api\ncommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(appScript)}]\nport: 3000\nhealth:\n  path: /healthz\n  intervalSeconds: 0.5\nenv:\n  REPLY: plain\n`,
    });
    const berth: typeof runBerth = (args, opts = {}) =>
      runBerth(["--repo", repo.dir, ...args], {
        ...opts,
        env: { BERTH_IDENTITY: join(dir, "alice.key"), ...opts.env },
      });
    const kg = await berth(["secret", "keygen", "-o", join(dir, "alice.key"), "--name", "alice"]);
    expect(kg.code, kg.stderr).toBe(0);
    await repo.commit(
      { "berth.yaml": `kind: Settings\nbranch: main\n${kg.stdout.slice(kg.stdout.indexOf("operators:"))}` },
      "operator alice",
    );
    return { repo, dir, berth };
  }

  /** Sets secret DB_PASSWORD of api to `value` and makes api answer with it; commits. */
  async function useSecret(repo: TestRepo, berth: typeof runBerth, value: string): Promise<void> {
    const set = await berth(["secret", "set", "api", "DB_PASSWORD"], { input: `${value}\n` });
    expect(set.code, set.stdout + set.stderr).toBe(0);
    const app = readFileSync(join(repo.dir, "apps/api.yaml"), "utf8");
    await repo.commit(
      { "apps/api.yaml": app.replace("REPLY: plain", "REPLY: { secret: DB_PASSWORD }") },
      "api answers with its secret",
    );
  }

  function up(repo: TestRepo, stateDir: string, extra: string[] = []): BerthProcess {
    const p = spawnBerth([
      "--repo",
      repo.dir,
      "up",
      "--no-caddy",
      "--listen",
      "127.0.0.1:0",
      "--state-dir",
      stateDir,
      ...extra,
    ]);
    running.push(p);
    return p;
  }

  /** Waits for api to answer `value`; on timeout the error carries what berth up printed. */
  async function served(p: BerthProcess, value: string): Promise<void> {
    // The host port berth up's progress names (placement picks one in the node's portRange).
    const port = () => Number(/create api-0: .*, port (\d+)\)/.exec(p.raw())?.[1] ?? 0);
    await waitFor(
      "api to answer with the secret",
      async () => port() > 0 && (await answer(port())) === value,
      90_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; berth up printed:\n${p.raw().slice(-4000)}`);
    });
  }

  /** What api answers (on its host port or the next one: a start-first replace switches slots). */
  async function answer(port: number): Promise<string> {
    for (const p of [port, port + 1]) {
      try {
        const res = await request(`http://127.0.0.1:${p}/`, { headersTimeout: 5000, bodyTimeout: 5000 });
        const body = await res.body.text();
        if (res.statusCode === 200) return body;
      } catch {
        // not listening on this slot
      }
    }
    return "";
  }

  it("keeps the node identity in <state-dir>/identity: berth node identity writes it, berth up's agent decrypts with it", async () => {
    const port = low();
    const { repo, dir, berth } = await setup(port);
    const stateDir = join(dir, "state"); // does not exist yet: berth node identity makes it
    const canary = `canary-${process.pid}-${randomUUID()}`;

    const id = await berth(["node", "identity", "local", "--identity-file", join(stateDir, "identity")]);
    expect(id.code, id.stdout + id.stderr).toBe(0);
    expect(statSync(join(stateDir, "identity")).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    await repo.commit({}, "node local gets an identity");
    await useSecret(repo, berth, canary);

    const p = up(repo, stateDir);
    await served(p, canary);
    // Nothing to say about the identity: it is the node's.
    expect(p.raw()).not.toMatch(/notice: .*identity/);
    expect(p.raw()).not.toContain(canary);
  }, 180_000);

  it("takes --identity-file; without it says the node's identity is missing; refuses a file that is not there", async () => {
    const port = low();
    const { repo, dir, berth } = await setup(port);
    const stateDir = join(dir, "state");
    const keyFile = join(dir, "local.key");
    const canary = `canary-${process.pid}-${randomUUID()}`;
    // The node file again, by berth node add this time (it writes the recipient and the key).
    const add = await berth([
      "node",
      "add",
      "local2",
      "--address",
      "127.0.0.1",
      "--runtime",
      "process",
      "--identity-file",
      keyFile,
    ]);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const node2 = readFileSync(join(repo.dir, "nodes/local2.yaml"), "utf8");
    await repo.commit(
      {
        "nodes/local.yaml": null,
        "nodes/local2.yaml": `${node2}portRange: [${port}, ${port + 19}]\n`,
      },
      "node local2 by berth node add",
    );
    await useSecret(repo, berth, canary);

    // A named file that does not exist: a clear error before anything starts.
    const missing = await berth([
      "up",
      "--no-caddy",
      "--listen",
      "127.0.0.1:0",
      "--state-dir",
      stateDir,
      "--identity-file",
      join(dir, "nope.key"),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error: --identity-file ${join(dir, "nope.key")}: no such file`);
    expect(missing.stderr).not.toMatch(/internal error|\n\s+at /);

    // No flag, no <state-dir>/identity: berth up says so (and the app cannot start).
    const without = up(repo, stateDir);
    await waitFor(
      "the notice about the missing identity",
      () =>
        without
          .raw()
          .includes(
            `node local2 has an age recipient in nodes/local2.yaml but its identity is not in ${join(stateDir, "identity")}`,
          ),
      60_000,
    );
    await without.stop();

    // With the flag: the app answers with the secret.
    const withFlag = up(repo, stateDir, ["--identity-file", keyFile]);
    await served(withFlag, canary);
    expect(withFlag.raw()).not.toMatch(/notice: .*identity/);
    expect(withFlag.raw()).not.toContain(canary);
  }, 240_000);
});
