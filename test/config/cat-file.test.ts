// The long-lived `git cat-file` behind the git reader (reconciler/repo/cat-file.ts), against
// real repos: it sees objects written after it started (new commits, repacks), answers pipelined
// requests in order, reports missing and ambiguous names, survives its process dying, fails open
// requests when closed, and never keeps a finished CLI process alive.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { isConfigPath } from "../../core/config/index.js";
import { CatFile } from "../../reconciler/repo/cat-file.js";
import { isoReader } from "../../reconciler/repo/iso-reader.js";
import { findGitdir, loadCommit, RepoError, resolveRef } from "../../reconciler/repo/load.js";
import { nativeReader } from "../../reconciler/repo/native-reader.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { APP, BASE } from "./load-helpers.js";

const ok = requireTool("git");
const root = fileURLToPath(new URL("../../", import.meta.url));

describe.skipIf(!ok)("git cat-file process", () => {
  const temp = useTempRepos();
  const opened: CatFile[] = [];
  const open = async (dir: string) => {
    const c = new CatFile(await findGitdir(dir));
    opened.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of opened.splice(0)) c.close();
  });

  it("reads objects by id and by revision, in request order, with missing ones marked", async () => {
    const repo = await temp.makeRepo(BASE);
    const cat = await open(repo.dir);
    const head = repo.git("rev-parse", "HEAD");
    const blob = repo.git("rev-parse", "HEAD:apps/web.yaml");
    const [c, missing, b] = await cat.contents(["main^{commit}", "0".repeat(40), blob]);
    expect(c).toMatchObject({ oid: head, type: "commit" });
    expect(missing).toEqual({ missing: true, ambiguous: false });
    expect(b && "data" in b && b.data.toString("utf8")).toBe(repo.git("cat-file", "-p", blob) + "\n");
    const [info] = await cat.info([blob]);
    expect(info).toEqual({
      oid: blob,
      type: "blob",
      size: Buffer.byteLength(`${repo.git("cat-file", "-p", blob)}\n`),
    });
  });

  it("returns large objects whole and many small ones through one request", async () => {
    const big = `${"x: ".concat("y".repeat(1_000))}\n`.repeat(3_000); // about 3 MB, many pipe chunks
    const files: Record<string, string> = { "big.yaml": big };
    for (let i = 0; i < 300; i++) files[`apps/a${i}.yaml`] = `${APP.replace("web", `a${i}`)}`;
    const repo = await temp.makeRepo(files);
    const cat = await open(repo.dir);
    const names = ["HEAD:big.yaml", ...Array.from({ length: 300 }, (_, i) => `HEAD:apps/a${i}.yaml`)];
    const got = await cat.contents(names);
    expect(got[0] && "data" in got[0] && got[0].data.toString("utf8")).toBe(big);
    got.slice(1).forEach((o, i) => {
      expect(o && "data" in o && o.data.toString("utf8")).toBe(files[`apps/a${i}.yaml`]);
    });
    // Streamed: each object handed over in order as it arrives, and not kept in the answers.
    const seen: string[] = [];
    const streamed = await cat.stream(names, (i, obj) => {
      expect(i).toBe(seen.length);
      seen.push(obj.data.toString("utf8"));
    });
    expect(seen).toEqual(names.map((n) => files[n.slice("HEAD:".length)]));
    expect(streamed[0]).toEqual({
      oid: repo.git("rev-parse", "HEAD:big.yaml"),
      type: "blob",
      size: big.length,
    });
    expect(streamed.some((o) => "data" in o)).toBe(false);
  });

  it("skips bodies over a size limit as they stream by, and stays in step", async () => {
    const limit = 1024 * 1024;
    const files: Record<string, string> = {
      "big1.yaml": `${"a: ".concat("b".repeat(1_000))}\n`.repeat(2_000), // about 2 MB: many pipe chunks
      "big2.yaml": "x".repeat(limit + 1), // one byte over
      "edge.yaml": "y".repeat(limit), // exactly at the limit: kept
    };
    for (let i = 0; i < 50; i++) files[`apps/a${i}.yaml`] = `${APP.replace("web", `a${i}`)}`;
    const repo = await temp.makeRepo(files);
    const cat = await open(repo.dir);
    const names = [
      "HEAD:apps/a0.yaml",
      "HEAD:big1.yaml",
      ...Array.from({ length: 24 }, (_, i) => `HEAD:apps/a${i + 1}.yaml`),
      "HEAD:big2.yaml",
      "HEAD:edge.yaml",
      ...Array.from({ length: 25 }, (_, i) => `HEAD:apps/a${i + 25}.yaml`),
      "0".repeat(40),
    ];
    const seen = new Map<number, Buffer>();
    const got = await cat.stream(names, (i, obj) => seen.set(i, Buffer.from(obj.data)), limit);
    const skipped = [1, 26];
    expect([...seen.keys()]).toEqual(
      names.map((_, i) => i).filter((i) => !skipped.includes(i) && i < names.length - 1),
    );
    expect(got[1]).toMatchObject({
      type: "blob",
      size: Buffer.byteLength(files["big1.yaml"] as string),
      skipped: true,
    });
    expect(got[26]).toMatchObject({ size: limit + 1, skipped: true });
    expect(seen.get(27)?.length).toBe(limit);
    expect(got[names.length - 1]).toEqual({ missing: true, ambiguous: false });
    names.forEach((name, i) => {
      if (name.startsWith("HEAD:apps/"))
        expect(seen.get(i)?.toString("utf8")).toBe(files[name.slice("HEAD:".length)]);
    });
    // Skipped bodies were dropped as they came, not collected first (the kept 1 MiB one was).
    expect(cat.peakHeld).toBeGreaterThanOrEqual(limit);
    expect(cat.peakHeld).toBeLessThan(limit + 256 * 1024);
    // The next request starts exactly where the skipped bodies ended.
    const [after] = await cat.contents(["HEAD:apps/a49.yaml"]);
    expect(after && "data" in after && after.data.toString("utf8")).toBe(files["apps/a49.yaml"]);
  });

  it("sees commits and repacks made after it started", async () => {
    const repo = await temp.makeRepo(BASE);
    const before = await loadCommit(repo.dir, "HEAD");
    const next = await repo.commit({ "apps/api.yaml": APP.replace("web", "api") }, "Add api");
    const after = await loadCommit(repo.dir, "HEAD");
    expect(after.commit).toBe(next);
    expect(after.config.apps.map((a) => a.spec.name).sort()).toEqual(["api", "web"]);
    // Loose objects move into a new pack and are deleted: still found.
    repo.git("gc", "-q", "--prune=now");
    const again = await loadCommit(repo.dir, before.commit);
    expect(again.config).toEqual(before.config);
  });

  it("reports an ambiguous short id, with both readers", async () => {
    const repo = await temp.makeRepo(BASE);
    // Write blobs until two ids share their first 4 hex digits (a few hundred suffice).
    const dir = temp.makeTempDir();
    const paths = Array.from({ length: 1_500 }, (_, i) => {
      const p = join(dir, `b${i}`);
      writeFileSync(p, `blob ${i}\n`);
      return p;
    });
    const ids = runGit(repo.dir, "hash-object", "-w", ...paths).split("\n");
    const byPrefix = new Map<string, number>();
    for (const id of ids) byPrefix.set(id.slice(0, 4), (byPrefix.get(id.slice(0, 4)) ?? 0) + 1);
    const prefix = [...byPrefix].find(([, n]) => n > 1)?.[0];
    expect(prefix).toBeDefined();
    for (const reader of ["git", "isomorphic-git"] as const) {
      const err = await resolveRef(repo.dir, prefix as string, { reader }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RepoError);
      expect(err).toMatchObject({ code: "ref-ambiguous" });
    }
  });

  it("starts a new git process when its process died", async () => {
    const repo = await temp.makeRepo(BASE);
    const cat = await open(repo.dir);
    const head = repo.git("rev-parse", "HEAD");
    await cat.info(["HEAD"]);
    const pid = cat.pid as number;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    // The exit event clears the process; the next request then starts another.
    while (cat.pid === pid) await new Promise((r) => setTimeout(r, 10));
    const [info] = await cat.info(["HEAD"]);
    expect(info).toMatchObject({ oid: head, type: "commit" });
    expect(cat.pid).not.toBe(pid);
  });

  it("fails open requests when closed, and works again afterwards", async () => {
    const repo = await temp.makeRepo(BASE);
    const cat = await open(repo.dir);
    const pending = cat.contents(Array.from({ length: 2_000 }, () => "HEAD:apps/web.yaml"));
    cat.close();
    await expect(pending).rejects.toBeInstanceOf(RepoError);
    const [info] = await cat.info(["HEAD"]);
    expect(info).toMatchObject({ type: "commit" });
  });

  it("lists the same files as isomorphic-git, commit after commit, with identical subtrees at two paths", async () => {
    // Same content at two paths is one tree id: the listing memo must keep the paths apart.
    const note = "# notes only\n";
    const repo = await temp.makeRepo({
      ...BASE,
      "a/x/n.yaml": note,
      "b/x/n.yaml": note,
      ".hidden/h.yaml": note,
    });
    const gitdir = await findGitdir(repo.dir);
    const steps: Record<string, string | null>[] = [
      { "b/x/n.yaml": null, "c/x/n.yaml": note },
      { "a/x/m.yml": note, "node_modules/p/q.yaml": note },
      { "a/x/n.yaml": null, "a/x/m.yml": null },
    ];
    for (let i = 0; i <= steps.length; i++) {
      const commit = repo.git("rev-parse", "HEAD");
      const fromGit = await nativeReader(gitdir).list(commit, isConfigPath);
      const fromIso = await isoReader(gitdir).list(commit, isConfigPath);
      expect(fromGit.entries.map((e) => e.path).sort()).toEqual(fromIso.entries.map((e) => e.path).sort());
      expect(fromGit).toEqual(fromIso);
      const step = steps[i];
      if (step) await repo.commit(step, `step ${i}`);
    }
    const last = await nativeReader(gitdir).list(repo.git("rev-parse", "HEAD"), isConfigPath);
    expect(last.entries.map((e) => e.path).sort()).toEqual([
      "apps/web.yaml",
      "c/x/n.yaml",
      "domains/www.example.com.yaml",
      "nodes/n1.yaml",
    ]);
  });

  it("a blob the repo lacks is a clear error that says what to do", async () => {
    const repo = await temp.makeRepo(BASE);
    const blob = repo.git("rev-parse", "HEAD:apps/web.yaml");
    rmSync(join(repo.dir, ".git/objects", blob.slice(0, 2), blob.slice(2)));
    const err = await loadCommit(repo.dir, "HEAD", { reader: "git" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoError);
    expect(err).toMatchObject({
      code: "git-failed",
      message: expect.stringContaining(`blob ${blob} is missing`),
    });
    expect((err as RepoError).hint).toMatch(/git fsck/);
  });

  it("refuses names that would break the line protocol", async () => {
    const repo = await temp.makeRepo(BASE);
    const cat = await open(repo.dir);
    await expect(cat.info(["HEAD\ninfo HEAD"])).rejects.toBeInstanceOf(RepoError);
    await expect(cat.info([""])).rejects.toBeInstanceOf(RepoError);
    expect(await resolveRef(repo.dir, "HEAD\nHEAD", { reader: "git" })).toBeNull();
  });

  it("does not keep a finished process alive while git idles", () => {
    const script = `
      const { loadCommit } = await import(${JSON.stringify(join(root, "reconciler/repo/load.ts"))});
      const r = await loadCommit(process.argv[1], "HEAD");
      console.log(r.config.apps.length);`;
    return temp.makeRepo(BASE).then((repo) => {
      // An idle time far longer than the test's timeout: only unref lets the child exit in time.
      const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script, repo.dir],
        {
          cwd: root,
          encoding: "utf8",
          timeout: 20_000,
          env: { ...process.env, BERTH_GIT_IDLE_MS: "600000" },
        },
      );
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe("1");
    });
  }, 30_000);
});
