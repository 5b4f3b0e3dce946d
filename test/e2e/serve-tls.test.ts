// A safe multi-node install: `berth serve` refuses to listen beyond loopback without TLS and an
// admin token for the read API (unless told so by name), says why and how to fix it; with a
// certificate and a token it serves HTTPS on a host's own address (a network namespace), an agent
// trusting the CA converges over it, and `berth status --url` needs the token.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { exposureProblems, webhookExposureProblems } from "../../reconciler/http/exposure.js";
import { runBerth } from "../helpers/berth-cli.js";
import { type BerthProcess, spawnBerth } from "../helpers/berth-process.js";
import { makeTempDir, useTempRepos } from "../helpers/git-repo.js";
import { createNetns, type Netns } from "../helpers/netns.js";
import { makeCerts } from "../helpers/tls.js";
import { requireTool } from "../helpers/tools.js";
import { baseConfig, sha256 } from "../reconciler/helpers.js";
import { waitFor } from "./helpers.js";

const ok = requireTool("git") && requireTool("ip", ["-V"]) && requireTool("openssl", ["version"]);
const app = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const TOKEN = "w1-agent-token-for-the-tls-test";
const ADMIN = "admin-token-for-the-read-api";
const ADDRESS = "10.77.0.1";

describe("exposureProblems", () => {
  const safe = { tls: true, apiToken: true, allowOpenReadApi: false, allowPlainHttp: false };
  it("lets loopback be, whatever else", () => {
    for (const host of ["127.0.0.1", "::1", "localhost", "127.0.0.2"]) {
      expect(exposureProblems({ ...safe, host, tls: false, apiToken: false }, `${host}:7070`)).toEqual([]);
    }
  });
  it("wants TLS and a token beyond loopback, unless allowed by name", () => {
    const open = {
      host: "0.0.0.0",
      tls: false,
      apiToken: false,
      allowOpenReadApi: false,
      allowPlainHttp: false,
    };
    const both = exposureProblems(open, "0.0.0.0:7070");
    expect(both).toHaveLength(2);
    expect(both[0]).toContain("--listen 0.0.0.0:7070 serves plain HTTP on every interface");
    expect(both[1]).toContain("opens the read API");
    expect(
      exposureProblems({ ...open, allowPlainHttp: true, allowOpenReadApi: true }, "0.0.0.0:7070"),
    ).toEqual([]);
    expect(exposureProblems({ ...safe, host: "10.0.0.1" }, "10.0.0.1:7070")).toEqual([]);
  });
  it("wants TLS on a public webhook listener (GitLab's token is a header), unless allowed by name", () => {
    const hooks = { host: "0.0.0.0", tls: false, allowPlainHttp: false };
    const plain = webhookExposureProblems(hooks, "0.0.0.0:8443");
    expect(plain).toHaveLength(1);
    expect(plain[0]).toContain("--webhook-listen 0.0.0.0:8443 serves plain HTTP on every interface");
    expect(webhookExposureProblems({ ...hooks, tls: true }, "0.0.0.0:8443")).toEqual([]);
    expect(webhookExposureProblems({ ...hooks, allowPlainHttp: true }, "0.0.0.0:8443")).toEqual([]);
    expect(webhookExposureProblems({ ...hooks, host: "127.0.0.1" }, "127.0.0.1:8443")).toEqual([]);
  });
});

describe.skipIf(!ok)("berth serve beyond loopback", () => {
  const temp = useTempRepos();
  const procs: BerthProcess[] = [];
  let ns: Netns | undefined;
  let stateDir = "";
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.stop();
    if (stateDir) await createProcessDriver({ stateDir }).close({ stopAll: true });
    ns?.remove();
    ns = undefined;
  });

  it("refuses an exposed listen address without TLS or a token, saying what to do", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const dir = makeTempDir("berth-expose-");
    writeFileSync(join(dir, "admin"), `${ADMIN}\n`);
    const open = await runBerth(["serve", "--repo", repo.dir, "--listen", "0.0.0.0:7070"]);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(
      "refusing to start: --listen 0.0.0.0:7070 serves plain HTTP on every interface",
    );
    expect(open.stderr).toContain("Pass --tls-cert-file and --tls-key-file");
    expect(open.stderr).toContain("opens the read API (/v1/nodes, /v1/plan, /v1/events");
    expect(open.stderr).toContain("Pass --api-token-file FILE");
    expect(open.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user's mistake
    const tokenOnly = await runBerth([
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      "10.1.2.3:7070",
      "--api-token-file",
      join(dir, "admin"),
    ]);
    expect(tokenOnly.code).toBe(1);
    expect(tokenOnly.stderr).toContain("--listen 10.1.2.3:7070 serves plain HTTP on 10.1.2.3");
    expect(tokenOnly.stderr).not.toContain("opens the read API");
    const half = await runBerth(["serve", "--repo", repo.dir, "--tls-cert-file", join(dir, "admin")]);
    expect(half.stderr).toContain("--tls-cert-file and --tls-key-file go together");
    const bad = await runBerth([
      "serve",
      "--repo",
      repo.dir,
      "--tls-cert-file",
      join(dir, "admin"),
      "--tls-key-file",
      join(dir, "admin"),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("are not a usable certificate and key");
  });

  it("serves HTTPS on a host's address: agents trusting the CA converge, reads need the token", async () => {
    ns = createNetns({ addresses: [`${ADDRESS}/24`], tag: "tls" });
    const dir = makeTempDir("berth-tls-");
    const certs = makeCerts(dir, [ADDRESS, "127.0.0.1"]);
    stateDir = join(dir, "state");
    mkdirSync(stateDir);
    writeFileSync(join(dir, "token"), `${TOKEN}\n`);
    writeFileSync(join(dir, "admin"), `${ADMIN}\n`);
    const repo = await temp.makeRepo({
      "berth.yaml": "kind: Settings\nbranch: main\n",
      "nodes/w1.yaml": `kind: Node\nname: w1\naddress: ${ADDRESS}\nruntime: process\nportRange: [21000, 21099]\ntokenSha256: ${sha256(TOKEN)}\n`,
      "apps/echo.yaml": `kind: App\nname: echo\ncommand: ["node", ${JSON.stringify(app)}]\nport: 8080\nenv:\n  LISTEN_ON_HOST: "1"\nhealth:\n  path: /healthz\n`,
    });
    const serve = spawnBerth(
      [
        "serve",
        "--repo",
        repo.dir,
        "--listen",
        `${ADDRESS}:0`,
        "--tls-cert-file",
        certs.cert,
        "--tls-key-file",
        certs.key,
        "--api-token-file",
        join(dir, "admin"),
      ],
      { netns: ns },
    );
    procs.push(serve);
    const url = (await serve.waitForLine((l) => l.msg === "API listening", "the API")).url as string;
    expect(url).toMatch(new RegExp(`^https://${ADDRESS.replace(/\./g, "\\.")}:\\d+$`));
    const trust = { NODE_EXTRA_CA_CERTS: certs.ca };
    const agent = spawnBerth(
      ["agent", "--node", "w1", "--url", url, "--token-file", join(dir, "token"), "--state-dir", stateDir],
      { netns: ns, env: trust },
    );
    procs.push(agent);

    const status = (...extra: string[]) =>
      runBerth(["status", "--url", url, ...extra], { netns: ns, cwd: dir, env: trust });
    await waitFor(
      "converged over HTTPS",
      async () =>
        (await status("--api-token-file", join(dir, "admin"))).stdout.match(/^w1\s+alive\s+converged\s+yes/m),
      60_000,
    );
    const noToken = await status();
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain("answered 401");
    expect(noToken.stderr).toContain("--api-token-file");
    const untrusted = await runBerth(["status", "--url", url, "--api-token-file", join(dir, "admin")], {
      netns: ns,
      cwd: dir,
    });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain(`cannot reach the reconciler at ${url}/v1/nodes`);
  });
});
