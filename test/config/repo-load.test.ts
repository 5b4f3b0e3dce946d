// Loading from a working tree and from commits of real git repos (made with the git binary):
// both readers agree with the working tree, the blob cache parses only what changed, refs
// resolve the way git users type them, and bad refs/dirs give clear errors.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type LoadResult, ParseCache } from "../../core/config/index.js";
import { loadCommit, loadWorktree, RepoError, resolveRef } from "../../reconciler/repo/load.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { APP, BASE, NODE } from "./load-helpers.js";

const ok = requireTool("git");
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
const readers = ["git", "isomorphic-git"] as const;

/** What must be equal between two loads: the config and every diagnostic. */
const essence = (r: LoadResult) => ({
  config: r.config,
  diagnostics: r.diagnostics,
  warnings: r.warnings,
});

describe.skipIf(!ok)("loading from git", () => {
  const temp = useTempRepos();

  describe.each(readers)("with the %s reader", (reader) => {
    it.each(["single-host", "multi-node"])(
      "a commit of examples/%s equals its working tree",
      async (name) => {
        const repo = await temp.makeRepo({ fromDir: example(name) });
        const fromTree = await loadWorktree(repo.dir);
        const fromCommit = await loadCommit(repo.dir, "HEAD", { reader });
        expect(fromTree.diagnostics).toEqual([]);
        expect(fromTree.config.apps.length).toBeGreaterThan(0);
        expect(essence(fromCommit)).toEqual(essence(fromTree));
        expect(fromCommit.commit).toBe(repo.git("rev-parse", "HEAD"));
        expect(fromCommit.subject).toBe("Initial config");
      },
    );

    it("a broken commit gives the same diagnostics as its working tree", async () => {
      const repo = await temp.makeRepo({
        ...BASE,
        "apps/web.yaml": "kind: App\nname: web\nimagee: nginx\n",
        "bin.yaml": "\u0000\u0001",
        "apps/dup.yml": "kind: App\nname: dup\nname: again\n",
      });
      writeFileSync(join(repo.dir, "latin1.yaml"), new Uint8Array([0x6b, 0x3a, 0x20, 0xe9, 0x0a]));
      await repo.commit({}, "Add a Latin-1 file");
      const fromCommit = await loadCommit(repo.dir, "main", { reader });
      expect(fromCommit.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}:${d.rule}`)).toEqual([
        "apps/dup.yml:3:1:duplicate-key",
        "apps/web.yaml:1:1:schema",
        "apps/web.yaml:3:1:schema",
        "bin.yaml:1:1:not-text",
        "latin1.yaml:1:1:not-text",
      ]);
      expect(essence(fromCommit)).toEqual(essence(await loadWorktree(repo.dir)));
    });

    it("an oversized file in a commit is reported, not parsed", async () => {
      const repo = await temp.makeRepo({ ...BASE, "big.yaml": "a: b\n".repeat(1024 * 1024) });
      const r = await loadCommit(repo.dir, "HEAD", { reader });
      expect(r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`)).toEqual([
        "big.yaml:1:1: file is 5 MiB, over berth's limit of 4 MiB per config file: split it into smaller files",
      ]);
    });

    it("skips dot-folders, node_modules, symlinks and non-YAML files, like the working tree", async () => {
      const repo = await temp.makeRepo({
        ...BASE,
        ".github/workflows/ci.yml": "on: push\n",
        ".berth/schema/x.yaml": "not: config\n",
        "node_modules/pkg/x.yaml": "also: not config\n",
        "README.md": "# config\n",
        "apps/notes.txt": "kind: App\n",
      });
      symlinkSync("web.yaml", join(repo.dir, "apps/link.yaml"));
      await repo.commit({}, "Add a symlink");
      const r = await loadCommit(repo.dir, "HEAD", { reader });
      expect(r.diagnostics).toEqual([]);
      expect(r.config.apps.map((a) => a.origin.file)).toEqual(["apps/web.yaml"]);
      expect(essence(r)).toEqual(essence(await loadWorktree(repo.dir)));
    });

    it("reads a bare repo (the reconciler's remote cache)", async () => {
      const repo = await temp.makeRepo({ fromDir: example("single-host") });
      const bare = join(temp.makeTempDir(), "cache.git");
      runGit(repo.dir, "clone", "-q", "--bare", repo.dir, bare);
      const r = await loadCommit(bare, "main", { reader });
      expect(r.commit).toBe(repo.git("rev-parse", "HEAD"));
      expect(essence(r)).toEqual(essence(await loadWorktree(repo.dir)));
    });
  });

  it("the blob cache parses only the files a new commit changed", async () => {
    const repo = await temp.makeRepo(BASE);
    const cache = new ParseCache();
    const first = await loadCommit(repo.dir, "HEAD", { cache });
    expect(cache.parses).toBe(3);

    await repo.commit(
      { "apps/web.yaml": `${APP}replicas: 2\n`, "apps/api.yaml": APP.replace("web", "api") },
      "Scale web, add api",
    );
    const second = await loadCommit(repo.dir, "HEAD", { cache });
    expect(cache.parses).toBe(5);
    expect(second.config.apps.map((a) => [a.spec.name, a.spec.replicas])).toEqual([
      ["api", 1],
      ["web", 2],
    ]);
    // Unchanged documents are the very same objects: later stages can memoise on them.
    expect(second.config.nodes[0]?.spec).toBe(first.config.nodes[0]?.spec);

    // Loading the first commit again, and the working tree (same bytes), parses nothing new.
    await loadCommit(repo.dir, "HEAD~1", { cache });
    await loadWorktree(repo.dir, { cache });
    expect(cache.parses).toBe(5);
  });

  it("warm loads (shared cache) give exactly what cold loads give, commit after commit", async () => {
    const repo = await temp.makeRepo({
      ...BASE,
      "apps/api.yaml": `${APP.replace("web", "api")}placement:\n  nodes: [n2]\n`,
    });
    const steps: Record<string, string | null>[] = [
      { "nodes/n2.yaml": NODE.replace("n1", "n2") }, // the unknown node now exists
      { "apps/web.yaml": `${APP}replicas: 9\nresources:\n  cpu: 1\n` }, // no longer fits on n1's 4 cpu
      { "nodes/n1.yaml": NODE.replace("cpu: 4", "cpu: 16") }, // now it does
      { "nodes/n2.yaml": null }, // and api's node is gone again
    ];
    const cache = new ParseCache();
    const seen: number[] = [];
    for (const step of [{}, ...steps]) {
      if (Object.keys(step).length > 0) await repo.commit(step, "step");
      const warm = await loadCommit(repo.dir, "HEAD", { cache });
      const cold = await loadCommit(repo.dir, "HEAD");
      expect(essence(warm)).toEqual(essence(cold));
      seen.push(warm.diagnostics.length);
    }
    expect(seen).toEqual([1, 0, 1, 0, 1]);
  });

  it("concurrent loads of different commits through one cache and one git process agree with cold loads", async () => {
    const repo = await temp.makeRepo(BASE);
    const commits = [repo.git("rev-parse", "HEAD")];
    for (let i = 1; i <= 5; i++) {
      commits.push(
        await repo.commit(
          { [`apps/a${i}.yaml`]: APP.replace("web", `a${i}`), "apps/web.yaml": `${APP}replicas: ${i}\n` },
          `step ${i}`,
        ),
      );
    }
    const cold = [];
    for (const c of commits) cold.push(essence(await loadCommit(repo.dir, c)));
    // keepLoads 1: every load's end evicts what the others have not used yet.
    const cache = new ParseCache({ keepLoads: 1 });
    for (let round = 0; round < 3; round++) {
      const warm = await Promise.all([...commits, ...commits].map((c) => loadCommit(repo.dir, c, { cache })));
      expect(warm.map(essence)).toEqual([...cold, ...cold]);
    }
  });

  it("a change of Settings defaults re-checks unchanged apps against the new defaults", async () => {
    const repo = await temp.makeRepo({ ...BASE, "berth.yaml": "kind: Settings\ndefaults:\n  replicas: 2\n" });
    const cache = new ParseCache();
    const before = await loadCommit(repo.dir, "HEAD", { cache });
    await repo.commit({ "berth.yaml": "kind: Settings\ndefaults:\n  replicas: 3\n" }, "More replicas");
    const after = await loadCommit(repo.dir, "HEAD", { cache });
    expect(before.config.apps[0]?.spec.replicas).toBe(2);
    expect(after.config.apps[0]?.spec.replicas).toBe(3);
    // And back: still right, though the cached app was checked with other defaults in between.
    expect((await loadCommit(repo.dir, "HEAD~1", { cache })).config.apps[0]?.spec.replicas).toBe(2);
  });

  it("deleted files disappear from the next commit's config", async () => {
    const repo = await temp.makeRepo({ ...BASE, "apps/api.yaml": APP.replace("web", "api") });
    await repo.commit({ "apps/api.yaml": null }, "Remove api");
    const r = await loadCommit(repo.dir, "HEAD");
    expect(r.config.apps.map((a) => a.spec.name)).toEqual(["web"]);
    expect(r.subject).toBe("Remove api");
  });

  it.each(readers)(
    "resolves branches, tags, HEAD, full and short ids, and ~/^ suffixes (%s)",
    async (reader) => {
      const repo = await temp.makeRepo(BASE);
      const resolve = (ref: string) => resolveRef(repo.dir, ref, { reader });
      const c1 = repo.git("rev-parse", "HEAD");
      repo.git("tag", "v1");
      repo.git("tag", "-a", "v1-annotated", "-m", "release 1");
      const c2 = await repo.commit({ "nodes/n1.yaml": `${NODE}cordon: true\n` }, "Cordon n1");
      repo.git("branch", "feature", c1);
      expect(await resolve("HEAD")).toBe(c2);
      expect(await resolve("main")).toBe(c2);
      expect(await resolve("refs/heads/main")).toBe(c2);
      expect(await resolve("feature")).toBe(c1);
      expect(await resolve("v1")).toBe(c1);
      expect(await resolve("v1-annotated")).toBe(c1);
      expect(await resolve(c1)).toBe(c1);
      expect(await resolve(c2.slice(0, 7))).toBe(c2);
      expect(await resolve("HEAD~1")).toBe(c1);
      expect(await resolve("main^")).toBe(c1);
      expect(await resolve("HEAD~2")).toBeNull();
      expect(await resolve("nope")).toBeNull();
      expect(await resolve("0".repeat(40))).toBeNull();
      expect(await resolve("")).toBeNull();
      // Objects that are not commits name no commit.
      expect(await resolve(repo.git("rev-parse", "HEAD^{tree}"))).toBeNull();
      expect(await resolve(repo.git("rev-parse", "HEAD:nodes/n1.yaml"))).toBeNull();
    },
  );

  it("a ref that does not exist is a clear error", async () => {
    const repo = await temp.makeRepo(BASE);
    const err = await loadCommit(repo.dir, "does-not-exist").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoError);
    expect(err).toMatchObject({
      code: "ref-not-found",
      message: `ref "does-not-exist" does not exist in ${repo.dir}`,
      hint: "use a branch, tag or commit id of that repo (see git log --oneline)",
    });
  });

  it("an empty repo has no HEAD commit", async () => {
    const repo = await temp.makeRepo({}, { initialCommit: false });
    expect(await resolveRef(repo.dir, "HEAD")).toBeNull();
    await expect(loadCommit(repo.dir, "HEAD")).rejects.toMatchObject({ code: "ref-not-found" });
  });

  it("a directory that is not a repo, and one that does not exist", async () => {
    const dir = temp.makeTempDir();
    mkdirSync(join(dir, "apps"));
    writeFileSync(join(dir, "apps/web.yaml"), APP);
    await expect(loadCommit(dir, "HEAD")).rejects.toMatchObject({ code: "not-a-repo" });
    // The working tree of a plain folder is fine: no git needed.
    expect((await loadWorktree(dir)).config.apps).toHaveLength(1);
    await expect(loadWorktree(join(dir, "missing"))).rejects.toMatchObject({ code: "not-a-dir" });
  });
});
