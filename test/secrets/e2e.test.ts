// End to end, as an operator runs it: a config repo on the real git smart-HTTP server, `berth serve`
// with the recording forge, two worker nodes each running `berth agent` (127.0.0.1, own state
// dirs), an app pinned to node a taking its reply from an encrypted secret set with `berth secret
// set`. The app's HTTP answer proves the value arrived; then the canary value is searched for in
// everything berth wrote or said — every object of both branches in the forge repo and in serve's
// cache, every published document, the read API, events, metrics, serve and agent logs, plans in
// text/markdown/JSON, the PR comment and statuses, the agents' state dirs, and every process's
// command line while it ran — and found nowhere. Moving the app to node b without rekey is refused
// (naming b and the fix) and goes through after `berth secret rekey`; bad input publishes nothing;
// a node whose identity is rotated in the repo but not yet installed keeps the old version serving
// and says why, until the new key is added to its identity file.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { type ForgeRepo, makeForgeRepo } from "../forge/git-fixture.js";
import { cliArgs, projectRoot, runBerth } from "../helpers/berth-cli.js";
import { type RecordingForge, startRecordingForge } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { appScript } from "../runtime/support.js";
import { watchCommandLines } from "./proc-watch.js";

const ok = requireTool("git") && requireTool("age");
const exec = promisify(execFile);
const webhookSecret = `whsec-${randomUUID()}`;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});

async function until<T>(
  what: string,
  get: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 90_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await get();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Proc {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

function startBerth(args: string[]): Proc {
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let text = "";
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { child, log: () => text, exited };
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(url, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

describe.skipIf(!ok)("secrets end to end: serve, two agents, the forge", () => {
  it("a secret reaches the app and nothing berth writes or says shows it", async () => {
    const canary = `canary-${process.pid}-${randomUUID()}`;
    const canary2 = `canary2-${process.pid}-${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), "berth-sec-e2e-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Every process's command line is watched from now until the end.
    const watch = await watchCommandLines([canary, canary2]);
    let watched: { scans: number; hits: string[] } | undefined;
    cleanups.push(async () => {
      watched ??= await watch.stop();
    });

    const forge: RecordingForge = await startRecordingForge({ kind: "github" });
    cleanups.push(() => forge.close());
    const repo: ForgeRepo = await makeForgeRepo();
    cleanups.push(() => repo.cleanup());
    const w = repo.work;
    const key = (n: string) => join(dir, `${n}.key`);
    const berth = (args: string[], input?: string) =>
      runBerth(["--repo", w, ...args], {
        env: { BERTH_IDENTITY: key("alice") },
        ...(input !== undefined ? { input } : {}),
      });
    const must = async (args: string[], input?: string) => {
      const r = await berth(args, input);
      expect(r.code, `berth ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(0);
      return r;
    };

    // The repo: an operator, nodes a and b (identities from berth node add), the app on a.
    const low = 21_000 + 40 * Math.floor(Math.random() * 200);
    for (const [n, i] of [
      ["a", 0],
      ["b", 1],
    ] as const) {
      await must([
        "node",
        "add",
        n,
        "--address",
        "127.0.0.1",
        "--runtime",
        "process",
        "--token-file",
        join(dir, `${n}.token`),
        "--identity-file",
        key(n),
      ]);
      const path = join(w, `nodes/${n}.yaml`);
      appendFileSync(path, `portRange: [${low + 20 * i}, ${low + 20 * i + 19}]\n`);
    }
    const kg = await must(["secret", "keygen", "-o", key("alice"), "--name", "alice"]);
    const settings = `kind: Settings\nbranch: main\nforge:\n  kind: github\n  apiUrl: ${forge.url}\n  repo: ${forge.repo}\n  webUrl: https://forge.example.com/acme/config\n${kg.stdout.slice(kg.stdout.indexOf("operators:"))}`;
    const app = (node: string, db = "db.internal") =>
      `kind: App\nname: api\ncommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(appScript)}]\nport: 3000\nplacement:\n  nodes: [${node}]\nhealth:\n  path: /healthz\n  intervalSeconds: 0.5\nenv:\n  LOG_LEVEL: info\n  DATABASE_URL: postgres://api:urlpw-hidden@${db}/api\n  REPLY: { secret: DB_PASSWORD }\n`;
    writeFileSync(join(w, "berth.yaml"), settings);
    await repo.commit({ "apps/api.yaml": app("a") }, "nodes, operator, app");
    await must(["secret", "set", "api", "DB_PASSWORD"], `${canary}\n`);
    const c1 = await repo.commit({}, "set the api's database password");
    await repo.push("refs/heads/main");

    // berth serve on the forge repo, and the two agents.
    writeFileSync(join(dir, "forge-token"), `${forge.token}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "webhook-secret"), `${webhookSecret}\n`, { mode: 0o600 });
    const serve = startBerth([
      "serve",
      "--remote",
      repo.url,
      "--cache-dir",
      join(dir, "cache"),
      "--listen",
      "127.0.0.1:0",
      "--webhook-secret-file",
      join(dir, "webhook-secret"),
      "--forge-token-file",
      join(dir, "forge-token"),
      "--interval",
      "3600",
    ]);
    const url = await until("the API url", () => {
      for (const line of serve.log().split("\n"))
        if (line.includes('"API listening"')) return (JSON.parse(line) as { url: string }).url;
      return undefined;
    });
    const hook = async (event: string, payload: unknown) => {
      const body = JSON.stringify(payload);
      const res = await request(`${url}/v1/webhooks/github`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": randomUUID(),
          "x-hub-signature-256": `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}`,
        },
        body,
      });
      await res.body.dump();
      expect(res.statusCode).toBe(202);
    };
    const pushMain = async (sha: string) => {
      await repo.push("refs/heads/main", sha);
      await hook("push", { ref: "refs/heads/main", after: sha, repository: { full_name: forge.repo } });
    };
    const planStatus = (sha: string) =>
      until(`berth/plan on ${sha.slice(0, 7)}`, () => {
        const s = forge.latestStatus(sha, "berth/plan");
        return s && s.state !== "pending" ? s : undefined;
      });
    await hook("push", { ref: "refs/heads/main", after: c1, repository: { full_name: forge.repo } });
    expect((await planStatus(c1)).state).toBe("success");

    const agents: Record<string, Proc> = {};
    for (const n of ["a", "b"]) {
      const stateDir = join(dir, `state-${n}`);
      cleanups.push(() => createProcessDriver({ stateDir }).close({ stopAll: true }));
      agents[n] = startBerth([
        "agent",
        "--node",
        n,
        "--url",
        url,
        "--token-file",
        join(dir, `${n}.token`),
        "--identity-file",
        key(n),
        "--state-dir",
        stateDir,
        "--poll-wait",
        "5",
      ]);
    }
    const token = (n: string) => readFileSync(join(dir, `${n}.token`), "utf8").trim();
    const desired = async (n: string) =>
      JSON.parse((await get(`${url}/v1/nodes/${n}/desired`, { authorization: `Bearer ${token(n)}` })).body);
    // A workload answers on hostPort or hostPort + 1 (a start-first replace switches slots).
    const reply = async (port: number) => {
      const answers = await Promise.all(
        [port, port + 1].map((p) =>
          get(`http://127.0.0.1:${p}/`).then(
            (r) => r.body,
            () => "",
          ),
        ),
      );
      return answers.find((a) => a !== "") ?? "";
    };

    // 1. The app on a answers with the decrypted secret.
    const portA = (await desired("a")).workloads[0].hostPort as number;
    expect((await desired("a")).workloads[0].secrets.REPLY.ciphertext).toMatch(
      /^-----BEGIN AGE ENCRYPTED FILE-----/,
    );
    await until("the app on a answering with the secret", async () => (await reply(portA)) === canary);

    // 2. A pull request that changes the secret: the comment names it, never the value.
    await must(["secret", "set", "api", "DB_PASSWORD"], canary2);
    const prHead = await repo.commit(
      { "apps/api.yaml": app("a", "db2.internal") },
      "rotate the database password, move the database",
    );
    await repo.push("refs/pull/5/head", prHead);
    await hook("pull_request", {
      action: "opened",
      number: 5,
      pull_request: {
        number: 5,
        head: { sha: prHead, ref: "rotate", repo: { clone_url: repo.url } },
        base: { ref: "main", repo: { clone_url: repo.url } },
      },
      repository: { full_name: forge.repo, clone_url: repo.url },
    });
    expect((await planStatus(prHead)).state).toBe("success");
    const comment = forge.comments(5)[0]?.body ?? "";
    expect(comment).toContain("~ secret REPLY (changed)");
    expect(comment).toContain('"postgres://api:***@db.internal/api" → "postgres://api:***@db2.internal/api"');
    const plans: Record<string, string> = {};
    for (const format of ["text", "markdown", "json"]) {
      const p = await berth(["plan", "--base", c1, "--head", prHead, "--format", format]);
      expect(p.code, p.stderr).toBe(0);
      plans[format] = p.stdout;
    }
    expect(plans.text).toContain("~ secret DB_PASSWORD (changed)");
    await pushMain(prHead);
    expect((await planStatus(prHead)).state).toBe("success");
    await until("the app on a answering with the new secret", async () => (await reply(portA)) === canary2);

    // 3. Moving the app to b without rekey: refused, naming b and the fix; a keeps serving.
    const desiredHead = async () =>
      (await exec("git", ["-C", join(repo.root, "config.git"), "rev-parse", "berth/desired"])).stdout.trim();
    const before = await desiredHead();
    const moved = await repo.commit({ "apps/api.yaml": app("b", "db2.internal") }, "move api to b");
    await pushMain(moved);
    const refused = await planStatus(moved);
    expect(refused.state).toBe("failure");
    // The forge status is cut to the forge's length; the reconciler and validate say it whole.
    expect(refused.description).toContain(
      "secrets/api.yaml:9:5: secret DB_PASSWORD of app api cannot be decrypted where the app is placed (api-0 on b)",
    );
    const whole =
      "secrets/api.yaml:9:5: secret DB_PASSWORD of app api cannot be decrypted where the app is placed (api-0 on b): it is not encrypted to node b; run `berth secret rekey api` and commit secrets/api.yaml";
    expect((await berth(["validate", "--ref", moved])).stdout).toContain(whole);
    const rejected = await until("the reconciler saying why it refused the commit", async () => {
      const text = (await get(`${url}/v1/nodes`)).body;
      return text.includes("it is not encrypted to node b") ? text : undefined;
    });
    expect(rejected).toContain("run `berth secret rekey api` and commit secrets/api.yaml");
    expect(await desiredHead()).toBe(before);
    expect(await reply(portA)).toBe(canary2);
    await must(["secret", "rekey", "api"]);
    const rekeyed = await repo.commit({}, "rekey the api's secrets for b");
    await pushMain(rekeyed);
    expect((await planStatus(rekeyed)).state).toBe("success");
    const portB = await until(
      "api placed on b",
      async () => (await desired("b")).workloads[0]?.hostPort as number,
    );
    await until("the app on b answering with the secret", async () => (await reply(portB)) === canary2);
    // The move from a to b is start-first across nodes: a's copy is unrouted and stopped in
    // generations of their own once b serves (docs/reconciler.md, Handoffs). Let them finish, so
    // what follows sees only what the bad commits do.
    await until(
      "the move's handoff over",
      async () => !JSON.parse((await get(`${url}/v1/nodes`)).body).published.handoffs,
    );

    // 4. Bad input publishes nothing: a truncated ciphertext, a secret of an app that does not exist.
    const good = readFileSync(join(w, "secrets/api.yaml"), "utf8");
    const truncated = good.replace(/-----END AGE ENCRYPTED FILE-----\n/, "");
    for (const [files, expected] of [
      [
        { "secrets/api.yaml": truncated },
        'secret DB_PASSWORD of app api cannot be decrypted: it does not end with "-----END AGE ENCRYPTED FILE-----": the ciphertext is cut short; set it again with `berth secret set api DB_PASSWORD`',
      ],
      [
        { "secrets/apu.yaml": good.replace("app: api", "app: apu") },
        'secrets for app "apu", which does not exist; did you mean "api"?',
      ],
    ] as const) {
      const published = await desiredHead();
      const bad = await repo.commit(files as Record<string, string>, "bad input");
      await pushMain(bad);
      const s = await planStatus(bad);
      expect(s.state).toBe("failure");
      expect(s.description).toContain(expected.slice(0, 40));
      // The whole diagnostic, with the fix, as the reconciler reports the refused commit.
      await until(`the reconciler refusing ${bad.slice(0, 7)}`, async () => {
        const text = (await get(`${url}/v1/nodes`)).body;
        return text.includes(bad) && text.includes(JSON.stringify(expected).slice(1, -1));
      });
      expect(await desiredHead()).toBe(published);
      await repo.commit({ "secrets/api.yaml": good, "secrets/apu.yaml": null }, "undo");
    }
    const repaired = await repo.git("rev-parse", "HEAD");
    await pushMain(repaired);
    expect((await planStatus(repaired)).state).toBe("success");

    // 5. b's identity rotated in the repo but not yet on the node: b cannot start the new version,
    // says why, and keeps the old one serving; adding the new key to its file lets it converge.
    const rotated = await must(["node", "identity", "b", "--identity-file", key("b-new")]);
    expect(rotated.stdout).toContain("Updated nodes/b.yaml");
    await must(["secret", "rekey", "api"]);
    const rotation = await repo.commit({}, "rotate b's identity");
    await pushMain(rotation);
    expect((await planStatus(rotation)).state).toBe("success");
    const failing = await until("b reporting why it cannot start the new version", async () => {
      const nodes = JSON.parse((await get(`${url}/v1/nodes`)).body) as { nodes: { node: string }[] };
      const text = JSON.stringify(nodes.nodes.find((x) => x.node === "b") ?? {});
      return text.includes("is not encrypted to this node") ? text : undefined;
    });
    expect(failing).toContain(
      "cannot decrypt secret DB_PASSWORD of app api: it is not encrypted to this node's age identity",
    );
    expect(await reply(portB)).toBe(canary2); // the old instance keeps serving
    appendFileSync(key("b"), readFileSync(key("b-new"), "utf8"));
    await until("b converging with the new identity", async () => {
      const nodes = JSON.parse((await get(`${url}/v1/nodes`)).body) as {
        nodes: { node: string; phase: string; inSync: boolean }[];
      };
      const b = nodes.nodes.find((x) => x.node === "b");
      return b?.phase === "converged" && b.inSync && (await reply(portB)) === canary2;
    });

    // 6. Nothing berth wrote or said holds either value.
    watched = await watch.stop();
    const seen: Record<string, string> = {
      ...Object.fromEntries(Object.entries(plans).map(([k, v]) => [`plan ${k}`, v])),
    };
    for (const gitDir of [join(repo.root, "config.git"), join(dir, "cache")]) {
      const objects = await exec("git", ["-C", gitDir, "cat-file", "--batch-all-objects", "--batch"], {
        maxBuffer: 256 * 1024 * 1024,
        encoding: "latin1",
      });
      seen[`git objects of ${gitDir}`] = objects.stdout;
      const refs = (await exec("git", ["-C", gitDir, "for-each-ref", "--format=%(refname)"])).stdout;
      expect(refs).toContain("berth/desired");
      expect(refs).toContain("berth/status");
    }
    for (const path of ["/v1/nodes", "/v1/plan", "/v1/events?follow=0", "/metrics", "/healthz"])
      seen[`GET ${path}`] = (await get(`${url}${path}`)).body;
    for (const n of ["a", "b"]) seen[`GET desired ${n}`] = JSON.stringify(await desired(n));
    seen["serve log"] = serve.log();
    for (const [n, p] of Object.entries(agents)) seen[`agent ${n} log`] = p.log();
    seen["forge requests"] = JSON.stringify(forge.requests);
    seen["forge comments"] = JSON.stringify(forge.comments(5));
    for (const n of ["a", "b"]) {
      const stateDir = join(dir, `state-${n}`);
      for (const e of readdirSync(stateDir, { recursive: true, withFileTypes: true }))
        if (e.isFile()) seen[`state ${n}: ${e.name}`] = readFileSync(join(e.parentPath, e.name), "latin1");
    }
    expect(Object.keys(seen).length).toBeGreaterThan(15);
    const leaks = Object.entries(seen)
      .filter(([, text]) => text.includes(canary) || text.includes(canary2))
      .map(([where]) => where);
    expect(leaks).toEqual([]);
    // A password inside a URL of plain env is masked wherever a plan shows it (the desired
    // documents carry plain env as it is: such values belong in secrets).
    expect(plans.json).toContain("postgres://api:***@db2.internal/api");
    for (const text of [...Object.values(plans), comment]) expect(text).not.toContain("urlpw-hidden");
    expect(watched.scans).toBeGreaterThan(10);
    expect(watched.hits).toEqual([]);
    for (const p of [...Object.values(agents), serve]) p.child.kill("SIGTERM");
  }, 600_000);
});
