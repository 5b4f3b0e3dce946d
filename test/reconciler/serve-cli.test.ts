// `berth serve` as a real child process (node --import tsx cli/main.ts serve): publishes, serves
// agents over HTTP, survives kill -9 without republishing or bumping the generation, publishes
// what was committed while it was down, stops gracefully on SIGTERM, and logs no secret.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { cliArgs } from "../helpers/berth-cli.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { startRecordingForge } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { appYaml, baseConfig, desiredHistory, tokenOf, waitFor } from "./helpers.js";

const ok = requireTool("git");
const root = fileURLToPath(new URL("../..", import.meta.url));
const SECRET = "webhook-shared-secret-for-the-test";

interface Served {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  raw: () => string;
  url: () => string | undefined;
  exited: Promise<number | null>;
}

function serve(repoDir: string, secretFile: string, extra: string[] = []): Served {
  const child = spawn(
    process.execPath,
    cliArgs([
      "serve",
      "--repo",
      repoDir,
      "--listen",
      "127.0.0.1:0",
      "--webhook-secret-file",
      secretFile,
      ...extra,
    ]),
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  const lines: Record<string, unknown>[] = [];
  let raw = "";
  let partial = "";
  child.stderr?.on("data", (d: Buffer) => {
    raw += d.toString();
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p));
      } catch {
        lines.push({ msg: p });
      }
    }
  });
  child.stdout?.on("data", (d: Buffer) => {
    raw += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    raw: () => raw,
    url: () => lines.find((l) => l.msg === "API listening")?.url as string | undefined,
    exited,
  };
}

async function getJson(
  url: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.skipIf(!ok)("berth serve (child process)", () => {
  const temp = useTempRepos();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }
    }
  });

  it("publishes, survives kill -9 without a new generation, and stops on SIGTERM", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const c1 = repo.git("rev-parse", "HEAD");
    const secretFile = join(temp.makeTempDir("berth-secret-"), "secret");
    writeFileSync(secretFile, `${SECRET}\n`);

    const first = serve(repo.dir, secretFile);
    children.push(first.child);
    const url1 = await waitFor("API url", first.url, 60_000);
    await waitFor(
      "first publish",
      () => first.lines.some((l) => l.msg === "published" && l.commit === c1),
      60_000,
    );
    const health = await getJson(`${url1}/healthz`);
    expect(health.body).toMatchObject({ generation: 1, commit: c1 });
    const doc = await getJson(`${url1}/v1/nodes/node-a/desired`, tokenOf("node-a"));
    expect(doc.status).toBe(200);
    expect((doc.body.source as { commit: string }).commit).toBe(c1);
    const tipBefore = desiredHistory(repo.dir).at(-1)?.oid;

    first.child.kill("SIGKILL");
    await first.exited;

    // Restart: served at once from the desired branch; nothing new is committed.
    const second = serve(repo.dir, secretFile);
    children.push(second.child);
    const url2 = await waitFor("API url after restart", second.url, 60_000);
    await waitFor(
      "startup check",
      () => second.lines.some((l) => l.msg === "up to date with the tracked branch"),
      60_000,
    );
    expect((await getJson(`${url2}/healthz`)).body).toMatchObject({ generation: 1, commit: c1 });
    expect(desiredHistory(repo.dir).map((h) => h.oid)).toEqual([tipBefore]);
    expect(second.lines.some((l) => l.msg === "published")).toBe(false);

    // Killed again; a commit lands while it is down; the next start publishes it as generation 2.
    second.child.kill("SIGKILL");
    await second.exited;
    const c2 = await repo.commit({ "apps/web.yaml": appYaml("web", "nginx:1.27") }, "while down");
    const third = serve(repo.dir, secretFile);
    children.push(third.child);
    const url3 = await waitFor("API url, third start", third.url, 60_000);
    await waitFor("publish of the commit made while down", async () => {
      const h = await getJson(`${url3}/healthz`);
      return h.body.commit === c2 && h.body.generation === 2;
    });
    expect(desiredHistory(repo.dir).map((h) => h.generation)).toEqual([1, 2]);

    third.child.kill("SIGTERM");
    expect(await third.exited).toBe(0);
    expect(third.lines.some((l) => l.msg === "stopped")).toBe(true);
    for (const s of [first, second, third]) {
      expect(s.raw()).not.toContain(SECRET);
      expect(s.raw()).not.toContain(tokenOf("node-a"));
    }
  });

  it("sets forge commit statuses from the first run on (--forge-token-file)", async () => {
    const forge = await startRecordingForge({ kind: "github" });
    try {
      const settings = `kind: Settings\nbranch: main\nforge:\n  kind: github\n  apiUrl: ${forge.url}\n  repo: ${forge.repo}\n`;
      const repo = await temp.makeRepo({ ...baseConfig(), "berth.yaml": settings });
      const c1 = repo.git("rev-parse", "HEAD");
      const dir = temp.makeTempDir("berth-secret-");
      const secretFile = join(dir, "secret");
      const forgeTokenFile = join(dir, "forge-token");
      writeFileSync(secretFile, SECRET);
      writeFileSync(forgeTokenFile, `${forge.token}\n`);
      const served = serve(repo.dir, secretFile, ["--forge-token-file", forgeTokenFile]);
      children.push(served.child);
      await waitFor(
        "berth/plan success on the first commit",
        () => forge.latestStatus(c1, "berth/plan")?.state === "success",
        60_000,
      );
      expect(forge.statuses(c1, "berth/plan").map((st) => st.state)).toEqual(["pending", "success"]);
      served.child.kill("SIGTERM");
      expect(await served.exited).toBe(0);
      expect(served.raw()).not.toContain(forge.token);
    } finally {
      await forge.close();
    }
  });

  it("refuses a bad --listen address with a clear error and exit 1", async () => {
    const repo = await temp.makeRepo(baseConfig());
    const secretFile = join(temp.makeTempDir("berth-secret-"), "secret");
    writeFileSync(secretFile, SECRET);
    const child = spawn(process.execPath, cliArgs(["serve", "--repo", repo.dir, "--listen", "nowhere"]), {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('invalid listen address "nowhere"');
  });
});
