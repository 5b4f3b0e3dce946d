// `berth serve` with a forge, as an operator runs it: a child process with --remote (the real git
// smart-HTTP server), --forge-token-file and --webhook-secret-file, berth.yaml naming the
// recording forge. A push webhook gets berth/plan on the new commit, a pull-request webhook gets
// the plan comment and status; the token appears in no log line; SIGTERM stops it.
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { PLAN_MARKER } from "../../reconciler/forge/client.js";
import { cliArgs } from "../helpers/berth-cli.js";
import { type RecordingForge, startRecordingForge } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { type ForgeRepo, makeForgeRepo } from "./git-fixture.js";
import { app, baseFiles } from "./pr-fixture.js";

const ok = requireTool("git");
const root = fileURLToPath(new URL("../..", import.meta.url));
const secret = "serve-forge-webhook-secret";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(what: string, get: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startServe(args: string[]): {
  child: ChildProcess;
  log: () => string;
  url: () => string | undefined;
} {
  const child = spawn(process.execPath, cliArgs(["serve", ...args]), {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let text = "";
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const url = () => {
    for (const line of text.split("\n")) {
      if (!line.includes('"API listening"')) continue;
      try {
        return (JSON.parse(line) as { url?: string }).url;
      } catch {
        // a partial line
      }
    }
    return undefined;
  };
  return { child, log: () => text, url };
}

async function webhook(url: string, event: string, payload: unknown): Promise<number> {
  const body = JSON.stringify(payload);
  const res = await request(`${url}/v1/webhooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
    body,
  });
  await res.body.dump();
  return res.statusCode;
}

describe.skipIf(!ok)("berth serve with a forge", () => {
  it("sets statuses on pushes and posts pull-request plans", async () => {
    const forge: RecordingForge = await startRecordingForge({ kind: "github" });
    cleanups.push(() => forge.close());
    const repo: ForgeRepo = await makeForgeRepo();
    cleanups.push(() => repo.cleanup());
    const settings = `kind: Settings\nbranch: main\nforge:\n  kind: github\n  apiUrl: ${forge.url}\n  repo: ${forge.repo}\n  webUrl: https://forge.example.com/acme/config\n`;
    await repo.commit({ ...baseFiles, "berth.yaml": settings }, "base");
    await repo.push("refs/heads/main");

    const dir = mkdtempSync(join(tmpdir(), "berth-serve-forge-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "forge-token"), `${forge.token}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "webhook-secret"), `${secret}\n`, { mode: 0o600 });
    const served = startServe([
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
    const exited = new Promise<number | null>((r) => served.child.once("exit", r));
    cleanups.push(async () => {
      if (served.child.exitCode === null) served.child.kill("SIGKILL");
      await exited;
    });
    const url = await until("the API url", served.url);

    // A commit on main and its push webhook: berth/plan pending, then published.
    await repo.git("checkout", "-q", "main");
    const c2 = await repo.commit({ "apps/api.yaml": app("api", "example/api:1.0") }, "add api");
    await repo.push("refs/heads/main");
    expect(
      await webhook(url, "push", {
        ref: "refs/heads/main",
        after: c2,
        repository: { full_name: forge.repo },
      }),
    ).toBe(202);
    const published = await until("berth/plan on the pushed commit", () =>
      forge.latestStatus(c2, "berth/plan")?.state === "success"
        ? forge.latestStatus(c2, "berth/plan")
        : undefined,
    );
    expect(published.description).toBe("published: Plan: 1 to add, 0 to change, 0 to remove.");
    await until("berth/deploy pending", () => forge.latestStatus(c2, "berth/deploy"));

    // A pull request: the plan comment and berth/plan on its head.
    await repo.git("checkout", "-q", "--detach", c2);
    const head = await repo.commit({ "apps/web.yaml": app("web", "nginx:1.27") }, "bump web");
    await repo.push("refs/pull/3/head", head);
    const pr = {
      action: "opened",
      number: 3,
      pull_request: {
        number: 3,
        head: { sha: head, ref: "bump-web", repo: { clone_url: repo.url } },
        base: { ref: "main", repo: { clone_url: repo.url } },
      },
      repository: { full_name: forge.repo, clone_url: repo.url },
    };
    expect(await webhook(url, "pull_request", pr)).toBe(202);
    await until(
      "berth/plan on the PR head",
      () => forge.latestStatus(head, "berth/plan")?.state === "success",
    );
    const comments = forge.comments(3);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body.startsWith(PLAN_MARKER)).toBe(true);
    expect(comments[0]?.body).toContain("Plan: 0 to add, 1 to change, 0 to remove.");

    served.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(served.log()).not.toContain(forge.token);
    expect(served.log()).not.toContain(secret);
  });
});
